/**
 * x86-2008: Nick Piggin's lockless x86 walker (arch/x86/mm/gup.c, commit 8174c430e445, 2.6.27),
 * as it stood in the THP era (2.6.38 .. 4.12): pmd_trans_splitting bail-out and tail pins.
 *
 * Why it is safe without locks: interrupts are off for the whole walk, and on x86 freeing a page
 * table or a page that was mapped needs a TLB-flush IPI that this CPU cannot acknowledge until the
 * walk is done. On PAE the 64-bit pte is read low, high, then low again (gup_get_pte): a present
 * pte cannot become a different present pte without that same flush.
 * Refs: plain get_page() (the page cannot hit zero under us); THP: one atomic_add on the head for
 * all subpages plus a pin on each tail (get_huge_page_tail bumps the tail's _count here).
 * Layer: pure emulator.
 */
import type { Ent, Level } from '../arch/types';
import type { GupResult } from '../trace/types';
import {
  DEFAULT_OPTIONS, descend, entStep, offset, quickLoad, frame, irqOff, irqOn, levelEnd, pgdSlot, plainLoad, step,
  PAGE_SIZE, type G, type GupCall, type Kern, type Nr, type VersionModel,
} from './kern';
import type { Slot } from '../machine/machine';
import { getPage, isTail, putPage, tailPin } from './refs';
import { slowGup } from './slow';

const TAILS = 'tail-count' as const;

/** gup_get_pte: one load where that is atomic; on PAE low, high, then low again until stable. */
function* gup_get_pte(k: Kern, ptep: Slot, addr: number): G<Ent> {
  const fn = 'gup_get_pte';
  if (k.arch.atomicEntryLoad) {
    const pte = k.m.load(ptep);
    if (k.y && entStep(k, fn, 'ACCESS_ONCE(*ptep)', 'load', 'pte', pte, addr)) yield;
    return pte;
  }
  for (;;) {
    const lo = k.m.loadLo(ptep);
    if (k.y && step(k, fn, 'pte.pte_low = ptep->pte_low', 'load', { level: 'pte', lo, addr, note: 'low half' })) yield;
    const hi = k.m.loadHi(ptep); // after smp_rmb(): not older than the low half
    if (k.y && step(k, fn, 'pte.pte_high = ptep->pte_high', 'load', { level: 'pte', lo, hi, addr, note: 'high half' })) yield;
    const again = k.m.loadLo(ptep); // after smp_rmb(): did the low half move under us?
    const same = again === lo;
    if (k.y && step(k, fn, 'pte.pte_low != ptep->pte_low', 'recheck', { level: 'pte', lo: again, hi, addr, note: same ? 'low half unchanged: done' : 'low half changed: retry' })) yield;
    if (same) return k.m.withGen({ lo, hi });
  }
}

/** (pte_flags(pte) & mask) == mask with mask = PRESENT|USER(|RW): a present (not protnone) user page. */
function allowed(k: Kern, level: Level, e: Ent, write: boolean): boolean {
  return k.arch.present(e) && !k.arch.protnone(e) && k.arch.user(e) && (!write || k.arch.write(level, e, k.era));
}

function* gup_pte_range(k: Kern, pmd: Ent, addr: number, end: number, write: boolean, pages: number[], nr: Nr): G<boolean> {
  const fn = 'gup_pte_range';
  return yield* frame(k, fn, 'gup_pte_range', addr, end, function* () {
    let ptep = offset(k, pmd, 'pte', addr);
    do {
      const pte = quickLoad(k, 'gup_get_pte', 'ACCESS_ONCE(*ptep)', ptep, addr) ?? (yield* gup_get_pte(k, ptep, addr));
      k.m.useEntry(ptep, pte);
      if (!allowed(k, 'pte', pte, write) || k.arch.special('pte', pte)) {
        if (k.y && step(k, fn, 'pte_flags(pte) & (mask | _PAGE_SPECIAL)', 'bail', { level: 'pte', lo: pte.lo, hi: pte.hi, addr, note: 'not a present user page (or special, or read-only for a write)' })) yield;
        return false;
      }
      if (k.y && step(k, fn, 'pte_flags(pte) & (mask | _PAGE_SPECIAL)', 'check', { level: 'pte', lo: pte.lo, hi: pte.hi, addr })) yield;
      const page = k.arch.pfn(pte);
      getPage(k, page, TAILS);
      k.m.mem.setFlag(page, 'referenced');
      if (k.y && step(k, fn, 'get_page(page)', 'ref', { pfn: k.m.headOf(page), ref: 1, addr })) yield;
      pages.push(page);
      nr.v++;
      if (k.y && step(k, fn, 'pages[*nr] = page', 'record', { pfn: page, nr: nr.v, addr })) yield;
      ptep.idx++;
      addr += PAGE_SIZE;
    } while (addr !== end);
    return true;
  });
}

