/**
 * The invariants GUP-fast must keep, checked by the explorer: some after every step (from the
 * machine's ghost faults), the rest once every actor has finished and the caller has given its
 * pages back. Layer: pure emulator.
 */
import type { GhostFault, Machine } from '../machine/machine';
import { F, FRAMES_PER_CHUNK, PG } from '../machine/memory';
import { runsOf, type GupCall, type Kern } from '../versions/kern';
import type { PageRuns } from '../versions/page-runs';
import { mix } from '../trace/hash';
import type { GupResult } from '../trace/types';
import { stoppedWhy } from '../trace/describe';

export type InvariantId =
  | 'ref-on-freed-page'
  | 'use-after-free-table'
  | 'torn-read'
  | 'pinned-page-replaced'
  | 'unmapped-page-returned'
  | 'refcount-imbalance'
  | 'pin-overflow'
  | 'refcount-wrap'
  | 'fork-pin-cow'
  | 'cow-reuse-leak'
  | 'numa-hint-skipped'
  | 'wild-page'
  | 'walk-overrun'
  | 'uninitialised-read'
  | 'deadlock';

export const INVARIANTS: Record<InvariantId, string> = {
  'ref-on-freed-page': 'no reference is taken on a freed page',
  'use-after-free-table': 'no page-table page is read after it was freed (or reused)',
  'torn-read': 'no entry value is used that never existed in memory',
  'pinned-page-replaced': 'a page pinned for DMA stays the page its address maps (the kernel does not swap it for a copy)',
  'unmapped-page-returned': 'no page is returned that its address did not map at some moment of the call',
  'refcount-imbalance': 'refcounts and pincounts balance after the caller unpins (no leak, no page freed while mapped)',
  'pin-overflow': 'a pin never overflows the 32-bit refcount',
  'refcount-wrap': 'no reference wraps a refcount past zero (2^32 references: a put would then free a page still in use; CVE-2019-11487)',
  'fork-pin-cow': "a page pinned for write is never left write-protected and shared by fork (the parent's next write would COW away from it)",
  'cow-reuse-leak': "a page GUP returned is never reused in place by another process's write fault (the caller would see that process's writes: CVE-2020-29374)",
  'numa-hint-skipped': 'GUP-fast never takes a page through a protnone (NUMA hinting) entry',
  'wild-page': 'no struct page is touched that is not one (a pfn from a torn or stale entry, outside memory)',
  'walk-overrun': "the walk stays within its range: no store past the caller's pages[], no read past a page table",
  'uninitialised-read': 'the walk reads no local before something sets it (C gives such a read no value)',
  deadlock: 'some actor can always make progress',
};

export interface Violation {
  invariant: InvariantId;
  message: string;
}

const FAULT_INVARIANT: Record<GhostFault['kind'], InvariantId> = {
  'ref-on-freed-page': 'ref-on-freed-page',
  'read-freed-table': 'use-after-free-table',
  'refcount-underflow': 'refcount-imbalance',
  'refcount-overflow': 'pin-overflow',
  'refcount-wrap': 'refcount-wrap',
  'pfn-outside-memory': 'unmapped-page-returned',
  'wild-page': 'wild-page',
  'torn-read': 'torn-read',
  'numa-hint-skipped': 'numa-hint-skipped',
};

export function faultViolation(m: Machine): Violation | undefined {
  const f = m.faults[0];
  return f && { invariant: FAULT_INVARIANT[f.kind], message: f.detail };
}

/** What a GUP call returned, with each page's allocation generation at that moment. */
export interface Returned {
  call: GupCall;
  /** pages[] as the call filled it */
  runs: PageRuns;
  /**
   * the same pages as segments of one allocation each, three numbers a segment: the first frame,
   * how many, their generation (a compound page's frames are one allocation: a 1 GiB pin is one segment)
   */
  segs: number[];
  /** a digest of the pages and their generations (a state's hash holds what its calls returned) */
  h: number;
  /** the call stopped where C says nothing (GupResult's overrun or uninit) */
  stopped?: Violation;
}

/** What the caller keeps of a call's result, read off the machine as the call returns. */
export function returnOf(k: Kern, call: GupCall, res: GupResult): Returned {
  const mem = k.m.mem;
  const runs = runsOf(res);
  const segs: number[] = [];
  // a compound page's frames are one allocation: one generation
  runs.pieces((pfn) => mem.compoundEnd(pfn), (pfn, n) => {
    const gen = mem.at(F.gen, mem.idx(pfn));
    const l = segs.length - 3;
    if (l >= 0 && segs[l] + segs[l + 1] === pfn && segs[l + 2] === gen) segs[l + 1] += n;
    else segs.push(pfn, n, gen);
  });
  // the generations are part of the state: the same walk returning before or after its page was reused is not the same state
  let h = runs.length;
  for (const x of segs) h = mix(h, x);
  const stopped = stoppedCall(res);
  // every field present, as an actor's run has them (explore.ts actorRun)
  return { call, runs, segs, h, stopped: stopped || undefined };
}

