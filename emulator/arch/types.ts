/**
 * Architecture models: the shape of one page-table format and the kernel's predicates over it.
 * Layer: pure emulator (no vscode, no I/O).
 *
 * An entry is held as two 32-bit halves (lo = bits 0..31, hi = bits 32..63). That is how an
 * x86-32 PAE CPU loads it, and it keeps the hot path in small integers instead of bigints.
 */
import { POW2 } from './bits';
import type { SwapEntry } from './swap';

export type ArchId = 'x86-64' | 'x86-pae' | 'arm-lpae' | 'arm64';
export type Level = 'pgd' | 'p4d' | 'pud' | 'pmd' | 'pte';

/**
 * Bit layouts changed across kernel eras. `thp-split` is the pre-4.5 layout (THP splitting bit on
 * huge pmds; arm64 put it at 57, which later became PTE_DEVMAP); `modern` is 4.5 onwards.
 */
export type Era = 'thp-split' | 'modern';

export interface LevelInfo {
  level: Level;
  shift: number;
  entries: number;
  /** this level can hold a leaf (huge/block/section) mapping */
  leaf: boolean;
}

/** A named field of an entry: `width` bits from `shift`, meaningful at `levels` in `eras`. */
export interface FieldDef {
  name: string;
  shift: number;
  width?: number;
  levels?: Level[];
  eras?: Era[];
  /** the releases this meaning of the bit belongs to (inclusive; open when absent) */
  since?: string;
  until?: string;
  /** what the kernel calls it, for hovers ("_PAGE_BIT_RW", "L_PTE_RDONLY") */
  kernel: string;
}

export interface Ent {
  lo: number;
  hi: number;
  /** ghost: generation of the page the entry pointed at when it was read (explorer only) */
  g?: number;
}

export type EntryKind = 'none' | 'table' | 'page' | 'huge' | 'protnone' | 'not-present';

export interface Decoded {
  arch: ArchId;
  level: Level;
  era: Era;
  /** the release whose layout this is */
  release: string;
  raw: string;
  kind: EntryKind;
  /** frame number of the next table or of the mapped page */
  pfn: number;
  phys: string;
  /** every named field at its real position (0/1 for single bits) */
  fields: Record<string, number>;
  /** bits that are neither a named field nor the frame number, as hex */
  other: string;
  /** the kernel's predicates, as GUP-fast evaluates them */
  present: boolean;
  write: boolean;
  user: boolean;
  special: boolean;
  devmap: boolean;
  protnone: boolean;
  huge: boolean;
  splitting: boolean;
  /** a not-present entry's swap type and offset (a migration entry's offset is the pfn being moved) */
  swap?: SwapEntry;
}

/** What encode needs: the frame number, the named fields and any other bits. */
export interface EncodeInput {
  pfn: number;
  fields: Record<string, number>;
  other?: string | bigint;
}

/** Protection of a leaf the builder creates. */
export interface LeafProt {
  write: boolean;
  user: boolean;
  special?: boolean;
  devmap?: boolean;
  protnone?: boolean;
  /** PAGE_NONE of an mprotect(PROT_NONE) mapping: no access, whatever NUMA hinting looked like in the release */
  noAccess?: boolean;
  dirty?: boolean;
  /** x86-64 protection key (4.6+), 0 by default */
  pkey?: number;
}

export interface ArchModel {
  id: ArchId;
  title: string;
  /** walk order, top first */
  levels: LevelInfo[];
  entryBits: 64;
  /** one aligned load of an entry is single-copy atomic */
  atomicEntryLoad: boolean;
  tlbShootdown: 'ipi' | 'broadcast';
  /** page-table pages are freed through RCU (tlb_remove_table) in the modern kernel */
  rcuTableFree: boolean;
  /** the arch has a pte_special bit (else the generic gup_pte_range was a stub) */
  hasPteSpecial: boolean;
  /** supports automatic NUMA balancing (protnone hinting entries) */
  numaBalancing: boolean;
  /** entries can be devmap (ZONE_DEVICE): x86-64 from 4.5, arm64 from 5.3, until 6.17 */
  hasDevmap: boolean;
  /** 6.17 on: the devmap bit is gone, device memory is mapped by ordinary entries (a devmap layout builds those) */
  devmapGone?: boolean;
  /** the protection key an entry carries (x86-64 4.6+; every other arch has none: 0) */
  pkey?(e: Ent): number;
  /**
   * The arch as `release` laid its entries out: the predicates and the entries built follow that
   * release where its bits differ from its era's (arm64's write and devmap bits, 6.10's PROT_NONE,
   * x86's splitting and NUMA bits, ARM's special bit). Memoised; the era's own model when nothing differs.
   */
  at(release: string): ArchModel;
  physBits: number;
  /** lowest user address the built-in scenarios use (1 GiB aligned) */
  userBase: number;
  /** highest user address + 1 (TASK_SIZE) */
  taskSize: number;
  fields: FieldDef[];

