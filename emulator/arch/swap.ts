/**
 * Swap-format entries: what a not-present, not-none entry holds. GUP-fast only ever asks whether
 * an entry is present; the slow path reads a migration entry and waits for the move. Each arch
 * keeps a 5-bit type and an offset (for a migration entry, the pfn of the page being moved) clear
 * of every bit that would make the entry present or PROT_NONE. The layouts are the ones current
 * kernels use (x86 inverts the offset since the L1TF mitigation), and 3.16-3.19 x86's, whose
 * _PAGE_NUMA (bit 9) counted as present; the 4.8-4.17 x86 layout is not kept apart. The type number
 * a migration entry gets depends on the configuration (MAX_SWAPFILES), and GUP never reads it.
 * Layer: pure emulator.
 */
import type { ArchId, Ent } from './types';

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
  /** x86: the offset is stored inverted, the type at the top (bits 59-63) */
  inverted?: boolean;
}

// x86 (64-bit entries, PAE too): type in bits 59-63, ~offset from bit 9 (SWP_OFFSET_FIRST_BIT = _PAGE_BIT_PROTNONE + 1)
const X86: Layout = { typeShift: 59, offsetShift: 9, offsetBits: 50, inverted: true };
// 3.16-3.19 x86: type from bit 1, the offset from bit 10 (clear of _PAGE_NUMA), not inverted
const X86_NUMA9: Layout = { typeShift: 1, offsetShift: 10, offsetBits: 50 };
// arm64: type from bit 3; the offset from bit 8, from bit 12 once 6.10 made nG (bit 11) the PROT_NONE mark
const ARM64: Layout = { typeShift: 3, offsetShift: 8, offsetBits: 50 };
const ARM64_610: Layout = { typeShift: 3, offsetShift: 12, offsetBits: 50 };
// 32-bit ARM: bits 0-1 clear (not present), type from bit 2, offset from bit 7
const ARM: Layout = { typeShift: 2, offsetShift: 7, offsetBits: 25 };

/** `variant`: arm64's 6.10 PROT_NONE encoding, x86's 3.16-3.19 _PAGE_NUMA */
function layoutOf(arch: ArchId, variant: boolean): Layout {
  if (arch === 'x86-64' || arch === 'x86-pae') return variant ? X86_NUMA9 : X86;
  if (arch === 'arm64') return variant ? ARM64_610 : ARM64;
  return ARM;
}

export function mkSwap(arch: ArchId, s: SwapEntry, variant = false): Ent {
  const l = layoutOf(arch, variant);
  const omask = (1n << BigInt(l.offsetBits)) - 1n;
  const off = BigInt(s.offset) & omask;
  if (off !== BigInt(s.offset)) throw new RangeError(`swap offset 0x${s.offset.toString(16)} exceeds ${l.offsetBits} bits on ${arch}`);
  const stored = l.inverted ? ~off & omask : off;
  return toEnt(((stored << BigInt(l.offsetShift)) | (BigInt(s.type & 31) << BigInt(l.typeShift))) & M64);
}

export function swapOf(arch: ArchId, e: Ent, variant = false): SwapEntry {
  const l = layoutOf(arch, variant);
  const v = ofEnt(e);
  const omask = (1n << BigInt(l.offsetBits)) - 1n;
  const stored = (v >> BigInt(l.offsetShift)) & omask;
  return { type: Number((v >> BigInt(l.typeShift)) & 31n), offset: Number(l.inverted ? ~stored & omask : stored) };
}
