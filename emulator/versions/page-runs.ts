/**
 * The caller's pages[] as runs of consecutive page frames: a huge leaf's subpages are one run, so
 * a 1 GiB pin (262,144 entries in the kernel's array) costs one entry, and so does everything that
 * reads it back (the explorer's state hash, its checks, the release). Layer: pure emulator.
 */
export class PageRuns {
  /** the first frame of each run */
  readonly first: number[] = [];
  /** how many frames each run has */
  readonly count: number[] = [];
  /** entries in all (pages[] as far as it is filled) */
  length = 0;

  static of(pfns: readonly number[]): PageRuns {
    const r = new PageRuns();
    for (const p of pfns) r.push(p);
    return r;
  }

  /** pages[nr++] = pfn */
  push(pfn: number): void {
    this.pushRun(pfn, 1);
  }

  /** n pages from pfn on (record_subpages) */
  pushRun(pfn: number, n: number): void {
    if (n <= 0) return;
    const last = this.first.length - 1;
    if (last >= 0 && this.first[last] + this.count[last] === pfn) this.count[last] += n;
    else {
      this.first.push(pfn);
      this.count.push(n);
    }
    this.length += n;
  }

  /** Keep the first n entries (a walker that gives back what it recorded). */
  truncate(n: number): void {
    while (this.length > n) {
      const last = this.first.length - 1;
      const cut = Math.min(this.count[last], this.length - n);
      this.count[last] -= cut;
      this.length -= cut;
      if (this.count[last] === 0) {
        this.first.pop();
        this.count.pop();
      }
    }
  }

  /** These entries, then those. */
  concat(more: readonly number[]): PageRuns {
    const r = new PageRuns();
    this.first.forEach((p, i) => r.pushRun(p, this.count[i]));
    for (const p of more) r.push(p);
    return r;
  }

  /** f(pfn, n) for each piece of a run that ends where `end(pfn)` says (the end of pfn's compound page: a release or a generation a piece). */
  pieces(end: (pfn: number) => number, f: (pfn: number, n: number) => void): void {
    for (let r = 0; r < this.first.length; r++) {
      const stop = this.first[r] + this.count[r];
      for (let pfn = this.first[r]; pfn < stop; ) {
        const n = Math.min(stop - pfn, end(pfn) - pfn);
        f(pfn, n);
        pfn += n;
      }
    }
  }

  /** pages[] written out, entry by entry. */
  toArray(): number[] {
    const out = new Array<number>(this.length);
    let at = 0;
    for (let r = 0; r < this.first.length; r++) for (let k = 0; k < this.count[r]; k++) out[at++] = this.first[r] + k;
    return out;
  }
}
