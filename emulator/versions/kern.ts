/**
 * What a version model's kernel functions run against: the machine, the arch, the CPU they run
 * on and the version's named switches. Every kernel function is a generator; after each
 * modelled statement it records a Step (when `y` is on) and, when `i` asks for scheduling
 * points (interleaving, stepping), yields, so other actors can run between any two statements.
 * Layer: pure emulator.
 */
import { POW2 } from '../arch/bits';
import { releaseNumber } from '../arch/release';
import { levelIndex, levelInfo, type ArchId, type ArchModel, type Ent, type Era, type Level } from '../arch/types';
import { pastTable, type Machine, type Slot } from '../machine/machine';
import { FnSink, TraceBuffer, type StepSink } from '../trace/buffer';
import { HashSink } from '../trace/hash';
import type { TailScheme } from './refs';
import { speller } from './spelling';
import type { GupResult, Step, StepEvent } from '../trace/types';
import { PageRuns } from './page-runs';

/**
 * A kernel function. Steps go into the Kern's sink; the generator yields nothing after a step
 * only when `k.i` asks for a scheduling point, so plain tracing never pays for yielding. To call
 * another kernel function it yields the callee's generator, and the runner resumes it with the
 * callee's value: `(yield gup_pte_range(...)) as boolean`. Calls are trampolined, not
 * `yield*`-delegated, so a scheduling point resumes only the innermost frame: through yield*
 * every resume passes down (and every yield back up) the whole walk, pgd to pte, ten generators
 * deep. (A typed `yield* invoke(g)` wrapper would cost a generator per call: ~8% of exploring.)
 */
export type G<T> = Generator<Sub | undefined, T, unknown>;

/** A kernel function being called (what a caller yields to the runner). */
export interface Sub extends Generator<Sub | undefined, unknown, unknown> {}

/**
 * A kernel thread: a stack of kernel function generators, resumed at the innermost. When one
 * finishes that had entered a frame, the runner records its 'return' step (a scheduling point
 * of its own) before handing the value to the caller.
 */
export class Fiber<T> {
  private readonly stack: Sub[];
  /** k.frames.length when each generator was pushed: more when it finishes means it entered a frame */
  private readonly marks: number[];
  /** a finished callee's value, held over a scheduling point after its 'return' step */
  private pending: unknown;
  /** what the outermost function returned, once done */
  value: T | undefined;

  constructor(
    private readonly k: Kern,
    g: G<T>,
  ) {
    this.stack = [g as Sub];
    this.marks = [k.frames.length];
  }

  /** Run to the next scheduling point; returns true when the thread has finished. */
  resume(): boolean {
    let v = this.pending;
    this.pending = undefined;
    const st = this.stack;
    // an exception in a callee is thrown on into its caller, as a call would (WalkOverrun reaches guardedGup)
    let thrown = false;
    let err: unknown;
    while (st.length > 0) {
      let r: IteratorResult<Sub | undefined, unknown>;
      try {
        r = thrown ? st[st.length - 1].throw(err) : st[st.length - 1].next(v);
        thrown = false;
      } catch (e) {
        st.pop();
        unwindTo(this.k, this.marks.pop()!);
        if (st.length === 0) throw e;
        thrown = true;
        err = e;
        continue;
      }
      if (r.done) {
        st.pop();
        v = r.value;
        if (this.k.frames.length > this.marks.pop()! && leave(this.k, v)) {
          this.pending = v;
          return false;
        }
      } else if (r.value !== undefined) {
        st.push(r.value);
        this.marks.push(this.k.frames.length);
        v = undefined;
      } else {
        return false;
      }
    }
    this.value = v as T;
    return true;
  }
}

/** A scenario, actor or entry point that cannot meet this version, arch or file (a reason, not a failure). */
export class NotApplicableError extends Error {}

/**
 * GUP-fast stored a page past the caller's nr_pages entries of pages[] (a walk that ran past its
 * range: the do-while loops walk one page even for an empty range). The kernel would write over
 * whatever follows the array; the emulator has nothing there, so the call stops and says so.
 */
