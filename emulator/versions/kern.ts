/**
 * What a version model's kernel functions run against: the machine, the arch, the CPU they run
 * on and the version's named switches. Every kernel function is a generator; it yields a Step
 * after each modelled statement (when `y` is on: tracing, stepping or interleaving), so a
 * scheduler can run other actors between any two statements.
 * Layer: pure emulator.
 */
import type { ArchId, ArchModel, Ent, Era, Level } from '../arch/types';
import type { Machine, Slot } from '../machine/machine';
import type { GupResult, Step, StepEvent } from '../trace/types';

export type G<T> = Generator<Step, T, void>;

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
  longterm?: boolean;
  fastOnly?: boolean;
}

export interface Kern {
  m: Machine;
  arch: ArchModel;
  era: Era;
  cpu: number;
  actor: string;
  opts: Required<VersionOptions>;
  /** yield steps (tracing, stepping, interleaving); off for raw speed */
  y: boolean;
  depth: number;
}

export const PAGE_SIZE = 4096;

export function step(k: Kern, fn: string, anchor: string, event: StepEvent, extra?: Partial<Step>): Step {
  const s: Step = { actor: k.actor, cpu: k.cpu, fn, anchor, event, depth: k.depth };
  return extra ? Object.assign(s, extra) : s;
}

/** A step about an entry value. */
export function entStep(k: Kern, fn: string, anchor: string, event: StepEvent, level: Level, e: Ent, addr?: number): Step {
  return step(k, fn, anchor, event, { level, lo: e.lo, hi: e.hi, addr });
}

/**
 * Run a kernel function body as a frame: a 'call' step, the body, a 'return' step.
 * The frame shows in the debug adapter's call stack with its address range.
 */
export function* frame<T>(k: Kern, fn: string, anchor: string, addr: number, end: number, body: () => G<T>): G<T> {
  if (k.y) yield step(k, fn, anchor, 'call', { addr, end });
  k.depth++;
  let ret: T;
  try {
    ret = yield* body();
  } finally {
    k.depth--;
  }
  if (k.y) yield step(k, fn, anchor, 'return', { addr, end, ret: typeof ret === 'number' || typeof ret === 'boolean' ? ret : undefined });
  return ret;
}

/** pgd_offset / pud_offset / pmd_offset / pte_offset_map: the slot for addr in the table an entry points to. */
export function offset(k: Kern, parent: Ent, level: Level, addr: number): Slot {
  return k.m.slot(k.arch.pfn(parent), level, addr, parent.g);
}

export function pgdSlot(k: Kern, addr: number): Slot {
  return k.m.slot(k.m.mm.pgd, k.arch.levels[0].level, addr);
}

/** addr rounded up to the end of the entry at `level`, clamped to end (pmd_addr_end and kin) */
export function addrEnd(k: Kern, level: Level, addr: number, end: number): number {
  const size = 2 ** k.m.levelInfo(level).shift;
  const boundary = (Math.floor(addr / size) + 1) * size;
  return boundary - 1 < end - 1 ? boundary : end;
}

export interface VersionModel {
  id: string;
  title: string;
  /** kernel releases this code shipped in */
  kernels: string;
  year: number;
  files: string[];
  /** the kernel functions this model defines, as that version names them */
  functions: string[];
  /** what this version changed, in a sentence */
  change: string;
  /** which bit layout its entries use */
  era: Era;
  /** arch models this code can run on in the emulator */
  arches: ArchId[];
  options: OptionDef[];
  defaults: Required<VersionOptions>;
  /** the entry point: get_user_pages_fast or pin_user_pages_fast, fast path then slow path */
  gup(k: Kern, call: GupCall): G<GupResult>;
  /** how the caller gives one returned page back (put_page or unpin_user_page) */
  release(k: Kern, pfn: number, call: GupCall): void;
  /** how the ordinary slow path takes its reference on one page */
  grab(k: Kern, pfn: number, call: GupCall): boolean;
}

export const DEFAULT_OPTIONS: Required<VersionOptions> = {
  pteSpecial: true,
  rcuTableFree: false,
  splitIpi: false,
  hpagePincount: false,
  writeProtectSeq: false,
};

/** The arch has this level (else it is folded into the one above, as pud on 3-level x86 PAE). */
export function hasLevel(k: Kern, level: Level): boolean {
  return k.arch.levels.some((l) => l.level === level);
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
    if (k.y) yield entStep(k, fn, anchor, 'load', s.level, e, addr);
    return e;
  }
  const lo = k.m.loadLo(s);
  if (k.y) yield step(k, fn, anchor, 'load', { level: s.level, lo, addr, note: 'low half (32-bit load)' });
  const hi = k.m.loadHi(s);
  const e = k.m.withGen({ lo, hi });
  if (k.y) yield step(k, fn, anchor, 'load', { level: s.level, lo, hi, addr, note: 'high half (32-bit load)' });
  return e;
}

export function* irqOff(k: Kern, fn: string, anchor: string): G<void> {
  k.m.irqDisable(k.cpu);
  if (k.y) yield step(k, fn, anchor, 'irq', { note: 'interrupts off' });
}

export function* irqOn(k: Kern, fn: string, anchor: string): G<void> {
  k.m.irqEnable(k.cpu);
  if (k.y) yield step(k, fn, anchor, 'irq', { note: 'interrupts on' });
}

/** A mutable int passed by pointer (`int *nr`). */
export interface Nr {
  v: number;
}
