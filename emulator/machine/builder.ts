/**
 * Builds an address space from a declarative layout: VMAs, page tables down to the right level,
 * and the pages themselves (4K pages, THP at the pmd, hugetlb at the pud, read-only, special,
 * devmap and protnone leaves). Layer: pure emulator.
 */
import type { ArchModel, Ent, Era, LeafProt, Level } from '../arch/types';
import { MIGRATION_TYPE } from '../arch/swap';
import { Machine, type Slot, type Vma } from './machine';
import { F } from './memory';

/** thp-pte: one 2 MiB compound page mapped by 512 ptes (a THP after a pmd split, or a large folio) */
export type MappingKind = '4k' | 'thp' | 'huge-pud' | 'hole' | 'thp-pte';

export interface MapSpec {
  kind: MappingKind;
  /** bytes from the arch's userBase */
  offset: number;
  /** 4K pages (for '4k' and 'hole'); huge kinds map one leaf each unless count is given */
  count?: number;
  /** pte/pmd writable (default true) */
  write?: boolean;
  /** the VMA is writable even where the entry is not (a COW or clean-tracking mapping) */
  vmaWrite?: boolean;
  special?: boolean;
  devmap?: boolean;
  /** also mapped by another process: one more reference held outside this mm */
  shared?: boolean;
  /**
   * References held outside this mm on each page (an attacker's billions of earlier GUP refs):
   * its refcount starts this much higher, wrapped to 32 bits as an atomic_t is.
   */
  refs?: number;
  protnone?: boolean;
  /** mprotect(PROT_NONE): the VMA allows no access and its entries are PAGE_NONE */
  noAccess?: boolean;
  cma?: boolean;
  /** memfd_secret pages (5.14+) */
  secretmem?: boolean;
  /** a MAP_SHARED mapping of a regular file: page-cache pages, not anon */
  file?: boolean;
  /** a huge leaf of hugetlbfs rather than a THP (a huge-pud always is) */
  hugetlb?: boolean;
  /** devmap pages of a PCI peer-to-peer DMA provider */
  p2pdma?: boolean;
  /** devmap pages whose device is going away (its dev_pagemap is being killed) */
  pgmapGone?: boolean;
  /** x86-64 protection key of the mapping (pkey_mprotect), 4.6+ */
  pkey?: number;
  /** never-written anon memory: each pte maps the shared zero page, read-only (4K only) */
  zero?: boolean;
  /** pages being migrated: each leaf is a migration entry naming its page (4k, or thp at the pmd) */
  migration?: boolean;
}

export interface Layout {
  mappings: MapSpec[];
  /** physical address where memory starts; above 4 GiB by default so 32-bit halves both matter */
  physBase?: number;
  cpus?: number;
}

export const DEFAULT_PHYS_BASE = 0x1_0000_0000;

const LEAF_LEVEL: Record<Exclude<MappingKind, 'hole' | 'thp-pte'>, Level> = { '4k': 'pte', thp: 'pmd', 'huge-pud': 'pud' };

/** Walk from the pgd to the table at `level` for addr, creating missing tables; returns its frame. */
export function ensureTable(m: Machine, addr: number, level: Level): number {
  let table = m.mm.pgd;
  for (const l of m.arch.levels) {
    if (l.level === level) return table;
    const s = m.slot(table, l.level, addr);
    let e = m.load(s);
    if (m.arch.none(e)) {
      const next = m.below(l.level)!;
      const t = m.mem.alloc(0, 'table');
      const base = addr - (addr % 2 ** l.shift);
      m.setTableVa(t, { level: next, base });
      e = m.arch.mkTable(l.level, t);
      m.store(s, e);
    } else if (m.arch.leaf(l.level, e)) {
      throw new RangeError(`0x${addr.toString(16)} is already mapped by a huge ${l.level}`);
    }
    table = m.arch.pfn(e);
  }
  throw new RangeError(`${m.arch.id} has no ${level} level`);
}

/**
 * Map one leaf. `near` remembers the table the last leaf went into, so a run of leaves (1 GiB of
 * 4K pages) walks down from the pgd once per table, not once per page.
 */
export function mapLeaf(m: Machine, addr: number, level: Level, pfn: number, prot: LeafProt, near?: { table: number; base: number; size: number }): void {
  const l = m.levelInfo(level);
  let table: number;
  if (near && near.table >= 0 && addr >= near.base && addr < near.base + near.size) {
    table = near.table;
  } else {
    table = ensureTable(m, addr, level);
    if (near) {
      near.table = table;
      near.size = 2 ** l.shift * l.entries;
      near.base = addr - (addr % near.size);
    }
  }
  m.store(m.slot(table, level, addr), m.arch.mkLeaf(level, pfn, prot, m.era));
  m.mem.add(F.mapcount, m.mem.idx(pfn), 1); // a huge mapping counts once, on the head
  if (l.shift > 12) m.mem.setFlag(pfn, 'head');
}

