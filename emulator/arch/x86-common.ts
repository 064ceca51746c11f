/**
 * The x86 entry format shared by x86-64 and x86-32 PAE: the low flag bits are the same at every
 * level (arch/x86/include/asm/pgtable_types.h), only the physical width and the high bits differ.
 * Layer: pure emulator.
 */
import { entryKind, makeCodec, pfnOf, withBit, withPfn } from './bits';
import { inRelease } from './release';
import { mkSwap, swapOf, x86SwapLayout, type SwapLayout } from './swap';
import { releaseVariants } from './variant';
import type { ArchModel, Ent, Era, FieldDef, LeafProt, Level, LevelInfo } from './types';

const PRESENT = 1 << 0;
const RW = 1 << 1;
const USER = 1 << 2;
const ACCESSED = 1 << 5;
const DIRTY = 1 << 6;
const PSE = 1 << 7;
const GLOBAL_OR_PROTNONE = 1 << 8; // _PAGE_PROTNONE reuses the GLOBAL bit while PRESENT is clear
const SPECIAL = 1 << 9;
const SPLITTING = 1 << 10; // SOFTW2, on huge pmds from 2.6.38 until 4.5
const NX_HI = 1 << 31; // bit 63
const PKEY_HI_SHIFT = 27; // bits 59-62, x86-64 only, 4.6+

const UPPER: Level[] = ['pgd', 'p4d', 'pud', 'pmd'];

export const X86_LOW_FIELDS: FieldDef[] = [
  { name: 'present', shift: 0, kernel: '_PAGE_BIT_PRESENT' },
  { name: 'rw', shift: 1, kernel: '_PAGE_BIT_RW' },
  { name: 'user', shift: 2, kernel: '_PAGE_BIT_USER' },
  { name: 'pwt', shift: 3, kernel: '_PAGE_BIT_PWT' },
  { name: 'pcd', shift: 4, kernel: '_PAGE_BIT_PCD' },
  { name: 'accessed', shift: 5, kernel: '_PAGE_BIT_ACCESSED' },
  { name: 'dirty', shift: 6, kernel: '_PAGE_BIT_DIRTY' },
  { name: 'pat', shift: 7, levels: ['pte'], kernel: '_PAGE_BIT_PAT' },
  { name: 'pse', shift: 7, levels: UPPER, kernel: '_PAGE_BIT_PSE' },
  // _PAGE_NUMA (NUMA hinting, 3.8-3.19) shared bit 8 with GLOBAL/PROTNONE, then moved to SOFTW1 (3.16)
  { name: 'global', shift: 8, until: '3.7', kernel: '_PAGE_BIT_GLOBAL (= _PAGE_BIT_PROTNONE when not present)' },
  { name: 'global', shift: 8, since: '3.8', until: '3.15', kernel: '_PAGE_BIT_GLOBAL (= _PAGE_BIT_PROTNONE and _PAGE_BIT_NUMA when not present)' },
  { name: 'global', shift: 8, since: '3.16', kernel: '_PAGE_BIT_GLOBAL (= _PAGE_BIT_PROTNONE when not present)' },
  { name: 'special', shift: 9, levels: ['pgd', 'p4d', 'pud'], kernel: '_PAGE_BIT_SPECIAL (SOFTW1)' },
  { name: 'special', shift: 9, levels: ['pte'], until: '3.15', kernel: '_PAGE_BIT_SPECIAL (SOFTW1)' },
  { name: 'special', shift: 9, levels: ['pte', 'pmd'], since: '3.16', until: '3.19', kernel: '_PAGE_BIT_SPECIAL (SOFTW1; = _PAGE_BIT_NUMA when not present)' },
  { name: 'special', shift: 9, levels: ['pte'], since: '3.20', kernel: '_PAGE_BIT_SPECIAL (SOFTW1)' },
  // on a huge pmd, SOFTW1 was the splitting bit from 2.6.38 until Mel Gorman moved it to SOFTW2 (3.16)
  { name: 'special', shift: 9, levels: ['pmd'], until: '2.6.37', kernel: '_PAGE_BIT_SPECIAL (SOFTW1)' },
  { name: 'splitting', shift: 9, levels: ['pmd'], eras: ['thp-split'], since: '2.6.38', until: '3.15', kernel: '_PAGE_BIT_SPLITTING (= SOFTW1, the special bit)' },
  { name: 'special', shift: 9, levels: ['pmd'], since: '3.20', kernel: '_PAGE_BIT_SPECIAL (SOFTW1)' },
  { name: 'splitting', shift: 10, levels: ['pmd'], eras: ['thp-split'], since: '3.16', kernel: '_PAGE_BIT_SPLITTING (SOFTW2)' },
  { name: 'soft_dirty', shift: 11, kernel: '_PAGE_BIT_SOFT_DIRTY (SOFTW3)' },
  { name: 'nx', shift: 63, kernel: '_PAGE_BIT_NX' },
];

