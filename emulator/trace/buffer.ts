/**
 * A columnar store of steps: a traced walk over a GiB makes a million steps, and a million live
 * objects cost more in garbage collection than the walk itself. Steps are copied into typed
 * arrays as they come and rebuilt on read. Strings are interned: a step stores small ids.
 * Layer: pure emulator.
 */
import type { Level } from '../arch/types';
import type { Step, StepEvent } from './types';

export interface StepSink {
  push(s: Step): unknown;
}

/**
 * A sink that keeps only which kernel functions ran (a lens plan asks which scenario executes a
 * function): no step is built, whatever the walk's length.
 */
export class FnSink implements StepSink {
  readonly fns = new Set<string>();
  push(s: Step): void {
    this.fns.add(s.fn);
  }
}

const LEVELS: (Level | undefined)[] = [undefined, 'pgd', 'p4d', 'pud', 'pmd', 'pte'];

function levelId(l: Level | undefined): number {
  switch (l) {
    case 'pgd': return 1;
    case 'p4d': return 2;
    case 'pud': return 3;
    case 'pmd': return 4;
    case 'pte': return 5;
    default: return 0;
  }
}

export class TraceBuffer implements StepSink {
  private n = 0;
  private cap = 0;
  private strings: string[] = [];
  private ids = new Map<string, number>();
  private actor = new Uint16Array(0);
  private fn = new Uint16Array(0);
  private anchor = new Uint16Array(0);
  private event = new Uint16Array(0);
  private note = new Int32Array(0);
  private cpu = new Uint8Array(0);
  private depth = new Uint8Array(0);
  private level = new Uint8Array(0);
  private has = new Uint16Array(0);
  private lo = new Uint32Array(0);
  private hi = new Uint32Array(0);
  private addr = new Float64Array(0);
  private end = new Float64Array(0);
  private pfn = new Float64Array(0);
  private ref = new Float64Array(0);
  private pin = new Float64Array(0);
  private nr = new Float64Array(0);
  private ret = new Float64Array(0);
  private line = new Int32Array(0);
  private until = new Map<number, () => boolean>();

  /** `expect`: how many steps to make room for at once (a GiB walk makes a million) */
  constructor(expect = 0) {
    if (expect > 0) this.grow(expect);
  }

  get length(): number {
    return this.n;
  }

