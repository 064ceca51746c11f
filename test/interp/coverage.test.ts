/**
 * Coverage: each scenario of what GUP-fast learnt since 2014 takes the branch it is for on an era
 * fixture that has the feature (the line, the outcome), and the whole catalog covers most of each
 * fixture's decisions; gup-lens coverage --json keeps its contract.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import type { Coverage } from '../../emulator/interp/runtime';
import { sourceVersion, type ParseC, type SourceVersion } from '../../emulator/interp/source-version';
import { replay } from '../../emulator/run/replay';
import { getVersion } from '../../emulator/versions';
import { fileCoverage } from '../../server/analysis/coverage';
import { sourceParser } from '../../server/analysis/parse';
import { main } from '../../server/cli/main';
import { parseStubs } from '../../emulator/interp/kapi/stubs';

const FIX = join(__dirname, '../fixtures');
const text = (f: string) => readFileSync(join(FIX, f), 'utf8');
const lineOf = (t: string, needle: string) => t.split('\n').findIndex((l) => l.includes(needle)) + 1;

let parse: ParseC;
beforeAll(async () => {
  parse = await sourceParser();
});

/** The decision outcomes one scenario produces on a file: "line:true|false" per function. */
function outcomes(file: string, model: string, arch: string, scenario: string): Set<string> {
  const t = text(file);
  const v = sourceVersion(t, parse, getArch(arch), getVersion(model));
  const got = new Set<string>();
  const cov: Coverage = {
    line: () => undefined,
    branch(fn, id, taken) {
      got.add(`${v.program.fns.get(fn)!.branches[id]}:${taken}`);
    },
  };
  const withCov: SourceVersion = { ...v, cov };
  replay({ arch, version: withCov, scenario });
  return got;
}

