/**
 * The behaviour timeline's page: a row per (race, arch), a column per commit, each cell its
 * verdict, the flips marked where they happen, and what a click needs on each cell.
 */
import { describe, expect, it } from 'vitest';
import { timelineHtml } from '../../client/timeline-html';
import { flipsOf, type Sweep, type SweepCell } from '../../server/evolution/sweep';

const commits = ['a1', 'b2', 'c3'].map((rev, i) => ({ rev: rev.repeat(20), subject: ['mm: add fast gup', 'mm: drop the re-check <oops>', 'mm: restore the re-check'][i], date: `2026-0${i + 1}-01`, files: ['mm/gup.c'] }));
const cell = (i: number, scenario: string, arch: SweepCell['arch'], verdict: SweepCell['verdict']): SweepCell => ({ rev: commits[i].rev, scenario, arch, verdict, engine: 'source' });
const cells = [
  cell(0, 'race-pte-changed', 'arm64', 'ok'), cell(1, 'race-pte-changed', 'arm64', 'violation'), cell(2, 'race-pte-changed', 'arm64', 'ok'),
  cell(0, 'race-pae-torn-pmd', 'x86-pae', 'n/a'), cell(1, 'race-pae-torn-pmd', 'x86-pae', 'unsupported'), cell(2, 'race-pae-torn-pmd', 'x86-pae', 'n/a'),
  // built-in scenarios: one that breaks and is fixed (shown), one ok throughout (not shown)
  cell(0, 'unaligned-cross-pmd', 'x86-64', 'violation'), cell(1, 'unaligned-cross-pmd', 'x86-64', 'ok'), cell(2, 'unaligned-cross-pmd', 'x86-64', 'ok'),
  cell(0, 'pages-4k-16', 'x86-64', 'ok'), cell(1, 'pages-4k-16', 'x86-64', 'ok'), cell(2, 'pages-4k-16', 'x86-64', 'ok'),
];
const sweep: Sweep = { commits, cells, flips: flipsOf(commits, cells) };

describe('behaviour timeline page', () => {
  const html = timelineHtml(sweep, 'linux', 'NONCE');
  const td = (rev: string, scenario: string) => new RegExp(`<td class="([^"]+)" data-rev="${rev}" data-file="mm/gup.c" data-scenario="${scenario}" data-arch="[^"]+" title="([^"]+)"`).exec(html);

  it('a row per race and arch, a cell per commit with its verdict; flips marked where they happen', () => {
    expect(sweep.flips.map((f) => `${f.scenario} ${f.flip} ${f.rev.slice(0, 2)}`)).toEqual(['race-pte-changed introduced b2', 'race-pte-changed fixed c3', 'unaligned-cross-pmd fixed b2']);
    // every race's rows first, then the scenario rows where something happens; an ok-throughout scenario row is counted, not shown
    expect([...html.matchAll(/<tr><th scope="row">([\w-]+)/g)].map((m) => m[1])).toEqual(['race-pae-torn-pmd', 'race-pte-changed', 'unaligned-cross-pmd']);
    expect(html).toMatch(/2 \(race, arch\) rows, 1 \(built-in scenario, arch\) rows with a violation, code that could not run or a flip \(1 more ok or not applying throughout\)/);
    expect(td(commits[1].rev, 'unaligned-cross-pmd')![1]).toBe('ok flip fixed');
    expect(td(commits[0].rev, 'race-pte-changed')![1]).toBe('ok');
    expect(td(commits[1].rev, 'race-pte-changed')![1]).toBe('violation flip introduced');
    expect(td(commits[1].rev, 'race-pte-changed')![2]).toMatch(/violation — introduced here/);
    expect(td(commits[2].rev, 'race-pte-changed')![1]).toBe('ok flip fixed');
    expect(td(commits[1].rev, 'race-pae-torn-pmd')![1]).toBe('unsupported');
    expect(td(commits[0].rev, 'race-pae-torn-pmd')![1]).toBe('na');
  });

  it('escapes what the history says, and runs only its own nonce\'d script', () => {
    expect(html).toContain('mm: drop the re-check &lt;oops&gt;');
    expect(html).not.toContain('<oops>');
    expect(html).toContain("script-src 'nonce-NONCE'");
    expect(html.match(/<script/g)).toHaveLength(1);
    // every commit heading carries what its diff needs
    expect(html.match(/<th scope="col" data-diff="[a-f0-9bc]{40}" data-file="mm\/gup.c"/g)).toHaveLength(3);
  });
});

describe('flips over code that comes and goes', () => {
  const revs = ['d1', 'e2', 'f3', 'a4'].map((r) => r.repeat(20));
  const cs = revs.map((rev, i) => ({ rev, subject: `commit ${i}`, date: '2026-01-01', files: ['mm/gup.c'] }));
  const at = (verdicts: [SweepCell['verdict'], SweepCell['engine']][]) => flipsOf(cs, verdicts.map(([verdict, engine], i) => ({ rev: revs[i], scenario: 'race-pte-changed', arch: 'arm64', verdict, engine })));

  it('a race comes with the walker that has it (introduced), but taking the walker out of the tree fixes nothing: it is back with the code', () => {
    expect(at([['n/a', 'none'], ['violation', 'source'], ['n/a', 'none'], ['violation', 'source']]).map((f) => `${f.flip} ${f.subject}`)).toEqual(['introduced commit 1']);
    // code that comes back without the race fixed it there
    expect(at([['violation', 'source'], ['n/a', 'none'], ['ok', 'source'], ['ok', 'source']]).map((f) => `${f.flip} ${f.subject}`)).toEqual(['fixed commit 2']);
    // a race that no longer applies to code still there (its n/a is the code's own) is fixed where that changed
    expect(at([['violation', 'source'], ['n/a', 'source'], ['n/a', 'source'], ['n/a', 'source']]).map((f) => `${f.flip} ${f.subject}`)).toEqual(['fixed commit 1']);
  });
});
