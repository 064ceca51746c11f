/**
 * The generic walker of the FOLL_PIN era and after (mm/gup.c, 5.7 onwards): one body for
 * foll-pin-2020, wpseq-2021 and folio-6x, a dialect each for names and the few behaviours that
 * changed. Compared with generic-2014: gup_flags instead of `write`; FOLL_GET refs or FOLL_PIN
 * pins through try_grab_compound_head (GUP_PIN_COUNTING_BIAS, or an exact pincount for big
 * compound pages); protnone entries left to the slow path; devmap refused under FOLL_LONGTERM;
 * a p4d level; huge leaves recorded by record_subpages in one go; the PAE pte read low/high/low
 * again (CONFIG_GUP_GET_PTE_LOW_HIGH). With write_protect_seq (5.11), a FOLL_PIN walk is
 * bracketed by mm->write_protect_seq and undone if fork ran meanwhile.
 *
 * Not modelled: hugepd (powerpc), get_dev_pagemap's pgmap refcount (devmap pages are taken
 * as normal pages), PageAnonExclusive / gup_must_unshare, gup_fast_folio_allowed (all pages in
 * the scenarios are anonymous).
 * Layer: pure emulator.
 */
import { longBits } from '../arch';
import { foldedAbove, LEVEL_NAMES, type Ent, type Level } from '../arch/types';
import type { Slot } from '../machine/machine';
import type { GupResult } from '../trace/types';
import {
  atLeast, DEFAULT_OPTIONS, enter, levelSize, descend, irqOff, irqOn, levelEnd, lowHighLow, offset, pgdSlot, plainLoad, quickLoad, callerPages, gupResult, recordPage, step, userAccess, WalkOverrun,
  PAGE_SIZE, type G, type GupCall, type Kern, type Nr, type OptionDef, type VersionModel, type VersionOptions,
} from './kern';
import { GUP_PIN_COUNTING_BIAS, mustUnshare, zeroNotPinned } from './refs';
import { slowGup, type SlowResult } from './slow';
import type { PageRuns } from './page-runs';
import { F } from '../machine/memory';

/** Kernel names and behaviours that differ between the pin-era versions. */
export interface PinDialect {
  pte_range: string;
  pmd_leaf: string;
  pud_leaf: string;
  pmd_range: string;
  pud_range: string;
  p4d_range: string;
  pgd_range: string;
  /** how the p4d loop tests its entry: p4d_none until 6.10's !p4d_present (the pud loop tests !pud_present from 5.6) */
  p4dTest?: string;
  /** the interrupts-off part: inline in internal_get_user_pages_fast, lockless_pages_from_mm, gup_fast */
  lockless: string;
  fallback: string;
  grab: string;
  put: string;
  /** reading a pte (and, in 6.x, a pmd) locklessly */
  getPte: string;
  /** 6.1: gup_fast_pte_range also re-checks the pmd after taking the ref */
  pmdRecheck: boolean;
  /** folios: any large folio keeps an exact pincount, small ones take refs x bias (try_grab_folio_fast) */
  folio: boolean;
  /** FOLL_LONGTERM pins of CMA/movable pages refused in the fast path (folio_is_longterm_pinnable) */
  longtermCheck: boolean;
  /** 5.13 (c24d37322548): after the ref, re-check that the page still belongs to that head, else retry */
  headRecheck: boolean;
  /** 5.19: a read-only pin of an anon page fork shared goes to the slow path to be unshared (gup_must_unshare) */
  unshare: boolean;
}

type Meta = Omit<VersionModel, 'gup' | 'release' | 'grab' | 'thpTails' | 'options' | 'defaults' | 'era'>;

