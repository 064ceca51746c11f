/**
 * Physical memory: a memmap of `struct page`s (refcount, mapcount, pincount, flags, compound
 * head/order) held in typed arrays indexed by frame, plus the contents of page-table pages.
 * The refcount is a 32-bit signed integer as in the kernel (atomic_t), so an overflow wraps
 * and shows. Every allocation bumps a generation number: a ghost that lets the invariants tell
 * "the same page" from "the same frame, reallocated".
 * Layer: pure emulator.
 */

export const PG = {
  head: 1 << 0,
  tail: 1 << 1,
  referenced: 1 << 2,
  pagetable: 1 << 3,
  free: 1 << 4,
  cma: 1 << 5,
  anon: 1 << 6,
  devmap: 1 << 7,
} as const;

export type PageFlag = keyof typeof PG;

/** An entry table page holds 512 entries of 64 bits as 1024 32-bit halves (lo at 2i, hi at 2i+1). */
export const TABLE_WORDS = 1024;

export interface PageInfo {
  pfn: number;
  refcount: number;
  mapcount: number;
  pincount: number;
  flags: PageFlag[];
  head: number;
  order: number;
  gen: number;
}

export class PhysMem {
  private cap = 0;
  refcount = new Int32Array(0);
  mapcount = new Int32Array(0);
  pincount = new Int32Array(0);
  flags = new Uint32Array(0);
  /** index of the compound head, or the page itself */
  head = new Int32Array(0);
  order = new Uint8Array(0);
  gen = new Uint32Array(0);
  tables: (Uint32Array | undefined)[] = [];
  /** 1 where this copy owns its table words; a clone shares them until its first write (copy-on-write) */
  private own = new Uint8Array(0);
  /** nonzero words in each frame's table (a scan can stop once it has seen them all) */
  wordsInUse = new Int32Array(0);
  /** told when a frame's old table words are dropped (the frame reallocated): the machine's ghost keeps what they held */
  onDropTable?: (pfn: number, words: Uint32Array) => void;
  /** order-free digest of every nonzero table word, kept current by setWord and alloc (the explorer hashes states with it) */
  tablesDigest = 0;
  /** frames handed out so far (bump allocator) */
  private top = 0;
  /** freed order-0 frames, reused last-in first-out so "freed then reallocated" happens */
  private freeList: number[] = [];
  private nextGen = 1;

  constructor(readonly basePfn: number, initialFrames = 1024) {
    this.grow(initialFrames);
  }

  get frames(): number {
    return this.top;
  }

  private grow(n: number): void {
    if (n <= this.cap) return;
    const own = this.own;
    this.memmapInto(this, this.cap, Math.max(n, this.cap * 2));
    this.own = new Uint8Array(this.cap);
    this.own.set(own);
  }

