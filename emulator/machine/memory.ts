/**
 * Physical memory: a memmap of `struct page`s (refcount, mapcount, pincount, flags, compound
 * head/order), copy-on-write in chunks of frames, plus the contents of page-table pages.
 * Refcounts and pincounts are 32-bit signed integers as in the kernel (atomic_t): writers wrap
 * them (`| 0`), so an overflow shows. Every allocation bumps a generation number: a ghost that lets the invariants tell
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
  /** a hugetlbfs page (the 1 GiB pud pages of the scenarios), not a THP */
  hugetlb: 1 << 8,
  /** ghost: another process's write fault reused this page in place (do_wp_page), so a reference taken on it before sees that process's writes */
  cowReused: 1 << 9,
  /** a secretmem page (memfd_secret, 5.14): GUP refuses it */
  secretmem: 1 << 10,
  /** a page-cache page of a regular file (not anon, not shmem) */
  file: 1 << 11,
  /** a PCI peer-to-peer DMA page (device memory another device can reach): 6.2+ GUP wants FOLL_PCI_P2PDMA for it */
  p2pdma: 1 << 12,
  /** device memory whose dev_pagemap is being torn down: get_dev_pagemap finds none */
  pgmapGone: 1 << 13,
  /** the shared zero page: what never-written anon memory maps, read-only (special where the arch has the bit) */
  zero: 1 << 14,
} as const;

export type PageFlag = keyof typeof PG;

/** An entry table page holds 512 entries of 64 bits as 1024 32-bit halves (lo at 2i, hi at 2i+1). */
export const TABLE_WORDS = 1024;

/**
 * A table page's words, in 16 chunks of 64 (stored as int32, read back unsigned). Copies of a
 * machine share a table chunk by chunk: a write copies the chunk list and the one chunk it
 * touches, not 4 KiB.
 */
type TableWords = number[][];

/** Table words frozen at one moment (PhysMem.freezeTables). */
export interface FrozenTables {
  /** a table's words as they were (chunks of 64, int32); undefined for a frame that held no table */
  chunks(pfn: number): readonly (readonly number[])[] | undefined;
}
export const CHUNK_SHIFT = 6;
export const CHUNK_MASK = 63;
const CHUNKS = TABLE_WORDS >> CHUNK_SHIFT;
/** own[] bit: this copy's chunk list is its own (bits 0..15: that chunk is) */
const OWN_LIST = 1 << CHUNKS;
/** every fresh table's chunks, until written (never written itself: a write copies a chunk it does not own) */
const ZERO_CHUNK: number[] = Array.from({ length: CHUNK_MASK + 1 }, () => 0);
const ZERO_TABLE: TableWords = Array.from({ length: CHUNKS }, () => ZERO_CHUNK);

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

/** A frame's fields in the memmap, by number (PhysMem.at / put / add). */
export const F = {
  refcount: 0,
  mapcount: 1,
  pincount: 2,
  flags: 3,
  /** index of the compound head, or the page itself */
  head: 4,
  order: 5,
  /** the ghost allocation generation */
  gen: 6,
  /** nonzero words in the frame's table (a scan can stop once it has seen them all) */
  used: 7,
} as const;
export type Field = (typeof F)[keyof typeof F];

/** frames per memmap chunk: a chunk holds every field of 64 frames, field f of frame j at (f << MAP_SHIFT) | j */
const MAP_SHIFT = 6;
/** frames per memmap chunk (PhysMem.quietChunk answers for a chunk) */
export const FRAMES_PER_CHUNK = 1 << MAP_SHIFT;
const MAP_MASK = (1 << MAP_SHIFT) - 1;
const MAP_FIELDS = 8;
/** every chunk past the frames handed out, until written (never written itself: a write copies a chunk it does not own) */
const ZERO_MAP: number[] = Array.from({ length: MAP_FIELDS << MAP_SHIFT }, () => 0);
/** the pages kept ahead by a copy of a memory that kept none (never written: allocAhead makes a map of its own) */
const EMPTY_AHEAD: ReadonlyMap<number, number[]> = new Map();
/** what a memory owns of its table pages before it writes one (never written itself: ownOwn makes a map of its own) */
const NONE_OWNED: Map<number, number> = new Map();
/** what a memory owns of its memmap chunks while its chunk list is shared (never written itself) */
const NONE_MINE = new Uint8Array(0);

export class PhysMem {
  /**
   * The memmap, copy-on-write in chunks of 64 frames: a copy of the machine shares every chunk
   * until one side writes it (the explorer copies a machine for each state it rebuilds, and a
   * 1 GiB layout has 262,144 frames). Plain arrays of small integers (V8 keeps them unboxed).
   */
  private map!: number[][];
  /** which chunks this copy owns (may write in place) */
  private mine!: Uint8Array;
  /** the chunk list itself is shared with a copy (and so is every chunk): copied, owning none, at the first write (a copy costs nothing until then) */
  private mapShared!: boolean;
  /**
   * chunkOp's results, shared by a memory and all its copies and gone with them (the zero chunk
   * lives for ever: a module-wide table would keep every result made from it)
   */
  private ops!: ChunkOps;
  /** wholeChunk's results, shared the same way, by the source written (the chunk, for a clear) */
  private writes!: WeakMap<object, Map<number, TableWrite>>;
  /** wordsOf's copies, shared the same way, by the first chunk they were read from */
  private kept!: WeakMap<number[], KeptWords[]>;
  /**
   * Order-free digest of every nonzero memmap field, kept current by put() once enableDigest()
   * has been called: the explorer hashes a state in O(1) instead of reading every frame (a replay
   * never asks, and building a 1 GiB layout writes two million fields).
   */
  mapDigest = 0;
  private digesting = false;
  /** digests not kept (pauseDigests): a scratch copy a rebuild replays writes on */
  private paused = false;
  private tables!: (TableWords | undefined)[];
  /** the tables array itself is shared with a copy (most frames hold no table, and a 1 GiB layout has 262,144 of them): copied at the first change */
  private tablesShared = false;
  /** which of a table's chunks (and its chunk list) this copy owns, by frame (absent: none); a clone shares them until its first write (copy-on-write). NONE_OWNED until the first. */
  private own!: Map<number, number>;
  /** told when a frame's old table words are dropped (the frame reallocated): the machine whose ghost keeps what they held */
  onDropTable?: { rememberTable(pfn: number, words: Uint32Array): void };
  /** order-free digest of every nonzero table word, kept current by setWord and alloc (the explorer hashes states with it) */
  tablesDigest = 0;
  /** frames handed out so far (bump allocator) */
  private top = 0;
  /**
   * freed order-0 frames, reused last-in first-out so "freed then reallocated" happens: a stack of
   * cells that never change, so a copy shares it whole and a push or pop makes no copy
   */
  private freeTop!: FreeCell | null;
  private nextGen = 1;
  /**
   * Every flag some frame may have (a superset): those put one field at a time, and the
   * compound and free flags the chunk ops write (they write no other). A check for a rare flag
   * (cowReused) over a 1 GiB page asks this first.
   */
  private flagsSeen = PG.head | PG.tail | PG.free;

