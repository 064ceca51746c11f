/**
 * Which releases a GUP-fast file belongs to, from its own markers (GUP-FACTS §10): the names a
 * release introduced. The newest marker present gives the first release the file can be; the
 * first later marker that every release since has kept, and the file lacks, bounds it from above.
 * The release decides the era of the THP protocol (the actors that apply), the tail-pin scheme
 * and the era-dependent built-ins; it is shown with the markers that placed it.
 * Layer: pure emulator.
 */
import { releaseNumber } from '../arch/release';
import { lastText } from './memo';
import type { Era } from '../arch/types';
import type { TailScheme } from '../versions/refs';

interface Marker {
  since: string;
  /** any of these names present */
  any?: readonly string[];
  /** or this test of the names and text */
  test?: (names: ReadonlySet<string>, text: string) => boolean;
  /** what it marks, for the reader */
  what: string;
  /** every later release keeps it: its absence bounds a file from above */
  persists?: boolean;
  /** a stable branch may carry it earlier */
  backport?: string;
  /** the release that no longer has it: its presence bounds a file from above */
  gone?: string;
  /** only mm/gup.c's generic walker has it: an x86 arch file (gone in 4.13) lacking it is not bounded by it */
  generic?: boolean;
}

const SPLITTING = ['pmd_trans_splitting', 'get_huge_page_tail', 'pmdp_splitting_flush'];
const GENERIC = ['CONFIG_HAVE_GENERIC_RCU_GUP', 'CONFIG_HAVE_GENERIC_GUP', 'CONFIG_HAVE_FAST_GUP', 'CONFIG_HAVE_GUP_FAST', 'gup_pgd_range', 'gup_fast_pgd_range'];
const X86_FILE = ['get_head_page_multiple', '__VIRTUAL_MASK_SHIFT'];
const REFS_45 = ['page_ref_add', 'pte_devmap', 'get_dev_pagemap', 'undo_dev_pagemap'];
const hasAny = (names: ReadonlySet<string>, list: readonly string[]) => list.some((n) => names.has(n));

