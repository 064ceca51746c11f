/**
 * The concurrent actors of the race scenarios, each a script (script.ts) on its own CPU, written
 * after the kernel paths that raced with GUP-fast. Each statement of interest is one step, so the
 * explorer can put the walker's steps between any two of them; a case of resume() runs from one
 * step to the next.
 * Layer: pure emulator.
 */
import { NONE } from '../arch/bits';
import { mapPmdByPtes } from '../machine/builder';
import type { Slot } from '../machine/machine';
import type { Ent } from '../arch/types';
import { F } from '../machine/memory';
import { step, type Kern, type VersionModel } from '../versions/kern';
import { reuseAnchor, reuseRule, wpReuses } from '../versions/cow';
import { maybeDmaPinned, tailPinField } from '../versions/refs';
import { allocForOther, FlushTlb, reallocStep, slotAt, unmapCount, WaitQs, ZapPte } from './common';
import { Script } from './script';

export type ActorKind = 'thp-split' | 'thp-split-freeze' | 'khugepaged' | 'munmap' | 'pte-writer' | 'fork' | 'numa-hint' | 'unmap-realloc' | 'unmap-realloc-thp' | 'cow-write';

export interface ActorSpec {
  kind: ActorKind;
  /** bytes from the arch's userBase: the address the actor works on */
  offset: number;
  /** pages (munmap) */
  count?: number;
  /** munmap: after the pte table is freed, somebody else reuses its frame as a page table */
  reuseTable?: boolean;
}

type ActorFn = (k: Kern, spec: ActorSpec, v: VersionModel) => Script;

/** where a script stands once it has finished (its last step may still pause it once) */
const END = 99;

/** Pre-4.5 split_huge_page: splitting bit + flush, redistribute refcounts to tails, map with ptes. */
class split_huge_page extends Script {
  private pmdp!: Slot;
  private pmd!: Ent;
  private addr: number;
  constructor(
    k: Kern,
    spec: ActorSpec,
    private readonly v: VersionModel,
  ) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    const addr = this.addr;
    for (;;) {
      switch (this.pc) {
        case 0: {
          const pmdp = (this.pmdp = slotAt(k, addr, 'pmd'));
          const pmd = (this.pmd = k.m.load(pmdp));
          if (!k.arch.leaf('pmd', pmd)) throw new RangeError('thp-split needs a huge pmd');
          const splitting = k.arch.mkSplitting(pmd, k.era);
          k.m.store(pmdp, splitting);
          this.pc = 1;
          if (k.y && step(k, 'pmdp_splitting_flush', 'set_pmd_at(pmd_mksplitting(pmd))', 'write', { level: 'pmd', lo: splitting.lo, hi: splitting.hi, addr })) return false;
          continue;
        }
        case 1:
          if (k.arch.tlbShootdown === 'ipi') {
            this.sub = new FlushTlb(k, 'pmdp_splitting_flush', 'flush_tlb_range');
            this.pc = 2;
            continue;
          }
          this.pc = 3;
          if (k.y && step(k, 'pmdp_splitting_flush', 'flush_pmd_tlb_range', 'flush', { note: 'broadcast TLB invalidation: no IPI' })) return false;
          continue;
        case 2:
        case 4:
          if (!this.runSub()) return false;
          this.pc = 5;
          continue;
        case 3:
          this.pc = 5;
          if (k.opts.splitIpi) {
            // 3.18 arm/arm64: a dummy IPI so a walker with interrupts off that saw the old pmd has finished
            const t = k.m.waitOthers(k.cpu, 'ipi');
            this.sub = new WaitQs(k, 'pmdp_splitting_flush', 'kick_all_cpus_sync()', t, 'waiting for every CPU to take the IPI');
            this.pc = 4;
            if (k.y && step(k, 'pmdp_splitting_flush', 'kick_all_cpus_sync()', 'flush', { note: 'dummy IPI to serialise against fast GUP' })) return false;
          }
          continue;
        case 5: {
          // __split_huge_page_refcount: each tail becomes a page of its own, with the pins GUP left on it
          const head = k.arch.pfn(this.pmd);
          const mem = k.m.mem;
          const hi = mem.idx(head);
          const n = 2 ** mem.at(F.order, hi);
          const moved = mem.ownTails(hi + 1, n - 1, tailPinField(this.v.thpTails));
          mem.add(F.refcount, hi, -moved);
          mem.splitCompound(hi, n);
          this.pc = 6;
          if (k.y && step(k, '__split_huge_page_refcount', 'atomic_add(page_mapcount(page_tail))', 'split', { pfn: head, note: `${n - 1} tails made independent, ${moved} tail pin(s) moved from the head` })) return false;
          continue;
        }
        case 6: {
          // __split_huge_page_map: a pte table mapping every subpage, then the pmd points to it
          const newPmd = mapPmdByPtes(k.m, this.pmdp, this.pmd, addr, k.era);
          this.pc = 7;
          return !(k.y && step(k, '__split_huge_page_map', 'pmd_populate(mm, pmd, pgtable)', 'write', { level: 'pmd', lo: newPmd.lo, hi: newPmd.hi, addr, note: 'THP now mapped by 512 ptes' }));
        }
        default:
          return true;
      }
    }
  }
}