/** gup_huge_pmd / gup_huge_pud: every subpage into pages[], a pin on each tail, one add on the head. */
function* gup_huge(k: Kern, fn: string, level: 'pmd' | 'pud', e: Ent, addr: number, end: number, write: boolean, pages: number[], nr: Nr): G<boolean> {
  return yield* frame(k, fn, fn, addr, end, function* () {
    if (!allowed(k, level, e, write)) {
      if (k.y && step(k, fn, '(pte_flags(pte) & mask) != mask', 'bail', { level, lo: e.lo, hi: e.hi, addr, note: 'not a present user huge page (or read-only for a write)' })) yield;
      return false;
    }
    if (k.y && step(k, fn, '(pte_flags(pte) & mask) != mask', 'check', { level, lo: e.lo, hi: e.hi, addr })) yield;
    const size = 2 ** k.m.levelInfo(level).shift;
    const head = k.arch.pfn(e);
    let page = head + Math.floor((addr % size) / PAGE_SIZE);
    let refs = 0;
    do {
      pages.push(page);
      if (k.y && step(k, fn, 'pages[*nr] = page', 'record', { pfn: page, nr: nr.v + 1, addr })) yield;
      if (isTail(k, page)) {
        tailPin(k, page, TAILS, 1);
        if (k.y && step(k, 'get_huge_page_tail', 'get_huge_page_tail(page)', 'ref', { pfn: page, note: 'tail pin for split_huge_page', addr })) yield;
      }
      nr.v++;
      page++;
      refs++;
      addr += PAGE_SIZE;
    } while (addr !== end);
    k.m.refAdd(head, refs);
    k.m.mem.setFlag(head, 'referenced');
    if (k.y && step(k, 'get_head_page_multiple', 'get_head_page_multiple(head, refs)', 'ref', { pfn: head, ref: refs })) yield;
    return true;
  });
}

function* gup_pmd_range(k: Kern, pud: Ent, pudp: Slot, addr: number, end: number, write: boolean, pages: number[], nr: Nr): G<boolean> {
  const fn = 'gup_pmd_range';
  return yield* frame(k, fn, 'gup_pmd_range', addr, end, function* () {
    let pmdp = descend(k, pud, pudp, 'pmd', addr);
    do {
      const pmd = yield* plainLoad(k, fn, 'pmd_t pmd = *pmdp', pmdp, addr);
      k.m.useEntry(pmdp, pmd);
      const next = levelEnd(k, 'pmd', addr, end);
      if (k.arch.none(pmd) || k.arch.splitting('pmd', pmd, k.era)) {
        if (k.y && step(k, fn, 'pmd_none(pmd) || pmd_trans_splitting(pmd)', 'bail', { level: 'pmd', lo: pmd.lo, hi: pmd.hi, addr, note: k.arch.none(pmd) ? 'pmd none' : 'THP being split: the slow path waits for it' })) yield;
        return false;
      }
      if (k.y && step(k, fn, 'pmd_none(pmd) || pmd_trans_splitting(pmd)', 'check', { level: 'pmd', lo: pmd.lo, hi: pmd.hi, addr })) yield;
      if (k.arch.leaf('pmd', pmd)) {
        if (!(yield* gup_huge(k, 'gup_huge_pmd', 'pmd', pmd, addr, next, write, pages, nr))) return false;
      } else if (!(yield* gup_pte_range(k, pmd, addr, next, write, pages, nr))) {
        return false;
      }
      pmdp.idx++;
      addr = next;
    } while (addr !== end);
    return true;
  });
}

function* gup_pud_range(k: Kern, pgd: Ent, pgdp: Slot, addr: number, end: number, write: boolean, pages: number[], nr: Nr): G<boolean> {
  const fn = 'gup_pud_range';
  return yield* frame(k, fn, 'gup_pud_range', addr, end, function* () {
    let pudp = descend(k, pgd, pgdp, 'pud', addr);
    do {
      const pud = yield* plainLoad(k, fn, 'pud_t pud = *pudp', pudp, addr);
      const next = levelEnd(k, 'pud', addr, end);
      if (k.arch.none(pud)) {
        if (k.y && step(k, fn, 'pud_none(pud)', 'bail', { level: 'pud', lo: pud.lo, hi: pud.hi, addr })) yield;
        return false;
      }
      if (k.arch.leaf('pud', pud)) {
        if (!(yield* gup_huge(k, 'gup_huge_pud', 'pud', pud, addr, next, write, pages, nr))) return false;
      } else if (!(yield* gup_pmd_range(k, pud, pudp, addr, next, write, pages, nr))) {
        return false;
      }
      pudp.idx++;
      addr = next;
    } while (addr !== end);
    return true;
  });
}

