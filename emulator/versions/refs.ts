/**
 * struct page reference rules of each era, as the version models use them.
 *
 * Before 4.5 (Kirill Shutemov's THP refcount rework) a reference on a THP tail page went to the
 * head's count, with a per-tail pin kept on the tail itself so __split_huge_page_refcount could
 * hand the pins to the tails: on the tail's _count in the 2.6.38 x86 code
 * (get_huge_page_tail bumps _count there), on the tail's _mapcount from 3.x (mm/internal.h).
 * From 4.5 every reference goes to the compound head only.
 * Layer: pure emulator.
 */
import { F, PG, type Field } from '../machine/memory';
import { atLeast, type Kern } from './kern';

export type TailScheme = 'tail-count' | 'tail-mapcount' | 'head-only';

export function isTail(k: Kern, pfn: number): boolean {
  return (k.m.mem.at(F.flags, k.m.mem.idx(pfn)) & PG.tail) !== 0;
}

/** The per-tail pin that pre-4.5 kernels kept for split_huge_page. */
export function tailPin(k: Kern, pfn: number, scheme: TailScheme, n: number): void {
  const i = k.m.mem.idx(pfn);
  const f = tailPinField(scheme);
  if (f !== null) k.m.mem.put(f, i, (k.m.mem.at(f, i) + n) | 0);
}

/** Where a tail's split pins are kept in this scheme (none: no tail pins). */
export function tailPinField(scheme: TailScheme): Field | null {
  return scheme === 'tail-count' ? F.refcount : scheme === 'tail-mapcount' ? F.mapcount : null;
}

/**
 * Does a tail of this page keep split pins? Only THP tails: hugetlbfs pages never split, and
 * skip tail refcounting (3.13; x86's gup_huge_pud never pinned tails). The 1 GiB pages of the
 * scenarios are hugetlbfs; THPs are pmd-sized.
 */
function splitPins(k: Kern, head: number): boolean {
  return k.m.mem.at(F.order, k.m.mem.idx(head)) <= 9;
}

/** get_page(): one reference, on the head; a THP tail also gets its split pin in the old scheme. */
export function getPage(k: Kern, pfn: number, scheme: TailScheme): void {
  const head = k.m.headOf(pfn);
  k.m.refAdd(head, 1);
  if (head !== pfn && splitPins(k, head)) tailPin(k, pfn, scheme, 1);
}

/**
 * put_page(): the reverse of getPage, for whatever the page is now (a split may have happened);
 * `n` consecutive pages from pfn one by one, as a caller puts a FOLL_GET range back.
 */
export function putPage(k: Kern, pfn: number, scheme: TailScheme, n = 1): void {
  for (let j = 0; j < n; j++) {
    const head = k.m.headOf(pfn + j);
    if (head !== pfn + j && splitPins(k, head)) tailPin(k, pfn + j, scheme, -1);
    k.m.refSub(head, 1);
  }
}

/** The pin bias of FOLL_PIN (include/linux/mm.h, 5.7). */
export const GUP_PIN_COUNTING_BIAS = 1024;

/**
 * page_maybe_dma_pinned (5.7): with an exact pin count (a compound page of order > 1 when
 * hpage_pinned_refcount is available) any pin shows; otherwise a refcount at or above the bias.
 */
export function maybeDmaPinned(k: Kern, pfn: number, exactPincount: boolean): boolean {
  const head = k.m.headOf(pfn);
  const i = k.m.mem.idx(head);
  if (exactPincount && k.m.mem.at(F.order, i) > 1) return k.m.mem.at(F.pincount, i) > 0;
  return k.m.mem.at(F.refcount, i) >>> 0 >= GUP_PIN_COUNTING_BIAS; // unsigned, as the kernel compares it
}

/**
 * PageAnonExclusive (5.19): an anon page this mm alone maps. fork clears it on the pages it
 * shares, which the scenarios show as a reference held outside this mm.
 */
export function anonExclusive(k: Kern, pfn: number): boolean {
  const h = k.m.headOf(pfn);
  return k.m.mem.hasFlag(h, 'anon') && !k.m.holds.has(h);
}

/** A pin of the shared zero page takes nothing from 6.5 (pin_user_pages leaves it alone: it is going nowhere); a 6.1 tree still pins it. */
export function zeroNotPinned(k: Kern, pfn: number): boolean {
  return k.m.mem.hasFlag(k.m.headOf(pfn), 'zero') && atLeast(k, '6.5');
}

/** gup_must_unshare: a FOLL_PIN that may not write must not pin an anon page fork shared (5.19+). */
export function mustUnshare(k: Kern, pfn: number, pin: boolean | undefined): boolean {
  return !!pin && k.m.mem.hasFlag(k.m.headOf(pfn), 'anon') && !anonExclusive(k, pfn);
}
