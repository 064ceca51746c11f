/**
 * Rolling hashes of steps: what the explorer knows of an actor's history (everything a step
 * shows, notes included, since an actor's local decisions live in its generator, not in the
 * machine). Layer: pure emulator.
 */
import type { Step } from './types';

export const mix = (h: number, v: number) => Math.imul(h ^ v, 16777619) >>> 0;

// anchors and notes repeat: hash each distinct string once
const strHashes = new Map<string, number>();

export function hashStr(h: number, s: string): number {
  let sh = strHashes.get(s);
  if (sh === undefined) {
    sh = 2166136261;
    for (let i = 0; i < s.length; i++) sh = mix(sh, s.charCodeAt(i));
    if (strHashes.size < 100_000) strHashes.set(s, sh);
  }
  return mix(h, sh);
}

/** h extended by one step's values, statement and note. */
export function stepHash(h: number, anchor: string, note: string | undefined, lo = 0, hi = 0, pfn = 0, nr = 0, ref = 0, addr = 0): number {
  const ha = hashStr(mix(mix(h, lo ^ hi ^ pfn ^ nr), ref ^ addr), anchor);
  return note === undefined ? mix(ha, 0x6e6f) : hashStr(ha, note);
}

/** The same for a recorded step. */
export function hashStep(h: number, s: Step): number {
  return stepHash(h, s.anchor, s.note, s.lo, s.hi, s.pfn, s.nr, s.ref, s.addr);
}

/**
 * A sink that keeps no steps, only their rolling hash and the last one's wait condition: what
 * the explorer needs of a world (its counterexamples are replayed in full once found).
 */
export class HashSink {
  h = 0;
  until: (() => boolean) | undefined;
  /** only keep the wait condition (a rebuild, whose actors' hashes are handed over at its end) */
  off = false;

  push(s: Step): void {
    this.add(s.anchor, s.note, s.lo, s.hi, s.pfn, s.nr, s.ref, s.addr, s.until);
  }

  /** A step known by one number (a statement of a file's own code: its line). */
  mark(v: number): void {
    if (!this.off) this.h = mix(this.h, v);
    this.until = undefined;
  }

  /** A step given by its fields (what a kernel function records, without building a Step). */
  add(anchor: string, note: string | undefined, lo: number | undefined, hi: number | undefined, pfn: number | undefined, nr: number | undefined, ref: number | undefined, addr: number | undefined, until: (() => boolean) | undefined): void {
    if (!this.off) this.h = stepHash(this.h, anchor, note, lo, hi, pfn, nr, ref, addr);
    this.until = until;
  }
}
