/**
 * The caller's pages[] as a file's own code fills it: runs of frames while the code writes it in
 * order (a 1 GiB leaf is one run, so a state's copy of it is a few numbers, not 262,144), an
 * array from the first write anywhere else. Layer: pure emulator.
 */
import { PageRuns } from '../versions/page-runs';

export class CallerPages {
  private runs = new PageRuns();
  /** every entry, once the code wrote out of order (or something that is not a frame) */
  private dense: unknown[] | undefined;

  /** entries up to the last one written */
  get length(): number {
    return this.dense ? this.dense.length : this.runs.length;
  }

  /** pages[i] (undefined where nothing was written) */
  get(i: number): unknown {
    if (this.dense) return this.dense[i];
    if (!(i >= 0 && i < this.runs.length)) return undefined;
    let at = i;
    for (let r = 0; r < this.runs.first.length; r++) {
      if (at < this.runs.count[r]) return this.runs.first[r] + at;
      at -= this.runs.count[r];
    }
    return undefined;
  }

  /** pages[i] = v */
  set(i: number, v: unknown): void {
    if (!this.dense) {
      if (i === this.runs.length && typeof v === 'number') return this.runs.push(v);
      if (this.get(i) === v) return;
      this.dense = this.runs.toArray();
    }
    this.dense[i] = v;
  }

  /** pages[i + k] = first + k for k below n: what record_subpages' loop leaves (one run) */
  fill(i: number, first: number, n: number): void {
    if (!this.dense && i === this.runs.length) return this.runs.pushRun(first, n);
    for (let k = 0; k < n; k++) this.set(i + k, first + k);
  }

  /** The first n entries as an array. */
  slice(n: number): number[] {
    return (this.dense ? this.dense.slice(0, n) : this.runs.toArray().slice(0, n)) as number[];
  }

  /** The first n entries as runs; undefined where one of them is not a frame (never written, or not a number). */
  runsTo(n: number): PageRuns | undefined {
    if (this.length < n) return undefined;
    if (this.dense) {
      const out = this.dense.slice(0, n);
      for (let i = 0; i < n; i++) if (typeof out[i] !== 'number') return undefined;
      return PageRuns.of(out as number[]);
    }
    const r = this.runs.concat([]);
    r.truncate(n);
    return r;
  }

  /** A copy for a copy of the thread (Dup). */
  copy(): CallerPages {
    const c = new CallerPages();
    c.runs = this.runs.concat([]);
    c.dense = this.dense?.slice();
    return c;
  }
}
