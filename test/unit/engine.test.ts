/**
 * The explorer's engine: rebuilt worlds behave like replayed ones, machine copies are
 * independent, the table digest follows the contents, the digest set is a set, and the Fiber
 * runner leaves frames.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import { DigestSet } from '../../emulator/explore/digests';
import { enabled, freeze, hashWorld, makeWorld, rebuild, replaySchedule, scheduleOf, stepActor, takeTurn, type Turn, type World } from '../../emulator/explore/explore';
import { buildMachine, mapPmdByPtes } from '../../emulator/machine/builder';
import type { Machine } from '../../emulator/machine/machine';
import { makeKern } from '../../emulator/run/replay';
import { RACES } from '../../emulator/scenarios/races';
import { getVersion } from '../../emulator/versions';
import { Fiber, enter, step, type G, type Kern } from '../../emulator/versions/kern';
import { F } from '../../emulator/machine/memory';
import { framesMapped } from '../../emulator/actors';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getRace } from '../../emulator/scenarios/races';
import { sourceVersion } from '../../emulator/interp/source-version';
import { sourceParser } from '../../server/analysis/parse';

/** A seeded random walk through a race's interleavings: the schedule, stopping early at random. */
function randomSchedule(seed: number, w: World, maxLen: number): number[] {
  let x = seed >>> 0 || 1;
  const rnd = () => ((x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) ^ 0x9e3779b9) >>> 0) / 2 ** 32;
  const out: number[] = [];
  while (out.length < maxLen) {
    const en = enabled(w);
    if (en.length === 0 || rnd() < 0.04) break;
    const i = en[Math.floor(rnd() * en.length)];
    out.push(i);
    if (stepActor(w, i)) break;
  }
  return out;
}

/** A lean world taken along a schedule as the explorer takes it: turn by turn, keeping the machine where the GUP caller starts a run. */
function reach(w: World, schedule: number[]): Turn | null {
  let turn: Turn | null = null;
  for (const i of schedule) {
    turn = takeTurn(w, turn, i);
    stepActor(w, i);
  }
  return turn;
}

/** What the next steps of a world look like, actor by actor, for the given turns. */
function continueWith(w: World, turns: number[]): string[] {
  const out: string[] = [];
  for (const i of turns) {
    if (!enabled(w).includes(i)) break;
    const n = w.trace.length;
    const v = stepActor(w, i);
    out.push(...w.trace.slice(n).map((s) => `${s.actor}:${s.anchor}:${s.lo ?? ''}:${s.hi ?? ''}:${s.pfn ?? ''}:${s.ref ?? ''}:${s.note ?? ''}`));
    if (v) {
      out.push(`violation ${v.invariant}`);
      break;
    }
  }
  return out;
}

describe('a state rebuilt from what the explorer kept of it (its machine and scripts copied, the GUP caller replayed quietly on the machines its runs started from) or reached by a lean world is the state the schedule replays to', () => {
  for (const sc of RACES.filter((r) => r.actors.length > 0)) {
    for (const run of [sc.before, sc.after]) {
      it(`${sc.id} on ${run.version}`, () => {
        for (let seed = 1; seed <= 12; seed++) {
          const probe = makeWorld(sc, run);
          const full = randomSchedule(seed, probe, 60);
          const cut = Math.floor(full.length * ((seed % 5) + 1) / 6);
          const prefix = full.slice(0, cut);
          const replayed = replaySchedule(sc, run, prefix);
          if (replayed.v) continue; // the explorer never rebuilds past a violation
          // the explorer's own worlds hash their steps as they go: the same state, the same digest
          const lean = makeWorld(sc, run, true);
          const turn = reach(lean, prefix);
          expect(hashWorld(lean), `lean, seed ${seed}`).toBe(hashWorld(replayed.w));
          const kept = freeze(lean);
          // the live world goes on (as the state's first successor does): what was kept stays as it was
          randomSchedule(seed + 100, lean, 20);
          const rebuilt = rebuild(sc, run, turn, kept);
          expect(hashWorld(rebuilt), `seed ${seed}`).toBe(hashWorld(replayed.w));
          // the digests came with the machine's copy: they are the machine's as it is
          expect(rebuilt.m.mem.mapDigest, `seed ${seed}`).toBe(rebuilt.m.mem.digestFromScratch());
          expect(rebuilt.m.mem.tablesDigest, `seed ${seed}`).toBe(rebuilt.m.mem.tablesDigestFromScratch());
          expect(hashWorld(rebuild(sc, run, turn, kept, true))).toBe(hashWorld(replayed.w));
          expect(rebuilt.actors.map((a) => a.done)).toEqual(replayed.w.actors.map((a) => a.done));
          expect(enabled(rebuilt)).toEqual(enabled(replayed.w));
          // and both go on the same way
          const rest = full.slice(cut).concat([0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0]);
          expect(continueWith(rebuilt, rest)).toEqual(continueWith(replayed.w, rest));
          // and keeps its digests from there on
          expect(rebuilt.m.mem.mapDigest, `seed ${seed}, continued`).toBe(rebuilt.m.mem.digestFromScratch());
          expect(rebuilt.m.mem.tablesDigest, `seed ${seed}, continued`).toBe(rebuilt.m.mem.tablesDigestFromScratch());
          // the state's last child takes what was kept over (after the copies above were made of it): the same state
          const adopted = rebuild(sc, run, turn, kept, false, true);
          expect(adopted.m, `seed ${seed}`).toBe(kept.m);
          const again = replaySchedule(sc, run, prefix).w;
          expect(hashWorld(adopted), `seed ${seed}, adopted`).toBe(hashWorld(again));
          expect(continueWith(adopted, rest), `seed ${seed}, adopted`).toEqual(continueWith(again, rest));
        }
      });
    }
  }
});