export class WalkOverrun extends Error {
  constructor(
    /** the caller's array as filled, its nr_pages entries */
    readonly pages: number[],
    readonly len: number,
    /** the line of the store, in a file's own code */
    readonly line?: number,
    /** it went past a page-table page first: the entry it would have read (Machine's TableOverrun) */
    readonly table?: { level: Level; idx: number },
  ) {
    super(table ? `${pastTable(table.level, table.idx)} (and its range)` : `a store to pages[${len}], past the caller's array of ${len} (nr_pages): the walk ran past its range`);
  }
}

/**
 * A file's own code read a local it declared without a value before anything set it. C leaves
 * that value indeterminate (the compiler may give it anything), so no outcome follows from the
 * code: the call stops at the read and says so, a finding about the file as an overrun is.
 */
export class UninitRead extends Error {
  constructor(
    readonly local: string,
    readonly line: number,
    /** the caller's array as filled when it stopped */
    readonly pages: number[] = [],
  ) {
    super(`line ${line} reads ${local} before anything set it (an uninitialised local: C gives it no value)`);
  }
}

/** The caller's pages[] as an entry point starts filling it: empty, with room for the call's nr_pages (recordPage stops past them). */
export function callerPages(k: Kern, call: GupCall): PageRuns {
  k.pagesCap = call.nrPages;
  return new PageRuns();
}

/** the runs behind each long result's pages[] (gupResult) */
const RUNS = new WeakMap<GupResult, PageRuns>();
/** from this many pages on a result's pages[] is written out only when read */
const LAZY_PAGES = 4096;

/** A call's result over pages recorded as runs: a long pages[] (a 1 GiB pin) is written out the first time something reads it (the explorer reads the runs). */
export function gupResult(r: Omit<GupResult, 'pages'>, runs: PageRuns): GupResult {
  // r is the caller's own literal: its pages are added to it
  const out = r as GupResult;
  if (runs.length < LAZY_PAGES) {
    out.pages = runs.toArray();
    return out;
  }
  let pages: number[] | undefined;
  Object.defineProperty(out, 'pages', { get: () => (pages ??= runs.toArray()), enumerable: true, configurable: true });
  RUNS.set(out, runs);
  return out;
}

/** A result's pages as runs: as the walker recorded them, else read off pages[]. */
export function runsOf(r: GupResult): PageRuns {
  return RUNS.get(r) ?? PageRuns.of(r.pages);
}

/**
 * The caller gives back every page GUP returned (put_page / unpin_user_pages): a run of
 * consecutive pages of one compound page in one release, as unpin_user_pages batches a folio (a
 * 1 GiB pin is one release, not 262,144).
 */
export function releasePages(k: Kern, version: VersionModel, runs: PageRuns, call: GupCall): void {
  const mem = k.m.mem;
  runs.pieces((pfn) => mem.compoundEnd(pfn), (pfn, n) => version.release(k, pfn, call, n));
}

/** The code can pin (FOLL_PIN came with pin_user_pages_fast in 5.6). */
export function hasPins(v: Pick<VersionModel, 'pins' | 'year'>): boolean {
  return v.pins ?? v.year >= 2020;
}

/**
 * The call as this code makes it: a DMA reference (a pin the race is about) on code from before
 * FOLL_PIN is the FOLL_GET reference drivers held for DMA then.
 */
export function callOn(v: Pick<VersionModel, 'pins' | 'year'>, call: GupCall & { dmaRef?: boolean }): GupCall {
  const { dmaRef, ...c } = call;
  if (!dmaRef) return c;
  return c.pin && !hasPins(v) ? { ...c, pin: false, dma: true } : { ...c, dma: true };
}

/** pages[(*nr)++] = pfn, stopping at the caller's nr_pages (WalkOverrun). */
export function recordPage(k: Kern, pages: PageRuns, pfn: number): void {
  if (pages.length >= k.pagesCap) throw new WalkOverrun(pages.toArray().slice(0, k.pagesCap), k.pagesCap);
  pages.push(pfn);
}