/** Oldest first. */
export const MARKERS: readonly Marker[] = [
  { since: '2.6.27', any: ['get_user_pages_fast', '__get_user_pages_fast'], what: 'lockless get_user_pages_fast (x86)', persists: true },
  // the x86 file before THP: no splitting protocol, and none of 4.5's names either
  { since: '2.6.27', test: (n) => hasAny(n, X86_FILE) && !hasAny(n, SPLITTING) && !hasAny(n, REFS_45), what: 'an x86 walker without THP', gone: '2.6.38' },
  { since: '2.6.38', any: SPLITTING, what: 'THP and its splitting protocol (pmd_trans_splitting, tail pins)', gone: '4.5' },
  { since: '3.8', any: ['pte_numa', 'pmd_numa'], what: 'NUMA-hinting entries (pte_numa, 3.8-3.19)', gone: '4.0' },
  { since: '3.18', any: ['CONFIG_HAVE_GENERIC_RCU_GUP'], what: 'the generic RCU walker in mm/gup.c', gone: '4.13' },
  { since: '4.0', any: ['pte_protnone', 'pmd_protnone'], what: 'pte_protnone/pmd_protnone (was pte_numa)', persists: true },
  // 4.5 removed the splitting protocol: a walker without it, with 4.5's refcount helpers or the generic walker
  { since: '4.5', test: (n) => !hasAny(n, SPLITTING) && (hasAny(n, REFS_45) || hasAny(n, GENERIC)), what: 'THP refcounting of 4.5 (no splitting bit, no tail pins)' },
  { since: '4.6', any: ['arch_pte_access_permitted', 'pte_allows_gup'], what: 'x86 protection keys in the walker', gone: '4.14' },
  { since: '4.11', any: ['p4d_offset', 'gup_p4d_range', 'gup_fast_p4d_range'], what: 'the p4d level', persists: true },
  { since: '4.12', any: ['gup_fast_permitted'], what: 'gup_fast_permitted', persists: true, generic: true },
  { since: '4.13', any: ['CONFIG_HAVE_GENERIC_GUP', 'CONFIG_HAVE_FAST_GUP', 'CONFIG_HAVE_GUP_FAST', 'gup_pgd_range', 'gup_fast_pgd_range'], what: 'the generic walker on x86 (HAVE_GENERIC_GUP, gup_pgd_range)', persists: true },
  { since: '5.2', any: ['try_get_compound_head'], what: 'try_get_compound_head (refcount overflow checks)', backport: '4.14.y', gone: '5.18' },
  { since: '5.6', any: ['FOLL_PIN'], what: 'FOLL_PIN and pin_user_pages_fast', persists: true },
  { since: '5.7', any: ['GUP_PIN_COUNTING_BIAS', 'try_grab_compound_head', 'hpage_pincount_add'], what: 'the pin bias and exact huge-page pincounts', persists: true },
  { since: '5.8', any: ['FOLL_FAST_ONLY', 'get_user_pages_fast_only', 'pin_user_pages_fast_only'], what: 'FOLL_FAST_ONLY and get_user_pages_fast_only', persists: true },
  { since: '5.9', any: ['has_pinned', 'MMF_HAS_PINNED', 'mm_set_has_pinned_flag'], what: 'mm->has_pinned (fork copies maybe-pinned pages)', persists: true },
  { since: '5.11', any: ['write_protect_seq'], what: 'mm->write_protect_seq against fork', persists: true, backport: '5.10.y' },
  { since: '5.14', any: ['page_is_secretmem', 'folio_is_secretmem'], what: 'secretmem refused by the fast path' },
  // 5.18 took the walker to folios (a real 5.18.12 file has them, without 5.19's unsharing)
  { since: '5.18', any: ['try_grab_folio', 'try_get_folio', 'gup_put_folio'], what: 'folios in the walker (try_grab_folio)', persists: true },
  { since: '5.19', any: ['gup_must_unshare'], what: 'anon-exclusive unsharing (gup_must_unshare)', persists: true },
  { since: '6.0', test: (_n, text) => /\bgup_(?:fast_)?pte_range\s*\(\s*pmd_t\s+\w+\s*,\s*pmd_t\s*\*/.test(text), what: 'the pte walker re-checks the pmd (khugepaged collapse fix)', persists: true, backport: '5.15.y' },
  { since: '6.2', any: ['pmdp_get_lockless'], what: 'pmds read with pmdp_get_lockless', persists: true },
  { since: '6.3', any: ['is_valid_gup_args'], what: 'is_valid_gup_args', persists: true },
  { since: '6.5', any: ['folio_fast_pin_allowed', 'gup_fast_folio_allowed'], what: 'file-backed long-term pins refused in the fast path', persists: true },
  { since: '6.10', any: ['gup_fast_pte_range', 'gup_fast_fallback', 'gup_fast_pmd_leaf'], what: 'the gup_fast_* names', persists: true },
  { since: '6.12', any: ['pmd_special', 'pud_special'], what: 'huge VM_PFNMAP mappings refused (pmd_special, pud_special)', persists: true },
];

export interface Placement {
  /** the first release the file can be */
  since: string;
  /** the first release it cannot be, where a later marker bounds it */
  before?: string;
  /** the release its kernel tree names (the top Makefile), where that is known */
  tree?: string;
  /** the markers that placed it (names, or what a test found) */
  by: string[];
  /** human-readable range: "4.13–5.1", "6.10 or later" */
  range: string;
  era: Era;
  /** how references on a THP tail were counted */
  tails: TailScheme;
  /** before 2.6.38: no transparent huge pages at all */
  noThp: boolean;
  /** the fast walk is asked for write even for a read, so GUP breaks COW early (5.8, and its stable backports) */
  cowBreakReads: boolean;
  /** GUP refuses a page whose refcount went negative (5.1's try_get_page, and the stable lines that took it): the slow path too */
  overflowGuard: boolean;
}

/**
 * 17839856fd58 (5.8; stable 4.14.y-5.7.y): the entry point hands the fast walk FOLL_WRITE (or
 * write = 1) whatever the caller asked, so a page fork shared goes to the slow path, which
 * copies it. 5.9 dropped it again. Read from the code, since stable trees carry it in any release.
 */
export function breaksCowForReads(code: string): boolean {
  return (
    /\bfast_flags\s*\|=\s*FOLL_WRITE\b/.test(code) ||
    /\bgup_(?:pgd|p4d|pud)_range\s*\((?:[^;()]|\([^()]*\))*?(?:\|\s*FOLL_WRITE\b|,\s*1\s*,)/.test(code) ||
    // where get_user_pages_fast delegates: __get_user_pages_fast(start, nr_pages, 1, pages)
    /\b__get_user_pages_fast\s*\(\s*\w+\s*,\s*\w+\s*,\s*1\s*,/.test(code)
  );
}

/** The last minor release of each major line (where x.0 follows it). */
const LAST_MINOR: Record<number, string> = { 2: '2.6.39', 3: '3.19', 4: '4.20', 5: '5.19', 6: '6.19' };

/** The previous release as text, for closed ranges ("5.2" before "5.6" reads "5.2–5.5"). */
function previous(r: string): string {
  const [a, b, c] = r.split('.').map(Number);
  if (a === 2) return `2.6.${c - 1}`;
  if (b === 0) return LAST_MINOR[a - 1] ?? `${a - 1}.x`;
  return `${a}.${b - 1}`;
}

const rel = releaseNumber;

/** A C text without its comments. */
const uncommented = (text: string) => text.replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, ' ');

/** The identifiers of a C text outside comments (what the markers look at). */
export const codeNames = lastText((text: string): ReadonlySet<string> => new Set(uncommented(text).match(/[A-Za-z_]\w*/g) ?? []));

/**
 * The release line of a tree's own release string ("4.16.13" -> "4.16", "2.6.32.33" -> "2.6.32",
 * "6.0.0-rc1" -> "6.0"); undefined when it names none.
 */
export function releaseLine(release: string): string | undefined {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(release.trim());
  if (!m) return undefined;
  return m[1] === '2' ? (m[3] !== undefined ? `2.${m[2]}.${m[3]}` : undefined) : `${m[1]}.${m[2]}`;
}

/** The release after a line ("4.16" -> "4.17", "4.20" -> "5.0", "2.6.32" -> "2.6.33", "2.6.39" -> "3.0"). */
function next(line: string): string {
  const [a, b, c] = line.split('.').map(Number);
  if (a === 2) return c >= 39 ? '3.0' : `2.6.${c + 1}`;
  return LAST_MINOR[a] === line ? `${a + 1}.0` : `${a}.${b + 1}`;
}

/**
 * Where a file's names place it; undefined when it has no GUP-fast marker at all. `tree` is the
 * release its kernel tree names (the top Makefile): inside the range the code allows, it narrows
 * the range to that release, and every rule that depends on the release follows it (a 4.13–5.5
 * file of a 4.16 tree is after 4.15); outside, the code's range stands (a backport, a vendor's
 * change, a development release) and both are said.
 */
export function placeRelease(names: ReadonlySet<string>, text: string, tree?: string): Placement | undefined {
  const hit = MARKERS.map((m) => ({ m, by: m.any ? m.any.filter((n) => names.has(n)) : m.test!(names, text) ? [m.what] : [] })).filter((x) => x.by.length);
  if (!hit.length) return undefined;
  const has = (m: Marker) => hit.some((x) => x.m === m);
  // a later marker the file lacks bounds it from above, unless it is the generic walker's and the file is x86's own
  const x86File = hasAny(names, X86_FILE) && !hasAny(names, GENERIC);
  const lacks = (m: Marker) => !!m.persists && !has(m) && !(m.generic && x86File);
  const newestOf = (list: typeof hit) => list.reduce((a, b) => (rel(b.m.since) > rel(a.m.since) ? b : a));
  // Markers newer than the file's branch are backports: newer than a name the file still has that
  // was gone by then, or a marker stable branches took while a release it needs is missing (5.15.y).
  const gone = hit.filter((x) => x.m.gone).map((x) => rel(x.m.gone!));
  let cut = gone.length ? Math.min(...gone) : Infinity;
  const top = newestOf(hit.filter((x) => rel(x.m.since) < cut));
  if (top.m.backport) {
    const branch = rel(top.m.backport.split('.y')[0]);
    const missing = MARKERS.find((m) => lacks(m) && rel(m.since) > branch && rel(m.since) <= rel(top.m.since));
    if (missing) cut = Math.min(cut, rel(missing.since));
  }
  const backported = hit.filter((x) => rel(x.m.since) >= cut);
  const newest = newestOf(hit.filter((x) => rel(x.m.since) < cut).concat(backported.length === hit.length ? hit : []));
  let since = newest.m.since;
  const bounds = [
    ...MARKERS.filter((m) => lacks(m) && rel(m.since) > rel(since)).map((m) => m.since),
    ...hit.filter((x) => x.m.gone).map((x) => x.m.gone!),
  ].sort((a, b) => rel(a) - rel(b));
  let before: string | undefined = bounds[0];
  const range = before ? (previous(before) === since ? since : `${since}–${previous(before)}`) : `${since} or later`;
  const line = tree ? releaseLine(tree) : undefined;
  // the tree's release within the code's range; or a stable line the newest marker was backported
  // to, up to the release that brought it (a 4.19.y tree with 5.2's try_get_compound_head); or a
  // release candidate of the release the code is bounded by (its merge window not yet in this file)
  const branch = newest.m.backport && !backported.length ? releaseLine(newest.m.backport.replace('.y', '.0')) : undefined;
  const within = !!line && rel(line) >= rel(since) && (!before || rel(line) < rel(before));
  // a distribution's kernel (RHEL names itself beside the release) takes fixes from any later release, not a stable line's
  const distro = !!line && /\(RHEL \d/.test(tree!);
  const stable = !distro && !!line && !!branch && rel(line) >= rel(branch) && rel(line) < rel(since);
  const rc = !!line && !!before && line === before && /^[\d.]+-rc\d/.test(tree!);
  const fits = within || stable;
  if (fits) {
    // the tree's own release, within what the code allows: the file is of that release
    since = line;
    before = next(line);
  }
  const backports = backported.length
    ? ` with backports (${backported.map((x) => x.m.what).join('; ')})`
    : newest.m.backport ? ` (or ${newest.m.backport} with a backport)` : '';
  const splitting = hasAny(names, SPLITTING);
  const era: Era = splitting || rel(since) < rel('4.5') ? 'thp-split' : 'modern';
  // 2.6.38-3.1: the x86 file defines get_huge_page_tail itself and pins a tail on its _count; 3.2-4.4 on _mapcount
  const tails: TailScheme = era === 'modern' ? 'head-only' : /\bget_huge_page_tail\s*\([^)]*\)\s*\{/.test(text) ? 'tail-count' : 'tail-mapcount';
  const noThp = !!before && rel(before) <= rel('2.6.38');
  const cowBreakReads = breaksCowForReads(uncommented(text));
  const cow = cowBreakReads && rel(since) < rel('5.8') ? ' (GUP breaks COW for reads: the 5.8 fix, backported)' : '';
  // one patch put the check in every GUP path: the walker calling its helpers means the slow path has it too
  const overflowGuard = rel(since) >= rel('5.1') || hasAny(names, ['try_get_compound_head', 'try_get_page']);
  const said = range + backports + cow;
  const shown = !tree
    ? said
    : within
      ? `${tree} (its tree's Makefile; the code fits ${said})`
      : stable
        ? `${tree} (its tree's Makefile; the code of ${range}, backported to ${line}.y${cow})`
        : rc
          ? `${tree} (its tree's Makefile; the code has not taken ${line}'s changes yet: ${said})`
          : distro && rel(line!) < rel(since)
            ? `${tree} (its tree's Makefile; a distribution kernel, its code taken from ${range}${backported.length ? ` and later (${backported.map((x) => x.m.what).join('; ')})` : ''}${cow})`
            : `${said}; its tree's Makefile says ${tree}`;
  return { since, before, by: [...newest.by, ...backported.flatMap((x) => x.by)], range: shown, era, tails, noThp, cowBreakReads, overflowGuard, ...(tree && { tree }) };
}
