/**
 * folio-6x in two dialects: 6.1–6.9 (gup_pte_range names) and 6.10+ (gup_fast_*). The same code
 * under other names, so the same outcome; each file gets the dialect whose names it has, and
 * steps land on its own functions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { replay } from '../../emulator/run/replay';
import { SCENARIOS } from '../../emulator/scenarios';
import { dialectFor, getVersion, VERSION_IDS } from '../../emulator/versions';
import { analyze, racesOf } from '../../server/analysis/analyze';
import { main } from '../../server/cli/main';

const fix = (p: string) => readFileSync(join(__dirname, '../fixtures/eras', p), 'utf8');

describe('folio-6x dialects', () => {
  it('the registry keeps six versions; the 6.1–6.9 dialect is reached through folio-6x', () => {
    expect(VERSION_IDS).not.toContain('folio-6x@6.1');
    expect(getVersion('folio-6x').dialects?.map((d) => d.id)).toEqual(['folio-6x', 'folio-6x@6.1']);
    const d = getVersion('folio-6x@6.1');
    expect(d.kernels).toBe('6.1 – 6.9');
    expect(d.functions).toEqual(expect.arrayContaining(['gup_pte_range', 'gup_huge_pmd', 'lockless_pages_from_mm', 'internal_get_user_pages_fast', 'try_grab_folio']));
    expect(d.functions).not.toContain('gup_fast_pte_range');
  });

  // between 6.1 and 6.10 some scenarios changed (6.2 refused P2PDMA pages without the flag, 6.5 file-backed
  // long-term pins and stopped pinning the zero page, and a wrapping range became -EOVERFLOW): the releases' own differences
  const CHANGED_AFTER_6_1 = ['file-longterm-pin', 'file-thp-longterm-pin', 'p2pdma-pte', 'range-wraps', 'zero-page-pin', 'numa-protnone-honor', 'fast-only-past-task-size'];

  it('zero-page-pin: 6.10 takes no pin on the zero page (nor gives one back), 6.1 pins it like any page', () => {
    const a = replay({ arch: 'arm64', version: 'folio-6x', scenario: 'zero-page-pin' });
    const b = replay({ arch: 'arm64', version: 'folio-6x@6.1', scenario: 'zero-page-pin' });
    expect(a.result.pages).toEqual(b.result.pages);
    expect(a.deltas).toEqual([]);
    expect(b.deltas).toEqual([{ pfn: b.result.pages[0], refcount: 4 * 1024, pincount: 0 }]);
  });

  it('file-longterm-pin: 6.10 refuses a long-term writable pin of a file\'s pages in both paths, 6.1 pins them', () => {
    const a = replay({ arch: 'x86-64', version: 'folio-6x', scenario: 'file-longterm-pin', trace: true });
    const b = replay({ arch: 'x86-64', version: 'folio-6x@6.1', scenario: 'file-longterm-pin' });
    expect([a.result.nr, a.result.ret, a.result.fastNr]).toEqual([0, -14, 0]);
    expect(a.steps.some((s) => s.anchor === 'gup_fast_folio_allowed(folio, flags)' && s.event === 'bail')).toBe(true);
    expect([b.result.nr, b.result.fastNr]).toEqual([4, 4]);
  });

  it.each(SCENARIOS.filter((s) => !CHANGED_AFTER_6_1.includes(s.id)).map((s) => s.id))('%s: the same pages, deltas and verdict under either name set, the steps under each one\'s names', (scenario) => {
    for (const arch of ['x86-64', 'arm64'] as const) {
      let a, b;
      try {
        a = replay({ arch, version: 'folio-6x', scenario, trace: true });
      } catch {
        continue; // not applicable on this arch
      }
      b = replay({ arch, version: 'folio-6x@6.1', scenario, trace: true });
      expect(b.result).toEqual(a.result);
      expect(b.deltas).toEqual(a.deltas);
      const fns = new Set(b.steps.map((s) => s.fn));
      expect([...fns].some((f) => f.startsWith('gup_fast_'))).toBe(false);
      if (a.steps.some((s) => s.fn === 'gup_fast_pte_range')) expect(fns.has('gup_pte_range')).toBe(true);
    }
  });

  it('a file gets the dialect whose names it has; an explicit dialect is kept', () => {
    expect(dialectFor(getVersion('folio-6x'), ['gup_pte_range', 'lockless_pages_from_mm', 'try_grab_folio']).id).toBe('folio-6x@6.1');
    expect(dialectFor(getVersion('folio-6x'), ['gup_fast_pte_range', 'gup_fast']).id).toBe('folio-6x');
    expect(dialectFor(getVersion('folio-6x@6.1'), ['gup_fast_pte_range', 'gup_fast']).id).toBe('folio-6x@6.1');
    expect(dialectFor(getVersion('wpseq-2021'), ['gup_fast_pte_range']).id).toBe('wpseq-2021');
  });

  it('a 6.1-shaped file is analysed as folio-6x@6.1: every walker of it is a GUP-fast function, even with folio-6x named by hand', async () => {
    for (const override of [undefined, 'folio-6x']) {
      const a = await analyze(fix('gup-6.1-shape.c'), override);
      expect(a.version?.id).toBe('folio-6x@6.1');
      expect(a.gupFunctions.map((f) => f.name)).toEqual(expect.arrayContaining(['gup_pte_range', 'gup_huge_pmd', 'gup_pmd_range', 'lockless_pages_from_mm', 'internal_get_user_pages_fast']));
    }
  });

  it('the 6.1 dialect behaves as 6.1 did: it fixes the khugepaged race, and still has the torn PAE pmd (fixed in 6.2); never both for one race', () => {
    const a = racesOf('folio-6x@6.1');
    expect(a.fixes.map((c) => c.race.id)).toContain('race-khugepaged-collapse');
    expect(a.has.map((c) => c.race.id)).toEqual(['race-pae-torn-pmd']);
    expect(a.fixes.some((c) => c.race.id === 'race-pae-torn-pmd')).toBe(false);
    const b = racesOf('folio-6x');
    expect(b.fixes.map((c) => c.race.id)).toEqual(expect.arrayContaining(['race-khugepaged-collapse', 'race-pae-torn-pmd']));
    expect(b.has).toEqual([]);
  });

  it('list --json shows the dialects under folio-6x', () => {
    const out: string[] = [];
    main(['list', '--json'], (s) => out.push(s));
    const v = JSON.parse(out.join('')).versions.find((x: { id: string }) => x.id === 'folio-6x');
    expect(v.dialects.map((d: { id: string }) => d.id)).toEqual(['folio-6x', 'folio-6x@6.1']);
  });
});