/**
 * The split of 4.5 and later, on a THP mapped by ptes: unmap it (migration entries, a flush),
 * freeze the head's refcount at what the mappings hold (a GUP ref or pin makes the split fail),
 * make every subpage a page of its own, map them again; then reclaim frees the old head page and
 * the allocator hands its frame to somebody else.
 */
class split_huge_page_freeze extends Script {
  private readonly addr: number;
  private first!: Slot;
  private e0!: Ent;
  private head = 0;
  private n = 0;
  /** the ptes' words before the unmap, to map them again */
  private saved!: Uint32Array;
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  private remap(): void {
    this.k.m.storeRun(this.first, this.n, this.saved);
  }

  resume(): boolean {
    const k = this.k;
    const fn = 'split_huge_page';
    const addr = this.addr;
    for (;;) {
      const mem = k.m.mem;
      switch (this.pc) {
        case 0: {
          const first = (this.first = slotAt(k, addr, 'pte'));
          const e0 = (this.e0 = k.m.load(first));
          const head = (this.head = k.m.headOf(k.arch.pfn(e0)));
          const n = (this.n = 2 ** mem.at(F.order, mem.idx(head)));
          if (n === 1) throw new RangeError('thp-split-freeze needs a THP mapped by ptes');
          // while the ptes are migration entries, a fault on them waits (migration_entry_wait): the slow path holds off
          k.m.ptlHolder = k.actor;
          // cleared in one run, keeping their words to map them again (the same words every state that gets here shares)
          this.saved = k.m.mem.wordsOf(first.table, 2 * first.idx, 2 * n);
          k.m.storeRun(first, n, null);
          this.sub = new FlushTlb(k, 'unmap_folio', 'flush_tlb_range');
          this.pc = 1;
          if (k.y && step(k, 'unmap_folio', 'try_to_unmap(folio, TTU_SPLIT_HUGE_PMD)', 'write', { level: 'pte', lo: 0, hi: 0, addr, note: `${n} ptes replaced by migration entries` })) return false;
          continue;
        }
        case 1: {
          if (!this.runSub()) return false;
          const hi = mem.idx(this.head);
          if (mem.at(F.refcount, hi) !== this.n) {
            this.remap();
            k.m.ptlHolder = null;
            this.pc = END;
            return !(k.y && step(k, fn, 'folio_ref_freeze(folio, 1 + extra_pins)', 'check', { pfn: this.head, note: `refcount ${mem.at(F.refcount, hi)}, not the ${this.n} its mappings hold: pinned, the split fails` }));
          }
          mem.put(F.refcount, hi, 0);
          this.pc = 2;
          if (k.y && step(k, fn, 'folio_ref_freeze(folio, 1 + extra_pins)', 'check', { pfn: this.head, note: 'refcount frozen at 0' })) return false;
          continue;
        }
        case 2:
          mem.splitCompound(mem.idx(this.head), this.n, 1); // each page's refcount: its own mapping
          this.remap();
          k.m.ptlHolder = null;
          this.pc = 3;
          if (k.y && step(k, '__split_huge_page', 'page_ref_unfreeze(head, ...); remove_migration_ptes', 'split', { pfn: this.head, note: `${this.n} pages of their own, mapped again` })) return false;
          continue;
        case 3:
          // reclaim takes the old head page: unmapped, its last ref dropped, the frame reused
          k.m.store(this.first, NONE);
          unmapCount(k, this.e0);
          this.sub = new FlushTlb(k, 'shrink_folio_list', 'try_to_unmap_flush');
          this.pc = 4;
          continue;
        case 4: {
          if (!this.runSub()) return false;
          const head = this.head;
          k.m.refSub(head, 1);
          this.pc = 5;
          if (k.y && step(k, 'shrink_folio_list', 'folio_put(folio)', 'free', { pfn: head, ref: -1, note: mem.isFree(head) ? 'the old head page is freed' : 'still referenced' })) return false;
          continue;
        }
        case 5:
          this.pc = END;
          return !reallocStep(k, this.head, "the old head's frame, now somebody else's page");
        default:
          return true;
      }
    }
  }
}

