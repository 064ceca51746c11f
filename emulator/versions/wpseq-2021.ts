/**
 * wpseq-2021: mm/gup.c from 5.11 (backported to 5.10.y). Jason Gunthorpe's 57efa1fe5957
 * "mm/gup: prevent gup_fast from racing with COW during fork": fork writes mm->write_protect_seq
 * around copy_page_range; lockless_pages_from_mm reads it before a FOLL_PIN walk (odd: give up),
 * and after it (changed: unpin everything and return 0), so the slow path, which waits for
 * mmap_lock, does the pinning. FOLL_FAST_ONLY callers get 0 instead. Layer: pure emulator.
 */
import { pinWalker } from './pin-walker';

export const wpseq_2021 = pinWalker(
  {
    id: 'wpseq-2021',
    title: 'write_protect_seq: FOLL_PIN fast GUP backs off when fork runs',
    kernels: '5.11 – 5.17',
    since: '5.11',
    year: 2021,
    files: ['mm/gup.c', 'mm/memory.c'],
    functions: [
      'pin_user_pages_fast', 'get_user_pages_fast', 'internal_get_user_pages_fast', 'lockless_pages_from_mm', 'gup_pgd_range', 'gup_p4d_range',
      'gup_pud_range', 'gup_pmd_range', 'gup_pte_range', 'gup_huge_pmd', 'gup_huge_pud', 'gup_get_pte', 'record_subpages',
      'try_grab_compound_head', 'try_grab_page', 'put_compound_head', 'unpin_user_page',
    ],
    change: 'mm->write_protect_seq brackets fork\'s copy_page_range; a FOLL_PIN fast walk that overlapped it unpins and falls back.',
    arches: ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'],
  },
  {
    pte_range: 'gup_pte_range', pmd_leaf: 'gup_huge_pmd', pud_leaf: 'gup_huge_pud', pmd_range: 'gup_pmd_range', pud_range: 'gup_pud_range',
    p4d_range: 'gup_p4d_range', pgd_range: 'gup_pgd_range', lockless: 'lockless_pages_from_mm', fallback: 'internal_get_user_pages_fast',
    grab: 'try_grab_compound_head', put: 'put_compound_head', getPte: 'gup_get_pte',
    pmdRecheck: false, folio: false, longtermCheck: true, headRecheck: true, unshare: false,
  },
  { hpagePincount: true, writeProtectSeq: true },
);
