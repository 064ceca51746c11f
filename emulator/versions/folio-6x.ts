/**
 * folio-6x: mm/gup.c of 6.10 onwards, with David Hildenbrand's gup_fast_* names (6.10) over the
 * folio conversion: try_grab_folio_fast takes a ref unless zero, refuses FOLL_LONGTERM pins of
 * folios that are not long-term pinnable (CMA, movable), and pins a large folio by its exact
 * _pincount, a small one by refcount x 1024. ptep_get_lockless / pmdp_get_lockless read low,
 * high, low on PAE. Since 6.1 (Yang Shi, 70cbc3cc78a99) the pte walk also re-checks the pmd, so
 * a racing khugepaged collapse is noticed. write_protect_seq as in 5.11.
 * Not modelled: gup_must_unshare (PageAnonExclusive), gup_fast_folio_allowed, secretmem.
 * Layer: pure emulator.
 */
import { pinWalker } from './pin-walker';

export const folio_6x = pinWalker(
  {
    id: 'folio-6x',
    title: 'folio era: try_grab_folio_fast and the gup_fast_* walker',
    kernels: '6.10 – 6.1x',
    year: 2024,
    files: ['mm/gup.c'],
    functions: [
      'pin_user_pages_fast', 'get_user_pages_fast', 'gup_fast_fallback', 'gup_fast', 'gup_fast_pgd_range', 'gup_fast_p4d_range',
      'gup_fast_pud_range', 'gup_fast_pmd_range', 'gup_fast_pte_range', 'gup_fast_pmd_leaf', 'gup_fast_pud_leaf', 'ptep_get_lockless',
      'pmdp_get_lockless', 'try_grab_folio_fast', 'gup_put_folio', 'record_subpages', 'unpin_user_page',
    ],
    change: 'Folios: exact _pincount for every large folio, long-term pins of unpinnable folios refused in the fast path, pmd re-checked after a pte ref.',
    arches: ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'],
  },
  {
    pte_range: 'gup_fast_pte_range', pmd_leaf: 'gup_fast_pmd_leaf', pud_leaf: 'gup_fast_pud_leaf', pmd_range: 'gup_fast_pmd_range',
    pud_range: 'gup_fast_pud_range', p4d_range: 'gup_fast_p4d_range', pgd_range: 'gup_fast_pgd_range', lockless: 'gup_fast', fallback: 'gup_fast_fallback',
    grab: 'try_grab_folio_fast', put: 'gup_put_folio', getPte: 'ptep_get_lockless',
    pmdLockless: true, pmdRecheck: true, folio: true, longtermCheck: true, headRecheck: true,
  },
  { hpagePincount: true, writeProtectSeq: true },
);
