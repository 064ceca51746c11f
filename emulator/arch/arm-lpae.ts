/**
 * ARMv7 LPAE: 3 levels of 64-bit long descriptors (PGDIR_SHIFT 30 with 4 entries, PMD_SHIFT 21,
 * 512-entry tables), 40-bit physical addresses. LPAE CPUs make an aligned 64-bit LDRD/STRD
 * single-copy atomic, so a plain entry load is safe here (unlike x86 PAE). TLB maintenance is an
 * inner-shareable broadcast: no IPI reaches a CPU that walks with interrupts off.
 * Software bits (arch/arm/include/asm/pgtable-3level.h): DIRTY 55, SPECIAL 56, NONE 57, RDONLY 58;
 * on huge pmds, the THP splitting bit lived at 56 until 4.5.
 * 32-bit ARM never supported NUMA balancing, so there are no protnone hinting entries.
 * Layer: pure emulator.
 */
import { entryKind, makeCodec, pfnOf, withBit, withPfn } from './bits';
import { inRelease } from './release';
import { mkSwap, swapOf, type SwapLayout } from './swap';
import type { ArchModel, Ent, Era, FieldDef, LeafProt, Level } from './types';
import { releaseVariants } from './variant';

const PHYS_BITS = 40;
const VALID = 1 << 0;
const TYPE_BIT1 = 1 << 1; // PMD_TABLE_BIT at pgd/pmd; with VALID, a page descriptor at pte level
const USER = 1 << 6; // AP[1]
const AP2 = 1 << 7; // hardware read-only, derived from RDONLY && !DIRTY
const SHARED = 3 << 8;
const AF = 1 << 10;
const NG = 1 << 11;
const XN_HI = 1 << (54 - 32);
const DIRTY_HI = 1 << (55 - 32);
const SPECIAL_HI = 1 << (56 - 32); // pte level; the same bit is PMD splitting pre-4.5
const NONE_HI = 1 << (57 - 32); // L_PTE_NONE: PROT_NONE
const RDONLY_HI = 1 << (58 - 32);
const ATTR_NORMAL = 7 << 2; // AttrIndx: normal memory, write-back write-allocate

const fields: FieldDef[] = [
  { name: 'valid', shift: 0, kernel: 'L_PTE_VALID / PMD_TYPE_SECT' },
  { name: 'table', shift: 1, levels: ['pgd', 'pmd'], kernel: 'PMD_TABLE_BIT' },
  { name: 'page', shift: 1, levels: ['pte'], kernel: 'PTE_TYPE_PAGE (L_PTE_PRESENT bit 1)' },
  { name: 'attrindx', shift: 2, width: 3, kernel: 'L_PTE_MT_* (AttrIndx)' },
  { name: 'user', shift: 6, kernel: 'L_PTE_USER (AP[1])' },
  { name: 'ap2', shift: 7, kernel: 'PTE_EXT_AP2 / PMD_SECT_AP2 (hardware read-only)' },
  { name: 'shared', shift: 8, width: 2, kernel: 'L_PTE_SHARED' },
  { name: 'young', shift: 10, kernel: 'L_PTE_YOUNG (AF)' },
  { name: 'ng', shift: 11, kernel: 'PTE_EXT_NG' },
  { name: 'pxn', shift: 53, kernel: 'PMD_SECT_PXN' },
  { name: 'xn', shift: 54, kernel: 'L_PTE_XN' },
  { name: 'dirty', shift: 55, kernel: 'L_PTE_DIRTY / L_PMD_SECT_DIRTY' },
  { name: 'special', shift: 56, levels: ['pte'], since: '3.18', kernel: 'L_PTE_SPECIAL (from 3.18)' },
  { name: 'splitting', shift: 56, levels: ['pmd'], eras: ['thp-split'], kernel: 'L_PMD_SECT_SPLITTING' },
  { name: 'none', shift: 57, kernel: 'L_PTE_NONE / L_PMD_SECT_NONE (PROT_NONE)' },
  { name: 'rdonly', shift: 58, kernel: 'L_PTE_RDONLY / L_PMD_SECT_RDONLY' },
];

const none = (e: Ent) => e.lo === 0 && e.hi === 0;
const present = (e: Ent) => (e.lo & (VALID | TYPE_BIT1)) !== 0;
const leaf = (level: Level, e: Ent) => level === 'pmd' && !none(e) && (e.lo & TYPE_BIT1) === 0;

/**
 * PAGE_NONE as memory holds it: the user protection (present, young, shared, normal memory; no
 * L_PTE_USER) with XN, RDONLY and L_PTE_NONE, and the valid bit cleared by set_pte_ext when
 * L_PTE_NONE is set (proc-v7-3level.S), so the MMU faults. The page-type bit stays: pte_present
 * (either of bits 0-1) still counts it, and nothing says protnone on 32-bit ARM.
 */
