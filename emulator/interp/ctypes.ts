/**
 * The C types the GUP-fast code uses, and how a value of each is held while the file's code runs.
 * The static type decides the representation once, at compile time, so running never asks:
 * integers of 32 bits or fewer are JS numbers (wrapped with |0 or >>>0), 64-bit integers are
 * bigints (wrapped with BigInt.asUintN/asIntN), page-table entries (pte_t and kin) are the
 * emulator's Ent {lo, hi}, a `struct page *` or `struct folio *` is a frame number (0 is NULL:
 * physical memory starts at 4 GiB), and other pointers are small objects (see runtime.ts).
 * `unsigned long` is 64-bit on x86-64 and arm64 and 32-bit on x86 PAE and ARM LPAE.
 * Layer: pure emulator.
 */
import type { Level } from '../arch/types';

export type CType =
  | { k: 'void' }
  | { k: 'int'; bits: 8 | 16 | 32 | 64; signed: boolean; name: string }
  | { k: 'ent'; level: Level; name: string }
  | { k: 'ptr'; to: CType }
  | { k: 'struct'; name: string }
  | { k: 'fn'; name: string };

export const VOID: CType = { k: 'void' };

export function int(bits: 8 | 16 | 32 | 64, signed: boolean, name: string): CType {
  return { k: 'int', bits, signed, name };
}

export const INT = int(32, true, 'int');
export const UINT = int(32, false, 'unsigned int');
export const BOOL = int(8, false, 'bool');
export const U64 = int(64, false, 'u64');
export const S64 = int(64, true, 's64');

/** The integer widths of one arch: long is 64-bit on 64-bit arches, 32-bit on PAE and LPAE. */
export interface Widths {
  long: 32 | 64;
}

export function longType(w: Widths, signed: boolean): CType {
  return int(w.long, signed, signed ? 'long' : 'unsigned long');
}

export function ptr(to: CType): CType {
  return { k: 'ptr', to };
}

export function isInt(t: CType): t is Extract<CType, { k: 'int' }> {
  return t.k === 'int';
}

export function is64(t: CType): boolean {
  return t.k === 'int' && t.bits === 64;
}

export function typeName(t: CType): string {
  switch (t.k) {
    case 'void': return 'void';
    case 'int': return t.name;
    case 'ent': return t.name;
    case 'ptr': return `${typeName(t.to)} *`;
    case 'struct': return `struct ${t.name}`;
    case 'fn': return `${t.name}()`;
  }
}

/** Integer promotion: anything narrower than int becomes int. */
export function promote(t: CType): CType {
  if (t.k === 'int' && t.bits < 32) return INT;
  return t;
}

/** The usual arithmetic conversions of two integer operands. */
export function common(a: CType, b: CType): CType {
  const x = promote(a);
  const y = promote(b);
  if (x.k !== 'int' || y.k !== 'int') return x.k === 'int' ? x : y;
  if (x.bits !== y.bits) return x.bits > y.bits ? x : y;
  if (!x.signed) return x;
  return y;
}

/** Wrap a JS value already in t's representation family (number for <=32, bigint for 64) to t's width. */
export function wrapper(t: CType): (v: any) => any {
  if (t.k !== 'int') return (v) => v;
  if (t.bits === 64) return t.signed ? (v: bigint) => BigInt.asIntN(64, v) : (v: bigint) => BigInt.asUintN(64, v);
  if (t.bits === 32) return t.signed ? (v: number) => v | 0 : (v: number) => v >>> 0;
  if (t.bits === 16) return t.signed ? (v: number) => (v << 16) >> 16 : (v: number) => v & 0xffff;
  return t.name === 'bool' ? (v: number) => (v ? 1 : 0) : t.signed ? (v: number) => (v << 24) >> 24 : (v: number) => v & 0xff;
}

/** A converter from a value of type `from` to type `to` (C conversion rules; pointers and entries pass through). */
export function converter(from: CType, to: CType): ((v: any) => any) | undefined {
  if (to.k === 'int' && to.name === 'bool') {
    if (from.k === 'int') return from.bits === 64 ? (v: bigint) => (v !== 0n ? 1 : 0) : (v: number) => (v !== 0 ? 1 : 0);
    if (from.k === 'ptr') return (v: unknown) => (v ? 1 : 0);
    return undefined;
  }
  if (to.k !== 'int') {
    if (to.k === 'ptr' && from.k === 'int') return (v: any) => (Number(v) === 0 ? nullOf(to) : v); // NULL, or (struct page *) from an integer
    return undefined;
  }
  const w = wrapper(to);
  if (from.k === 'ptr') {
    // a pointer held as a number (a frame, a mapping token) keeps its value; other pointers give only their truth
    const raw = (v: any): number => (typeof v === 'number' ? v : v ? 1 : 0);
    return to.bits === 64 ? (v: any) => w(BigInt(raw(v))) : (v: any) => w(raw(v));
  }
  if (from.k !== 'int') return undefined;
  if (to.bits === 64) {
    if (from.bits === 64) return from.signed === to.signed ? undefined : w;
    return (v: number) => w(BigInt(v));
  }
  if (from.bits === 64) return (v: bigint) => w(Number(BigInt.asIntN(32, v)));
  if (from.bits === to.bits && from.signed === to.signed) return undefined;
  return w;
}

/** NULL in a pointer type's representation. */
export function nullOf(t: CType): unknown {
  if (t.k === 'ptr' && t.to.k === 'struct' && (t.to.name === 'page' || t.to.name === 'folio')) return 0;
  return null;
}

/** How many bytes a value of t takes (sizeof). */
export function sizeOf(t: CType, w: Widths): number {
  switch (t.k) {
    case 'int': return t.bits / 8;
    case 'ent': return 8;
    case 'ptr': return w.long / 8;
    case 'struct': return t.name === 'page' || t.name === 'folio' ? (w.long === 64 ? 64 : 32) : 8;
    default: return 1;
  }
}

/** A page-table entry type of this name, or undefined. */
export function entType(name: string): CType | undefined {
  const m = /^(pte|pmd|pud|p4d|pgd)_t$/.exec(name);
  return m ? { k: 'ent', level: m[1] as Level, name } : undefined;
}