/** framesMapped's answers, by the copy of a table's words they were read from, and the arch that decoded them */
const MAPPED = new WeakMap<Uint32Array, { arch: Kern['arch']; pfns: readonly number[] }>();

/**
 * The frames the first n entries of a pte table map, in order: worked out once for every state
 * whose table is still the one its copies share (PhysMem.wordsOf hands them the same words), not
 * 512 entries decoded again in each. Read only: the states share it.
 */
export function framesMapped(k: Kern, table: number, n: number): readonly number[] {
  const words = k.m.mem.wordsOf(table, 0, 2 * n);
  const hit = MAPPED.get(words);
  if (hit && hit.arch === k.arch) return hit.pfns;
  const pfns: number[] = [];
  const e = { lo: 0, hi: 0 };
  for (let t = 0; t < n; t++) {
    e.lo = words[2 * t];
    e.hi = words[2 * t + 1];
    if (!k.arch.none(e)) pfns.push(k.arch.pfn(e));
  }
  MAPPED.set(words, { arch: k.arch, pfns });
  return pfns;
}

/**
 * khugepaged collapsing 512 small pages into a THP (6.1's collapse_huge_page, under mmap_lock
 * for write): clear the pmd and flush (pmdp_collapse_flush), give up if any page holds more than
 * its mapping's reference (a GUP ref or pin), else copy into a new THP, map it with the pmd, and
 * let the old pages go. A walker that read the pmd before it was cleared can still take a ref on
 * an old page after the check: only a re-check of the pmd (70cbc3cc78a99) notices.
 */
