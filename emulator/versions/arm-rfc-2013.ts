/**
 * arm-rfc-2013: "[RFC] ARM: lockless get_user_pages_fast()" (Zi Shen Lim, Linaro, October 2013;
 * never merged): arch/arm/mm/gup.c as a near-exact copy of the x86 walker (Will Deacon's words in
 * the review). Plain ACCESS_ONCE pte loads (atomic on LPAE), pte_present_user checks, plain
 * get_page(), tail pins on _mapcount (3.x mm/internal.h), pmd_huge for huge pmds.
 *
 * What it missed: ARM flushes TLBs by hardware broadcast, so interrupts off blocks nothing.
 * THP split, page-table freeing and page freeing all race with it (races thp-split-no-ipi,
 * table-free, pte-changed). The model also runs it on arm64, as the same code would have.
 * Layer: pure emulator.
 */
import { irqWalker } from './irq-walker';

export const arm_rfc_2013 = irqWalker(
  {
    id: 'arm-rfc-2013',
    title: 'ARM RFC: a copy of the x86 walker (interrupts off, no IPIs to wait for)',
    kernels: 'RFC against 3.12 (not merged), 32-bit ARM with LPAE only',
    since: '3.12',
    year: 2013,
    files: ['arch/arm/mm/gup.c'],
    functions: ['get_user_pages_fast', '__get_user_pages_fast', 'gup_pud_range', 'gup_pmd_range', 'gup_huge_pud', 'gup_huge_pmd', 'gup_pte_range', 'gup_get_pte', 'get_head_page_multiple'],
    change: 'Fast GUP for ARM by copying x86, so futex on a THP tail stops looping; relies on interrupts off, which ARM broadcast TLB flushes ignore.',
    era: 'thp-split',
    // posted for 32-bit ARM (arch/arm/mm/Makefile), never for arm64
    arches: ['arm-lpae'],
  },
  {
    getPte: 'plain',
    tails: 'tail-mapcount',
    pteCheck: '!pte_present_user(pte) || (write && !pte_write(pte))',
    hugeCheck: '!pte_present_user(pte) || (write && !pte_write(pte))',
    pmdLoad: 'pmd_t pmd = *pmdp',
    pudLoad: 'pud_t pud = *pudp',
    pgdLoad: 'pgd_t pgd = *pgdp',
    pudTailPins: true,
  },
);