/** A GUP call to its result, where a walk that ran past pages[] is a result that says so (not a crash). */
export function* guardedGup(k: Kern, version: VersionModel, call: GupCall): G<GupResult> {
  try {
    return (yield version.gup(k, call)) as GupResult;
  } catch (e) {
    if (!(e instanceof WalkOverrun) && !(e instanceof UninitRead)) throw e;
    return yield* stoppedGup(k, e);
  }
}

/** A walk that ran past pages[] or read what nothing set: the call ends there, with a result that says so. */
export function* stoppedGup(k: Kern, e: WalkOverrun | UninitRead): G<GupResult> {
  const nr = e.pages.length;
  if (k.y && step(k, 'get_user_pages_fast', e instanceof UninitRead ? `a read of ${e.local}` : 'pages[*nr] = page', 'bail', { nr, note: e.message })) yield;
  // the walk stopped inside its interrupts-off section: leave the CPU as the call's end would (no flush left waiting on it)
  if (k.m.cpus[k.cpu].irqsOff) yield* irqOn(k, 'get_user_pages_fast', 'local_irq_restore(flags)');
  const stop = e instanceof UninitRead ? { uninit: { name: e.local, line: e.line } } : { overrun: { len: e.len, line: e.line, ...(e.table && { table: e.table }) } };
  return { nr, ret: nr, slowPath: false, fastNr: nr, pages: e.pages, ...stop };
}

/** Run a kernel function to its end where nothing else runs (no scheduling points wanted). */
export function run<T>(k: Kern, g: G<T>): T {
  const f = new Fiber(k, g);
  if (!f.resume()) throw new Error('a kernel function yielded a scheduling point where nothing else runs');
  return f.value as T;
}

/** Named configuration switches of a version model, so a scenario states exactly what it runs. */
export interface VersionOptions {
  /** the arch defines pte_special (__HAVE_ARCH_PTE_SPECIAL); without it the generic gup_pte_range is a stub */
  pteSpecial?: boolean;
  /** page-table pages are freed through RCU (HAVE_RCU_TABLE_FREE) */
  rcuTableFree?: boolean;
  /** pmdp_splitting_flush sends a dummy IPI on arches whose TLB flush does not (3.18 arm/arm64) */
  splitIpi?: boolean;
  /** exact pin count for compound pages of order > 1 (hpage_pinned_refcount, 5.7) */
  hpagePincount?: boolean;
  /** FOLL_PIN fast GUP checks mm->write_protect_seq (5.11) */
  writeProtectSeq?: boolean;
  /** the walker leaves NUMA-hinting entries to the slow path (pte_numa/pmd_numa as merged in 3.18) */
  numaTests?: boolean;
  /** x86 PAE's gup_get_pte in the generic walker (4.13): the pte read low, high, low again */
  pteLowHigh?: boolean;
  /** pmds read with pmdp_get_lockless (6.2: low, high, low on x86 PAE), not READ_ONCE */
  pmdLockless?: boolean;
  /** GUP breaks COW even for a read (17839856fd58, 5.8; stable 4.14.y-5.7.y): the fast walk takes only writable ptes, the slow path copies a shared anon page */
  cowBreakReads?: boolean;
}

export interface OptionDef {
  name: keyof VersionOptions;
  title: string;
  kernel: string;
}

/** A call of the GUP entry point: get_user_pages_fast, or pin_user_pages_fast with FOLL_PIN. */
export interface GupCall {
  start: number;
  nrPages: number;
  write: boolean;
  pin?: boolean;
  /** a reference held for DMA (a pin, or on code from before FOLL_PIN a FOLL_GET reference): what the pinned-page invariants hold to their promise */
  dma?: boolean;
  longterm?: boolean;
  fastOnly?: boolean;
  /** FOLL_HONOR_NUMA_FAULT (6.5+) */
  honorNumaFault?: boolean;
}

