/**
 * The concurrent actors of the race scenarios, each a generator on its own CPU, written after
 * the kernel paths that raced with GUP-fast. Each statement of interest is one step, so the
 * explorer can put the walker's steps between any two of them.
 * Layer: pure emulator.
 */
import { NONE } from '../arch/bits';
import { mapPmdByPtes } from '../machine/builder';
import type { Slot } from '../machine/machine';
import { F } from '../machine/memory';
import { step, type G, type Kern, type VersionModel } from '../versions/kern';
import { reuseAnchor, reuseRule, wpReuses } from '../versions/cow';
import { maybeDmaPinned, tailPinField } from '../versions/refs';
import { allocForOther, flushTlb, slotAt, unmapCount, waitQs, zapPte } from './common';

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

type ActorFn = (k: Kern, spec: ActorSpec, v: VersionModel) => G<void>;

/** Pre-4.5 split_huge_page: splitting bit + flush, redistribute refcounts to tails, map with ptes. */
function* split_huge_page(k: Kern, spec: ActorSpec, v: VersionModel): G<void> {
  const addr = k.arch.userBase + spec.offset;
  const pmdp = slotAt(k, addr, 'pmd');
  const pmd = k.m.load(pmdp);
  if (!k.arch.leaf('pmd', pmd)) throw new RangeError('thp-split needs a huge pmd');
  const splitting = k.arch.mkSplitting(pmd, k.era);
  k.m.store(pmdp, splitting);
  if (k.y && step(k, 'pmdp_splitting_flush', 'set_pmd_at(pmd_mksplitting(pmd))', 'write', { level: 'pmd', lo: splitting.lo, hi: splitting.hi, addr })) yield;
  if (k.arch.tlbShootdown === 'ipi') {
    yield* flushTlb(k, 'pmdp_splitting_flush', 'flush_tlb_range');
  } else {
    if (k.y && step(k, 'pmdp_splitting_flush', 'flush_pmd_tlb_range', 'flush', { note: 'broadcast TLB invalidation: no IPI' })) yield;
    if (k.opts.splitIpi) {
      // 3.18 arm/arm64: a dummy IPI so a walker with interrupts off that saw the old pmd has finished
      const t = k.m.waitOthers(k.cpu, 'ipi');
      if (k.y && step(k, 'pmdp_splitting_flush', 'kick_all_cpus_sync()', 'flush', { note: 'dummy IPI to serialise against fast GUP' })) yield;
      yield* waitQs(k, 'pmdp_splitting_flush', 'kick_all_cpus_sync()', t, 'waiting for every CPU to take the IPI');
    }
  }
  // __split_huge_page_refcount: each tail becomes a page of its own, with the pins GUP left on it
  const head = k.arch.pfn(pmd);
  const mem = k.m.mem;
  const hi = mem.idx(head);
  const n = 2 ** mem.at(F.order, hi);
  const moved = mem.ownTails(hi + 1, n - 1, tailPinField(v.thpTails));
  mem.add(F.refcount, hi, -moved);
  mem.splitCompound(hi, n);
  if (k.y && step(k, '__split_huge_page_refcount', 'atomic_add(page_mapcount(page_tail))', 'split', { pfn: head, note: `${n - 1} tails made independent, ${moved} tail pin(s) moved from the head` })) yield;
  // __split_huge_page_map: a pte table mapping every subpage, then the pmd points to it
  const newPmd = mapPmdByPtes(k.m, pmdp, pmd, addr, k.era);
  if (k.y && step(k, '__split_huge_page_map', 'pmd_populate(mm, pmd, pgtable)', 'write', { level: 'pmd', lo: newPmd.lo, hi: newPmd.hi, addr, note: 'THP now mapped by 512 ptes' })) yield;
}

/**
 * The split of 4.5 and later, on a THP mapped by ptes: unmap it (migration entries, a flush),
 * freeze the head's refcount at what the mappings hold (a GUP ref or pin makes the split fail),
 * make every subpage a page of its own, map them again; then reclaim frees the old head page and
 * the allocator hands its frame to somebody else.
 */
