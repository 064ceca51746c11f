/**
 * The running state of the file's code: frames of compiled C functions on an explicit stack
 * (no JS recursion and no generator per C call), and the pointers C code makes. A compiled
 * function is a flat list of ops; an op does one small thing and returns the next pc, so a
 * thread can stop after any op (a scheduling point) and go on later, and `goto` is a jump.
 * The thread is driven by one generator per GUP call (source-version.ts), which yields to the
 * emulator's Fiber at scheduling points and to run the slow path, so the explorer and the
 * debugger interleave it with the race actors exactly as they do a version model.
 * Layer: pure emulator.
 */
import { CallerPages } from './caller-pages';
import type { Ent, Level } from '../arch/types';
import type { Slot } from '../machine/machine';
import type { GupCall, Kern, KernCtx, Sub, VersionModel } from '../versions/kern';
import { step } from '../versions/kern';
import { HashSink } from '../trace/hash';
import { FnSink } from '../trace/buffer';
import type { StepEvent } from '../trace/types';
import type { CType } from './ctypes';

/** One op of a compiled function: does its work, returns the next pc (-1: the function returned). */
export type Op = (t: Thread, f: Frame) => number;

export interface CompiledFn {
  name: string;
  /** 1-based lines of the definition */
  line: number;
  endLine: number;
  params: { name: string; type: CType; slot: number }[];
  ret: CType;
  ops: Op[];
  /** the ops are generated JS (compile.ts emit), not the closures */
  generated?: boolean;
  /** slots for locals and temporaries */
  nslots: number;
  /** every slot's value when a frame starts */
  zeros: unknown[];
  /** locals by slot, for the debugger (name, type, 1-based declaration line) */
  locals: { name: string; type: CType; slot: number; line: number }[];
  /** 1-based lines that hold a statement (where a breakpoint can stop) */
  lines: number[];
  /** its decisions (an if, a loop's test, a linearised && / || / ?:), by index: the line each stands on */
  branches: number[];
}

/** What a run executed, for coverage: statement lines and decision outcomes, per function. */
export interface Coverage {
  line(fn: string, line: number): void;
  branch(fn: string, id: number, taken: boolean): void;
}

/** What a local declared without a value holds until something sets it (a read of it is an UninitRead). */
export const UNSET: unique symbol = Symbol('not set');

/** Stops a run: a construct or call the interpreter does not know, met while running. */
export class Unsupported extends Error {
  constructor(readonly what: string, readonly line: number) {
    super(`unsupported: ${what} at line ${line}`);
  }
}

/** A pointer to a local variable (or to an argument). */
export class LocalRef {
  constructor(
    readonly v: unknown[],
    readonly i: number,
    readonly name: string,
    /** elements past the local (C allows a pointer one past an object: a folded level's pudp++) */
    readonly past = 0,
  ) {}
  plus(n: number): LocalRef {
    return new LocalRef(this.v, this.i, this.name, this.past + n);
  }
}

/** A pointer to an entry slot of a page-table page (pte_t *ptep and kin). */
export class TablePtr implements Slot {
  constructor(readonly table: number, readonly idx: number, readonly level: Level, readonly g?: number) {}
  plus(n: number): TablePtr {
    return new TablePtr(this.table, this.idx + n, this.level, this.g);
  }
}

/** A pointer into an array of page pointers (struct page **pages). */
/** A pointer into the caller's pages[] array, which has `len` entries (nr_pages). */
export class ArrPtr {
  constructor(
    /** a local array's elements, or the caller's pages[] */
    readonly a: number[] | CallerPages,
    readonly off: number,
    readonly len = Infinity,
    /** a local array's name (else it is the caller's pages[]) */
    readonly local?: string,
  ) {}
  plus(n: number): ArrPtr {
    return new ArrPtr(this.a, this.off + n, this.len, this.local);
  }
  /** The array's element at `at` (undefined where nothing was stored). */
  get(at: number): unknown {
    return this.a instanceof CallerPages ? this.a.get(at) : this.a[at];
  }
  set(at: number, v: number): void {
    if (this.a instanceof CallerPages) this.a.set(at, v);
    else this.a[at] = v;
  }
}

