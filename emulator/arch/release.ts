/**
 * Kernel releases as numbers, so an entry layout can say which releases it belongs to: "3.18"
 * is 3018, "2.6.38" is 638 (below every 3.x). A release picks the era of the THP protocol
 * (the splitting bit before 4.5) and, with the field table, the exact bit layout.
 * Layer: pure emulator.
 */
import type { Era } from './types';

export class ReleaseError extends Error {}

// the models ask on every walk step (atLeast, pte_offset_map's 6.5 rule): a release is parsed once
const numbers = new Map<string, number>();

export function releaseNumber(r: string): number {
  let n = numbers.get(r);
  if (n !== undefined) return n;
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?$/.exec(r.trim());
  if (!m) throw new ReleaseError(`'${r}' is not a kernel release (write it like 3.18 or 2.6.38)`);
  const [a, b, c] = [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
  // 2.6.x counts by its third number; from 3.0 the first two say it all
  n = a === 2 ? b * 100 + c : a * 1000 + b;
  if (numbers.size < 10_000) numbers.set(r, n);
  return n;
}

/** The THP protocol of a release: the splitting bit until 4.4, refcount freezing from 4.5. */
export function eraOfRelease(r: string): Era {
  return releaseNumber(r) < releaseNumber('4.5') ? 'thp-split' : 'modern';
}

/** The release an era's layout is shown for when none is named (what the models run). */
export const ERA_RELEASE: Record<Era, string> = { 'thp-split': '3.18', modern: '6.9' };

/** Whether a release lies in [since, until] (either bound may be open). */
export function inRelease(r: string, since?: string, until?: string): boolean {
  const n = releaseNumber(r);
  return (!since || n >= releaseNumber(since)) && (!until || n <= releaseNumber(until));
}