function* split_huge_page_freeze(k: Kern, spec: ActorSpec): G<void> {
  const fn = 'split_huge_page';
  const addr = k.arch.userBase + spec.offset;
  const first = slotAt(k, addr, 'pte');
  const e0 = k.m.load(first);
  const head = k.m.headOf(k.arch.pfn(e0));
  const mem = k.m.mem;
  const hi = mem.idx(head);
  const n = 2 ** mem.at(F.order, hi);
  if (n === 1) throw new RangeError('thp-split-freeze needs a THP mapped by ptes');
  // while the ptes are migration entries, a fault on them waits (migration_entry_wait): the slow path holds off
  k.m.ptlHolder = k.actor;
  // cleared in one run (this runs on every rebuild of a state), keeping their words to map them again
  const saved = k.m.storeRun(first, n, null).slice(0, 2 * n);
  if (k.y && step(k, 'unmap_folio', 'try_to_unmap(folio, TTU_SPLIT_HUGE_PMD)', 'write', { level: 'pte', lo: 0, hi: 0, addr, note: `${n} ptes replaced by migration entries` })) yield;
  yield* flushTlb(k, 'unmap_folio', 'flush_tlb_range');
  const remap = () => k.m.storeRun(first, n, saved);
  if (mem.at(F.refcount, hi) !== n) {
    remap();
    k.m.ptlHolder = null;
    if (k.y && step(k, fn, 'folio_ref_freeze(folio, 1 + extra_pins)', 'check', { pfn: head, note: `refcount ${mem.at(F.refcount, hi)}, not the ${n} its mappings hold: pinned, the split fails` })) yield;
    return;
  }
  mem.put(F.refcount, hi, 0);
  if (k.y && step(k, fn, 'folio_ref_freeze(folio, 1 + extra_pins)', 'check', { pfn: head, note: 'refcount frozen at 0' })) yield;
  mem.splitCompound(hi, n, 1); // each page's refcount: its own mapping
  remap();
  k.m.ptlHolder = null;
  if (k.y && step(k, '__split_huge_page', 'page_ref_unfreeze(head, ...); remove_migration_ptes', 'split', { pfn: head, note: `${n} pages of their own, mapped again` })) yield;
  // reclaim takes the old head page: unmapped, its last ref dropped, the frame reused
  k.m.store(first, NONE);
  unmapCount(k, e0);
  yield* flushTlb(k, 'shrink_folio_list', 'try_to_unmap_flush');
  k.m.refSub(head, 1);
  if (k.y && step(k, 'shrink_folio_list', 'folio_put(folio)', 'free', { pfn: head, ref: -1, note: mem.isFree(head) ? 'the old head page is freed' : 'still referenced' })) yield;
  const again = allocForOther(k);
  if (k.y && step(k, 'alloc_pages', 'alloc_page(GFP_KERNEL)', 'alloc', { pfn: again, note: again === head ? 'the old head\'s frame, now somebody else\'s page' : 'another frame' })) yield;
}

/**
 * khugepaged collapsing 512 small pages into a THP (6.1's collapse_huge_page, under mmap_lock
 * for write): clear the pmd and flush (pmdp_collapse_flush), give up if any page holds more than
 * its mapping's reference (a GUP ref or pin), else copy into a new THP, map it with the pmd, and
 * let the old pages go. A walker that read the pmd before it was cleared can still take a ref on
 * an old page after the check: only a re-check of the pmd (70cbc3cc78a99) notices.
 */