describe('coverage', () => {
  it.each([
    // the scenario, the fixture of a release that has the feature, the decision it must take
    ['numa-protnone', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'if (pte_protnone(v) ||', true],
    // `!pmd_protnone(pmv) && ...` is false: the && goes no further
    ['numa-protnone-thp', 'eras/gup-6.10-shape.c', 'folio-6x', 'arm64', 'ok = !pmd_protnone(pmv)', false],
    ['longterm-cma', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'folio_is_longterm_pinnable', true],
    ['past-task-size', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'lim > TASK_SIZE_MAX', true],
    ['unmapped-far', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'pud_present(puv)', true],
    ['cross-pud', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'pud_present(puv)', false],
    ['devmap-pte', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'if (pte_devmap(v))', true],
    ['secretmem', 'eras/gup-6.1-shape.c', 'folio-6x@6.1', 'x86-64', 'if (unlikely(page_is_secretmem(pg)))', true],
    ['secretmem', 'eras/gup-6.10-shape.c', 'folio-6x', 'arm64', 'if (folio_is_secretmem(fo) ||', true],
    // the file's page has a mapping without flag bits, not shmem's: the pin is refused
    ['file-longterm-pin', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'if (low)', false],
    ['hugetlb-pmd-longterm', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'if (folio_test_hugetlb(fo))', true],
    ['pin-shared-readonly', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'gup_must_unshare(NULL, gf, pg)', true],
    ['p2pdma-pte', 'eras/gup-6.10-shape.c', 'folio-6x', 'arm64', 'is_pci_p2pdma_page(pg) && !(gf & FOLL_PCI_P2PDMA)', true],
    // `!pmd_access_permitted(...) || pmd_special(seen) || ...`: the special test is what decides
    ['special-pmd', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'pmd_special(seen)', true],
    ['special-pud', 'eras/gup-6.10-shape.c', 'folio-6x', 'arm64', 'pud_special(seen)', true],
    ['pin-shared-readonly-thp', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', '!pmd_write(seen) && gup_must_unshare', true],
    ['pin-shared-readonly-thp', 'eras/gup-6.1-shape.c', 'folio-6x@6.1', 'arm64', '!pmd_write(seen) && gup_must_unshare', true],
    ['pin-shared-readonly-huge-pud', 'eras/gup-6.10-shape.c', 'folio-6x', 'arm64', '!pud_write(seen) && gup_must_unshare', true],
    // the pte is present, user and readable: only its protection key refuses it
    ['pkey-denied', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'pte_protnone(v) || !pte_access_permitted(v, gf & FOLL_WRITE)', true],
    // the zero page's pte is special: the walker leaves it to the slow path
    ['zero-page-read', 'eras/gup-6.1-shape.c', 'folio-6x@6.1', 'arm64', 'if (pte_special(seen))', true],
    // PAE has no NUMA balancing (pte_protnone is 0): the present/user test refuses PAGE_NONE
    ['prot-none', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-pae', 'if (pte_protnone(v) ||', true],
    ['prot-none', 'eras/gup-5.10-shape.c', 'wpseq-2021', 'arm64', 'if (pte_protnone(v) || !pte_access_permitted', true],
    // 32-bit ARM before 4.15: PAGE_NONE is present, not protnone, and nothing tests the user bit: taken
    ['prot-none', 'gup-2014-shape.c', 'generic-2014', 'arm-lpae', 'if (!pte_present(seen) || pte_special(seen)', false],
    ['prot-none', 'eras/gup-5.10-shape.c', 'wpseq-2021', 'arm-lpae', 'if (pte_protnone(v) || !pte_access_permitted', true],
    // a pmd migration entry is not present (and not none): the walk stops there
    ['migration-pmd', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'if (!pmd_present(pmv))', true],
    ['migration-pmd', 'eras/gup-5.10-shape.c', 'wpseq-2021', 'x86-64', 'if (!pmd_present(pmv))', true],
    // arm64 migrates THPs whole from 5.10 (ARCH_ENABLE_THP_MIGRATION): its pmd swap entry is not present either
    ['migration-pmd', 'eras/gup-6.10-shape.c', 'folio-6x', 'arm64', 'if (!pmd_present(pmv))', true],
    ['migration-pte', 'eras/gup-6.1-shape.c', 'folio-6x@6.1', 'arm64', 'if (!pte_access_permitted', true],
    // TASK_SIZE_MAX is the running machine's: 2^56 - 4096 with 5-level paging, though the file was compiled for x86-64
    ['la57-high', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'lim > TASK_SIZE_MAX', false],
    ['past-task-size', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'lim > TASK_SIZE_MAX', true],
    ['fast-only-past-task-size', 'gup-2014-shape.c', 'generic-2014', 'arm64', 'if (!access_ok(write ? VERIFY_WRITE', true],
    ['numa-protnone-honor', 'eras/gup-6.10-shape.c', 'folio-6x', 'arm64', 'if (pte_protnone(v) ||', true],
    ['get-longterm', 'eras/gup-6.10-shape.c', 'folio-6x', 'x86-64', 'if (!is_valid_gup_args(pages, NULL, &gup_flags, FOLL_GET))', true],
  ] as const)('%s takes its branch on %s (%s, %s)', (scenario, file, model, arch, needle, outcome) => {
    const t = text(file);
    const l = lineOf(t, needle);
    expect(l, needle).toBeGreaterThan(0);
    expect([...outcomes(file, model, arch, scenario)]).toContain(`${l}:${outcome}`);
  });

  // (the 6.1 fixture walks with do-while loops, as the kernel does; the other fixtures' while loops never start on an empty range)
  it.each([
    ['eras/gup-6.1-shape.c', 'folio-6x@6.1', 'arm64', 'out[*got] = pg;'],
    ['eras/gup-6.1-shape.c', 'folio-6x@6.1', 'x86-pae', 'out[*got] = pg;'],
  ] as const)('zero-pages on %s (%s, %s): the walk stores past the empty pages[] at that line, as the model does', (file, model, arch, needle) => {
    const t = text(file);
    const v = sourceVersion(t, parse, getArch(arch), getVersion(model));
    const own = replay({ arch, version: v, scenario: 'zero-pages', trace: true });
    expect(own.result.overrun).toEqual({ len: 0, line: lineOf(t, needle) });
    // the oracle: the model ran past at the same page, with the same reference left behind
    const oracle = replay({ arch, version: model, scenario: 'zero-pages' });
    expect(oracle.result.overrun).toEqual({ len: 0 });
    expect(own.deltas).toEqual(oracle.deltas);
    // every frame the walk entered is left (unwound), and the call ends with interrupts on
    expect(own.steps.filter((x) => x.event === 'call').length).toBe(own.steps.filter((x) => x.event === 'return').length);
    expect(own.machine.cpus[0].irqsOff).toBe(false);
  });

  it('the catalog covers most decision outcomes of every era fixture\'s GUP-fast functions', async () => {
    const stubs = parseStubs(['vendor_gup_account=noop', 'slow_path_rest=0']);
    for (const f of ['eras/gup-4.9-shape.c', 'eras/gup-5.10-shape.c', 'eras/gup-6.1-shape.c', 'eras/gup-6.10-shape.c', 'eras/x86-2008-shape.c', 'gup-2014-shape.c']) {
      const c = await fileCoverage(f.includes('x86-2008') ? 'arch/x86/mm/gup.c' : f, text(f), { stubs });
      expect(c.summary.percent, f).toBeGreaterThanOrEqual(85);
    }
  }, 120_000);

  it('where runs stop inside a function (a read of an unset local, a call the interpreter does not know), coverage says so beside the lines it leaves unreached', async () => {
    const g49 = text('eras/gup-4.9-shape.c');
    const early = g49.replace('\thd = pmd_page(seen);\n\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);', '\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);\n\thd = pmd_page(seen);');
    expect(early).not.toBe(g49);
    const c = await fileCoverage('mm/gup.c', early, { races: false });
    const at = lineOf(early, 'pg = hd + ((va');
    const huge = c.functions.find((f) => f.name === 'gup_huge_pmd')!;
    expect(huge.stops).toEqual([{ line: at, why: `line ${at} read hd before anything set it (an uninitialised local has no value in C)`, runs: expect.arrayContaining(['thp-pmd on arm64']) }]);
    // the file as written stops nowhere there
    expect((await fileCoverage('mm/gup.c', g49, { races: false })).functions.find((f) => f.name === 'gup_huge_pmd')!.stops).toEqual([]);
    // a vendor call whose value the walk needs: the runs that reach it stop there, named
    const needed = g49.replace('vendor_gup_account(current, nr_pages);', 'if (vendor_gup_account(current, nr_pages)) return 0;');
    const v = (await fileCoverage('mm/gup.c', needed, { races: false })).functions.find((f) => f.name === 'get_user_pages_fast')!;
    expect(v.stops).toEqual([expect.objectContaining({ line: lineOf(needed, 'vendor_gup_account(current'), why: expect.stringMatching(/^stopped: .*vendor_gup_account/) })]);
    const out: string[] = [];
    const dir = mkdtempSync(join(tmpdir(), 'cov-'));
    writeFileSync(join(dir, 'gup.c'), early);
    await main(['coverage', join(dir, 'gup.c'), '--no-races'], (s) => out.push(s));
    expect(out.join('\n')).toMatch(new RegExp(`runs stop: line ${at} read hd before anything set it .*\\(.*thp-pmd on arm64`));
  }, 60_000);

  it('gup-lens coverage --json: per function lines, branches, what was missed, and which scenarios ran a line', async () => {
    const c = await fileCoverage('gup.c', text('eras/gup-6.10-shape.c'), { races: false });
    const pte = c.functions.find((f) => f.name === 'gup_fast_pte_range')!;
    expect(pte.branches.run).toBeGreaterThan(0);
    expect(pte.lines.run).toBeLessThanOrEqual(pte.lines.total);
    expect(Object.values(pte.ranBy).flat()).toContain('pages-4k-16 on x86-64');
    const out: string[] = [];
    const file = join(FIX, 'eras/gup-6.10-shape.c');
    expect(await main(['coverage', file, '--json', '--no-races'], (s) => out.push(s))).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(Object.keys(j)).toEqual(['file', 'functions', 'summary']);
    expect(Object.keys(j.functions[0]).sort()).toEqual(['branches', 'line', 'lines', 'missed', 'name', 'unreachable']);
    expect(j.summary.branches.total).toBeGreaterThan(0);
  }, 60_000);

  it('a function no entry point calls is unreachable, not missed', async () => {
    const extra = '\n/* the caller\'s release: GUP-fast itself never calls it */\nvoid unpin_user_page(struct page *pg)\n{\n\tif (pg)\n\t\tgup_put_folio(page_folio(pg), 1, FOLL_PIN);\n}\n';
    const c = await fileCoverage('gup.c', text('eras/gup-6.10-shape.c') + extra, { races: false });
    const unpin = c.functions.find((f) => f.name === 'unpin_user_page')!;
    expect(unpin).toMatchObject({ unreachable: true, missed: [] });
    const walker = c.functions.find((f) => f.name === 'gup_fast_pte_range')!;
    expect(walker.unreachable).toBe(false);
  }, 60_000);

  it('a walk that runs past its range stops at the end of the caller\'s pages[] with the line, instead of growing it without bound', () => {
    const t = text('eras/gup-6.10-shape.c').replace('while (va != lim) {', 'while (va != 0) {');
    const v = sourceVersion(t, parse, getArch('x86-64'), getVersion('folio-6x'));
    const stored = lineOf(t, 'out[n] = nth_page(from_pg, n);');
    const rp = replay({ arch: 'x86-64', version: v, scenario: 'thp-pmd', trace: true });
    expect(rp.result.overrun).toEqual({ len: 512, line: stored });
    expect(rp.result.pages).toHaveLength(512);
    expect(rp.steps.at(-2)?.note).toMatch(/pages\[512\], past the caller's array of 512 \(nr_pages\)/);
  });

  it('the upper name of a folded level tests nothing (pgtable-nop4d, -nopud): the folded name below it does', () => {
    const t610 = text('eras/gup-6.10-shape.c');
    const pgd610 = lineOf(t610, 'if (pgd_none(topv) ||');
    for (const arch of ['x86-64', 'arm-lpae']) {
      const v = sourceVersion(t610, parse, getArch(arch), getVersion('folio-6x'));
      // p4d is folded below the pgd everywhere here: pgd_none is 0, only the walk below decides on that line
      expect(v.program.fns.get('gup_fast_pgd_range')!.branches.filter((l) => l === pgd610), arch).toHaveLength(1);
    }
    // LPAE's pud is folded into the pgd entry: an empty one fails pud_present, as the kernel's walk does
    expect([...outcomes('eras/gup-6.10-shape.c', 'folio-6x', 'arm-lpae', 'unmapped-far')]).toContain(`${lineOf(t610, 'if (!pud_present(puv))')}:true`);
    // before p4d (no p4d_* in the file) x86-64's pgd is a table of its own and pgd_none tests it; LPAE's is still folded
    const t49 = text('eras/gup-4.9-shape.c');
    const pgd49 = lineOf(t49, 'if (pgd_none(pgv) ||');
    const decisions = (arch: string) => sourceVersion(t49, parse, getArch(arch), getVersion('generic-2014')).program.fns.get('__get_user_pages_fast')!.branches.filter((l) => l === pgd49).length;
    expect(decisions('x86-64')).toBe(2);
    expect(decisions('arm-lpae')).toBe(1);
  });

  it('a test whose value the configuration fixes is no decision; one that reads the flags is', () => {
    const fixed = '\tif ((gup_flags & FOLL_PIN) && arch_make_folio_accessible(NULL))\n\t\treturn -EINVAL;\n\tif (!IS_ENABLED(CONFIG_MMU) || (gup_flags & FOLL_PIN))\n\t\treturn -EINVAL;\n';
    const t = text('eras/gup-6.10-shape.c').replace(/(int get_user_pages_fast\([^)]*\)\n\{\n)/, `$1${fixed}`);
    const v = sourceVersion(t, parse, getArch('x86-64'), getVersion('folio-6x'));
    const at = (needle: string) => lineOf(t, needle);
    const decisions = v.program.fns.get('get_user_pages_fast')!.branches;
    // s390's hook is 0 on every modelled arch: the whole && is false, never a path to take
    expect(decisions).not.toContain(at('arch_make_folio_accessible(NULL)'));
    // IS_ENABLED(CONFIG_MMU) is configuration, the flags are not: the || decides on them
    expect(decisions.filter((l) => l === at('!IS_ENABLED(CONFIG_MMU)'))).toHaveLength(1);
  });
});
