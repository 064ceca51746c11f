/**
 * The trace picture, rendered without a browser: the walk and the timeline of race-fork-pin's
 * counterexample as one SVG, with the labels a reader (or a screen reader) needs.
 */
import { describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import { explore } from '../../emulator/explore/explore';
import { getRace } from '../../emulator/scenarios/races';
import { replay } from '../../emulator/run/replay';
import { describeStep } from '../../emulator/trace/describe';
import { traceSvg } from '../../server/pictures/trace-svg';

describe('trace picture', () => {
  it('race-fork-pin: levels as columns, entries with raw values, a lane per actor, the page\'s counts, the violation', () => {
    const sc = getRace('race-fork-pin');
    const r = explore(sc, sc.before);
    expect(r.verdict).toBe('violation');
    const arch = getArch(sc.before.arch);
    const svg = traceSvg({ title: 'race-fork-pin on foll-pin-2020', arch, era: 'modern', steps: r.counterexample, actors: r.actors, violation: r.message });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toMatch(/role="img" aria-labelledby="t"/);
    expect(svg).toContain('<title id="t">race-fork-pin on foll-pin-2020</title>');
    // the walk: one node per level read, the pte slot with its raw value as the walker saw it
    for (const l of ['pgd', 'pud', 'pmd', 'pte']) expect(svg).toMatch(new RegExp(`>${l}\\[\\d+\\] 0x[0-9a-f]{16}<`));
    const pteLoad = r.counterexample.find((s) => s.actor === 'gup' && s.event === 'load' && s.level === 'pte')!;
    expect(svg).toContain(describeStep(arch, 'modern', pteLoad, 0).entry!.raw);
    // fork's write-protect lands beside the slot it hit, in its CPU's colour
    expect(svg).toMatch(/<text class="cpu1"[^>]*><title>copy_present_pte: ptep_set_wrprotect\(src_mm, addr, src_pte\)<\/title>cpu1 wrote 0x[0-9a-f]{16}</);
    // the timeline: one lane per actor, marks with readable titles, the pinned page's counts
    expect(svg).toContain('>cpu0: gup<');
    expect(svg).toContain('>cpu1: fork<');
    expect(svg).toMatch(/<title>step \d+, cpu1 fork: write copy_present_pte: ptep_set_wrprotect/);
    expect(svg).toMatch(/>page 0x100001<\/text>/);
    expect(svg).toMatch(/ref \+1025 pin \+1|ref \+1024/);
    expect(svg).toContain(`violation: ${r.message!.slice(0, 60)}`);
    // balanced groups: a well-formed document
    expect((svg.match(/<g[ >]/g) ?? []).length).toBe((svg.match(/<\/g>/g) ?? []).length);
  });

  it('a title wider than the picture wraps onto lines that fit, and the walk starts below the last one', () => {
    const rp = replay({ arch: 'x86-64', version: 'generic-2014', scenario: 'pages-4k-16', trace: true });
    const title = `pages-4k-16 on your code (${'drivers/very/long/vendor/path/'.repeat(6)}mm/gup.c) / x86-64, step 123 of a long session`;
    const svg = traceSvg({ title, arch: rp.arch, era: 'thp-split', steps: rp.steps, actors: ['gup'] });
    const width = Number(/<svg[^>]* width="(\d+)"/.exec(svg)![1]);
    // the title's lines come first, 16 apart from y=18 (the section headings follow later)
    const heads = [...svg.matchAll(/<text class="h" x="10" y="(\d+)">([^<]*)<\/text>/g)];
    const lines = heads.filter((l, i) => Number(l[1]) === 18 + 16 * i && heads.slice(0, i).every((m, j) => Number(m[1]) === 18 + 16 * j));
    expect(lines.length).toBeGreaterThan(1);
    for (const [, , text] of lines) expect(10 + 7.6 * text.length).toBeLessThanOrEqual(width);
    expect(lines.map((l) => l[2]).join('').replace(/\s/g, '')).toBe(title.replace(/\s/g, ''));
    const lastTitle = Math.max(...lines.map((l) => Number(l[1])));
    // the walk is a group moved down to its place: its heading and nodes start below the title
    const walkTop = Number(/<g class="walk" transform="translate\(0,(\d+)\)">/.exec(svg)![1]);
    expect(walkTop).toBeGreaterThan(lastTitle);
    expect(walkTop).toBe(14 + 16 * lines.length);
  });

  it('a lane starts right of its label: "cpu1: unmap-realloc" never runs under the axis or its marks', () => {
    const sc = getRace('race-pte-changed');
    const r = explore(sc, sc.before);
    const svg = traceSvg({ title: 'race-pte-changed', arch: getArch(sc.before.arch), era: 'thp-split', steps: r.counterexample, actors: r.actors, violation: r.message });
    const label = `cpu1: ${r.actors[1]}`;
    expect(label).toBe('cpu1: unmap-realloc');
    const axis = Number(/<line class="axis" x1="([\d.]+)"/.exec(svg)![1]);
    expect(axis).toBeGreaterThan(10 + 7.2 * label.length);
    const firstMark = Math.min(...[...svg.matchAll(/<g class="mark[^"]*"[^>]*><title>[^<]*<\/title><(?:circle cx|path d="M|rect x)="?([\d.]+)/g)].map((m) => Number(m[1])));
    expect(firstMark).toBeGreaterThan(10 + 7.2 * label.length - 8);
  });

  it('a replay: the folded levels are said to be folded, and every page taken is drawn with its change', () => {
    const rp = replay({ arch: 'x86-pae', version: 'x86-2008', scenario: 'pages-4k-16', trace: true });
    const svg = traceSvg({ title: 'pages-4k-16', arch: rp.arch, era: rp.version.era, steps: rp.steps, actors: ['gup'] });
    expect(svg).toMatch(/the walk \(pud folded on x86-pae\)/);
    expect((svg.match(/>page 0x[0-9a-f]+<\/text>/g) ?? []).length).toBeGreaterThanOrEqual(12);
    expect(svg).toMatch(/>ref \+1<\/text>/);
  });
});
