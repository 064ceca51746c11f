/**
 * The ghost's log of leaf mappings: reach() answers as a page-by-page record would, and a copy
 * and its original go on apart (each copies only what it appends to).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SpanLog } from '../../emulator/machine/span-log';

/** The page-by-page record: address page -> the (pfn, gen) it mapped at some moment. */
type Pages = Map<number, Set<string>>;
function notePages(p: Pages, addr: number, n: number, pfn: number, g: number): void {
  for (let k = 0; k < n; k++) {
    const a = addr / 4096 + k;
    if (!p.has(a)) p.set(a, new Set());
    p.get(a)!.add(`${pfn + k}:${g}`);
  }
}
/** How many pages from a on map frames from pfn on of gen g, one after another, by the record. */
function run(p: Pages, a: number, pfn: number, g: number, max: number): number {
  let k = 0;
  while (k < max && p.get(a / 4096 + k)?.has(`${pfn + k}:${g}`)) k++;
  return k;
}

const span = fc.record({ page: fc.integer({ min: 0, max: 40 }), n: fc.integer({ min: 1, max: 6 }), pfn: fc.integer({ min: 0, max: 40 }), g: fc.integer({ min: 0, max: 2 }) });

describe('SpanLog', () => {
  it('reaches as far as the page-by-page record, whatever the spans and however they are copied', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(span, fc.boolean(), fc.boolean()), { maxLength: 120 }), fc.array(span, { maxLength: 30 }), (notes, probes) => {
        let log = new SpanLog();
        const pages: Pages = new Map();
        const copies: [SpanLog, Pages][] = [];
        for (const [s, copyFirst, originalGoesOn] of notes) {
          if (copyFirst) {
            // one side goes on, the other is kept with what it held then
            const c = log.copy();
            const kept = originalGoesOn ? c : log;
            log = originalGoesOn ? log : c;
            copies.push([kept, new Map([...pages].map(([k, v]) => [k, new Set(v)]))]);
          }
          log.note(s.page * 4096, s.n, s.pfn, s.g);
          notePages(pages, s.page * 4096, s.n, s.pfn, s.g);
        }
        for (const [l, p] of [[log, pages] as [SpanLog, Pages], ...copies]) {
          for (const q of probes) {
            const r = l.reach(q.page * 4096, q.pfn, q.g);
            // reach is the longest single span through the page: at least one page when the record has it, never past the record
            expect(r > 0).toBe(run(p, q.page * 4096, q.pfn, q.g, 1) === 1);
            expect(run(p, q.page * 4096, q.pfn, q.g, r)).toBe(r);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('a run of consecutive leaves of one allocation is one span, and a copy appending to it leaves the original as it was', () => {
    const log = new SpanLog();
    for (let k = 0; k < 512; k++) log.note(0x200000 + k * 4096, 1, 1000 + k, 7);
    expect(log.reach(0x200000, 1000, 7)).toBe(512);
    const c = log.copy();
    c.note(0x200000 + 512 * 4096, 1, 1512, 7);
    expect(c.reach(0x200000, 1000, 7)).toBe(513);
    expect(log.reach(0x200000, 1000, 7)).toBe(512);
    expect(log.reach(0x200000 + 512 * 4096, 1512, 7)).toBe(0);
  });
});