  private grow(want = 0): void {
    const cap = Math.max(1024, this.cap * 2, want);
    const g = <T extends { length: number; set(a: T): void }>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a);
      return b;
    };
    this.actor = g(this.actor, Uint16Array);
    this.fn = g(this.fn, Uint16Array);
    this.anchor = g(this.anchor, Uint16Array);
    this.event = g(this.event, Uint16Array);
    this.note = g(this.note, Int32Array);
    this.cpu = g(this.cpu, Uint8Array);
    this.depth = g(this.depth, Uint8Array);
    this.level = g(this.level, Uint8Array);
    this.has = g(this.has, Uint16Array);
    this.lo = g(this.lo, Uint32Array);
    this.hi = g(this.hi, Uint32Array);
    this.addr = g(this.addr, Float64Array);
    this.end = g(this.end, Float64Array);
    this.pfn = g(this.pfn, Float64Array);
    this.ref = g(this.ref, Float64Array);
    this.pin = g(this.pin, Float64Array);
    this.nr = g(this.nr, Float64Array);
    this.ret = g(this.ret, Float64Array);
    this.line = g(this.line, Int32Array);
    this.cap = cap;
  }

  // a small direct-mapped cache in front of the map: step strings are mostly the same literals
  private cacheK: string[] = new Array(256).fill('');
  private cacheV = new Int32Array(256);

  private id(s: string): number {
    const h = (s.length * 31 + s.charCodeAt(0) + s.charCodeAt(s.length >> 1) * 7) & 255;
    if (this.cacheK[h] === s) return this.cacheV[h];
    let i = this.ids.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.ids.set(s, i);
    }
    this.cacheK[h] = s;
    this.cacheV[h] = i;
    return i;
  }

  // one-entry caches: the actor and event of consecutive steps are usually the same
  private lastActor = '';
  private lastActorId = 0;
  private lastFn = '';
  private lastFnId = 0;

  push(s: Step): number {
    return this.record(s.actor, s.cpu, s.fn, s.anchor, s.event, s.depth, s);
  }

  /** push without building a Step first (the tracer's hot path) */
  /** the common head of every step; returns its index */
  private head(actor: string, cpu: number, fn: string, anchor: string, event: StepEvent, depth: number): number {
    if (this.n === this.cap) this.grow();
    const i = this.n++;
    if (actor !== this.lastActor) {
      this.lastActor = actor;
      this.lastActorId = this.id(actor);
    }
    if (fn !== this.lastFn) {
      this.lastFn = fn;
      this.lastFnId = this.id(fn);
    }
    this.actor[i] = this.lastActorId;
    this.fn[i] = this.lastFnId;
    this.anchor[i] = this.id(anchor);
    this.event[i] = this.id(event);
    this.cpu[i] = cpu;
    this.depth[i] = depth;
    return i;
  }

  /** an entry step, positional: the tracer's hottest call needs no extra object (loads, checks) */
  recordEntry(actor: string, cpu: number, fn: string, anchor: string, event: StepEvent, depth: number, level: Level, lo: number, hi: number, addr: number): void {
    const i = this.head(actor, cpu, fn, anchor, event, depth);
    this.lo[i] = lo;
    this.hi[i] = hi;
    this.addr[i] = addr;
    this.level[i] = levelId(level);
    this.has[i] = 1 | 2 | 8;
  }

  /** a page step, positional: a reference taken (ref) or a page recorded (nr) */
  recordPage(actor: string, cpu: number, fn: string, anchor: string, event: StepEvent, depth: number, pfn: number, ref: number | undefined, nr: number | undefined, addr: number): void {
    const i = this.head(actor, cpu, fn, anchor, event, depth);
    let has = 8 | 32;
    this.addr[i] = addr;
    this.pfn[i] = pfn;
    if (ref !== undefined) {
      has |= 64;
      this.ref[i] = ref;
    }
    if (nr !== undefined) {
      has |= 256;
      this.nr[i] = nr;
    }
    this.level[i] = 0;
    this.has[i] = has;
  }

  record(actor: string, cpu: number, fn: string, anchor: string, event: StepEvent, depth: number, s?: Partial<Step>): number {
    const i = this.head(actor, cpu, fn, anchor, event, depth);
    // only the fields a step has are written; `has` says which (bit per field)
    let has = 0;
    if (s) {
      if (s.lo !== undefined) { has |= 1; this.lo[i] = s.lo; }
      if (s.hi !== undefined) { has |= 2; this.hi[i] = s.hi; }
      if (s.slow) has |= 4;
      if (s.addr !== undefined) { has |= 8; this.addr[i] = s.addr; }
      if (s.end !== undefined) { has |= 16; this.end[i] = s.end; }
      if (s.pfn !== undefined) { has |= 32; this.pfn[i] = s.pfn; }
      if (s.ref !== undefined) { has |= 64; this.ref[i] = s.ref; }
      if (s.pin !== undefined) { has |= 128; this.pin[i] = s.pin; }
      if (s.nr !== undefined) { has |= 256; this.nr[i] = s.nr; }
      if (s.ret !== undefined) { has |= typeof s.ret === 'boolean' ? 512 | 1024 : 512; this.ret[i] = Number(s.ret); }
      if (s.note !== undefined) { has |= 2048; this.note[i] = this.id(s.note); }
      if (s.line !== undefined) { has |= 4096; this.line[i] = s.line; }
      if (s.until) this.until.set(i, s.until);
    }
    this.level[i] = levelId(s?.level);
    this.has[i] = has;
    return this.n;
  }
  at(i: number): Step {
    if (i < 0 || i >= this.n) throw new RangeError(`no step ${i}`);
    const S = this.strings;
    const s: Step = { actor: S[this.actor[i]], cpu: this.cpu[i], fn: S[this.fn[i]], anchor: S[this.anchor[i]], event: S[this.event[i]] as StepEvent, depth: this.depth[i] };
    const h = this.has[i];
    const level = LEVELS[this.level[i]];
    if (level) s.level = level;
    if (h & 1) s.lo = this.lo[i];
    if (h & 2) s.hi = this.hi[i];
    if (h & 8) s.addr = this.addr[i];
    if (h & 16) s.end = this.end[i];
    if (h & 32) s.pfn = this.pfn[i];
    if (h & 64) s.ref = this.ref[i];
    if (h & 128) s.pin = this.pin[i];
    if (h & 256) s.nr = this.nr[i];
    if (h & 512) s.ret = h & 1024 ? this.ret[i] === 1 : this.ret[i];
    if (h & 2048) s.note = S[this.note[i]];
    if (h & 4) s.slow = true;
    if (h & 4096) s.line = this.line[i];
    const u = this.until.get(i);
    if (u) s.until = u;
    return s;
  }

  toArray(): Step[] {
    return Array.from({ length: this.n }, (_, i) => this.at(i));
  }
}
