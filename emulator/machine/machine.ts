/**
 * The machine GUP-fast walks: physical memory with encoded page tables, the mm, the VMAs, and
 * CPUs with an interrupts-disabled flag. Waiting for other CPUs (a TLB-flush IPI, an RCU-sched
 * grace period) is one mechanism here: a CPU passes a quiescent point only when its interrupts
 * are enabled, which is exactly why an interrupts-off walker holds both back.
 *
 * With `ghost` on, the machine also keeps what the invariants need and the kernel does not:
 * every value each entry slot ever held, which frames each address mapped, and faults noticed
 * at the moment they happen (a ref on a freed page, a read of a freed page table).
 * Layer: pure emulator.
 */
import { hex, toBig } from '../arch/bits';
import { levelIndex, levelInfo, type ArchModel, type Ent, type Era, type Level, type LevelInfo } from '../arch/types';
import { CHUNK_MASK, CHUNK_SHIFT, F, type FrozenTables, PG, PhysMem, TABLE_WORDS } from './memory';
import { SpanLog } from './span-log';

/** Entries in a table page (a PAE pgd uses 4 of them). */
const TABLE_ENTRIES = TABLE_WORDS / 2;

/**
 * A walk that read past the end of a page-table page (its pointer stepped beyond the last entry:
 * a loop that never met its end). The kernel reads whatever follows the table as entries; the
 * emulator stops the walk there and says so, as a store past the caller's pages[] does.
 */
export class TableOverrun extends Error {
  constructor(
    readonly level: Level,
    readonly idx: number,
  ) {
    super(pastTable(level, idx));
  }
}

/** What a read past a table page was, as every message of it says. */
export function pastTable(level: Level, idx: number): string {
  return `a read of ${level} entry ${idx} of a table of ${TABLE_ENTRIES}: the walk ran past its page table`;
}

export interface Vma {
  start: number;
  end: number;
  write: boolean;
  /** anon memory; a VM_PFNMAP/VM_IO mapping (special ptes); a ZONE_DEVICE mapping; memfd_secret; a regular file's pages */
  kind: 'anon' | 'pfnmap' | 'devmap' | 'secretmem' | 'file';
  cma?: boolean;
  /** x86-64 protection key (pkey_mprotect) */
  pkey?: number;
  /** PROT_NONE (VM_NONE): no read, no write */
  noAccess?: boolean;
}

export interface Cpu {
  id: number;
  irqsOff: boolean;
  /** times interrupts were re-enabled: each is a quiescent point for IPIs and RCU-sched */
  enables: number;
  pendingIpis: number;
}

export interface Mm {
  pgd: number;
  write_protect_seq: number;
  has_pinned: boolean;
}

/** A pointer to an entry slot: the table's frame and the index in it. `g` is the ghost generation of the table page when the walker got the pointer. */
export interface Slot {
  table: number;
  idx: number;
  level: Level;
  g?: number;
}

export interface GhostFault {
  kind: 'ref-on-freed-page' | 'read-freed-table' | 'refcount-underflow' | 'refcount-overflow' | 'refcount-wrap' | 'pfn-outside-memory' | 'wild-page' | 'torn-read' | 'numa-hint-skipped';
  pfn: number;
  detail: string;
}

/** Outstanding wait on other CPUs' quiescent points (an IPI or a grace period). */
export interface QsToken {
  kind: 'ipi' | 'rcu';
  waits: { cpu: number; enables: number }[];
}

/** Is (a, b) one of the pairs of a flattened [a0, b0, a1, b1, ...] list? (histories are short) */
function pairIn(list: number[], a: number, b: number): boolean {
  for (let i = 0; i < list.length; i += 2) if (list[i] === a && list[i + 1] === b) return true;
  return false;
}

/** one entry the ghost's predicates read (they keep nothing): no garbage per store; clones skip field initialisers */
const SCRATCH: Ent = { lo: 0, hi: 0 };

/** leafRuns' answers, by the entries read (a split maps the words it kept again: the same copy in every state that gets there) */
const LEAF_RUNS = new WeakMap<ArrayLike<number>, { arch: ArchModel; level: Level; n: number; runs: readonly number[] }[]>();

/**
 * The present leaves among n entries (lo, hi pairs) as runs that map consecutive frames from
 * consecutive slots: [first slot, first frame, slots] triples. Decoded once per entries, arch,
 * level and n; the entries must not change afterwards (as storeRun asks).
 */