  /** `release` picks the layout of that release (and its era); without it, the era's own */
  decode(level: Level, raw: bigint, era?: Era, release?: string): Decoded;
  encode(level: Level, input: EncodeInput, era?: Era): bigint;

  /** kernel predicates on an entry, evaluated on the two halves (hot path) */
  present(e: Ent): boolean;
  user(e: Ent): boolean;
  write(level: Level, e: Ent, era: Era): boolean;
  special(level: Level, e: Ent): boolean;
  devmap(level: Level, e: Ent, era: Era): boolean;
  protnone(e: Ent): boolean;
  /** what a not-present, not-none, not-PROT_NONE entry holds (a swap or migration entry); undefined for any other entry */
  swap(e: Ent): SwapEntry | undefined;
  /** pmd/pud: a leaf (huge, block, section) rather than a table */
  leaf(level: Level, e: Ent): boolean;
  none(e: Ent): boolean;
  splitting(level: Level, e: Ent, era: Era): boolean;
  /** frame number of the table or page an entry points at */
  pfn(e: Ent): number;

  /** builders */
  mkTable(level: Level, pfn: number): Ent;
  mkLeaf(level: Level, pfn: number, prot: LeafProt, era: Era): Ent;
  /** the same leaf with write permission removed (fork's write-protect) */
  wrprotect(level: Level, e: Ent, era: Era): Ent;
  /** mark a huge pmd as splitting (pre-4.5 pmdp_splitting_flush) */
  mkSplitting(e: Ent, era: Era): Ent;
  /** a protnone (NUMA hinting) version of a present leaf */
  mkProtnone(level: Level, e: Ent): Ent;
  /** a swap-format entry (a migration entry names the page being moved), in this arch's layout */
  mkSwap(s: SwapEntry): Ent;
}

/** The geometry of one level of an arch's tables (a pure function of the arch). */
/** The kernel's page-table level names, top first, from 4.11 (p4d) and before it. */
export const LEVEL_NAMES: readonly Level[] = ['pgd', 'p4d', 'pud', 'pmd', 'pte'];
export const LEVEL_NAMES_PRE_P4D: readonly Level[] = ['pgd', 'pud', 'pmd', 'pte'];

/**
 * Is `l` the upper name of a folded level (asm-generic pgtable-nop4d.h, -nopud.h, -nopmd.h)? Its
 * table's entries are tested by the folded name below it, so its none and bad are 0 and its
 * present 1: pgd_none on x86-64 and arm64 with p4d folded, pgd_none (and p4d_none) on PAE and LPAE.
 */
export function foldedAbove(arch: ArchModel, names: readonly Level[], l: Level): boolean {
  const i = names.indexOf(l);
  return i >= 0 && i < names.length - 1 && !arch.levels.some((x) => x.level === names[i + 1]);
}

export function levelInfo(arch: ArchModel, level: Level): LevelInfo {
  const ls = arch.levels;
  for (let i = 0; i < ls.length; i++) if (ls[i].level === level) return ls[i]; // a hot path: no closure
  throw new RangeError(`${arch.id} has no ${level} level`);
}

/** The index of addr in a table of the given level. */
export function levelIndex(arch: ArchModel, level: Level, addr: number): number {
  const l = levelInfo(arch, level);
  return Math.floor(addr / POW2[l.shift]) % l.entries;
}
