/**
 * Swap-format entries: what a not-present, not-none entry holds. GUP-fast asks whether an entry is
 * present (4.5-4.12 x86 walkers ask pte_devmap first: which bits a swap entry sets matters); the
 * slow path reads a migration entry and waits for the move. Each arch
 * keeps a 5-bit type and an offset (for a migration entry, the pfn of the page being moved) clear
 * of every bit that would make the entry present or PROT_NONE. x86's moved with its releases
 * (3.16-3.19's clear of _PAGE_NUMA, 4.8's moved up, L1TF's inverted in 4.18; PAE kept it in the
 * high word until then), arm64's (PTE_FILE's bit freed in 4.0, __SWP_EXCLUSIVE in 5.19, 6.10's
 * PROT_NONE encoding) and 32-bit ARM's (its file bit freed in 4.0). The type number
 * a migration entry gets depends on the configuration (MAX_SWAPFILES), and GUP never reads it.
 * Layer: pure emulator.
 */
import type { Ent } from './types';

export interface SwapEntry {
  type: number;
  offset: number;
}

/** SWP_MIGRATION_READ with 5 type bits, device-private, hwpoison and pte markers configured (MAX_SWAPFILES 23) */
export const MIGRATION_TYPE = 24;

const M64 = (1n << 64n) - 1n;
const toEnt = (v: bigint): Ent => ({ lo: Number(v & 0xffffffffn), hi: Number(v >> 32n) });
const ofEnt = (e: Ent): bigint => (BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0);

interface Layout {
  /** bit of the type's lowest bit, bit of the offset's lowest bit, offset bits */
  typeShift: number;
  offsetShift: number;
  offsetBits: number;
  /** x86 since L1TF: the offset is stored inverted, the type at the top (bits 59-63) */
  inverted?: boolean;
}

/** Every layout, by the releases that used it. */
export const SWAP_LAYOUTS = {
  // x86 since the L1TF mitigation (4.18; PAE too): type in bits 59-63, ~offset from bit 9
  'x86-l1tf': { typeShift: 59, offsetShift: 9, offsetBits: 50, inverted: true },
  // x86-64 up to 3.15 and 4.0-4.7: type from bit 1 (_PAGE_BIT_PRESENT + 1), offset from bit 9 (_PAGE_BIT_PROTNONE + 1)
  'x86-type1': { typeShift: 1, offsetShift: 9, offsetBits: 50 },
  // 3.16-3.19 x86-64: the offset from bit 10, clear of _PAGE_NUMA
  'x86-numa9': { typeShift: 1, offsetShift: 10, offsetBits: 50 },
  // 4.8-4.17 x86-64: type from bit 9, offset from bit 14 (moved up, clear of the bits an erratum can set)
  'x86-type9': { typeShift: 9, offsetShift: 14, offsetBits: 50 },
  // x86 PAE before L1TF: the swap entry is the high word (type in its bits 0-4, offset above), the low word 0
  'pae-high': { typeShift: 32, offsetShift: 37, offsetBits: 27 },
  // arm64 3.x: type from bit 3 (bit 2 was PTE_FILE), offset from bit 9
  'arm64-3x': { typeShift: 3, offsetShift: 9, offsetBits: 49 },
  // arm64 4.0-5.18 (nonlinear file ptes gone): type from bit 2, 6 bits, offset from bit 8
  'arm64-40': { typeShift: 2, offsetShift: 8, offsetBits: 50 },
  // arm64 5.19-6.9: bit 2 is __SWP_EXCLUSIVE, type from bit 3, offset from bit 8
  arm64: { typeShift: 3, offsetShift: 8, offsetBits: 50 },
  // arm64 6.10 (nG, bit 11, marks PROT_NONE): type from bit 6, offset from bit 12
  'arm64-610': { typeShift: 6, offsetShift: 12, offsetBits: 50 },
  // 32-bit ARM: bits 0-1 clear (not present), type from bit 2, offset from bit 7
  arm: { typeShift: 2, offsetShift: 7, offsetBits: 25 },
  // 32-bit ARM 3.x: type from bit 3 (bit 2 was L_PTE_FILE), offset from bit 8
  'arm-3x': { typeShift: 3, offsetShift: 8, offsetBits: 24 },
} satisfies Record<string, Layout>;

export type SwapLayout = keyof typeof SWAP_LAYOUTS;

/** The arm64 layout of a release. */
export function arm64SwapLayout(release: (from?: string, to?: string) => boolean): SwapLayout {
  if (release('6.10')) return 'arm64-610';
  if (release('5.19')) return 'arm64';
  if (release('4.0')) return 'arm64-40';
  return 'arm64-3x';
}

/** The x86 layout of a release (x86-64, or PAE). Stable trees that took the L1TF mitigation (4.4.y-4.17.y, from August 2018) invert as 4.18 does: a release line cannot tell them apart. */
export function x86SwapLayout(pae: boolean, release: (from?: string, to?: string) => boolean): SwapLayout {
  if (release('4.18')) return 'x86-l1tf';
  if (pae) return 'pae-high';
  if (release('4.8')) return 'x86-type9';
  if (release('3.16', '3.19')) return 'x86-numa9';
  return 'x86-type1';
}

export function mkSwap(layout: SwapLayout, s: SwapEntry): Ent {
  const l: Layout = SWAP_LAYOUTS[layout];
  const omask = (1n << BigInt(l.offsetBits)) - 1n;
  const off = BigInt(s.offset) & omask;
  if (off !== BigInt(s.offset)) throw new RangeError(`swap offset 0x${s.offset.toString(16)} exceeds ${l.offsetBits} bits in the ${layout} layout`);
  const stored = l.inverted ? ~off & omask : off;
  return toEnt(((stored << BigInt(l.offsetShift)) | (BigInt(s.type & 31) << BigInt(l.typeShift))) & M64);
}

export function swapOf(layout: SwapLayout, e: Ent): SwapEntry {
  const l: Layout = SWAP_LAYOUTS[layout];
  const v = ofEnt(e);
  const omask = (1n << BigInt(l.offsetBits)) - 1n;
  const stored = (v >> BigInt(l.offsetShift)) & omask;
  return { type: Number((v >> BigInt(l.typeShift)) & 31n), offset: Number(l.inverted ? ~stored & omask : stored) };
}