export interface X86Shape {
  id: 'x86-64' | 'x86-pae';
  title: string;
  levels: LevelInfo[];
  physBits: number;
  atomicEntryLoad: boolean;
  extraFields: FieldDef[];
  hasDevmap: boolean;
  /** protection keys in bits 59-62 (x86-64 from 4.6) */
  hasPkeys: boolean;
  userBase: number;
  taskSize: number;
  numaBalancing: boolean;
}

/**
 * What differs between releases: the THP splitting bit was SOFTW1 (9) in 2.6.38-3.15, SOFTW2 (10)
 * after; a NUMA-hinting entry kept its user bit and was marked with bit 8 (3.8-3.15) or bit 9
 * (3.16-3.19, _PAGE_NUMA), and from 4.0 is PAGE_NONE (PROTNONE, no user); devmap bit 58 from 4.5,
 * 57 from 6.6, gone in 6.17.
 * Without a release the era decides (3.16-4.4, or 4.5 on).
 */
interface Layout {
  split9: boolean;
  numa: 'bit8' | 'bit9' | 'protnone';
  /** _PAGE_DEVMAP's bit: 58 (SOFTW4) from 4.5, 57 from 6.6 (shadow stacks' SAVED_DIRTY took 58); 0: none (before 4.5, or gone) */
  devmapBit: number;
  /** 6.17 on: devmap removed, device memory mapped by ordinary entries */
  devmapGone: boolean;
  /** 6.12: huge VM_PFNMAP mappings, so a pmd or pud can be special (pmd_special) */
  specialHuge: boolean;
  pkeys: boolean;
  /** where a swap entry keeps its type and offset */
  swap: SwapLayout;
}

