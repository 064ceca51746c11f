/**
 * Shared bit plumbing for the architecture models: two-halves entries, bigint conversion, and a
 * field-table driven decode/encode so each arch file only states its facts.
 * Layer: pure emulator.
 */
import { ERA_RELEASE, eraOfRelease, inRelease } from './release';
import type { ArchId, Decoded, EncodeInput, Ent, EntryKind, Era, FieldDef, Level } from './types';
import type { SwapEntry } from './swap';

export const NONE: Ent = Object.freeze({ lo: 0, hi: 0 });

export function toBig(e: Ent): bigint {
  return (BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0);
}

export function fromBig(v: bigint): Ent {
  const x = BigInt.asUintN(64, v);
  return { lo: Number(x & 0xffffffffn), hi: Number(x >> 32n) };
}

export const hex = (v: bigint | number): string => '0x' + BigInt(v).toString(16).padStart(16, '0');

export const testBit = (e: Ent, n: number): boolean =>
  n < 32 ? ((e.lo >>> n) & 1) === 1 : ((e.hi >>> (n - 32)) & 1) === 1;

export function withBit(e: Ent, n: number, on: boolean): Ent {
  if (n < 32) {
    const m = (1 << n) >>> 0;
    return { lo: (on ? e.lo | m : e.lo & ~m) >>> 0, hi: e.hi };
  }
  const m = (1 << (n - 32)) >>> 0;
  return { lo: e.lo, hi: (on ? e.hi | m : e.hi & ~m) >>> 0 };
}

/** Frame number from bits 12..physBits-1 (physBits <= 52, so the result is an exact number). */
/** 2 ** i for i in 0..64 (a table: `2 ** n` with a variable n is a call on hot paths) */
export const POW2: readonly number[] = Array.from({ length: 65 }, (_, i) => 2 ** i);

export function pfnOf(e: Ent, physBits: number): number {
  const hiMask = physBits > 32 ? (physBits >= 64 ? 0xffffffff : POW2[physBits - 32] - 1) : 0;
  return (e.hi & hiMask) * 1048576 + (e.lo >>> 12);
}

export function withPfn(e: Ent, pfn: number, physBits: number): Ent {
  const maxPfn = 2 ** (physBits - 12);
  if (!Number.isInteger(pfn) || pfn < 0 || pfn >= maxPfn) {
    throw new RangeError(`pfn 0x${pfn.toString(16)} does not fit in ${physBits} physical address bits`);
  }
  const hiMask = 2 ** (physBits - 32) - 1;
  const lo = ((e.lo & 0xfff) | ((pfn % 2 ** 20) * 4096)) >>> 0;
  const hi = ((e.hi & ~hiMask) | Math.floor(pfn / 2 ** 20)) >>> 0;
  return { lo, hi };
}

/** A field means this at `level` in `era` (and in `release`: by default the era's own). */
export const fieldApplies = (f: FieldDef, level: Level, era: Era, release = ERA_RELEASE[era]): boolean =>
  (!f.levels || f.levels.includes(level)) && (!f.eras || f.eras.includes(era)) && inRelease(release, f.since, f.until);

const fieldMask = (f: FieldDef): bigint => ((1n << BigInt(f.width ?? 1)) - 1n) << BigInt(f.shift);

export interface Codec {
  decode(level: Level, raw: bigint, era?: Era, release?: string): Decoded;
  encode(level: Level, input: EncodeInput, era?: Era): bigint;
}

/** What kind of entry this is, from an arch's own none/protnone/present/leaf tests (the same order on every arch). */
export function entryKind(p: { none(e: Ent): boolean; protnone(e: Ent): boolean; present(e: Ent): boolean; leaf(level: Level, e: Ent): boolean }): (level: Level, e: Ent) => EntryKind {
  return (level, e) => {
    if (p.none(e)) return 'none';
    if (p.protnone(e)) return 'protnone';
    if (!p.present(e)) return 'not-present';
    if (level === 'pte') return 'page';
    return p.leaf(level, e) ? 'huge' : 'table';
  };
}

