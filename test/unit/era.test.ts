/**
 * A file's release: its code's markers give a range, and its tree's Makefile places it within
 * that range, or on the stable line a marker was backported to, or says where the two disagree.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { codeNames, placeRelease } from '../../emulator/interp/era';

const FIX = join(__dirname, '../fixtures/eras');
const text = (f: string) => readFileSync(join(FIX, f), 'utf8');
const place = (t: string, tree?: string) => placeRelease(codeNames(t), t, tree)!;

describe("a file's release", () => {
  it('within its code range, the tree names it: the range narrows to that release', () => {
    const p = place(text('gup-4.9-shape.c'), '4.7.4');
    expect(p).toMatchObject({ since: '4.7', before: '4.8', era: 'modern', tree: '4.7.4' });
    expect(p.range).toBe("4.7.4 (its tree's Makefile; the code fits 4.5–4.10)");
  });

  it('on the stable line its newest marker was backported to, the file is of that line', () => {
    const t = text('gup-5.10-shape.c');
    expect(place(t).range).toBe('5.11–5.17 (or 5.10.y with a backport)');
    const p = place(t, '5.10.44');
    expect(p).toMatchObject({ since: '5.10', before: '5.11' });
    expect(p.range).toBe("5.10.44 (its tree's Makefile; the code of 5.11–5.17, backported to 5.10.y)");
    // a line older than the backport's: no stable tree took it, the code's range stands
    expect(place(t, '5.4.61')).toMatchObject({ since: '5.11', range: "5.11–5.17 (or 5.10.y with a backport); its tree's Makefile says 5.4.61" });
    // a distribution's kernel older than the code took it from a later release: said so, the code's range stands for the model
    expect(place(t, '4.18.0 (RHEL 8.5)')).toMatchObject({ since: '5.11', range: "4.18.0 (RHEL 8.5) (its tree's Makefile; a distribution kernel, its code taken from 5.11–5.17)" });
    expect(place(t, '5.14.0 (RHEL 9.2)').range).toMatch(/^5\.14\.0 \(RHEL 9\.2\) \(its tree's Makefile; the code fits 5\.11–5\.17/);
    // a distribution's release on a line a stable backport also reached (4.14.y and later took try_get_compound_head): still the distribution's own taking, not a 4.18.y
    const names = new Set(['get_user_pages_fast', 'gup_fast_permitted', 'p4d_offset', 'gup_pgd_range', 'CONFIG_HAVE_GENERIC_GUP', 'try_get_compound_head']);
    expect(placeRelease(names, '', '4.19.157')).toMatchObject({ since: '4.19', range: "4.19.157 (its tree's Makefile; the code of 5.2–5.5, backported to 4.19.y)" });
    expect(placeRelease(names, '', '4.18.0 (RHEL 8.0)')).toMatchObject({ since: '5.2', range: "4.18.0 (RHEL 8.0) (its tree's Makefile; a distribution kernel, its code taken from 5.2–5.5)" });
  });

  it("a release candidate of the release that bounds the code has not taken that release's changes yet", () => {
    const t = text('gup-5.10-shape.c');
    const p = place(t, '5.18.0-rc2');
    expect(p.since).toBe('5.11');
    expect(p.range).toMatch(/^5\.18\.0-rc2 \(its tree's Makefile; the code has not taken 5\.18's changes yet: 5\.11–5\.17/);
    // a final release there is a disagreement, said as one
    expect(place(t, '5.18.3').range).toMatch(/its tree's Makefile says 5\.18\.3$/);
  });

  it('folios came to the walker in 5.18 (try_grab_folio), anon-exclusive unsharing in 5.19 (gup_must_unshare)', () => {
    const folios = ['get_user_pages_fast', 'FOLL_PIN', 'GUP_PIN_COUNTING_BIAS', 'FOLL_FAST_ONLY', 'mm_set_has_pinned_flag', 'write_protect_seq', 'p4d_offset', 'gup_fast_permitted', 'CONFIG_HAVE_FAST_GUP', 'gup_pgd_range', 'page_is_secretmem', 'try_grab_folio', 'gup_put_folio'];
    expect(placeRelease(new Set(folios), '')).toMatchObject({ since: '5.18', before: '5.19', range: '5.18' });
    expect(placeRelease(new Set([...folios, 'gup_must_unshare']), '')).toMatchObject({ since: '5.19' });
    // the compound-head helpers of 5.2-5.17 bound a file before 5.18
    expect(placeRelease(new Set([...folios.slice(0, -2), 'try_grab_compound_head', 'try_get_compound_head']), '')?.before).toBe('5.18');
  });

  it("an x86 walker is not bounded by a name only the generic walker has (gup_fast_permitted, 4.12)", () => {
    const names = new Set(['get_user_pages_fast', 'get_head_page_multiple', 'page_ref_add', 'pte_allows_gup', 'p4d_offset']);
    expect(placeRelease(names, '')).toMatchObject({ since: '4.11', before: '4.13', range: '4.11–4.12' });
    // the generic walker of 4.11 lacks it: that bounds it
    const generic = new Set(['get_user_pages_fast', 'CONFIG_HAVE_GENERIC_RCU_GUP', 'page_ref_add', 'p4d_offset']);
    expect(placeRelease(generic, '')).toMatchObject({ since: '4.11', before: '4.12' });
  });
});
