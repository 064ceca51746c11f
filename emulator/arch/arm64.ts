/**
 * arm64 with the 4 KiB granule, 4 levels, 48-bit VA (PGDIR_SHIFT 39, PUD 30, PMD 21), 48-bit PA.
 * Table descriptors have type 3, blocks type 1 (PUD 1 GiB, PMD 2 MiB), pages type 3 at level 3.
 * Hardware bits: VALID 0, USER 6 (AP[1]), RDONLY 7 (AP[2]), AF 10, NG 11, DBM 51, CONT 52,
 * PXN 53, UXN 54. Software bits, modern layout (arch/arm64/include/asm/pgtable-prot.h):
 * PTE_WRITE = PTE_DBM (51), DIRTY 55, SPECIAL 56, DEVMAP 57, PROT_NONE 58 (only while !VALID).
 * Before 4.3 (3.17-4.2): PTE_WRITE is bit 57 on ptes and huge pmds alike; until 4.5 a splitting
 * pmd has the special bit (56); PTE_DEVMAP exists from 5.3. `at(release)` is the model of a release. The 3.11 THP patch had
 * PMD_SECT_SPLITTING at 57 with pmd_write as "RDONLY clear"; 6.10 encodes PROT_NONE as not-valid
 * with nG set (bit 58 became uffd-wp). `decode(..., release)` shows each release's layout.
 * TLB invalidation is a hardware broadcast (TLBI ...IS): no IPI.
 * Layer: pure emulator.
 */
import { entryKind, makeCodec, pfnOf, withBit, withPfn } from './bits';
import { inRelease } from './release';
import { arm64SwapLayout, mkSwap, swapOf, type SwapLayout } from './swap';
import { releaseVariants } from './variant';
import type { ArchModel, Ent, Era, FieldDef, LeafProt, Level } from './types';

const PHYS_BITS = 48;
const VALID = 1 << 0;
const TABLE_BIT = 1 << 1;
const ATTR_NORMAL = 4 << 2;
const USER = 1 << 6;
const RDONLY = 1 << 7;
const SHARED = 3 << 8;
const AF = 1 << 10;
const NG = 1 << 11;
const DBM_HI = 1 << (51 - 32);
const PXN_HI = 1 << (53 - 32);
const UXN_HI = 1 << (54 - 32);
const DIRTY_HI = 1 << (55 - 32);
const SPECIAL_HI = 1 << (56 - 32);
const B57_HI = 1 << (57 - 32); // DEVMAP (modern) / PTE_WRITE, PMD_SECT_SPLITTING (pre-4.5)
const PROT_NONE_HI = 1 << (58 - 32);

const UPPER: Level[] = ['pgd', 'pud', 'pmd'];

const fields: FieldDef[] = [
  { name: 'valid', shift: 0, kernel: 'PTE_VALID' },
  { name: 'table', shift: 1, levels: UPPER, kernel: 'PMD_TABLE_BIT / PUD_TABLE_BIT' },
  { name: 'page', shift: 1, levels: ['pte'], kernel: 'PTE_TYPE_PAGE (bit 1)' },
  { name: 'attrindx', shift: 2, width: 3, kernel: 'PTE_ATTRINDX' },
  { name: 'user', shift: 6, kernel: 'PTE_USER (AP[1])' },
  { name: 'rdonly', shift: 7, kernel: 'PTE_RDONLY (AP[2])' },
  { name: 'shared', shift: 8, width: 2, kernel: 'PTE_SHARED' },
  { name: 'af', shift: 10, kernel: 'PTE_AF' },
  { name: 'ng', shift: 11, until: '6.9', kernel: 'PTE_NG' },
  { name: 'ng', shift: 11, since: '6.10', kernel: 'PTE_NG (= PTE_PRESENT_INVALID when !PTE_VALID)' },
  { name: 'write', shift: 51, since: '4.3', kernel: 'PTE_WRITE (= PTE_DBM, from 4.3)' },
  { name: 'dbm', shift: 51, until: '4.2', kernel: 'PTE_DBM (hardware dirty tracking, unused then)' },
  { name: 'cont', shift: 52, kernel: 'PTE_CONT' },
  { name: 'pxn', shift: 53, kernel: 'PTE_PXN' },
  { name: 'uxn', shift: 54, kernel: 'PTE_UXN' },
  { name: 'dirty', shift: 55, kernel: 'PTE_DIRTY' },
  { name: 'special', shift: 56, levels: ['pte'], kernel: 'PTE_SPECIAL' },
  // 3.17/3.18 tested a pmd's splitting as the special bit of the pmd seen as a pte
  { name: 'splitting', shift: 56, levels: ['pmd'], eras: ['thp-split'], since: '3.17', kernel: 'pmd_trans_splitting: PTE_SPECIAL of the pmd' },
  { name: 'devmap', shift: 57, since: '5.3', until: '6.16', kernel: 'PTE_DEVMAP (5.3-6.16)' },
  { name: 'write', shift: 57, levels: ['pte'], until: '4.2', kernel: 'PTE_WRITE (before 4.3)' },
  { name: 'write', shift: 57, levels: ['pmd'], since: '3.17', until: '4.2', kernel: 'PTE_WRITE of the pmd (pmd_write, before 4.3)' },
  // the 3.11 THP patch: a splitting bit of its own, and pmd_write meant RDONLY clear
  { name: 'splitting', shift: 57, levels: ['pmd'], eras: ['thp-split'], until: '3.16', kernel: 'PMD_SECT_SPLITTING (3.11 layout)' },
  { name: 'prot_none', shift: 58, until: '6.9', kernel: 'PTE_PROT_NONE (when !PTE_VALID)' },
  // 6.10: PROT_NONE is a not-valid entry with nG set; bit 58 is the uffd-wp bit
  { name: 'uffd_wp', shift: 58, since: '6.10', kernel: 'PTE_UFFD_WP' },
];