/** Each segment of what a call returned, with where it starts in pages[] and the address that entry is for. */
function forSegs(r: Returned, f: (pfn: number, n: number, gen: number, addr: number) => Violation | undefined): Violation | undefined {
  let addr = r.call.start - (r.call.start % 4096);
  for (let s = 0; s < r.segs.length; s += 3) {
    const v = f(r.segs[s], r.segs[s + 1], r.segs[s + 2], addr);
    if (v) return v;
    addr += r.segs[s + 1] * 4096;
  }
  return undefined;
}

/** A call that stopped where C gives no outcome (a store past pages[], a read of an unset local): a violation whatever the interleaving. */
export function stoppedCall(r: GupResult): Violation | undefined {
  const why = stoppedWhy(r);
  return why ? { invariant: r.uninit ? 'uninitialised-read' : 'walk-overrun', message: `${why}; the call stopped there` } : undefined;
}

/** Every returned page was mapped at its address at some moment (the ghost history knows). */
export function checkReturned(m: Machine, r: Returned): Violation | undefined {
  return forSegs(r, (pfn, n, gen, addr) => {
    const ok = m.mappedRun(addr, pfn, gen, n);
    if (ok === n) return undefined;
    return {
      invariant: 'unmapped-page-returned',
      message: `page 0x${(pfn + ok).toString(16)} returned for 0x${(addr + ok * 4096).toString(16)}, which never mapped it (this allocation of it) during the call`,
    };
  });
}

/** The parent's pte still maps each page pinned for write, writable: else fork made it COW. */
export function checkForkPin(m: Machine, r: Returned): Violation | undefined {
  if (!r.call.pin || !r.call.write) return undefined;
  const cur = new LeafCursor(m);
  return forSegs(r, (pfn, n, _gen, addr) =>
    cur.each(addr, n, (i, now) =>
      now === pfn + i && !m.arch.write(cur.leaf!.level, cur.leaf!.e, m.era)
        ? {
            invariant: 'fork-pin-cow',
            message: `page 0x${(pfn + i).toString(16)} was pinned for write at 0x${(addr + i * 4096).toString(16)}, but fork left it write-protected and shared: the parent's next write COWs to a new page and the DMA goes to the old one`,
          }
        : undefined,
    ),
  );
}

/** No page GUP returned (this allocation of it) was then reused in place by another process's write fault. */
export function checkCowReuse(m: Machine, r: Returned): Violation | undefined {
  if (!m.mem.mayHave('cowReused')) return undefined;
  return forSegs(r, (pfn, n, gen) => {
    const i0 = m.mem.idx(pfn);
    // a segment none of whose frames was reused (nearly always) is read a chunk at a time
    if (!(m.mem.flagsIn(i0, n) & PG.cowReused)) return undefined;
    for (let i = 0; i < n; i++) {
      if (m.mem.at(F.gen, i0 + i) === gen && m.mem.at(F.flags, i0 + i) & PG.cowReused) {
        return {
          invariant: 'cow-reuse-leak',
          message: `page 0x${(pfn + i).toString(16)} was returned to this process, which then unmapped it; the other process that fork shared it with reused it in place on its next write: the reference now sees that process's data`,
        };
      }
    }
    return undefined;
  });
}

/** After a call that pinned (or took a reference for DMA), each page is still what its address maps, unless the address was unmapped. */
export function checkPinnedStays(m: Machine, r: Returned): Violation | undefined {
  if (!r.call.pin && !r.call.dma) return undefined;
  const cur = new LeafCursor(m);
  return forSegs(r, (pfn, n, _gen, addr) =>
    cur.each(addr, n, (i, now) =>
      // unmapped by the process itself: its own doing
      now === undefined || now === pfn + i
        ? undefined
        : {
            invariant: 'pinned-page-replaced',
            message: `page 0x${(pfn + i).toString(16)} was ${r.call.pin ? 'pinned' : 'referenced for DMA (FOLL_GET, as drivers did before FOLL_PIN)'} at 0x${(addr + i * 4096).toString(16)}, which now maps page 0x${now.toString(16)}: the DMA goes to a page the process no longer has`,
          },
    ),
  );
}

type Leaf = NonNullable<ReturnType<typeof lookupLeaf>>;

/** What addresses map now, read in order: one page-table walk per leaf (a 1 GiB page is one pud, not 262,144 lookups). */
class LeafCursor {
  /** the leaf the last address read lies in, if mapped */
  leaf: Leaf | undefined;
  private end = 0;
  constructor(private readonly m: Machine) {}

  /** The page addr maps now, or undefined where nothing does. */
  at(addr: number): number | undefined {
    if (addr >= this.end) {
      this.leaf = lookupLeaf(this.m, addr);
      this.end = this.leaf ? addr - (addr % this.leaf.size) + this.leaf.size : addr + 4096;
    }
    const l = this.leaf;
    return l && l.head + Math.floor((addr % l.size) / 4096);
  }