class collapse_huge_page extends Script {
  private readonly addr: number;
  private pmdp!: Slot;
  private pmd!: Ent;
  private table = 0;
  private n = 0;
  /** the pages the old ptes map (shared with other states: never changed) */
  private old: readonly number[] = [];
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    const fn = 'collapse_huge_page';
    const addr = this.addr;
    for (;;) {
      switch (this.pc) {
        case 0: {
          const pmdp = (this.pmdp = slotAt(k, addr, 'pmd'));
          const pmd = (this.pmd = k.m.load(pmdp));
          if (k.arch.none(pmd) || k.arch.leaf('pmd', pmd)) throw new RangeError('khugepaged needs a pte table to collapse');
          this.table = k.arch.pfn(pmd);
          k.m.mmapWriter = k.actor;
          this.pc = 1;
          if (k.y && step(k, fn, 'mmap_write_lock(mm)', 'note', {})) return false;
          continue;
        }
        case 1:
          k.m.store(this.pmdp, NONE);
          this.sub = new FlushTlb(k, fn, 'flush_tlb_range');
          this.pc = 2;
          if (k.y && step(k, fn, 'pmdp_collapse_flush(vma, address, pmd)', 'write', { level: 'pmd', lo: 0, hi: 0, addr })) return false;
          continue;
        case 2: {
          if (!this.runSub()) return false;
          const n = (this.n = 2 ** k.m.levelInfo('pmd').shift / 4096);
          // the table's words as they are (the actor holds the pmd cleared: no walker can be writing them)
          const old = (this.old = framesMapped(k, this.table, n));
          const busy = old.find((p) => k.m.refcount(p) !== k.m.mem.at(F.mapcount, k.m.mem.idx(p)));
          if (busy !== undefined) {
            k.m.store(this.pmdp, this.pmd);
            k.m.mmapWriter = null;
            this.pc = END;
            return !(k.y && step(k, '__collapse_huge_page_isolate', 'page_count(page) != expected', 'check', { pfn: busy, note: 'a page holds an extra reference: collapse gives up, the pmd goes back' }));
          }
          this.pc = 3;
          if (k.y && step(k, '__collapse_huge_page_isolate', 'page_count(page) != expected', 'check', { note: `${old.length} pages hold only their mappings' refs` })) return false;
          continue;
        }
        case 3: {
          // the copy, mapped by the pmd
          const n = this.n;
          k.m.mem.reserve(2 * n + 4);
          const thp = k.m.mem.alloc(Math.log2(n));
          k.m.mem.setFlag(thp, 'anon');
          const huge = k.arch.mkLeaf('pmd', thp, { write: true, user: true }, k.era);
          k.m.store(this.pmdp, huge);
          k.m.mem.add(F.mapcount, k.m.mem.idx(thp), 1);
          this.pc = 4;
          if (k.y && step(k, fn, 'set_pmd_at(mm, address, pmd, _pmd)', 'write', { level: 'pmd', lo: huge.lo, hi: huge.hi, addr, note: `THP 0x${thp.toString(16)} with the data of the ${this.old.length} pages` })) return false;
          continue;
        }
        case 4:
          // the old pages lose their mappings (the old table is freed later, by RCU)
          k.m.storeRun({ table: this.table, idx: 0, level: 'pte' }, this.n, null);
          k.m.unmapPages(this.old);
          k.m.mmapWriter = null;
          this.pc = END;
          return !(k.y && step(k, '__collapse_huge_page_copy', 'release_pte_folio(src)', 'free', { note: `${this.old.length} old pages released` }));
        default:
          return true;
      }
    }
  }
}