const none = (e: Ent) => e.lo === 0 && e.hi === 0;
const leaf = (level: Level, e: Ent) => (level === 'pmd' || level === 'pud') && !none(e) && (e.lo & TABLE_BIT) === 0;

/**
 * What differs between releases: PTE_WRITE is DBM (51) from 4.3 (2f4b829c625e), bit 57 before;
 * PTE_DEVMAP (57) exists from 5.3 (73b20c84d42d) until 6.17 removed devmap; from 6.10 PROT_NONE is a not-valid entry with
 * nG set (PTE_PRESENT_INVALID). Without a release the era decides: 4.5-6.9, or 3.17-4.4.
 */
interface Layout {
  dbm: boolean;
  devmap: boolean;
  presentInvalid: boolean;
  /** 6.12: huge VM_PFNMAP mappings, so a pmd or pud can be special */
  specialHuge: boolean;
  /** where a swap entry keeps its type and offset */
  swap?: SwapLayout;
  /** 6.17 on: PTE_DEVMAP removed, device memory mapped by ordinary entries */
  devmapGone?: boolean;
}
/** without a release only the era's bits are known; a special huge leaf needs a release that says so */
const ERA_LAYOUT: Record<Era, Omit<Layout, 'specialHuge'>> = {
  modern: { dbm: true, devmap: true, presentInvalid: false },
  'thp-split': { dbm: false, devmap: false, presentInvalid: false },
};

