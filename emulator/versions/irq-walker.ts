/**
 * The interrupts-off walker of the x86 file (Nick Piggin, 2008) and of its 2013 ARM copy: one
 * body, a dialect each for what differs (how a pte is read, the statements' spelling, how THP
 * tail pins were counted). Plain get_page() refs, no re-check: the walk relies on interrupts
 * being off to hold back whatever would free what it reads. That holds where the TLB flush is an
 * IPI (x86) and not where it is a hardware broadcast (ARM), which is the 2013 RFC's flaw.
 * Layer: pure emulator.
 */
import { foldedAbove, LEVEL_NAMES_PRE_P4D, type Ent, type Level } from '../arch/types';
import type { GupResult } from '../trace/types';
import {
  DEFAULT_OPTIONS, enter, levelSize, descend, entStep, lowHighLow, offset, pageStep, quickLoad, irqOff, irqOn, levelEnd, pgdSlot, plainLoad, callerPages, gupResult, recordPage, step,
  PAGE_SIZE, type G, type GupCall, type Kern, type Nr, type VersionModel,
} from './kern';
import type { Slot } from '../machine/machine';
import { getPage, isTail, putPage, tailPin, type TailScheme } from './refs';
import type { PageRuns } from './page-runs';
import { slowGup, type SlowResult } from './slow';

/** What differs between the x86 walker and its ARM copy. */
export interface IrqDialect {
  /** x86: gup_get_pte re-reads the low half on PAE; ARM: a plain ACCESS_ONCE */
  getPte: 'low-high-low' | 'plain';
  tails: TailScheme;
  pteCheck: string;
  hugeCheck: string;
  pmdLoad: string;
  pudLoad: string;
  pgdLoad: string;
  /** gup_huge_pud pins tails too: only the ARM copy did; x86 never did (GUP-FACTS §9) */
  pudTailPins: boolean;
  /** the x86 file checked the end against the user address space only on x86-64 (`end >> __VIRTUAL_MASK_SHIFT` under CONFIG_X86_64) */
  endCheck64Only?: boolean;
}

type Meta = Omit<VersionModel, 'gup' | 'release' | 'grab' | 'thpTails' | 'options' | 'defaults'>;

/** gup_get_pte: one load where that is atomic; on PAE low, high, then low again until stable. */
function* gup_get_pte(k: Kern, d: IrqDialect, ptep: Slot, addr: number): G<Ent> {
  const fn = 'gup_get_pte';
  if (d.getPte === 'plain') return yield* plainLoad(k, fn, 'ACCESS_ONCE(*ptep)', ptep, addr);
  if (k.arch.atomicEntryLoad) {
    const pte = k.m.load(ptep);
    if (k.y && entStep(k, fn, 'ACCESS_ONCE(*ptep)', 'load', 'pte', pte, addr)) yield;
    return pte;
  }
  return yield* lowHighLow(k, fn, ptep, addr);
}

/** (pte_flags(pte) & mask) == mask with mask = PRESENT|USER(|RW): a present (not protnone) user page. */
function allowed(k: Kern, level: Level, e: Ent, write: boolean): boolean {
  return k.arch.present(e) && !k.arch.protnone(e) && k.arch.user(e) && (!write || k.arch.write(level, e, k.era));
}

function* gup_pte_range(k: Kern, d: IrqDialect, pmd: Ent, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  const fn = 'gup_pte_range';
  if (enter(k, fn, 'gup_pte_range', addr, end)) yield;
  let ptep = offset(k, pmd, 'pte', addr);
  do {
    const pte = quickLoad(k, 'gup_get_pte', 'ACCESS_ONCE(*ptep)', ptep, addr) ?? (yield* gup_get_pte(k, d, ptep, addr));
    k.m.useEntry(ptep, pte);
    if (!allowed(k, 'pte', pte, write) || k.arch.special('pte', pte)) {
      if (k.y && step(k, fn, d.pteCheck, 'bail', { level: 'pte', lo: pte.lo, hi: pte.hi, addr, note: 'not a present user page (or special, or read-only for a write)' })) yield;
      return false;
    }
    if (k.y && entStep(k, fn, d.pteCheck, 'check', 'pte', pte, addr)) yield;
    const page = k.arch.pfn(pte);
    getPage(k, page, d.tails);
    k.m.mem.setFlag(page, 'referenced');
    if (k.y && pageStep(k, fn, 'get_page(page)', 'ref', k.m.headOf(page), 1, undefined, addr)) yield;
    recordPage(k, pages, page);
    nr.v++;
    if (k.y && pageStep(k, fn, 'pages[*nr] = page', 'record', page, undefined, nr.v, addr)) yield;
    ptep.idx++;
    addr += PAGE_SIZE;
  } while (addr !== end);
  return true;
}

