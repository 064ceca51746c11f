/**
 * A tree nobody here has seen: the slow path its file defines is never compiled (the built-in
 * runs), assertions that name what only a vendor knows are taken as holding, a vendor hook runs
 * once stubbed, the era comes from the file's own markers (a 4.5-4.12 walker meets the 4.5+ split,
 * and shows the compound-head race), a torn frame outside memory is a violation, initializer lists
 * zero a local, and a kernel tree's headers fill in the macros the file uses.
 */
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import { explore } from '../../emulator/explore/explore';
import { stoppedCall } from '../../emulator/explore/invariants';
import { builtin } from '../../emulator/interp/kapi';
import { hugeLevelsOf } from '../../emulator/interp/kapi/pgtable';
import { parseStubs } from '../../emulator/interp/kapi/stubs';
import { UNSET, Unsupported } from '../../emulator/interp/runtime';
import { callFunction, sourceVersion, type ParseC, type SourceOptions } from '../../emulator/interp/source-version';
import { buildMachine } from '../../emulator/machine/builder';
import { checkApplicable, makeKern, NotApplicableError, replay } from '../../emulator/run/replay';
import { getRace } from '../../emulator/scenarios/races';
import { getVersion } from '../../emulator/versions';
import { checkText } from '../../server/analysis/check';
import { fileVersion } from '../../server/analysis/source';
import { releaseOfMakefile } from '../../server/analysis/headers';
import { releaseLine } from '../../emulator/interp/era';
import { sourceParser } from '../../server/analysis/parse';
import { F } from '../../emulator/machine/memory';
import { formatResult } from '../../emulator/trace/describe';
import { FnSink } from '../../emulator/trace/buffer';
import { withMappingSecretmemCheck } from '../fixtures/derive';

const FIX = join(__dirname, '../fixtures');
const V49 = readFileSync(join(FIX, 'eras/gup-4.9-shape.c'), 'utf8');
const line = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;
const HOOK = { stubs: parseStubs(['vendor_gup_account=noop']) };

let parse: ParseC;
beforeAll(async () => {
  parse = await sourceParser();
});

const v49 = (arch: string, opts: SourceOptions = HOOK) => sourceVersion(V49, parse, getArch(arch), getVersion('generic-2014'), opts);