function pageNone(level: Level, pfn: number): Ent {
  if (level !== 'pte') throw new RangeError("a PROT_NONE huge pmd on 32-bit ARM (L_PMD_SECT_NONE) is not modelled: only a pte");
  const lo = TYPE_BIT1 | ATTR_NORMAL | SHARED | AF | NG | AP2;
  const hi = XN_HI | NONE_HI | RDONLY_HI;
  return withPfn({ lo: lo >>> 0, hi: hi >>> 0 }, pfn, PHYS_BITS);
}

/** `special`: the release's pte special bit exists (undefined: the era's model, which has it); `swap`: where its swap entries keep type and offset */
function makeArmLpae(special?: boolean, swap: SwapLayout = 'arm'): ArchModel {
  const hasSpecial = special ?? true;
  const sem = {
    swap: (e: Ent) => (none(e) || present(e) ? undefined : swapOf(swap, e)),
    present,
    protnone: (_e: Ent) => false,
    user: (e: Ent) => (e.lo & USER) !== 0,
    write: (_l: Level, e: Ent) => (e.hi & RDONLY_HI) === 0,
    special: (level: Level, e: Ent) => hasSpecial && level === 'pte' && (e.hi & SPECIAL_HI) !== 0,
    devmap: () => false,
    huge: leaf,
    splitting: (level: Level, e: Ent, era: Era) => level === 'pmd' && era === 'thp-split' && (e.hi & SPECIAL_HI) !== 0,
    // no protnone entries on 32-bit ARM: protnone is always false
    kind: entryKind({ none, protnone: () => false, present, leaf }),
  };

  const codec = makeCodec('arm-lpae', fields, PHYS_BITS, sem);
  return {
    id: 'arm-lpae',
    title: 'ARMv7 LPAE (3-level long descriptors)',
    levels: [
      { level: 'pgd', shift: 30, entries: 4, leaf: false },
      { level: 'pmd', shift: 21, entries: 512, leaf: true },
      { level: 'pte', shift: 12, entries: 512, leaf: true },
    ],
    entryBits: 64,
    atomicEntryLoad: true,
    tlbShootdown: 'broadcast',
    rcuTableFree: true, // HAVE_RCU_TABLE_FREE, enabled with the 3.18 generic fast-GUP series
    hasPteSpecial: hasSpecial,
    numaBalancing: false,
    hasDevmap: false,
    physBits: PHYS_BITS,
    userBase: 0x4000_0000,
    taskSize: 0xbf00_0000,
    fields,
    // a release's entry reads as that release's model reads it
    decode: (level, raw, era, release) => (release && special === undefined ? atRelease(release) : codec).decode(level, raw, era, release),
    encode: codec.encode,
    ...sem,
    leaf,
    none,
    pfn: (e) => pfnOf(e, PHYS_BITS),
    mkTable: (_level, pfn) => withPfn({ lo: VALID | TYPE_BIT1, hi: 0 }, pfn, PHYS_BITS),
    mkLeaf(level: Level, pfn: number, prot: LeafProt) {
      if (prot.devmap) throw new RangeError('arm-lpae has no devmap bit');
      if (prot.protnone) throw new RangeError('arm-lpae has no NUMA balancing, so no protnone entries');
      if (prot.noAccess) return pageNone(level, pfn);
      const dirty = prot.dirty ?? prot.write;
      let lo = VALID | ATTR_NORMAL | SHARED | AF | NG;
      if (level === 'pte') lo |= TYPE_BIT1;
      if (prot.user) lo |= USER;
      if (!(prot.write && dirty)) lo |= AP2;
      let hi = XN_HI;
      if (dirty) hi |= DIRTY_HI;
      if (!prot.write) hi |= RDONLY_HI;
      // before 3.18 32-bit ARM had no special bit: a VM_PFNMAP pte looks like any other
      if (prot.special && hasSpecial) hi |= SPECIAL_HI;
      return withPfn({ lo: lo >>> 0, hi: hi >>> 0 }, pfn, PHYS_BITS);
    },
    wrprotect: (_level, e) => withBit(withBit(e, 58, true), 7, true),
    mkSplitting: (e) => withBit(e, 56, true),
    mkProtnone() {
      throw new RangeError('arm-lpae has no NUMA balancing, so no protnone entries');
    },
    mkSwap: (s) => mkSwap(swap, s),
    at: (release) => atRelease(release),
  };
}

/** ARM LPAE got L_PTE_SPECIAL with the 3.18 fast-GUP series; in 2013 (3.12) pte_special was constant false. Its swap entries moved down a bit in 4.0. */
const atRelease = releaseVariants(
  (r) => `${inRelease(r, '3.18') ? 'special' : 'none'} ${inRelease(r, '4.0') ? 'arm' : 'arm-3x'}`,
  (k) => makeArmLpae(k.startsWith('special'), k.split(' ')[1] as SwapLayout),
);

export const arm_lpae: ArchModel = makeArmLpae();
