/**
 * The write fault on a write-protected anon page (do_wp_page): reuse the page in place, or copy
 * it. The rule changed, and with it who a GUP reference ends up sharing the page with
 * (CVE-2020-29374, GUP-FACTS §10): before 5.9 a page mapped once was reused whatever else held
 * it (reuse_swap_page: the mapcount); from 5.9 (09854ba94c6a) only a page nobody else holds
 * (page_count 1), which 5.19's anon-exclusive rework kept for a page fork shared.
 * Layer: pure emulator.
 */
import { atLeast, type Kern } from './kern';
import { F } from '../machine/memory';

/** Which rule decides, for the release of the code being run (today's when it names none). */
export function reuseRule(k: Kern): 'mapcount' | 'page_count' {
  return atLeast(k, '5.9') ? 'page_count' : 'mapcount';
}

/** Does a write fault on this page reuse it in place (no copy)? */
export function wpReuses(k: Kern, pfn: number): boolean {
  const h = k.m.headOf(pfn);
  // the zero page is never written: a write to it always gets a page of its own (wp_page_copy)
  if (k.m.mem.hasFlag(h, 'zero')) return false;
  return reuseRule(k) === 'mapcount' ? k.m.mem.at(F.mapcount, k.m.mem.idx(h)) === 1 : k.m.refcount(h) === 1;
}

/** The anchor the reuse decision is recorded at, as that release tests it. */
export function reuseAnchor(k: Kern): string {
  return reuseRule(k) === 'mapcount' ? 'reuse_swap_page(page)' : 'page_count(page) != 1';
}