  /** A memory of `initialFrames` frames from basePfn; or (`from`) a copy of that one (clone: fields set here, not by initialisers, as a copy is made for every state the explorer keeps). */
  constructor(readonly basePfn: number, initialFrames = 1024, from?: PhysMem) {
    if (from) {
      // every memmap chunk and table page is shared from now on: neither side owns any, and each copies what it writes
      this.map = from.map;
      this.mine = NONE_MINE;
      this.mapShared = from.mapShared = true;
      this.ops = from.ops;
      this.writes = from.writes;
      this.kept = from.kept;
      this.mapDigest = from.mapDigest;
      this.digesting = from.digesting;
      this.paused = from.paused;
      this.tables = from.tables;
      this.tablesShared = from.tablesShared = true;
      this.own = from.own = NONE_OWNED;
      this.tablesDigest = from.tablesDigest;
      this.top = from.top;
      this.freeTop = from.freeTop;
      this.nextGen = from.nextGen;
      this.flagsSeen = from.flagsSeen;
      this.ahead = from.ahead.size ? new Map([...from.ahead].map(([o, l]) => [o, l.slice()])) : (EMPTY_AHEAD as Map<number, number[]>);
      return;
    }
    this.map = [];
    this.mine = NONE_MINE;
    this.mapShared = false;
    this.ops = new WeakMap();
    this.writes = new WeakMap();
    this.kept = new WeakMap();
    this.tables = [];
    this.own = NONE_OWNED;
    this.freeTop = null;
    this.ahead = new Map();
    this.grow(initialFrames);
  }

  get frames(): number {
    return this.top;
  }

  /** Frame i's field f. */
  at(f: Field, i: number): number {
    return this.map[i >> MAP_SHIFT][(f << MAP_SHIFT) | (i & MAP_MASK)];
  }

  /** Set frame i's field f (copying its chunk first if a copy still shares it). */
  put(f: Field, i: number, v: number): void {
    const c = i >> MAP_SHIFT;
    const j = (f << MAP_SHIFT) | (i & MAP_MASK);
    if (this.map[c][j] === v) return;
    if (f === F.flags) this.flagsSeen |= v;
    this.write(this.ownChunk(c), c, j, v);
  }

  /** Add d to frame i's field f. */
  add(f: Field, i: number, d: number): void {
    this.put(f, i, this.at(f, i) + d);
  }

  /** Every flag some frame of i..i+n-1 has (a 1 GiB page asked about one flag reads its 4,096 chunks, not its 262,144 frames). */
  flagsIn(i: number, n: number): number {
    let out = 0;
    for (let k = i; k < i + n; ) {
      const c = k >> MAP_SHIFT;
      const j0 = k & MAP_MASK;
      const cnt = Math.min(i + n - k, MAP_MASK + 1 - j0);
      if (cnt === MAP_MASK + 1) out |= this.chunkFact(c, 'flags', chunkFlags);
      else for (let j = j0; j < j0 + cnt; j++) out |= this.map[c][(F.flags << MAP_SHIFT) | j];
      k += cnt;
    }
    return out;
  }

  /** Chunk c holds only frames with no count of their own: free, page tables, or tails with refcount and pincount zero (a huge page's body). */
  quietChunk(c: number): boolean {
    return (c + 1) << MAP_SHIFT <= this.top && this.chunkFact(c, 'quiet', chunkQuiet) === 1;
  }

  /** fact(chunk c), once per chunk that can no longer change (one this copy shares), every time for one it writes in place. */
  private chunkFact(c: number, key: string, fact: (chunk: number[]) => number): number {
    const chunk = this.map[c];
    if (!this.mapShared && this.mine[c] !== 0) return fact(chunk);
    let facts = CHUNK_FACTS.get(chunk);
    if (!facts) CHUNK_FACTS.set(chunk, (facts = new Map()));
    let v = facts.get(key);
    if (v === undefined) facts.set(key, (v = fact(chunk)));
    return v;
  }

  /** The frames whose memmap may differ from another copy's (chunks not shared with it): all others are the same. */
  *changedFrames(other: PhysMem): Generator<number> {
    for (let c = 0; c < this.map.length; c++) {
      if (c < other.map.length && this.map[c] === other.map[c]) continue;
      const end = Math.min((c + 1) << MAP_SHIFT, this.top);
      for (let i = c << MAP_SHIFT; i < end; i++) yield i;
    }
  }

  /** Both digests are current (kept, and not paused): the memmap and the tables can be known by them. */
  get digestsKept(): boolean {
    return this.digesting && !this.paused;
  }

