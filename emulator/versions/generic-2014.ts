/**
 * generic-2014: Steve Capper's generic RCU fast GUP (mm/gup.c, commit 2667f50e8b81, 3.18,
 * CONFIG_HAVE_GENERIC_RCU_GUP), modelled on powerpc's: for arches whose TLB flush sends no IPI.
 *
 * Its assumptions, as named options: page tables are freed through RCU (`rcuTableFree`), which
 * the interrupts-off walk holds back; THP split sends a dummy IPI (`splitIpi`); the arch has a
 * pte special bit (`pteSpecial`), else gup_pte_range is a stub that returns 0 and only huge
 * pages take the fast path. Refs are speculative (get-unless-zero) and the entry is re-read
 * afterwards; on a mismatch the refs are dropped. Entry loads are plain (ACCESS_ONCE), which
 * assumes they are atomic: not so on x86 PAE (Hugh Dickins' objection in the review).
 * As merged in 3.18 it leaves NUMA-hinting entries to the slow path (pte_numa, pmd_numa: Hugh
 * Dickins' review of v3); `numaTests` off is the v3 patch without them. No user bit test
 * (access_ok covers it).
 * Layer: pure emulator.
 */
import { foldedAbove, LEVEL_NAMES_PRE_P4D, type Ent } from '../arch/types';
import type { Slot } from '../machine/machine';
import type { GupResult } from '../trace/types';
import {
  DEFAULT_OPTIONS, enter, levelSize, descend, entStep, irqOff, irqOn, levelEnd, lowHighLow, offset, pageStep, pgdSlot, plainLoad, quickLoad, callerPages, gupResult, recordPage, step,
  PAGE_SIZE, type G, type GupCall, type Kern, type Nr, type VersionModel,
} from './kern';
import { isTail, putPage, getPage, tailPin } from './refs';
import type { PageRuns } from './page-runs';
import { slowGup, type SlowResult } from './slow';

const TAILS = 'tail-mapcount' as const;

function* gup_pte_range(k: Kern, pmd: Ent, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  const fn = 'gup_pte_range';
  if (enter(k, fn, 'gup_pte_range', addr, end)) yield;
  if (!k.opts.pteSpecial) {
    if (k.y && step(k, fn, 'return 0', 'bail', { addr, note: 'no __HAVE_ARCH_PTE_SPECIAL: stub, small pages go the slow way' })) yield;
    return false;
  }
  let ptep = offset(k, pmd, 'pte', addr);
  do {
    const LOAD = 'pte_t pte = ACCESS_ONCE(*ptep)';
    // 4.13 brought x86 PAE's gup_get_pte along when x86 moved to this walker
    const pte = k.opts.pteLowHigh && !k.arch.atomicEntryLoad
      ? yield* lowHighLow(k, 'gup_get_pte', ptep, addr)
      : quickLoad(k, fn, LOAD, ptep, addr) ?? (yield* plainLoad(k, fn, LOAD, ptep, addr));
    k.m.useEntry(ptep, pte);
    if (!k.arch.present(pte) || k.arch.special('pte', pte) || (write && !k.arch.write('pte', pte, k.era))) {
      if (k.y && step(k, fn, '!pte_present(pte) || pte_special(pte)', 'bail', { level: 'pte', lo: pte.lo, hi: pte.hi, addr, note: 'not present, special, or read-only for a write' })) yield;
      return false;
    }
    if (k.opts.numaTests && k.arch.protnone(pte)) {
      if (k.y && step(k, fn, 'pte_numa(pte)', 'bail', { level: 'pte', lo: pte.lo, hi: pte.hi, addr, note: 'NUMA-hinting entry: the slow path takes the fault' })) yield;
      return false;
    }
    if (k.y && entStep(k, fn, '!pte_present(pte) || pte_special(pte)', 'check', 'pte', pte, addr)) yield;
    k.m.useLeaf('pte', pte);
    const page = k.arch.pfn(pte);
    if (!k.m.mem.valid(page)) {
      k.m.faults.push({ kind: 'pfn-outside-memory', pfn: page, detail: `pte points at frame 0x${page.toString(16)}, outside memory (VM_BUG_ON(!pfn_valid))` });
      return false;
    }
    if (!k.m.refAddUnlessZero(page, 1)) {
      if (k.y && step(k, fn, 'page_cache_get_speculative(page)', 'bail', { pfn: page, addr, note: 'refcount is zero: page being freed' })) yield;
      return false;
    }
    if (k.y && pageStep(k, fn, 'page_cache_get_speculative(page)', 'ref', page, 1, undefined, addr)) yield;
    const RECHECK = 'pte_val(pte) != pte_val(*ptep)';
    const again = quickLoad(k, fn, RECHECK, ptep, addr) ?? (yield* plainLoad(k, fn, RECHECK, ptep, addr));
    if (again.lo !== pte.lo || again.hi !== pte.hi) {
      putPage(k, page, TAILS);
      if (k.y && step(k, fn, 'put_page(page)', 'unref', { pfn: page, ref: -1, addr, note: 'pte changed under us: drop the ref' })) yield;
      return false;
    }
    if (k.y && entStep(k, fn, 'pte_val(pte) != pte_val(*ptep)', 'recheck', 'pte', again, addr)) yield;
    recordPage(k, pages, page);
    nr.v++;
    if (k.y && pageStep(k, fn, 'pages[*nr] = page', 'record', page, undefined, nr.v, addr)) yield;
    ptep.idx++;
    addr += PAGE_SIZE;
  } while (addr !== end);
  return true;
}