function* collapse_huge_page(k: Kern, spec: ActorSpec): G<void> {
  const fn = 'collapse_huge_page';
  const addr = k.arch.userBase + spec.offset;
  const pmdp = slotAt(k, addr, 'pmd');
  const pmd = k.m.load(pmdp);
  if (k.arch.none(pmd) || k.arch.leaf('pmd', pmd)) throw new RangeError('khugepaged needs a pte table to collapse');
  const table = k.arch.pfn(pmd);
  k.m.mmapWriter = k.actor;
  if (k.y && step(k, fn, 'mmap_write_lock(mm)', 'note', {})) yield;
  k.m.store(pmdp, NONE);
  if (k.y && step(k, fn, 'pmdp_collapse_flush(vma, address, pmd)', 'write', { level: 'pmd', lo: 0, hi: 0, addr })) yield;
  yield* flushTlb(k, fn, 'flush_tlb_range');
  const n = 2 ** k.m.levelInfo('pmd').shift / 4096;
  const old: number[] = [];
  // one slot walked along the table (this runs again on every rebuild of a state)
  const ptes: Slot = { table, idx: 0, level: 'pte' };
  const e = { lo: 0, hi: 0 };
  for (let t = 0; t < n; t++) {
    // the table's words as they are (the actor holds the pmd cleared: no walker can be writing them)
    e.lo = k.m.mem.word(table, 2 * t);
    e.hi = k.m.mem.word(table, 2 * t + 1);
    if (!k.arch.none(e)) old.push(k.arch.pfn(e));
  }
  const busy = old.find((p) => k.m.refcount(p) !== k.m.mem.at(F.mapcount, k.m.mem.idx(p)));
  if (busy !== undefined) {
    k.m.store(pmdp, pmd);
    k.m.mmapWriter = null;
    if (k.y && step(k, '__collapse_huge_page_isolate', 'page_count(page) != expected', 'check', { pfn: busy, note: 'a page holds an extra reference: collapse gives up, the pmd goes back' })) yield;
    return;
  }
  if (k.y && step(k, '__collapse_huge_page_isolate', 'page_count(page) != expected', 'check', { note: `${old.length} pages hold only their mappings' refs` })) yield;
  // the copy, mapped by the pmd
  k.m.mem.reserve(2 * n + 4);
  const thp = k.m.mem.alloc(Math.log2(n));
  k.m.mem.setFlag(thp, 'anon');
  const huge = k.arch.mkLeaf('pmd', thp, { write: true, user: true }, k.era);
  k.m.store(pmdp, huge);
  k.m.mem.add(F.mapcount, k.m.mem.idx(thp), 1);
  if (k.y && step(k, fn, 'set_pmd_at(mm, address, pmd, _pmd)', 'write', { level: 'pmd', lo: huge.lo, hi: huge.hi, addr, note: `THP 0x${thp.toString(16)} with the data of the ${old.length} pages` })) yield;
  // the old pages lose their mappings (the old table is freed later, by RCU)
  ptes.idx = 0;
  k.m.storeRun(ptes, n, null);
  for (const p of old) {
    k.m.mem.add(F.mapcount, k.m.mem.idx(p), -1);
    k.m.refSub(p, 1);
  }
  k.m.mmapWriter = null;
  if (k.y && step(k, '__collapse_huge_page_copy', 'release_pte_folio(src)', 'free', { note: `${old.length} old pages released` })) yield;
}

/** munmap: zap the ptes, clear the pmd, then (tlb_finish_mmu) flush, free the pages, free the pte table. */
function* munmap(k: Kern, spec: ActorSpec): G<void> {
  const addr = k.arch.userBase + spec.offset;
  const count = spec.count ?? 1;
  k.m.mmapWriter = k.actor;
  k.m.vmas = k.m.vmas.filter((vma) => vma.end <= addr || vma.start >= addr + count * 4096);
  if (k.y && step(k, 'do_munmap', 'mmap_write_lock(mm)', 'note', { addr, note: 'mmap_lock for write; VMA detached' })) yield;
  const pmdp = slotAt(k, addr, 'pmd');
  const table = k.arch.pfn(k.m.load(pmdp));
  const freed: number[] = [];
  for (let i = 0; i < count; i++) {
    const ptep = k.m.slot(table, 'pte', addr + i * 4096);
    const e = k.m.load(ptep);
    if (k.arch.none(e)) continue;
    k.m.store(ptep, NONE);
    freed.push(unmapCount(k, e));
  }
  if (k.y && step(k, 'zap_pte_range', 'ptep_get_and_clear_full', 'write', { addr, note: `${freed.length} pte(s) cleared` })) yield;
  // free_pgtables clears the pmd and queues the table; tlb_finish_mmu then flushes and frees both
  k.m.store(pmdp, NONE);
  if (k.y && step(k, 'free_pte_range', 'pmd_clear(pmd)', 'write', { level: 'pmd', lo: 0, hi: 0, addr })) yield;
  yield* flushTlb(k, 'tlb_finish_mmu', 'tlb_flush_mmu_tlbonly');
  for (const p of freed) k.m.refSub(p, 1);
  if (k.y && step(k, 'tlb_flush_mmu', 'free_pages_and_swap_cache', 'free', { note: `${freed.length} page(s) released` })) yield;
  if (k.opts.rcuTableFree) {
    const t = k.m.waitOthers(k.cpu, 'rcu');
    if (k.y && step(k, 'tlb_remove_table', 'tlb_remove_table(tlb, table)', 'note', { pfn: table, note: 'table freed after an RCU-sched grace period' })) yield;
    yield* waitQs(k, 'tlb_remove_table_rcu', 'call_rcu_sched', t, 'waiting for a grace period: CPUs with interrupts off hold it');
  }
  k.m.mem.free(table);
  k.m.dropTableVa(table);
  if (k.y && step(k, 'free_pte_range', 'pte_free_tlb(tlb, token, addr)', 'free', { pfn: table, note: 'pte table page freed' })) yield;
  if (spec.reuseTable) {
    // somebody else's fault allocates the frame at once as a page table of its own
    const again = k.m.mem.alloc(0, 'table');
    const victim = allocForOther(k);
    // where our ptes were (all a walker holding the stale pmd can read), its own entries now map its page
    const leaf = k.arch.mkLeaf('pte', victim, { write: true, user: true }, k.era);
    for (let i = 0; i < count; i++) k.m.store(k.m.slot(again, 'pte', addr + i * 4096), leaf);
    if (k.y && step(k, '__pte_alloc', 'pte_alloc_one(mm)', 'alloc', { pfn: again, note: `frame reused as another process's pte table; its entries map page 0x${victim.toString(16)}` })) yield;
  }
  k.m.mmapWriter = null;
  if (k.y && step(k, 'do_munmap', 'mmap_write_unlock(mm)', 'note', {})) yield;
}