function makeArm64(fixed?: Layout): ArchModel {
  const lay = (era: Era) => fixed ?? ERA_LAYOUT[era];
  const swapLayout: SwapLayout = fixed?.swap ?? (fixed?.presentInvalid ? 'arm64-610' : 'arm64');
  const protnone = fixed?.presentInvalid
    ? (e: Ent) => !none(e) && (e.lo & VALID) === 0 && (e.lo & NG) !== 0
    : (e: Ent) => (e.lo & VALID) === 0 && (e.hi & PROT_NONE_HI) !== 0;
  const present = (e: Ent) => (e.lo & VALID) !== 0 || protnone(e);
  const sem = {
    swap: (e: Ent) => (none(e) || present(e) ? undefined : swapOf(swapLayout, e)),
    present,
    protnone,
    user: (e: Ent) => (e.lo & USER) !== 0,
    write: (_level: Level, e: Ent, era: Era) => (e.hi & (lay(era).dbm ? DBM_HI : B57_HI)) !== 0,
    // a huge leaf is special only where a release says so (6.12): before 4.5 bit 56 of a pmd was its splitting bit
    special: (level: Level, e: Ent) => (level === 'pte' || (level !== 'pgd' && !!fixed?.specialHuge)) && (e.hi & SPECIAL_HI) !== 0,
    devmap: (_l: Level, e: Ent, era: Era) => lay(era).devmap && (e.hi & B57_HI) !== 0,
    huge: leaf,
    splitting: (level: Level, e: Ent, era: Era) => level === 'pmd' && era === 'thp-split' && leaf(level, e) && (e.hi & SPECIAL_HI) !== 0,
    kind: entryKind({ none, protnone, present, leaf }),
    /** the releases whose encoding is not their era's: the 3.11 THP patch, and 6.10's PROT_NONE */
    atRelease(release: string, level: Level, e: Ent) {
      if (inRelease(release, undefined, '3.16')) {
        if (level !== 'pmd' || !leaf(level, e)) return {};
        return { splitting: (e.hi & B57_HI) !== 0, write: (e.lo & RDONLY) === 0 };
      }
      if (!inRelease(release, '6.10')) return {};
      const pn = !none(e) && (e.lo & VALID) === 0 && (e.lo & NG) !== 0;
      return { protnone: pn, present: (e.lo & VALID) !== 0 || pn, ...(pn && { kind: 'protnone' as const }), ...(!pn && (e.lo & VALID) === 0 && !none(e) && { kind: 'not-present' as const }) };
    },
  };
  const codec = makeCodec('arm64', fields, PHYS_BITS, sem);
  // PAGE_NONE: not valid, no user permission, and the PROT_NONE mark of the release
  const mkProtnone = (_level: Level, e: Ent) => {
    const off = withBit(withBit(e, 0, false), 6, false);
    return fixed?.presentInvalid ? withBit(off, 11, true) : withBit(off, 58, true);
  };
  const model: ArchModel = {
    id: 'arm64',
    title: 'arm64 (4K granule, 4-level, 48-bit VA)',
    levels: [
      { level: 'pgd', shift: 39, entries: 512, leaf: false },
      { level: 'pud', shift: 30, entries: 512, leaf: true },
      { level: 'pmd', shift: 21, entries: 512, leaf: true },
      { level: 'pte', shift: 12, entries: 512, leaf: true },
    ],
    entryBits: 64,
    atomicEntryLoad: true,
    tlbShootdown: 'broadcast',
    rcuTableFree: true,
    hasPteSpecial: true,
    numaBalancing: true,
    hasDevmap: fixed ? fixed.devmap : true,
    devmapGone: !!fixed?.devmapGone,
    physBits: PHYS_BITS,
    userBase: 0x7f_0000_0000,
    taskSize: 2 ** 48,
    fields,
    // a release's entry reads as that release's model reads it
    decode: (level, raw, era, release) => (release && !fixed ? atRelease(release) : codec).decode(level, raw, era, release),
    encode: codec.encode,
    ...sem,
    leaf,
    none,
    pfn: (e) => pfnOf(e, PHYS_BITS),
    mkTable: (_level, pfn) => withPfn({ lo: VALID | TABLE_BIT, hi: 0 }, pfn, PHYS_BITS),
    mkLeaf(level: Level, pfn: number, prot: LeafProt, era: Era) {
      const l = lay(era);
      const dirty = prot.dirty ?? prot.write;
      let lo = VALID | ATTR_NORMAL | SHARED | AF | NG;
      if (level === 'pte') lo |= TABLE_BIT;
      if (prot.user) lo |= USER;
      let hi = PXN_HI | UXN_HI;
      if (dirty) hi |= DIRTY_HI;
      if (prot.special) hi |= SPECIAL_HI;
      if (prot.devmap && !l.devmap && !fixed?.devmapGone) throw new RangeError('arm64 had no devmap bit before 5.3 (PTE_DEVMAP)');
      if (prot.devmap && l.devmap) hi |= B57_HI;
      if (l.dbm) {
        // a clean writable page is RDONLY|WRITE until the first write (hardware DBM or a fault)
        if (prot.write) hi |= DBM_HI;
        if (!(prot.write && dirty)) lo |= RDONLY;
      } else {
        if (!prot.write) lo |= RDONLY;
        if (prot.write) hi |= B57_HI;
      }
      const e = withPfn({ lo: lo >>> 0, hi: hi >>> 0 }, pfn, PHYS_BITS);
      // PAGE_NONE (PROT_NONE) and a NUMA-hinting entry are one encoding here
      return prot.protnone || prot.noAccess ? mkProtnone(level, e) : e;
    },
    wrprotect(_level, e, era) {
      return withBit(withBit(e, 7, true), lay(era).dbm ? 51 : 57, false);
    },
    mkSplitting: (e) => withBit(e, 56, true),
    mkProtnone,
    mkSwap: (s) => mkSwap(swapLayout, s),
    at: (release) => atRelease(release),
  };
  return model;
}

const rel = (r: string, since: string) => inRelease(r, since);
const atRelease = releaseVariants(
  (r) => [rel(r, '4.3'), inRelease(r, '5.3', '6.16'), rel(r, '6.10'), rel(r, '6.12'), rel(r, '6.17')].map((b) => (b ? 1 : 0)).join('') + ' ' + arm64SwapLayout((from, to) => inRelease(r, from, to)),
  (k) => makeArm64({ dbm: k[0] === '1', devmap: k[1] === '1', presentInvalid: k[2] === '1', specialHuge: k[3] === '1', devmapGone: k[4] === '1', swap: k.split(' ')[1] as SwapLayout }),
);

export const arm64: ArchModel = makeArm64();