/** gup_huge_pmd / gup_huge_pud: count, add all refs to the head at once, re-check, then tail pins. */
function* gup_huge(k: Kern, fn: string, level: 'pmd' | 'pud', orig: Ent, p: Slot, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  if (enter(k, fn, fn, addr, end)) yield;
  const wr = level === 'pmd' ? 'write && !pmd_write(orig)' : 'write && !pud_write(orig)';
  if (write && !k.arch.write(level, orig, k.era)) {
    if (k.y && step(k, fn, wr, 'bail', { level, lo: orig.lo, hi: orig.hi, addr, note: 'read-only huge page, write wanted' })) yield;
    return false;
  }
  k.m.useLeaf(level, orig);
  const size = levelSize(k, level);
  const head = k.arch.pfn(orig);
  const first = head + Math.floor((addr % size) / PAGE_SIZE);
  let page = first;
  let refs = 0;
  do {
    recordPage(k, pages, page);
    nr.v++;
    if (k.y && step(k, fn, 'pages[*nr] = page', 'record', { pfn: page, nr: nr.v, addr })) yield;
    page++;
    refs++;
    addr += PAGE_SIZE;
  } while (addr !== end);
  if (!k.m.refAddUnlessZero(head, refs)) {
    nr.v -= refs;
    pages.truncate(pages.length - refs);
    if (k.y && step(k, fn, 'page_cache_add_speculative(head, refs)', 'bail', { pfn: head, note: 'head refcount is zero' })) yield;
    return false;
  }
  if (k.y && step(k, fn, 'page_cache_add_speculative(head, refs)', 'ref', { pfn: head, ref: refs })) yield;
  const now = yield* plainLoad(k, fn, level === 'pmd' ? 'pmd_val(orig) != pmd_val(*pmdp)' : 'pud_val(orig) != pud_val(*pudp)', p, addr);
  if (now.lo !== orig.lo || now.hi !== orig.hi) {
    nr.v -= refs;
    pages.truncate(pages.length - refs);
    k.m.refSub(head, refs);
    if (k.y && step(k, fn, 'put_page(head)', 'unref', { pfn: head, ref: -refs, note: `${level} changed under us: drop all ${refs} refs` })) yield;
    return false;
  }
  for (let t = first; t < first + refs; t++) {
    if (isTail(k, t)) {
      tailPin(k, t, TAILS, 1);
      if (k.y && step(k, fn, 'get_huge_page_tail(tail)', 'ref', { pfn: t, note: 'tail pin for split_huge_page' })) yield;
    }
  }
  return true;
}