function leafRuns(arch: ArchModel, level: Level, pages: number, entries: ArrayLike<number>, n: number): readonly number[] {
  const kept = LEAF_RUNS.get(entries);
  const hit = kept?.find((x) => x.arch === arch && x.level === level && x.n === n);
  if (hit) return hit.runs;
  const runs: number[] = [];
  const e = SCRATCH;
  let next = -1;
  let nextPfn = -1;
  for (let t = 0; t < n; t++) {
    e.lo = entries[2 * t] >>> 0;
    e.hi = entries[2 * t + 1] >>> 0;
    if ((e.lo | e.hi) === 0 || !arch.present(e) || (level !== 'pte' && !arch.leaf(level, e))) continue;
    const pfn = arch.pfn(e);
    if (t === next && pfn === nextPfn) runs[runs.length - 1]++;
    else runs.push(t, pfn, 1);
    next = t + 1;
    nextPfn = pfn + pages;
  }
  const x = { arch, level, n, runs };
  if (kept) kept.push(x);
  else LEAF_RUNS.set(entries, [x]);
  return runs;
}
const NO_AHEAD: { order: number; count: number }[] = [];
/** a slot history with nothing in it (never written itself: remember makes a map of its own) */
const NO_HISTORY = new Map<number, number[]>();
/** what a run of up to 512 entries held before storeRun wrote it (the caller copies what it keeps) */
const RUN_WAS = new Uint32Array(1024);

/** Slot idx of a table whose words were `chunks` held (lo, hi) (false when there was no table). */
function heldIn(chunks: readonly (readonly number[])[] | undefined, idx: number, lo: number, hi: number): boolean {
  if (!chunks) return false;
  const w = 2 * idx;
  return chunks[w >> CHUNK_SHIFT][w & CHUNK_MASK] >>> 0 === lo && chunks[(w + 1) >> CHUNK_SHIFT][(w + 1) & CHUNK_MASK] >>> 0 === hi;
}

export class Machine {
  readonly mem: PhysMem;
  readonly mm: Mm;
  readonly cpus: Cpu[];
  vmas!: Vma[];
  /** the actor holding mmap_lock for write (fork, munmap), or null */
  mmapWriter!: string | null;
  /** the actor holding the page-table lock across a multi-step update (PAE halves), or null */
  ptlHolder!: string | null;
  ghost!: boolean;
  /** slot key -> every value it held since this machine was made or last cloned, flattened: [lo0, hi0, lo1, hi1, ...] */
  private slotHistory!: Map<number, number[]>;
  /** the history as it stood when this machine was last cloned: shared, never written again (a clone starts with an empty slotHistory over it) */
  private slotBase!: Map<number, number[]>;
  /** the tables as they were when recording began: every slot held its value then (a frozen copy, shared by clones) */
  private heldAtStart!: FrozenTables | undefined;
  /** every leaf mapping seen, as spans (a 1 GiB leaf is one span, not 262,144 addresses) */
  private spans!: SpanLog;
  /** table frame -> the level and first address it maps */
  readonly tableVa!: ReadonlyMap<number, { level: Level; base: number }>;
  private tableVaShared!: boolean;
  faults!: GhostFault[];
  /** references held outside this mm's page tables (another process, the page allocator's new owner) */
  readonly holds!: ReadonlyMap<number, number>;
  private holdsShared!: boolean;

  /** Note where a page table maps (its level and first address). */
  setTableVa(table: number, where: { level: Level; base: number }): void {
    this.ownTableVa().set(table, where);
  }

  dropTableVa(table: number): void {
    this.ownTableVa().delete(table);
  }

  private ownTableVa(): Map<number, { level: Level; base: number }> {
    if (this.tableVaShared) {
      (this as { tableVa: ReadonlyMap<number, { level: Level; base: number }> }).tableVa = new Map(this.tableVa);
      this.tableVaShared = false;
    }
    return this.tableVa as Map<number, { level: Level; base: number }>;
  }

  /** More references (one, by default) held outside this mm's page tables (another process, a new owner). */
  hold(pfn: number, n = 1): void {
    if (this.holdsShared) {
      (this as { holds: ReadonlyMap<number, number> }).holds = new Map(this.holds);
      this.holdsShared = false;
    }
    (this.holds as Map<number, number>).set(pfn, (this.holds.get(pfn) ?? 0) + n);
  }