/** munmap: zap the ptes, clear the pmd, then (tlb_finish_mmu) flush, free the pages, free the pte table. */
class munmap extends Script {
  private readonly addr: number;
  private pmdp!: Slot;
  private table = 0;
  /** the pages whose ptes it cleared */
  private freed: number[] = [];
  constructor(
    k: Kern,
    private readonly spec: ActorSpec,
  ) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    const addr = this.addr;
    const count = this.spec.count ?? 1;
    for (;;) {
      switch (this.pc) {
        case 0:
          k.m.mmapWriter = k.actor;
          k.m.vmas = k.m.vmas.filter((vma) => vma.end <= addr || vma.start >= addr + count * 4096);
          this.pc = 1;
          if (k.y && step(k, 'do_munmap', 'mmap_write_lock(mm)', 'note', { addr, note: 'mmap_lock for write; VMA detached' })) return false;
          continue;
        case 1: {
          const pmdp = (this.pmdp = slotAt(k, addr, 'pmd'));
          const table = (this.table = k.arch.pfn(k.m.load(pmdp)));
          const freed: number[] = [];
          for (let i = 0; i < count; i++) {
            const ptep = k.m.slot(table, 'pte', addr + i * 4096);
            const e = k.m.load(ptep);
            if (k.arch.none(e)) continue;
            k.m.store(ptep, NONE);
            freed.push(unmapCount(k, e));
          }
          this.freed = freed;
          this.pc = 2;
          if (k.y && step(k, 'zap_pte_range', 'ptep_get_and_clear_full', 'write', { addr, note: `${freed.length} pte(s) cleared` })) return false;
          continue;
        }
        case 2:
          // free_pgtables clears the pmd and queues the table; tlb_finish_mmu then flushes and frees both
          k.m.store(this.pmdp, NONE);
          this.sub = new FlushTlb(k, 'tlb_finish_mmu', 'tlb_flush_mmu_tlbonly');
          this.pc = 3;
          if (k.y && step(k, 'free_pte_range', 'pmd_clear(pmd)', 'write', { level: 'pmd', lo: 0, hi: 0, addr })) return false;
          continue;
        case 3:
          if (!this.runSub()) return false;
          for (const p of this.freed) k.m.refSub(p, 1);
          this.pc = 4;
          if (k.y && step(k, 'tlb_flush_mmu', 'free_pages_and_swap_cache', 'free', { note: `${this.freed.length} page(s) released` })) return false;
          continue;
        case 4:
          this.pc = 6;
          if (k.opts.rcuTableFree) {
            const t = k.m.waitOthers(k.cpu, 'rcu');
            this.sub = new WaitQs(k, 'tlb_remove_table_rcu', 'call_rcu_sched', t, 'waiting for a grace period: CPUs with interrupts off hold it');
            this.pc = 5;
            if (k.y && step(k, 'tlb_remove_table', 'tlb_remove_table(tlb, table)', 'note', { pfn: this.table, note: 'table freed after an RCU-sched grace period' })) return false;
          }
          continue;
        case 5:
          if (!this.runSub()) return false;
          this.pc = 6;
          continue;
        case 6:
          k.m.mem.free(this.table);
          k.m.dropTableVa(this.table);
          this.pc = 7;
          if (k.y && step(k, 'free_pte_range', 'pte_free_tlb(tlb, token, addr)', 'free', { pfn: this.table, note: 'pte table page freed' })) return false;
          continue;
        case 7:
          this.pc = 8;
          if (this.spec.reuseTable) {
            // somebody else's fault allocates the frame at once as a page table of its own
            const again = k.m.mem.alloc(0, 'table');
            const victim = allocForOther(k);
            // where our ptes were (all a walker holding the stale pmd can read), its own entries now map its page
            const leaf = k.arch.mkLeaf('pte', victim, { write: true, user: true }, k.era);
            for (let i = 0; i < count; i++) k.m.store(k.m.slot(again, 'pte', addr + i * 4096), leaf);
            if (k.y && step(k, '__pte_alloc', 'pte_alloc_one(mm)', 'alloc', { pfn: again, note: `frame reused as another process's pte table; its entries map page 0x${victim.toString(16)}` })) return false;
          }
          continue;
        case 8:
          k.m.mmapWriter = null;
          this.pc = END;
          return !(k.y && step(k, 'do_munmap', 'mmap_write_unlock(mm)', 'note', {}));
        default:
          return true;
      }
    }
  }
}

/**
 * A pte changed from page A to page B: cleared, flushed, A released, then set to B. On x86 PAE
 * the 64-bit stores are two 32-bit stores in the kernel's order: clearing writes the low half
 * first (the present bit goes first), setting writes the high half first.
 */