/** gup_huge_pmd / gup_huge_pud: every subpage into pages[], a pin on each tail, one add on the head. */
function* gup_huge(k: Kern, d: IrqDialect, fn: string, level: 'pmd' | 'pud', e: Ent, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  if (enter(k, fn, fn, addr, end)) yield;
  if (!allowed(k, level, e, write)) {
    if (k.y && step(k, fn, d.hugeCheck, 'bail', { level, lo: e.lo, hi: e.hi, addr, note: 'not a present user huge page (or read-only for a write)' })) yield;
    return false;
  }
  if (k.y && step(k, fn, d.hugeCheck, 'check', { level, lo: e.lo, hi: e.hi, addr })) yield;
  const size = levelSize(k, level);
  const head = k.arch.pfn(e);
  let page = head + Math.floor((addr % size) / PAGE_SIZE);
  let refs = 0;
  do {
    recordPage(k, pages, page);
    if (k.y && step(k, fn, 'pages[*nr] = page', 'record', { pfn: page, nr: nr.v + 1, addr })) yield;
    if ((level === 'pmd' || d.pudTailPins) && isTail(k, page)) {
      tailPin(k, page, d.tails, 1);
      if (k.y && step(k, fn, 'get_huge_page_tail(page)', 'ref', { pfn: page, note: 'tail pin for split_huge_page', addr })) yield;
    }
    nr.v++;
    page++;
    refs++;
    addr += PAGE_SIZE;
  } while (addr !== end);
  k.m.refAdd(head, refs);
  k.m.mem.setFlag(head, 'referenced');
  if (k.y && step(k, fn, 'get_head_page_multiple(head, refs)', 'ref', { pfn: head, ref: refs })) yield;
  return true;
}

function* gup_pmd_range(k: Kern, d: IrqDialect, pud: Ent, pudp: Slot, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  const fn = 'gup_pmd_range';
  if (enter(k, fn, 'gup_pmd_range', addr, end)) yield;
  let pmdp = descend(k, pud, pudp, 'pmd', addr);
  do {
    const pmd = yield* plainLoad(k, fn, d.pmdLoad, pmdp, addr);
    k.m.useEntry(pmdp, pmd);
    const next = levelEnd(k, 'pmd', addr, end);
    if (k.arch.none(pmd) || k.arch.splitting('pmd', pmd, k.era)) {
      if (k.y && step(k, fn, 'pmd_none(pmd) || pmd_trans_splitting(pmd)', 'bail', { level: 'pmd', lo: pmd.lo, hi: pmd.hi, addr, note: k.arch.none(pmd) ? 'pmd none' : 'THP being split: the slow path waits for it' })) yield;
      return false;
    }
    if (k.y && step(k, fn, 'pmd_none(pmd) || pmd_trans_splitting(pmd)', 'check', { level: 'pmd', lo: pmd.lo, hi: pmd.hi, addr })) yield;
    if (k.arch.leaf('pmd', pmd)) {
      if (!((yield gup_huge(k, d, 'gup_huge_pmd', 'pmd', pmd, addr, next, write, pages, nr)) as boolean)) return false;
    } else if (!((yield gup_pte_range(k, d, pmd, addr, next, write, pages, nr)) as boolean)) {
      return false;
    }
    pmdp.idx++;
    addr = next;
  } while (addr !== end);
  return true;
}

function* gup_pud_range(k: Kern, d: IrqDialect, pgd: Ent, pgdp: Slot, addr: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  const fn = 'gup_pud_range';
  if (enter(k, fn, 'gup_pud_range', addr, end)) yield;
  let pudp = descend(k, pgd, pgdp, 'pud', addr);
  do {
    const pud = yield* plainLoad(k, fn, d.pudLoad, pudp, addr);
    const next = levelEnd(k, 'pud', addr, end);
    if (k.arch.none(pud)) {
      if (k.y && step(k, fn, 'pud_none(pud)', 'bail', { level: 'pud', lo: pud.lo, hi: pud.hi, addr })) yield;
      return false;
    }
    if (k.arch.leaf('pud', pud)) {
      if (!((yield gup_huge(k, d, 'gup_huge_pud', 'pud', pud, addr, next, write, pages, nr)) as boolean)) return false;
    } else if (!((yield gup_pmd_range(k, d, pud, pudp, addr, next, write, pages, nr)) as boolean)) {
      return false;
    }
    pudp.idx++;
    addr = next;
  } while (addr !== end);
  return true;
}

