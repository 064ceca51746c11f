/**
 * The GUP caller running a file's own code, as data: the calls made so far, and the one under
 * way (its interpreter thread, pages[], the frame depth it began at). It does what the model's
 * caller does through three generators (the repeat loop, guardedGup, runGup) step for step, so
 * the explorer can copy it into another world instead of running the file's code again from
 * the start. A load in halves and the slow path under it are data too (DataSub); while a kernel
 * generator runs under it (the end of a walk stopped past pages[]) it is not: copy() says so and
 * the explorer replays it.
 * Layer: pure emulator.
 */
import { returnOf, type Returned } from '../explore/invariants';
import { Fiber, stoppedGup, UninitRead, unwindTo, WalkOverrun, type GupCall, type Kern } from '../versions/kern';
import type { GupResult } from '../trace/types';
import { DataSub, Dup } from './runtime';
import { begin, runFailure, runResult, sourceRun, type SourceRun, type SourceVersion } from './source-version';

export class SourceCaller {
  private calls = 0;
  private run: SourceRun | undefined;
  /** the thread's sub under way: data (a load in halves), or a kernel generator in a Fiber of its own */
  private data: DataSub | undefined;
  private sub: Fiber<unknown> | undefined;
  /** the end of a call that stopped (stoppedGup) */
  private tail: Fiber<GupResult> | undefined;

  constructor(
    private readonly k: Kern,
    private readonly v: SourceVersion,
    private readonly call: GupCall,
    private readonly repeat: number,
    private readonly returned: Returned[],
  ) {}

  /** Run to the next scheduling point; true once every call has returned. */
  resume(): boolean {
    const k = this.k;
    for (;;) {
      if (this.tail) {
        if (!this.tail.resume()) return false;
        const res = this.tail.value!;
        this.tail = undefined;
        this.returnWith(res);
        continue;
      }
      if (this.sub || this.data) {
        let finished: boolean;
        try {
          finished = this.sub ? this.sub.resume() : this.data!.step();
        } catch (e) {
          this.sub = this.data = undefined;
          this.fail(e);
          continue;
        }
        if (!finished) return false;
        const got = this.sub ? this.sub.value : this.data!.value;
        this.sub = this.data = undefined;
        this.run!.t.subReturn(got);
      } else if (!this.run) {
        if (this.calls >= this.repeat) return true;
        this.run = sourceRun(this.v, k, this.call);
        try {
          begin(this.run);
        } catch (e) {
          this.fail(e);
          continue;
        }
      }
      const r = this.run!;
      const t = r.t;
      try {
        t.run();
      } catch (e) {
        this.fail(runFailure(r, e));
        continue;
      }
      if (t.done) {
        unwindTo(k, r.depth);
        this.run = undefined;
        this.returnWith(runResult(r));
        continue;
      }
      if (t.sub) {
        if (t.sub instanceof DataSub) this.data = t.sub;
        else this.sub = new Fiber(k, t.sub);
        t.sub = undefined;
        continue;
      }
      return false;
    }
  }

  /** The call under way threw: its frames are left; a walk past pages[] or a read of nothing set ends the call with a result, anything else goes on up. */
  private fail(e: unknown): void {
    unwindTo(this.k, this.run!.depth);
    this.run = undefined;
    if (!(e instanceof WalkOverrun) && !(e instanceof UninitRead)) throw e;
    this.tail = new Fiber(this.k, stoppedGup(this.k, e));
  }

  private returnWith(res: GupResult): void {
    this.returned.push(returnOf(this.k, this.call, res));
    this.calls++;
  }

  /** Can it go on: what its last step waits for (the slow path waits for mmap_lock) has happened. */
  ready(): boolean {
    return this.data ? this.data.ready() : true;
  }

  /**
   * This caller for another world's kernel context and returns list (k2's machine is a copy of
   * this one's), or undefined while a kernel generator runs under it.
   */
  copy(k2: Kern, returned: Returned[]): SourceCaller | undefined {
    if (this.sub || this.tail) return undefined;
    const c = new SourceCaller(k2, this.v, this.call, this.repeat, returned);
    c.calls = this.calls;
    k2.frames = this.k.frames.slice();
    k2.pagesCap = this.k.pagesCap;
    if (this.run) {
      const dup = new Dup();
      const t = this.run.t.copyFor(k2, dup);
      k2.interp = t;
      c.run = { ...this.run, t, pages: dup.value(this.run.pages) as SourceRun['pages'] };
      c.data = this.data?.copy(t, dup);
    }
    return c;
  }
}