/** A pointer to a field of a kernel object (&page->_refcount, &mm->write_protect_seq, &folio->_pincount). */
export class FieldRef {
  constructor(readonly obj: unknown, readonly field: string) {}
}

/** The task and the mm the GUP call runs in (current, current->mm). */
export class MmRef {
  readonly kind = 'mm';
}
export const CURRENT = { kind: 'task', mm: new MmRef() };

export class Frame {
  pc = 0;
  /** the line of the statement running (1-based) and its text (the step anchor) */
  line = 0;
  anchor = '';
  /** the op whose statement step was just recorded (a debugger stopped there before running it) */
  marked = -1;
  readonly v: unknown[];
  constructor(
    readonly fn: CompiledFn,
    /** caller's slot that receives the return value (-1: none) */
    readonly retSlot: number,
    /** the caller's line (the call site) */
    readonly callLine: number,
    /** its slots (a copy's), else every slot's starting value */
    v?: unknown[],
  ) {
    this.v = v ?? fn.zeros.slice();
  }

  /** This frame in a copy of its thread: its slots copied, where it stands the same. */
  copy(dup: Dup): Frame {
    const c = new Frame(this.fn, this.retSlot, this.callLine, dup.arr(this.v));
    c.pc = this.pc;
    c.line = this.line;
    c.anchor = this.anchor;
    c.marked = this.marked;
    return c;
  }
}

/**
 * Copies what a thread's values point into (frames' slots, local arrays, pages[], the file's
 * globals), each array once, so pointers that shared one share its copy. Everything else a
 * value can be (numbers, entries, table pointers, the task) never changes in place.
 */
export class Dup {
  // identity lists, not maps: a thread holds a handful of arrays (its frames' slots, a local array or two), and a copy is made for every state kept
  private readonly from: unknown[][] = [];
  private readonly to: unknown[][] = [];
  private readonly pagesFrom: CallerPages[] = [];
  private readonly pagesTo: CallerPages[] = [];

  /** The caller's pages[] once, however many pointers into it there are. */
  callerPages(a: CallerPages): CallerPages {
    const at = this.pagesFrom.indexOf(a);
    if (at >= 0) return this.pagesTo[at];
    const c = a.copy();
    this.pagesFrom.push(a);
    this.pagesTo.push(c);
    return c;
  }

  arr<T>(a: T[]): T[] {
    const at = this.from.indexOf(a);
    if (at >= 0) return this.to[at] as T[];
    // mostly numbers: copied at once, then the pointers among them redirected
    const c = a.slice();
    this.from.push(a);
    this.to.push(c);
    for (let i = 0; i < c.length; i++) {
      const x = c[i];
      if (typeof x === 'object' && x !== null) c[i] = this.value(x) as T;
    }
    return c;
  }

  value(x: unknown): unknown {
    if (typeof x !== 'object' || x === null) return x;
    if (x instanceof LocalRef) return new LocalRef(this.arr(x.v), x.i, x.name, x.past);
    if (x instanceof ArrPtr) return new ArrPtr(x.a instanceof CallerPages ? this.callerPages(x.a) : this.arr(x.a), x.off, x.len, x.local);
    if (x instanceof FieldRef) {
      const o = this.value(x.obj);
      return o === x.obj ? x : new FieldRef(o, x.field);
    }
    return x;
  }
}

/**
 * A kernel generator written as data (where it stands, what it has read): a Fiber drives it as it
 * drives a generator, and a copy of its thread takes a copy of it, which no generator allows.
 */
export abstract class DataSub implements Sub {
  value: unknown = undefined;
  constructor(public t: Thread) {}

  /** Run to the next scheduling point; true once it has its value. */
  abstract step(): boolean;

  /** Can it go on: whatever its last step waits for has happened (a sub that waits says what for). */
  ready(): boolean {
    return true;
  }

  /** This sub for a copy of its thread (its fields are values; a sub that points into the thread's arrays redirects that through `dup`). */
  copy(t: Thread, _dup: Dup): DataSub {
    const c = Object.assign(Object.create(Object.getPrototypeOf(this)) as DataSub, this);
    c.t = t;
    return c;
  }

  next(): IteratorResult<Sub | undefined, unknown> {
    return this.step() ? { done: true, value: this.value } : { done: false, value: undefined };
  }

