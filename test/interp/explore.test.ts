/**
 * The explorer on a file's own code: the 2013 ARM RFC file, interleaved with the race actors on
 * ARM LPAE, breaks the invariants the version model breaks (each counterexample replays to the
 * same violation, its walker steps on the file's lines); the 2014 generic walker breaks none.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import { counterexampleLines, explore, replaySchedule, TRACE_HEAD, TRACE_TAIL } from '../../emulator/explore/explore';
import { sourceVersion, type SourceVersion } from '../../emulator/interp/source-version';
import { getRace } from '../../emulator/scenarios/races';
import { getVersion } from '../../emulator/versions';
import { sourceParser } from '../../server/analysis/parse';
import { asPinPlaceholder56, withEarlyCowBreak } from '../fixtures/derive';
import { parseStubs } from '../../emulator/interp/kapi/stubs';

const CORPUS = join(__dirname, '../../../shared/corpus');
const ARM = join(CORPUS, 'arm-rfc-2013.arch-arm-mm-gup.c');
const GENERIC = join(CORPUS, 'generic-2014.mm-gup-fast-part.c');
const RACES = ['race-pte-changed', 'race-table-free', 'race-thp-split-no-ipi'];
const present = existsSync(ARM) && existsSync(GENERIC);

let arm: SourceVersion;
let generic: SourceVersion;
beforeAll(async () => {
  if (!present) return;
  const parse = await sourceParser();
  arm = sourceVersion(readFileSync(ARM, 'utf8'), parse, getArch('arm-lpae'), getVersion('arm-rfc-2013'));
  generic = sourceVersion(readFileSync(GENERIC, 'utf8'), parse, getArch('arm-lpae'), getVersion('generic-2014'));
});

describe.skipIf(!present)('explore --file on the corpus (skipped without ../shared/corpus)', () => {
  it.each(RACES)('the 2013 ARM file has %s on ARM LPAE, and its counterexample replays', (id) => {
    const sc = getRace(id);
    const run = { arch: 'arm-lpae' as const, version: arm };
    const r = explore(sc, run);
    expect(r.verdict).toBe('violation');
    expect(r.invariant).toBe(sc.invariant);
    const again = replaySchedule(sc, run, r.schedule);
    expect(again.v?.invariant).toBe(r.invariant);
    const walker = r.counterexample.filter((s) => s.actor === 'gup');
    expect(walker.length).toBeGreaterThan(0);
    for (const s of walker.filter((x) => x.event !== 'slowpath')) expect(s.line).toBeGreaterThan(0);
    // the walker's entry loads are on the file's own lines: the pte read inside gup_get_pte among them
    expect(walker.some((s) => s.fn === 'gup_get_pte' && s.event === 'load' && s.line === 19) || id === 'race-thp-split-no-ipi').toBe(true);
  });

  it.each(RACES)('the 2014 generic walker has no %s on ARM LPAE', (id) => {
    const r = explore(getRace(id), { arch: 'arm-lpae', version: generic });
    expect(r.verdict).toBe('ok');
    expect(r.complete).toBe(true);
  });
});

describe('explore --file on the era fixtures: the torn PAE pmd read', () => {
  const FIX = join(__dirname, '../fixtures/eras');
  const file = async (name: string, model: string) => sourceVersion(readFileSync(join(FIX, name), 'utf8'), await sourceParser(), getArch('x86-pae'), getVersion(model));

  it.each([
    ['gup-5.10-shape.c', 'wpseq-2021'],
    ['gup-6.1-shape.c', 'folio-6x@6.1'],
  ])('%s reads the pmd with READ_ONCE: two halves on x86 PAE, a torn value used to find the pte table', async (name, model) => {
    const sc = getRace('race-pae-torn-pmd');
    const run = { arch: 'x86-pae' as const, version: await file(name, model) };
    const r = explore(sc, run);
    expect(r.verdict).toBe('violation');
    expect(r.invariant).toBe('torn-read');
    expect(replaySchedule(sc, run, r.schedule).v?.invariant).toBe('torn-read');
    // the walker's step that used the torn value sits on the file's pmd read or the table lookup after it
    expect(r.counterexample.filter((s) => s.actor === 'gup' && s.event === 'load' && s.level === 'pmd').every((s) => (s.line ?? 0) > 0)).toBe(true);
  });

  it('the 6.10 fixture reads it with pmdp_get_lockless: no torn value is ever used', async () => {
    const r = explore(getRace('race-pae-torn-pmd'), { arch: 'x86-pae', version: await file('gup-6.10-shape.c', 'folio-6x') });
    expect(r.verdict).toBe('ok');
    expect(r.complete).toBe(true);
  });
});

const ERAS = join(__dirname, '../fixtures/eras');
const v49 = readFileSync(join(ERAS, 'gup-4.9-shape.c'), 'utf8');
// the 4.9 fixture calls a vendor hook: stubbed as a no-op, as a user would
const stubs = parseStubs(['vendor_gup_account=noop']);
const own = async (text: string, model: string, arch: 'arm64' | 'x86-64') => sourceVersion(text, await sourceParser(), getArch(arch), getVersion(model), { stubs });

describe('explore --file: race-fork-get on the era fixtures', () => {
  it('a 4.5-4.12 walker takes the shared page for a read, and the mapcount rule of its time hands it to the other process', async () => {
    const r = explore(getRace('race-fork-get'), { arch: 'arm64', version: await own(v49, 'generic-2014', 'arm64') });
    expect(r.verdict).toBe('violation');
    expect(r.invariant).toBe('cow-reuse-leak');
    expect(r.counterexample.some((s) => s.actor === 'gup' && (s.line ?? 0) > 0)).toBe(true);
  });

  it('the same walker with the stable backport of 5.8 (the fast walk asked for write) is clean: its slow path copies', async () => {
    const v = await own(withEarlyCowBreak(v49), 'generic-2014', 'arm64');
    expect(v.placement?.cowBreakReads).toBe(true);
    expect(v.placement?.range).toMatch(/GUP breaks COW for reads/);
    const r = explore(getRace('race-fork-get'), { arch: 'arm64', version: v });
    expect(r.verdict).toBe('ok');
    expect(r.complete).toBe(true);
  });

  it('a 5.10 walker (5.9\'s page_count rule) is clean without any early break', async () => {
    const v = await own(readFileSync(join(ERAS, 'gup-5.10-shape.c'), 'utf8'), 'wpseq-2021', 'x86-64');
    expect(v.placement?.cowBreakReads).toBe(false);
    const r = explore(getRace('race-fork-get'), { arch: 'x86-64', version: v });
    expect(r.verdict).toBe('ok');
  });
});

describe('explore --file: race-khugepaged-collapse on code from before FOLL_PIN', () => {
  it('a 4.9 walker takes the FOLL_GET reference drivers held for DMA then: the collapse replaces the page under it on arm64', async () => {
    const r = explore(getRace('race-khugepaged-collapse'), { arch: 'arm64', version: await own(v49, 'generic-2014', 'arm64') });
    expect(r.verdict).toBe('violation');
    expect(r.invariant).toBe('pinned-page-replaced');
    expect(r.message).toMatch(/was referenced for DMA \(FOLL_GET, as drivers did before FOLL_PIN\) at 0x/);
  });

  it('on x86 the flush IPI waits for the interrupts-off walker: clean', async () => {
    const r = explore(getRace('race-khugepaged-collapse'), { arch: 'x86-64', version: await own(v49, 'generic-2014', 'x86-64') });
    expect(r.verdict).toBe('ok');
    expect(r.complete).toBe(true);
  });
});

describe('explore --file: a 5.6 walker, whose pin is a plain reference', () => {
  it('placed in 5.6; nine 1 GiB pins take and give back plain references: no overflow, and the counts balance (its pins are not unpinned as 5.7 counts them)', async () => {
    const v = await own(asPinPlaceholder56(readFileSync(join(ERAS, 'gup-5.10-shape.c'), 'utf8')), 'foll-pin-2020', 'x86-64');
    expect(v.placement?.since).toBe('5.6');
    const r = explore(getRace('race-pin-overflow-1g'), { arch: 'x86-64', version: v });
    expect(r.verdict).toBe('ok');
    expect(r.complete).toBe(true);
  });
});

describe('a counterexample of millions of steps (a 1 GiB walk of a file\'s own code)', () => {
  it('keeps its first and last steps and counts the ones between: the bias without the exact huge-page count overflows', async () => {
    const v510 = readFileSync(join(ERAS, 'gup-5.10-shape.c'), 'utf8');
    // the intermediate state of the 5.7 series: the bias on every pin, no exact count for big pages
    const biasOnly = v510.replace(/hpage_pincount_available\((pg|hd)\)/g, '0');
    expect(biasOnly).not.toBe(v510);
    const r = explore(getRace('race-pin-overflow-1g'), { arch: 'x86-64', version: await own(biasOnly, 'wpseq-2021', 'x86-64') });
    expect(r.verdict).toBe('violation');
    expect(r.invariant).toBe('pin-overflow');
    expect(r.elided?.after).toBe(TRACE_HEAD);
    expect(r.elided!.count).toBeGreaterThan(1_000_000);
    expect(r.counterexample).toHaveLength(TRACE_HEAD + TRACE_TAIL);
    const lines = counterexampleLines(r, (s, n) => `${n} ${s.fn}`);
    expect(lines[TRACE_HEAD]).toMatch(/^ {3}… \d+ steps left out \(a counterexample keeps its first 50000 and its last 50000\) …$/);
    // the step after the gap is numbered in the whole walk
    expect(lines[TRACE_HEAD + 1]).toMatch(new RegExp(`^${TRACE_HEAD + r.elided!.count} `));
  }, 120_000);
});

describe('loops that only count (record_subpages) run whole where the explorer runs a file', () => {
  const v61 = () => readFileSync(join(ERAS, 'gup-6.1-shape.c'), 'utf8');
  const loop = 'for (k = 0; va != lim; k++, va += PAGE_SIZE)\n\t\tout[k] = nth_page(pg, k);';
  // the same loop as other releases spell it: 5.x's post-increments, a do-while stepping in its test, a while loop
  const shapes: [string, string][] = [
    ['for, nth_page', loop],
    ['for, post-increments', 'for (k = 0; va != lim; va += PAGE_SIZE)\n\t\tout[k++] = pg++;'],
    ['do-while', 'k = 0;\n\tdo {\n\t\tout[k] = pg;\n\t\tk++;\n\t\tpg++;\n\t} while (va += PAGE_SIZE, va != lim);'],
    ['while', 'k = 0;\n\twhile (va != lim) {\n\t\tout[k] = nth_page(pg, k);\n\t\t(k)++;\n\t\tva += PAGE_SIZE;\n\t}'],
  ];
  it.each(shapes)('%s: nine 1 GiB pins (262,144 entries each) and a THP walk give what the loop run a step at a time gives', async (_name, body) => {
    const text = v61().replace(loop, body);
    expect(text.includes(body)).toBe(true);
    const pin = explore(getRace('race-pin-overflow-1g'), { arch: 'x86-64', version: await own(text, 'folio-6x', 'x86-64') });
    expect([pin.verdict, pin.complete, pin.states]).toEqual(['ok', true, 127]);
    // a wrong closed form would return pages the leaf never mapped, or leave the counters elsewhere: a violation, whose replay (a step at a time) would not agree
    for (const id of ['race-compound-head-split', 'race-pmd-changed', 'race-khugepaged-collapse']) {
      const r = explore(getRace(id), { arch: 'arm64', version: await own(text, 'folio-6x', 'arm64') });
      expect([id, r.verdict]).toEqual([id, 'ok']);
    }
  }, 60_000);
});