export interface Kern {
  readonly m: Machine;
  arch: ArchModel;
  era: Era;
  cpu: number;
  actor: string;
  opts: Required<VersionOptions>;
  /** record steps (tracing, stepping, interleaving); off for raw speed. Read only as `k.y && step(...)`: while rebuilding quietly each read is a scheduling point (see KernCtx). */
  readonly y: boolean;
  /** yield after every step: a scheduling point for other actors or a debugger */
  i: boolean;
  /** where steps go */
  sink: StepSink;
  /** the kernel functions entered and not yet left, innermost last: the call stack, whose length is each step's depth */
  frames: Frame[];
  /** the interpreter's thread running a file's own code here, if any (the debugger shows its C locals) */
  interp?: unknown;
  /** the caller's pages[] holds this many entries (the GUP entry point sets it): recordPage stops past it */
  pagesCap: number;
  /** names as the code's release wrote them (versions/spelling.ts); absent when today's names are its own */
  speak?: (s: string) => string;
  /** the first release of the code being run: the kernel rules of its time (the COW reuse rule) follow it */
  readonly release?: string;
}

/**
 * The Kern every run uses. Its `quiet` mode is the explorer rebuilding a state it has seen: the
 * scheduling points of an actor's consecutive turns pass without recording anything, so `y`
 * reads false at each (and the step's fields are never built) until the last, which records
 * and yields.
 */
export class KernCtx implements Kern {
  frames: Frame[] = [];
  interp?: unknown;
  pagesCap = Infinity;
  quiet = false;
  /** while quiet: scheduling points still to pass before the next yield */
  skip = 0;
  readonly arch: ArchModel;

  constructor(
    /** the machine it runs on (the explorer points a replayed thread at a copy of an earlier machine) */
    public m: Machine,
    public era: Era,
    public cpu: number,
    public actor: string,
    public opts: Required<VersionOptions>,
    private readonly record: boolean,
    public i: boolean,
    public sink: StepSink,
    /** the first release of the code being run: what its steps call things, and the rules of its time */
    readonly release?: string,
  ) {
    this.arch = m.arch;
    this.speak = speller(release);
  }
  readonly speak?: (s: string) => string;

  /** A context like this one on machine m, its sink empty: where a kept copy of a thread waits until a world copies it or takes it over (and gives it a sink). */
  parked(m: Machine): KernCtx {
    return new KernCtx(m, this.era, this.cpu, this.actor, this.opts, this.record, this.i, [], this.release);
  }

  get y(): boolean {
    if (!this.quiet) return this.record;
    if (this.skip === 0) return true;
    this.skip--;
    return false;
  }
}

export const PAGE_SIZE = 4096;

/** The caller's PKRU allows the entry's protection key (x86-64 4.6+; every other entry carries none). */
export function keyAllowed(k: Kern, e: Ent): boolean {
  return k.m.pkeyAllows(k.arch.pkey?.(e) ?? 0);
}

/** pXd_access_permitted without its present test: the user bit, the write bit for a write, and the protection key. */
export function userAccess(k: Kern, level: Level, e: Ent, write: boolean): boolean {
  return k.arch.user(e) && (!write || k.arch.write(level, e, k.era)) && keyAllowed(k, e);
}

/** The code being run is of `release` or later (today's code when it names none): a kernel rule of that time applies. */
export function atLeast(k: Kern, release: string): boolean {
  return !k.release || releaseNumber(k.release) >= releaseNumber(release);
}

/** One shape for every step (all fields present), so the hot path stays monomorphic. */
class StepRec implements Step {
  addr?: number = undefined;
  end?: number = undefined;
  level?: Level = undefined;
  lo?: number = undefined;
  hi?: number = undefined;
  pfn?: number = undefined;
  ref?: number = undefined;
  pin?: number = undefined;
  nr?: number = undefined;
  ret?: number | boolean = undefined;
  note?: string = undefined;
  slow?: boolean = undefined;
  until?: () => boolean = undefined;
  line?: number = undefined;
  constructor(
    readonly actor: string,
    readonly cpu: number,
    readonly fn: string,
    readonly anchor: string,
    readonly event: StepEvent,
    readonly depth: number,
  ) {}
}