  /** That outside reference is given back (the other process unmapped the page, or copied it on a write). */
  unhold(pfn: number): void {
    const n = this.holds.get(pfn) ?? 0;
    if (n === 0) throw new RangeError(`page 0x${pfn.toString(16)} has no reference held outside this mm`);
    if (this.holdsShared) {
      (this as { holds: ReadonlyMap<number, number> }).holds = new Map(this.holds);
      this.holdsShared = false;
    }
    if (n === 1) (this.holds as Map<number, number>).delete(pfn);
    else (this.holds as Map<number, number>).set(pfn, n - 1);
  }

  /**
   * `ahead`: pages to allocate before the first page table (1 GiB pages: see PhysMem.allocAhead).
   * With `from`, a copy of that machine instead (clone): every field is set here, none by an
   * initialiser, as the explorer makes a copy for every state it keeps.
   */
  constructor(readonly arch: ArchModel, readonly era: Era, basePfn: number, ncpus = 2, ahead: { order: number; count: number }[] = [], from?: Machine) {
    if (from) {
      if (from.slotHistory.size > 0) {
        // freeze what that machine wrote into a new shared base, once; later copies share it as it is
        const merged = new Map(from.slotBase);
        for (const [k, v] of from.slotHistory) merged.set(k, (merged.get(k) ?? []).concat(v));
        from.slotBase = merged;
        from.slotHistory = NO_HISTORY;
      }
      this.mem = from.mem.clone();
      this.mm = { pgd: from.mm.pgd, write_protect_seq: from.mm.write_protect_seq, has_pinned: from.mm.has_pinned };
      const cpus: Cpu[] = new Array(from.cpus.length);
      for (let i = 0; i < cpus.length; i++) {
        const x = from.cpus[i];
        cpus[i] = { id: x.id, irqsOff: x.irqsOff, enables: x.enables, pendingIpis: x.pendingIpis };
      }
      this.cpus = cpus;
      this.vmas = from.vmas; // replaced (munmap), never edited, once built
      this.mmapWriter = from.mmapWriter;
      this.ptlHolder = from.ptlHolder;
      this.ghost = from.ghost;
      this.slotHistory = NO_HISTORY;
      this.slotBase = from.slotBase;
      this.heldAtStart = from.heldAtStart;
      this.spans = from.spans.copy();
      // tableVa and holds change rarely: shared until either side writes (setTableVa, hold)
      this.tableVa = from.tableVa;
      this.tableVaShared = from.tableVaShared = true;
      this.faults = from.faults.slice();
      this.holds = from.holds;
      this.holdsShared = from.holdsShared = true;
      if (this.ghost) this.mem.onDropTable = this;
      return;
    }
    this.vmas = [];
    this.mmapWriter = null;
    this.ptlHolder = null;
    this.ghost = false;
    this.slotHistory = NO_HISTORY;
    this.slotBase = new Map();
    this.heldAtStart = undefined;
    this.spans = new SpanLog();
    this.tableVa = new Map();
    this.tableVaShared = false;
    this.faults = [];
    this.holds = new Map();
    this.holdsShared = false;
    this.mem = new PhysMem(basePfn);
    for (const a of ahead) this.mem.allocAhead(a.order, a.count);
    this.cpus = Array.from({ length: ncpus }, (_, id) => ({ id, irqsOff: false, enables: 0, pendingIpis: 0 }));
    this.mm = { pgd: this.mem.alloc(0, 'table'), write_protect_seq: 0, has_pinned: false };
    this.setTableVa(this.mm.pgd, { level: arch.levels[0].level, base: 0 });
  }

  /** An independent copy (the explorer starts every rebuild from a copy of one built machine). Shares what neither side will write. */
  clone(): Machine {
    return new Machine(this.arch, this.era, 0, 0, NO_AHEAD, this);
  }

  levelInfo(level: Level): LevelInfo {
    return levelInfo(this.arch, level);
  }

  /** index of addr in a table of the given level */
  index(level: Level, addr: number): number {
    return levelIndex(this.arch, level, addr);
  }

  /** the level below, or undefined for pte */
  below(level: Level): Level | undefined {
    const i = this.arch.levels.findIndex((x) => x.level === level);
    return this.arch.levels[i + 1]?.level;
  }

