/**
 * The trace format every front consumes (CLI, hover, CodeLens, debug adapter, diffs).
 * A step is what one modelled statement did. Steps are small and numeric while recorded (the
 * walker makes one per statement); `describeStep` turns one into readable, JSON-friendly values.
 * Layer: pure emulator.
 */
import type { Level } from '../arch/types';

export type StepEvent =
  | 'call' // entering a kernel function (addr..end)
  | 'return' // leaving it (ret)
  | 'load' // reading an entry, or one half of it
  | 'recheck' // re-reading to compare with the copy taken before
  | 'check' // testing the copy (passes)
  | 'bail' // a test failed: stop the fast walk here
  | 'ref' // reference or pin taken
  | 'unref' // reference or pin dropped
  | 'record' // pages[nr++] = page
  | 'irq' // interrupts disabled or enabled
  | 'seq' // write_protect_seq read or changed
  | 'slowpath' // the ordinary get_user_pages under mmap_lock, modelled as one step
  | 'write' // an actor stores an entry (or a half)
  | 'flush' // TLB flush (IPI or broadcast)
  | 'wait' // blocked until other CPUs pass a quiescent point
  | 'free' // a page or page table freed
  | 'alloc' // a page allocated
  | 'split' // THP split bookkeeping
  | 'stmt' // a statement of the file's own code ran (source engine)
  | 'read' // a struct page, folio or mm field read that another CPU may change (compound_head, refcount, flags)
  | 'note';

export interface Step {
  actor: string;
  cpu: number;
  fn: string;
  /** key tokens of the statement this step models, matched against the user's source */
  anchor: string;
  event: StepEvent;
  /** call depth inside this actor (the walk's stack) */
  depth: number;
  // the optional fields below are copied one by one by kern.ts stepRec(): a new one goes there too
  addr?: number;
  end?: number;
  /** entry involved: level and raw halves */
  level?: Level;
  lo?: number;
  hi?: number;
  /** page and the change made to its refcount / pincount */
  pfn?: number;
  ref?: number;
  pin?: number;
  nr?: number;
  ret?: number | boolean;
  note?: string;
  /** a step of the slow path (ordinary GUP under mmap_lock) */
  slow?: boolean;
  /** 1-based line of the statement in the file whose own code ran (source engine) */
  line?: number;
  /** a 'wait' step: the actor may run again once this holds (not serialized) */
  until?: () => boolean;
}

export interface GupResult {
  /** pages returned (the kernel's return value when positive) */
  nr: number;
  /** the return value (negative errno when nothing was pinned) */
  ret: number;
  /** the fast walk did not finish and the ordinary slow path ran */
  slowPath: boolean;
  /** pages the fast path got before stopping */
  fastNr: number;
  /** frame numbers, in order */
  pages: number[];
  /** the walk stored past the caller's nr_pages entries and stopped there (the kernel would write over what follows the array) */
  overrun?: { len: number; line?: number; table?: { level: Level; idx: number } };
  /** a file's own code read a local before anything set it (its value is indeterminate) and stopped there */
  uninit?: { name: string; line: number };
}

/** Refcount change of one page between the start and the end of a replay. */
export interface RefDelta {
  pfn: number;
  refcount: number;
  pincount: number;
}