  /** `to` gets copies of this memmap's first `n` frames, with room for `cap`. */
  private memmapInto(to: PhysMem, n: number, cap: number): void {
    const copy = <T extends Int32Array | Uint32Array | Uint8Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(cap);
      b.set(a.subarray(0, n));
      return b;
    };
    to.refcount = copy(this.refcount, Int32Array);
    to.mapcount = copy(this.mapcount, Int32Array);
    to.pincount = copy(this.pincount, Int32Array);
    to.flags = copy(this.flags, Uint32Array);
    to.head = copy(this.head, Int32Array);
    to.order = copy(this.order, Uint8Array);
    to.gen = copy(this.gen, Uint32Array);
    to.wordsInUse = copy(this.wordsInUse, Int32Array);
    to.cap = cap;
  }

  idx(pfn: number): number {
    const i = pfn - this.basePfn;
    if (i < 0 || i >= this.top) throw new RangeError(`pfn 0x${pfn.toString(16)} is not in this machine's memory`);
    return i;
  }

  valid(pfn: number): boolean {
    const i = pfn - this.basePfn;
    return i >= 0 && i < this.top;
  }

  /** Allocate 2^order frames, naturally aligned; refcount 1 on the head (alloc_pages). */
  alloc(order = 0, as: 'data' | 'table' = 'data'): number {
    let i: number;
    if (order === 0 && this.freeList.length > 0) {
      i = this.freeList.pop()!;
    } else {
      const n = 2 ** order;
      const absBase = this.basePfn + this.top;
      const pad = (n - (absBase % n)) % n;
      // frames skipped for alignment go to the free list
      for (let k = 0; k < pad; k++) this.freeFrame(this.top + k);
      i = this.top + pad;
      this.top = i + n;
      this.grow(this.top);
    }
    const n = 2 ** order;
    const gen = this.nextGen++;
    for (let k = 0; k < n; k++) {
      this.flags[i + k] = 0;
      this.refcount[i + k] = 0;
      this.mapcount[i + k] = 0; // the kernel stores mapcount-1; the model stores the count itself
      this.pincount[i + k] = 0;
      this.head[i + k] = i;
      this.order[i + k] = order;
      this.gen[i + k] = gen;
      if (order > 0) this.flags[i + k] |= k === 0 ? PG.head : PG.tail;
    }
    this.refcount[i] = 1;
    const old = this.tables[i];
    if (old) {
      for (let w = 0; w < TABLE_WORDS; w++) if (old[w] !== 0) this.tablesDigest ^= wordHash(i, w, old[w]);
      this.onDropTable?.(this.basePfn + i, old);
    }
    this.wordsInUse[i] = 0;
    if (as === 'table') {
      this.flags[i] |= PG.pagetable;
      this.tables[i] = new Uint32Array(TABLE_WORDS);
      this.own[i] = 1;
    } else {
      this.tables[i] = undefined;
    }
    return this.basePfn + i;
  }

  private freeFrame(i: number): void {
    this.flags[i] = PG.free;
    this.head[i] = i;
    this.order[i] = 0;
    this.freeList.push(i);
  }

  /** Return a page (all its frames) to the allocator. A freed page table keeps its stale words. */
  free(pfn: number): void {
    const i = this.idx(pfn);
    const n = 2 ** this.order[i];
    for (let k = n - 1; k >= 0; k--) {
      this.refcount[i + k] = 0;
      this.freeFrame(i + k);
    }
  }

  isFree(pfn: number): boolean {
    return (this.flags[this.idx(pfn)] & PG.free) !== 0;
  }

  headPfn(pfn: number): number {
    return this.basePfn + this.head[this.idx(pfn)];
  }

  table(pfn: number): Uint32Array {
    const t = this.tables[this.idx(pfn)];
    if (!t) throw new RangeError(`pfn 0x${pfn.toString(16)} holds no page table`);
    return t;
  }

  /** Write one 32-bit word of a table page (copying it first if a clone still shares it). */
  setWord(pfn: number, word: number, v: number): void {
    const i = this.idx(pfn);
    let t = this.tables[i];
    if (!t) throw new RangeError(`pfn 0x${pfn.toString(16)} holds no page table`);
    if (!this.own[i]) {
      t = this.tables[i] = t.slice();
      this.own[i] = 1;
    }
    const old = t[word];
    if (old === v) return;
    if (old !== 0) this.tablesDigest ^= wordHash(i, word, old);
    else this.wordsInUse[i]++;
    if (v !== 0) this.tablesDigest ^= wordHash(i, word, v);
    else this.wordsInUse[i]--;
    t[word] = v;
  }

  setFlag(pfn: number, f: PageFlag, on = true): void {
    const i = this.idx(pfn);
    this.flags[i] = on ? this.flags[i] | PG[f] : this.flags[i] & ~PG[f];
  }

  hasFlag(pfn: number, f: PageFlag): boolean {
    return (this.flags[this.idx(pfn)] & PG[f]) !== 0;
  }

  info(pfn: number): PageInfo {
    const i = this.idx(pfn);
    const flags = (Object.keys(PG) as PageFlag[]).filter((f) => (this.flags[i] & PG[f]) !== 0);
    return {
      pfn,
      refcount: this.refcount[i],
      mapcount: this.mapcount[i],
      pincount: this.pincount[i],
      flags,
      head: this.basePfn + this.head[i],
      order: this.order[i],
      gen: this.gen[i],
    };
  }

  /**
   * An independent copy. The memmap is copied (only the frames in use); table pages are shared
   * until either side writes one, so copying a machine costs little more than its memmap.
   */
  clone(): PhysMem {
    const c = Object.create(PhysMem.prototype) as PhysMem;
    Object.assign(c, this);
    const n = this.top;
    // a little room: a copy that allocates a page or two (COW, a new table) need not regrow
    this.memmapInto(c, n, n + 8);
    c.tables = this.tables.slice(0, n);
    c.own = new Uint8Array(c.cap);
    this.own.fill(0);
    c.freeList = this.freeList.slice();
    return c;
  }
}

/** One word's share of tablesDigest: a well-mixed function of (frame, word, value). */
function wordHash(frame: number, word: number, v: number): number {
  let h = Math.imul(frame * TABLE_WORDS + word + 1, 0x9e3779b1) ^ Math.imul(v, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return (h ^ (h >>> 15)) >>> 0;
}