  /**
   * f(i, what addr + i pages maps now) for the first page of each leaf the n pages from addr
   * meet, i from 0 (and for each page where nothing is mapped), until f says something: within a
   * leaf both the address's frames and a run's go up by one a page, so its first page answers
   * for the rest.
   */
  each(addr: number, n: number, f: (i: number, now: number | undefined) => Violation | undefined): Violation | undefined {
    for (let i = 0; i < n; ) {
      const a = addr + i * 4096;
      const v = f(i, this.at(a));
      if (v) return v;
      i += this.leaf ? Math.min(n - i, (this.end - a) / 4096) : 1;
    }
    return undefined;
  }
}

function lookupLeaf(m: Machine, addr: number) {
  let table = m.mm.pgd;
  for (const l of m.arch.levels) {
    const e = m.load(m.slot(table, l.level, addr));
    if (m.arch.none(e)) return undefined;
    if (l.level === 'pte' || m.arch.leaf(l.level, e)) return { level: l.level, e, head: m.arch.pfn(e), size: 2 ** l.shift };
    table = m.arch.pfn(e);
  }
  return undefined;
}

/**
 * How many present leaf entries map each frame, by frame index (a huge leaf, and each pte of a
 * THP, counts on its compound head), in a scratch array kept from check to check (a 1 GiB layout
 * has 262,144 frames, and every end state is checked); `touched` says which to zero after.
 */
function mappingCounts(m: Machine): Int32Array {
  if (scratch.length < m.mem.frames) scratch = new Int32Array(m.mem.frames);
  touched.length = 0;
  visitTable(m, m.mm.pgd, 0, scratch);
  return scratch;
}
let scratch = new Int32Array(1024);
const touched: number[] = [];

/** one scratch entry for the predicates (they keep nothing) */
const E = { lo: 0, hi: 0 };

function visitTable(m: Machine, table: number, depth: number, out: Int32Array): void {
  const l = m.arch.levels[depth];
  const used = m.mem.usedEntries(table, l.entries);
  const mem = m.mem;
  for (let j = 0; j < used.length; j += 3) {
    E.lo = used[j + 1];
    E.hi = used[j + 2];
    if (m.arch.none(E) || (!m.arch.present(E) && !m.arch.protnone(E))) continue;
    const pfn = m.arch.pfn(E);
    // a mapping holds its ref on the compound head (a THP mapped by ptes: 512 on the head); a frame outside memory holds none
    if (l.level === 'pte' || m.arch.leaf(l.level, E)) {
      if (mem.valid(pfn)) {
        const head = mem.at(F.head, pfn - mem.basePfn);
        if (out[head]++ === 0) touched.push(head);
      }
    } else visitTable(m, pfn, depth + 1, out);
  }
}

/** After the caller released everything: each page's count is its mappings plus outside holds. */
export function checkBalance(m: Machine): Violation | undefined {
  const maps = mappingCounts(m);
  try {
    return balance(m, maps);
  } finally {
    for (const i of touched) maps[i] = 0;
  }
}

/**
 * checkBalance once for each machine it is asked about: an exploration's thousands of end states
 * come down to a handful of machines once the caller has released its pages. Known by their
 * digests (as the explorer knows its states) and the holds; a machine whose digests are not kept
 * is checked every time.
 */
export function checkBalanceOnce(m: Machine, seen: Map<string, Violation | undefined>): Violation | undefined {
  const mem = m.mem;
  if (!mem.digestsKept) return checkBalance(m);
  let key = `${mem.mapDigest}:${mem.tablesDigest}:${mem.frames}`;
  for (const [pfn, n] of m.holds) key += `:${pfn}=${n}`;
  if (seen.has(key)) return seen.get(key);
  const v = checkBalance(m);
  seen.set(key, v);
  return v;
}

function balance(m: Machine, maps: Int32Array): Violation | undefined {
  const mem = m.mem;
  for (const i of touched) {
    if (mem.at(F.flags, i) & PG.free) {
      return { invariant: 'refcount-imbalance', message: `page 0x${(mem.basePfn + i).toString(16)} was freed while still mapped (use-after-free for the process)` };
    }
  }
  for (let i = 0; i < mem.frames; i++) {
    // a chunk of a huge page's tails with no counts of their own has nothing to check (a 1 GiB page is 4,096 such chunks)
    if (i % FRAMES_PER_CHUNK === 0 && mem.quietChunk(i / FRAMES_PER_CHUNK)) {
      i += FRAMES_PER_CHUNK - 1;
      continue;
    }
    const f = mem.at(F.flags, i);
    if (f & (PG.free | PG.pagetable)) continue;
    const pfn = mem.basePfn + i;
    // a 32-bit count, as the kernel's atomic_t (billions of references held outside wrap it)
    const want = f & PG.tail ? 0 : (maps[i] + (m.holds.get(pfn) ?? 0)) | 0;
    if (mem.at(F.refcount, i) !== want || mem.at(F.pincount, i) !== 0) {
      return {
        invariant: 'refcount-imbalance',
        message: `page 0x${pfn.toString(16)} has refcount ${mem.at(F.refcount, i)}${mem.at(F.pincount, i) ? ` and pincount ${mem.at(F.pincount, i)}` : ''} after the caller released everything; its mappings and holders account for ${want}`,
      };
    }
  }
  return undefined;
}