  slot(table: number, level: Level, addr: number, g?: number): Slot {
    return { table, idx: this.index(level, addr), level, g };
  }

  // ---- entry access: one atomic 64-bit load, or one 32-bit half ----

  /** One word of the slot's entry (0: low half, 1: high half), as the walker reads it. */
  private read(s: Slot, half: number): number {
    if (!(s.idx >= 0 && s.idx < TABLE_ENTRIES)) throw new TableOverrun(s.level, s.idx);
    if (this.ghost) this.checkTable(s);
    return this.mem.word(s.table, 2 * s.idx + half);
  }

  private checkTable(s: Slot): void {
    const i = s.table - this.mem.basePfn;
    const freed = (this.mem.at(F.flags, i) & PG.free) !== 0;
    const reused = s.g !== undefined && this.mem.at(F.gen, i) !== s.g;
    if (freed || reused) {
      this.faults.push({
        kind: 'read-freed-table',
        pfn: s.table,
        detail: `${s.level} table page 0x${s.table.toString(16)} read after it was ${freed ? 'freed' : 'freed and reused'}`,
      });
    }
  }

  load(s: Slot): Ent {
    const lo = this.read(s, 0);
    return this.entry(lo, this.mem.word(s.table, 2 * s.idx + 1));
  }

  /** The same, remembering the slot it came from (the interpreter's loaded entries): one object shape, one allocation. */
  loadFrom<S extends Slot>(s: S): Ent & { s: S } {
    const lo = this.read(s, 0);
    const hi = this.mem.word(s.table, 2 * s.idx + 1);
    return { lo, hi, g: this.ghostGen(lo, hi), s };
  }

  loadLo(s: Slot): number {
    return this.read(s, 0);
  }

  loadHi(s: Slot): number {
    return this.read(s, 1);
  }

  /** An entry value as read; in ghost mode it remembers the generation of the page it points at. (One object shape for every read.) */
  entry(lo: number, hi: number): Ent {
    return { lo, hi, g: this.ghostGen(lo, hi) };
  }

  /** the generation of the page an entry value points at (ghost only) */
  private ghostGen(lo: number, hi: number): number | undefined {
    if (!this.ghost) return undefined;
    const e = { lo, hi };
    const pfn = this.arch.none(e) ? -1 : this.arch.pfn(e);
    return this.mem.valid(pfn) ? this.mem.at(F.gen, pfn - this.mem.basePfn) : undefined;
  }

  store(s: Slot, e: Ent): void {
    const lo = this.mem.word(s.table, 2 * s.idx);
    const hi = this.mem.word(s.table, 2 * s.idx + 1);
    this.mem.setWord(s.table, 2 * s.idx, e.lo >>> 0);
    this.mem.setWord(s.table, 2 * s.idx + 1, e.hi >>> 0);
    this.noteWrite(s, lo, hi);
  }

  /**
   * `n` consecutive entries of one table, from `first`, take the (lo, hi) pairs in `entries`, or
   * are cleared when it is null: what n store()s would do, in one pass (a THP split or collapse
   * rewrites 512 entries in one step, and the explorer replays that step on every rebuild).
   * Returns the words the entries held (lo, hi pairs), valid until the next storeRun. `entries`
   * must not change afterwards (PhysMem.setWords keeps what it wrote by its identity).
   */
  storeRun(first: Slot, n: number, entries: ArrayLike<number> | null): Uint32Array {
    const was = n <= 512 ? RUN_WAS : new Uint32Array(2 * n);
    // what the slots held when recording began needs no entry (see wasWrittenOver): that table's words looked up once, and
    // the chunks that are still the very ones it had skipped whole (a collapse clears 512 ptes nobody wrote since)
    const start = this.ghost ? this.heldAtStart?.chunks(first.table) : undefined;
    const unchanged = start ? this.mem.sameChunks(first.table, start) : 0;
    this.mem.setWords(first.table, 2 * first.idx, 2 * n, entries, was);
    if (!this.ghost) return was;
    const key0 = this.slotKey(first);
    for (let t = 0; t < n; t++) {
      const c = (2 * (first.idx + t)) >> CHUNK_SHIFT;
      if (unchanged & (1 << c)) {
        t = ((c + 1) << (CHUNK_SHIFT - 1)) - first.idx - 1;
        continue;
      }
      const lo = was[2 * t];
      const hi = was[2 * t + 1];
      if ((lo | hi) === 0 || heldIn(start, first.idx + t, lo, hi)) continue;
      this.remember(key0 + t, lo, hi);
    }
    if (entries) this.noteLeaves(first.table, first.idx, n, entries);
    return was;
  }

