/**
 * An actor's thread as data: where it stands (`pc`) and its locals, in an object the explorer
 * copies into another world. A generator cannot be copied, so a world of generator actors could
 * only be had again by running every actor from its start; a script is taken over as it is.
 * resume() is the body a generator would have, cut at its scheduling points: each case runs
 * from one point to the next and says where it goes on.
 * Layer: pure emulator.
 */
import type { Kern } from '../versions/kern';

export abstract class Script {
  pc = 0;
  /** a script it runs to the end before going on (a TLB flush, a wait for other CPUs) */
  sub: Script | undefined = undefined;

  constructor(public k: Kern) {}

  /** Run to the next scheduling point; true once finished. */
  abstract resume(): boolean;

  /** Can it go on: whatever its innermost wait waits for has happened. */
  ready(): boolean {
    return this.sub ? this.sub.ready() : true;
  }

  /** What a step of it that waits hands the explorer: a test of ready() on this very script. */
  protected until(): () => boolean {
    return () => this.ready();
  }

  /**
   * This thread for another world's kernel context. Its locals are shared: a script never
   * changes an array in place once a scheduling point has passed, and the rest are values.
   */
  copy(k: Kern): Script {
    const c = Object.assign(Object.create(Object.getPrototypeOf(this)) as Script, this);
    c.k = k;
    if (this.sub) c.sub = this.sub.copy(k);
    return c;
  }

  /** Run the sub-script to its end: false while it pauses (and this with it). */
  protected runSub(): boolean {
    if (!this.sub!.resume()) return false;
    this.sub = undefined;
    return true;
  }
}