function* gup_pmd_range(k: Kern, pud: Ent, pudp: Slot, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  const fn = 'gup_pmd_range';
  if (enter(k, fn, 'gup_pmd_range', addr, end)) yield;
  let pmdp = descend(k, pud, pudp, 'pmd', addr);
  do {
    const pmd = yield* plainLoad(k, fn, 'pmd_t pmd = ACCESS_ONCE(*pmdp)', pmdp, addr);
    k.m.useEntry(pmdp, pmd);
    const next = levelEnd(k, 'pmd', addr, end);
    if (k.arch.none(pmd) || k.arch.splitting('pmd', pmd, k.era)) {
      if (k.y && step(k, fn, 'pmd_none(pmd) || pmd_trans_splitting(pmd)', 'bail', { level: 'pmd', lo: pmd.lo, hi: pmd.hi, addr, note: k.arch.none(pmd) ? 'pmd none' : 'THP being split' })) yield;
      return false;
    }
    if (k.y && step(k, fn, 'pmd_none(pmd) || pmd_trans_splitting(pmd)', 'check', { level: 'pmd', lo: pmd.lo, hi: pmd.hi, addr })) yield;
    if (k.arch.leaf('pmd', pmd)) {
      if (k.opts.numaTests && k.arch.protnone(pmd)) {
        if (k.y && step(k, fn, 'pmd_numa(pmd)', 'bail', { level: 'pmd', lo: pmd.lo, hi: pmd.hi, addr, note: 'NUMA-hinting huge pmd: the slow path takes the fault' })) yield;
        return false;
      }
      if (!((yield gup_huge(k, 'gup_huge_pmd', 'pmd', pmd, pmdp, addr, next, write, pages, nr)) as boolean)) return false;
    } else if (!((yield gup_pte_range(k, pmd, addr, next, write, pages, nr)) as boolean)) {
      return false;
    }
    pmdp.idx++;
    addr = next;
  } while (addr !== end);
  return true;
}

function* gup_pud_range(k: Kern, pgd: Ent, pgdp: Slot, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  const fn = 'gup_pud_range';
  if (enter(k, fn, 'gup_pud_range', addr, end)) yield;
  let pudp = descend(k, pgd, pgdp, 'pud', addr);
  do {
    const pud = yield* plainLoad(k, fn, 'pud_t pud = ACCESS_ONCE(*pudp)', pudp, addr);
    const next = levelEnd(k, 'pud', addr, end);
    if (k.arch.none(pud)) {
      if (k.y && step(k, fn, 'pud_none(pud)', 'bail', { level: 'pud', addr })) yield;
      return false;
    }
    if (k.arch.leaf('pud', pud)) {
      if (!((yield gup_huge(k, 'gup_huge_pud', 'pud', pud, pudp, addr, next, write, pages, nr)) as boolean)) return false;
    } else if (!((yield gup_pmd_range(k, pud, pudp, addr, next, write, pages, nr)) as boolean)) {
      return false;
    }
    pudp.idx++;
    addr = next;
  } while (addr !== end);
  return true;
}