/** `fixed`: one release's layout, made by `parentAt` (the era's model makes them) */
export function makeX86(shape: X86Shape, fixed?: Layout, parentAt?: (release: string) => ArchModel): ArchModel {
  const fields = [...X86_LOW_FIELDS, ...shape.extraFields];
  const { physBits } = shape;
  const numa9 = fixed?.numa === 'bit9';
  const swapLayout: SwapLayout = fixed?.swap ?? 'x86-l1tf';
  const presentMask = PRESENT | GLOBAL_OR_PROTNONE | (numa9 ? SPECIAL : 0);
  const present = (e: Ent) => (e.lo & presentMask) !== 0;
  // not present, with the PROTNONE bit (PROT_NONE, or NUMA hinting up to 3.15 and from 4.0) or 3.16's _PAGE_NUMA
  const protnone = numa9
    ? (e: Ent) => (e.lo & (PRESENT | GLOBAL_OR_PROTNONE)) === GLOBAL_OR_PROTNONE || (e.lo & presentMask) === SPECIAL
    : (e: Ent) => (e.lo & (PRESENT | GLOBAL_OR_PROTNONE)) === GLOBAL_OR_PROTNONE;
  const none = (e: Ent) => e.lo === 0 && e.hi === 0;
  const leaf = (level: Level, e: Ent) => level !== 'pte' && level !== 'pgd' && (e.lo & PSE) !== 0;
  const top = shape.levels[0].level;
  const splitBit = fixed?.split9 ? SPECIAL : SPLITTING;
  // without a release, the era's release (6.9): bit 57
  const devmapBit = fixed ? fixed.devmapBit : 57;
  const hasDevmap = shape.hasDevmap && devmapBit > 0;
  const devmapGone = shape.hasDevmap && !!fixed?.devmapGone;
  const devmapHi = hasDevmap ? 1 << (devmapBit - 32) : 0;
  const specialHuge = fixed ? fixed.specialHuge : true;
  const hasPkeys = shape.hasPkeys && (fixed ? fixed.pkeys : true);
  const sem = {
    present,
    protnone,
    swap: (e: Ent) => (none(e) || present(e) ? undefined : swapOf(swapLayout, e)),
    user: (e: Ent) => (e.lo & USER) !== 0,
    write: (_l: Level, e: Ent) => (e.lo & RW) !== 0,
    special: (level: Level, e: Ent) => (level === 'pte' || specialHuge) && (e.lo & (PRESENT | SPECIAL)) === (PRESENT | SPECIAL),
    devmap: (_l: Level, e: Ent, era: Era) => hasDevmap && era === 'modern' && (e.hi & devmapHi) !== 0,
    huge: leaf,
    splitting: (level: Level, e: Ent, era: Era) => level === 'pmd' && era === 'thp-split' && leaf(level, e) && (e.lo & splitBit) !== 0,
    kind: entryKind({ none, protnone, present, leaf }),
    /** 2.6.38-3.15 marked a splitting huge pmd with SOFTW1 (bit 9), not SOFTW2 */
    atRelease(release: string, level: Level, e: Ent) {
      if (level !== 'pmd' || !inRelease(release, '2.6.38', '3.15')) return {};
      return { splitting: leaf(level, e) && (e.lo & SPECIAL) !== 0 };
    },
  };
  const codec = makeCodec(shape.id, fields, physBits, sem);
  const model: ArchModel = {
    id: shape.id,
    title: shape.title,
    levels: shape.levels,
    entryBits: 64,
    atomicEntryLoad: shape.atomicEntryLoad,
    tlbShootdown: 'ipi',
    // bare-metal x86 relied on the flush IPI until 2025 (Rik van Riel made RCU table free unconditional)
    rcuTableFree: false,
    hasPteSpecial: true,
    numaBalancing: shape.numaBalancing,
    hasDevmap,
    devmapGone,
    pkey: (e: Ent) => (hasPkeys ? (e.hi >>> PKEY_HI_SHIFT) & 15 : 0),
    physBits,
    userBase: shape.userBase,
    taskSize: shape.taskSize,
    fields,
    // a release's entry reads as that release's model reads it
    decode: (level, raw, era, release) => (release && !fixed ? atRelease(release) : codec).decode(level, raw, era, release),
    encode: codec.encode,
    ...sem,
    leaf,
    none,
    pfn: (e) => pfnOf(e, physBits),
    mkTable(level, pfn) {
      // a PAE PDPT entry carries only PRESENT; the other bits are reserved there
      const flags = shape.id === 'x86-pae' && level === top ? PRESENT : PRESENT | RW | USER | ACCESSED | DIRTY;
      return withPfn({ lo: flags, hi: 0 }, pfn, physBits);
    },
    mkLeaf(level, pfn, prot: LeafProt) {
      let lo = PRESENT | ACCESSED;
      if (prot.user) lo |= USER;
      if (prot.write) lo |= RW;
      if (prot.dirty ?? prot.write) lo |= DIRTY;
      if (level !== 'pte') lo |= PSE;
      if (prot.special) lo |= SPECIAL;
      let hi = NX_HI;
      if (prot.pkey) {
        if (!hasPkeys) throw new RangeError(`${shape.id} has no protection keys${shape.hasPkeys ? ' before 4.6' : ''}`);
        hi |= (prot.pkey & 15) << PKEY_HI_SHIFT;
      }
      if (prot.devmap && !devmapGone) {
        if (!hasDevmap) throw new RangeError(`${shape.id} has no devmap bit${shape.hasDevmap ? ' before 4.5' : ''}`);
        hi |= devmapHi;
      }
      if (prot.noAccess) lo = (lo & ~(PRESENT | USER | RW | DIRTY)) | GLOBAL_OR_PROTNONE; // PAGE_NONE in every release
      let e = withPfn({ lo: lo >>> 0, hi: hi >>> 0 }, pfn, physBits);
      if (prot.protnone) e = mkProtnone(level, e);
      return e;
    },
    wrprotect: (_level, e) => withBit(e, 1, false),
    mkSplitting: (e) => withBit(e, fixed?.split9 ? 9 : 10, true),
    mkProtnone,
    mkSwap: (s) => mkSwap(swapLayout, s),
    at: (release) => atRelease(release),
  };
  /** NUMA hinting until 3.19 cleared PRESENT and set _PAGE_NUMA, keeping the rest; from 4.0 pte_modify(pte, PAGE_NONE) also drops the user bit */
  function mkProtnone(_level: Level, e: Ent): Ent {
    const off = withBit(e, 0, false);
    if (fixed?.numa === 'bit9') return withBit(off, 9, true);
    if (fixed?.numa === 'bit8') return withBit(off, 8, true);
    return withBit(withBit(off, 8, true), 2, false);
  }
  const atRelease: (release: string) => ArchModel = parentAt
    ? parentAt
    : releaseVariants(
        (r) => [inRelease(r, '2.6.38', '3.15') ? 's9' : 's10', inRelease(r, undefined, '3.15') ? 'bit8' : inRelease(r, '3.16', '3.19') ? 'bit9' : 'protnone', inRelease(r, '4.5', '6.5') ? '58' : inRelease(r, '6.6', '6.16') ? '57' : inRelease(r, '6.17') ? 'gone' : '0', inRelease(r, '6.12') ? 'sph' : 'nosph', inRelease(r, '4.6') ? 'pk' : 'nopk', x86SwapLayout(shape.id === 'x86-pae', (from, to) => inRelease(r, from, to))].join(' '),
        (k) => {
          const [split, numa, dev, sph, pk, swap] = k.split(' ');
          return makeX86(shape, { split9: split === 's9', numa: numa as Layout['numa'], devmapBit: dev === 'gone' ? 0 : Number(dev), devmapGone: dev === 'gone', specialHuge: sph === 'sph', pkeys: pk === 'pk', swap: swap as SwapLayout }, (r) => atRelease(r));
        },
      );
  return model;
}