  storeLo(s: Slot, lo: number): void {
    const was = this.mem.word(s.table, 2 * s.idx);
    this.mem.setWord(s.table, 2 * s.idx, lo >>> 0);
    this.noteWrite(s, was, this.mem.word(s.table, 2 * s.idx + 1));
  }

  storeHi(s: Slot, hi: number): void {
    const was = this.mem.word(s.table, 2 * s.idx + 1);
    this.mem.setWord(s.table, 2 * s.idx + 1, hi >>> 0);
    this.noteWrite(s, this.mem.word(s.table, 2 * s.idx), was);
  }

  slotKey(s: Slot): number {
    return s.table * 512 + s.idx;
  }

  /**
   * A slot was written over (lo, hi) (ghost only). A slot's history is its present value, zero
   * (every table starts zeroed) and every value written over: so only the old value is kept here,
   * and filling a fresh table records nothing.
   */
  private noteWrite(s: Slot, lo: number, hi: number): void {
    if (!this.ghost) return;
    this.remember(this.slotKey(s), lo, hi);
    this.noteLeaf(s.table, s.idx, this.mem.word(s.table, 2 * s.idx), this.mem.word(s.table, 2 * s.idx + 1));
  }

  private remember(key: number, lo: number, hi: number): void {
    if ((lo | hi) === 0 || this.wasWrittenOver(key, lo, hi)) return;
    const h = this.slotHistory.get(key);
    if (h) h.push(lo, hi);
    else {
      if (this.slotHistory === NO_HISTORY) this.slotHistory = new Map();
      this.slotHistory.set(key, [lo, hi]);
    }
  }

  /** Is (lo, hi) among the values written over in this slot (the frozen base or this copy's own)? */
  private wasWrittenOver(key: number, lo: number, hi: number): boolean {
    // what the slot held when recording began needs no entry (a split or a collapse overwrites 512 such values per rebuild)
    if (heldIn(this.heldAtStart?.chunks((key - (key % 512)) / 512), key % 512, lo, hi)) return true;
    const base = this.slotBase.get(key);
    if (base && pairIn(base, lo, hi)) return true;
    const h = this.slotHistory.get(key);
    return !!h && pairIn(h, lo, hi);
  }

  /** A table frame is reused (PhysMem tells the machine whose ghost it is): what its slots held stays in their history. */
  rememberTable(pfn: number, words: Uint32Array): void {
    for (let idx = 0; idx < 512; idx++) this.remember(pfn * 512 + idx, words[2 * idx], words[2 * idx + 1]);
  }

  /**
   * noteLeaf over a run of entries just written: one lookup of the table's place, and leaves that
   * map consecutive frames of one generation noted as one span (a split maps 512 ptes again).
   */
  private noteLeaves(table: number, idx0: number, n: number, entries: ArrayLike<number>): void {
    const where = this.tableVa.get(table);
    if (!where) return;
    const level = where.level;
    const pages = 2 ** (this.levelInfo(level).shift - 12);
    const runs = leafRuns(this.arch, level, pages, entries, n);
    // a span is a run whose frames are of one allocation: cut where the generation changes
    for (let r = 0; r < runs.length; r += 3) {
      const t0 = runs[r];
      const f0 = runs[r + 1];
      const count = runs[r + 2];
      let s = 0;
      while (s < count) {
        const pfn = f0 + s * pages;
        const g = this.genOf(pfn);
        let e = s + 1;
        while (e < count && this.genOf(f0 + e * pages) === g) e++;
        this.spans.note(where.base + (idx0 + t0 + s) * pages * 4096, (e - s) * pages, pfn, g);
        s = e;
      }
    }
  }