/** What an arch must say about an entry beyond its field table. */
export interface Semantics {
  kind(level: Level, e: Ent, era: Era): EntryKind;
  write(level: Level, e: Ent, era: Era): boolean;
  user(e: Ent): boolean;
  special(level: Level, e: Ent): boolean;
  devmap(level: Level, e: Ent, era: Era): boolean;
  protnone(e: Ent): boolean;
  present(e: Ent): boolean;
  huge(level: Level, e: Ent): boolean;
  splitting(level: Level, e: Ent, era: Era): boolean;
  /** where a release's encoding differs from its era's (arm64 6.10 PROT_NONE), the predicates it changes */
  atRelease?(release: string, level: Level, e: Ent): Partial<Pick<Decoded, 'present' | 'protnone' | 'write' | 'splitting' | 'kind'>>;
  /** a not-present entry's swap type and offset */
  swap(e: Ent): SwapEntry | undefined;
}

export function makeCodec(arch: ArchId, fields: FieldDef[], physBits: number, sem: Semantics): Codec {
  const pfnMask = ((1n << BigInt(physBits - 12)) - 1n) << 12n;
  const masks = new Map<string, bigint>();
  const applicable = (level: Level, era: Era, release?: string) => fields.filter((f) => fieldApplies(f, level, era, release));
  return {
    decode(level, raw, eraIn = 'modern', releaseIn) {
      const era = releaseIn ? eraOfRelease(releaseIn) : eraIn;
      const release = releaseIn ?? ERA_RELEASE[era];
      const v = BigInt.asUintN(64, raw);
      const key = level + '/' + release;
      let named = masks.get(key);
      const out: Record<string, number> = {};
      let acc = 0n;
      for (const f of applicable(level, era, release)) {
        const m = fieldMask(f);
        acc |= m;
        out[f.name] = Number((v & m) >> BigInt(f.shift));
      }
      if (named === undefined) masks.set(key, (named = acc));
      const e = fromBig(v);
      const pfn = Number((v & pfnMask) >> 12n);
      const d: Decoded = {
        arch,
        level,
        era,
        release,
        raw: hex(v),
        kind: sem.kind(level, e, era),
        pfn,
        phys: hex(BigInt(pfn) << 12n),
        fields: out,
        other: hex(v & ~(named | pfnMask) & ((1n << 64n) - 1n)),
        present: sem.present(e),
        write: sem.write(level, e, era),
        user: sem.user(e),
        special: sem.special(level, e),
        devmap: sem.devmap(level, e, era),
        protnone: sem.protnone(e),
        huge: sem.huge(level, e),
        splitting: sem.splitting(level, e, era),
      };
      const r = sem.atRelease ? { ...d, ...sem.atRelease(release, level, e) } : d;
      const swap = r.kind === 'not-present' ? sem.swap(e) : undefined;
      return swap ? { ...r, swap } : r;
    },
    encode(level, input, era = 'modern') {
      let v = (BigInt(input.pfn) << 12n) & pfnMask;
      if (BigInt(input.pfn) << 12n !== v) throw new RangeError(`pfn ${input.pfn} exceeds ${physBits} physical bits`);
      const known = applicable(level, era);
      for (const [name, val] of Object.entries(input.fields)) {
        const f = known.find((x) => x.name === name);
        if (!f) throw new RangeError(`${arch}: no field '${name}' at ${level} level (${era} layout)`);
        const width = BigInt(f.width ?? 1);
        if (val < 0 || BigInt(val) >= 1n << width) throw new RangeError(`${arch}: ${name}=${val} does not fit in ${width} bit(s)`);
        v |= BigInt(val) << BigInt(f.shift);
      }
      if (input.other !== undefined) v |= BigInt(input.other);
      return BigInt.asUintN(64, v);
    },
  };
}

