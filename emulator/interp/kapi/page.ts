/**
 * struct page and folio built-ins: references, pins, compound heads and flags, on the machine's
 * memmap. Reference rules follow the era of the file (tail pins on the tail's _count or
 * _mapcount before 4.5, head only after) through the model the file was matched to. Every
 * change of a refcount or pincount is a scheduling point.
 * Layer: pure emulator.
 */
import { anonExclusive, GUP_PIN_COUNTING_BIAS, getPage, isTail, mustUnshare, putPage, tailPin } from '../../versions/refs';
import type { Machine } from '../../machine/machine';
import { F } from '../../machine/memory';
import { FieldRef, type Thread } from '../runtime';
import { FOLL } from './slow';
import { N } from './pgtable';
import type { Builtin } from './types';

const FAMILY = 'page';

function head(t: Thread, pfn: number): number {
  return t.k.m.headOf(pfn);
}

function order(t: Thread, pfn: number): number {
  return t.k.m.mem.at(F.order, t.k.m.mem.idx(head(t, pfn)));
}

/** page_ref_add_unless(page, n, 0) on the page given (callers pass the head). */
function addUnlessZero(t: Thread, pfn: number, n: number): boolean {
  const ok = t.k.m.refAddUnlessZero(pfn, n);
  if (t.k.y) t.sched('ref', ok ? { pfn, ref: n } : { pfn, note: 'refcount is zero: page being freed' });
  return ok;
}

function add(t: Thread, pfn: number, n: number): void {
  t.k.m.refAdd(pfn, n);
  if (t.k.y) t.sched('ref', { pfn, ref: n });
}

function sub(t: Thread, pfn: number, n: number): void {
  t.k.m.refSub(pfn, n);
  t.sched('unref', { pfn, ref: -n });
}

function pinAdd(t: Thread, pfn: number, n: number): void {
  const mem = t.k.m.mem;
  const i = mem.idx(pfn);
  mem.put(F.pincount, i, (mem.at(F.pincount, i) + n) | 0);
  t.sched(n > 0 ? 'ref' : 'unref', { pfn, pin: n });
}

/**
 * A page built-in handed a struct page pointer outside memory (a torn or stale entry's frame, as
 * pte_page computes it without checking): the kernel would touch a wild address. The model
 * records that outcome (a violation when the explorer watches), reads it as zero and writes
 * nothing, and stops at a scheduling point so the explorer sees it there.
 */
function wild(t: Thread, name: string, pfn: number, ret: Builtin['ret']): unknown {
  const m = t.k.m;
  const detail = `${name}() on a wild struct page pointer: frame 0x${pfn.toString(16)} is outside memory (the entry it came from was torn or stale)`;
  if (m.ghost && !m.faults.some((f) => f.kind === 'wild-page' && f.pfn === pfn)) m.faults.push({ kind: 'wild-page', pfn, detail });
  t.sched('note', { pfn, note: detail });
  return ret === 'page' || ret === 'folio' ? pfn : ret === 'void' ? undefined : 0;
}

/** Every page built-in whose first argument is a page or folio checks it is one (see wild). */
function guarded(b: Builtin): Builtin {
  const run = b.run;
  if (!run || (b.kind !== 'pure' && b.kind !== 'sched')) return b;
  return { ...b, run: (t, a) => (typeof a[0] === 'number' && a[0] > 0 && !t.k.m.mem.valid(a[0]) ? wild(t, b.name, a[0], b.ret) : run(t, a)) };
}

export function pageBuiltins(): Builtin[] {
  return rawPageBuiltins().map((b) => (NOT_PAGE_FIRST.has(b.name) ? b : guarded(b)));
}

/**
 * What folio->mapping reads as: an anon folio's has PAGE_MAPPING_ANON set (the anon_vma is not
 * modelled); a file's or secretmem's page points to an address_space, here a token of each kind
 * (word-aligned, so the mapping flag bits read as clear), and so does a DAX page (device memory
 * mapped through its file); anything else (a p2pdma page, a special one) has none.
 */
export const MAPPING = { file: 0xf11e000, secretmem: 0x5ec0000 } as const;

export function mappingOf(m: Machine, page: number): number | null {
  const h = m.headOf(page);
  const mem = m.mem;
  if (mem.hasFlag(h, 'anon')) return 1;
  if (mem.hasFlag(h, 'secretmem')) return MAPPING.secretmem;
  if (mem.hasFlag(h, 'file') || (mem.hasFlag(h, 'devmap') && !mem.hasFlag(h, 'p2pdma'))) return MAPPING.file;
  return null;
}