  /** If (lo, hi) is a present leaf of this mm, its address maps its frames from now on. */
  private noteLeaf(table: number, idx: number, lo: number, hi: number): void {
    if ((lo | hi) === 0) return; // cleared: maps nothing (and a split clears 512 at a time)
    const where = this.tableVa.get(table);
    if (!where) return;
    // one scratch entry for the predicates (they keep nothing): no garbage per store
    const e = SCRATCH;
    e.lo = lo;
    e.hi = hi;
    if (this.arch.present(e)) {
      const level = where.level;
      const isLeaf = level === 'pte' || this.arch.leaf(level, e);
      if (isLeaf) this.noteMapping(where.base + idx * 2 ** this.levelInfo(level).shift, level, this.arch.pfn(e));
    }
  }

  /** Record that addr..addr+size maps frames from pfn on (ghost only). A leaf maps one allocation, so one gen covers it. */
  noteMapping(addr: number, level: Level, pfn: number): void {
    this.spans.note(addr, 2 ** (this.levelInfo(level).shift - 12), pfn, this.genOf(pfn));
  }

  /** The allocation generation of frame pfn (0 for a frame outside this memory). */
  private genOf(pfn: number): number {
    return this.mem.valid(pfn) ? this.mem.at(F.gen, pfn - this.mem.basePfn) : 0;
  }

  /** Did addr map this allocation (pfn, gen) of a page at some moment? (ghost only) */
  mapped(addr: number, pfn: number, gen: number): boolean {
    return this.mappedRun(addr, pfn, gen, 1) === 1;
  }

  /** Of the n pages from addr on (frames from pfn on, allocation gen), how many from the first on each mapped its frame at some moment (ghost only): a span at a time, not a page. */
  mappedRun(addr: number, pfn: number, gen: number, n: number): number {
    let done = 0;
    while (done < n) {
      const reach = this.spans.reach(addr + done * 4096, pfn + done, gen);
      if (reach === 0) return done;
      done += Math.min(reach, n - done);
    }
    return n;
  }

  /** Did this slot ever hold exactly this value? (ghost only) */
  slotHeld(s: Slot, e: Ent): boolean {
    const lo = e.lo >>> 0;
    const hi = e.hi >>> 0;
    if ((lo | hi) === 0) return true;
    if (this.mem.hasTable(s.table) && this.mem.word(s.table, 2 * s.idx) === lo && this.mem.word(s.table, 2 * s.idx + 1) === hi) return true;
    return this.wasWrittenOver(this.slotKey(s), lo, hi);
  }

  /** The walker acts on an entry value it composed: it must be one the slot really held (ghost only). */
  useEntry(s: Slot, e: Ent): void {
    if (!this.ghost || this.slotHeld(s, e)) return;
    this.faults.push({
      kind: 'torn-read',
      pfn: s.table,
      detail: `${s.level} entry ${this.rawHex(e)} was used, but slot ${s.idx} of table 0x${s.table.toString(16)} never held that value (torn read)`,
    });
  }

  // ---- CPUs ----

  irqDisable(cpu: number): void {
    this.cpus[cpu].irqsOff = true;
  }

  irqEnable(cpu: number): void {
    const c = this.cpus[cpu];
    c.irqsOff = false;
    c.enables++;
    c.pendingIpis = 0; // delivered and acknowledged as soon as interrupts are on
  }

  /** Send an IPI to (or start a grace period against) every other CPU. */
  waitOthers(from: number, kind: QsToken['kind']): QsToken {
    const waits = this.cpus
      .filter((c) => c.id !== from && c.irqsOff)
      .map((c) => {
        if (kind === 'ipi') c.pendingIpis++;
        return { cpu: c.id, enables: c.enables };
      });
    return { kind, waits };
  }

  /** Every CPU the token waits on has passed a quiescent point (interrupts re-enabled). */
  qsDone(t: QsToken): boolean {
    for (const w of t.waits) if (this.cpus[w.cpu].enables <= w.enables) return false;
    return true;
  }

  // ---- struct page ----

  private noteRefOnFree(pfn: number, what: string): void {
    if (this.ghost) this.faults.push({ kind: 'ref-on-freed-page', pfn, detail: `${what} on page 0x${pfn.toString(16)}, which is free` });
  }

  /**
   * Does the GUP caller's PKRU let it use pages of this protection key? It holds the default
   * (restrictive since 4.9): key 0 only, as a task that never enabled another key with pkey_alloc.
   */
  pkeyAllows(key: number): boolean {
    return key === 0;
  }

  headOf(pfn: number): number {
    return this.mem.headPfn(pfn);
  }

  refcount(pfn: number): number {
    return this.mem.at(F.refcount, this.mem.idx(pfn));
  }

