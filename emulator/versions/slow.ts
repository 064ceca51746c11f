/**
 * The slow path: ordinary get_user_pages() under mmap_lock, modelled as ONE step. It faults in
 * what is missing (a new anon page; the write fault on a read-only pte, which copies or reuses the
 * page by its release's rule (cow.ts), for reads too where 5.8 broke COW early; the NUMA
 * hinting fault for a protnone entry, which from 6.5 only FOLL_HONOR_NUMA_FAULT asks for; migrating
 * CMA pages away for FOLL_LONGTERM; waiting for a migration to finish), refuses what GUP refuses
 * (no VMA, a PROT_NONE VMA, write to a read-only VMA, VM_PFNMAP special mappings), and takes its
 * references the normal way through the version's own `grab`. It first waits for mmap_lock
 * (held for write by fork or munmap) and for a THP split in progress, as the real one sleeps.
 * Layer: pure emulator.
 */
import type { Ent, Level } from '../arch/types';
import { ensureTable, findVma, mapLeaf, mapPmdByPtes } from '../machine/builder';
import type { Slot } from '../machine/machine';
import { reuseAnchor, wpReuses } from './cow';
import { mustUnshare } from './refs';
import { atLeast, PAGE_SIZE, step, type G, type GupCall, type Kern, type VersionModel } from './kern';
import { F } from '../machine/memory';

const EFAULT = -14;
const ENOMEM = -12;
const EOPNOTSUPP = -95;
const EREMOTEIO = -121;

interface Leaf {
  level: Level;
  e: Ent;
  table: number;
  addr: number;
}

/** Find the leaf mapping addr (or a swap entry in its place), or the table where a pte would go. */
function lookup(k: Kern, addr: number): Leaf | undefined {
  let table = k.m.mm.pgd;
  for (const l of k.arch.levels) {
    const s = k.m.slot(table, l.level, addr);
    const e = k.m.load(s);
    if (l.level === 'pte' || k.arch.leaf(l.level, e) || k.arch.swap(e)) return { level: l.level, e, table, addr };
    if (k.arch.none(e)) return undefined;
    table = k.arch.pfn(e);
  }
  return undefined;
}

function splitting(k: Kern, addr: number): boolean {
  const leaf = lookup(k, addr);
  return !!leaf && leaf.level === 'pmd' && k.arch.splitting('pmd', leaf.e, k.era);
}

/** The page of a leaf that maps addr (a huge leaf's subpage). */
function pageAt(k: Kern, leaf: Leaf, addr: number): number {
  return k.arch.pfn(leaf.e) + Math.floor((addr % 2 ** k.m.levelInfo(leaf.level).shift) / PAGE_SIZE);
}

/**
 * Map a fresh anon page of `order` (a hugetlb one in place of a hugetlb page) at a leaf slot in
 * place of `old`, which loses its reference (on its head: a THP's subpage) and, where it still
 * had one (`mapped`; a page under migration has none), this mapping.
 */
function mapFresh(k: Kern, slot: Slot, level: Level, old: number, write: boolean, order = 0, mapped = true): number {
  const mem = k.m.mem;
  // room for the natural alignment of a huge page too
  if (order > 0) mem.reserve(2 ** (order + 1));
  const fresh = mem.alloc(order);
  mem.setFlag(fresh, 'anon');
  if (mem.hasFlag(k.m.headOf(old), 'hugetlb')) mem.setFlag(fresh, 'hugetlb');
  k.m.store(slot, k.arch.mkLeaf(level, fresh, { write, user: true }, k.era));
  mem.put(F.mapcount, mem.idx(fresh), 1);
  if (mapped) mem.add(F.mapcount, mem.idx(old), -1);
  k.m.refSub(k.m.headOf(old), 1);
  return fresh;
}

/** A fresh anon 4K page at addr in place of `old` (a COW copy, an unshare, a migration). */
function replacePage(k: Kern, addr: number, old: number, write: boolean): number {
  return mapFresh(k, k.m.slot(ensureTable(k.m, addr, 'pte'), 'pte', addr), 'pte', old, write);
}

/**
 * A write or unshare fault on a huge anon leaf (do_huge_pmd_wp_page, hugetlb_wp), 4.5+ refcounts:
 * a page nobody else holds is made writable in place; otherwise hugetlb copies the whole huge
 * page, and a THP's pmd is split into ptes (the folio stays whole, each pte holding a ref on its
 * head) so the fault goes on at the pte. Returns what now maps addr and what was done.
 */