describe("a state of a file's own code rebuilt from what was kept (the caller copied where no kernel generator runs under it, else replayed) is the state its schedule replays to", () => {
  const text = readFileSync(join(__dirname, '../fixtures/eras/gup-6.1-shape.c'), 'utf8');
  for (const id of ['race-compound-head-split', 'race-khugepaged-collapse', 'race-pmd-changed', 'race-fork-pin', 'race-pae-torn-pte']) {
    const sc = getRace(id);
    const arch = sc.arches?.[0] ?? sc.before.arch;
    it(`${id} on the 6.1-shaped fixture, ${arch}`, async () => {
      const run = { arch, version: sourceVersion(text, await sourceParser(), getArch(arch), getVersion('folio-6x')) };
      let copied = 0;
      for (let seed = 1; seed <= 12; seed++) {
        const probe = makeWorld(sc, run);
        const full = randomSchedule(seed, probe, 60);
        const prefix = full.slice(0, Math.floor((full.length * ((seed % 5) + 1)) / 6));
        const replayed = replaySchedule(sc, run, prefix);
        if (replayed.v) continue;
        // a lean world hashes a statement by its line, a recording one by its step: lean is compared with lean
        const direct = makeWorld(sc, run, true);
        reach(direct, prefix);
        const lean = makeWorld(sc, run, true);
        const turn = reach(lean, prefix);
        const kept = freeze(lean);
        if (kept.threads[0]) copied++;
        randomSchedule(seed + 100, lean, 20); // the live world goes on
        expect(hashWorld(rebuild(sc, run, turn, kept, true)), `seed ${seed}`).toBe(hashWorld(direct));
        const rebuilt = rebuild(sc, run, turn, kept);
        expect(rebuilt.returned.map((r) => r.h)).toEqual(replayed.w.returned.map((r) => r.h));
        expect(rebuilt.actors.map((a) => a.done)).toEqual(replayed.w.actors.map((a) => a.done));
        const rest = full.slice(prefix.length).concat([0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 0]);
        expect(continueWith(rebuilt, rest), `seed ${seed}`).toEqual(continueWith(replayed.w, rest));
        // the last child's world: what was kept, taken over
        const adopted = rebuild(sc, run, turn, kept, true, true);
        expect(hashWorld(adopted), `seed ${seed}, adopted`).toBe(hashWorld(direct));
      }
      // the caller was copied, not replayed, in most states (a load in halves on PAE is data too)
      expect(copied).toBeGreaterThan(6);
    });
  }

  it('a caller waiting in the slow path for mmap_lock (khugepaged holds it) is copied, waits in the copy for the same thing, and goes on as its replay does', async () => {
    const sc = getRace('race-khugepaged-collapse');
    const arch = sc.arches?.[0] ?? sc.before.arch;
    const run = { arch, version: sourceVersion(text, await sourceParser(), getArch(arch), getVersion('folio-6x')) };
    let waiting = 0;
    for (let seed = 1; seed <= 80 && waiting < 4; seed++) {
      const lean = makeWorld(sc, run, true);
      const full = randomSchedule(seed, makeWorld(sc, run), 80);
      // the first point of this schedule where the caller waits
      let turn: Turn | null = null;
      let at = -1;
      for (let n = 0; n < full.length; n++) {
        turn = takeTurn(lean, turn, full[n]);
        if (stepActor(lean, full[n])) break;
        if (!lean.actors[0].done && lean.actors[0].until && !enabled(lean).includes(0)) {
          at = n + 1;
          break;
        }
      }
      if (at < 0) continue;
      const kept = freeze(lean);
      expect(kept.threads[0], `seed ${seed}: the waiting caller is copied`).toBeDefined();
      waiting++;
      const replayed = replaySchedule(sc, run, full.slice(0, at)).w;
      const rebuilt = rebuild(sc, run, turn, kept);
      expect(enabled(rebuilt)).toEqual(enabled(replayed));
      const rest = full.slice(at).concat([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
      expect(continueWith(rebuilt, rest), `seed ${seed}`).toEqual(continueWith(replayed, rest));
      // and the pages the slow path took went into the copy's pages[]: the same call returned
      expect(replayed.returned.length, `seed ${seed}`).toBeGreaterThan(0);
      expect(rebuilt.returned.map((r) => r.h)).toEqual(replayed.returned.map((r) => r.h));
    }
    expect(waiting).toBeGreaterThan(0);
  });

  it('a caller that cannot be copied (the end of a call whose walk read a local nothing set) is had again from the root: the state its schedule replays to', async () => {
    const g49 = readFileSync(join(__dirname, '../fixtures/eras/gup-4.9-shape.c'), 'utf8');
    const early = g49.replace('\thd = pmd_page(seen);\n\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);', '\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);\n\thd = pmd_page(seen);');
    expect(early).not.toBe(g49);
    const sc = getRace('race-pmd-changed');
    const run = { arch: 'arm64' as const, version: sourceVersion(early, await sourceParser(), getArch('arm64'), getVersion('generic-2014')) };
    // the caller alone until its walk reads hd, then the others; every state on the way rebuilt
    const lean = makeWorld(sc, run, true);
    let turn: Turn | null = null;
    let stopped = 0;
    for (let n = 0; n < 40 && enabled(lean).length; n++) {
      const i = lean.actors[0].done ? enabled(lean)[0] : 0;
      turn = takeTurn(lean, turn, i);
      stepActor(lean, i);
      const kept = freeze(lean);
      if (!kept.threads[0] && !lean.actors[0].done) stopped++;
      const direct = makeWorld(sc, run, true);
      reach(direct, scheduleOf(turn));
      expect(hashWorld(rebuild(sc, run, turn, kept, true)), `turn ${n}`).toBe(hashWorld(direct));
      expect(enabled(rebuild(sc, run, turn, kept)), `turn ${n}`).toEqual(enabled(direct));
    }
    expect(stopped).toBeGreaterThan(0);
    expect(lean.returned[0]?.stopped?.invariant).toBe('uninitialised-read');
  });
});

function fourK(): Machine {
  const m = buildMachine(getArch('x86-64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 4 }] });
  m.enableGhost();
  return m;
}

/** The table of this level that the walk of the first user address goes through. */
function tableAt(m: Machine, level: string): number {
  let table = m.mm.pgd;
  for (const l of m.arch.levels) {
    if (l.level === level) return table;
    table = m.arch.pfn(m.load(m.slot(table, l.level, m.arch.userBase)));
  }
  throw new Error(`no ${level} level`);
}

function ptep(m: Machine, idx: number) {
  let table = m.mm.pgd;
  const a = m.arch.userBase;
  for (const l of m.arch.levels) {
    const s = m.slot(table, l.level, a);
    if (l.level === 'pte') return { ...s, idx };
    table = m.arch.pfn(m.load(s));
  }
  throw new Error('no pte level');
}

describe('machine copies', () => {
  it('share table pages until one side writes, then neither sees the other', () => {
    const m = fourK();
    const before = m.load(ptep(m, 0));
    const c1 = m.clone();
    const c2 = m.clone();
    c1.store(ptep(c1, 0), { lo: 0x1234_5067, hi: 0 });
    expect(c1.load(ptep(c1, 0)).lo).toBe(0x1234_5067);
    expect(m.load(ptep(m, 0))).toMatchObject({ lo: before.lo, hi: before.hi });
    expect(c2.load(ptep(c2, 0))).toMatchObject({ lo: before.lo, hi: before.hi });
    m.store(ptep(m, 1), { lo: 0, hi: 0 });
    expect(c1.load(ptep(c1, 1)).lo).not.toBe(0);
    expect(c2.load(ptep(c2, 1)).lo).not.toBe(0);
    // the ghost history is per copy too
    expect(c1.slotHeld(ptep(c1, 0), { lo: 0x1234_5067, hi: 0 })).toBe(true);
    expect(m.slotHeld(ptep(m, 0), { lo: 0x1234_5067, hi: 0 })).toBe(false);
    expect(c2.slotHeld(ptep(c2, 0), { lo: 0x1234_5067, hi: 0 })).toBe(false);
    expect(c2.slotHeld(ptep(c2, 0), before)).toBe(true);
    // a copy of a copy keeps what its parent wrote
    const c3 = c1.clone();
    expect(c3.slotHeld(ptep(c3, 0), { lo: 0x1234_5067, hi: 0 })).toBe(true);
    expect(c3.slotHeld(ptep(c3, 0), before)).toBe(true);
  });

  it('remember what a table frame held after it is freed and reused', () => {
    const m = fourK();
    const t = m.mem.alloc(0, 'table');
    const slot = { table: t, idx: 3, level: 'pte' as const };
    m.store(slot, { lo: 0x5000_0067, hi: 1 });
    m.mem.free(t);
    expect(m.mem.alloc(0, 'table')).toBe(t); // the allocator hands the same frame out again
    expect(m.load(slot)).toMatchObject({ lo: 0, hi: 0 });
    expect(m.slotHeld(slot, { lo: 0x5000_0067, hi: 1 })).toBe(true);
    expect(m.slotHeld(slot, { lo: 0x5000_0067, hi: 0 })).toBe(false);
    // and so does a copy taken before the reuse
    const c = fourK().clone();
    const t2 = c.mem.alloc(0, 'table');
    c.store({ table: t2, idx: 0, level: 'pte' }, { lo: 0x7000_0067, hi: 0 });
    const cc = c.clone();
    cc.mem.free(t2);
    cc.mem.alloc(0, 'table');
    expect(cc.slotHeld({ table: t2, idx: 0, level: 'pte' }, { lo: 0x7000_0067, hi: 0 })).toBe(true);
  });

  it('keep their own memmap, holds and table owners', () => {
    const m = fourK();
    const pfn = m.arch.pfn(m.load(ptep(m, 0)));
    const c = m.clone();
    c.refAdd(pfn, 5);
    c.hold(pfn);
    const t = c.mem.alloc(0, 'table');
    c.setTableVa(t, { level: 'pte', base: 0 });
    expect(c.refcount(pfn)).toBe(m.refcount(pfn) + 5);
    expect(c.holds.get(pfn)).toBe(1);
    expect(m.holds.get(pfn)).toBeUndefined();
    expect(m.tableVa.has(t)).toBe(false);
    expect(m.mem.frames).toBe(c.mem.frames - 1);
  });

  it('share the list of which frames hold tables until either side changes it', () => {
    const m = fourK();
    const data = m.mem.alloc(0);
    m.mem.free(data);
    const c = m.clone();
    // the copy hands the freed frame out again as a table: the original still has none there
    expect(c.mem.alloc(0, 'table')).toBe(data);
    expect(c.mem.hasTable(data)).toBe(true);
    expect(m.mem.hasTable(data)).toBe(false);
    // and the other way round: the original's new table is not the copy's
    const c2 = m.clone();
    expect(m.mem.alloc(0, 'table')).toBe(data);
    c2.mem.alloc(0, 'data');
    expect(m.mem.hasTable(data)).toBe(true);
    expect(c2.mem.hasTable(data)).toBe(false);
    expect(c2.mem.word(data, 0)).toBe(0);
  });

  it('digest their tables by content, whatever the order of writes', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.integer({ min: 0, max: 511 }), fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 3 })), { maxLength: 40 }), (writes) => {
        const base = fourK();
        const a = base.clone();
        const b = base.clone();
        const final = new Map<number, [number, number]>();
        for (const [idx, lo, hi] of writes) {
          a.store(ptep(a, idx), { lo: lo * 0x1000, hi });
          final.set(idx, [lo * 0x1000, hi]);
        }
        // b gets only the final values, in reverse order
        for (const [idx, [lo, hi]] of [...final].reverse()) b.store(ptep(b, idx), { lo, hi });
        expect(a.mem.tablesDigest).toBe(b.mem.tablesDigest);
        // the count of words in use (the balance check's early stop) follows the contents too
        const t = ptep(a, 0).table;
        expect(a.mem.at(F.used, t - a.mem.basePfn)).toBe(a.mem.words(t).filter((x) => x !== 0).length);
        // and a real difference shows
        if (final.size > 0) {
          const [idx, [lo, hi]] = [...final][0];
          b.store(ptep(b, idx), { lo: lo ^ 0x2000, hi });
          expect(a.mem.tablesDigest).not.toBe(b.mem.tablesDigest);
        }
      }),
      { numRuns: 60 },
    );
  });
});

