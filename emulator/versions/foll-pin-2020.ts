/**
 * foll-pin-2020: mm/gup.c from 5.7 to 5.10. John Hubbard's FOLL_PIN (pin_user_pages_fast,
 * 3faa52c03f44): pins add GUP_PIN_COUNTING_BIAS (1024) to the refcount, so
 * page_maybe_dma_pinned() can tell; compound pages of order > 1 keep an exact pin count in
 * their third struct page instead (hpage_pinned_refcount, 47e29d32afba). try_grab_compound_head
 * refuses a head whose refcount already went negative (the 5.1 overflow guard). 5.8 de-duplicated
 * the fast paths (internal_get_user_pages_fast, FOLL_FAST_ONLY, record_subpages); 5.9 added
 * mm->has_pinned for fork's early COW of maybe-pinned pages. Layer: pure emulator.
 */
import { pinWalker } from './pin-walker';

export const foll_pin_2020 = pinWalker(
  {
    id: 'foll-pin-2020',
    title: 'FOLL_PIN: pin_user_pages_fast, GUP_PIN_COUNTING_BIAS, exact pincount for huge pages',
    kernels: '5.7 – 5.10 (mm->has_pinned, which fork checks, from 5.9)',
    since: '5.7',
    year: 2020,
    files: ['mm/gup.c'],
    functions: [
      'pin_user_pages_fast', 'get_user_pages_fast', 'internal_get_user_pages_fast', 'gup_pgd_range', 'gup_p4d_range', 'gup_pud_range',
      'gup_pmd_range', 'gup_pte_range', 'gup_huge_pmd', 'gup_huge_pud', 'gup_huge_pgd', 'gup_get_pte', 'record_subpages',
      'try_grab_compound_head', 'try_grab_page', 'put_compound_head', 'undo_dev_pagemap', 'unpin_user_page',
    ],
    change: 'Pins counted apart from refs: FOLL_PIN adds 1024 per page (exact pincount for order > 1), protnone and FOLL_LONGTERM devmap left to the slow path.',
    arches: ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'],
  },
  {
    pte_range: 'gup_pte_range', pmd_leaf: 'gup_huge_pmd', pud_leaf: 'gup_huge_pud', pmd_range: 'gup_pmd_range', pud_range: 'gup_pud_range',
    p4d_range: 'gup_p4d_range', pgd_range: 'gup_pgd_range', lockless: 'internal_get_user_pages_fast', fallback: 'internal_get_user_pages_fast',
    grab: 'try_grab_compound_head', put: 'put_compound_head', getPte: 'gup_get_pte',
    pmdRecheck: false, folio: false, longtermCheck: true, headRecheck: false, unshare: false,
  },
  { hpagePincount: true, writeProtectSeq: false },
);
