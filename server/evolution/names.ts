/**
 * The names a GUP-fast function went by, oldest first (David Hildenbrand's 6.10 renames, the
 * 5.8 de-duplication, the folio conversion), and the files GUP-fast lived in. History follows a
 * function through these.
 */
const LINEAGES: string[][] = [
  ['gup_pte_range', 'gup_fast_pte_range'],
  ['gup_huge_pmd', 'gup_fast_pmd_leaf'],
  ['gup_huge_pud', 'gup_fast_pud_leaf'],
  ['gup_huge_pgd', 'gup_fast_pgd_leaf'],
  ['gup_pmd_range', 'gup_fast_pmd_range'],
  ['gup_pud_range', 'gup_fast_pud_range'],
  ['gup_p4d_range', 'gup_fast_p4d_range'],
  ['gup_pgd_range', 'gup_fast_pgd_range'],
  ['lockless_pages_from_mm', 'gup_fast'],
  ['internal_get_user_pages_fast', 'gup_fast_fallback'],
  ['__get_user_pages_fast', 'get_user_pages_fast_only'],
  ['try_grab_compound_head', 'try_grab_folio', 'try_grab_folio_fast'],
  ['put_compound_head', 'gup_put_folio'],
  ['undo_dev_pagemap', 'gup_fast_undo_dev_pagemap'],
  ['gup_get_pte', 'ptep_get_lockless'],
];

/** Every name of the function's lineage (itself alone when it has no other). */
export function aliases(name: string): string[] {
  return LINEAGES.find((l) => l.includes(name)) ?? [name];
}

/** The oldest name: behaviour diffs compare steps by it, so renamed functions still line up. */
export function canonical(name: string): string {
  return aliases(name)[0];
}

/** The files GUP-fast of the modelled arches lived in: the generic walker, and x86's (until 4.13) and ARM's own. */
export const MODELLED_FILES = ['mm/gup.c', 'arch/x86/mm/gup.c', 'arch/arm/mm/gup.c', 'arch/arm64/mm/gup.c'];

/** Every file GUP-fast lived in, other arches' copies too. */
export const KNOWN_FILES = [...MODELLED_FILES, 'arch/powerpc/mm/gup.c', 'arch/sparc/mm/gup.c', 'arch/s390/mm/gup.c', 'arch/sh/mm/gup.c', 'arch/mips/mm/gup.c'];