/**
 * A pte changed from page A to page B: cleared, flushed, A released, then set to B. On x86 PAE
 * the 64-bit stores are two 32-bit stores in the kernel's order: clearing writes the low half
 * first (the present bit goes first), setting writes the high half first.
 */
function* pte_writer(k: Kern, spec: ActorSpec): G<void> {
  const addr = k.arch.userBase + spec.offset;
  const ptep = slotAt(k, addr, 'pte');
  const old = k.m.load(ptep);
  const halves = !k.arch.atomicEntryLoad;
  if (halves) {
    k.m.ptlHolder = k.actor; // the halves are written under the pte lock: the slow path never sees them
    k.m.storeLo(ptep, 0);
    if (k.y && step(k, 'native_ptep_get_and_clear', 'ptep->pte_low = 0', 'write', { level: 'pte', lo: 0, hi: old.hi, addr, note: 'low half cleared first' })) yield;
    k.m.storeHi(ptep, 0);
    k.m.ptlHolder = null;
    if (k.y && step(k, 'native_ptep_get_and_clear', 'ptep->pte_high = 0', 'write', { level: 'pte', lo: 0, hi: 0, addr })) yield;
  } else {
    k.m.store(ptep, NONE);
    if (k.y && step(k, 'ptep_get_and_clear', 'ptep_get_and_clear(mm, addr, ptep)', 'write', { level: 'pte', lo: 0, hi: 0, addr })) yield;
  }
  yield* flushTlb(k, 'flush_tlb_page', 'flush_tlb_page(vma, addr)');
  k.m.refSub(unmapCount(k, old), 1);
  if (k.y && step(k, 'put_page', 'put_page(old)', 'free', { pfn: k.arch.pfn(old), ref: -1 })) yield;
  const b = k.m.mem.alloc(0);
  k.m.mem.setFlag(b, 'anon');
  if (!k.arch.none(k.m.load(ptep))) {
    // somebody (the slow path's fault) populated it meanwhile: like do_anonymous_page, back off
    k.m.refSub(b, 1);
    if (k.y && step(k, 'do_anonymous_page', '!pte_none(*vmf->pte)', 'free', { pfn: b, addr, note: 'pte already populated: new page released' })) yield;
    return;
  }
  k.m.mem.put(F.mapcount, k.m.mem.idx(b), 1);
  const e = k.arch.mkLeaf('pte', b, { write: true, user: true }, k.era);
  if (halves) {
    k.m.ptlHolder = k.actor;
    k.m.storeHi(ptep, e.hi);
    if (k.y && step(k, 'native_set_pte', 'ptep->pte_high = pte.pte_high', 'write', { level: 'pte', lo: 0, hi: e.hi, addr, note: 'high half set first' })) yield;
    k.m.storeLo(ptep, e.lo);
    k.m.ptlHolder = null;
    if (k.y && step(k, 'native_set_pte', 'ptep->pte_low = pte.pte_low', 'write', { level: 'pte', lo: e.lo, hi: e.hi, addr })) yield;
  } else {
    k.m.store(ptep, e);
    if (k.y && step(k, 'set_pte_at', 'set_pte_at(mm, addr, ptep, pte)', 'write', { level: 'pte', lo: e.lo, hi: e.hi, addr })) yield;
  }
}