function* __get_user_pages_fast(k: Kern, call: GupCall, start: number, pages: PageRuns, nr: Nr): G<number> {
  const fn = '__get_user_pages_fast';
  const end = start + call.nrPages * PAGE_SIZE;
  if (enter(k, fn, '__get_user_pages_fast', start, end)) yield;
  if (end > k.arch.taskSize) {
    if (k.y && step(k, fn, 'access_ok', 'bail', { addr: start, end, note: 'range beyond user space' })) yield;
    return 0;
  }
  yield* irqOff(k, fn, 'local_irq_save(flags)');
  let addr = start;
  let pgdp = pgdSlot(k, addr);
  do {
    const next = levelEnd(k, k.arch.levels[0].level, addr, end);
    const pgd = yield* plainLoad(k, fn, 'pgd_none(*pgdp)', pgdp, addr);
    // pgd_none is 0 where the pud is folded below it (PAE, LPAE): the pud test reads the same entry
    if (!foldedAbove(k.arch, LEVEL_NAMES_PRE_P4D, 'pgd') && k.arch.none(pgd)) {
      if (k.y && step(k, fn, 'pgd_none(*pgdp)', 'bail', { level: 'pgd', addr })) yield;
      break;
    }
    if (!((yield gup_pud_range(k, pgd, pgdp, addr, next, call.write, pages, nr)) as boolean)) break;
    pgdp.idx++;
    addr = next;
  } while (addr !== end);
  yield* irqOn(k, fn, 'local_irq_restore(flags)');
  return nr.v;
}

function* get_user_pages_fast(k: Kern, call: GupCall): G<GupResult> {
  const fn = 'get_user_pages_fast';
  const start = call.start - (call.start % PAGE_SIZE);
  if (enter(k, fn, 'get_user_pages_fast', start, start + call.nrPages * PAGE_SIZE)) yield;
  const pages = callerPages(k, call);
  const nr: Nr = { v: 0 };
  yield __get_user_pages_fast(k, call, start, pages, nr);
  if (nr.v >= call.nrPages || call.fastOnly) return gupResult({ nr: nr.v, ret: nr.v, slowPath: false, fastNr: nr.v }, pages);
  const rest = (yield slowGup(k, generic_2014, call, start + nr.v * PAGE_SIZE, call.nrPages - nr.v)) as SlowResult;
  const all = pages.concat(rest.pages);
  const ret = nr.v > 0 ? (rest.ret < 0 ? nr.v : nr.v + rest.ret) : rest.ret;
  return gupResult({ nr: all.length, ret, slowPath: true, fastNr: nr.v }, all);
}

export const generic_2014: VersionModel = {
  id: 'generic-2014',
  title: 'generic RCU fast GUP (speculative ref + re-check)',
  kernels: '3.18 – 4.4 as merged (pte_numa/pmd_numa; pte_protnone from 4.0); numaTests off is the v3 patch',
  since: '3.18',
  year: 2014,
  files: ['mm/gup.c'],
  functions: ['get_user_pages_fast', '__get_user_pages_fast', 'gup_pud_range', 'gup_pmd_range', 'gup_huge_pud', 'gup_huge_pmd', 'gup_pte_range'],
  change: 'One fast GUP for arches without IPI-based TLB flush: RCU table free, get-unless-zero refs re-checked against the entry, dummy IPI on THP split.',
  era: 'thp-split',
  thpTails: TAILS,
  arches: ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'],
  options: [
    { name: 'pteSpecial', title: 'arch has pte_special', kernel: '__HAVE_ARCH_PTE_SPECIAL' },
    { name: 'rcuTableFree', title: 'page tables freed through RCU', kernel: 'HAVE_RCU_TABLE_FREE' },
    { name: 'splitIpi', title: 'THP split sends a dummy IPI', kernel: 'pmdp_splitting_flush → kick_all_cpus_sync' },
    { name: 'pteLowHigh', title: 'x86 PAE reads the pte low, high, low (gup_get_pte, as x86 brought it in 4.13)', kernel: 'gup_get_pte / CONFIG_GUP_GET_PTE_LOW_HIGH' },
    { name: 'numaTests', title: 'NUMA-hinting entries go the slow way (as merged; off: the v3 patch)', kernel: 'pte_numa / pmd_numa' },
  ],
  defaults: { ...DEFAULT_OPTIONS, pteSpecial: true, rcuTableFree: true, splitIpi: true },
  gup: get_user_pages_fast,
  release: (k, pfn, _call, n) => putPage(k, pfn, TAILS, n),
  grab(k, pfn) {
    getPage(k, pfn, TAILS);
    return true;
  },
};