  /** Keep mapDigest from now on (this memory and its copies). */
  enableDigest(): void {
    if (this.digesting) return;
    this.mapDigest = this.digestFromScratch();
    this.digesting = true;
  }

  /**
   * Stop keeping both digests: this memory is a scratch copy a rebuild replays a GUP caller's
   * turns on, whose writes go nowhere (the state's own copy has them, digests and all).
   */
  pauseDigests(): void {
    this.paused = true;
  }

  /** The table words' digest from scratch (a test holds tablesDigest to it). */
  tablesDigestFromScratch(): number {
    let h = 0;
    for (let i = 0; i < this.top; i++) {
      const t = this.tables[i];
      if (!t) continue;
      for (let c = 0; c < CHUNKS; c++) {
        const chunk = t[c];
        if (chunk === ZERO_CHUNK) continue;
        for (let j = 0; j <= CHUNK_MASK; j++) if (chunk[j] !== 0) h ^= wordHash(i, (c << CHUNK_SHIFT) + j, chunk[j] >>> 0);
      }
    }
    return h;
  }

  /** The memmap digest from scratch (a test holds mapDigest to it). */
  digestFromScratch(): number {
    let h = 0;
    for (let c = 0; c < this.map.length; c++) {
      const chunk = this.map[c];
      for (let j = 0; j < chunk.length; j++) h ^= mapHash(j, c, chunk[j]);
    }
    return h;
  }

  /** Chunk c, this copy's own from now on. */
  private ownChunk(c: number): number[] {
    if (this.mapShared) this.ownMap();
    if (this.mine[c] === 0) {
      this.map[c] = this.map[c].slice();
      this.mine[c] = 1;
    }
    return this.map[c];
  }

  /** The chunk list, this copy's own from now on (its chunks still shared: it owns none of them). */
  private ownMap(): void {
    this.map = this.map.slice();
    this.mine = new Uint8Array(this.map.length);
    this.mapShared = false;
  }

  /** The table ownership map, a real one from now on (a copy starts with none). */
  private ownOwn(): Map<number, number> {
    if (this.own === NONE_OWNED) this.own = new Map();
    return this.own;
  }

  /** One field of an owned chunk, the digest kept. */
  private write(chunk: number[], c: number, j: number, v: number): void {
    const old = chunk[j];
    if (old === v) return; // a fresh page's zero fields, mostly: no digest to move
    if (this.digesting && !this.paused) this.mapDigest ^= mapHash(j, c, old) ^ mapHash(j, c, v);
    chunk[j] = v;
  }

  /** Some frame may have flag f (no frame has it where this says no). */
  mayHave(f: PageFlag): boolean {
    return (this.flagsSeen & PG[f]) !== 0;
  }

  /** Room for `more` frames beyond those handed out, in one step (a builder about to map 1 GiB says so, rather than doubling its way there). */
  reserve(more: number): void {
    this.grow(this.top + more);
  }