  return(v: unknown): IteratorResult<Sub | undefined, unknown> {
    return { done: true, value: v };
  }

  throw(e: unknown): never {
    throw e;
  }

  [Symbol.iterator](): this {
    return this;
  }
}

/** What a run of the file's code knows besides the machine: the call, and the model it takes its era from. */
export interface RunCtx {
  call: GupCall;
  /** the version model whose reference rules (tail pins, grab, release) this era uses */
  model: VersionModel;
  /** the object the slow path calls back for grab (the source version itself) */
  self: VersionModel;
  /** FOLL_* values */
  foll: Record<string, number>;
  /** the level names the file's code uses (a folded one's upper name tests nothing) */
  levels: readonly Level[];
}

/**
 * The file's own global variables, as one actor's runs of its code left them: they last over its
 * GUP calls (a repeat sees what the first call wrote) and start afresh in each world the explorer
 * builds (a new actor). Keyed by the compiled program they belong to.
 */
const GLOBALS = new WeakMap<object, { of: object; v: unknown[] }>();
export function fileGlobals(k: object, of: object, init: readonly unknown[]): unknown[] {
  let g = GLOBALS.get(k);
  if (!g || g.of !== of) GLOBALS.set(k, (g = { of, v: init.slice() }));
  return g.v;
}

/** The actor k's globals, copied for k2 (a copy of its thread). */
function copyGlobals(k: object, k2: object, dup: Dup): void {
  const g = GLOBALS.get(k);
  if (g) GLOBALS.set(k2, { of: g.of, v: dup.arr(g.v) });
}

export class Thread {
  readonly stack: Frame[] = [];
  /** stop the run loop after this op: a scheduling point, a sub-generator to run, or the end */
  stop = false;
  done = false;
  value: unknown;
  /** a kernel generator to run (the slow path, a load in halves), and the slot of the top frame its value goes to (converted by subBack) */
  sub: Sub | undefined;
  subSlot = -1;
  subBack: ((v: unknown) => unknown) | undefined;
  /** the slow path ran, and how many pages the fast path had put in pages[] then */
  slowRan = false;
  fastNr = -1;
  /** VM_BUG_ON/WARN_ON conditions that fired */
  readonly warnings: string[] = [];
  /** pause after every statement (a debugger stepping), not only at scheduling points */
  every = false;
  /** where executed statements and decisions go (coverage runs only) */
  cov: Coverage | undefined = undefined;
  private readonly quietK: boolean;

  constructor(
    readonly k: Kern,
    readonly ctx: RunCtx,
  ) {
    this.quietK = 'quiet' in k;
  }

  get top(): Frame {
    return this.stack[this.stack.length - 1];
  }

  /** Start a kernel generator whose value goes to `slot` of the top frame (through `back`); the run loop stops for the driver to run it. */
  startSub(s: Sub, slot: number, back?: (v: unknown) => unknown): void {
    this.sub = s;
    this.subSlot = slot;
    this.subBack = back;
    this.stop = true;
  }

  /** The sub's value, where the op that started it wanted it (the frame is still the top one: nothing ran in between). */
  subReturn(v: unknown): void {
    this.top.v[this.subSlot] = this.subBack ? this.subBack(v) : v;
    this.subSlot = -1;
    this.subBack = undefined;
  }

  /**
   * This thread for another kernel context k2 (the explorer's copy of a world), paused where it
   * is: its frames, the arrays they point into and the actor's globals copied through dup. Not
   * while a kernel generator is under way (sub): that is no data.
   */
  copyFor(k2: Kern, dup: Dup): Thread {
    if (this.sub) throw new Error('a thread running a kernel generator cannot be copied');
    const c = new Thread(k2, this.ctx);
    copyGlobals(this.k, k2, dup);
    for (const f of this.stack) c.stack.push(f.copy(dup));
    c.stop = this.stop;
    c.done = this.done;
    c.value = dup.value(this.value);
    c.subSlot = this.subSlot;
    c.subBack = this.subBack;
    c.slowRan = this.slowRan;
    c.fastNr = this.fastNr;
    c.warnings.push(...this.warnings);
    c.every = this.every;
    c.cov = this.cov;
    c.rec = this.rec;
    return c;
  }