  /** atomic_add on _refcount; 32-bit wrap like the kernel's atomic_t */
  refAdd(pfn: number, n: number): void {
    const i = this.mem.idx(pfn);
    if (this.mem.at(F.flags, i) & PG.free) this.noteRefOnFree(pfn, `+${n} ref`);
    const before = this.mem.at(F.refcount, i);
    const after = (before + n) | 0;
    this.mem.put(F.refcount, i, after);
    // the sign bit changed on an add: the rare case, out of line (refAdd is hot and small enough to inline)
    if (n > 0 && (before ^ after) < 0) this.signFlipped(pfn, n, before, after);
  }

  /**
   * An add moved a refcount across 2^31 (it reads negative: the ghost's pin-overflow) or across
   * 2^32 (small again, so a put can free the page under its users: seen without the ghost too,
   * as a plain replay's verdict reads it).
   */
  private signFlipped(pfn: number, n: number, before: number, after: number): void {
    if (before >= 0) {
      if (this.ghost) this.faults.push({ kind: 'refcount-overflow', pfn, detail: `refcount of page 0x${pfn.toString(16)} overflowed 32 bits: ${before} + ${n} wrapped to ${after}` });
    } else {
      this.faults.push({ kind: 'refcount-wrap', pfn, detail: `refcount of page 0x${pfn.toString(16)} wrapped past zero: ${before} + ${n} is ${after} (2^32 references), so a put can free it while it is mapped and referenced` });
    }
  }

  /** GUP-fast is about to use a leaf entry: it must not be a NUMA-hinting (protnone) one (ghost only). */
  useLeaf(level: Level, e: Ent): void {
    if (this.ghost && this.arch.protnone(e)) {
      this.faults.push({ kind: 'numa-hint-skipped', pfn: this.arch.pfn(e), detail: `GUP-fast took page 0x${this.arch.pfn(e).toString(16)} through a protnone ${level} (NUMA hinting fault skipped)` });
    }
  }

  /** Start recording ghost state: the present leaves are the first mappings (present values are always part of a slot's history). */
  enableGhost(): void {
    this.ghost = true;
    this.heldAtStart = this.mem.freezeTables();
    this.mem.onDropTable = this;
    for (const [table] of this.tableVa) {
      const used = this.mem.usedEntries(table, 512);
      for (let j = 0; j < used.length; j += 3) this.noteLeaf(table, used[j], used[j + 1], used[j + 2]);
    }
  }

  /** page_ref_add_unless(page, n, 0): fails on a page whose count is zero (being freed) */
  refAddUnlessZero(pfn: number, n: number): boolean {
    const i = this.mem.idx(pfn);
    if (this.mem.at(F.refcount, i) === 0) return false;
    this.refAdd(pfn, n);
    return true;
  }

  /** Each page of pfns, a page of its own mapped once, loses that mapping and its reference: a run of consecutive frames at a time where it can (PhysMem.unmapSmallPages), else a page at a time. */
  unmapPages(pfns: readonly number[]): void {
    const mem = this.mem;
    for (let j = 0; j < pfns.length; ) {
      let e = j + 1;
      while (e < pfns.length && pfns[e] === pfns[e - 1] + 1) e++;
      if (!(mem.valid(pfns[j]) && mem.valid(pfns[e - 1]) && mem.unmapSmallPages(mem.idx(pfns[j]), e - j))) {
        for (let x = j; x < e; x++) {
          mem.add(F.mapcount, mem.idx(pfns[x]), -1);
          this.refSub(pfns[x], 1);
        }
      }
      j = e;
    }
  }

  /** Drop n refs on the page itself; the last one frees it (a compound page as a whole). */
  refSub(pfn: number, n: number): void {
    const i = this.mem.idx(pfn);
    const before = this.mem.at(F.refcount, i);
    const after = (before - n) | 0;
    this.mem.put(F.refcount, i, after);
    if (after === 0 && before > 0) this.mem.free(pfn);
    else if (after < 0 && before >= 0 && this.ghost) {
      this.faults.push({ kind: 'refcount-underflow', pfn, detail: `refcount of page 0x${pfn.toString(16)} went below zero (${after})` });
    }
  }

  /** A readable dump of an entry for traces. */
  rawHex(e: Ent): string {
    return hex(toBig(e));
  }
}