function hugeFault(k: Kern, leaf: Leaf, addr: number, write: boolean): { leaf: Leaf; note: string } {
  const m = k.m;
  const mem = m.mem;
  const head = k.arch.pfn(leaf.e);
  const slot = m.slot(leaf.table, leaf.level, addr);
  const at = `0x${addr.toString(16)}`;
  if (write && wpReuses(k, head)) {
    m.store(slot, k.arch.mkLeaf(leaf.level, head, { write: true, user: true }, k.era));
    return { leaf: lookup(k, addr)!, note: `huge ${leaf.level} at ${at} reused in place (${reuseAnchor(k)})` };
  }
  if (k.era !== 'modern') throw new RangeError(`a fault that must copy a huge ${leaf.level} is not modelled for pre-4.5 THP refcounting`);
  const order = mem.at(F.order, mem.idx(head));
  if (mem.hasFlag(head, 'hugetlb')) {
    const fresh = mapFresh(k, slot, leaf.level, head, write, order);
    return { leaf: lookup(k, addr)!, note: `hugetlb page 0x${head.toString(16)} copied to 0x${fresh.toString(16)} (${write ? 'write' : 'unshare'} fault at ${at})` };
  }
  if (leaf.level !== 'pmd') throw new RangeError(`a fault that must copy a huge ${leaf.level} of a THP is not modelled`);
  // __split_huge_pmd: the folio stays whole, now mapped by ptes that keep the pmd's permissions
  const n = 2 ** order;
  mapPmdByPtes(m, slot, leaf.e, addr, k.era);
  for (let t = 0; t < n; t++) mem.add(F.mapcount, mem.idx(head) + t, 1);
  mem.add(F.mapcount, mem.idx(head), -1);
  m.refAdd(head, n - 1);
  return { leaf: lookup(k, addr)!, note: `THP pmd at ${at} split to ptes (${write ? 'write' : 'unshare'} fault on a huge page others hold)` };
}

/**
 * A migration entry: the fault waits for the move (migration_entry_wait, pmd_migration_entry_wait)
 * and finds the new page mapped in its place (remove_migration_ptes); the old page goes once the
 * migration drops its isolation reference. Nothing else runs in a replay, so the wait ends with
 * the move. Returns the new page.
 */
function migrated(k: Kern, leaf: Leaf, writable: boolean): number {
  const mem = k.m.mem;
  const old = k.arch.swap(leaf.e)!.offset;
  if (!mem.valid(old) || mem.isFree(old)) throw new RangeError(`the ${leaf.level} migration entry at 0x${leaf.addr.toString(16)} names 0x${old.toString(16)}, which is no page being moved`);
  // the page being moved is mapped by nobody: only the migration's isolation reference goes
  return mapFresh(k, k.m.slot(leaf.table, leaf.level, leaf.addr), leaf.level, old, writable, mem.at(F.order, mem.idx(old)), false);
}

/** The release of the code has PageAnonExclusive and the unshare fault (5.19). */
const unshares = (k: Kern) => atLeast(k, '5.19');

/** What the slow path hands back: pages taken, the pages, and get_user_pages' return value. */
export interface SlowResult {
  nr: number;
  pages: number[];
  ret: number;
}

export function* slowGup(k: Kern, v: VersionModel, call: GupCall, start: number, nrPages: number): G<SlowResult> {
  // only another actor can release what we wait for, so this waits only when interleaved
  while (k.i && slowBlocked(k, start)) {
    slowWait(k, start);
    yield;
  }
  const { res, pause } = slowPass(k, v, call, start, nrPages);
  if (pause) yield;
  return res;
}

/** Another actor holds what the slow path must wait for: mmap_lock for write, the page-table lock, or a THP split of the range. */
export function slowBlocked(k: Kern, start: number): boolean {
  const other = (holder: string | null) => holder !== null && holder !== k.actor;
  return other(k.m.mmapWriter) || other(k.m.ptlHolder) || splitting(k, start);
}