/** A StepRec with the given fields (field by field: Object.assign is generic and slow on this path). */
function stepRec(k: Kern, fn: string, anchor: string, event: StepEvent, x: Partial<Step> | undefined): StepRec {
  const r = new StepRec(k.actor, k.cpu, fn, anchor, event, k.frames.length);
  if (!x) return r;
  if (x.addr !== undefined) r.addr = x.addr;
  if (x.end !== undefined) r.end = x.end;
  if (x.level !== undefined) r.level = x.level;
  if (x.lo !== undefined) r.lo = x.lo;
  if (x.hi !== undefined) r.hi = x.hi;
  if (x.pfn !== undefined) r.pfn = x.pfn;
  if (x.ref !== undefined) r.ref = x.ref;
  if (x.pin !== undefined) r.pin = x.pin;
  if (x.nr !== undefined) r.nr = x.nr;
  if (x.ret !== undefined) r.ret = x.ret;
  if (x.note !== undefined) r.note = x.note;
  if (x.slow !== undefined) r.slow = x.slow;
  if (x.until !== undefined) r.until = x.until;
  if (x.line !== undefined) r.line = x.line;
  return r;
}

/**
 * Record a step; returns whether the caller must yield (a scheduling point). `own`: the function
 * and the statement are a file's own text, in its own release's words already (only the note, a
 * model's, is respelled).
 */
export function step(k: Kern, fn: string, anchor: string, event: StepEvent, extra?: Partial<Step>, own = false): boolean {
  const sink = k.sink;
  if (sink instanceof HashSink) {
    hashInto(sink, k, anchor, extra, own);
    return k.i;
  }
  if (k.speak) {
    if (!own) {
      fn = k.speak(fn);
      anchor = k.speak(anchor);
    }
    if (extra?.note) extra = { ...extra, note: k.speak(extra.note) };
  }
  if (sink instanceof TraceBuffer) sink.record(k.actor, k.cpu, fn, anchor, event, k.frames.length, extra);
  else if (sink instanceof FnSink) sink.fns.add(fn);
  else sink.push(stepRec(k, fn, anchor, event, extra));
  return k.i;
}

/** A step as the explorer hashes it, no Step made: its statement (`own`: a file's own, in its release's words already) and note as the release spells them, and its values. */
function hashInto(sink: HashSink, k: Kern, anchor: string, extra: Partial<Step> | undefined, own: boolean): void {
  const speak = k.speak;
  const note = extra?.note;
  sink.add(speak && !own ? speak(anchor) : anchor, speak && note ? speak(note) : note, extra?.lo, extra?.hi, extra?.pfn, extra?.nr, extra?.ref, extra?.addr, extra?.until);
}

/** A step about an entry value. */
export function entStep(k: Kern, fn: string, anchor: string, event: StepEvent, level: Level, e: Ent, addr: number): boolean {
  if (k.sink instanceof TraceBuffer) k.sink.recordEntry(k.actor, k.cpu, fn, anchor, event, k.frames.length, level, e.lo, e.hi, addr);
  else if (k.sink instanceof HashSink) k.sink.add(anchor, undefined, e.lo, e.hi, 0, 0, 0, addr, undefined);
  else return step(k, fn, anchor, event, { level, lo: e.lo, hi: e.hi, addr });
  return k.i;
}

/** A step about a page: a reference taken (`ref`) or the page recorded in pages[] (`nr`). */
export function pageStep(k: Kern, fn: string, anchor: string, event: StepEvent, pfn: number, ref: number | undefined, nr: number | undefined, addr: number): boolean {
  if (k.sink instanceof TraceBuffer) k.sink.recordPage(k.actor, k.cpu, fn, anchor, event, k.frames.length, pfn, ref, nr, addr);
  else if (k.sink instanceof HashSink) k.sink.add(anchor, undefined, 0, 0, pfn, nr, ref, addr, undefined);
  else return step(k, fn, anchor, event, { pfn, ref, nr, addr });
  return k.i;
}

/** A kernel function's activation: what its 'call' and 'return' steps show (the debugger's call stack). */
export interface Frame {
  fn: string;
  anchor: string;
  addr: number;
  end: number;
}

/**
 * Enter a kernel function (its first statement): a 'call' step, then one level deeper. Returns
 * whether to yield. Leaving is the runner's job (a Fiber sees the function's generator finish),
 * so a kernel function simply returns.
 */
export function enter(k: Kern, fn: string, anchor: string, addr: number, end: number): boolean {
  const pause = k.y && step(k, fn, anchor, 'call', { addr, end });
  k.frames.push({ fn, anchor, addr, end });
  return pause;
}