/** fork's copy_page_range on one anon pte: early COW for a maybe-pinned page, else write-protect and share. */
function* fork(k: Kern, spec: ActorSpec): G<void> {
  const addr = k.arch.userBase + spec.offset;
  k.m.mmapWriter = k.actor;
  if (k.y && step(k, 'dup_mmap', 'mmap_write_lock(oldmm)', 'note', { addr })) yield;
  const seq = k.opts.writeProtectSeq;
  if (seq) {
    k.m.mm.write_protect_seq++;
    if (k.y && step(k, 'copy_page_range', 'raw_write_seqcount_begin(&src_mm->write_protect_seq)', 'seq', { nr: k.m.mm.write_protect_seq })) yield;
  }
  const ptep = slotAt(k, addr, 'pte');
  const e = k.m.load(ptep);
  const page = k.arch.pfn(e);
  const pinned = k.m.mm.has_pinned && maybeDmaPinned(k, page, k.opts.hpagePincount);
  if (k.y && step(k, 'copy_present_page', 'page_maybe_dma_pinned(page)', 'check', { pfn: page, addr, note: pinned ? 'maybe pinned: the child gets a copy' : `not pinned (has_pinned=${k.m.mm.has_pinned}): share it, write-protected` })) yield;
  if (pinned) {
    allocForOther(k);
  } else {
    const ro = k.arch.wrprotect('pte', e, k.era);
    k.m.store(ptep, ro);
    k.m.refAdd(page, 1);
    k.m.mem.add(F.mapcount, k.m.mem.idx(page), 1);
    k.m.hold(page); // the child's mapping
    if (k.y && step(k, 'copy_present_pte', 'ptep_set_wrprotect(src_mm, addr, src_pte)', 'write', { level: 'pte', lo: ro.lo, hi: ro.hi, addr, pfn: page, ref: 1 })) yield;
  }
  if (seq) {
    k.m.mm.write_protect_seq++;
    if (k.y && step(k, 'copy_page_range', 'raw_write_seqcount_end(&src_mm->write_protect_seq)', 'seq', { nr: k.m.mm.write_protect_seq })) yield;
  }
  yield* flushTlb(k, 'dup_mmap', 'flush_tlb_mm(oldmm)');
  k.m.mmapWriter = null;
  if (k.y && step(k, 'dup_mmap', 'mmap_write_unlock(oldmm)', 'note', {})) yield;
}

/** NUMA balancing's scanner makes a pte protnone so the next access takes a hinting fault. */
function* numa_hint(k: Kern, spec: ActorSpec): G<void> {
  const addr = k.arch.userBase + spec.offset;
  const ptep = slotAt(k, addr, 'pte');
  const e = k.arch.mkProtnone('pte', k.m.load(ptep));
  k.m.store(ptep, e);
  if (k.y && step(k, 'change_pte_range', 'pte_modify(oldpte, newprot)', 'write', { level: 'pte', lo: e.lo, hi: e.hi, addr, note: 'protnone: NUMA hinting' })) yield;
  yield* flushTlb(k, 'change_protection', 'flush_tlb_range(vma, start, end)');
}

/** The page is unmapped, freed (refcount 0), and the allocator hands the frame to somebody else. */
function* unmap_realloc(k: Kern, spec: ActorSpec): G<void> {
  const addr = k.arch.userBase + spec.offset;
  const page = yield* zapPte(k, slotAt(k, addr, 'pte'), addr);
  const again = allocForOther(k);
  if (k.y && step(k, 'alloc_pages', 'alloc_page(GFP_KERNEL)', 'alloc', { pfn: again, note: again === page ? 'the same frame, reallocated to another owner' : 'another frame' })) yield;
}

/**
 * A THP mapped by a pmd is unmapped (zap_huge_pmd): the pmd cleared, the TLB flushed, the
 * mapping's reference dropped (the THP is freed when nothing else holds it), and the allocator
 * hands its head frame to somebody else.
 */