const OPTIONS: OptionDef[] = [
  { name: 'hpagePincount', title: 'exact pincount for compound pages of order > 1', kernel: 'hpage_pinned_refcount (47e29d32afba)' },
  { name: 'writeProtectSeq', title: 'FOLL_PIN fast GUP checks mm->write_protect_seq', kernel: 'write_protect_seq (57efa1fe5957)' },
  { name: 'cowBreakReads', title: 'GUP breaks COW even for reads: the fast walk asks for write, the slow path copies a shared anon page (5.8; stable 4.14.y-5.7.y)', kernel: '17839856fd58 (gup: document and work around "COW can break either way")' },
  { name: 'pmdLockless', title: 'pmds read with pmdp_get_lockless, low/high/low on x86 PAE (6.2; off: READ_ONCE, as 6.1 and before)', kernel: 'pmdp_get_lockless (Peter Zijlstra, 6.2)' },
];

export function pinWalker(meta: Meta, d: PinDialect, defaults: VersionOptions): VersionModel {
  /** does this page keep an exact pin count (hpage_pincount / folio->_pincount)? */
  const exact = (k: Kern, head: number): boolean => {
    const order = k.m.mem.at(F.order, k.m.mem.idx(head));
    return d.folio ? order > 0 : k.opts.hpagePincount && order > 1;
  };

  /**
   * 6.x: a folio the fast path may not keep once it holds it: secretmem (5.14), and from 6.5 a
   * long-term writable pin of a file's page cache, which needs dirty tracking (gup_fast_folio_allowed:
   * anon and hugetlb folios pass). Answers [the test, why] or undefined.
   */
  function refusedFolio(k: Kern, head: number, call: GupCall): [string, string] | undefined {
    if (!d.folio) return undefined;
    const mem = k.m.mem;
    if (mem.hasFlag(head, 'secretmem')) return ['folio_is_secretmem(folio)', 'a secretmem folio: never for GUP'];
    if (call.pin && call.longterm && call.write && atLeast(k, '6.5') && !mem.hasFlag(head, 'hugetlb') && !mem.hasFlag(head, 'anon')) {
      return [`${atLeast(k, '6.10') ? 'gup_fast_folio_allowed' : 'folio_fast_pin_allowed'}(folio, flags)`, 'a long-term writable pin of a file\'s page cache needs dirty tracking: the slow path decides'];
    }
    return undefined;
  }

  /** try_grab_compound_head / try_grab_folio_fast: FOLL_GET refs, or FOLL_PIN pins. */
  function grab(k: Kern, page: number, refs: number, call: GupCall, head = k.m.headOf(page)): { head: number; ref: number; pin: number } | undefined {
    const i = k.m.mem.idx(head);
    if (k.m.mem.at(F.refcount, i) < 0) return undefined; // WARN_ON_ONCE(page_ref_count(head) < 0): refuse an overflowed page
    if (d.longtermCheck && call.pin && call.longterm && k.m.mem.hasFlag(head, 'cma')) return undefined;
    if (!call.pin) return k.m.refAddUnlessZero(head, refs) ? { head, ref: refs, pin: 0 } : undefined;
    if (zeroNotPinned(k, head)) return { head, ref: 0, pin: 0 };
    if (exact(k, head)) {
      if (!k.m.refAddUnlessZero(head, refs)) return undefined;
      k.m.mem.put(F.pincount, i, (k.m.mem.at(F.pincount, i) + refs) | 0);
      return { head, ref: refs, pin: refs };
    }
    return k.m.refAddUnlessZero(head, refs * GUP_PIN_COUNTING_BIAS) ? { head, ref: refs * GUP_PIN_COUNTING_BIAS, pin: 0 } : undefined;
  }

  /** put_compound_head / gup_put_folio */
  function put(k: Kern, head: number, refs: number, call: GupCall): number {
    if (!call.pin) {
      k.m.refSub(head, refs);
      return refs;
    }
    if (zeroNotPinned(k, head)) return 0;
    if (exact(k, head)) {
      const i = k.m.mem.idx(head);
      k.m.mem.put(F.pincount, i, (k.m.mem.at(F.pincount, i) - refs) | 0);
      k.m.refSub(head, refs);
      return refs;
    }
    k.m.refSub(head, refs * GUP_PIN_COUNTING_BIAS);
    return refs * GUP_PIN_COUNTING_BIAS;
  }

  function* readPte(k: Kern, ptep: Slot, addr: number): G<Ent> {
    const fast = quickLoad(k, d.getPte, 'ptep_get(ptep)', ptep, addr);
    if (fast) return fast;
    if (!k.arch.atomicEntryLoad) return yield* lowHighLow(k, d.getPte, ptep, addr);
    return yield* plainLoad(k, d.getPte, 'ptep_get(ptep)', ptep, addr);
  }

  function* gup_pte_range(k: Kern, pmd: Ent, pmdp: Slot, addr: number, end: number, call: GupCall, pages: PageRuns, nr: Nr): G<boolean> {
    const fn = d.pte_range;
    if (enter(k, fn, fn, addr, end)) yield;
    const ptep = offset(k, pmd, 'pte', addr);
    const nrStart = nr.v;
    do {
      const pte = yield* readPte(k, ptep, addr);
      k.m.useEntry(ptep, pte);
      const at = { level: 'pte' as Level, lo: pte.lo, hi: pte.hi, addr };
      if (k.arch.protnone(pte)) {
        if (k.y && step(k, fn, 'pte_protnone(pte)', 'bail', { ...at, note: 'NUMA hinting entry: the slow path takes the fault' })) yield;
        return false;
      }
      if (!(k.arch.present(pte) && userAccess(k, 'pte', pte, call.write))) {
        if (k.y && step(k, fn, 'pte_access_permitted(pte, flags & FOLL_WRITE)', 'bail', { ...at, note: 'not present, not user, read-only for a write, or a protection key the PKRU denies' })) yield;
        return false;
      }
      if (k.arch.devmap('pte', pte, k.era) ? call.longterm : k.arch.special('pte', pte)) {
        const why = call.longterm ? 'devmap page refused for FOLL_LONGTERM' : 'special mapping';
        if (k.y && step(k, fn, call.longterm ? 'flags & FOLL_LONGTERM' : 'pte_special(pte)', 'bail', { ...at, note: why })) yield;
        return false;
      }
      if (k.y && step(k, fn, 'pte_access_permitted(pte, flags & FOLL_WRITE)', 'check', at)) yield;
      k.m.useLeaf('pte', pte);
      const page = k.arch.pfn(pte);
      if (k.arch.devmap('pte', pte, k.era) && k.m.mem.hasFlag(page, 'pgmapGone')) {
        // get_dev_pagemap found no live pgmap: give back every device page this range took (undo_dev_pagemap)
        const taken = pages.toArray().slice(nrStart);
        pages.truncate(nrStart);
        for (const p of taken) put(k, k.m.headOf(p), 1, call);
        nr.v = nrStart;
        if (k.y && step(k, fn, 'undo_dev_pagemap(nr, nr_start, flags, pages)', 'unref', { pfn: page, addr, note: `the device is going away: ${taken.length} page(s) given back` })) yield;
        return false;
      }
      if (d.folio && atLeast(k, '6.2') && k.m.mem.hasFlag(page, 'p2pdma')) {
        // 6.2: a peer-to-peer DMA page only for a caller that asked for them (FOLL_PCI_P2PDMA)
        if (k.y && step(k, fn, '!(flags & FOLL_PCI_P2PDMA) && is_pci_p2pdma_page(page)', 'bail', { pfn: page, addr, note: 'a PCI P2PDMA page, and the caller did not ask for those' })) yield;
        return false;
      }
      // a page of a compound page: finding its head and taking the ref are two steps
      const head = k.m.headOf(page);
      if (head !== page && k.y && step(k, fn, 'compound_head(page)', 'check', { pfn: head, addr, note: `head 0x${head.toString(16)}` })) yield;
      const got = grab(k, page, 1, call, head);
      if (!got) {
        if (k.y && step(k, fn, d.grab, 'bail', { pfn: page, addr, note: 'refcount zero or overflowed, or not long-term pinnable' })) yield;
        return false;
      }
      if (k.y && step(k, fn, d.grab, 'ref', { pfn: got.head, ref: got.ref, pin: got.pin || undefined, addr })) yield;
      if (d.headRecheck && k.m.headOf(page) !== got.head) {
        // split between compound_head() and the ref: drop exactly what was taken (the head is no
        // longer compound, so put() would count it another way), and look again
        if (got.pin) k.m.mem.add(F.pincount, k.m.mem.idx(got.head), -got.pin);
        k.m.refSub(got.head, got.ref);
        if (k.y && step(k, fn, 'compound_head(page) != head', 'unref', { pfn: got.head, ref: -got.ref, addr, note: 'the page left that compound page: retry' })) yield;
        continue;
      }
      const again = yield* readPte(k, ptep, addr);
      let changed = again.lo !== pte.lo || again.hi !== pte.hi;
      if (!changed && d.pmdRecheck) {
        const nowPmd = yield* plainLoad(k, fn, 'pmd_val(pmd) != pmd_val(*pmdp)', pmdp, addr);
        changed = nowPmd.lo !== pmd.lo || nowPmd.hi !== pmd.hi;
      }
      if (changed) {
        const n = put(k, got.head, 1, call);
        if (k.y && step(k, fn, d.put, 'unref', { pfn: got.head, ref: -n, addr, note: 'entry changed under us: drop it' })) yield;
        return false;
      }
      if (k.y && step(k, fn, 'pte_val(pte) != pte_val(*ptep)', 'recheck', { ...at, note: 'unchanged' })) yield;
      const refused = refusedFolio(k, got.head, call);
      if (refused) {
        const n = put(k, got.head, 1, call);
        if (k.y && step(k, fn, refused[0], 'bail', { pfn: got.head, ref: -n, addr, note: refused[1] })) yield;
        return false;
      }
      if (d.unshare && !k.arch.write('pte', pte, k.era) && mustUnshare(k, page, call.pin)) {
        const n = put(k, got.head, 1, call);
        if (k.y && step(k, fn, 'gup_must_unshare(NULL, flags, page)', 'bail', { pfn: got.head, ref: -n, addr, note: 'a read-only pin of an anon page fork shared: the slow path unshares it' })) yield;
        return false;
      }
      k.m.mem.setFlag(got.head, 'referenced');
      recordPage(k, pages, page);
      nr.v++;
      if (k.y && step(k, fn, 'pages[*nr] = page', 'record', { pfn: page, nr: nr.v, addr })) yield;
      ptep.idx++;
      addr += PAGE_SIZE;
    } while (addr !== end);
    return true;
  }

  /** gup_huge_pmd / gup_huge_pud (gup_fast_pmd_leaf / gup_fast_pud_leaf) */
  function* gup_leaf(k: Kern, fn: string, level: 'pmd' | 'pud', orig: Ent, p: Slot, addr: number, end: number, call: GupCall, pages: PageRuns, nr: Nr): G<boolean> {
    if (enter(k, fn, fn, addr, end)) yield;
    const at = { level, lo: orig.lo, hi: orig.hi, addr };
    if (!userAccess(k, level, orig, call.write)) {
      if (k.y && step(k, fn, `${level}_access_permitted(orig, flags & FOLL_WRITE)`, 'bail', { ...at, note: 'not user, read-only for a write, or a protection key the PKRU denies' })) yield;
      return false;
    }
    if (k.arch.devmap(level, orig, k.era) && call.longterm) {
      if (k.y && step(k, fn, 'flags & FOLL_LONGTERM', 'bail', { ...at, note: 'devmap page refused for FOLL_LONGTERM' })) yield;
      return false;
    }
    const size = levelSize(k, level);
    const head = k.arch.pfn(orig);
    const first = head + Math.floor((addr % size) / PAGE_SIZE);
    if (k.arch.devmap(level, orig, k.era) && k.m.mem.hasFlag(first, 'pgmapGone')) {
      // __gup_device_huge: get_dev_pagemap finds no live pgmap for the first subpage, undo_dev_pagemap has nothing to give back
      if (k.y && step(k, fn, 'get_dev_pagemap(pfn, pgmap)', 'bail', { ...at, pfn: first, note: 'its dev_pagemap is going away: nothing taken, the slow path decides' })) yield;
      return false;
    }
    k.m.useLeaf(level, orig);
    const refs = (end - addr) / PAGE_SIZE;
    // record_subpages: one run (a 1 GiB leaf is 262,144 entries)
    const at0 = pages.length;
    if (at0 + refs > k.pagesCap) {
      pages.pushRun(first, k.pagesCap - at0);
      throw new WalkOverrun(pages.toArray(), k.pagesCap);
    }
    pages.pushRun(first, refs);
    if (k.y && step(k, fn, 'record_subpages(page, addr, end, pages + *nr)', 'record', { pfn: first, nr: nr.v + refs, addr, note: `${refs} subpage(s) into pages[]` })) yield;
    const got = grab(k, head, refs, call);
    if (!got) {
      pages.truncate(at0);
      if (k.y && step(k, fn, d.grab, 'bail', { pfn: head, note: 'head refcount zero or already overflowed' })) yield;
      return false;
    }
    if (k.y && step(k, fn, d.grab, 'ref', { pfn: head, ref: got.ref, pin: got.pin || undefined, note: call.pin ? (got.pin ? `exact pincount +${refs}` : `FOLL_PIN: ${refs} x GUP_PIN_COUNTING_BIAS`) : undefined })) yield;
    const now = yield* plainLoad(k, fn, `${level}_val(orig) != ${level}_val(*${level}p)`, p, addr);
    if (now.lo !== orig.lo || now.hi !== orig.hi) {
      pages.truncate(at0);
      const n = put(k, head, refs, call);
      if (k.y && step(k, fn, d.put, 'unref', { pfn: head, ref: -n, note: `${level} changed under us` })) yield;
      return false;
    }
    const refused = refusedFolio(k, head, call);
    if (refused) {
      pages.truncate(at0);
      const n = put(k, head, refs, call);
      if (k.y && step(k, fn, refused[0], 'bail', { pfn: head, ref: -n, note: refused[1] })) yield;
      return false;
    }
    if (d.unshare && !k.arch.write(level, orig, k.era) && mustUnshare(k, head, call.pin)) {
      pages.truncate(at0);
      const n = put(k, head, refs, call);
      if (k.y && step(k, fn, 'gup_must_unshare(NULL, flags, &folio->page)', 'bail', { pfn: head, ref: -n, note: 'a read-only pin of an anon folio fork shared: the slow path unshares it' })) yield;
      return false;
    }
    nr.v += refs;
    k.m.mem.setFlag(head, 'referenced');
    if (k.y && step(k, fn, 'SetPageReferenced(head)', 'check', { ...at, nr: nr.v })) yield;
    return true;
  }

  function* gup_pmd_range(k: Kern, pud: Ent, pudp: Slot, addr: number, end: number, call: GupCall, pages: PageRuns, nr: Nr): G<boolean> {
    const fn = d.pmd_range;
    if (enter(k, fn, fn, addr, end)) yield;
    const pmdp = descend(k, pud, pudp, 'pmd', addr);
    do {
      const pmd = k.opts.pmdLockless && !k.arch.atomicEntryLoad
        ? yield* lowHighLow(k, 'pmdp_get_lockless', pmdp, addr)
        : yield* plainLoad(k, fn, 'pmd_t pmd = READ_ONCE(*pmdp)', pmdp, addr);
      k.m.useEntry(pmdp, pmd);
      const next = levelEnd(k, 'pmd', addr, end);
      const at = { level: 'pmd' as Level, lo: pmd.lo, hi: pmd.hi, addr };
      if (!k.arch.present(pmd)) {
        if (k.y && step(k, fn, '!pmd_present(pmd)', 'bail', at)) yield;
        return false;
      }
      if (k.arch.leaf('pmd', pmd)) {
        if (k.arch.protnone(pmd)) {
          if (k.y && step(k, fn, 'pmd_protnone(pmd)', 'bail', { ...at, note: 'NUMA hinting entry' })) yield;
          return false;
        }
        if (k.y && step(k, fn, 'pmd_trans_huge(pmd) || pmd_huge(pmd)', 'check', at)) yield;
        if (!((yield gup_leaf(k, d.pmd_leaf, 'pmd', pmd, pmdp, addr, next, call, pages, nr)) as boolean)) return false;
      } else {
        if (k.y && step(k, fn, '!pmd_present(pmd)', 'check', at)) yield;
        if (!((yield gup_pte_range(k, pmd, pmdp, addr, next, call, pages, nr)) as boolean)) return false;
      }
      pmdp.idx++;
      addr = next;
    } while (addr !== end);
    return true;
  }

  function* gup_pud_range(k: Kern, p4d: Ent, p4dp: Slot, addr: number, end: number, call: GupCall, pages: PageRuns, nr: Nr): G<boolean> {
    const fn = d.pud_range;
    if (enter(k, fn, fn, addr, end)) yield;
    const pudp = descend(k, p4d, p4dp, 'pud', addr);
    do {
      const pud = yield* plainLoad(k, fn, 'pud_t pud = READ_ONCE(*pudp)', pudp, addr);
      const next = levelEnd(k, 'pud', addr, end);
      if (k.arch.none(pud)) {
        if (k.y && step(k, fn, 'unlikely(!pud_present(pud))', 'bail', { level: 'pud', addr })) yield;
        return false;
      }
      if (k.arch.leaf('pud', pud)) {
        if (!((yield gup_leaf(k, d.pud_leaf, 'pud', pud, pudp, addr, next, call, pages, nr)) as boolean)) return false;
      } else if (!((yield gup_pmd_range(k, pud, pudp, addr, next, call, pages, nr)) as boolean)) {
        return false;
      }
      pudp.idx++;
      addr = next;
    } while (addr !== end);
    return true;
  }

  function* gup_p4d_range(k: Kern, pgd: Ent, pgdp: Slot, addr: number, end: number, call: GupCall, pages: PageRuns, nr: Nr): G<boolean> {
    const fn = d.p4d_range;
    if (enter(k, fn, fn, addr, end)) yield;
    const p4dp = descend(k, pgd, pgdp, 'p4d', addr);
    do {
      const p4d = yield* plainLoad(k, fn, 'p4d_t p4d = READ_ONCE(*p4dp)', p4dp, addr);
      const next = levelEnd(k, 'p4d', addr, end);
      // p4d_none is 0 too where the pud is folded below it (PAE, LPAE): the pud test reads the entry
      if (!foldedAbove(k.arch, LEVEL_NAMES, 'p4d') && k.arch.none(p4d)) {
        if (k.y && step(k, fn, d.p4dTest ?? 'p4d_none(p4d)', 'bail', { level: 'p4d', addr })) yield;
        return false;
      }
      if (!((yield gup_pud_range(k, p4d, p4dp, addr, next, call, pages, nr)) as boolean)) return false;
      p4dp.idx++;
      addr = next;
    } while (addr !== end);
    return true;
  }

  function* gup_pgd_range(k: Kern, addr: number, end: number, call: GupCall, pages: PageRuns, nr: Nr): G<void> {
    const fn = d.pgd_range;
    if (enter(k, fn, fn, addr, end)) yield;
    const pgdp = pgdSlot(k, addr);
    do {
      const pgd = yield* plainLoad(k, fn, 'pgd_t pgd = READ_ONCE(*pgdp)', pgdp, addr);
      const next = levelEnd(k, k.arch.levels[0].level, addr, end);
      // with p4d folded below it (every modelled arch) pgd_none is 0: the p4d test reads the same entry
      if (!foldedAbove(k.arch, LEVEL_NAMES, 'pgd') && k.arch.none(pgd)) {
        if (k.y && step(k, fn, 'pgd_none(pgd)', 'bail', { level: 'pgd', addr })) yield;
        return;
      }
      if (!((yield gup_p4d_range(k, pgd, pgdp, addr, next, call, pages, nr)) as boolean)) return;
      pgdp.idx++;
      addr = next;
    } while (addr !== end);
  }

  /** The interrupts-off walk; with write_protect_seq, bracketed by it for FOLL_PIN. */
  function* lockless(k: Kern, start: number, end: number, call: GupCall, pages: PageRuns, nr: Nr): G<void> {
    const fn = d.lockless;
    const seqOn = k.opts.writeProtectSeq && call.pin;
    let seq = 0;
    if (seqOn) {
      seq = k.m.mm.write_protect_seq;
      const odd = (seq & 1) === 1;
      if (k.y && step(k, fn, 'raw_read_seqcount(&current->mm->write_protect_seq)', odd ? 'bail' : 'seq', { nr: seq, note: odd ? 'fork is copying page tables: leave it to the slow path' : undefined })) yield;
      if (odd) return;
    }
    // 5.7's internal_get_user_pages_fast turned interrupts off plainly; 5.8 made it the nesting form
    const plainIrq = !call.fastOnly && !atLeast(k, '5.8');
    yield* irqOff(k, fn, plainIrq ? 'local_irq_disable()' : 'local_irq_save(flags)');
    // 5.8: a read takes only writable ptes too, so a page fork shares goes to the slow path's COW (not fast-only: nothing to fall back on)
    const walkCall = k.opts.cowBreakReads && !call.write && !call.fastOnly ? { ...call, write: true } : call;
    yield gup_pgd_range(k, start, end, walkCall, pages, nr);
    yield* irqOn(k, fn, plainIrq ? 'local_irq_enable()' : 'local_irq_restore(flags)');
    if (seqOn) {
      const moved = k.m.mm.write_protect_seq !== seq;
      if (moved) {
        for (const p of pages.toArray()) unpin(k, p, call);
        if (k.y && step(k, fn, 'read_seqcount_retry(&current->mm->write_protect_seq, seq)', 'unref', { nr: 0, note: `fork ran meanwhile: unpin all ${pages.length} page(s)` })) yield;
        pages.truncate(0);
        nr.v = 0;
      } else if (k.y && step(k, fn, 'read_seqcount_retry(&current->mm->write_protect_seq, seq)', 'seq', { nr: seq, note: 'no fork meanwhile' })) {
        yield;
      }
    }
  }

  function unpin(k: Kern, pfn: number, call: GupCall, n = 1): void {
    put(k, k.m.headOf(pfn), n, call);
  }

  /** get_user_pages_fast / pin_user_pages_fast: the entry point over the common function. */
  function* internal(k: Kern, self: VersionModel, call: GupCall): G<GupResult> {
    const entry = `${call.pin ? 'pin' : 'get'}_user_pages_fast${call.fastOnly ? '_only' : ''}`;
    const start = call.start - (call.start % PAGE_SIZE);
    const end = start + call.nrPages * PAGE_SIZE;
    if (enter(k, entry, entry, start, end)) yield;
    // from 5.10 FOLL_LONGTERM goes only with FOLL_PIN: a long-term FOLL_GET warns and is refused
    if (call.longterm && !call.pin && atLeast(k, '5.10')) {
      const check = atLeast(k, '6.3') ? 'is_valid_gup_args(pages, NULL, &gup_flags, FOLL_GET)' : 'is_valid_gup_flags(gup_flags)';
      if (k.y && step(k, entry, check, 'bail', { addr: start, note: 'FOLL_LONGTERM without FOLL_PIN: -EINVAL' })) yield;
      return { nr: 0, ret: -22, slowPath: false, fastNr: 0, pages: [] };
    }
    const r = (yield fallback(k, self, call, start, end)) as GupResult;
    // until 6.3 the fast-only entry point answered a count and never an error (an error became 0 pages)
    if (call.fastOnly && r.ret < 0 && !atLeast(k, '6.3')) {
      if (k.y && step(k, entry, 'if (nr_pinned < 0) nr_pinned = 0', 'bail', { addr: start, note: `${r.ret} becomes 0 pages: the fast-only entry point returns no error` })) yield;
      return { ...r, ret: 0 };
    }
    return r;
  }

  /** internal_get_user_pages_fast (gup_fast_fallback in 6.x): the lockless walk, then the slow path for the rest. */
  function* fallback(k: Kern, self: VersionModel, call: GupCall, start: number, end: number): G<GupResult> {
    const fn = d.fallback;
    if (enter(k, fn, fn, start, end)) yield;
    const pages = callerPages(k, call);
    const nr: Nr = { v: 0 };
    if (call.pin && !k.m.mm.has_pinned) {
      k.m.mm.has_pinned = true;
      if (k.y && step(k, fn, 'has_pinned', 'note', { note: 'mm->has_pinned = 1' })) yield;
    }
    if (end === start && !atLeast(k, '5.10')) {
      // 5.3-5.9 turned an empty range away (end <= start); 5.10's check_add_overflow lets it through to the walk
      if (k.y && step(k, fn, 'if (end <= start)', 'bail', { addr: start, note: 'nr_pages is 0: nothing to do' })) yield;
      return { nr: 0, ret: 0, slowPath: false, fastNr: 0, pages: [] };
    }
    if (end >= 2 ** longBits(k.arch)) {
      // start + len wrapped around the address space: 5.x gives 0 pages, 6.x (by 6.6) says so
      const eoverflow = atLeast(k, '6.6');
      if (k.y && step(k, fn, 'check_add_overflow(start, len, &end)', 'bail', { addr: start, note: eoverflow ? 'the range wraps: -EOVERFLOW' : 'the range wraps: 0 pages' })) yield;
      return { nr: 0, ret: eoverflow ? -75 : 0, slowPath: false, fastNr: 0, pages: [] };
    }
    if (end > k.arch.taskSize) {
      if (k.y && step(k, fn, 'access_ok', 'bail', { addr: start, end, note: 'beyond user space: -EFAULT' })) yield;
      return { nr: 0, ret: -14, slowPath: false, fastNr: 0, pages: [] };
    }
    yield lockless(k, start, end, call, pages, nr);
    if (nr.v >= call.nrPages || call.fastOnly) return gupResult({ nr: nr.v, ret: nr.v, slowPath: false, fastNr: nr.v }, pages);
    const rest = (yield slowGup(k, self, call, start + nr.v * PAGE_SIZE, call.nrPages - nr.v)) as SlowResult;
    const all = pages.concat(rest.pages);
    const ret = nr.v > 0 ? (rest.ret < 0 ? nr.v : nr.v + rest.ret) : rest.ret;
    return gupResult({ nr: all.length, ret, slowPath: true, fastNr: nr.v }, all);
  }

  const self: VersionModel = {
    ...meta,
    era: 'modern',
    thpTails: 'head-only',
    options: OPTIONS,
    defaults: { ...DEFAULT_OPTIONS, rcuTableFree: true, ...defaults },
    gup: (k, call) => internal(k, self, call),
    release: (k, pfn, call, n) => unpin(k, pfn, call, n),
    grab: (k, pfn, call) => grab(k, pfn, 1, call) !== undefined,
  };
  return self;
}