export function buildMachine(arch: ArchModel, era: Era, layout: Layout): Machine {
  const physBase = layout.physBase ?? DEFAULT_PHYS_BASE;
  // 1 GiB pages first, at the aligned start of memory: after the pgd they would be a gigabyte further on
  const pud = arch.levels.find((l) => l.level === 'pud' && l.leaf);
  const ahead = pud ? layout.mappings.filter((s) => s.kind === 'huge-pud' && !s.migration).map((s) => ({ order: pud.shift - 12, count: s.count ?? 1 })) : [];
  const m = new Machine(arch, era, Math.floor(physBase / 4096), layout.cpus ?? 2, ahead);
  for (const spec of layout.mappings) mapSpec(m, spec);
  m.vmas.sort((a, b) => a.start - b.start);
  return m;
}

function mapSpec(m: Machine, spec: MapSpec): void {
  const { arch } = m;
  const start = arch.userBase + spec.offset;
  if (spec.kind === 'hole') {
    // a VMA with nothing faulted in yet: the slow path will fault it in
    const end = start + (spec.count ?? 1) * 4096;
    addVma(m, { start, end, write: spec.vmaWrite ?? spec.write ?? true, kind: 'anon' });
    return;
  }
  if (spec.kind === 'thp-pte') return mapThpByPtes(m, spec, start);
  if (spec.zero) return mapZeroPage(m, spec, start);
  const level = LEAF_LEVEL[spec.kind];
  if (!arch.levels.some((l) => l.level === level && l.leaf)) {
    throw new RangeError(`${arch.id} cannot map a ${spec.kind} leaf (no ${level}-level leaves)`);
  }
  const size = 2 ** m.levelInfo(level).shift;
  if (start % size !== 0) throw new RangeError(`a ${spec.kind} mapping must be ${size}-byte aligned`);
  const count = spec.count ?? 1;
  const order = Math.log2(size / 4096);
  if (spec.migration) return mapMigrating(m, spec, start, level, size, order, count);
  const write = !spec.noAccess && (spec.write ?? true);
  const prot: LeafProt = { write, user: true, special: spec.special, devmap: spec.devmap, protnone: spec.protnone, noAccess: spec.noAccess, pkey: spec.pkey };
  // the pages (but those allocated ahead), their alignment, and a table per 512 leaves (and a few above)
  const fresh = Math.max(0, count - m.mem.keptAhead(order));
  m.mem.reserve((fresh ? fresh * 2 ** order + 2 ** order : 0) + Math.ceil(count / 512) + 8);
  const near = { table: -1, base: 0, size: 0 };
  for (let i = 0; i < count; i++) {
    const pfn = m.mem.alloc(order);
    m.mem.setFlag(pfn, 'anon', !spec.special && !spec.devmap && !spec.secretmem && !spec.file);
    if (spec.cma) m.mem.setFlag(pfn, 'cma');
    if (spec.devmap) m.mem.setFlag(pfn, 'devmap');
    if (spec.secretmem) m.mem.setFlag(pfn, 'secretmem');
    if (spec.file) m.mem.setFlag(pfn, 'file');
    if (spec.p2pdma) m.mem.setFlag(pfn, 'p2pdma');
    if (spec.pgmapGone) m.mem.setFlag(pfn, 'pgmapGone');
    // a 1 GiB page is hugetlbfs's, unless it is device memory (a DAX pud)
    if ((spec.kind === 'huge-pud' && !spec.devmap && !spec.special) || spec.hugetlb) m.mem.setFlag(pfn, 'hugetlb');
    mapLeaf(m, start + i * size, level, pfn, prot, near);
    if (spec.shared) {
      m.refAdd(pfn, 1);
      m.mem.add(F.mapcount, m.mem.idx(pfn), 1);
      m.hold(pfn);
    }
    if (spec.refs) {
      const at = m.mem.idx(pfn);
      m.mem.put(F.refcount, at, (m.mem.at(F.refcount, at) + spec.refs) | 0);
      m.hold(pfn, spec.refs);
    }
  }
  const kind: Vma['kind'] = spec.special ? 'pfnmap' : spec.devmap ? 'devmap' : spec.secretmem ? 'secretmem' : spec.file ? 'file' : 'anon';
  addVma(m, { start, end: start + count * size, write: spec.vmaWrite ?? write, kind, cma: spec.cma, ...(spec.pkey && { pkey: spec.pkey }), ...(spec.noAccess && { noAccess: true }) });
}

/**
 * Anon memory read before it was ever written: every pte maps the one zero page, read-only and
 * special (do_anonymous_page's pte_mkspecial; an arch without the bit maps it plainly), in a
 * writable VMA. Each mapping holds a ref here, as every other mapping does (the balance check's rule).
 */
