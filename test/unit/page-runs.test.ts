/**
 * pages[] as runs of frames, and what reads a 1 GiB page a chunk or a run at a time instead of a
 * frame at a time: the same answers as pages[] entry by entry, and nothing missed in a huge page's
 * body once a copy of the machine writes it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkBalance, checkBalanceOnce } from '../../emulator/explore/invariants';
import { getArch } from '../../emulator/arch';
import { buildMachine } from '../../emulator/machine/builder';
import type { Machine } from '../../emulator/machine/machine';
import { F, PG } from '../../emulator/machine/memory';
import { releaseAll, replay } from '../../emulator/run/replay';
import { gupResult, runsOf } from '../../emulator/versions/kern';
import { PageRuns } from '../../emulator/versions/page-runs';
import { CallerPages } from '../../emulator/interp/caller-pages';

describe('PageRuns', () => {
  it('holds pages[] entry for entry: filled, cut back and extended, as maximal runs of consecutive frames', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 60 }), fc.nat(70), fc.array(fc.integer({ min: 0, max: 40 }), { maxLength: 10 }), (pfns, cut, more) => {
        const r = PageRuns.of(pfns);
        expect(r.toArray()).toEqual(pfns);
        expect(r.length).toBe(pfns.length);
        // no run goes on where the next begins
        r.first.forEach((p, i) => i > 0 && expect(r.first[i - 1] + r.count[i - 1]).not.toBe(p));
        expect(r.concat(more).toArray()).toEqual([...pfns, ...more]);
        r.truncate(cut);
        expect(r.toArray()).toEqual(pfns.slice(0, cut));
        expect(r.count.every((n) => n > 0)).toBe(true);
      }),
    );
  });

  it('a 1 GiB leaf is one run', () => {
    const r = new PageRuns();
    r.push(7);
    r.pushRun(8, 262_144);
    r.pushRun(0x100000, 3);
    expect([r.first, r.count, r.length]).toEqual([[7, 0x100000], [262_145, 3], 262_148]);
  });
});

describe("the caller's pages[] as a file's own code fills it (CallerPages)", () => {
  it('reads back what an array would hold, written in order, out of order, in runs, then copied', () => {
    const write = fc.oneof(
      fc.record({ at: fc.nat(12), v: fc.integer({ min: 0, max: 30 }) }),
      fc.record({ run: fc.constant(true), v: fc.integer({ min: 0, max: 30 }), n: fc.integer({ min: 1, max: 5 }) }),
    );
    fc.assert(
      fc.property(fc.array(write, { maxLength: 25 }), (writes) => {
        const p = new CallerPages();
        const model: unknown[] = [];
        for (const w of writes) {
          if ('run' in w) {
            // a loop run whole appends where the code has got to
            const at = model.length;
            p.fill(at, w.v, w.n);
            for (let k = 0; k < w.n; k++) model[at + k] = w.v + k;
          } else {
            p.set(w.at, w.v);
            model[w.at] = w.v;
          }
        }
        const copy = p.copy();
        p.set(0, 999);
        expect(copy.length).toBe(model.length);
        for (let i = 0; i < model.length + 2; i++) expect(copy.get(i)).toBe(model[i]);
        const n = model.length;
        expect(copy.slice(n)).toEqual(model.slice(0, n));
        const whole = Array.from({ length: n }, (_, i) => model[i]).every((x) => typeof x === 'number');
        expect(copy.runsTo(n)?.toArray()).toEqual(whole ? model : undefined);
      }),
    );
  });
});

describe('a result over runs', () => {
  it('a short pages[] is an array as any; a long one is written out when read (JSON, a spread) while the explorer reads its runs', () => {
    const short = gupResult({ nr: 4, ret: 4, slowPath: false, fastNr: 4 }, PageRuns.of([5, 6, 7, 9]));
    expect(Object.getOwnPropertyDescriptor(short, 'pages')?.value).toEqual([5, 6, 7, 9]);
    expect([runsOf(short).first, runsOf(short).count]).toEqual([[5, 9], [3, 1]]);
    const runs = new PageRuns();
    runs.pushRun(0x40000, 262_144);
    const long = gupResult({ nr: 262_144, ret: 262_144, slowPath: false, fastNr: 262_144 }, runs);
    expect(Object.getOwnPropertyDescriptor(long, 'pages')?.get).toBeTypeOf('function');
    expect(runsOf(long)).toBe(runs);
    const json = JSON.parse(JSON.stringify(long));
    expect(Object.keys(json)).toEqual(['nr', 'ret', 'slowPath', 'fastNr', 'pages']);
    expect([json.pages.length, json.pages[0], json.pages[262_143]]).toEqual([262_144, 0x40000, 0x40000 + 262_143]);
    expect({ ...long }.pages).toBe(long.pages);
    // a result written out as an array (a file's own code) is read into runs
    expect(runsOf({ nr: 3, ret: 3, slowPath: false, fastNr: 3, pages: [1, 2, 3] }).count).toEqual([3]);
  });
});

describe('a 1 GiB page read a chunk at a time', () => {
  const pinned = () => {
    const rp = replay({ arch: 'x86-64', version: 'foll-pin-2020', scenario: 'pin-1g' });
    releaseAll(rp);
    return rp.machine;
  };

  it('the balance check still sees one tail with a count of its own, in a copy written after the body was found quiet', () => {
    const m = pinned();
    expect(checkBalance(m)).toBeUndefined();
    const head = m.mem.idx(firstCompoundHead(m));
    const copy = m.clone();
    expect(checkBalance(copy)).toBeUndefined(); // the body's chunks are shared now, and known quiet
    copy.mem.put(F.refcount, head + 100_000, 1);
    expect(checkBalance(copy)?.message).toMatch(new RegExp(`page 0x${(copy.mem.basePfn + head + 100_000).toString(16)} has refcount 1 after`));
    copy.mem.put(F.refcount, head + 100_000, 0);
    copy.mem.put(F.pincount, head + 200_001, 2);
    expect(checkBalance(copy)?.message).toMatch(/and pincount 2/);
    // the machine it was copied from is as it was
    expect(checkBalance(m)).toBeUndefined();
  });

  it('flagsIn finds one flagged frame among 262,144, before and after its chunk is shared', () => {
    const m = pinned();
    const head = firstCompoundHead(m);
    const i = m.mem.idx(head);
    expect(m.mem.flagsIn(i, 262_144) & PG.cowReused).toBe(0);
    const copy = m.clone();
    expect(copy.mem.flagsIn(i, 262_144) & PG.cowReused).toBe(0);
    copy.mem.setFlag(head + 131_073, 'cowReused');
    expect(copy.mem.flagsIn(i, 262_144) & PG.cowReused).toBe(PG.cowReused);
    expect(copy.mem.flagsIn(i, 131_073) & PG.cowReused).toBe(0);
    expect(copy.mem.flagsIn(i + 131_073, 1) & PG.cowReused).toBe(PG.cowReused);
    expect(m.mem.flagsIn(i, 262_144) & PG.cowReused).toBe(0);
    // the check for a page reused in place asks the memory first: no frame of m ever had the flag, one of the copy may
    expect(m.mem.mayHave('cowReused')).toBe(false);
    expect(copy.mem.mayHave('cowReused')).toBe(true);
    expect(copy.clone().mem.mayHave('cowReused')).toBe(true);
  });
});

describe('512 small pages let go a chunk at a time (khugepaged after a collapse)', () => {
  const fields = (m: Machine) => [F.refcount, F.mapcount, F.flags, F.head, F.order].map((f) => Array.from({ length: m.mem.frames }, (_, i) => m.mem.at(f, i)));
  const mapped = (m: Machine) => {
    const out: number[] = [];
    for (let i = 0; i < m.mem.frames; i++) if (m.mem.at(F.mapcount, i) === 1 && !(m.mem.at(F.flags, i) & (PG.head | PG.tail))) out.push(m.mem.basePfn + i);
    return out;
  };
  it('leaves memory, its digest and the order pages come back from the allocator as a page at a time does; a second copy doing it again gets the same', () => {
    const m = buildMachine(getArch('arm64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 512 }] });
    m.mem.enableDigest();
    const pages = mapped(m);
    expect(pages.length).toBe(512);
    // one page held by somebody else too: it keeps a reference and is not freed
    m.refAdd(pages[100], 1);
    const one = m.clone();
    const batch = m.clone();
    for (const p of pages) {
      one.mem.add(F.mapcount, one.mem.idx(p), -1);
      one.refSub(p, 1);
    }
    batch.unmapPages(pages);
    expect(fields(batch)).toEqual(fields(one));
    expect(batch.mem.mapDigest).toBe(one.mem.mapDigest);
    const again = m.clone();
    again.unmapPages(pages);
    expect(fields(again)).toEqual(fields(one));
    const allocs = (x: Machine) => Array.from({ length: 600 }, () => x.mem.alloc(0));
    expect(allocs(batch)).toEqual(allocs(one));
  });
  it('the same for any pages held by somebody else (whole chunks of single references, and chunks with a held page, in any copy)', () => {
    const m = buildMachine(getArch('arm64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 512 }] });
    m.mem.enableDigest();
    const pages = mapped(m);
    fc.assert(
      fc.property(fc.uniqueArray(fc.nat(511), { maxLength: 6 }), fc.integer({ min: 0, max: 511 }), fc.integer({ min: 1, max: 512 }), (held, from, len) => {
        const base = m.clone();
        for (const h of held) base.refAdd(pages[h], 1);
        const part = pages.slice(from, from + len);
        const one = base.clone();
        for (const p of part) {
          one.mem.add(F.mapcount, one.mem.idx(p), -1);
          one.refSub(p, 1);
        }
        // twice: the second copy finds what the first worked out of the shared chunks
        for (let r = 0; r < 2; r++) {
          const batch = base.clone();
          batch.unmapPages(part);
          expect(fields(batch)).toEqual(fields(one));
          expect(batch.mem.mapDigest).toBe(one.mem.mapDigest);
          const allocs = (x: Machine) => Array.from({ length: 40 }, () => x.mem.alloc(0));
          expect(allocs(batch)).toEqual(allocs(one.clone()));
        }
      }),
      { numRuns: process.env.CI ? 15 : 40 },
    );
  });
  it('goes a page at a time where a frame is part of a compound page or its count would go below zero', () => {
    const m = buildMachine(getArch('arm64'), 'modern', { mappings: [{ kind: 'thp-pte', offset: 0 }] });
    const head = firstHeadOfOrder(m, 9);
    const before = fields(m);
    expect(m.mem.unmapSmallPages(m.mem.idx(head), 4)).toBe(false);
    expect(m.mem.unmapSmallPages(m.mem.idx(head) + 1, 4)).toBe(false);
    expect(m.mem.unmapSmallPages(m.mem.idx(head), 512)).toBe(false);
    expect(fields(m)).toEqual(before);
    // a page of its own with no reference left: nothing done either
    const lone = buildMachine(getArch('arm64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 2 }] });
    const [a] = mapped(lone);
    lone.mem.put(F.refcount, lone.mem.idx(a), 0);
    expect(lone.mem.unmapSmallPages(lone.mem.idx(a), 1)).toBe(false);
  });
});

/** The head of a compound page of this order. */
function firstHeadOfOrder(m: Machine, order: number): number {
  for (let i = 0; i < m.mem.frames; i++) if (m.mem.at(F.order, i) === order && m.mem.at(F.flags, i) & PG.head) return m.mem.basePfn + i;
  throw new Error(`no page of order ${order}`);
}