describe('the memmap', () => {
  /** one change to a copy: [copy, kind, frame, value] */
  const change = fc.tuple(fc.integer({ min: 0, max: 2 }), fc.constantFrom('put', 'add', 'alloc', 'free', 'flag', 'clone', 'split'), fc.integer({ min: 0, max: 199 }), fc.integer({ min: -3, max: 70000 }));
  it('is copied on write chunk by chunk: copies never see each other, and its digest is always the digest of its contents', () => {
    fc.assert(
      fc.property(fc.array(change, { maxLength: 60 }), (changes) => {
        const base = fourK().mem;
        base.reserve(200);
        base.enableDigest();
        const copies = [base.clone(), base.clone(), base.clone()];
        // a plain model of each copy's refcounts, beside it
        const want = copies.map((c) => Array.from({ length: 260 }, (_, i) => (i < c.frames ? c.at(F.refcount, i) : 0)));
        for (const [n, kind, i, v] of changes) {
          const c = copies[n];
          if (kind === 'clone') {
            copies[n] = c.clone();
            continue;
          }
          if (i >= c.frames) continue;
          if (kind === 'put') c.put(F.refcount, i, v);
          else if (kind === 'add') c.add(F.refcount, i, v);
          else if (kind === 'flag') c.setFlag(c.basePfn + i, 'referenced', v % 2 === 0);
          else if (kind === 'free') c.free(c.headPfn(c.basePfn + i));
          else if (kind === 'split') c.splitCompound(i, Math.min(1 + (Math.abs(v) % 130), c.frames - i), v % 2 ? undefined : 1);
          else c.alloc(0);
          want[n] = Array.from({ length: 260 }, (_, j) => (j < c.frames ? c.at(F.refcount, j) : 0));
          if (kind === 'put') expect(want[n][i]).toBe(v);
        }
        copies.forEach((c, n) => {
          expect(c.mapDigest).toBe(c.digestFromScratch());
          // what one copy wrote, the others did not see
          expect(Array.from({ length: 260 }, (_, j) => (j < c.frames ? c.at(F.refcount, j) : 0))).toEqual(want[n]);
        });
      }),
      { numRuns: 80 },
    );
  });

  it('splits (and allocates on) a shared chunk once: a copy that does the same again gets the same chunk back, with the same fields as on an owned chunk', () => {
    const m = buildMachine(getArch('x86-64'), 'modern', { mappings: [{ kind: 'thp', offset: 0 }] });
    m.mem.enableDigest();
    const thp = [...Array(m.mem.frames).keys()].find((i) => m.mem.at(F.order, i) === 9)!;
    const fields = (mem: typeof m.mem) => [F.refcount, F.flags, F.head, F.order].map((f) => Array.from({ length: 512 }, (_, k) => mem.at(f, thp + k)));
    const a = m.mem.clone();
    const b = m.mem.clone();
    a.splitCompound(thp, 512, 1);
    b.splitCompound(thp, 512, 1);
    expect(fields(a)).toEqual(fields(b));
    expect(a.changedFrames(b).next().done).toBe(true); // every chunk shared: the same objects
    // an owned chunk (written first) splits in place to the same fields
    const c = m.mem.clone();
    for (let k = 0; k < 512; k += 64) c.put(F.mapcount, thp + k, 5); // not a field compared here
    c.put(F.refcount, thp + 1, 7);
    c.splitCompound(thp, 512, 1);
    expect(fields(c)).toEqual(fields(a));
    for (const x of [a, b, c]) expect(x.mapDigest).toBe(x.digestFromScratch());
    expect(fields(a)[2]).toEqual(Array.from({ length: 512 }, (_, k) => thp + k));
    // the tails of a pre-4.5 split likewise, each keeping the pins GUP left on it (here in _mapcount)
    const d = m.mem.clone();
    const e = m.mem.clone();
    d.put(F.mapcount, thp + 3, 2); // one owned chunk, the other seven shared
    e.put(F.mapcount, thp + 3, 2);
    e.put(F.mapcount, thp + 100, e.at(F.mapcount, thp + 100) + 1); // a chunk e owns and d does not (its value put back)
    e.put(F.mapcount, thp + 100, e.at(F.mapcount, thp + 100) - 1);
    expect(d.ownTails(thp + 1, 511, F.mapcount)).toBe(2);
    expect(e.ownTails(thp + 1, 511, F.mapcount)).toBe(2);
    expect([F.refcount, F.mapcount].map((f) => Array.from({ length: 511 }, (_, k) => d.at(f, thp + 1 + k)))).toEqual([
      Array.from({ length: 511 }, (_, k) => (k === 2 ? 3 : 1)),
      Array.from({ length: 511 }, () => 1),
    ]);
    expect(fields(e)).toEqual(fields(d));
    for (const x of [d, e]) expect(x.mapDigest).toBe(x.digestFromScratch());
    // a THP allocated on fresh frames likewise (khugepaged's collapse, on every rebuild): the same pfn, the same shared chunks
    for (const x of [a, b]) x.reserve(1030);
    const [pa, pb] = [a.alloc(9), b.alloc(9)];
    expect(pa).toBe(pb);
    expect(a.changedFrames(b).next().done).toBe(true);
    expect(a.info(pa + 5)).toMatchObject({ flags: ['tail'], head: pa, order: 9, refcount: 0 });
    expect(a.info(pa)).toMatchObject({ flags: ['head'], head: pa, order: 9, refcount: 1 });
    for (const x of [a, b]) expect(x.mapDigest).toBe(x.digestFromScratch());
  });

  it('digests by content once asked to: the same fields the same digest, whatever the order of writes; one field changed, another', () => {
    const a = fourK().mem;
    a.enableDigest();
    const b = a.clone();
    a.put(F.refcount, 1, 7);
    a.put(F.pincount, 2, 3);
    a.put(F.refcount, 1, 9);
    b.put(F.pincount, 2, 3);
    b.put(F.refcount, 1, 9);
    expect(a.mapDigest).toBe(b.mapDigest);
    // the same value in another field, or in another frame, is another state
    const c = a.clone();
    c.put(F.pincount, 2, 0);
    c.put(F.mapcount, 2, 3);
    expect(c.mapDigest).not.toBe(a.mapDigest);
    const d = a.clone();
    d.put(F.pincount, 2, 0);
    d.put(F.pincount, 3, 3);
    expect(d.mapDigest).not.toBe(a.mapDigest);
  });

  it('keeps its digest through every race the explorer walks (random interleavings, every step)', () => {
    for (const sc of RACES) {
      for (let seed = 1; seed <= 4; seed++) {
        const w = makeWorld(sc, sc.before);
        let x = seed;
        for (let n = 0; n < 80; n++) {
          const en = enabled(w);
          if (en.length === 0) break;
          x = (Math.imul(x, 1103515245) + 12345) >>> 0;
          const v = stepActor(w, en[x % en.length]);
          expect(w.m.mem.mapDigest, `${sc.id} seed ${seed} step ${n}`).toBe(w.m.mem.digestFromScratch());
          if (v) break;
        }
      }
    }
  });
});