/** The pgd loop with interrupts off, shared by both entry points; returns whether it walked it all. */
function* walk(k: Kern, fn: string, start: number, end: number, write: boolean, pages: number[], nr: Nr): G<boolean> {
  let addr = start;
  let pgdp = pgdSlot(k, addr);
  do {
    const pgd = yield* plainLoad(k, fn, 'pgd_t pgd = *pgdp', pgdp, addr);
    const next = levelEnd(k, k.arch.levels[0].level, addr, end);
    if (k.arch.none(pgd)) {
      if (k.y && step(k, fn, 'pgd_none(pgd)', 'bail', { level: 'pgd', addr })) yield;
      return false;
    }
    if (!(yield* gup_pud_range(k, pgd, pgdp, addr, next, write, pages, nr))) return false;
    pgdp.idx++;
    addr = next;
  } while (addr !== end);
  return true;
}

function* get_user_pages_fast(k: Kern, call: GupCall): G<GupResult> {
  const fn = 'get_user_pages_fast';
  const start = call.start - (call.start % PAGE_SIZE);
  const end = start + call.nrPages * PAGE_SIZE;
  return yield* frame(k, fn, 'get_user_pages_fast', start, end, function* () {
    const pages: number[] = [];
    const nr: Nr = { v: 0 };
    let done = false;
    if (end > k.arch.taskSize || end < start) {
      if (k.y && step(k, fn, 'end >> __VIRTUAL_MASK_SHIFT', 'bail', { addr: start, end, note: 'range beyond user space: slow path' })) yield;
    } else {
      yield* irqOff(k, fn, 'local_irq_disable()');
      done = yield* walk(k, fn, start, end, call.write, pages, nr);
      yield* irqOn(k, fn, 'local_irq_enable()');
    }
    if (done) return { nr: nr.v, ret: nr.v, slowPath: false, fastNr: nr.v, pages };
    const rest = yield* slowGup(k, x86_2008, call, start + nr.v * PAGE_SIZE, call.nrPages - nr.v);
    const all = pages.concat(rest.pages);
    const ret = nr.v > 0 ? (rest.ret < 0 ? nr.v : nr.v + rest.ret) : rest.ret;
    return { nr: all.length, ret, slowPath: true, fastNr: nr.v, pages: all };
  });
}

/** __get_user_pages_fast: the IRQ-safe variant that never falls back (perf, futex). */
function* __get_user_pages_fast(k: Kern, call: GupCall): G<GupResult> {
  const fn = '__get_user_pages_fast';
  const start = call.start - (call.start % PAGE_SIZE);
  const end = start + call.nrPages * PAGE_SIZE;
  return yield* frame(k, fn, '__get_user_pages_fast', start, end, function* () {
    const pages: number[] = [];
    const nr: Nr = { v: 0 };
    yield* irqOff(k, fn, 'local_irq_save(flags)');
    yield* walk(k, fn, start, end, call.write, pages, nr);
    yield* irqOn(k, fn, 'local_irq_restore(flags)');
    return { nr: nr.v, ret: nr.v, slowPath: false, fastNr: nr.v, pages };
  });
}

export const x86_2008: VersionModel = {
  id: 'x86-2008',
  title: 'x86 lockless walker (interrupts off, gup_get_pte)',
  kernels: '2.6.27 – 4.12 (THP-era form from 2.6.38)',
  year: 2008,
  files: ['arch/x86/mm/gup.c'],
  functions: ['get_user_pages_fast', '__get_user_pages_fast', 'gup_pud_range', 'gup_pmd_range', 'gup_huge_pud', 'gup_huge_pmd', 'gup_pte_range', 'gup_get_pte', 'get_head_page_multiple', 'get_huge_page_tail'],
  change: 'GUP without mmap_sem on x86: walk with interrupts off so the TLB-flush IPI that must precede any free cannot complete; PAE ptes read low/high/low.',
  era: 'thp-split',
  arches: ['x86-64', 'x86-pae'],
  options: [],
  defaults: { ...DEFAULT_OPTIONS },
  gup: (k, call) => (call.fastOnly ? __get_user_pages_fast(k, call) : get_user_pages_fast(k, call)),
  release: (k, pfn) => putPage(k, pfn, TAILS),
  grab(k, pfn) {
    getPage(k, pfn, TAILS);
    return true;
  },
};