/** An exception leaves the frames entered above `depth`: each records its 'return' (no value, no scheduling point). */
export function unwindTo(k: Kern, depth: number): void {
  while (k.frames.length > depth) leave(k, undefined);
}

/** Leave the innermost kernel function with its return value: one level up, a 'return' step. Returns whether to yield. */
function leave(k: Kern, ret: unknown): boolean {
  const f = k.frames.pop()!;
  return k.y && step(k, f.fn, f.anchor, 'return', { addr: f.addr, end: f.end, ret: typeof ret === 'number' || typeof ret === 'boolean' ? ret : undefined });
}

/** pgd_offset / pud_offset / pmd_offset / pte_offset_map: the slot for addr in the table an entry points to. */
export function offset(k: Kern, parent: Ent, level: Level, addr: number): Slot {
  return { table: k.arch.pfn(parent), idx: levelIndex(k.arch, level, addr), level, g: parent.g };
}

export function pgdSlot(k: Kern, addr: number): Slot {
  return k.m.slot(k.m.mm.pgd, k.arch.levels[0].level, addr);
}

/** bytes one entry at this level maps */
export function levelSize(k: Kern, level: Level): number {
  return POW2[levelInfo(k.arch, level).shift];
}

/** addr rounded up to the end of the entry at `level`, clamped to end (pmd_addr_end and kin) */
export function addrEnd(k: Kern, level: Level, addr: number, end: number): number {
  const size = levelSize(k, level);
  const boundary = (Math.floor(addr / size) + 1) * size;
  return boundary - 1 < end - 1 ? boundary : end;
}

export interface VersionModel {
  id: string;
  title: string;
  /** kernel releases this code shipped in */
  kernels: string;
  /** the first of them (what its steps call things: versions/spelling.ts) */
  since: string;
  /** the release whose entry bits it runs (ArchModel.at), where not `since`: a model of a span keeps its era's layout */
  bits?: string;
  year: number;
  /** its entry point pins (FOLL_PIN, pin_user_pages_fast): by default code of 2020 and later (hasPins) */
  pins?: boolean;
  files: string[];
  /** the kernel functions this model defines, as that version names them */
  functions: string[];
  /**
   * Release ranges that spell the same code with other names (folio-6x: 6.1–6.9 and 6.10+),
   * newest first; each id resolves with getVersion (`folio-6x@6.1`), and a file gets the one
   * whose names it has (dialectFor).
   */
  dialects?: { id: string; kernels: string }[];
  /** what this version changed, in a sentence */
  change: string;
  /** which bit layout its entries use */
  era: Era;
  /** how THP tail references were counted (pre-4.5 split bookkeeping) */
  thpTails: TailScheme;
  /** the code predates transparent huge pages (2.6.38): THP actors cannot meet it */
  noThp?: boolean;
  /** the levels whose huge leaves its walker handles, where that is fewer than the arch maps (a file's walker that never tests for one) */
  hugeLeaves?: Level[];
  /** arch models this code can run on in the emulator */
  arches: ArchId[];
  options: OptionDef[];
  defaults: Required<VersionOptions>;
  /** the entry point: get_user_pages_fast or pin_user_pages_fast, fast path then slow path */
  gup(k: Kern, call: GupCall): G<GupResult>;
  /**
   * how the caller gives returned pages back (put_page or unpin_user_page): `n` (default 1)
   * consecutive pages from pfn, all of one compound page (unpin_user_pages batches them so)
   */
  release(k: Kern, pfn: number, call: GupCall, n?: number): void;
  /** how the ordinary slow path takes its reference on one page */
  grab(k: Kern, pfn: number, call: GupCall): boolean;
}

export const DEFAULT_OPTIONS: Required<VersionOptions> = {
  pteSpecial: true,
  rcuTableFree: false,
  splitIpi: false,
  hpagePincount: false,
  writeProtectSeq: false,
  numaTests: true,
  pteLowHigh: false,
  pmdLockless: false,
  cowBreakReads: false,
};