  /** Room for n frames: chunks of zeros (shared until written). */
  private grow(n: number): void {
    const want = (n + MAP_MASK) >> MAP_SHIFT;
    if (want <= this.map.length) return;
    if (this.mapShared) this.ownMap();
    const mine = new Uint8Array(want);
    mine.set(this.mine);
    while (this.map.length < want) this.map.push(ZERO_MAP);
    this.mine = mine;
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

  /** pages allocated ahead, by order, handed out by alloc() of that order first (lowest frame first) */
  private ahead!: Map<number, number[]>;

  /**
   * Allocate `count` pages of this order now, before anything else, and keep them for the next
   * alloc()s of that order: a 1 GiB page allocated after the first page table would leave a
   * quarter of a million frames of alignment in the memmap, copied with every machine.
   */
  allocAhead(order: number, count: number): void {
    // room for them and a few tables after them, in one step
    this.reserve((count << order) + 64);
    const got: number[] = [];
    for (let k = 0; k < count; k++) got.push(this.alloc(order));
    if (this.ahead === EMPTY_AHEAD) this.ahead = new Map();
    this.ahead.set(order, [...(this.ahead.get(order) ?? []), ...got]);
  }

  /** How many pages of this order allocAhead keeps still. */
  keptAhead(order: number): number {
    return this.ahead.get(order)?.length ?? 0;
  }

  /** Allocate 2^order frames, naturally aligned; refcount 1 on the head (alloc_pages). */
  alloc(order = 0, as: 'data' | 'table' = 'data'): number {
    const kept = as === 'data' ? this.ahead.get(order) : undefined;
    if (kept?.length) return kept.shift()!;
    let i: number;
    const top = this.freeTop;
    if (order === 0 && top) {
      i = top.down ? top.hi - 1 : top.lo;
      this.freeTop = rest(top);
    } else {
      const n = 1 << order;
      const absBase = this.basePfn + this.top;
      const pad = (n - (absBase % n)) % n;
      // room first: a write past the arrays' end would leave them holey (slow for every later access)
      this.grow(this.top + pad + n);
      // frames skipped for alignment go to the free list as if freed one after another (one cell, the last out first), their fields a chunk at a time
      if (pad > 0) {
        this.framesOp(this.top, pad, OP_FREE, 0, 0, 0, (chunk, c, j0, cnt) => freeFrames(chunk, c, j0, cnt));
        this.freeTop = { lo: this.top, hi: this.top + pad, down: true, next: this.freeTop };
      }
      i = this.top + pad;
      this.top = i + n;
    }
    const n = 1 << order;
    const gen = this.nextGen++;
    // chunk by chunk (a 1 GiB page is 4,096 of them): each frame a fresh struct page of the compound
    this.framesOp(i, n, OP_ALLOC, order, i, gen, (chunk, c, j0, cnt, k0) => allocFrames(chunk, c, j0, cnt, k0, order, i, gen));
    if (this.tables[i]) {
      const old = this.words(this.basePfn + i);
      if (!this.paused) for (let w = 0; w < TABLE_WORDS; w++) if (old[w] !== 0) this.tablesDigest ^= wordHash(i, w, old[w]);
      this.onDropTable?.rememberTable(this.basePfn + i, old);
    }
    this.put(F.used, i, 0);
    if (this.own.has(i)) this.own.delete(i);
    if (as === 'table') {
      this.put(F.flags, i, this.at(F.flags, i) | PG.pagetable);
      this.ownTables()[i] = ZERO_TABLE.slice();
    } else if (this.tables[i] !== undefined) {
      this.ownTables()[i] = undefined;
    }
    return this.basePfn + i;
  }

  /** Return a page (all its frames) to the allocator. A freed page table keeps its stale words. */
  free(pfn: number): void {
    const i = this.idx(pfn);
    const n = 1 << this.at(F.order, i);
    if (n === 1) {
      // a page of its own, in its chunk (nothing worth remembering for the copies that free it again)
      const c = i >> MAP_SHIFT;
      this.moveDigest(freeFrames(this.ownChunk(c), c, i & MAP_MASK, 1));
    } else {
      // a compound page a chunk at a time (a THP is 512 frames, freed again on every rebuild that frees it)
      this.framesOp(i, n, OP_FREE, 0, 0, 0, (chunk, c, j0, cnt) => freeFrames(chunk, c, j0, cnt));
    }
    // onto the free list: its first frame out first
    this.freeTop = { lo: i, hi: i + n, down: false, next: this.freeTop };
  }

  /**
   * Frames i..i+n-1, each a page of its own mapped once, lose that mapping and its reference
   * (khugepaged letting 512 small pages go): mapcount and refcount down by one, a page whose
   * count reaches zero freed and put on the free list in order. A chunk at a time, the same
   * chunks' result shared by every copy that does it again. False, and nothing done, where a
   * frame is part of a compound page or its count would go below zero (the caller goes a page at a time).
   */
  unmapSmallPages(i: number, n: number): boolean {
    // a whole chunk by what is known of it (chunkSmall), the frames of a part one by one
    const small = (k: number): number => ((k & MAP_MASK) === 0 && k + MAP_MASK < i + n ? this.chunkFact(k >> MAP_SHIFT, 'small', chunkSmall) : -1);
    for (let k = i; k < i + n; ) {
      const s = small(k);
      if (s > 0) k += MAP_MASK + 1;
      else if (s === 0 || this.at(F.order, k) !== 0 || this.at(F.flags, k) & (PG.head | PG.tail | PG.free) || this.at(F.refcount, k) <= 0) return false;
      else k++;
    }
    // the pages whose last reference goes, freed in order: each run of them one cell, the last freed out first
    for (let k = i; k < i + n; ) {
      if (this.at(F.refcount, k) !== 1) {
        k++;
        continue;
      }
      let e = k + 1;
      while (e < i + n) {
        if (small(e) === 2) e += MAP_MASK + 1;
        else if (this.at(F.refcount, e) === 1) e++;
        else break;
      }
      this.freeTop = { lo: k, hi: e, down: true, next: this.freeTop };
      k = e;
    }
    this.framesOp(i, n, OP_UNMAP, 0, 0, 0, (chunk, c, j0, cnt) => unmapFrames(chunk, c, j0, cnt));
    return true;
  }

  /**
   * Frames i..i+n-1 made pages of their own (a compound page split): no head or tail flag, each
   * its own head, order 0, and each refcount set where one is given, written in their chunks (not through put).
   */
  splitCompound(i: number, n: number, refcount?: number): void {
    this.framesOp(i, n, OP_SPLIT, refcount ?? -1, 0, 0, (chunk, c, j0, cnt) => splitFrames(chunk, c, j0, cnt, refcount));
  }

  /**
   * chunkOp over frames i..i+n-1, a chunk at a time: `fill` gets the chunk, its number, the first
   * frame of the run in it (j0), how many (cnt) and how far into the run they start (k0); the op
   * and its arguments x, y, z say what else the fill depends on.
   */
  private framesOp(i: number, n: number, op: number, x: number, y: number, z: number, fill: (chunk: number[], c: number, j0: number, cnt: number, k0: number) => number): void {
    for (let k = 0; k < n; ) {
      const c = (i + k) >> MAP_SHIFT;
      const j0 = (i + k) & MAP_MASK;
      const cnt = Math.min(n - k, MAP_MASK + 1 - j0);
      this.chunkOp(c, op, x, y, z, j0, cnt, k, fill);
      k += cnt;
    }
  }

  /**
   * `fill` applied to memmap chunk c (it returns what it moves the digest by): in place where this
   * copy owns the chunk; on a shared chunk, which never changes, once per chunk and `key` (what
   * else the fill depends on), the resulting chunk shared by every copy that does the same again
   * (the explorer replays a THP split or a collapse's allocation on every rebuild). A later write
   * to the shared result copies it, as to any shared chunk.
   */
  private chunkOp(c: number, op: number, x: number, y: number, z: number, j0: number, cnt: number, k0: number, fill: (chunk: number[], c: number, j0: number, cnt: number, k0: number) => number): void {
    let delta: number;
    if (this.mapShared) this.ownMap();
    if (this.mine[c] === 0) {
      const src = this.map[c];
      let memo = this.ops.get(src);
      // the zero chunk stands at many places: the place is part of the key; the rest compared as numbers (no key string per op)
      let list = memo?.get(c);
      let hit = list?.find((m) => m.op === op && m.x === x && m.y === y && m.z === z && m.j0 === j0 && m.cnt === cnt && m.k0 === k0);
      if (!hit) {
        const out = src.slice();
        hit = { op, x, y, z, j0, cnt, k0, out, delta: fill(out, c, j0, cnt, k0) };
        if (!memo) this.ops.set(src, (memo = new Map()));
        if (!list) memo.set(c, (list = []));
        list.push(hit);
      }
      this.map[c] = hit.out;
      delta = hit.delta;
    } else {
      delta = fill(this.map[c], c, j0, cnt, k0);
    }
    this.moveDigest(delta);
  }

  /** What a chunk op moved the memmap digest by, kept (where digests are kept). */
  private moveDigest(delta: number): void {
    if (this.digesting && !this.paused) this.mapDigest ^= delta;
  }

  /**
   * Frames i..i+n-1 (the tails of a THP being split, before 4.5) each made a page with the pins
   * it kept: its refcount the pins in field `pins` (none: no tail pins) plus its mapping's one,
   * its mapcount one. Returns the pins moved off the head.
   */
  ownTails(i: number, n: number, pins: Field | null): number {
    let moved = 0;
    if (pins !== null) for (let k = 0; k < n; k++) moved += this.at(pins, i + k);
    this.framesOp(i, n, OP_TAILS, pins ?? -1, 0, 0, (chunk, c, j0, cnt) => tailFrames(chunk, c, j0, cnt, pins));
    return moved;
  }

  isFree(pfn: number): boolean {
    return (this.at(F.flags, this.idx(pfn)) & PG.free) !== 0;
  }

  /** The frame after the last of pfn's compound page (pfn + 1 for a page of its own, or a frame outside memory). */
  compoundEnd(pfn: number): number {
    if (!this.valid(pfn)) return pfn + 1;
    const head = this.at(F.head, pfn - this.basePfn);
    return this.basePfn + head + (1 << this.at(F.order, head));
  }

  headPfn(pfn: number): number {
    return this.basePfn + this.at(F.head, this.idx(pfn));
  }

  private tableOf(pfn: number): TableWords {
    const t = this.tables[this.idx(pfn)];
    if (!t) throw new RangeError(`pfn 0x${pfn.toString(16)} holds no page table`);
    return t;
  }

  hasTable(pfn: number): boolean {
    return this.valid(pfn) && this.tables[pfn - this.basePfn] !== undefined;
  }

  /**
   * One 32-bit word of a table page. A walker that takes a huge page for a table (one without a
   * pud_huge test meeting a 1 GiB page) reads that page's data, which the model does not keep:
   * it reads as zeros, as freshly faulted memory would.
   */
  word(pfn: number, w: number): number {
    const t = this.tables[this.idx(pfn)];
    return t ? t[w >> CHUNK_SHIFT][w & CHUNK_MASK] >>> 0 : 0;
  }

  /** A copy of a table page's words (for scans that want them all). */
  words(pfn: number): Uint32Array {
    const t = this.tableOf(pfn);
    const out = new Uint32Array(TABLE_WORDS);
    for (let c = 0; c < CHUNKS; c++) if (t[c] !== ZERO_CHUNK) for (let j = 0; j <= CHUNK_MASK; j++) out[(c << CHUNK_SHIFT) + j] = t[c][j];
    return out;
  }

  /** The entries of a table page that are not zero, among its first `entries`: flattened [index, lo, hi, ...]. */
  usedEntries(pfn: number, entries: number): number[] {
    const t = this.tableOf(pfn);
    const out: number[] = [];
    let left = this.at(F.used, pfn - this.basePfn);
    for (let c = 0; c < CHUNKS && left > 0 && c << CHUNK_SHIFT < 2 * entries; c++) {
      const chunk = t[c];
      if (chunk === ZERO_CHUNK) continue;
      for (let j = 0; j <= CHUNK_MASK && left > 0; j += 2) {
        const lo = chunk[j] >>> 0;
        const hi = chunk[j + 1] >>> 0;
        if ((lo | hi) === 0) continue;
        left -= (lo !== 0 ? 1 : 0) + (hi !== 0 ? 1 : 0);
        const w = (c << CHUNK_SHIFT) + j;
        if (w < 2 * entries) out.push(w >> 1, lo, hi);
      }
    }
    return out;
  }

  /** Frame i's chunk list, this copy's own from now on (its chunks may still be shared). */
  private ownedList(i: number): TableWords {
    let t = this.tables[i]!;
    const own = this.own.get(i) ?? 0;
    if (!(own & OWN_LIST)) {
      t = this.ownTables()[i] = t.slice();
      this.ownOwn().set(i, own | OWN_LIST);
    }
    return t;
  }

  /** The tables array, this copy's own from now on. */
  private ownTables(): (TableWords | undefined)[] {
    if (this.tablesShared) {
      this.tables = this.tables.slice();
      this.tablesShared = false;
    }
    return this.tables;
  }

  /** Write one 32-bit word of a table page (copying its chunk first if a clone still shares it). */
  setWord(pfn: number, word: number, v: number): void {
    const i = this.idx(pfn);
    if (!this.tables[i]) throw new RangeError(`pfn 0x${pfn.toString(16)} holds no page table`);
    const t = this.ownedList(i);
    const c = word >> CHUNK_SHIFT;
    let own = this.own.get(i) ?? 0;
    let chunk = t[c];
    if (!(own & (1 << c))) {
      chunk = t[c] = chunk.slice();
      own |= 1 << c;
    }
    this.ownOwn().set(i, own);
    v >>>= 0;
    const old = chunk[word & CHUNK_MASK] >>> 0;
    if (old === v) return;
    if (old === 0) this.add(F.used, i, 1);
    else if (v === 0) this.add(F.used, i, -1);
    if (!this.paused) this.tablesDigest ^= (old !== 0 ? wordHash(i, word, old) : 0) ^ (v !== 0 ? wordHash(i, word, v) : 0);
    chunk[word & CHUNK_MASK] = v | 0;
  }

  /**
   * Write `count` consecutive words of a table page from `src` (zeros when null), as `count`
   * setWord()s would, in one pass: one ownership check per chunk. What the words held goes into
   * `was` (the machine's ghost keeps the values written over). `src` must not change afterwards:
   * what writing it over a shared chunk gives is kept by its identity (wholeChunk).
   */
  setWords(pfn: number, word0: number, count: number, src: ArrayLike<number> | null, was: Uint32Array): void {
    const i = this.idx(pfn);
    if (!this.tables[i]) throw new RangeError(`pfn 0x${pfn.toString(16)} holds no page table`);
    if (word0 < 0 || word0 + count > TABLE_WORDS) throw new RangeError(`words ${word0}..${word0 + count} are not in one table page`);
    const t = this.ownedList(i);
    let own = this.own.get(i) ?? 0;
    let digest = this.tablesDigest;
    const hashing = !this.paused;
    let used = this.at(F.used, i);
    for (let w = word0; w < word0 + count; ) {
      const c = w >> CHUNK_SHIFT;
      const stop = Math.min(word0 + count, (c + 1) << CHUNK_SHIFT);
      let chunk = t[c];
      const mine = (own & (1 << c)) !== 0;
      if (stop - w === CHUNK_MASK + 1 && (!src || !mine)) {
        // a whole chunk written: a shared one (a collapse clears 512 entries, a split maps them again, in every copy that
        // gets there) as worked out once; one of this copy's own, cleared, as worked out now (it changes in place)
        const d = mine ? chunkWrite(chunk, i, c, null, 0) : this.wholeChunk(chunk, i, c, src, w - word0);
        if (chunk === ZERO_CHUNK) was.fill(0, w - word0, stop - word0);
        else was.set(chunk, w - word0);
        w = stop;
        used += d.used;
        if (hashing) digest ^= d.delta;
        t[c] = d.out;
        own &= ~(1 << c);
        continue;
      }
      if (!mine) {
        // nothing to write in this chunk: leave it shared
        let same = true;
        for (let j = w; j < stop && same; j++) same = chunk[j & CHUNK_MASK] >>> 0 === (src ? src[j - word0] >>> 0 : 0);
        if (same) {
          for (; w < stop; w++) was[w - word0] = chunk[w & CHUNK_MASK];
          continue;
        }
        chunk = t[c] = chunk.slice();
        own |= 1 << c;
      }
      for (; w < stop; w++) {
        const o = chunk[w & CHUNK_MASK] >>> 0;
        const v = src ? src[w - word0] >>> 0 : 0;
        was[w - word0] = o;
        if (o === v) continue;
        if (o === 0) used++;
        else if (v === 0) used--;
        if (hashing) digest ^= (o !== 0 ? wordHash(i, w, o) : 0) ^ (v !== 0 ? wordHash(i, w, v) : 0);
        chunk[w & CHUNK_MASK] = v | 0;
      }
    }
    this.ownOwn().set(i, own);
    this.tablesDigest = digest;
    this.put(F.used, i, used);
  }

  /**
   * Words word0..word0+count-1 of table `pfn`, in a copy nothing changes: the very same copy for
   * every copy of this memory whose chunks there are still the same shared ones (a THP split keeps
   * the ptes it unmaps, to map them again: a run of stores from the same words is worked out once,
   * see wholeChunk).
   */
  wordsOf(pfn: number, word0: number, count: number): Uint32Array {
    const t = this.tableOf(pfn);
    const own = this.own.get(this.idx(pfn)) ?? 0;
    const c0 = word0 >> CHUNK_SHIFT;
    const c1 = (word0 + count - 1) >> CHUNK_SHIFT;
    let shared = t[c0] !== ZERO_CHUNK;
    for (let c = c0; c <= c1 && shared; c++) shared = !(own & (1 << c));
    const list = shared ? (this.kept.get(t[c0]) ?? []) : [];
    for (const x of list) if (x.word0 === word0 && x.count === count && x.chunks.every((ch, k) => ch === t[c0 + k])) return x.words;
    const words = new Uint32Array(count);
    for (let w = 0; w < count; w++) words[w] = t[(word0 + w) >> CHUNK_SHIFT][(word0 + w) & CHUNK_MASK];
    if (shared) {
      list.push({ word0, count, chunks: t.slice(c0, c1 + 1), words });
      this.kept.set(t[c0], list);
    }
    return words;
  }

  /** Which chunks of table `pfn` (bit c for chunk c) are the very chunks of `other` (a table as it was: words unchanged since). */
  sameChunks(pfn: number, other: readonly (readonly number[])[]): number {
    const t = this.tables[this.idx(pfn)];
    let out = 0;
    if (t) for (let c = 0; c < CHUNKS; c++) if (t[c] === other[c]) out |= 1 << c;
    return out;
  }

  /**
   * Shared table chunk c of frame i written whole, from src at `off` (zeros when null): the chunk
   * it becomes (shared too: a later write copies it), and what that moves the words in use and the
   * tables digest by. A shared chunk never changes, and neither does a source a script keeps (the
   * ptes a split maps again): worked out once, by chunk, place and source, in a memo the copies share.
   */
  private wholeChunk(chunk: number[], i: number, c: number, src: ArrayLike<number> | null, off: number): TableWrite {
    if (!src && chunk === ZERO_CHUNK) return NO_WRITE;
    const at = (i * CHUNKS + c) * TABLE_WORDS + off;
    let memo = this.writes.get(src ?? chunk);
    const hit = memo?.get(at);
    if (hit && hit.before === chunk) return hit;
    const made = chunkWrite(chunk, i, c, src, off);
    if (!memo) this.writes.set(src ?? chunk, (memo = new Map()));
    memo.set(at, made);
    return made;
  }

  setFlag(pfn: number, f: PageFlag, on = true): void {
    const i = this.idx(pfn);
    this.put(F.flags, i, on ? this.at(F.flags, i) | PG[f] : this.at(F.flags, i) & ~PG[f]);
  }

  hasFlag(pfn: number, f: PageFlag): boolean {
    return (this.at(F.flags, this.idx(pfn)) & PG[f]) !== 0;
  }

  info(pfn: number): PageInfo {
    const i = this.idx(pfn);
    const flags = (Object.keys(PG) as PageFlag[]).filter((f) => (this.at(F.flags, i) & PG[f]) !== 0);
    return {
      pfn,
      refcount: this.at(F.refcount, i),
      mapcount: this.at(F.mapcount, i),
      pincount: this.at(F.pincount, i),
      flags,
      head: this.basePfn + this.at(F.head, i),
      order: this.at(F.order, i),
      gen: this.at(F.gen, i),
    };
  }

  /**
   * The table pages as they are now, read-only from here on: this memory gives up owning them
   * (its next write to one copies it, as after a clone), so the words kept never change. Only the
   * table pages are kept: no memmap.
   */
  freezeTables(): FrozenTables {
    const n = this.top;
    const tables = new Map<number, TableWords>();
    for (let i = 0; i < n; i++) {
      const t = this.tables[i];
      if (t) tables.set(this.basePfn + i, t);
    }
    this.own = NONE_OWNED;
    return { chunks: (pfn) => tables.get(pfn) };
  }

  /**
   * An independent copy. Memmap chunks and table pages are shared until either side writes one,
   * so a copy costs its chunk list (a 1 GiB layout's 4,096 chunks), not its frames.
   */
  clone(): PhysMem {
    return new PhysMem(this.basePfn, 0, this);
  }
}

/**
 * Frames lo..hi-1 on the free list, then the ones freed before them: a compound page freed whole
 * (lo comes out first), or a run of pages freed one after another (`down`: hi - 1, the last freed, first).
 */
interface FreeCell {
  readonly lo: number;
  readonly hi: number;
  readonly down: boolean;
  readonly next: FreeCell | null;
}

/** The free list once its next frame is out: a cell of pages freed one by one gives its last freed first, a compound page's cell its first frame first. */
function rest(cell: FreeCell): FreeCell | null {
  if (cell.hi - cell.lo === 1) return cell.next;
  return cell.down ? { ...cell, hi: cell.hi - 1 } : { ...cell, lo: cell.lo + 1 };
}

/** What chunkFact found of chunks that no longer change, by the chunk (gone with it). */
const CHUNK_FACTS = new WeakMap<number[], Map<string, number>>();

/** 2 where every frame of the chunk is a page of its own (order 0, no compound flags, not free) with one reference, 1 where each has at least one, else 0. */
function chunkSmall(chunk: number[]): number {
  let ones = 2;
  for (let j = 0; j <= MAP_MASK; j++) {
    const ref = chunk[(F.refcount << MAP_SHIFT) | j];
    if (chunk[(F.order << MAP_SHIFT) | j] !== 0 || chunk[(F.flags << MAP_SHIFT) | j] & (PG.head | PG.tail | PG.free) || ref <= 0) return 0;
    if (ref !== 1) ones = 1;
  }
  return ones;
}

/** Every flag a frame of the chunk has. */
function chunkFlags(chunk: number[]): number {
  let out = 0;
  for (let j = 0; j <= MAP_MASK; j++) out |= chunk[(F.flags << MAP_SHIFT) | j];
  return out;
}

/** 1 where every frame of the chunk is free, a page table, or a tail with no refcount or pincount of its own. */
function chunkQuiet(chunk: number[]): number {
  for (let j = 0; j <= MAP_MASK; j++) {
    const f = chunk[(F.flags << MAP_SHIFT) | j];
    if (f & (PG.free | PG.pagetable)) continue;
    if (!(f & PG.tail) || chunk[(F.refcount << MAP_SHIFT) | j] !== 0 || chunk[(F.pincount << MAP_SHIFT) | j] !== 0) return 0;
  }
  return 1;
}

/** a chunk op's key (PhysMem.chunkOp, by the chunk and its place), and the chunk it made of a shared one with what that moved the digest by */
interface ChunkOpResult {
  readonly op: number;
  readonly x: number;
  readonly y: number;
  readonly z: number;
  readonly j0: number;
  readonly cnt: number;
  readonly k0: number;
  readonly out: number[];
  readonly delta: number;
}
type ChunkOps = WeakMap<number[], Map<number, ChunkOpResult[]>>;
/** the chunk ops, by number (with their arguments, the key of chunkOp's memo) */
const OP_FREE = 0;
const OP_ALLOC = 1;
const OP_UNMAP = 2;
const OP_SPLIT = 3;
const OP_TAILS = 4;

/** A whole shared table chunk written (PhysMem.wholeChunk): from what, to what, and what that moved. */
interface TableWrite {
  before: number[];
  out: number[];
  delta: number;
  used: number;
}
/** Table words read once from shared chunks (PhysMem.wordsOf): where, from which chunks, and the copy. */
interface KeptWords {
  word0: number;
  count: number;
  chunks: number[][];
  words: Uint32Array;
}

/** Table chunk c of frame i written whole from src at `off` (zeros when null): the chunk it becomes (the zero chunk for a clear), and what that moves. */
function chunkWrite(chunk: number[], i: number, c: number, src: ArrayLike<number> | null, off: number): TableWrite {
  const out = src ? chunk.slice() : ZERO_CHUNK;
  let delta = 0;
  let used = 0;
  let changed = false;
  for (let j = 0; j <= CHUNK_MASK; j++) {
    const o = chunk[j] >>> 0;
    const v = src ? src[off + j] >>> 0 : 0;
    if (o === v) continue;
    changed = true;
    if (o === 0) used++;
    else if (v === 0) used--;
    const w = (c << CHUNK_SHIFT) + j;
    delta ^= (o !== 0 ? wordHash(i, w, o) : 0) ^ (v !== 0 ? wordHash(i, w, v) : 0);
    if (src) out[j] = v | 0;
  }
  return { before: chunk, out: changed || !src ? out : chunk, delta, used };
}

/** an empty chunk cleared: nothing moves */
const NO_WRITE: TableWrite = { before: ZERO_CHUNK, out: ZERO_CHUNK, delta: 0, used: 0 };

/** Frames j0..j0+cnt-1 of chunk c as ownTails makes them: refcount its pins plus one, mapcount one. */
function tailFrames(chunk: number[], c: number, j0: number, cnt: number, pins: Field | null): number {
  let delta = 0;
  for (let j = j0; j < j0 + cnt; j++) {
    const kept = pins === null ? 0 : chunk[(pins << MAP_SHIFT) | j];
    delta ^= setField(chunk, c, (F.refcount << MAP_SHIFT) | j, kept + 1);
    delta ^= setField(chunk, c, (F.mapcount << MAP_SHIFT) | j, 1);
  }
  return delta;
}

/** Frames j0..j0+cnt-1 of chunk c, the k0-th on of a fresh compound page of this order at frame `head` (alloc). */
function allocFrames(chunk: number[], c: number, j0: number, cnt: number, k0: number, order: number, head: number, gen: number): number {
  let delta = 0;
  for (let j = j0, k = k0; j < j0 + cnt; j++, k++) {
    delta ^= setField(chunk, c, (F.flags << MAP_SHIFT) | j, order > 0 ? (k === 0 ? PG.head : PG.tail) : 0);
    delta ^= setField(chunk, c, (F.refcount << MAP_SHIFT) | j, k === 0 ? 1 : 0);
    delta ^= setField(chunk, c, (F.mapcount << MAP_SHIFT) | j, 0); // the kernel stores mapcount-1; the model stores the count itself
    delta ^= setField(chunk, c, (F.pincount << MAP_SHIFT) | j, 0);
    delta ^= setField(chunk, c, (F.head << MAP_SHIFT) | j, head);
    delta ^= setField(chunk, c, (F.order << MAP_SHIFT) | j, order);
    delta ^= setField(chunk, c, (F.gen << MAP_SHIFT) | j, gen);
  }
  return delta;
}

/** Frame j of chunk c made a page of its own (splitCompound), in place; returns what that moves the digest by. */
function splitFrame(chunk: number[], c: number, j: number, refcount: number | undefined): number {
  let delta = setField(chunk, c, (F.flags << MAP_SHIFT) | j, chunk[(F.flags << MAP_SHIFT) | j] & ~(PG.head | PG.tail));
  delta ^= setField(chunk, c, (F.head << MAP_SHIFT) | j, (c << MAP_SHIFT) | j);
  delta ^= setField(chunk, c, (F.order << MAP_SHIFT) | j, 0);
  if (refcount !== undefined) delta ^= setField(chunk, c, (F.refcount << MAP_SHIFT) | j, refcount);
  return delta;
}

/** One field of chunk c set in place; returns what that moves the digest by. */
function setField(chunk: number[], c: number, at: number, v: number): number {
  const old = chunk[at];
  if (old === v) return 0;
  chunk[at] = v;
  return mapHash(at, c, old) ^ mapHash(at, c, v);
}

/** Frame j of chunk c, its count already 0, made a free page: free, its own head, order 0; returns what that moves the digest by. */
function freedFrame(chunk: number[], c: number, j: number): number {
  return (
    setField(chunk, c, (F.flags << MAP_SHIFT) | j, PG.free) ^
    setField(chunk, c, (F.head << MAP_SHIFT) | j, (c << MAP_SHIFT) | j) ^
    setField(chunk, c, (F.order << MAP_SHIFT) | j, 0)
  );
}

/** Frames j0..j0+cnt-1 of chunk c given back to the allocator: refcount 0, then freed. */
function freeFrames(chunk: number[], c: number, j0: number, cnt: number): number {
  let delta = 0;
  for (let j = j0; j < j0 + cnt; j++) delta ^= setField(chunk, c, (F.refcount << MAP_SHIFT) | j, 0) ^ freedFrame(chunk, c, j);
  return delta;
}

/** Frames j0..j0+cnt-1 of chunk c as unmapSmallPages leaves them. */
function unmapFrames(chunk: number[], c: number, j0: number, cnt: number): number {
  let delta = 0;
  for (let j = j0; j < j0 + cnt; j++) {
    const ref = chunk[(F.refcount << MAP_SHIFT) | j] - 1;
    delta ^= setField(chunk, c, (F.mapcount << MAP_SHIFT) | j, chunk[(F.mapcount << MAP_SHIFT) | j] - 1);
    delta ^= setField(chunk, c, (F.refcount << MAP_SHIFT) | j, ref);
    if (ref === 0) delta ^= freedFrame(chunk, c, j);
  }
  return delta;
}

function splitFrames(chunk: number[], c: number, j0: number, cnt: number, refcount: number | undefined): number {
  let delta = 0;
  for (let j = j0; j < j0 + cnt; j++) delta ^= splitFrame(chunk, c, j, refcount);
  return delta;
}

/**
 * One memmap field's share of mapDigest (a zero field has none): a well-mixed function of (chunk,
 * place in it, value); every field is a 32-bit integer. Signed, as XOR leaves it: an unsigned
 * result past 2^31 would be a heap number on every write.
 */
function mapHash(j: number, c: number, v: number): number {
  if (v === 0) return 0;
  let h = Math.imul(((c << (MAP_SHIFT + 3)) | j) ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(v, 0xcc9e2d51);
  h = Math.imul(h ^ (h >>> 16), 0x2c1b3c6d);
  return h ^ (h >>> 15);
}

/** One word's share of tablesDigest: a well-mixed function of (frame, word, value) (signed, as mapHash). */
function wordHash(frame: number, word: number, v: number): number {
  let h = Math.imul(frame * TABLE_WORDS + word + 1, 0x9e3779b1) ^ Math.imul(v, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  h = Math.imul(h ^ (h >>> 12), 0x297a2d39);
  return h ^ (h >>> 15);
}
