/**
 * x86-2008: Nick Piggin's lockless x86 walker (arch/x86/mm/gup.c, commit 8174c430e445, 2.6.27),
 * as it stood in the THP era (2.6.38 .. 4.12): pmd_trans_splitting bail-out and tail pins.
 *
 * Why it is safe without locks: interrupts are off for the whole walk, and on x86 freeing a page
 * table or a page that was mapped needs a TLB-flush IPI that this CPU cannot acknowledge until the
 * walk is done. On PAE the 64-bit pte is read low, high, then low again (gup_get_pte): a present
 * pte cannot become a different present pte without that same flush.
 * Refs: plain get_page() (the page cannot hit zero under us); THP: one atomic_add on the head for
 * all subpages plus a pin on each tail of a THP (get_huge_page_tail bumps the tail's _count
 * here); gup_huge_pud never pinned tails on x86.
 * Layer: pure emulator.
 */
import { irqWalker } from './irq-walker';

export const x86_2008 = irqWalker(
  {
    id: 'x86-2008',
    title: 'x86 lockless walker (interrupts off, gup_get_pte)',
    kernels: '2.6.38 – 4.4 (the THP-era form, with tail pins; the interpreter runs the file of other releases)',
    since: '2.6.38',
    // the span's last layout: splitting on SOFTW2 (3.16+), NUMA hinting as PAGE_NONE (4.0+)
    bits: '4.4',
    year: 2008,
    files: ['arch/x86/mm/gup.c'],
    functions: ['get_user_pages_fast', '__get_user_pages_fast', 'gup_pud_range', 'gup_pmd_range', 'gup_huge_pud', 'gup_huge_pmd', 'gup_pte_range', 'gup_get_pte', 'get_head_page_multiple', 'get_huge_page_tail'],
    change: 'GUP without mmap_sem on x86: walk with interrupts off so the TLB-flush IPI that must precede any free cannot complete; PAE ptes read low/high/low.',
    era: 'thp-split',
    arches: ['x86-64', 'x86-pae'],
  },
  {
    endCheck64Only: true,
    getPte: 'low-high-low',
    tails: 'tail-count',
    pteCheck: 'pte_flags(pte) & (mask | _PAGE_SPECIAL)',
    hugeCheck: '(pte_flags(pte) & mask) != mask',
    pmdLoad: 'pmd_t pmd = *pmdp',
    pudLoad: 'pud_t pud = *pudp',
    pgdLoad: 'pgd_t pgd = *pgdp',
    pudTailPins: false,
  },
);
