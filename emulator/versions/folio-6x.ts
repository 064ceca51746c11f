/**
 * folio-6x: mm/gup.c of 6.1 onwards, over the folio conversion, in two dialects of one walker:
 * 6.1–6.9 (gup_pte_range names, lockless_pages_from_mm, try_grab_folio; 6.6.y backported
 * try_grab_folio_fast) and 6.10+ (David Hildenbrand's gup_fast_* names). The folio grab takes a
 * ref unless zero, refuses FOLL_LONGTERM pins of folios that are not long-term pinnable (CMA,
 * movable), and pins a large folio by its exact _pincount, a small one by refcount x 1024.
 * ptep_get_lockless reads low, high, low on PAE, and from 6.2 pmdp_get_lockless does the same
 * for pmds (6.1 read them with READ_ONCE: switch pmdLockless off). Since 6.1 (Yang Shi,
 * 70cbc3cc78a99) the pte walk also re-checks the pmd, so a racing khugepaged collapse is
 * noticed. write_protect_seq as in 5.11.
 * Not modelled: gup_fast_folio_allowed, secretmem.
 * Layer: pure emulator.
 */
import type { VersionModel } from './kern';
import { pinWalker, type PinDialect } from './pin-walker';

const ARCHES: VersionModel['arches'] = ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'];
const CHANGE = 'Folios: exact _pincount for every large folio, long-term pins of unpinnable folios refused in the fast path, pmd re-checked after a pte ref.';
const BEHAVIOUR = { folio: true, pmdRecheck: true, longtermCheck: true, headRecheck: true, unshare: true } as const;
const DEFAULTS = { hpagePincount: true, writeProtectSeq: true, pmdLockless: true };
const DIALECTS = [
  { id: 'folio-6x', kernels: '6.10 – 6.1x (gup_fast_* names)' },
  { id: 'folio-6x@6.1', kernels: '6.1 – 6.9 (gup_pte_range names; 6.1 reads pmds with READ_ONCE)' },
];

const NAMES_610: PinDialect = {
  pte_range: 'gup_fast_pte_range', pmd_leaf: 'gup_fast_pmd_leaf', pud_leaf: 'gup_fast_pud_leaf', pmd_range: 'gup_fast_pmd_range',
  pud_range: 'gup_fast_pud_range', p4d_range: 'gup_fast_p4d_range', pgd_range: 'gup_fast_pgd_range', lockless: 'gup_fast', fallback: 'gup_fast_fallback',
  grab: 'try_grab_folio_fast', put: 'gup_put_folio', getPte: 'ptep_get_lockless', p4dTest: '!p4d_present(p4d)', ...BEHAVIOUR,
};

const NAMES_61: PinDialect = {
  pte_range: 'gup_pte_range', pmd_leaf: 'gup_huge_pmd', pud_leaf: 'gup_huge_pud', pmd_range: 'gup_pmd_range', pud_range: 'gup_pud_range',
  p4d_range: 'gup_p4d_range', pgd_range: 'gup_pgd_range', lockless: 'lockless_pages_from_mm', fallback: 'internal_get_user_pages_fast',
  grab: 'try_grab_folio', put: 'gup_put_folio', getPte: 'ptep_get_lockless', ...BEHAVIOUR,
};

export const folio_6x = pinWalker(
  {
    id: 'folio-6x',
    title: 'folio era: try_grab_folio(_fast), and from 6.10 the gup_fast_* walker',
    kernels: '6.1 – 6.1x',
    since: '6.10',
    year: 2024,
    files: ['mm/gup.c'],
    functions: [
      'pin_user_pages_fast', 'get_user_pages_fast', 'gup_fast_fallback', 'gup_fast', 'gup_fast_pgd_range', 'gup_fast_p4d_range',
      'gup_fast_pud_range', 'gup_fast_pmd_range', 'gup_fast_pte_range', 'gup_fast_pmd_leaf', 'gup_fast_pud_leaf', 'ptep_get_lockless',
      'pmdp_get_lockless', 'try_grab_folio_fast', 'gup_put_folio', 'record_subpages', 'unpin_user_page',
    ],
    change: CHANGE,
    arches: ARCHES,
    dialects: DIALECTS,
  },
  NAMES_610,
  DEFAULTS,
);

/** The 6.1–6.9 dialect (6.1 and 6.6 LTS), reached as getVersion('folio-6x@6.1') or by a file that has its names. */
export const folio_61 = pinWalker(
  {
    id: 'folio-6x@6.1',
    title: 'folio era, 6.1 – 6.9 names: try_grab_folio and the gup_pte_range walker',
    kernels: '6.1 – 6.9',
    since: '6.1',
    year: 2022,
    files: ['mm/gup.c'],
    functions: [
      'pin_user_pages_fast', 'get_user_pages_fast', 'internal_get_user_pages_fast', 'lockless_pages_from_mm', 'gup_pgd_range', 'gup_p4d_range',
      'gup_pud_range', 'gup_pmd_range', 'gup_pte_range', 'gup_huge_pmd', 'gup_huge_pud', 'ptep_get_lockless', 'pmdp_get_lockless',
      'try_grab_folio', 'try_grab_folio_fast', 'gup_put_folio', 'record_subpages', 'unpin_user_page',
    ],
    change: CHANGE,
    arches: ARCHES,
  },
  NAMES_61,
  // 6.1 read pmds with READ_ONCE; pmdp_get_lockless came in 6.2
  { ...DEFAULTS, pmdLockless: false },
);