/** The arch has this level (else it is folded into the one above, as pud on 3-level x86 PAE). */
export function hasLevel(k: Kern, level: Level): boolean {
  const ls = k.arch.levels;
  for (let i = 0; i < ls.length; i++) if (ls[i].level === level) return true;
  return false;
}

/**
 * pud_offset / p4d_offset / pmd_offset: the slot below `parent`, or for a folded level the
 * parent's own slot relabelled (the kernel's folded pud_offset returns the pgd pointer).
 */
export function descend(k: Kern, parent: Ent, parentSlot: Slot, level: Level, addr: number): Slot {
  if (!hasLevel(k, level)) return { ...parentSlot, level };
  return offset(k, parent, level, addr);
}

/** pXd_addr_end for a folded level is just `end`. */
export function levelEnd(k: Kern, level: Level, addr: number, end: number): number {
  return hasLevel(k, level) ? addrEnd(k, level, addr, end) : end;
}

/**
 * A plain C load of a 64-bit entry (`*ptep`, ACCESS_ONCE/READ_ONCE): one atomic access where the
 * arch has one, else two 32-bit loads, low half first, with a window between them.
 */
export function* plainLoad(k: Kern, fn: string, anchor: string, s: Slot, addr: number): G<Ent> {
  if (k.arch.atomicEntryLoad) {
    const e = k.m.load(s);
    if (k.y && entStep(k, fn, anchor, 'load', s.level, e, addr)) yield;
    return e;
  }
  const lo = k.m.loadLo(s);
  if (k.y && step(k, fn, anchor, 'load', { level: s.level, lo, addr, note: 'low half (32-bit load)' })) yield;
  const hi = k.m.loadHi(s);
  const e = k.m.entry(lo, hi);
  if (k.y && step(k, fn, anchor, 'load', { level: s.level, lo, hi, addr, note: 'high half (32-bit load)' })) yield;
  return e;
}

/**
 * The PAE protocol for a lockless 64-bit read (x86 gup_get_pte, later CONFIG_GUP_GET_PTE_LOW_HIGH
 * and ptep_get_lockless): low half, smp_rmb, high half, smp_rmb, low half again; retry if it
 * moved. Only sound together with the TLB flush that interrupts-off holds back.
 */
export function* lowHighLow(k: Kern, fn: string, s: Slot, addr: number): G<Ent> {
  const level = s.level;
  for (;;) {
    const lo = k.m.loadLo(s);
    if (k.y && step(k, fn, 'pte.pte_low = ptep->pte_low', 'load', { level, lo, addr, note: 'low half' })) yield;
    const hi = k.m.loadHi(s);
    if (k.y && step(k, fn, 'pte.pte_high = ptep->pte_high', 'load', { level, lo, hi, addr, note: 'high half' })) yield;
    const again = k.m.loadLo(s);
    const same = again === lo;
    if (k.y && step(k, fn, 'pte.pte_low != ptep->pte_low', 'recheck', { level, lo: again, hi, addr, note: same ? 'low half unchanged: done' : 'low half changed: retry' })) yield;
    if (same) return k.m.entry(lo, hi);
  }
}

/**
 * The same load without a generator, when that is possible: an atomic arch and no scheduling
 * point wanted. Returns undefined otherwise; callers then `yield* plainLoad(...)`. This keeps
 * tracing a GiB walk cheap.
 */
export function quickLoad(k: Kern, fn: string, anchor: string, s: Slot, addr: number): Ent | undefined {
  if (k.i || !k.arch.atomicEntryLoad) return undefined;
  const e = k.m.load(s);
  if (k.y) entStep(k, fn, anchor, 'load', s.level, e, addr);
  return e;
}

export function* irqOff(k: Kern, fn: string, anchor: string): G<void> {
  k.m.irqDisable(k.cpu);
  if (k.y && step(k, fn, anchor, 'irq', { note: 'interrupts off' })) yield;
}

export function* irqOn(k: Kern, fn: string, anchor: string): G<void> {
  k.m.irqEnable(k.cpu);
  if (k.y && step(k, fn, anchor, 'irq', { note: 'interrupts on' })) yield;
}

/** A mutable int passed by pointer (`int *nr`). */
export interface Nr {
  v: number;
}