  /** Record a step that is not a scheduling point (statements, calls, returns): never while a rebuild is quiet. */
  note(f: Frame, event: StepEvent, extra?: Parameters<typeof step>[4]): void {
    const k = this.k;
    // the explorer only needs where the actor went: a statement's line, hashed as a number
    if (event === 'stmt' && k.sink instanceof HashSink) return this.mark(f.line);
    if (this.quietK && (k as KernCtx).quiet) return;
    if (!k.y) return;
    // the line goes only into a step that keeps it: the explorer's hash and a lens plan's function names take none (no copy of the fields per statement)
    const keepsLine = !(k.sink instanceof HashSink || k.sink instanceof FnSink);
    if (step(k, f.fn.name, f.anchor, event, keepsLine ? { ...extra, line: f.line } : extra, true) && this.every) this.stop = true;
  }

  /** Mix v into the explorer's hash of this actor's history, as note() records a statement there (and never where a quiet rebuild counts points). */
  mark(v: number): void {
    const k = this.k;
    if (this.quietK && (k as KernCtx).quiet) return;
    if (k.y && k.sink instanceof HashSink) k.sink.mark(v);
  }

  /**
   * Record a step that is a scheduling point (an entry load, a ref or pin, IRQ on/off, a
   * seqcount read); returns whether to pause there. `k.y` is read exactly once per point, as
   * the explorer's quiet rebuilds count them.
   */
  point(event: StepEvent, extra: NonNullable<Parameters<typeof step>[4]>): boolean {
    const k = this.k;
    if (!k.y) return false;
    const f = this.top;
    extra.line = f.line;
    return step(k, f.fn.name, f.anchor, event, extra, true);
  }

  /** A scheduling point inside an op: the run loop stops after the op. */
  sched(event: StepEvent, extra: NonNullable<Parameters<typeof step>[4]>): void {
    if (this.point(event, extra)) this.stop = true;
  }

  /** Call a compiled function: args already converted to its parameter types. */
  call(fn: CompiledFn, args: unknown[], retSlot: number, callLine: number): void {
    const nf = new Frame(fn, retSlot, callLine);
    for (let i = 0; i < fn.params.length; i++) nf.v[fn.params[i].slot] = args[i];
    nf.line = fn.line;
    nf.anchor = fn.name;
    this.stack.push(nf);
    const addr = frameNum(nf, 'addr') ?? frameNum(nf, 'start');
    const end = frameNum(nf, 'end');
    this.k.frames.push({ fn: fn.name, anchor: fn.name, addr: addr ?? 0, end: end ?? 0 });
    this.note(nf, 'call', { addr, end });
  }

  /** Return from the innermost function with a value. */
  ret(v: unknown): void {
    const f = this.stack.pop()!;
    this.note(f, 'return', { ret: typeof v === 'number' ? v : typeof v === 'bigint' ? Number(v) : undefined });
    this.k.frames.pop();
    if (this.stack.length === 0) {
      this.done = true;
      this.value = v;
      this.stop = true;
      return;
    }
    if (f.retSlot >= 0) this.top.v[f.retSlot] = v;
  }

  /**
   * Statement steps are recorded on this run (not a quiet rebuild, and the kernel thread
   * records): read once per run so a statement that records nothing costs one test.
   */
  rec = true;

  /** Run ops until a scheduling point, a sub-generator or the end. */
  run(): void {
    this.stop = false;
    const k = this.k as KernCtx;
    this.rec = this.quietK ? !k.quiet && (k as unknown as { record: boolean }).record : k.y;
    for (;;) {
      const f = this.stack[this.stack.length - 1];
      f.pc = f.fn.ops[f.pc](this, f);
      if (this.stop) return;
    }
  }
}

function frameNum(f: Frame, name: string): number | undefined {
  const p = f.fn.params.find((x) => x.name === name);
  if (!p) return undefined;
  const v = f.v[p.slot];
  return typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : undefined;
}

/** An entry value with the ghost generation dropped (what a local copy holds). */
export function ent(lo: number, hi: number): Ent {
  return { lo: lo >>> 0, hi: hi >>> 0 };
}
