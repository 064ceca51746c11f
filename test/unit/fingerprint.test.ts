/**
 * The fingerprint picks the era model (the oracle and fallback) and names the release range the
 * file's own names place it in.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { fingerprint } from '../../server/analysis/fingerprint';
import { parseC } from '../../server/analysis/parse';

const fix = (p: string) => readFileSync(join(__dirname, '../fixtures', p), 'utf8');

async function fp(text: string) {
  return fingerprint(text, await parseC(text))!;
}

describe('fingerprint', () => {
  it.each([
    // THP with tail pins, and no pte_protnone (4.0)
    ['eras/x86-2008-shape.c', 'x86-2008', '2.6.38–3.19 (arch/x86/mm/gup.c)'],
    // write_protect_seq without gup_must_unshare (5.19); 5.10.y took the fix
    ['eras/gup-5.10-shape.c', 'wpseq-2021', '5.11–5.17 (or 5.10.y with a backport)'],
    // the pte walker re-checks the pmd (6.0, and 5.15.y), pmds still read with READ_ONCE (before 6.2)
    ['eras/gup-6.1-shape.c', 'folio-6x@6.1', '6.0–6.1 (or 5.15.y with a backport)'],
    // it tests pmd_special and pud_special, which came with 6.12's huge pfnmaps
    ['eras/gup-6.10-shape.c', 'folio-6x', '6.12 or later'],
    // the RCU walker with pte_numa, before pte_protnone (4.0)
    ['gup-2014-shape.c', 'generic-2014', '3.18–3.19'],
  ])('%s: model %s, release %s', async (file, model, range) => {
    const f = await fp(fix(file));
    expect(f.id).toBe(model);
    expect(f.release?.range).toBe(range);
  });

  it('an x86 arch file is placed by its huge-page refs: no THP, THP with tail pins, or 4.5+ refcounting (its devmap names are not the generic walker\'s)', async () => {
    const noThp = fix('eras/x86-2008-shape.c').replace(/get_huge_page_tail/g, 'take_nothing').replace(/pmd_trans_splitting/g, 'pmd_large');
    expect((await fp(noThp)).release?.range).toBe('2.6.27–2.6.37 (arch/x86/mm/gup.c)');
    const v45 = `${noThp}\nstatic void undo_dev_pagemap(int *nr, int nr_start, struct page **pages) { }\nstatic inline void more(struct page *p) { page_ref_add(p, 1); }\n`;
    // 4.5's refcounting without the p4d level (4.11)
    expect((await fp(v45)).release?.range).toBe('4.5–4.10 (arch/x86/mm/gup.c)');
  });

  it('a 5.2-shaped file (gup_flags, FOLL_LONGTERM, try_get_compound_head) gets the gup_flags-era walker as its model, not the x86 one', async () => {
    const text = [
      'static inline struct page *try_get_compound_head(struct page *page, int refs) { return page; }',
      'static int gup_pte_range(pmd_t pmd, unsigned long addr, unsigned long end, unsigned int flags, struct page **pages, int *nr)',
      '{ if (flags & FOLL_LONGTERM) return 0; return 1; }',
      'static void gup_pgd_range(unsigned long addr, unsigned long end, unsigned int flags, struct page **pages, int *nr) { }',
      'int get_user_pages_fast(unsigned long start, int nr_pages, unsigned int gup_flags, struct page **pages) { return __gup_longterm_unlocked(start, nr_pages, pages, gup_flags); }',
    ].join('\n');
    const f = await fp(text);
    // the nearest model walks the same gup_flags/p4d shape (its FOLL_GET path is 5.2's)
    expect(f.id).toBe('foll-pin-2020');
    expect(f.release).toEqual({ range: '5.2–5.5 (or 4.14.y with a backport)', by: ['try_get_compound_head'] });
  });

  it('the 2013 ARM corpus file is the RFC', async () => {
    const arm = join(__dirname, '../../../shared/corpus/arm-rfc-2013.arch-arm-mm-gup.c');
    if (!existsSync(arm)) return console.warn('skipped: ../shared/corpus is absent');
    expect((await fp(readFileSync(arm, 'utf8'))).release?.range).toBe('the 2013 ARM RFC (3.12)');
  });
});