function* unmap_realloc_thp(k: Kern, spec: ActorSpec): G<void> {
  const addr = k.arch.userBase + spec.offset;
  const pmdp = slotAt(k, addr, 'pmd');
  const old = k.m.load(pmdp);
  if (!k.arch.leaf('pmd', old)) throw new RangeError('unmap-realloc-thp needs a huge pmd');
  k.m.store(pmdp, NONE);
  const head = unmapCount(k, old);
  if (k.y && step(k, 'zap_huge_pmd', 'pmdp_huge_get_and_clear_full(vma, addr, pmd, tlb->fullmm)', 'write', { level: 'pmd', lo: 0, hi: 0, addr })) yield;
  yield* flushTlb(k, 'tlb_flush_mmu', 'tlb_flush_mmu_tlbonly');
  k.m.refSub(head, 1);
  if (k.y && step(k, 'free_pages_and_swap_cache', 'put_page(page)', 'free', { pfn: head, ref: -1, note: k.m.mem.isFree(head) ? 'refcount 0: the THP is freed' : `still referenced: refcount ${k.m.refcount(head)}` })) yield;
  const again = allocForOther(k);
  if (k.y && step(k, 'alloc_pages', 'alloc_page(GFP_KERNEL)', 'alloc', { pfn: again, note: again === head ? "the THP's head frame, now somebody else's page" : 'another frame' })) yield;
}

/**
 * After fork (the layout's page is shared with another process): this process unmaps the page
 * (munmap), then the other process writes to it (do_wp_page), which reuses it in place or copies
 * it by the rule of its release (versions/cow.ts). The other process's page is the one fork left
 * here, read before anybody runs: a slow-path COW may have replaced this process's by then.
 */
function cow_write(k: Kern, spec: ActorSpec): G<void> {
  const addr = k.arch.userBase + spec.offset;
  let theirs: number | undefined;
  try {
    const e = k.m.load(slotAt(k, addr, 'pte'));
    if (k.arch.present(e)) theirs = k.arch.pfn(e);
  } catch {
    // no pte table there: the actor says so at its first step, like every other
  }
  return unmapThenOtherWrites(k, addr, theirs);
}

function* unmapThenOtherWrites(k: Kern, addr: number, mapped: number | undefined): G<void> {
  const ptep = slotAt(k, addr, 'pte');
  if (mapped === undefined) throw new RangeError(`no page mapped at 0x${addr.toString(16)} for the other process to share`);
  const theirs = mapped;
  if (!k.arch.none(k.m.load(ptep))) yield* zapPte(k, ptep, addr, 'this process unmaps its copy (munmap)');
  const mem = k.m.mem;
  const reuse = wpReuses(k, theirs);
  const rule = reuseRule(k) === 'mapcount' ? `mapcount ${mem.at(F.mapcount, mem.idx(theirs))}` : `page_count ${k.m.refcount(theirs)}`;
  if (k.y && step(k, 'do_wp_page', reuseAnchor(k), 'check', { pfn: theirs, note: `the other process writes: ${rule}, ${reuse ? 'reuse the page in place' : 'copy it'}` })) yield;
  if (reuse) {
    mem.setFlag(theirs, 'cowReused');
    if (k.y && step(k, 'wp_page_reuse', 'wp_page_reuse(vmf)', 'write', { pfn: theirs, note: 'the other process now writes into this very page' })) yield;
  } else {
    const copy = allocForOther(k);
    mem.add(F.mapcount, mem.idx(theirs), -1);
    k.m.unhold(theirs);
    k.m.refSub(theirs, 1);
    if (k.y && step(k, 'wp_page_copy', 'wp_page_copy(vmf)', 'alloc', { pfn: copy, note: `the other process writes into its own copy; page 0x${theirs.toString(16)} loses that mapping` })) yield;
  }
}

export const ACTORS: Record<ActorKind, ActorFn> = {
  'thp-split': split_huge_page,
  'thp-split-freeze': split_huge_page_freeze,
  khugepaged: collapse_huge_page,
  munmap,
  'pte-writer': pte_writer,
  fork,
  'numa-hint': numa_hint,
  'unmap-realloc': unmap_realloc,
  'unmap-realloc-thp': unmap_realloc_thp,
  'cow-write': cow_write,
};