function mapZeroPage(m: Machine, spec: MapSpec, start: number): void {
  if (spec.kind !== '4k') throw new RangeError('the zero page is mapped by ptes (a 4k mapping)');
  const count = spec.count ?? 1;
  const zero = m.mem.alloc(0);
  m.mem.setFlag(zero, 'zero');
  const near = { table: -1, base: 0, size: 0 };
  for (let i = 0; i < count; i++) mapLeaf(m, start + i * 4096, 'pte', zero, { write: false, user: true, special: m.arch.hasPteSpecial }, near);
  // the kernel's own reference keeps it for ever: a holder outside this mm
  m.refAdd(zero, count);
  m.hold(zero);
  addVma(m, { start, end: start + count * 4096, write: spec.vmaWrite ?? true, kind: 'anon' });
}

/**
 * Pages in the middle of a migration (try_to_migrate has run): each leaf slot holds a migration
 * entry naming its page, which has lost its mapping and the mapping's reference and is held only
 * by the migration's isolation reference until the move completes (the slow path's wait).
 */
function mapMigrating(m: Machine, spec: MapSpec, start: number, level: Level, size: number, order: number, count: number): void {
  if (spec.kind !== '4k' && spec.kind !== 'thp') throw new RangeError('migration entries are modelled at the pte (4k) and the pmd (thp)');
  m.mem.reserve(count * 2 ** order + 2 ** order + 8);
  for (let i = 0; i < count; i++) {
    const addr = start + i * size;
    const pfn = m.mem.alloc(order);
    m.mem.setFlag(pfn, 'anon');
    m.store(m.slot(ensureTable(m, addr, level), level, addr), m.arch.mkSwap({ type: MIGRATION_TYPE, offset: pfn }));
  }
  addVma(m, { start, end: start + count * size, write: spec.vmaWrite ?? spec.write ?? true, kind: 'anon' });
}

/**
 * The second half of a pmd split (__split_huge_page_map, __split_huge_pmd): a fresh pte table
 * maps every subpage of the huge pmd's page with the pmd's permissions, then the pmd points to it.
 * Refcounts and mapcounts are the caller's (the splits of the eras differ there). Returns the new pmd.
 */
export function mapPmdByPtes(m: Machine, pmdp: Slot, pmd: Ent, addr: number, era: Era): Ent {
  const a = m.arch;
  const head = a.pfn(pmd);
  const table = m.mem.alloc(0, 'table');
  m.setTableVa(table, { level: 'pte', base: addr - (addr % 2 ** m.levelInfo('pmd').shift) });
  const prot = { write: a.write('pmd', pmd, era), user: a.user(pmd) };
  const n = 2 ** (m.levelInfo('pmd').shift - 12);
  const words = new Uint32Array(2 * n);
  // a naturally aligned huge page: the subpages' entries differ from the first only in the pfn's
  // low bits (bit 12 up, below any carry), as the last one confirms; else each is made in full
  const first = a.mkLeaf('pte', head, prot, era);
  const last = a.mkLeaf('pte', head + n - 1, prot, era);
  const bulk = head % n === 0 && (first.lo | ((n - 1) << 12)) >>> 0 === last.lo && first.hi === last.hi;
  for (let t = 0; t < n; t++) {
    const e = bulk ? first : a.mkLeaf('pte', head + t, prot, era);
    words[2 * t] = bulk ? (first.lo | (t << 12)) >>> 0 : e.lo;
    words[2 * t + 1] = e.hi;
  }
  m.storeRun({ table, idx: 0, level: 'pte' }, n, words);
  const newPmd = a.mkTable('pmd', table);
  m.store(pmdp, newPmd);
  return newPmd;
}

/** Each subpage of one compound page mapped by its own pte; each mapping holds a ref on the head. */
function mapThpByPtes(m: Machine, spec: MapSpec, start: number): void {
  const size = 2 ** m.levelInfo('pmd').shift;
  if (start % size !== 0) throw new RangeError(`a thp-pte mapping must be ${size}-byte aligned`);
  const n = size / 4096;
  m.mem.reserve(2 * n + 8);
  const head = m.mem.alloc(Math.log2(n));
  m.mem.setFlag(head, 'anon');
  const near = { table: -1, base: 0, size: 0 };
  const prot: LeafProt = { write: spec.write ?? true, user: true };
  for (let i = 0; i < n; i++) mapLeaf(m, start + i * 4096, 'pte', head + i, prot, near);
  // one ref on the head per pte mapping (alloc gave the first)
  m.refAdd(head, n - 1);
  addVma(m, { start, end: start + size, write: spec.vmaWrite ?? spec.write ?? true, kind: 'anon' });
}

function addVma(m: Machine, v: Vma): void {
  const last = m.vmas.find((x) => x.end === v.start && x.kind === v.kind && x.write === v.write && !!x.cma === !!v.cma && (x.pkey ?? 0) === (v.pkey ?? 0) && !x.noAccess === !v.noAccess);
  if (last) last.end = v.end;
  else m.vmas.push(v);
}

export function findVma(m: Machine, addr: number): Vma | undefined {
  return m.vmas.find((v) => addr >= v.start && addr < v.end);
}