class pte_writer extends Script {
  private readonly addr: number;
  private ptep!: Slot;
  private old!: Ent;
  /** the new entry, while its halves are written */
  private e!: Ent;
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    const addr = this.addr;
    const halves = !k.arch.atomicEntryLoad;
    for (;;) {
      switch (this.pc) {
        case 0: {
          const ptep = (this.ptep = slotAt(k, addr, 'pte'));
          const old = (this.old = k.m.load(ptep));
          if (halves) {
            k.m.ptlHolder = k.actor; // the halves are written under the pte lock: the slow path never sees them
            k.m.storeLo(ptep, 0);
            this.pc = 1;
            if (k.y && step(k, 'native_ptep_get_and_clear', 'ptep->pte_low = 0', 'write', { level: 'pte', lo: 0, hi: old.hi, addr, note: 'low half cleared first' })) return false;
            continue;
          }
          k.m.store(ptep, NONE);
          this.pc = 2;
          if (k.y && step(k, 'ptep_get_and_clear', 'ptep_get_and_clear(mm, addr, ptep)', 'write', { level: 'pte', lo: 0, hi: 0, addr })) return false;
          continue;
        }
        case 1:
          k.m.storeHi(this.ptep, 0);
          k.m.ptlHolder = null;
          this.pc = 2;
          if (k.y && step(k, 'native_ptep_get_and_clear', 'ptep->pte_high = 0', 'write', { level: 'pte', lo: 0, hi: 0, addr })) return false;
          continue;
        case 2:
          this.sub = new FlushTlb(k, 'flush_tlb_page', 'flush_tlb_page(vma, addr)');
          this.pc = 3;
          continue;
        case 3:
          if (!this.runSub()) return false;
          k.m.refSub(unmapCount(k, this.old), 1);
          this.pc = 4;
          if (k.y && step(k, 'put_page', 'put_page(old)', 'free', { pfn: k.arch.pfn(this.old), ref: -1 })) return false;
          continue;
        case 4: {
          const ptep = this.ptep;
          const b = k.m.mem.alloc(0);
          k.m.mem.setFlag(b, 'anon');
          if (!k.arch.none(k.m.load(ptep))) {
            // somebody (the slow path's fault) populated it meanwhile: like do_anonymous_page, back off
            k.m.refSub(b, 1);
            this.pc = END;
            return !(k.y && step(k, 'do_anonymous_page', '!pte_none(*vmf->pte)', 'free', { pfn: b, addr, note: 'pte already populated: new page released' }));
          }
          k.m.mem.put(F.mapcount, k.m.mem.idx(b), 1);
          const e = (this.e = k.arch.mkLeaf('pte', b, { write: true, user: true }, k.era));
          if (halves) {
            k.m.ptlHolder = k.actor;
            k.m.storeHi(ptep, e.hi);
            this.pc = 5;
            if (k.y && step(k, 'native_set_pte', 'ptep->pte_high = pte.pte_high', 'write', { level: 'pte', lo: 0, hi: e.hi, addr, note: 'high half set first' })) return false;
            continue;
          }
          k.m.store(ptep, e);
          this.pc = END;
          return !(k.y && step(k, 'set_pte_at', 'set_pte_at(mm, addr, ptep, pte)', 'write', { level: 'pte', lo: e.lo, hi: e.hi, addr }));
        }
        case 5: {
          const e = this.e;
          k.m.storeLo(this.ptep, e.lo);
          k.m.ptlHolder = null;
          this.pc = END;
          return !(k.y && step(k, 'native_set_pte', 'ptep->pte_low = pte.pte_low', 'write', { level: 'pte', lo: e.lo, hi: e.hi, addr }));
        }
        default:
          return true;
      }
    }
  }
}

/** fork's copy_page_range on one anon pte: early COW for a maybe-pinned page, else write-protect and share. */
class fork extends Script {
  private readonly addr: number;
  private ptep!: Slot;
  private e!: Ent;
  private page = 0;
  private pinned = false;
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    const addr = this.addr;
    const seq = k.opts.writeProtectSeq;
    for (;;) {
      switch (this.pc) {
        case 0:
          k.m.mmapWriter = k.actor;
          this.pc = 1;
          if (k.y && step(k, 'dup_mmap', 'mmap_write_lock(oldmm)', 'note', { addr })) return false;
          continue;
        case 1:
          this.pc = 2;
          if (seq) {
            k.m.mm.write_protect_seq++;
            if (k.y && step(k, 'copy_page_range', 'raw_write_seqcount_begin(&src_mm->write_protect_seq)', 'seq', { nr: k.m.mm.write_protect_seq })) return false;
          }
          continue;
        case 2: {
          const ptep = (this.ptep = slotAt(k, addr, 'pte'));
          this.e = k.m.load(ptep);
          const page = (this.page = k.arch.pfn(this.e));
          const pinned = (this.pinned = k.m.mm.has_pinned && maybeDmaPinned(k, page, k.opts.hpagePincount));
          this.pc = 3;
          if (k.y && step(k, 'copy_present_page', 'page_maybe_dma_pinned(page)', 'check', { pfn: page, addr, note: pinned ? 'maybe pinned: the child gets a copy' : `not pinned (has_pinned=${k.m.mm.has_pinned}): share it, write-protected` })) return false;
          continue;
        }
        case 3: {
          this.pc = 4;
          if (this.pinned) {
            allocForOther(k);
            continue;
          }
          const page = this.page;
          const ro = k.arch.wrprotect('pte', this.e, k.era);
          k.m.store(this.ptep, ro);
          k.m.refAdd(page, 1);
          k.m.mem.add(F.mapcount, k.m.mem.idx(page), 1);
          k.m.hold(page); // the child's mapping
          if (k.y && step(k, 'copy_present_pte', 'ptep_set_wrprotect(src_mm, addr, src_pte)', 'write', { level: 'pte', lo: ro.lo, hi: ro.hi, addr, pfn: page, ref: 1 })) return false;
          continue;
        }
        case 4:
          this.pc = 5;
          if (seq) {
            k.m.mm.write_protect_seq++;
            if (k.y && step(k, 'copy_page_range', 'raw_write_seqcount_end(&src_mm->write_protect_seq)', 'seq', { nr: k.m.mm.write_protect_seq })) return false;
          }
          continue;
        case 5:
          this.sub = new FlushTlb(k, 'dup_mmap', 'flush_tlb_mm(oldmm)');
          this.pc = 6;
          continue;
        case 6:
          if (!this.runSub()) return false;
          k.m.mmapWriter = null;
          this.pc = END;
          return !(k.y && step(k, 'dup_mmap', 'mmap_write_unlock(oldmm)', 'note', {}));
        default:
          return true;
      }
    }
  }
}