/** The head of the machine's 1 GiB page: the frame whose order is 18. */
function firstCompoundHead(m: ReturnType<typeof replay>['machine']): number {
  for (let i = 0; i < m.mem.frames; i++) if (m.mem.at(F.order, i) === 18 && m.mem.at(F.flags, i) & PG.head) return m.mem.basePfn + i;
  throw new Error('no 1 GiB page');
}

describe('the count check of an end state, once for each machine (checkBalanceOnce)', () => {
  it('the same contents share one verdict; a count off, or a hold more, is a machine of its own; one whose digests are not kept is checked every time', () => {
    const rp = replay({ arch: 'x86-64', version: 'foll-pin-2020', scenario: 'pages-4k-16' });
    releaseAll(rp);
    const m = rp.machine;
    m.mem.enableDigest();
    const seen = new Map<string, ReturnType<typeof checkBalance>>();
    expect(checkBalanceOnce(m, seen)).toBeUndefined();
    const copy = m.clone();
    expect(checkBalanceOnce(copy, seen)).toBeUndefined();
    expect(seen.size).toBe(1);
    // a mapped page with one reference more than its mapping: imbalanced
    const pfn = rp.result.pages[3];
    const i = copy.mem.idx(pfn);
    const rc = copy.mem.at(F.refcount, i);
    copy.mem.put(F.refcount, i, rc + 1);
    expect(checkBalanceOnce(copy, seen)?.message).toMatch(new RegExp(`page 0x${pfn.toString(16)} has refcount ${rc + 1} after`));
    expect(seen.size).toBe(2);
    // that reference held by someone else: balanced again, a third machine
    copy.hold(pfn);
    expect(checkBalanceOnce(copy, seen)).toBeUndefined();
    expect(seen.size).toBe(3);
    // a scratch copy whose digests are paused says nothing of its contents: checked, not looked up
    const scratch = m.clone();
    scratch.mem.pauseDigests();
    scratch.mem.put(F.refcount, i, rc + 1);
    expect(checkBalanceOnce(scratch, seen)?.message).toMatch(/has refcount/);
    expect(seen.size).toBe(3);
  });
});