/** The slow path's wait, as a step that can go on once slowBlocked no longer holds. */
export function slowWait(k: Kern, start: number): void {
  step(k, 'get_user_pages', 'mmap_read_lock', 'wait', { slow: true, note: 'waits for mmap_lock, the page-table lock or a THP split', until: () => !slowBlocked(k, start) });
}

/**
 * The slow path's work once nothing holds it off, in one step: what it hands back, and whether
 * that step is a scheduling point (slowGup runs it as a generator, a file's code as data).
 */
export function slowPass(k: Kern, v: VersionModel, call: GupCall, start: number, nrPages: number): { res: SlowResult; pause: boolean } {
  const pages: number[] = [];
  const notes: string[] = [];
  let ret = 0;
  for (let i = 0; i < nrPages; i++) {
    const addr = start + i * PAGE_SIZE;
    const vma = findVma(k.m, addr);
    if (!vma) {
      ret = EFAULT;
      notes.push(`no VMA at 0x${addr.toString(16)}: -EFAULT`);
      break;
    }
    if (vma.noAccess) {
      ret = EFAULT;
      notes.push(`PROT_NONE VMA at 0x${addr.toString(16)}: no VM_READ (check_vma_flags): -EFAULT`);
      break;
    }
    if (call.write && !vma.write) {
      ret = EFAULT;
      notes.push(`write to a read-only VMA at 0x${addr.toString(16)}: -EFAULT`);
      break;
    }
    if (vma.kind === 'pfnmap') {
      ret = EFAULT;
      notes.push(`VM_PFNMAP (special) mapping at 0x${addr.toString(16)} has no struct page to return: -EFAULT`);
      break;
    }
    if (vma.pkey && !k.m.pkeyAllows(vma.pkey)) {
      ret = EFAULT;
      notes.push(`protection key ${vma.pkey} at 0x${addr.toString(16)}: this task's PKRU denies it (arch_vma_access_permitted): -EFAULT`);
      break;
    }
    if (vma.kind === 'secretmem') {
      ret = EFAULT;
      notes.push(`secretmem mapping at 0x${addr.toString(16)}: GUP refuses it (check_vma_flags): -EFAULT`);
      break;
    }
    if (call.longterm && call.write && vma.kind === 'file' && atLeast(k, '6.5')) {
      ret = EFAULT;
      notes.push(`FOLL_LONGTERM | FOLL_WRITE on a file mapping that needs dirty tracking at 0x${addr.toString(16)} (6.5+): -EFAULT`);
      break;
    }
    if (call.longterm && vma.kind === 'devmap') {
      ret = EOPNOTSUPP;
      notes.push(`FOLL_LONGTERM on a devmap (FS-DAX) page at 0x${addr.toString(16)}: refused`);
      break;
    }
    let leaf = lookup(k, addr);
    const moving = leaf && k.arch.swap(leaf.e);
    if (leaf && moving) {
      const fresh = migrated(k, leaf, vma.write);
      notes.push(`${leaf.level} migration entry at 0x${addr.toString(16)}: waited for the move (${leaf.level === 'pte' ? 'migration_entry_wait' : 'pmd_migration_entry_wait'}); page 0x${moving.offset.toString(16)} is now 0x${fresh.toString(16)}`);
      leaf = lookup(k, addr)!;
    }
    if (!leaf || k.arch.none(leaf.e)) {
      const pfn = k.m.mem.alloc(0);
      k.m.mem.setFlag(pfn, 'anon');
      mapLeaf(k.m, addr, 'pte', pfn, { write: vma.write, user: true });
      notes.push(`faulted in 0x${addr.toString(16)} → page 0x${pfn.toString(16)}`);
      leaf = lookup(k, addr)!;
    } else if (k.arch.protnone(leaf.e) && !call.write && atLeast(k, '6.5') && !call.honorNumaFault) {
      // 6.5+: only FOLL_HONOR_NUMA_FAULT callers fault; the others read through the entry
      notes.push(`protnone entry at 0x${addr.toString(16)} followed without a hinting fault (gup_can_follow_protnone: no FOLL_HONOR_NUMA_FAULT)`);
    } else if (k.arch.protnone(leaf.e)) {
      const pfn = k.arch.pfn(leaf.e);
      k.m.store(k.m.slot(leaf.table, leaf.level, addr), k.arch.mkLeaf(leaf.level, pfn, { write: vma.write, user: true }, k.era));
      notes.push(`NUMA hinting fault at 0x${addr.toString(16)}: entry made accessible again`);
      leaf = lookup(k, addr)!;
    }
    // 5.8 (and its stable backports) broke COW for every GUP of a private anon page, reads too
    const early = !call.write && k.opts.cowBreakReads && vma.write && vma.kind === 'anon';
    if (leaf.level !== 'pte' && vma.kind === 'anon' && !k.arch.write(leaf.level, leaf.e, k.era)) {
      const unshare = !call.write && !early && unshares(k) && mustUnshare(k, pageAt(k, leaf, addr), call.pin);
      if (call.write || early || unshare) {
        const f = hugeFault(k, leaf, addr, call.write || early);
        leaf = f.leaf;
        notes.push(f.note);
      }
    }
    let pfn = pageAt(k, leaf, addr);
    if ((call.write || early) && !k.arch.write(leaf.level, leaf.e, k.era)) {
      const old = k.arch.pfn(leaf.e);
      const why = early ? `COW broken early for a read at 0x${addr.toString(16)} (GUP takes FOLL_WRITE's path)` : `write fault on read-only 0x${addr.toString(16)}`;
      if (leaf.level === 'pte' && wpReuses(k, old)) {
        // nobody else can see the page (by this release's rule): made writable in place
        k.m.store(k.m.slot(leaf.table, 'pte', addr), k.arch.mkLeaf('pte', old, { write: true, user: true }, k.era));
        notes.push(`${why}: page 0x${old.toString(16)} reused in place (${reuseAnchor(k)})`);
      } else {
        // a private copy, mapped writable
        pfn = replacePage(k, addr, old, true);
        notes.push(`${why}: COW copy 0x${pfn.toString(16)} replaces 0x${old.toString(16)}`);
      }
    }
    // 5.19+: a read-only pin of an anon page fork shared takes the unshare fault (FAULT_FLAG_UNSHARE): an exclusive copy, still read-only
    if (!call.write && unshares(k) && leaf.level === 'pte' && !k.arch.write('pte', leaf.e, k.era) && mustUnshare(k, pfn, call.pin)) {
      const old = pfn;
      pfn = replacePage(k, addr, old, false);
      notes.push(`read-only pin of 0x${addr.toString(16)}, shared after fork: unshared to 0x${pfn.toString(16)} (was 0x${old.toString(16)})`);
    }
    if (call.longterm && call.pin && k.m.mem.hasFlag(pfn, 'cma')) {
      const dst = replacePage(k, addr, pfn, vma.write);
      notes.push(`FOLL_LONGTERM: CMA page 0x${pfn.toString(16)} migrated to 0x${dst.toString(16)}`);
      pfn = dst;
    }
    if (k.m.mem.hasFlag(pfn, 'pgmapGone')) {
      ret = EFAULT;
      notes.push(`device page 0x${pfn.toString(16)}: its dev_pagemap is going away (get_dev_pagemap finds none): -EFAULT`);
      break;
    }
    if (k.m.mem.hasFlag(pfn, 'p2pdma') && atLeast(k, '6.2')) {
      ret = EREMOTEIO;
      notes.push(`PCI P2PDMA page 0x${pfn.toString(16)} without FOLL_PCI_P2PDMA (6.2+): -EREMOTEIO`);
      break;
    }
    if (!v.grab(k, pfn, call)) {
      // 5.1's try_get_page: a count that went negative (past 2^31) is refused, -ENOMEM
      const overflowed = k.m.refcount(k.m.headOf(pfn)) < 0;
      ret = overflowed ? ENOMEM : EFAULT;
      notes.push(overflowed ? `page 0x${pfn.toString(16)}: its refcount went past 2^31, no reference taken (try_get_page): -ENOMEM` : `could not take a reference on 0x${pfn.toString(16)}`);
      break;
    }
    pages.push(pfn);
  }
  const nr = pages.length;
  const pause =
    k.y &&
    step(k, 'get_user_pages', 'get_user_pages', 'slowpath', {
      addr: start,
      end: start + nrPages * PAGE_SIZE,
      nr,
      slow: true,
      note: `slow path: ${nr} of ${nrPages} page(s) under mmap_lock${notes.length ? '; ' + notes.join('; ') : ''}`,
    });
  return { res: { nr, pages, ret: nr > 0 ? nr : ret }, pause };
}