/** the page built-ins whose first argument is not a struct page or folio: a count, gup_must_unshare's flags (5.19-6.4) or vma (6.5+), is_zero_pfn's frame number, an address_space */
const NOT_PAGE_FIRST = new Set(['atomic_add', 'atomic_sub', 'gup_must_unshare', 'is_zero_pfn', 'shmem_mapping', 'secretmem_mapping']);

function rawPageBuiltins(): Builtin[] {
  const out: Builtin[] = [];
  const p = (name: string, ret: Builtin['ret'], doc: string, run: (t: Thread, x: any[]) => unknown) => out.push({ name, doc, family: FAMILY, kind: 'pure', ret, run });
  const s = (name: string, ret: Builtin['ret'], doc: string, run: (t: Thread, x: any[]) => unknown) => out.push({ name, doc, family: FAMILY, kind: 'sched', ret, run });
  // a read of a field another CPU may change (a split rewrites compound_head, flags and order; refs move refcounts): a scheduling point
  const r = (name: string, ret: Builtin['ret'], doc: string, field: string, run: (t: Thread, x: any[]) => unknown) =>
    out.push({ name, doc, family: FAMILY, kind: 'sched', ret, run: (t, x) => {
      const v = run(t, x);
      if (t.k.y) t.sched('read', { pfn: x[0] as number, note: `${name}: reads ${field}` });
      return v;
    } });
  const scheme = (t: Thread) => t.ctx.self.thpTails;
  // heads, tails, flags
  r('compound_head', 'page', 'the head page of a compound page (the page itself otherwise)', 'page->compound_head', (t, [pg]) => head(t, pg));
  r('page_folio', 'folio', 'the folio a page belongs to (its compound head)', 'page->compound_head', (t, [pg]) => head(t, pg));
  p('folio_page', 'page', 'the n-th page of a folio', (_t, [f, n]) => f + N(n));
  p('nth_page', 'page', 'the n-th page after a page', (_t, [pg, n]) => pg + N(n));
  r('PageTail', 'int', 'a tail page of a compound page', 'page->compound_head', (t, [pg]) => isTail(t.k, pg));
  const isHead = (t: Thread, pg: number) => head(t, pg) === pg && order(t, pg) > 0;
  r('PageHead', 'int', 'the head page of a compound page', 'page->flags', (t, [pg]) => isHead(t, pg));
  const inCompound = (t: Thread, pg: number) => order(t, pg) > 0;
  r('PageCompound', 'int', 'part of a compound page', 'page->flags', (t, [pg]) => inCompound(t, pg));
  r('folio_test_large', 'int', 'the folio has more than one page', 'folio->flags', (t, [f]) => order(t, f) > 0);
  // THP's own names for the same tests (a hugetlb head answers as the kernel's do: PageTransHuge is PageHead)
  r('PageTransHuge', 'int', 'the head page of a compound page (THP builds; PageHead)', 'page->flags', (t, [pg]) => isHead(t, pg));
  r('PageTransCompound', 'int', 'part of a compound page (THP builds; PageCompound)', 'page->flags', (t, [pg]) => inCompound(t, pg));
  r('PageTransTail', 'int', 'a tail page of a compound page (THP builds; PageTail)', 'page->compound_head', (t, [pg]) => isTail(t.k, pg));
  r('folio_test_pmd_mappable', 'int', 'the folio is as large as a pmd maps (order 9 and more)', 'folio->flags', (t, [f]) => order(t, f) >= 9);
  // kinds of page no scenario has: the answer is the same for every page here
  p('PageKsm', 'int', 'a KSM-merged page: none here', () => 0);
  p('folio_test_ksm', 'int', 'a KSM-merged folio: none here', () => 0);
  p('PageHWPoison', 'int', 'a page with a memory error: none here', () => 0);
  p('folio_test_hwpoison', 'int', 'a folio with a memory error: none here', () => 0);
  r('compound_order', 'int', 'log2 of the pages in the compound page', 'the compound order', (t, [pg]) => order(t, pg));
  r('folio_order', 'int', 'log2 of the pages in the folio', 'the folio order', (t, [f]) => order(t, f));
  r('folio_nr_pages', 'long', 'pages in the folio', 'the folio order', (t, [f]) => 2 ** order(t, f));
  r('page_count', 'int', 'the refcount of the compound head', "the head's _refcount", (t, [pg]) => t.k.m.refcount(head(t, pg)));
  r('page_ref_count', 'int', 'the page\'s own _refcount', 'page->_refcount', (t, [pg]) => t.k.m.refcount(pg));
  r('folio_ref_count', 'int', 'the folio\'s _refcount', 'folio->_refcount', (t, [f]) => t.k.m.refcount(f));
  p('SetPageReferenced', 'void', 'mark the page referenced (LRU aging)', (t, [pg]) => t.k.m.mem.setFlag(pg, 'referenced'));
  p('ClearPageReferenced', 'void', 'clear the referenced flag (LRU aging)', (t, [pg]) => t.k.m.mem.setFlag(pg, 'referenced', false));
  p('folio_set_referenced', 'void', 'mark the folio referenced (LRU aging)', (t, [f]) => t.k.m.mem.setFlag(f, 'referenced'));
  p('mark_page_accessed', 'void', 'mark the page accessed (LRU aging)', (t, [pg]) => t.k.m.mem.setFlag(head(t, pg), 'referenced'));
  const isZero = (t: Thread, pfn: unknown) => typeof pfn === 'number' && t.k.m.mem.valid(pfn) && t.k.m.mem.hasFlag(pfn, 'zero');
  p('is_zero_page', 'int', 'the page is the shared zero page', (t, [pg]) => isZero(t, pg));
  p('is_zero_folio', 'int', 'the folio is the shared zero page', (t, [f]) => isZero(t, f));
  p('is_zero_pfn', 'int', 'the frame is the shared zero page\'s', (t, [pfn]) => isZero(t, typeof pfn === 'bigint' ? Number(pfn) : pfn));
  p('PageAnon', 'int', 'an anonymous page', (t, [pg]) => t.k.m.mem.hasFlag(head(t, pg), 'anon'));
  p('folio_test_anon', 'int', 'an anonymous folio', (t, [f]) => t.k.m.mem.hasFlag(f, 'anon'));
  const exclusive = (t: Thread, pg: number) => anonExclusive(t.k, pg);
  r('PageAnonExclusive', 'int', '5.19+: the anon page is exclusive to this mm (fork clears it on the pages it shares)', 'page->flags', (t, [pg]) => exclusive(t, pg));
  r('folio_test_anon_exclusive', 'int', '6.x: the anon folio\'s page is exclusive to this mm', 'page->flags', (t, [pg]) => exclusive(t, pg));
  p('is_longterm_pinnable_page', 'int', 'the page may stay pinned long-term (not CMA, not ZONE_MOVABLE)', (t, [pg]) => !t.k.m.mem.hasFlag(head(t, pg), 'cma'));
  p('folio_is_longterm_pinnable', 'int', 'the folio may stay pinned long-term (not CMA, not ZONE_MOVABLE)', (t, [f]) => !t.k.m.mem.hasFlag(f, 'cma'));
  p('is_migrate_cma_page', 'int', 'the page is in a CMA area', (t, [pg]) => t.k.m.mem.hasFlag(head(t, pg), 'cma'));
  p('PageHuge', 'int', 'a hugetlb page (the 1 GiB pud pages of the scenarios; a THP is not)', (t, [pg]) => t.k.m.mem.hasFlag(head(t, pg), 'hugetlb'));
  p('folio_test_hugetlb', 'int', 'a hugetlb folio (the 1 GiB pud pages of the scenarios; a THP is not)', (t, [f]) => t.k.m.mem.hasFlag(head(t, f), 'hugetlb'));
  p('hpage_pincount_available', 'int', '5.7: the compound page keeps an exact pincount (order > 1)', (t, [pg]) => t.k.opts.hpagePincount && order(t, pg) > 1);
  p('folio_has_pincount', 'int', '6.x: the folio keeps an exact pincount (large folios)', (t, [f]) => order(t, f) > 0);
  r('page_maybe_dma_pinned', 'int', 'the page may be pinned (exact pincount, or refcount >= bias)', 'the refcount or pincount', (t, [pg]) => {
    const h = head(t, pg);
    const i = t.k.m.mem.idx(h);
    // compared unsigned, as the kernel does: an overflowed (negative) count still reads as pinned
    return t.k.opts.hpagePincount && order(t, h) > 1 ? t.k.m.mem.at(F.pincount, i) > 0 : t.k.m.mem.at(F.refcount, i) >>> 0 >= GUP_PIN_COUNTING_BIAS;
  });
  out.push({ name: 'GUP_PIN_COUNTING_BIAS', doc: 'what one FOLL_PIN adds to a refcount (5.7)', family: FAMILY, kind: 'const', ret: 'int', value: () => GUP_PIN_COUNTING_BIAS });
  // references
  s('get_page', 'void', 'one reference, on the compound head (before 4.5 also a pin on a tail)', (t, [pg]) => {
    getPage(t.k, pg, scheme(t));
    t.sched('ref', { pfn: head(t, pg), ref: 1 });
  });
  s('put_page', 'void', 'drop one reference (the last frees the page)', (t, [pg]) => {
    putPage(t.k, pg, scheme(t));
    t.sched('unref', { pfn: head(t, pg), ref: -1 });
  });
  s('folio_get', 'void', 'one reference on the folio', (t, [f]) => add(t, f, 1));
  s('folio_put', 'void', 'drop one reference on the folio', (t, [f]) => sub(t, f, 1));
  s('folio_put_refs', 'void', 'drop refs references on the folio', (t, [f, n]) => sub(t, f, N(n)));
  s('page_cache_get_speculative', 'int', 'a reference unless the count is zero (get_page_unless_zero)', (t, [pg]) => addUnlessZero(t, pg, 1));
  s('page_cache_add_speculative', 'int', 'n references unless the count is zero', (t, [pg, n]) => addUnlessZero(t, pg, N(n)));
  s('get_page_unless_zero', 'int', 'a reference unless the count is zero', (t, [pg]) => addUnlessZero(t, pg, 1));
  s('page_ref_add_unless', 'int', 'n references unless the count equals u', (t, [pg, n, u]) => {
    if (t.k.m.refcount(pg) === N(u)) {
      if (t.k.y) t.sched('ref', { pfn: pg, note: `refcount is ${N(u)}: no reference taken` });
      return false;
    }
    add(t, pg, N(n));
    return true;
  });
  s('folio_ref_try_add_rcu', 'int', 'n references on the folio unless its count is zero', (t, [f, n]) => addUnlessZero(t, f, N(n)));
  s('folio_ref_try_add', 'int', 'n references on the folio unless its count is zero', (t, [f, n]) => addUnlessZero(t, f, N(n)));
  s('page_ref_add', 'void', 'add n to the page\'s _refcount', (t, [pg, n]) => add(t, pg, N(n)));
  s('page_ref_inc', 'void', 'add one to the page\'s _refcount', (t, [pg]) => add(t, pg, 1));
  // page_ref_sub never frees: the caller knows the count stays above zero (or frees it itself)
  s('page_ref_sub', 'void', 'subtract n from the page\'s _refcount (never frees)', (t, [pg, n]) => {
    const i = t.k.m.mem.idx(pg);
    t.k.m.mem.put(F.refcount, i, (t.k.m.mem.at(F.refcount, i) - N(n)) | 0);
    t.sched('unref', { pfn: pg, ref: -N(n) });
  });
  s('folio_ref_add', 'void', 'add n to the folio\'s _refcount', (t, [f, n]) => add(t, f, N(n)));
  s('folio_ref_inc', 'void', 'add one to the folio\'s _refcount', (t, [f]) => add(t, f, 1));
  s('try_get_page', 'int', '5.x: a reference on the head unless its count is zero or negative (overflow)', (t, [pg]) => {
    const h = head(t, pg);
    if (t.k.m.refcount(h) <= 0) return 0;
    getPage(t.k, pg, scheme(t));
    t.sched('ref', { pfn: h, ref: 1 });
    return 1;
  });
  // 5.2 made it a static function of mm/gup.c (a file's own definition comes first); RHEL 7 has it in pagemap.h, for arch/x86/mm/gup.c
  s('try_get_compound_head', 'page', 'refs references on the head unless its count is negative (overflowed) or zero: the head, or NULL', (t, [pg, n]) => {
    const h = head(t, pg);
    if (t.k.m.refcount(h) < 0) {
      if (t.k.y) t.sched('ref', { pfn: h, note: 'refcount negative (overflowed): no reference taken' });
      return null;
    }
    return addUnlessZero(t, h, N(n)) ? h : null;
  });
  s('get_huge_page_tail', 'void', 'before 4.5: the pin a tail keeps for split_huge_page', (t, [pg]) => {
    tailPin(t.k, pg, scheme(t), 1);
    t.sched('ref', { pfn: pg, note: 'tail pin for split_huge_page' });
  });
  s('hpage_pincount_add', 'void', '5.7: add to the exact pincount of a compound page', (t, [pg, n]) => pinAdd(t, head(t, pg), N(n)));
  s('hpage_pincount_sub', 'void', '5.7: subtract from the exact pincount of a compound page', (t, [pg, n]) => pinAdd(t, head(t, pg), -N(n)));
  // atomics on fields (&page->_count, &folio->_pincount, &mm->has_pinned)
  const field = (t: Thread, r: unknown, n: number | undefined, what: string): number => {
    if (!(r instanceof FieldRef)) throw new Error(`${what} on something that is not a field of a kernel object`);
    if (typeof r.obj === 'number') {
      const i = t.k.m.mem.idx(r.obj);
      if (r.field === '_count' || r.field === '_refcount') {
        if (n !== undefined) n > 0 ? add(t, r.obj, n) : sub(t, r.obj, -n);
        return t.k.m.mem.at(F.refcount, i);
      }
      if (r.field === '_pincount' || r.field === 'hpage_pinned_refcount') {
        if (n !== undefined) pinAdd(t, r.obj, n);
        return t.k.m.mem.at(F.pincount, i);
      }
      if (r.field === '_mapcount') {
        // before 4.5 a THP tail's split pin lived here (the tail-mapcount scheme); the kernel's count starts at -1
        if (n !== undefined) {
          t.k.m.mem.add(F.mapcount, i, n);
          t.sched(n > 0 ? 'ref' : 'unref', { pfn: r.obj, note: `_mapcount ${n > 0 ? '+' : ''}${n} (tail pin)` });
        }
        return t.k.m.mem.at(F.mapcount, i) - 1;
      }
    }
    if (r.field === 'has_pinned') {
      if (n !== undefined) t.k.m.mm.has_pinned = n !== 0;
      return t.k.m.mm.has_pinned ? 1 : 0;
    }
    throw new Error(`${what} on field ${r.field}, which the model does not keep`);
  };
  s('atomic_add', 'void', 'atomic add to a counter (a page\'s _count/_refcount, a folio\'s _pincount)', (t, [n, r]) => void field(t, r, N(n), 'atomic_add'));
  s('atomic_sub', 'void', 'atomic subtract from a counter', (t, [n, r]) => void field(t, r, -N(n), 'atomic_sub'));
  s('atomic_inc', 'void', 'atomic increment', (t, [r]) => void field(t, r, 1, 'atomic_inc'));
  s('atomic_dec', 'void', 'atomic decrement', (t, [r]) => void field(t, r, -1, 'atomic_dec'));
  p('folio_pincount_ptr', 'ptr', '6.0-6.2: the address of a large folio\'s exact pincount', (t, [f]) => new FieldRef(head(t, f), '_pincount'));
  p('compound_pincount_ptr', 'ptr', '5.7-5.19: the address of a compound page\'s exact pincount', (t, [pg]) => new FieldRef(head(t, pg), '_pincount'));
  p('atomic_read', 'int', 'read a counter', (t, [r]) => field(t, r, undefined, 'atomic_read'));
  s('atomic_set', 'void', 'set a counter (mm->has_pinned)', (t, [r, v]) => {
    if (r instanceof FieldRef && r.field === 'has_pinned') t.k.m.mm.has_pinned = N(v) !== 0;
    else throw new Error('atomic_set on a field the model does not keep');
  });
  p('node_stat_mod_folio', 'void', 'vmstat counters (not modelled)', () => undefined);
  p('mod_node_page_state', 'void', 'vmstat counters (not modelled)', () => undefined);
  p('page_pgdat', 'ptr', 'the node of a page (only passed to vmstat counters)', () => null);
  p('folio_pgdat', 'ptr', 'the node of a folio (only passed to vmstat counters)', () => null);
  p('folio_is_secretmem', 'int', 'a secretmem folio (memfd_secret)', (t, [f]) => t.k.m.mem.hasFlag(head(t, f), 'secretmem'));
  p('page_is_secretmem', 'int', '5.14-6.4: a secretmem page (memfd_secret)', (t, [pg]) => t.k.m.mem.hasFlag(head(t, pg), 'secretmem'));
  p('folio_test_slab', 'int', 'a slab folio (never a user page)', () => 0);
  p('shmem_mapping', 'int', 'the mapping is shmem (no scenario maps shmem: a file is a regular file\'s page cache)', () => 0);
  p('is_pinnable_page', 'int', '5.15-5.19 name of is_longterm_pinnable_page: not CMA, not ZONE_MOVABLE', (t, [pg]) => !t.k.m.mem.hasFlag(head(t, pg), 'cma'));
  p('secretmem_mapping', 'int', '6.10+: the mapping is secretmem\'s (GUP-fast reads folio->mapping to tell, f002882ca369)', (_t, [m]) => m === MAPPING.secretmem);
  p('page_mapcount', 'int', 'how many page tables map the page', (t, [pg]) => t.k.m.mem.at(F.mapcount, t.k.m.mem.idx(pg)));
  p('folio_mapcount', 'int', 'how many page tables map the folio', (t, [f]) => t.k.m.mem.at(F.mapcount, t.k.m.mem.idx(head(t, f))));
  p('folio_clear_referenced', 'void', 'clear the referenced flag (LRU aging)', (t, [f]) => t.k.m.mem.setFlag(f, 'referenced', false));
  s('page_ref_sub_and_test', 'int', 'subtract n from the page\'s _refcount; true when it reached zero', (t, [pg, n]) => {
    const i = t.k.m.mem.idx(pg);
    const after = (t.k.m.mem.at(F.refcount, i) - N(n)) | 0;
    t.k.m.mem.put(F.refcount, i, after);
    t.sched('unref', { pfn: pg, ref: -N(n) });
    return after === 0;
  });
  s('__put_page', 'void', 'free a page whose last reference was dropped', (t, [pg]) => {
    t.k.m.mem.free(head(t, pg));
    t.sched('unref', { pfn: head(t, pg), note: 'page freed' });
  });
  out.push({ name: 'PAGE_MAPPING_ANON', doc: 'low bit of folio->mapping on an anonymous folio', family: FAMILY, kind: 'const', ret: 'ulong', value: () => 1 });
  out.push({ name: 'FOLIO_MAPPING_ANON', doc: '6.19+ name of PAGE_MAPPING_ANON', family: FAMILY, kind: 'const', ret: 'ulong', value: () => 1 });
  out.push({ name: 'FOLIO_MAPPING_FLAGS', doc: '6.19+ name of PAGE_MAPPING_FLAGS', family: FAMILY, kind: 'const', ret: 'ulong', value: () => 3 });
  out.push({ name: 'PAGE_MAPPING_FLAGS', doc: 'the low bits of folio->mapping that are flags', family: FAMILY, kind: 'const', ret: 'ulong', value: () => 3 });
  p('gup_must_unshare', 'int', '5.19+: a FOLL_PIN of an anon page that is not exclusive (shared after fork) must unshare it first; FOLL_GET never', (t, a) => {
    const flags = N(a[a.length - 2]);
    return mustUnshare(t.k, a[a.length - 1] as number, (flags & FOLL.FOLL_PIN) !== 0);
  });
  p('is_pci_p2pdma_page', 'int', 'a PCI peer-to-peer DMA page', (t, [pg]) => t.k.m.mem.hasFlag(head(t, pg), 'p2pdma'));
  p('put_devmap_managed_page_refs', 'int', 'devmap-managed pages drop refs themselves (none in the scenarios): false', () => 0);
  p('put_devmap_managed_folio_refs', 'int', 'devmap-managed folios drop refs themselves (none in the scenarios): false', () => 0);
  // s390's secure-execution hook: 0 on every modelled arch
  for (const name of ['arch_make_page_accessible', 'arch_make_folio_accessible']) out.push({ name, doc: 's390 secure pages (none here): 0', family: FAMILY, kind: 'pure', ret: 'int', run: () => 0, fixed: 0 });
  p('sanity_check_pinned_pages', 'void', 'debug checks of pinned pages (nothing to model)', () => undefined);
  p('get_dev_pagemap', 'ptr', 'the dev_pagemap of a ZONE_DEVICE frame (a token: pgmap refs are not modelled); NULL for any other frame (one outside memory, read from a swap entry whose bits look like devmap) and while its device goes away', (t, [pfn]) => {
    const f = Number(pfn); // a frame number, an unsigned long (a BigInt on 64-bit arches)
    const mem = t.k.m.mem;
    if (!Number.isFinite(f) || !mem.valid(f)) return null;
    const h = mem.headPfn(f);
    return mem.hasFlag(h, 'devmap') && !mem.hasFlag(f, 'pgmapGone') && !mem.hasFlag(h, 'pgmapGone') ? { kind: 'pgmap' } : null;
  });
  p('put_dev_pagemap', 'void', 'drop a dev_pagemap reference (not modelled)', () => undefined);
  return out;
}