describe('the file of a tree nobody here has seen', () => {
  it('speaks as its own release: the file placed before 5.8, the actors racing it take mmap_sem', () => {
    const v = v49('x86-64');
    expect(v.since).toBe(v.placement!.since);
    const k = makeKern(buildMachine(getArch('x86-64'), v.era, { mappings: [] }), v, undefined, 'munmap', 1, true);
    expect(k.speak?.('mmap_write_lock(mm)')).toBe('down_write(&mm->mmap_sem)');
  });

  it('never compiles the slow path it defines: the built-in runs, and the file is said to define it', () => {
    const v = v49('x86-64');
    expect(v.program.slowPath).toEqual(['get_user_pages_unlocked']);
    expect(v.program.fns.has('get_user_pages_unlocked')).toBe(false);
    // vma->vm_end and `= { NULL }` in its body stop nothing: the fast path gives up half way, the built-in does the rest
    const r = replay({ arch: 'x86-64', version: v, scenario: 'hole-middle' });
    expect(r.result).toMatchObject({ nr: 16, slowPath: true, fastNr: 8 });
  });

  it('a walker that does not round an unaligned start down (2.6.27-rc1 before its fix) runs past its pte table at a pmd boundary: stopped and said, a kernel outcome, not a limit of the interpreter', async () => {
    const X86 = readFileSync(join(FIX, 'eras/x86-2008-shape.c'), 'utf8');
    const unrounded = X86.replace('va = start & PAGE_MASK;', 'va = start;');
    expect(unrounded).not.toBe(X86);
    const run = (text: string) => replay({ arch: 'x86-64', version: sourceVersion(text, parse, getArch('x86-64'), getVersion('x86-2008'), {}), scenario: 'unaligned-cross-pmd' }).result;
    const bad = run(unrounded);
    expect(bad.overrun?.table).toEqual({ level: 'pte', idx: 512 });
    expect(bad.nr).toBe(8);
    // in a race, such a call is a violation of its own
    expect(stoppedCall(bad)).toMatchObject({ invariant: 'walk-overrun', message: expect.stringMatching(/^the walk ran past its range: it read pte entry 512 of a 512-entry table \(line \d+\); the call stopped there$/) });
    expect(run(X86).overrun).toBeUndefined();
    const c = await checkText('arch/x86/mm/gup.c', unrounded, { races: false });
    expect(c.arches[0].runs.find((r) => r.scenario === 'unaligned-cross-pmd')).toMatchObject({ engine: 'source', outcome: expect.stringContaining('overrun(pte table[512])') });
  });

  it('a local read before anything set it (a bad backport\'s `tail = page;` one line early) stops the call at that read, named, as the file\'s own outcome; a local set through its address starts as a typed zero', async () => {
    const G49 = readFileSync(join(FIX, 'eras/gup-4.9-shape.c'), 'utf8');
    const early = G49.replace('\thd = pmd_page(seen);\n\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);', '\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);\n\thd = pmd_page(seen);');
    expect(early).not.toBe(G49);
    const run = (text: string) => replay({ arch: 'arm64', version: sourceVersion(text, parse, getArch('arm64'), getVersion('generic-2014'), {}), scenario: 'thp-pmd' });
    const bad = run(early);
    expect(bad.result.uninit).toEqual({ name: 'hd', line: line(early, 'pg = hd + ((va') });
    expect(bad.result.nr).toBe(0);
    expect(formatResult(bad.result, bad.deltas).join('\n')).toMatch(/line \d+ read hd before anything set it/);
    // the same file with the lines in order pins the whole huge page
    expect(run(G49).result).toMatchObject({ nr: 512 });
    expect(run(G49).result.uninit).toBeUndefined();
    const c = await checkText('mm/gup.c', early, { races: false });
    const thp = c.arches.find((a) => a.arch === 'arm64')!.runs.find((r) => r.scenario === 'thp-pmd')!;
    expect(thp).toMatchObject({ engine: 'source', outcome: expect.stringContaining(`uninit(hd@${line(early, 'pg = hd + ((va')})`) });
    // a race that walks the huge pmd meets the same read: a violation of its own, whatever the interleaving (not a leak the stop left behind)
    const race = (text: string) => explore(getRace('race-pmd-changed'), { arch: 'arm64', version: sourceVersion(text, parse, getArch('arm64'), getVersion('generic-2014'), {}) });
    expect(race(early)).toMatchObject({ verdict: 'violation', invariant: 'uninitialised-read', message: `line ${line(early, 'pg = hd + ((va')} read hd before anything set it (an uninitialised local has no value in C); the call stopped there` });
    expect(race(G49).verdict).toBe('ok');
    // `unsigned long va, lim, span, irqs;`: irqs is set by local_irq_save(irqs), through its address, so it starts as a 64-bit zero; the others start unset
    const fn = sourceVersion(G49, parse, getArch('arm64'), getVersion('generic-2014'), {}).program.fns.get('__get_user_pages_fast')!;
    const slot = (name: string) => fn.locals.find((l) => l.name === name)!.slot;
    expect(fn.zeros[slot('irqs')]).toBe(0n);
    expect(fn.zeros[slot('span')]).toBe(UNSET);
  });

  it('reads a field of the arch\'s per-mm state (a vendor\'s mm->context flag), or one a tree adds to mm_struct, as 0, an mm that has not used it, and says so in the stubs and on the line', async () => {
    const X86 = readFileSync(join(FIX, 'eras/x86-2008-shape.c'), 'utf8');
    const flagged = X86.replace('\t/* with interrupts off, no TLB-flush IPI can finish', '\tif (unlikely(mm->context.foreign_maps))\n\t\tgoto slow_irqon;\n\n\t/* with interrupts off, no TLB-flush IPI can finish');
    expect(flagged).not.toBe(X86);
    const v = sourceVersion(flagged, parse, getArch('x86-64'), getVersion('x86-2008'), {});
    expect(v.stubsUsed).toEqual(["mm->context.foreign_maps=0 (assumed: the arch's per-mm state is not modelled)"]);
    expect(v.program.zeroFields.get('mm->context.foreign_maps')).toBe(line(flagged, 'mm->context.foreign_maps'));
    // the fast path runs on: 16 pages without the slow path
    expect(replay({ arch: 'x86-64', version: v, scenario: 'pages-4k-16' }).result).toMatchObject({ nr: 16, slowPath: false });
    const c = await checkText('arch/x86/mm/gup.c', flagged, { races: false });
    expect(c.arches.every((a) => a.runs.every((r) => r.engine === 'source'))).toBe(true);
    // a field a tree adds to mm_struct itself (a research kernel's replicated page tables): a new mm has it zeroed, so the fast path runs
    const added = X86.replace('\t/* with interrupts off, no TLB-flush IPI can finish', '\tif (current->mm->lazy_repl_enabled || mm->vendor_mode)\n\t\tgoto slow_irqon;\n\n\t/* with interrupts off, no TLB-flush IPI can finish');
    const w = sourceVersion(added, parse, getArch('x86-64'), getVersion('x86-2008'), {});
    expect(w.stubsUsed).toEqual([
      'mm->lazy_repl_enabled=0 (assumed: a field of mm_struct gup-lens does not model; mm_alloc() zeroes a new mm)',
      'mm->vendor_mode=0 (assumed: a field of mm_struct gup-lens does not model; mm_alloc() zeroes a new mm)',
    ]);
    expect(w.program.zeroFields.get('mm->lazy_repl_enabled')).toBe(line(added, 'lazy_repl_enabled'));
    expect(replay({ arch: 'x86-64', version: w, scenario: 'pages-4k-16' }).result).toMatchObject({ nr: 16, slowPath: false });
    // a store to one stops the run, with its name
    const stored = X86.replace('\t/* with interrupts off, no TLB-flush IPI can finish', '\tmm->vendor_mode = 1;\n\n\t/* with interrupts off, no TLB-flush IPI can finish');
    expect(() => replay({ arch: 'x86-64', version: sourceVersion(stored, parse, getArch('x86-64'), getVersion('x86-2008'), {}), scenario: 'pages-4k-16' })).toThrow(/a store to mm->vendor_mode/);
  });

  it('page tests and contexts a distribution adds to the walker (KSM, memory errors, THP names, interrupt context) run as built-ins, with the answer every scenario page and caller gives', async () => {
    const V61 = readFileSync(join(FIX, 'eras/gup-6.1-shape.c'), 'utf8');
    const added = V61.replace(
      '\t\tpg = pte_page(seen);\n',
      '\t\tpg = pte_page(seen);\n\t\tif (in_interrupt() || irq_count() || !in_task() || PageKsm(pg) || PageHWPoison(pg))\n\t\t\tgoto out;\n\t\tif (PageTransCompound(pg) != PageCompound(pg) || PageTransHuge(pg) != PageHead(pg) || PageTransTail(pg) != PageTail(pg))\n\t\t\tgoto out;\n',
    );
    expect(added).not.toBe(V61);
    const c = await checkText('mm/gup.c', added, { races: false, arches: ['x86-64', 'arm64'] });
    const plain = await checkText('mm/gup.c', V61, { races: false, arches: ['x86-64', 'arm64'] });
    const runs = (x: typeof c) => x.arches.flatMap((a) => a.runs.map((r) => [a.arch, r.scenario, r.engine, r.outcome]));
    // the same outcome, scenario by scenario (the 4 KiB pages, the THP mapped by ptes, the hugetlb ones), all on the file's own code
    expect(runs(c)).toEqual(runs(plain));
    expect(runs(c).every((r) => r[2] === 'source')).toBe(true);
    expect(runs(c).some((r) => /thp/.test(String(r[1])))).toBe(true);
  });

  it("__access_ok, the check a vendor's walker (and 5.18's generic one) calls without access_ok's wrapper, answers as access_ok: the same outcome on every scenario", async () => {
    const V510 = readFileSync(join(FIX, 'eras/gup-5.10-shape.c'), 'utf8');
    const bare = V510.replace('if (!access_ok((void __user *)va, count << PAGE_SHIFT))', 'if (!__access_ok((void __user *)va, count << PAGE_SHIFT))');
    expect(bare).not.toBe(V510);
    const runs = async (text: string) => (await checkText('mm/gup.c', text, { races: false, arches: ['x86-64'] })).arches.flatMap((a) => a.runs.map((r) => [r.scenario, r.engine, r.outcome]));
    const got = await runs(bare);
    expect(got).toEqual(await runs(V510));
    expect(got.every((r) => r[1] === 'source')).toBe(true);
    // a range past user space fails the check
    expect(got.find((r) => r[0] === 'past-task-size')?.[2]).toMatch(/ret=-14/);
  });

  it('a merge conflict left in the file (a tree mid-rebase) stops its runs there, named as one; other unreadable text is named as text the parser could not read', async () => {
    const V61 = readFileSync(join(FIX, 'eras/gup-6.1-shape.c'), 'utf8');
    const lines = V61.split('\n');
    const at = lines.findIndex((x) => x.includes('pte_special'));
    expect(at).toBeGreaterThan(0);
    const conflicted = [...lines.slice(0, at), '<<<<<<< HEAD', lines[at], '=======', lines[at].replace('pte_special', 'pte_devmap'), '>>>>>>> 0123abcd (a change)', ...lines.slice(at + 1)].join('\n');
    const stops = async (text: string) => (await checkText('mm/gup.c', text, { races: false, arches: ['x86-64'] })).arches[0].runs.flatMap((r) => (r.unsupported ? [`${r.unsupported.what}@${r.unsupported.line}`] : []));
    const got = [...new Set(await stops(conflicted))];
    expect(got).toEqual([`an unresolved merge conflict (<<<<<<<)@${at + 1}`]);
    const garbled = [...lines.slice(0, at), '\t\t@@ stray $$ text ##', ...lines.slice(at)].join('\n');
    expect([...new Set(await stops(garbled))]).toEqual([expect.stringMatching(new RegExp(`^text the C parser could not read \\(.*\\)@${at + 1}$`))]);
  });

  it("try_get_compound_head, called where a header defines it (RHEL 7's pagemap.h for its arch/x86/mm/gup.c), answers as the lookup and speculative ref it replaces; an overflowed count gets no reference", async () => {
    const V49 = readFileSync(join(FIX, 'eras/gup-4.9-shape.c'), 'utf8');
    const lookup = 'hd = compound_head(pg);\n\t\tif (!page_cache_get_speculative(hd)) {';
    expect(V49).toContain(lookup);
    const header = V49.replace(lookup, 'hd = try_get_compound_head(pg, 1);\n\t\tif (!hd) {');
    const runs = async (text: string) => (await checkText('mm/gup.c', text, { races: false, arches: ['x86-64', 'arm64'] })).arches.flatMap((a) => a.runs.map((r) => [a.arch, r.scenario, r.engine, r.outcome]));
    const got = await runs(header);
    const plain = await runs(V49);
    // the same on every scenario but the one it is for: a count at 2^32 - 1 is refused (in both paths), not wrapped
    const but = (rs: typeof got) => rs.filter((r) => r[1] !== 'get-refcount-overflow');
    expect(but(got)).toEqual(but(plain));
    expect(got.filter((r) => r[1] === 'get-refcount-overflow').map((r) => r[3])).toEqual([expect.stringMatching(/^nr=0 ret=-12 /), expect.stringMatching(/^nr=0 ret=-12 /)]);
    // the check's outcome names what the unguarded walk broke
    expect(plain.filter((r) => r[1] === 'get-refcount-overflow').map((r) => r[3])).toEqual([expect.stringMatching(/^nr=1 ret=1 .*\[refcount-wrap\]$/), expect.stringMatching(/^nr=1 ret=1 .*\[refcount-wrap\]$/)]);
    expect(got.every((r) => r[2] === 'source')).toBe(true);
    // the overflow check itself: a head whose count went negative gives NULL and takes nothing
    const m = buildMachine(getArch('x86-64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 1 }] });
    const pfn = m.mem.alloc(0);
    const k = makeKern(m, getVersion('generic-2014'), undefined, 'gup', 0, false);
    const run = builtin('try_get_compound_head', getArch('x86-64'))!.run!;
    const t = { k, sched: () => undefined } as unknown as Parameters<typeof run>[0];
    expect(run(t, [pfn, 2])).toBe(pfn);
    expect(m.refcount(pfn)).toBe(3);
    m.mem.put(F.refcount, m.mem.idx(pfn), -5);
    expect(run(t, [pfn, 1])).toBeNull();
    expect(m.refcount(pfn)).toBe(-5);
  });

  it('runs past a vendor hook called for its effect, taking it as doing nothing and saying so; stops at one whose value it needs; a stub says what it does', () => {
    const at = line(V49, 'vendor_gup_account(current');
    // its value unused: the run goes on, the trace and the stubs list name the assumption
    const bare = v49('arm64', {});
    expect(bare.stubsUsed).toEqual(['vendor_gup_account()=noop (assumed: unknown, its value unused)']);
    const r = replay({ arch: 'arm64', version: bare, scenario: 'pages-4k-16', trace: true });
    expect(r.result.nr).toBe(16);
    expect(r.steps.filter((x) => x.event === 'note' && x.line === at).map((x) => x.note)).toEqual([expect.stringMatching(/^vendor_gup_account\(\) at line \d+ is no kernel function the interpreter knows and its value is unused: taken as doing nothing/)]);
    // its value used: nothing to assume, the run stops there with the name and the line
    const used = sourceVersion(V49.replace('vendor_gup_account(current, nr_pages);', 'if (vendor_gup_account(current, nr_pages)) return 0;'), parse, getArch('arm64'), getVersion('generic-2014'), {});
    let stop: Unsupported | undefined;
    try {
      replay({ arch: 'arm64', version: used, scenario: 'pages-4k-16' });
    } catch (e) {
      stop = e as Unsupported;
    }
    expect(stop).toBeInstanceOf(Unsupported);
    expect(stop?.what).toBe('call to vendor_gup_account()');
    expect(stop?.line).toBe(at);
    const v = v49('arm64');
    expect(v.stubsUsed).toEqual(['vendor_gup_account()=noop']);
    expect(replay({ arch: 'arm64', version: v, scenario: 'pages-4k-16' }).result.nr).toBe(16);
    for (const value of ['0', '1', 'true', 'false']) {
      const w = v49('arm64', { stubs: parseStubs([`vendor_gup_account=${value}`]) });
      expect(w.stubsUsed).toEqual([`vendor_gup_account()=${value}`]);
    }
    expect(() => parseStubs(['vendor_gup_account=maybe'])).toThrow(/noop, 0, 1, true, false/);
  });

  it('takes an assertion naming what only the vendor knows as holding, and notes it was not evaluated', () => {
    const r = replay({ arch: 'x86-64', version: v49('x86-64'), scenario: 'pages-4k-16', trace: true });
    const notes = r.steps.filter((s) => s.event === 'note' && s.line === line(V49, 'PF_VENDOR_NO_FAST_GUP'));
    expect(notes.map((s) => s.note)).toEqual([expect.stringMatching(/^WARN_ON_ONCE at line \d+: condition not evaluated \(.*vendor_flags.*\); taken as holding$/)]);
    expect(r.result.nr).toBe(16);
    // a known condition is still evaluated: VM_BUG_ON_PAGE(compound_head(pg) != head) never fires on a THP
    expect(replay({ arch: 'x86-64', version: v49('x86-64'), scenario: 'thp-pmd', trace: true }).steps.some((s) => /fired/.test(s.note ?? ''))).toBe(false);
  });

  it('places a 4.5-4.12 walker by its markers: the 4.5+ split applies, the pre-4.5 one does not', () => {
    const v = v49('arm64');
    expect(v.placement).toMatchObject({ since: '4.5', era: 'modern', tails: 'head-only' });
    expect(v.era).toBe('modern');
    expect(() => checkApplicable(getArch('arm64'), v, getRace('race-thp-split-no-ipi'))).toThrow(NotApplicableError);
    // the head looked up, then the ref: another CPU splits and frees the THP between the two
    expect(explore(getRace('race-compound-head-split'), { arch: 'arm64', version: v }).verdict).toBe('violation');
    // bare-metal x86: the split waits for the flush IPI the interrupts-off walker holds back
    expect(explore(getRace('race-compound-head-split'), { arch: 'x86-64', version: v49('x86-64') }).verdict).toBe('ok');
  });

  it("the split's dummy IPI is the release's (arm and arm64 3.18-4.4), not the model's: a 3.18-4.4 walker matched to a later model (a refcount-overflow backport) still meets the split that waits for it", () => {
    const text = readFileSync(join(FIX, 'gup-2014-shape.c'), 'utf8');
    // the model a file matches can be a later one (its backports look like that model's code), whose defaults have no splitting protocol to send an IPI for
    const g = getVersion('generic-2014');
    const later = { ...g, defaults: { ...g.defaults, splitIpi: false } };
    const stubs = parseStubs(['slow_path_rest=0']);
    const v = sourceVersion(text, parse, getArch('arm64'), later, { stubs });
    expect(v.placement).toMatchObject({ era: 'thp-split' });
    expect(v.defaults.splitIpi).toBe(true);
    expect(explore(getRace('race-thp-split-no-ipi'), { arch: 'arm64', version: v }).verdict).toBe('ok');
    // without the IPI (the 2013 ARM RFC's release) the same code loses the tails' refs: the IPI is what the verdict turns on
    expect(explore(getRace('race-thp-split-no-ipi'), { arch: 'arm64', version: { ...v, defaults: { ...v.defaults, splitIpi: false } } }).verdict).toBe('violation');
  });

  it('a walker without a huge-pmd path (a configuration without THP): huge-pmd layouts and races do not apply, 4K ones run', () => {
    const text = readFileSync(join(FIX, 'nothp-arm-shape.c'), 'utf8');
    expect(hugeLevelsOf(text)).toEqual([]);
    expect(hugeLevelsOf(V49)).toContain('pmd');
    const v = sourceVersion(text, parse, getArch('arm-lpae'), getVersion('generic-2014'));
    expect(v.hugeLeaves).toEqual([]);
    expect(() => replay({ arch: 'arm-lpae', version: v, scenario: 'thp-pmd' })).toThrow(/never tests for one/);
    expect(() => checkApplicable(getArch('arm-lpae'), v, getRace('race-pmd-changed')!)).toThrow(NotApplicableError);
    const r = replay({ arch: 'arm-lpae', version: v, scenario: 'pages-4k-16' });
    expect(r.result).toMatchObject({ nr: 16, fastNr: 16 });
    // a model has no such limit
    expect(() => replay({ arch: 'arm-lpae', version: 'generic-2014', scenario: 'thp-pmd' })).not.toThrow();
  });

  it('reports a torn frame outside memory as the wild struct page it is, not as a tool error', () => {
    const v = sourceVersion(readFileSync(join(FIX, 'gup-2014-shape.c'), 'utf8'), parse, getArch('x86-pae'), getVersion('generic-2014'));
    const r = explore(getRace('race-pae-torn-pte'), { arch: 'x86-pae', version: v });
    expect(r.verdict).toBe('violation');
    expect(r.invariant).toBe('torn-read');
  });

  it('zeroes a local from an initializer list and takes { v } for a scalar', () => {
    const text = V49.replace('int got = 0;\n\n\tstart -= start & ~PAGE_MASK;', 'int got = { 0 };\n\tstruct walk_ctx scratch = { .last = NULL, .hits = 0 };\n\tint twice = { 2 };\n\n\tstart -= start & ~PAGE_MASK;\n\tgot = twice - 2;');
    expect(text).not.toBe(V49);
    const v = sourceVersion(text, parse, getArch('x86-64'), getVersion('generic-2014'), HOOK);
    expect(replay({ arch: 'x86-64', version: v, scenario: 'pages-4k-16' }).result.nr).toBe(16);
  });

  it('reads the macros a file uses from its kernel tree\'s headers', async () => {
    const tree = mkdtempSync(join(tmpdir(), 'gup-tree-'));
    mkdirSync(join(tree, 'mm'));
    mkdirSync(join(tree, 'include/linux'), { recursive: true });
    writeFileSync(join(tree, 'mm/internal.h'), '#define VENDOR_GUP_LIMIT\t(VENDOR_GUP_PAGES * 2)\n');
    writeFileSync(join(tree, 'include/linux/mm.h'), '/* pages a vendor lets GUP-fast take */\n#define VENDOR_GUP_PAGES 8\n');
    const text = V49.replace('\tstart -= start & ~PAGE_MASK;\n\tspan =', '\tstart -= start & ~PAGE_MASK;\n\tif (nr_pages > VENDOR_GUP_LIMIT)\n\t\tnr_pages = VENDOR_GUP_LIMIT;\n\tspan =');
    expect(text).not.toBe(V49);
    const path = join(tree, 'mm/gup.c');
    writeFileSync(path, text);
    const inTree = await fileVersion(text, { arch: 'x86-64', path, stubs: HOOK.stubs });
    // 16 asked, the tree's limit is 16: all of it fast
    expect(replay({ arch: 'x86-64', version: inTree.source!, scenario: 'pages-4k-16' }).result).toMatchObject({ nr: 16, slowPath: false });
    const alone = await fileVersion(text, { arch: 'x86-64', path: '/nowhere/gup.c', stubs: HOOK.stubs });
    expect(() => replay({ arch: 'x86-64', version: alone.source!, scenario: 'pages-4k-16' })).toThrow(/VENDOR_GUP_LIMIT/);
  });

  it("takes its release from its tree's Makefile where the code allows it, and keeps the code's range where it does not", async () => {
    const treeOf = (makefile: string, text = V49) => {
      const tree = mkdtempSync(join(tmpdir(), 'gup-rel-'));
      mkdirSync(join(tree, 'mm'));
      writeFileSync(join(tree, 'Makefile'), makefile);
      writeFileSync(join(tree, 'mm/gup.c'), text);
      return join(tree, 'mm/gup.c');
    };
    const kbuild = (v: number, p: number, s: number, x = '') => `# the top of a kernel tree\nVERSION = ${v}\nPATCHLEVEL = ${p}\nSUBLEVEL = ${s}\nEXTRAVERSION =${x && ' ' + x}\nNAME = Test\n\nall:\n`;
    // the code alone places it at 4.5-4.10, read as its oldest release: protection keys (4.6) are not there yet
    const alone = (await fileVersion(V49, { arch: 'x86-64', path: '/nowhere/mm/gup.c', stubs: HOOK.stubs })).source!;
    expect(alone.placement?.range).toMatch(/^4\.5–4\.10/);
    expect(() => replay({ arch: 'x86-64', version: alone, scenario: 'pkey-denied' })).toThrow(/4\.6\+/);
    // a 4.9 tree: the file is of 4.9, and the scenario runs on its code (a generic walker of 4.9 tests no key: x86 ran its own file then)
    const path = treeOf(kbuild(4, 9, 115));
    const in49 = await fileVersion(V49, { arch: 'x86-64', path, stubs: HOOK.stubs });
    expect(in49.source!.placement).toMatchObject({ since: '4.9', before: '4.10', tree: '4.9.115' });
    expect(in49.fingerprint?.release?.range).toMatch(/^4\.9\.115 \(its tree's Makefile; the code fits 4\.5–4\.10/);
    const r = replay({ arch: 'x86-64', version: in49.source!, scenario: 'pkey-denied' });
    expect(r.result).toMatchObject({ nr: 4, slowPath: false });
    // a Makefile the code cannot be of (a backport, a vendor's change): the code's range stands, and both are said
    const old = (await fileVersion(V49, { arch: 'x86-64', path: treeOf(kbuild(3, 10, 0, '-693.el7')), stubs: HOOK.stubs })).source!;
    expect(old.placement).toMatchObject({ since: '4.5', tree: '3.10.0-693.el7' });
    expect(old.placement?.range).toMatch(/its tree's Makefile says 3\.10\.0-693\.el7$/);
    // a 6.18 tree: devmap is gone (6.17), device memory is mapped by ordinary entries: the walker takes the device THP as any other
    const v610 = readFileSync(join(FIX, 'eras/gup-6.10-shape.c'), 'utf8');
    const in618 = (await fileVersion(v610, { arch: 'x86-64', path: treeOf(kbuild(6, 18, 2), v610) })).source!;
    expect(in618.placement?.since).toBe('6.18');
    const dev = replay({ arch: 'x86-64', version: in618, scenario: 'devmap-thp', trace: true });
    expect(dev.result).toMatchObject({ nr: 512, slowPath: false });
    expect(dev.steps.some((x) => x.level === 'pmd' && x.hi !== undefined && ((x.hi >>> 25) & 3) !== 0)).toBe(false); // neither bit 57 nor 58
    // a 6.1 tree builds the same layout with the devmap bit (58) and meets it
    expect(getArch('x86-64').at('6.1').devmap('pmd', getArch('x86-64').at('6.1').mkLeaf('pmd', 0x100200, { write: true, user: true, devmap: true }, 'modern'), 'modern')).toBe(true);
    // the tree's slow-path-only mm/gup.c (its walker in arch/x86): no code to run, but where the walker is and the tree's release
    const slowOnly = treeOf(kbuild(3, 16, 0));
    mkdirSync(join(slowOnly, '../../arch/x86/mm'), { recursive: true });
    writeFileSync(join(slowOnly, '../../arch/x86/mm/gup.c'), readFileSync(join(FIX, 'eras/x86-2008-shape.c'), 'utf8'));
    const slow = await checkText(slowOnly, 'long get_user_pages(unsigned long start, unsigned long nr_pages, struct page **pages)\n{\n\treturn 0;\n}\n');
    expect(slow).toMatchObject({ release: "3.16.0 (its tree's Makefile)", arches: [] });
    expect(slow.note).toMatch(/^no GUP-fast function found in this file .*; arch\/x86\/mm\/gup\.c in this tree is the GUP-fast walker of x86$/);
    // a directory called Makefile is no kernel's, nor one called mm.h a header: the code's range, and nothing thrown
    const odd = mkdtempSync(join(tmpdir(), 'gup-rel-'));
    mkdirSync(join(odd, 'Makefile'));
    mkdirSync(join(odd, 'mm'));
    mkdirSync(join(odd, 'include/linux/mm.h'), { recursive: true });
    expect((await fileVersion(V49, { arch: 'x86-64', path: join(odd, 'mm/gup.c'), stubs: HOOK.stubs })).source!.placement?.since).toBe('4.5');
    // a revision's own release, given by the caller, stands over the tree on disk ('' for none)
    const given = (await fileVersion(V49, { arch: 'x86-64', path, stubs: HOOK.stubs, release: '' })).source!;
    expect(given.placement?.since).toBe('4.5');
  });

  it("reads a kernel's release from its Makefile, and nothing from another Makefile", () => {
    expect(releaseOfMakefile('VERSION = 6\nPATCHLEVEL = 0\nSUBLEVEL = 0\nEXTRAVERSION = -rc1\nNAME = Test Release\n')).toBe('6.0.0-rc1');
    expect(releaseOfMakefile('VERSION = 2\nPATCHLEVEL = 6\nSUBLEVEL = 32\nEXTRAVERSION = .33\nNAME = Old Test Release\n')).toBe('2.6.32.33');
    // a distribution's own release beside the kernel's: in the Makefile (RHEL 7) or in Makefile.rhelver (RHEL 8 on)
    expect(releaseOfMakefile('VERSION = 3\nPATCHLEVEL = 10\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = T\nRHEL_MAJOR = 7\nRHEL_MINOR = 4\n')).toBe('3.10.0 (RHEL 7.4)');
    expect(releaseOfMakefile('VERSION = 4\nPATCHLEVEL = 18\nSUBLEVEL = 0\nEXTRAVERSION =\nNAME = T\n', 'RHEL_MAJOR = 8\nRHEL_MINOR = 1\n')).toBe('4.18.0 (RHEL 8.1)');
    expect(releaseLine('4.18.0 (RHEL 8.1)')).toBe('4.18');
    // another project's version numbers (no NAME), or a version 1
    expect(releaseOfMakefile('VERSION = 3\nPATCHLEVEL = 1\nall:\n')).toBeUndefined();
    expect(releaseOfMakefile('VERSION = 1\nPATCHLEVEL = 2\nNAME = tool\n')).toBeUndefined();
    expect(releaseOfMakefile('CC = gcc\nall:\n\t$(CC) -o tool tool.c\n')).toBeUndefined();
    expect(releaseOfMakefile('VERSION = $(shell cat VERSION)\nPATCHLEVEL = 1\n')).toBeUndefined();
    expect(releaseLine('2.6.32.33')).toBe('2.6.32');
    expect(releaseLine('6.0.0-rc1')).toBe('6.0');
    expect(releaseLine('4.18.0-147.el8')).toBe('4.18');
    expect(releaseLine('vendor')).toBeUndefined();
  });

  it('check: every scenario and applicable race per arch, the stubs it used, and a summary', async () => {
    const r = await checkText('gup-4.9-shape.c', V49, { stubs: HOOK.stubs, arches: ['arm64'], maxStates: 20_000 });
    expect(r.release).toMatch(/^4\.5–4\.10 /);
    expect(r.stubs).toEqual(['vendor_gup_account()=noop']);
    const runs = r.arches[0].runs;
    expect(runs.every((x) => x.engine === 'source')).toBe(true);
    expect(runs.find((x) => x.scenario === 'race-compound-head-split')?.outcome).toBe('violation (refcount-imbalance)');
    expect(runs.some((x) => x.scenario === 'race-thp-split-no-ipi')).toBe(false);
    // without the stub the hook is taken as doing nothing (its value is unused), and the report says so
    const bare = await checkText('gup-4.9-shape.c', V49, { arches: ['x86-64'], races: false });
    expect(bare.stubs).toEqual(['vendor_gup_account()=noop (assumed: unknown, its value unused)']);
    expect(bare.arches[0].runs.every((x) => x.engine === 'source')).toBe(true);
    // one whose value the walk needs is a gap: the model runs, and the census names it
    const used = V49.replace('vendor_gup_account(current, nr_pages);', 'if (vendor_gup_account(current, nr_pages)) return 0;');
    const gap = await checkText('gup-4.9-shape.c', used, { arches: ['x86-64'], races: false });
    expect(gap.arches[0].runs[0]).toMatchObject({ engine: 'model', unsupported: { what: 'call to vendor_gup_account()', line: line(V49, 'vendor_gup_account(current') } });
    expect(gap.arches[0].lacks).toEqual([{ what: 'call to vendor_gup_account()', line: line(V49, 'vendor_gup_account(current') }]);
  });

  it('check: a file of another arch says so, and an x86 file is checked on the x86 arches only', async () => {
    const ppc = await checkText('arch/powerpc/mm/gup.c', 'int get_user_pages_fast(unsigned long start, int nr_pages, int write, struct page **pages) { return is_hugepd(start); }');
    expect(ppc.arches).toEqual([]);
    expect(ppc.note).toMatch(/powerpc's own GUP-fast walker/);
    // without a path: an option only another arch has says whose code it is, even where the code began as x86's (MIPS, SuperH)
    const mips = await checkText('gup.c', '#ifdef CONFIG_CPU_MIPS32\nstatic int gup_pte_range(pmd_t pmd, unsigned long addr, unsigned long end, int write, struct page **pages, int *nr) { get_head_page_multiple(pte_page(*(pte_t *)addr), 1); return 0; }\n#endif\n');
    expect(mips.arches).toEqual([]);
    expect(mips.note).toMatch(/built under CONFIG_CPU_MIPS32.*another arch's own GUP-fast code/);
    const generic = await checkText('gup.c', '#ifdef CONFIG_ARCH_HAS_PTE_SPECIAL\nstatic int gup_pte_range(pmd_t pmd, unsigned long addr, unsigned long end, int write, struct page **pages, int *nr) { return pte_present(*(pte_t *)addr); }\n#endif\n', { races: false });
    expect(generic.arches.length).toBeGreaterThan(0);
    const x86 = await checkText('arch/x86/mm/gup.c', readFileSync(join(FIX, 'eras/x86-2008-shape.c'), 'utf8'), { races: false });
    expect(x86.arches.map((a) => a.arch)).toEqual(['x86-64', 'x86-pae']);
  });
});

describe('struct page semantics as the kernel has them', () => {
  const SNIPPET = [
    'int add_unless(struct page *pg, int n, int u) { return page_ref_add_unless(pg, n, u); }',
    'int sub_keep(struct page *pg, int n) { page_ref_sub(pg, n); return page_ref_count(pg); }',
    'int huge(struct page *pg) { return PageHuge(pg); }',
    'int pinned(struct page *pg) { return page_maybe_dma_pinned(pg); }',
    'int has_pgmap(unsigned long pfn) { return get_dev_pagemap(pfn, NULL) != NULL; }',
  ].join('\n');
  const machine = (layout: Parameters<typeof buildMachine>[2]['mappings']) => {
    const a = getArch('x86-64');
    const model = getVersion('wpseq-2021');
    const m = buildMachine(a, model.era, { mappings: layout });
    const v = sourceVersion(SNIPPET, parse, a, model);
    const k = makeKern(m, model, undefined, 'test', 0, false);
    return { m, run: (name: string, ...args: unknown[]) => callFunction(v, k, name, args) };
  };

  it('page_ref_add_unless honours its u, page_ref_sub never frees, PageHuge is true for hugetlb only, page_maybe_dma_pinned compares unsigned', () => {
    const { m, run } = machine([{ kind: '4k', offset: 0, count: 1 }, { kind: 'huge-pud', offset: 1 << 30 }, { kind: 'thp', offset: 2 << 30 }]);
    const pg = m.mem.basePfn + [...Array(m.mem.frames).keys()].find((i) => m.mem.at(F.refcount, i) === 1 && !(m.mem.at(F.flags, i) & 1))!;
    expect(run('add_unless', pg, 1, 1)).toBe(0); // the count equals u: nothing taken
    expect(m.refcount(pg)).toBe(1);
    expect(run('add_unless', pg, 1, 0)).toBe(1);
    expect(m.refcount(pg)).toBe(2);
    expect(run('sub_keep', pg, 2)).toBe(0);
    expect(m.mem.isFree(pg)).toBe(false);
    const heads = [...Array(m.mem.frames).keys()].map((i) => m.mem.basePfn + i).filter((p) => m.mem.at(F.order, m.mem.idx(p)) > 0);
    const [g1, thp] = [heads.find((p) => m.mem.at(F.order, m.mem.idx(p)) === 18)!, heads.find((p) => m.mem.at(F.order, m.mem.idx(p)) === 9)!];
    expect(run('huge', g1)).toBe(1);
    expect(run('huge', thp)).toBe(0);
    m.mem.put(F.refcount, m.mem.idx(pg), -5); // an overflowed count
    expect(run('pinned', pg)).toBe(1);
  });

  it('get_dev_pagemap finds a pagemap for device memory only: not for an ordinary page, nor a frame outside memory (a swap entry whose bits look like devmap)', () => {
    const { m, run } = machine([{ kind: '4k', offset: 0, count: 1 }, { kind: 'thp', offset: 2 << 30, devmap: true }]);
    const frames = [...Array(m.mem.frames).keys()].map((i) => m.mem.basePfn + i);
    const dev = frames.find((p) => m.mem.hasFlag(p, 'devmap'))!;
    const plain = frames.find((p) => m.mem.hasFlag(p, 'anon'))!;
    expect(run('has_pgmap', BigInt(dev))).toBe(1);
    expect(run('has_pgmap', BigInt(dev + 3))).toBe(1); // a subpage of the device THP
    expect(run('has_pgmap', BigInt(plain))).toBe(0);
    expect(run('has_pgmap', 0xfffffdffffn)).toBe(0);
  });
});

describe('anon-exclusive unsharing (5.19+): a read-only pin of a page fork shared', () => {
  const FIX = join(__dirname, '../fixtures/eras');
  it('the 6.10 fixture refuses it in the fast path (gup_must_unshare) and the slow path pins an unshared copy; 5.10 pins the shared page', async () => {
    const parse = await sourceParser();
    const own = (name: string, model: string) => sourceVersion(readFileSync(join(FIX, name), 'utf8'), parse, getArch('x86-64'), getVersion(model));
    const r610 = replay({ arch: 'x86-64', version: own('gup-6.10-shape.c', 'folio-6x'), scenario: 'pin-shared-readonly', trace: true });
    expect(r610.result.fastNr).toBe(0);
    const slow = r610.steps.find((s) => s.event === 'slowpath')!;
    expect(slow.note).toMatch(/shared after fork: unshared to/);
    // each pinned page is the copy now mapped there, and the copy is this mm's alone
    const mem = r610.machine.mem;
    for (const pfn of r610.result.pages) {
      expect(r610.machine.holds.has(pfn)).toBe(false);
      expect(mem.at(F.mapcount, mem.idx(pfn))).toBe(1);
    }
    expect(r610.steps.some((s) => s.anchor.includes('gup_must_unshare'))).toBe(true);
    const r510 = replay({ arch: 'x86-64', version: own('gup-5.10-shape.c', 'wpseq-2021'), scenario: 'pin-shared-readonly' });
    expect([r510.result.fastNr, r510.result.slowPath]).toEqual([4, false]);
  });
});

describe('x86 pmd predicates as the kernel has them', () => {
  it('pmd_trans_huge is false for a devmap (DAX) huge pmd on x86-64, true for a THP; pmd_leaf is true for both', async () => {
    const parse = await sourceParser();
    const text = 'int probe(pmd_t pmd)\n{\n\treturn pmd_trans_huge(pmd) * 2 + pmd_leaf(pmd);\n}\nint get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags, struct page **pages)\n{\n\treturn gup_flags & FOLL_PIN;\n}\n';
    // FOLL_PIN places it in 5.6+: the 4.5+ era, whose x86-64 has the devmap bit
    const v = sourceVersion(text, parse, getArch('x86-64'), getVersion('wpseq-2021'), { entry: 'probe' });
    expect(v.era).toBe('modern');
    const m = buildMachine(getArch('x86-64'), 'modern', { mappings: [] });
    const k = makeKern(m, v, undefined, 'gup', 0, false);
    const a = getArch('x86-64');
    const thp = a.mkLeaf('pmd', 0x100200, { write: true, user: true }, 'modern');
    const dax = a.mkLeaf('pmd', 0x100200, { write: true, user: true, devmap: true }, 'modern');
    expect(Number(callFunction(v, k, 'probe', [thp]))).toBe(3);
    expect(Number(callFunction(v, k, 'probe', [dax]))).toBe(1);
  });
});

describe('x86 pmd_present counts PSE', () => {
  it('a huge pmd made not-present for a moment (PSE kept) is present on x86-64, and a cleared one is not; arm64 reads its own valid bit', async () => {
    const parse = await sourceParser();
    const text = 'int probe(pmd_t pmd)\n{\n\treturn pmd_present(pmd);\n}\nint get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags, struct page **pages)\n{\n\treturn gup_flags & FOLL_PIN;\n}\n';
    for (const [arch, want] of [['x86-64', 1], ['arm64', 0]] as const) {
      const v = sourceVersion(text, parse, getArch(arch), getVersion('wpseq-2021'), { entry: 'probe' });
      const k = makeKern(buildMachine(getArch(arch), 'modern', { mappings: [] }), v, undefined, 'gup', 0, false);
      const huge = getArch(arch).mkLeaf('pmd', 0x100200, { write: true, user: true }, 'modern');
      const invalidated = { lo: huge.lo & ~1, hi: huge.hi }; // PRESENT (x86) / VALID (arm64) cleared, the rest kept
      expect(Number(callFunction(v, k, 'probe', [huge])), arch).toBe(1);
      expect(Number(callFunction(v, k, 'probe', [invalidated])), arch).toBe(want);
      expect(Number(callFunction(v, k, 'probe', [{ lo: 0, hi: 0 }])), arch).toBe(0);
    }
  });
});

describe('a 6.11-shaped walker tells secretmem by the folio mapping, where CONFIG_SECRETMEM is set', () => {
  const v611 = withMappingSecretmemCheck(readFileSync(join(FIX, 'eras/gup-6.10-shape.c'), 'utf8'));
  const own = (arch: string, config?: Record<string, string>) => sourceVersion(v611, parse, getArch(arch), getVersion('folio-6x'), { ...(config && { config }) });

  it.each(['x86-64', 'x86-pae', 'arm64'])('on %s the fast path gives the secretmem pages back and the slow path refuses the VMA', (arch) => {
    const rp = replay({ arch, version: own(arch), scenario: 'secretmem' });
    expect([rp.result.nr, rp.result.ret, rp.result.slowPath, rp.result.fastNr]).toEqual([0, -14, true, 0]);
    // the mapping is an address_space, not a page: secretmem_mapping() is no wild struct page pointer
    expect(rp.machine.faults.filter((f) => f.kind === 'wild-page')).toEqual([]);
  });

  it('with CONFIG_SECRETMEM off (as the user may set it) the check is compiled out and the fast path takes them', () => {
    const rp = replay({ arch: 'x86-64', version: own('x86-64', { CONFIG_SECRETMEM: 'n' }), scenario: 'secretmem' });
    expect([rp.result.nr, rp.result.slowPath]).toEqual([4, false]);
  });

  it('32-bit ARM has no memfd_secret (no ARCH_HAS_SET_DIRECT_MAP): the scenario does not apply there', () => {
    expect(() => replay({ arch: 'arm-lpae', version: own('arm-lpae'), scenario: 'secretmem' })).toThrow(NotApplicableError);
  });

  it('DAX pages have their file as mapping: the 6.11 check leaves a devmap pte to the fast path', () => {
    const rp = replay({ arch: 'x86-64', version: own('x86-64'), scenario: 'devmap-pte' });
    expect([rp.result.nr, rp.result.slowPath]).toEqual([8, false]);
  });
});

describe("a lens plan's replay, which keeps only the functions that ran (FnSink)", () => {
  it('names the same functions as a whole trace of the same run, on every era fixture and arch', async () => {
    const p = await sourceParser();
    const dir = join(__dirname, '../fixtures/eras');
    let compared = 0;
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.c'))) {
      const text = readFileSync(join(dir, f), 'utf8');
      for (const arch of ['x86-64', 'x86-pae', 'arm-lpae', 'arm64']) {
        let v;
        try {
          v = sourceVersion(text, p, getArch(arch), getVersion('folio-6x'), {});
        } catch {
          continue; // not compiled for this arch
        }
        for (const scenario of ['pages-4k-16', 'thp-pmd', 'hole-middle']) {
          let whole;
          try {
            whole = replay({ arch, version: v, scenario, trace: true });
          } catch {
            continue; // the scenario does not apply
          }
          const sink = new FnSink();
          replay({ arch, version: v, scenario, trace: true, sink, deltas: false });
          expect([...sink.fns].sort(), `${f} ${arch} ${scenario}`).toEqual([...new Set(whole.trace.toArray().map((s) => s.fn))].sort());
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(20);
  });
});