/** NUMA balancing's scanner makes a pte protnone so the next access takes a hinting fault. */
class numa_hint extends Script {
  private readonly addr: number;
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    const addr = this.addr;
    if (this.pc === 0) {
      const ptep = slotAt(k, addr, 'pte');
      const e = k.arch.mkProtnone('pte', k.m.load(ptep));
      k.m.store(ptep, e);
      this.sub = new FlushTlb(k, 'change_protection', 'flush_tlb_range(vma, start, end)');
      this.pc = 1;
      if (k.y && step(k, 'change_pte_range', 'pte_modify(oldpte, newprot)', 'write', { level: 'pte', lo: e.lo, hi: e.hi, addr, note: 'protnone: NUMA hinting' })) return false;
    }
    return this.runSub();
  }
}

/** The page is unmapped, freed (refcount 0), and the allocator hands the frame to somebody else. */
class unmap_realloc extends Script {
  private readonly addr: number;
  private page = 0;
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    if (this.pc === 0) {
      this.sub = new ZapPte(k, slotAt(k, this.addr, 'pte'), this.addr);
      this.pc = 1;
    }
    if (this.pc === 1) {
      const zap = this.sub as ZapPte;
      if (!this.runSub()) return false;
      this.page = zap.page;
      this.pc = END;
      return !reallocStep(k, this.page, 'the same frame, reallocated to another owner');
    }
    return true;
  }
}

/**
 * A THP mapped by a pmd is unmapped (zap_huge_pmd): the pmd cleared, the TLB flushed, the
 * mapping's reference dropped (the THP is freed when nothing else holds it), and the allocator
 * hands its head frame to somebody else.
 */
class unmap_realloc_thp extends Script {
  private readonly addr: number;
  private head = 0;
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
  }

  resume(): boolean {
    const k = this.k;
    const addr = this.addr;
    for (;;) {
      switch (this.pc) {
        case 0: {
          const pmdp = slotAt(k, addr, 'pmd');
          const old = k.m.load(pmdp);
          if (!k.arch.leaf('pmd', old)) throw new RangeError('unmap-realloc-thp needs a huge pmd');
          k.m.store(pmdp, NONE);
          this.head = unmapCount(k, old);
          this.sub = new FlushTlb(k, 'tlb_flush_mmu', 'tlb_flush_mmu_tlbonly');
          this.pc = 1;
          if (k.y && step(k, 'zap_huge_pmd', 'pmdp_huge_get_and_clear_full(vma, addr, pmd, tlb->fullmm)', 'write', { level: 'pmd', lo: 0, hi: 0, addr })) return false;
          continue;
        }
        case 1: {
          if (!this.runSub()) return false;
          const head = this.head;
          k.m.refSub(head, 1);
          this.pc = 2;
          if (k.y && step(k, 'free_pages_and_swap_cache', 'put_page(page)', 'free', { pfn: head, ref: -1, note: k.m.mem.isFree(head) ? 'refcount 0: the THP is freed' : `still referenced: refcount ${k.m.refcount(head)}` })) return false;
          continue;
        }
        case 2:
          this.pc = END;
          return !reallocStep(k, this.head, "the THP's head frame, now somebody else's page");
        default:
          return true;
      }
    }
  }
}