/** The pgd loop with interrupts off, shared by both entry points; returns whether it walked it all. */
function* walk(k: Kern, d: IrqDialect, fn: string, start: number, end: number, write: boolean, pages: PageRuns, nr: Nr): G<boolean> {
  let addr = start;
  let pgdp = pgdSlot(k, addr);
  do {
    const pgd = yield* plainLoad(k, fn, d.pgdLoad, pgdp, addr);
    const next = levelEnd(k, k.arch.levels[0].level, addr, end);
    // before p4d: pgd_none is 0 where the pud is folded below it (PAE, LPAE); the pud test reads the entry
    if (!foldedAbove(k.arch, LEVEL_NAMES_PRE_P4D, 'pgd') && k.arch.none(pgd)) {
      if (k.y && step(k, fn, 'pgd_none(pgd)', 'bail', { level: 'pgd', addr })) yield;
      return false;
    }
    if (!((yield gup_pud_range(k, d, pgd, pgdp, addr, next, write, pages, nr)) as boolean)) return false;
    pgdp.idx++;
    addr = next;
  } while (addr !== end);
  return true;
}

function* get_user_pages_fast(k: Kern, d: IrqDialect, self: VersionModel, call: GupCall): G<GupResult> {
  const fn = 'get_user_pages_fast';
  const start = call.start - (call.start % PAGE_SIZE);
  const end = start + call.nrPages * PAGE_SIZE;
  if (enter(k, fn, 'get_user_pages_fast', start, end)) yield;
  const pages = callerPages(k, call);
  const nr: Nr = { v: 0 };
  let done = false;
  // x86 PAE had no end check here: the walk goes on until an entry stops it (and the slow path finds no VMA)
  const checked = !(d.endCheck64Only && k.arch.id === 'x86-pae');
  if (end < start || (checked && end > k.arch.taskSize)) {
    if (k.y && step(k, fn, 'end >> __VIRTUAL_MASK_SHIFT', 'bail', { addr: start, end, note: 'range beyond user space: slow path' })) yield;
  } else {
    yield* irqOff(k, fn, 'local_irq_disable()');
    done = (yield walk(k, d, fn, start, end, call.write, pages, nr)) as boolean;
    yield* irqOn(k, fn, 'local_irq_enable()');
  }
  if (done) return gupResult({ nr: nr.v, ret: nr.v, slowPath: false, fastNr: nr.v }, pages);
  const rest = (yield slowGup(k, self, call, start + nr.v * PAGE_SIZE, call.nrPages - nr.v)) as SlowResult;
  const all = pages.concat(rest.pages);
  const ret = nr.v > 0 ? (rest.ret < 0 ? nr.v : nr.v + rest.ret) : rest.ret;
  return gupResult({ nr: all.length, ret, slowPath: true, fastNr: nr.v }, all);
}

/** __get_user_pages_fast: the IRQ-safe variant that never falls back (perf, futex). */
function* __get_user_pages_fast(k: Kern, d: IrqDialect, call: GupCall): G<GupResult> {
  const fn = '__get_user_pages_fast';
  const start = call.start - (call.start % PAGE_SIZE);
  const end = start + call.nrPages * PAGE_SIZE;
  if (enter(k, fn, '__get_user_pages_fast', start, end)) yield;
  const pages = callerPages(k, call);
  const nr: Nr = { v: 0 };
  if (end < start || end > k.arch.taskSize) {
    // access_ok: the IRQ-safe variant refuses a range outside user space outright
    if (k.y && step(k, fn, 'access_ok(VERIFY_READ, (void __user *)start, len)', 'bail', { addr: start, end, note: 'range beyond user space: 0 pages' })) yield;
    return { nr: 0, ret: 0, slowPath: false, fastNr: 0, pages: [] };
  }
  yield* irqOff(k, fn, 'local_irq_save(flags)');
  yield walk(k, d, fn, start, end, call.write, pages, nr);
  yield* irqOn(k, fn, 'local_irq_restore(flags)');
  return gupResult({ nr: nr.v, ret: nr.v, slowPath: false, fastNr: nr.v }, pages);
}

/** A version model whose kernel code is the interrupts-off walker in the given dialect. */
export function irqWalker(meta: Meta, d: IrqDialect): VersionModel {
  const self: VersionModel = {
    ...meta,
    thpTails: d.tails,
    options: [],
    defaults: { ...DEFAULT_OPTIONS },
    gup: (k, call) => (call.fastOnly ? __get_user_pages_fast(k, d, call) : get_user_pages_fast(k, d, self, call)),
    release: (k, pfn, _call, n) => putPage(k, pfn, d.tails, n),
    grab(k, pfn) {
      getPage(k, pfn, d.tails);
      return true;
    },
  };
  return self;
}