describe("a state's digest", () => {
  it('tells apart states whose machines are the same and whose actors went different ways', () => {
    // states of one machine differ only in their actors' histories: every bit of the digest must depend on those
    const w = makeWorld(RACES[0], RACES[0].after, true);
    const seen = new Set<number>();
    let x = 1;
    for (let n = 0; n < 20000; n++) {
      for (const a of w.actors) a.h = x = (Math.imul(x ^ (x >>> 13), 0x5bd1e995) + n) >>> 0;
      seen.add(hashWorld(w));
    }
    expect(seen.size).toBe(20000);
  });
});

describe('a run of stores (storeRun)', () => {
  it('leaves a copy as the same stores one by one would: words, digest, words in use, slot history, mapped pages', () => {
    const entry = fc.oneof(
      fc.constant([0, 0]),
      // a present user pte of one of the 4 mapped pages (their frames are known to the ghost) or another frame
      fc.tuple(fc.integer({ min: 0, max: 7 }), fc.constantFrom(0x67, 0x65, 0x0), fc.integer({ min: 0, max: 1 })).map(([k, bits, hi]) => [0x1000 * (0x100 + k) + bits, hi]),
    );
    fc.assert(
      // runs long enough to cover whole 32-entry chunks (a cleared one becomes the shared zero chunk)
      fc.property(fc.integer({ min: 0, max: 511 }), fc.array(entry, { minLength: 1, maxLength: 100 }), fc.boolean(), fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), entry), { maxLength: 30 }), (idx0, run, clear, pre) => {
        const n = Math.min(run.length, 512 - idx0);
        // values written since recording began (the ghost keeps what is written over them), near the run
        const built = fourK();
        for (const [d, [lo, hi]] of pre) built.store(ptep(built, Math.min(511, idx0 + d)), { lo, hi });
        const base = built.clone();
        const a = base.clone();
        const b = base.clone();
        const first = ptep(a, idx0);
        const words = new Uint32Array(2 * n);
        run.slice(0, n).forEach(([lo, hi], t) => {
          words[2 * t] = lo;
          words[2 * t + 1] = hi;
        });
        const before = Array.from({ length: n }, (_, t) => a.load({ ...first, idx: idx0 + t }));
        for (let t = 0; t < n; t++) a.store({ ...first, idx: idx0 + t }, clear ? { lo: 0, hi: 0 } : { lo: words[2 * t], hi: words[2 * t + 1] });
        const was = b.storeRun(first, n, clear ? null : words);
        expect(Array.from(was.slice(0, 2 * n))).toEqual(before.flatMap((e) => [e.lo >>> 0, e.hi >>> 0]));
        const t = first.table;
        expect(Array.from(b.mem.words(t))).toEqual(Array.from(a.mem.words(t)));
        expect(b.mem.tablesDigest).toBe(a.mem.tablesDigest);
        expect(b.mem.at(F.used, t - b.mem.basePfn)).toBe(a.mem.at(F.used, t - a.mem.basePfn));
        for (let k = 0; k < n; k++) {
          const s = { ...first, idx: idx0 + k };
          for (const e of [before[k], { lo: words[2 * k], hi: words[2 * k + 1] }, { lo: 0x1000 * 0x107 + 0x67, hi: 0 }]) expect(b.slotHeld(s, e)).toBe(a.slotHeld(s, e));
        }
        for (let k = 0; k < 8; k++) {
          const pfn = 0x100 + k;
          const gen = a.mem.valid(pfn) ? a.mem.at(F.gen, a.mem.idx(pfn)) : 0;
          for (let j = 0; j < n; j++) {
            const addr = a.arch.userBase + (idx0 + j) * 4096;
            expect(b.mapped(addr, pfn, gen)).toBe(a.mapped(addr, pfn, gen));
          }
        }
        // the copy it came from is untouched
        expect(base.load({ ...first, idx: idx0 })).toMatchObject({ lo: before[0].lo, hi: before[0].hi });
      }),
      { numRuns: 80 },
    );
  });
});