/**
 * After fork (the layout's page is shared with another process): this process unmaps the page
 * (munmap), then the other process writes to it (do_wp_page), which reuses it in place or copies
 * it by the rule of its release (versions/cow.ts). The other process's page is the one fork left
 * here, read before anybody runs: a slow-path COW may have replaced this process's by then.
 */
class cow_write extends Script {
  private readonly addr: number;
  private readonly theirs: number | undefined;
  private reuse = false;
  constructor(k: Kern, spec: ActorSpec) {
    super(k);
    this.addr = k.arch.userBase + spec.offset;
    try {
      const e = k.m.load(slotAt(k, this.addr, 'pte'));
      if (k.arch.present(e)) this.theirs = k.arch.pfn(e);
    } catch {
      // no pte table there: the actor says so at its first step, like every other
    }
  }

  resume(): boolean {
    const k = this.k;
    const addr = this.addr;
    for (;;) {
      switch (this.pc) {
        case 0: {
          const ptep = slotAt(k, addr, 'pte');
          if (this.theirs === undefined) throw new RangeError(`no page mapped at 0x${addr.toString(16)} for the other process to share`);
          this.pc = 2;
          if (!k.arch.none(k.m.load(ptep))) {
            this.sub = new ZapPte(k, ptep, addr, 'this process unmaps its copy (munmap)');
            this.pc = 1;
          }
          continue;
        }
        case 1:
          if (!this.runSub()) return false;
          this.pc = 2;
          continue;
        case 2: {
          const theirs = this.theirs!;
          const mem = k.m.mem;
          const reuse = (this.reuse = wpReuses(k, theirs));
          const rule = reuseRule(k) === 'mapcount' ? `mapcount ${mem.at(F.mapcount, mem.idx(theirs))}` : `page_count ${k.m.refcount(theirs)}`;
          this.pc = 3;
          if (k.y && step(k, 'do_wp_page', reuseAnchor(k), 'check', { pfn: theirs, note: `the other process writes: ${rule}, ${reuse ? 'reuse the page in place' : 'copy it'}` })) return false;
          continue;
        }
        case 3: {
          const theirs = this.theirs!;
          const mem = k.m.mem;
          this.pc = END;
          if (this.reuse) {
            mem.setFlag(theirs, 'cowReused');
            return !(k.y && step(k, 'wp_page_reuse', 'wp_page_reuse(vmf)', 'write', { pfn: theirs, note: 'the other process now writes into this very page' }));
          }
          const copy = allocForOther(k);
          mem.add(F.mapcount, mem.idx(theirs), -1);
          k.m.unhold(theirs);
          k.m.refSub(theirs, 1);
          return !(k.y && step(k, 'wp_page_copy', 'wp_page_copy(vmf)', 'alloc', { pfn: copy, note: `the other process writes into its own copy; page 0x${theirs.toString(16)} loses that mapping` }));
        }
        default:
          return true;
      }
    }
  }
}

export const ACTORS: Record<ActorKind, ActorFn> = {
  'thp-split': (k, spec, v) => new split_huge_page(k, spec, v),
  'thp-split-freeze': (k, spec) => new split_huge_page_freeze(k, spec),
  khugepaged: (k, spec) => new collapse_huge_page(k, spec),
  munmap: (k, spec) => new munmap(k, spec),
  'pte-writer': (k, spec) => new pte_writer(k, spec),
  fork: (k, spec) => new fork(k, spec),
  'numa-hint': (k, spec) => new numa_hint(k, spec),
  'unmap-realloc': (k, spec) => new unmap_realloc(k, spec),
  'unmap-realloc-thp': (k, spec) => new unmap_realloc_thp(k, spec),
  'cow-write': (k, spec) => new cow_write(k, spec),
};
