/**
 * The built-in single-caller scenarios: one layout and one GUP call each.
 * Layer: pure emulator.
 */
import type { Scenario } from './types';

const MB2 = 2 * 1024 * 1024;

export const BUILTIN: Scenario[] = [
  {
    id: 'pages-4k-16',
    title: '16 present user 4K pages, written',
    description: '16 read-write anonymous 4K pages; get_user_pages_fast(write) takes all 16 on the fast path, +1 ref each.',
    layout: [{ kind: '4k', offset: 0, count: 16 }],
    call: { offset: 0, nrPages: 16, write: true },
    showcases: [
      'gup_pte_range', 'gup_get_pte', 'get_user_pages_fast', '__get_user_pages_fast', 'gup_pmd_range', 'gup_pud_range', 'gup_p4d_range', 'gup_pgd_range',
      'internal_get_user_pages_fast', 'lockless_pages_from_mm', 'gup_fast', 'gup_fast_fallback', 'gup_fast_pte_range', 'gup_fast_pmd_range',
      'gup_fast_pud_range', 'gup_fast_p4d_range', 'gup_fast_pgd_range', 'ptep_get_lockless', 'try_grab_page',
    ],
  },
  {
    id: 'thp-pmd',
    title: 'a 2 MiB THP mapped by one pmd',
    description: 'A transparent huge page at the pmd level; all 512 subpages returned, the head page gets +512 in one atomic add.',
    layout: [{ kind: 'thp', offset: 0 }],
    call: { offset: 0, nrPages: 512, write: true },
    showcases: ['gup_huge_pmd', 'gup_fast_pmd_leaf', 'get_head_page_multiple', 'get_huge_page_tail', 'pmdp_get_lockless'],
  },
  {
    id: 'huge-pud-1g',
    title: 'a 1 GiB hugetlb page mapped by one pud (first 2 MiB of it)',
    description: 'A 1 GiB huge page at the pud level (x86-64, arm64); GUP of its first 512 subpages: +512 on the 1 GiB head.',
    layout: [{ kind: 'huge-pud', offset: 0 }],
    call: { offset: 0, nrPages: 512, write: true },
    arches: ['x86-64', 'arm64'],
    showcases: ['gup_huge_pud', 'gup_fast_pud_leaf'],
  },
  {
    id: 'pin-1g',
    title: 'pin_user_pages_fast of a 1 GiB page (first 2 MiB of it)',
    description: 'FOLL_PIN on a 1 GiB huge pud: 512 subpages pinned with one grab on the head; +512 refs and +512 pincount with an exact pin count, else 512 x 1024 refs.',
    layout: [{ kind: 'huge-pud', offset: 0 }],
    call: { offset: 0, nrPages: 512, write: true, pin: true },
    arches: ['x86-64', 'arm64'],
    showcases: ['try_grab_compound_head', 'try_grab_folio_fast', 'record_subpages', 'put_compound_head', 'gup_put_folio', 'pin_user_pages_fast', 'unpin_user_page', 'hpage_pincount_add'],
  },
  {
    id: 'cross-pmd',
    title: '16 4K pages across a pmd boundary',
    description: 'The range starts 8 pages before a 2 MiB boundary: gup_pmd_range walks two pmds and two pte tables.',
    layout: [{ kind: '4k', offset: MB2 - 8 * 4096, count: 16 }],
    call: { offset: MB2 - 8 * 4096, nrPages: 16, write: false },
  },
  {
    id: 'hole-middle',
    title: 'a not-present pte in the middle',
    description: 'Page 8 of 16 was never faulted in: the fast path stops there with 8 pages, the slow path faults it in and takes the other 8.',
    layout: [
      { kind: '4k', offset: 0, count: 8 },
      { kind: 'hole', offset: 8 * 4096, count: 1 },
      { kind: '4k', offset: 9 * 4096, count: 7 },
    ],
    call: { offset: 0, nrPages: 16, write: true },
  },
  {
    id: 'write-readonly',
    title: 'a write to a read-only pte',
    description: 'Page 4 of 8 is read-only in a writable private VMA (shared after fork): the fast path stops, the slow path breaks COW and returns the copy.',
    layout: [
      { kind: '4k', offset: 0, count: 4 },
      { kind: '4k', offset: 4 * 4096, count: 1, write: false, vmaWrite: true },
      { kind: '4k', offset: 5 * 4096, count: 3 },
    ],
    call: { offset: 0, nrPages: 8, write: true },
  },
  {
    id: 'special-pte',
    title: 'a special pte (VM_PFNMAP)',
    description: 'Page 4 of 8 is a special mapping with no refcounted struct page behind it: the fast path refuses it, the slow path stops there with -EFAULT, so 4 pages come back.',
    layout: [
      { kind: '4k', offset: 0, count: 4 },
      { kind: '4k', offset: 4 * 4096, count: 1, special: true },
      { kind: '4k', offset: 5 * 4096, count: 3 },
    ],
    call: { offset: 0, nrPages: 8, write: false },
  },
  {
    id: 'fast-only-hole',
    title: 'the fast-only entry point meets a hole: a partial result, no slow path',
    description: 'get_user_pages_fast_only (__get_user_pages_fast before 5.8) on 16 pages whose 9th was never faulted in: it returns the 8 before the hole and never falls back (IRQ-safe callers: futexes, perf).',
    layout: [
      { kind: '4k', offset: 0, count: 8 },
      { kind: 'hole', offset: 8 * 4096, count: 1 },
      { kind: '4k', offset: 9 * 4096, count: 7 },
    ],
    call: { offset: 0, nrPages: 16, write: true, fastOnly: true },
    showcases: ['get_user_pages_fast_only', '__get_user_pages_fast'],
  },
  {
    id: 'pin-fast-only-hole',
    title: 'pin_user_pages_fast_only meets a hole: a partial pin, no slow path',
    description: 'FOLL_PIN | FOLL_FAST_ONLY (5.9+) on 16 pages whose 9th was never faulted in: 8 pages pinned, the rest left to the caller.',
    layout: [
      { kind: '4k', offset: 0, count: 8 },
      { kind: 'hole', offset: 8 * 4096, count: 1 },
      { kind: '4k', offset: 9 * 4096, count: 7 },
    ],
    call: { offset: 0, nrPages: 16, write: true, pin: true, fastOnly: true },
    showcases: ['pin_user_pages_fast_only'],
  },
  {
    id: 'unaligned-start',
    title: 'an unaligned start address',
    description: 'start = base + 0x123: GUP rounds it down to the page (start &= PAGE_MASK) and returns 4 pages from there.',
    layout: [{ kind: '4k', offset: 0, count: 8 }],
    call: { offset: 0x123, nrPages: 4, write: false },
  },
];
