/**
 * Page-table built-ins: the geometry constants, the per-level accessors and predicates (bound
 * to the arch model's decoders, so every bit is the arch's own), the offset helpers (folded
 * levels return the pointer they were given, as pgtable-nopud.h and pgtable-nop4d.h do), and
 * the entry loads. A load through a pointer into a page-table page is a scheduling point; on
 * x86 PAE a plain 64-bit load is two 32-bit loads with a window between them.
 * Layer: pure emulator.
 */
import { foldedAbove, LEVEL_NAMES, LEVEL_NAMES_PRE_P4D, levelIndex, type ArchModel, type Ent, type Level } from '../../arch/types';
import { releaseNumber } from '../../arch/release';
import { DataSub, LocalRef, TablePtr, Unsupported, type Thread } from '../runtime';
import { atLeast, keyAllowed, userAccess } from '../../versions/kern';
import { NEEDS_GEN, type Builtin } from './types';

const LEVELS: Level[] = ['pgd', 'p4d', 'pud', 'pmd', 'pte'];
const F = 'pgtable';
/** The level names a file's code uses: p4d only where the release has it (4.11+, so its walker calls p4d_*). */
export function levelNamesOf(text: string): readonly Level[] {
  return /\bp4d_\w*\s*\(/.test(text) ? LEVEL_NAMES : LEVEL_NAMES_PRE_P4D;
}

/** A walker that never tests for a huge leaf at a level was built for a configuration that maps none there (a vendor's 32-bit ARM file without THP). */
const HUGE_TESTS: [Level, RegExp][] = [
  ['pmd', /\bpmd_(?:huge|trans_huge|leaf|large|devmap|sect|thp_or_huge)\s*\(/],
  ['pud', /\bpud_(?:huge|trans_huge|leaf|large|devmap|sect)\s*\(/],
];
export function hugeLevelsOf(text: string): Level[] {
  return HUGE_TESTS.filter(([, re]) => re.test(text)).map(([l]) => l);
}

/** An integer argument as a JS number (addresses fit in 53 bits). */
export const N = (v: unknown): number => (typeof v === 'bigint' ? Number(v) : (v as number));

export function entVal(e: Ent): bigint {
  return (BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0);
}

export function has(a: ArchModel, l: Level): boolean {
  return a.levels.some((x) => x.level === l);
}

/** The shift of a level, or of the level it is folded into (the one above). */
export function shiftOf(a: ArchModel, l: Level): number {
  const i = LEVELS.indexOf(l);
  for (let j = i; j >= 0; j--) {
    const info = a.levels.find((x) => x.level === LEVELS[j]);
    if (info) return info.shift;
  }
  return a.levels[0].shift;
}

/** A load of a whole entry, with the slot it came from (so its use can be checked against what the slot held). */
export type LoadedEnt = Ent & { s?: TablePtr };

/** Read what an entry pointer points at: a page-table slot (no step: the caller decides) or a local copy. */
export function peek(t: Thread, p: unknown, what: string): LoadedEnt {
  if (p instanceof TablePtr) return t.k.m.loadFrom(p);
  if (p instanceof LocalRef && p.past === 0) return p.v[p.i] as Ent;
  throw new Unsupported(`${what} through a pointer that is not an entry pointer${p instanceof LocalRef ? ` (${p.past} past the local ${p.name})` : ''}`, t.top.line);
}

/** The virtual address a slot maps (so a step names the slot it read, as the models' steps do). */
export function slotVa(t: Thread, p: TablePtr): number | undefined {
  const where = t.k.m.tableVa.get(p.table);
  if (!where) return undefined;
  return where.base + p.idx * 2 ** shiftOf(t.k.arch, where.level);
}

/** One atomic load of an entry slot: a scheduling point. */
export function loadEnt(t: Thread, p: TablePtr): LoadedEnt {
  const e: LoadedEnt = t.k.m.loadFrom(p);
  // no step object when nothing records (the 1 GiB walk makes hundreds of thousands)
  if (t.k.y) t.sched('load', { level: p.level, lo: e.lo, hi: e.hi, addr: slotVa(t, p) });
  return e;
}

/**
 * A slot read in 32-bit halves, as data: where it stands and what it has read. Each half reads
 * t.k.m afresh: the explorer may go on with this thread on another copy of the machine.
 */
abstract class Halves extends DataSub {
  protected pc = 0;
  protected lo = 0;
  protected hi = 0;
  constructor(
    t: Thread,
    protected readonly p: TablePtr,
  ) {
    super(t);
  }

  /** Read the low half; true to pause at its point. */
  protected low(note: string): boolean {
    const { t, p } = this;
    this.lo = t.k.m.loadLo(p);
    return t.point('load', { level: p.level, lo: this.lo, addr: slotVa(t, p), note });
  }

  /** Read the high half; true to pause at its point. */
  protected high(note: string): boolean {
    const { t, p } = this;
    this.hi = t.k.m.loadHi(p);
    return t.point('load', { level: p.level, lo: this.lo, hi: this.hi, addr: slotVa(t, p), note });
  }

  /** The entry the two halves make. */
  protected entry(): LoadedEnt {
    const e: LoadedEnt = this.t.k.m.entry(this.lo, this.hi);
    e.s = this.p;
    return e;
  }
}

/** A plain 64-bit load on a CPU that has none: low half, a window, high half. */
export class TwoHalves extends Halves {
  step(): boolean {
    if (this.pc === 0) {
      this.pc = 1;
      if (this.low('low half (32-bit load)')) return false;
    }
    if (this.pc === 1) {
      this.pc = 2;
      const pause = this.high('high half (32-bit load)');
      this.value = this.entry();
      if (pause) return false;
    }
    return true;
  }
}

/** The PAE lockless read: low, high, low again until the low half holds still. */
class LowHighLow extends Halves {
  step(): boolean {
    const { t, p } = this;
    for (;;) {
      switch (this.pc) {
        case 0:
          this.pc = 1;
          if (this.low('low half')) return false;
          continue;
        case 1:
          this.pc = 2;
          if (this.high('high half')) return false;
          continue;
        case 2: {
          const again = t.k.m.loadLo(p);
          const same = again === this.lo;
          this.pc = same ? 3 : 0;
          if (t.point('recheck', { level: p.level, lo: again, hi: this.hi, note: same ? 'low half unchanged: done' : 'low half changed: retry' })) return false;
          continue;
        }
        default:
          this.value = this.entry();
          return true;
      }
    }
  }
}

/** The walker takes a page through this entry: the value must be one its slot held, and not a NUMA-hinting one (ghost checks). */
function use(t: Thread, level: Level, e: LoadedEnt): void {
  if (e.s) t.k.m.useEntry(e.s, e);
  t.k.m.useLeaf(level, e);
}

/** The walk goes down through this entry: a value its slot never held (a torn read) is used here. */
function useTable(t: Thread, e: LoadedEnt): void {
  if (!e.s) return;
  const before = t.k.m.faults.length;
  t.k.m.useEntry(e.s, e);
  if (t.k.m.faults.length > before) t.stop = true; // a scheduling point: seen before any load through it
}

function addrEnd(a: ArchModel, l: Level, addr: number, end: number): number {
  if (!has(a, l)) return end;
  const size = 2 ** shiftOf(a, l);
  const boundary = (Math.floor(addr / size) + 1) * size;
  return boundary - 1 < end - 1 ? boundary : end;
}

/** X_offset(parentp, addr): the slot for addr in the table the parent entry points at; a folded level hands the pointer back. */
function offset(t: Thread, l: Level, parentp: unknown, addr: number): unknown {
  const a = t.k.arch;
  if (!has(a, l)) return parentp instanceof TablePtr ? new TablePtr(parentp.table, parentp.idx, l, parentp.g) : parentp;
  const e = peek(t, parentp, `${l}_offset`);
  useTable(t, e);
  return new TablePtr(a.pfn(e), levelIndex(a, l, addr), l, e.g);
}

function load(t: Thread, p: unknown): Ent {
  if (p instanceof TablePtr) return loadEnt(t, p);
  return peek(t, p, 'a load');
}

export function pgtableBuiltins(): Builtin[] {
  const out: Builtin[] = [];
  const c = (name: string, doc: string, value: (a: ArchModel) => number, ret: Builtin['ret'] = 'ulong', boot?: boolean) => out.push({ name, doc, family: F, kind: 'const', ret, value, ...(boot && { boot }) });
  const p = (name: string, ret: Builtin['ret'], doc: string, run: (t: Thread, x: any[]) => unknown) => out.push({ name, doc, family: F, kind: 'pure', ret, run });
  c('PAGE_SHIFT', 'log2 of the base page size (4 KiB)', () => 12, 'int');
  c('PAGE_SIZE', 'the base page size, 4096', () => 4096);
  c('PAGE_MASK', '~(PAGE_SIZE - 1)', () => -4096);
  for (const l of LEVELS) {
    const L = l === 'pgd' ? 'PGDIR' : l.toUpperCase();
    // x86-64 decides at boot whether p4d is a level of its own (5-level paging): the pgd and p4d sizes with it
    const boot = l === 'pgd' || l === 'p4d';
    if (l !== 'pte') {
      c(`${L}_SHIFT`, `log2 of the bytes one ${l} entry maps (the level above's, where ${l} is folded)`, (a) => shiftOf(a, l), 'int', boot);
      c(`${L}_SIZE`, `bytes one ${l} entry maps`, (a) => 2 ** shiftOf(a, l), 'ulong', boot);
      c(`${L}_MASK`, `~(${L}_SIZE - 1)`, (a) => -(2 ** shiftOf(a, l)), 'ulong', boot);
    }
    c(`PTRS_PER_${l.toUpperCase()}`, `entries in a ${l} table (1 where folded)`, (a) => a.levels.find((x) => x.level === l)?.entries ?? 1, 'int', boot);
    const E = `ent:${l}` as const;
    // the upper name of a folded level tests nothing: the folded one below tests the same entry
    const folded = (v: number) => (a: ArchModel, names: readonly Level[]) => (foldedAbove(a, names, l) ? v : undefined);
    const upper = (t: Thread) => foldedAbove(t.k.arch, t.ctx.levels, l);
    out.push({ name: `${l}_none`, doc: `the ${l} entry is empty (0 where the level below is folded)`, family: F, kind: 'pure', ret: 'int', fixed: folded(0), run: (t, [e]) => !upper(t) && t.k.arch.none(e) });
    // x86's pmd_present also counts PSE: a huge pmd pmdp_invalidate() made not-present for a moment is still there
    const psePresent = l === 'pmd';
    out.push({ name: `${l}_present`, doc: `the ${l} entry maps something the CPU can use (a NUMA-hinting entry counts as present${psePresent ? '; on x86 a huge pmd with PSE too' : ''}; 1 where the level below is folded)`, family: F, kind: 'pure', ret: 'int', fixed: folded(1), run: (t, [e]) => upper(t) || t.k.arch.present(e) || (psePresent && t.k.arch.id.startsWith('x86') && ((e as { lo: number }).lo & 0x80) !== 0) });
    out.push({ name: `${l}_bad`, doc: `the ${l} entry is neither empty nor a table (0 where the level below is folded)`, family: F, kind: 'pure', ret: 'int', fixed: folded(0), run: (t, [e]) => !upper(t) && l !== 'pte' && has(t.k.arch, l) && !t.k.arch.none(e) && t.k.arch.leaf(l, e) });
    p(`${l}_write`, 'int', `the ${l} leaf is writable`, (t, [e]) => t.k.arch.write(l, e, t.k.era));
    p(`${l}_special`, 'int', `the ${l} leaf is special (no refcounted struct page: VM_PFNMAP/VM_MIXEDMAP)`, (t, [e]) => t.k.arch.special(l, e));
    p(`${l}_devmap`, 'int', `the ${l} leaf maps ZONE_DEVICE memory`, (t, [e]) => t.k.arch.devmap(l, e, t.k.era));
    p(`${l}_protnone`, 'int', `the ${l} entry is PROT_NONE for NUMA hinting`, (t, [e]) => t.k.arch.numaBalancing && t.k.arch.protnone(e));
    p(`${l}_numa`, 'int', `3.8-3.19 name of ${l}_protnone: a NUMA-hinting entry`, (t, [e]) => t.k.arch.numaBalancing && t.k.arch.protnone(e));
    for (const n of ['huge', 'large', 'leaf', 'sect']) {
      p(`${l}_${n}`, 'int', `the ${l} entry maps a page itself (huge page, block or section), not a table`, (t, [e]) => l !== 'pte' && has(t.k.arch, l) && !t.k.arch.none(e) && t.k.arch.leaf(l, e));
    }
    // x86 tells a THP from a devmap (DAX) huge entry: its pXd_trans_huge is PSE without DEVMAP (4.5+)
    p(`${l}_trans_huge`, 'int', `the ${l} entry maps a transparent huge page (on x86 not a devmap one)`, (t, [e]) => {
      const a = t.k.arch;
      return l !== 'pte' && has(a, l) && !a.none(e) && a.leaf(l, e) && !(a.id.startsWith('x86') && a.devmap(l, e, t.k.era));
    });
    p(`${l}_trans_splitting`, 'int', `before 4.5: the huge ${l} is being split (splitting bit)`, (t, [e]) => t.k.arch.splitting(l, e, t.k.era));
    p(`${l}_user`, 'int', `the ${l} leaf is accessible from user space`, (t, [e]) => t.k.arch.user(e));
    p(`${l}_val`, 'u64', `the raw ${l} value`, (_t, [e]) => entVal(e));
    p(`${l}_pfn`, 'ulong', `the frame number the ${l} entry points at`, (t, [e]) => t.k.arch.pfn(e));
    p(`${l}_page`, 'page', `the struct page the ${l} entry points at`, (t, [e]) => {
      use(t, l, e);
      return t.k.arch.pfn(e);
    });
    p(`${l}_access_permitted`, 'int', `the ${l} leaf allows a user access (present, user, writable if write; on x86-64 a protection key the PKRU allows). 32-bit ARM had no definition of its own before 4.15: the generic one tests present and writable only, so a PROT_NONE pte passes (a file whose placement spans 4.15 reads as its oldest release)`, (t, [e, w]) =>
      t.k.arch.id === 'arm-lpae' && !atLeast(t.k, '4.15')
        ? t.k.arch.present(e) && (!N(w) || t.k.arch.write(l, e, t.k.era))
        : t.k.arch.present(e) && userAccess(t.k, l, e, !!N(w)));
    p(`__${l}`, E, `an ${l} entry from its raw value`, (_t, [v]) => {
      const b = BigInt.asUintN(64, BigInt(v as number | bigint));
      return { lo: Number(b & 0xffffffffn), hi: Number(b >> 32n) };
    });
    p(`${l}_addr_end`, 'ulong', `addr rounded up to the next ${l} boundary, or end if that comes first (end where ${l} is folded)`, (t, [addr, end]) => addrEnd(t.k.arch, l, N(addr), N(end)));
    if (l !== 'pgd') {
      p(`${l}_offset`, `entp:${l}`, `the ${l} slot for addr in the table the entry above points at (the same pointer where ${l} is folded)`, (t, [pp, addr]) => offset(t, l, pp, N(addr)));
      p(`${l}_offset_lockless`, `entp:${l}`, `${l}_offset from the copy of the entry above (5.x+: never re-reads it)`, (t, [pp, v, addr]) =>
        has(t.k.arch, l) ? offset(t, l, new LocalRef([v], 0, 'copy'), N(addr)) : pp instanceof TablePtr ? new TablePtr(pp.table, pp.idx, l, pp.g) : new LocalRef([v], 0, 'copy'));
    }
    out.push({ name: `${l}p_get`, doc: `READ_ONCE of the ${l} slot: one load`, family: F, kind: 'gen', ret: E, gen: (t, [pp]) => new TwoHalves(t, pp), quick: (t, [pp]) => loadQuick(t, pp) });
  }
  p('pgd_offset', 'entp:pgd', 'the pgd slot of mm for addr', (t, [, addr]) => {
    const a = t.k.arch;
    return new TablePtr(t.k.m.mm.pgd, levelIndex(a, a.levels[0].level, N(addr)), 'pgd');
  });
  p('pte_offset_map', 'entp:pte', 'the pte slot for addr under the pmd (6.5+: NULL when the pmd is not a table; before, the slot computed from whatever the pmd points at)', (t, [pp, addr]) => {
    const e = peek(t, pp, 'pte_offset_map');
    const a = t.k.arch;
    if (a.none(e) || a.leaf('pmd', e)) {
      // before 6.5 nothing checked: a walker without a huge-pmd test reads the huge page's data as ptes
      const since = (t.ctx.self as { placement?: { since: string } }).placement?.since;
      if (since && !a.none(e) && releaseNumber(since) < releaseNumber('6.5')) return new TablePtr(a.pfn(e), levelIndex(a, 'pte', N(addr)), 'pte', e.g);
      return null;
    }
    useTable(t, e);
    return new TablePtr(a.pfn(e), levelIndex(a, 'pte', N(addr)), 'pte', e.g);
  });
  p('pte_offset_kernel', 'entp:pte', 'the pte slot for addr under the pmd', (t, [pp, addr]) => offset(t, 'pte', pp, N(addr)));
  p('pte_unmap', 'void', 'undo pte_offset_map (a kmap on highmem; nothing here)', () => undefined);
  out.push({ name: 'pte_present_user', doc: 'ARM: present and user-accessible', family: F, kind: 'pure', ret: 'int', arches: ['arm-lpae', 'arm64'], run: (t, [e]) => t.k.arch.present(e) && t.k.arch.user(e) });
  // the hardware valid bit (bit 0 on both), not pte_present, which also counts PROT_NONE; 32-bit ARM also wants the access flag
  out.push({
    name: 'pte_valid_user', doc: 'ARM: valid to the MMU (bit 0: not PROT_NONE) and user-accessible; 32-bit ARM also young', family: F, kind: 'pure', ret: 'int', arches: ['arm-lpae', 'arm64'],
    run: (t, [e]) => (e.lo & 1) !== 0 && t.k.arch.user(e) && (t.k.arch.id !== 'arm-lpae' || (e.lo & (1 << 10)) !== 0),
  });
  for (const l of ['pte', 'pmd', 'pud'] as const) {
    p(`${l}_flags`, 'u64', `the flag bits of a ${l} (everything but the frame number)`, (t, [e]) => entVal(e) & ~(BigInt(t.k.arch.pfn({ lo: 0xffffffff, hi: 0x000fffff })) << 12n));
  }
  p('is_hugepd', 'int', 'powerpc hugepd entries (none on these arches)', () => 0);
  p('__hugepd', 'int', 'powerpc hugepd wrapper (none on these arches)', () => 0);
  p('pfn_valid', 'int', 'a struct page exists for the frame', (t, [pfn]) => t.k.m.mem.valid(N(pfn)));
  p('pfn_to_page', 'page', 'the struct page of a frame', (_t, [pfn]) => N(pfn));
  p('page_to_pfn', 'ulong', 'the frame of a struct page', (_t, [pg]) => pg);
  p('mm_pmd_folded', 'int', 'the pmd level is folded', (t) => !has(t.k.arch, 'pmd'));
  p('mm_pud_folded', 'int', 'the pud level is folded', (t) => !has(t.k.arch, 'pud'));
  p('mm_p4d_folded', 'int', 'the p4d level is folded', (t) => !has(t.k.arch, 'p4d'));
  // x86 _PAGE_* masks, from the arch model's own bit positions
  const x86 = (n: string, bit: string) => out.push({ name: n, doc: `x86 ${bit} as a mask`, family: F, kind: 'const', ret: 'u64', arches: ['x86-64', 'x86-pae'], value: (a) => {
    const f = a.fields.find((x) => x.kernel.startsWith(bit));
    if (!f) throw new Error(`${a.id} has no ${bit}`);
    return 2 ** f.shift;
  } });
  for (const n of ['PRESENT', 'RW', 'USER', 'PSE', 'SPECIAL', 'ACCESSED', 'DIRTY', 'GLOBAL', 'NX']) x86(`_PAGE_${n}`, `_PAGE_BIT_${n}`);
  out.push({ name: '_PAGE_PROTNONE', doc: 'x86 _PAGE_BIT_PROTNONE (the global bit when not present) as a mask', family: F, kind: 'const', ret: 'u64', arches: ['x86-64', 'x86-pae'], value: () => 1 << 8 });
  // x86 protection keys (4.6+): a 4-bit key in bits 59-62 of a 64-bit entry, read by the release's layout
  const x86only = ['x86-64', 'x86-pae'];
  const keyOf = (t: Thread, raw: unknown): number => t.k.arch.pkey?.({ lo: Number(BigInt(raw as bigint) & 0xffffffffn), hi: Number((BigInt(raw as bigint) >> 32n) & 0xffffffffn) }) ?? 0;
  out.push({ name: 'pte_flags_pkey', doc: 'x86: the protection key of an entry\'s flags (bits 59-62 on x86-64 from 4.6; none on PAE)', family: F, kind: 'pure', ret: 'uint', arches: x86only, run: (t, [v]) => keyOf(t, v) });
  out.push({ name: '__pkru_allows_pkey', doc: 'x86: PKRU lets this task read (and write) pages of the key; the default PKRU allows key 0 only', family: F, kind: 'pure', ret: 'bool', arches: x86only, run: (t, [k]) => t.k.m.pkeyAllows(N(k)) });
  // 4.6-4.13 (asm-generic/mm_hooks.h; x86 with protection keys): may this task access the page through the entry?
  p('arch_pte_access_permitted', 'int', '4.6-4.13: x86-64 protection keys (the task\'s PKRU allows key 0 only); true on every other arch', (t, [e]) => keyAllowed(t.k, e));
  p('gup_huge_pd', 'int', 'powerpc hugepd walker: never reached here (is_hugepd is false on these arches)', () => 0);
  // lockless reads
  out.push({ name: 'ptep_get', doc: 'READ_ONCE(*ptep)', family: F, kind: 'gen', ret: 'ent:pte', gen: (t, [pp]) => new TwoHalves(t, pp), quick: (t, [pp]) => loadQuick(t, pp) });
  out.push({ name: 'ptep_get_lockless', doc: 'a pte read that cannot tear: one load, or low/high/low on x86 PAE', family: F, kind: 'gen', ret: 'ent:pte', gen: (t, [pp]) => new LowHighLow(t, pp), quick: (t, [pp]) => loadQuick(t, pp) });
  out.push({ name: 'pmdp_get_lockless', doc: 'a pmd read that cannot tear (6.2): one load, or low/high/low on x86 PAE', family: F, kind: 'gen', ret: 'ent:pmd', gen: (t, [pp]) => new LowHighLow(t, pp), quick: (t, [pp]) => loadQuick(t, pp) });
  out.push({ name: 'gup_get_pte', doc: 'x86 PAE header (4.13-5.2): read a pte low, high, low again until stable', family: F, kind: 'gen', ret: 'ent:pte', arches: ['x86-pae'], gen: (t, [pp]) => new LowHighLow(t, pp), quick: (t, [pp]) => loadQuick(t, pp) });
  return out;
}

/**
 * A load of a slot (READ_ONCE, ptep_get, the lockless reads) in one op where it needs no sub: a
 * whole-entry load, its point a scheduling point after the op. NEEDS_GEN for a load in halves
 * (TwoHalves, LowHighLow run as subs).
 */
function loadQuick(t: Thread, p: unknown): Ent | typeof NEEDS_GEN {
  if (!(p instanceof TablePtr)) return load(t, p);
  if (!t.k.arch.atomicEntryLoad) return NEEDS_GEN;
  const e: LoadedEnt = t.k.m.load(p);
  e.s = p;
  t.sched('load', { level: p.level, lo: e.lo, hi: e.hi });
  return e;
}