describe('a run of stores that clears whole chunks of a table', () => {
  it('leaves the words, digest and words in use that one store at a time would, whether the copy owned the chunks or shared them', () => {
    const built = buildMachine(getArch('x86-64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 100 }] });
    built.enableGhost();
    built.mem.enableDigest();
    for (const owned of [false, true]) {
      const a = built.clone();
      const b = built.clone();
      // an owned chunk: written once before the run (a pte of page 40 given another frame's bits and back)
      if (owned) for (const m of [a, b]) m.store(ptep(m, 40), m.load(ptep(m, 40)));
      const first = ptep(a, 0);
      const before = Array.from({ length: 96 }, (_, t) => a.load({ ...first, idx: t }));
      for (let t = 0; t < 96; t++) a.store({ ...first, idx: t }, { lo: 0, hi: 0 });
      const was = b.storeRun(first, 96, null);
      expect(Array.from(was.slice(0, 192))).toEqual(before.flatMap((e) => [e.lo >>> 0, e.hi >>> 0]));
      expect(Array.from(b.mem.words(first.table))).toEqual(Array.from(a.mem.words(first.table)));
      expect(b.mem.tablesDigest).toBe(a.mem.tablesDigest);
      expect(b.mem.tablesDigest).toBe(b.mem.tablesDigestFromScratch());
      expect(b.mem.at(F.used, first.table - b.mem.basePfn)).toBe(2 * 4); // pages 96..99 are left
      // and a write after it copies the zero chunk rather than writing into it (every table's empty chunks are that one chunk)
      b.store({ ...first, idx: 3 }, before[3]);
      b.store({ ...first, idx: 40 }, before[40]);
      expect(b.load({ ...first, idx: 3 })).toMatchObject({ lo: before[3].lo, hi: before[3].hi });
      const pmdTable = tableAt(b, 'pmd');
      expect(b.load({ table: pmdTable, idx: 40, level: 'pmd' })).toMatchObject({ lo: 0, hi: 0 });
      expect(b.load({ table: pmdTable, idx: 3, level: 'pmd' })).toMatchObject({ lo: 0, hi: 0 });
      expect(b.clone().load({ ...first, idx: 35 })).toMatchObject({ lo: 0, hi: 0 });
      expect(built.load({ ...first, idx: 3 })).toMatchObject({ lo: before[3].lo, hi: before[3].hi });
    }
  });

  it('and written back from the words it kept (a split mapping its ptes again), in copy after copy: what one store at a time leaves, and a later write to one copy is its own', () => {
    const built = buildMachine(getArch('x86-64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 100 }] });
    built.enableGhost();
    built.mem.enableDigest();
    const first = ptep(built, 0);
    const cleared = built.clone();
    const saved = cleared.storeRun(first, 96, null).slice(0, 192);
    // the same source written back onto copies of the cleared table, and once over one page changed first
    const copies = [cleared.clone(), cleared.clone(), cleared.clone()];
    copies[2].store({ ...first, idx: 70 }, { lo: 0x5000 | 0x67, hi: 0 });
    for (const b of copies) {
      const a = b.clone();
      for (let t = 0; t < 96; t++) a.store({ ...first, idx: t }, { lo: saved[2 * t], hi: saved[2 * t + 1] });
      b.storeRun(first, 96, saved);
      expect(Array.from(b.mem.words(first.table))).toEqual(Array.from(a.mem.words(first.table)));
      expect(Array.from(b.mem.words(first.table))).toEqual(Array.from(built.mem.words(first.table)));
      expect(b.mem.tablesDigest).toBe(a.mem.tablesDigest);
      expect(b.mem.tablesDigest).toBe(b.mem.tablesDigestFromScratch());
      expect(b.mem.at(F.used, first.table - b.mem.basePfn)).toBe(a.mem.at(F.used, first.table - a.mem.basePfn));
    }
    copies[0].store({ ...first, idx: 5 }, { lo: 0, hi: 0 });
    expect(copies[1].load({ ...first, idx: 5 }).lo).toBe(saved[10]);
    expect(copies[0].mem.tablesDigest).toBe(copies[0].mem.tablesDigestFromScratch());
  });

  it('the words a split keeps are one copy for every copy of the machine whose table is as it was, and a copy of their own where it is not', () => {
    const built = buildMachine(getArch('x86-64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 100 }] });
    const first = ptep(built, 0);
    const a = built.clone();
    const b = built.clone();
    const words = a.mem.wordsOf(first.table, 0, 192);
    expect(Array.from(words)).toEqual(Array.from(a.mem.words(first.table)).slice(0, 192));
    expect(b.mem.wordsOf(first.table, 0, 192)).toBe(words);
    expect(a.mem.wordsOf(first.table, 2, 190)).not.toBe(words);
    // a copy that wrote a pte there reads its own words, and the others still share theirs
    b.store({ ...first, idx: 40 }, { lo: 0, hi: 0 });
    const own = b.mem.wordsOf(first.table, 0, 192);
    expect(own).not.toBe(words);
    expect(own[80]).toBe(0);
    expect(words[80]).not.toBe(0);
    expect(b.clone().mem.wordsOf(first.table, 0, 192)).not.toBe(words);
    expect(built.clone().mem.wordsOf(first.table, 0, 192)).toBe(words);
  });

  it('ptes mapped again from kept words note the same spans as stores one by one, in every copy that maps them (the decoding is shared)', () => {
    const built = buildMachine(getArch('arm-lpae'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 64 }] });
    built.enableGhost();
    const first = ptep(built, 0);
    const base = built.arch.userBase;
    const words = built.mem.wordsOf(first.table, 0, 128);
    const pfns = Array.from({ length: 64 }, (_, t) => built.arch.pfn({ lo: words[2 * t], hi: words[2 * t + 1] }));
    const gen = (m: Machine, pfn: number) => m.mem.at(F.gen, pfn - m.mem.basePfn);
    const [a, b, c] = [built.clone(), built.clone(), built.clone()];
    for (const m of [a, b, c]) m.storeRun(first, 64, null);
    // b's frame 10 becomes another allocation's
    b.mem.put(F.gen, pfns[10] - b.mem.basePfn, gen(b, pfns[10]) + 7);
    a.storeRun(first, 64, words);
    b.storeRun(first, 64, words);
    for (let t = 0; t < 64; t++) c.store({ ...first, idx: t }, { lo: words[2 * t], hi: words[2 * t + 1] });
    for (let t = 0; t < 64; t++) {
      const at = base + t * 4096;
      expect(a.mapped(at, pfns[t], gen(a, pfns[t]))).toBe(true);
      expect(a.mapped(at, pfns[t], gen(a, pfns[t]))).toBe(c.mapped(at, pfns[t], gen(c, pfns[t])));
      expect(b.mapped(at, pfns[t], gen(b, pfns[t]))).toBe(true);
    }
    // the generation is b's own, read when b maps them (the decoding is shared, the frames' state is not)
    const at10 = base + 10 * 4096;
    expect(b.mapped(at10, pfns[10], gen(a, pfns[10]) + 7)).toBe(true);
    expect(a.mapped(at10, pfns[10], gen(a, pfns[10]) + 7)).toBe(false);
    expect(c.mapped(at10, pfns[10], gen(a, pfns[10]) + 7)).toBe(false);
  });

  it('khugepaged decodes the frames a table maps once for the copies that share it, and afresh where a copy wrote a pte', () => {
    const built = buildMachine(getArch('arm64'), 'modern', { mappings: [{ kind: '4k', offset: 0, count: 512 }] });
    const first = ptep(built, 0);
    const ctx = (m: Machine) => makeKern(m, getVersion('folio-6x'), undefined, 'khugepaged', 1, false, false);
    const a = built.clone();
    const b = built.clone();
    const frames = framesMapped(ctx(a), first.table, 512);
    expect(frames).toEqual(Array.from({ length: 512 }, (_, t) => a.arch.pfn(a.load({ ...first, idx: t }))));
    expect(framesMapped(ctx(b), first.table, 512)).toBe(frames);
    b.store({ ...first, idx: 7 }, { lo: 0, hi: 0 });
    const own = framesMapped(ctx(b), first.table, 512);
    expect(own).toHaveLength(511);
    expect(own).not.toContain(frames[7]);
    expect(framesMapped(ctx(a), first.table, 512)).toBe(frames);
  });
});

describe('the digest set', () => {
  it('answers like a Set of 52-bit digests, across growth and equal low halves', () => {
    const digest = fc.oneof(
      fc.integer({ min: 0, max: 2 ** 52 - 1 }),
      // the same low 32 bits under different high bits: the high half must be compared too
      fc.integer({ min: 0, max: 2 ** 20 - 1 }).map((hi) => hi * 2 ** 32 + 0x1234),
      fc.integer({ min: 0, max: 64 }),
    );
    fc.assert(
      fc.property(fc.array(digest, { maxLength: 3000 }), (ds) => {
        const set = new DigestSet();
        const ref = new Set<number>();
        for (const d of ds) {
          expect(set.add(d)).toBe(!ref.has(d));
          ref.add(d);
        }
        expect(set.size).toBe(ref.size);
        for (const d of ref) expect(set.add(d)).toBe(false);
      }),
      { numRuns: 40 },
    );
  });
});

describe('the Fiber runner', () => {
  function* leafFn(k: Kern, x: number): G<number> {
    if (enter(k, 'leaf_fn', 'leaf_fn', 0, 0)) yield;
    step(k, 'leaf_fn', 'x + 1', 'note'); // recorded, not yielded at
    return x + 1;
  }
  function* outerFn(k: Kern): G<number> {
    if (enter(k, 'outer_fn', 'outer_fn', 0, 0)) yield;
    const a = (yield leafFn(k, 1)) as number;
    const b = (yield leafFn(k, a)) as number;
    return a * 10 + b;
  }

  it('returns callee values through the stack and leaves every frame', () => {
    const m = fourK();
    for (const i of [false, true]) {
      const k = makeKern(m, getVersion('wpseq-2021'), undefined, 'gup', 0, true, i, []);
      const f = new Fiber(k, outerFn(k));
      let points = 0;
      while (!f.resume()) points++;
      expect(f.value).toBe(23);
      expect(k.frames).toEqual([]);
      const steps = k.sink as { fn: string; event: string; depth: number }[];
      expect(steps.map((s) => `${s.event}:${s.fn}:${s.depth}`)).toEqual([
        'call:outer_fn:0', 'call:leaf_fn:1', 'note:leaf_fn:2', 'return:leaf_fn:1', 'call:leaf_fn:1', 'note:leaf_fn:2', 'return:leaf_fn:1', 'return:outer_fn:0',
      ]);
      // interleaved, every call and return is a scheduling point (the notes here are not)
      expect(points).toBe(i ? 6 : 0);
    }
  });
});

describe('a pmd split (mapPmdByPtes)', () => {
  // the split writes its 512 ptes in bulk from the first one: each must be what mkLeaf makes for that subpage
  for (const arch of ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'] as const) {
    it(`maps every subpage with its own pte on ${arch}`, () => {
      const a = getArch(arch);
      const m = buildMachine(a, 'modern', { mappings: [{ kind: 'thp', offset: 0 }] });
      let table = m.mm.pgd;
      const addr = a.userBase;
      let pmdp;
      for (const l of a.levels) {
        const s = m.slot(table, l.level, addr);
        if (l.level === 'pmd') {
          pmdp = s;
          break;
        }
        table = a.pfn(m.load(s));
      }
      const pmd = m.load(pmdp!);
      const head = a.pfn(pmd);
      const newPmd = mapPmdByPtes(m, pmdp!, pmd, addr, 'modern');
      const ptes = a.pfn(newPmd);
      const prot = { write: a.write('pmd', pmd, 'modern'), user: a.user(pmd) };
      for (const t of [0, 1, 2, 255, 256, 511]) {
        const e = m.load(m.slot(ptes, 'pte', addr + t * 4096));
        expect(e).toEqual(a.mkLeaf('pte', head + t, prot, 'modern'));
        expect(a.pfn(e)).toBe(head + t);
      }
    });
  }
});
