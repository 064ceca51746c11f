import { describe, expect, it } from 'vitest';
import { explore, makeWorld, replaySchedule, stepActor } from '../../emulator/explore/explore';
import { RACES, type RaceRun, type RaceScenario } from '../../emulator/scenarios/races';
import { main } from '../../server/cli/main';
import { replay } from '../../emulator/run/replay';
import type { Scenario } from '../../emulator/scenarios/types';
import { getScenario } from '../../emulator/scenarios';

/** race-fork-get's layout and call as a plain scenario (no actor): what one replay does with it */
const forkGetScenario = (): Scenario => {
  const sc = RACES.find((r) => r.id === 'race-fork-get')!;
  return { id: 'fork-get-alone', title: 'race-fork-get without its actor', description: '', layout: sc.layout, call: sc.call };
};

const label = (r: RaceRun) => `${r.version} on ${r.arch}${r.options ? ' ' + JSON.stringify(r.options) : ''}`;

describe.each(RACES.map((r) => [r.id, r] as [string, RaceScenario]))('%s', (_id, sc) => {
  it(`before the fix (${label(sc.before)}): a violation of ${sc.invariant}, and its counterexample replays to it`, () => {
    const r = explore(sc, sc.before);
    expect(r.verdict).toBe('violation');
    expect(r.invariant).toBe(sc.invariant);
    expect(r.counterexample.length).toBeGreaterThan(0);
    // deterministic: replaying the schedule from scratch reaches the same violation, twice
    for (let k = 0; k < 2; k++) {
      const again = replaySchedule(sc, sc.before, r.schedule);
      expect(again.v?.invariant).toBe(sc.invariant);
      expect(again.v?.message).toBe(r.message);
      expect(again.w.trace.map((s) => `${s.actor}:${s.fn}:${s.anchor}`)).toEqual(r.counterexample.map((s) => `${s.actor}:${s.fn}:${s.anchor}`));
    }
  });

  it(`after the fix (${label(sc.after)}): no violation within the bounds`, () => {
    const r = explore(sc, sc.after);
    expect(r.verdict, r.message).toBe('ok');
    expect(r.complete).toBe(true); // every interleaving within maxSteps was explored
    expect(r.bounds).toEqual(sc.bounds);
    expect(r.states).toBeGreaterThan(0);
    console.log(`${sc.id}: ${label(sc.after)} ok — ${r.states} states, ${r.interleavings} interleavings, bounds ${JSON.stringify(r.bounds)}`);
  });

  for (const run of sc.alsoOk ?? []) {
    it(`also safe: ${label(run)}`, () => {
      const r = explore(sc, run);
      expect(r.verdict, r.message).toBe('ok');
      expect(r.complete).toBe(true);
    });
  }
  for (const run of sc.alsoBad ?? []) {
    it(`also broken: ${label(run)}`, () => {
      expect(explore(sc, run).verdict).toBe('violation');
    });
  }
});

describe('what the counterexamples show', () => {
  const race = (id: string) => RACES.find((r) => r.id === id)!;

  it('PAE: the torn value is the old low half with a zero high half', () => {
    const r = explore(race('race-pae-torn-pte'), race('race-pae-torn-pte').before);
    const writes = r.counterexample.filter((s) => s.actor === 'pte-writer').map((s) => s.anchor);
    expect(writes).toEqual(['ptep->pte_low = 0', 'ptep->pte_high = 0']);
    const used = r.counterexample[r.counterexample.length - 1];
    expect(used.hi).toBe(0);
    expect(used.lo! & 1).toBe(1); // still "present"
  });

  it('THP split without IPI: the walker adds its head refs after the split handed out the tail counts', () => {
    const r = explore(race('race-thp-split-no-ipi'), race('race-thp-split-no-ipi').before);
    const idx = (pred: (s: { fn: string; actor: string; anchor: string }) => boolean) => r.counterexample.findIndex(pred);
    expect(idx((s) => s.fn === '__split_huge_page_refcount')).toBeLessThan(idx((s) => s.anchor === 'get_head_page_multiple(head, refs)'));
    expect(r.message).toMatch(/freed while still mapped/);
  });

  it('fork: the pin lands between fork\'s "not pinned" decision and its write-protect', () => {
    const r = explore(race('race-fork-pin'), race('race-fork-pin').before);
    const order = r.counterexample.filter((s) => /page_maybe_dma_pinned|try_grab_compound_head|ptep_set_wrprotect/.test(s.anchor)).map((s) => s.anchor);
    expect(order).toEqual(['page_maybe_dma_pinned(page)', 'try_grab_compound_head', 'ptep_set_wrprotect(src_mm, addr, src_pte)']);
  });

  it('fork-get: the read-only pte is taken as it is, the unmap follows, and do_wp_page reuses the page by its mapcount (5.7)', () => {
    const r = explore(race('race-fork-get'), race('race-fork-get').before);
    const order = r.counterexample.filter((s) => /try_grab_compound_head|ptep_get_and_clear_full|reuse_swap_page|wp_page_reuse/.test(s.anchor)).map((s) => s.anchor);
    expect(order).toEqual(['try_grab_compound_head', 'ptep_get_and_clear_full', 'reuse_swap_page(page)', 'wp_page_reuse(vmf)']);
    expect(r.counterexample.find((s) => s.anchor === 'reuse_swap_page(page)')?.note).toMatch(/mapcount 1, reuse/);
  });

  it('fork-get after 5.8: the fast walk leaves the read-only pte, the slow path gives the caller its own copy', () => {
    const rp = replay({ arch: 'x86-64', version: 'foll-pin-2020', scenario: forkGetScenario(), options: { cowBreakReads: true }, trace: true });
    const slow = rp.steps.find((s) => s.event === 'slowpath');
    const [, copy, old] = /COW broken early for a read .*: COW copy 0x([0-9a-f]+) replaces 0x([0-9a-f]+)/.exec(slow?.note ?? '') ?? [];
    expect(copy).toBeDefined();
    expect(rp.result.fastNr).toBe(0);
    expect(rp.result.pages).toEqual([parseInt(copy, 16)]);
    expect(copy).not.toBe(old);
  });

  it('fork-get from 5.9: the reference keeps the page count up, so the other process copies (page_count != 1)', () => {
    const r = explore(race('race-fork-get'), { arch: 'x86-64', version: 'wpseq-2021' });
    expect(r.verdict).toBe('ok');
    expect(r.complete).toBe(true);
  });

  it('1 GiB overflow: the 8th pin wraps the refcount (2^18 subpages x 1024 each)', () => {
    const r = explore(race('race-pin-overflow-1g'), race('race-pin-overflow-1g').before);
    const pins = r.counterexample.filter((s) => s.event === 'ref' && s.anchor === 'try_grab_compound_head');
    expect(pins).toHaveLength(8);
    expect(pins[0].ref).toBe(262_144 * 1024);
    expect(r.message).toMatch(/wrapped to -2147483647/);
  });
});

describe('actors alone', () => {
  const solo = (id: string, run: RaceRun) => {
    const sc = RACES.find((r) => r.id === id)!;
    const w = makeWorld(sc, run);
    while (!w.actors[1].done) expect(stepActor(w, 1)).toBeUndefined();
    return w;
  };

  it('munmap clears the ptes and the pmd and frees the pte table', () => {
    const w = solo('race-table-free', { arch: 'arm64', version: 'generic-2014' });
    const pmdWrite = w.trace.find((s) => s.anchor === 'pmd_clear(pmd)');
    expect(pmdWrite).toBeDefined();
    const freed = w.trace.find((s) => s.anchor === 'pte_free_tlb(tlb, token, addr)')!;
    expect(w.m.mem.hasFlag(freed.pfn!, 'pagetable')).toBe(true); // reused at once as somebody else's table
    expect(w.m.vmas).toHaveLength(0);
  });

  it('THP split leaves every subpage its own page with refcount 1 and maps it by a pte', () => {
    const w = solo('race-thp-split-no-ipi', { arch: 'arm64', version: 'generic-2014' });
    const head = w.trace.find((s) => s.fn === '__split_huge_page_refcount')!.pfn!;
    for (let i = 0; i < 512; i++) {
      const p = w.m.mem.info(head + i);
      expect(p.refcount).toBe(1);
      expect(p.order).toBe(0);
      expect(p.flags).not.toContain('tail');
    }
  });

  it('THP split waits for the walker on x86 (IPI) but not on ARM without the dummy IPI', () => {
    const sc = RACES.find((r) => r.id === 'race-thp-split-no-ipi')!;
    for (const [run, waits] of [[{ arch: 'x86-64', version: 'x86-2008' }, true], [{ arch: 'arm-lpae', version: 'arm-rfc-2013' }, false]] as const) {
      const w = makeWorld(sc, run);
      // the walker gets as far as interrupts off, then the splitter runs as far as it can
      while (!w.m.cpus[0].irqsOff) stepActor(w, 0);
      let blocked = false;
      while (!w.actors[1].done) {
        const last = w.actors[1].steps.at(-1);
        if (last?.until && !last.until()) {
          blocked = true;
          break;
        }
        stepActor(w, 1);
      }
      expect(blocked).toBe(waits);
    }
  });

  it('the PAE writer clears low then high, and sets high then low', () => {
    const w = solo('race-pae-torn-pte', { arch: 'x86-pae', version: 'x86-2008' });
    expect(w.trace.filter((s) => s.event === 'write').map((s) => s.anchor)).toEqual([
      'ptep->pte_low = 0', 'ptep->pte_high = 0', 'ptep->pte_high = pte.pte_high', 'ptep->pte_low = pte.pte_low',
    ]);
  });

  it('fork without a pin write-protects and shares the page (refcount 2, mapcount 2)', () => {
    const w = solo('race-fork-pin', { arch: 'x86-64', version: 'wpseq-2021' });
    const wp = w.trace.find((s) => s.anchor.startsWith('ptep_set_wrprotect'))!;
    expect(w.m.mem.info(wp.pfn!)).toMatchObject({ refcount: 2, mapcount: 2 });
    expect(w.m.mm.write_protect_seq).toBe(2);
  });

  it('NUMA hinting makes the pte protnone', () => {
    const w = solo('race-numa-protnone', { arch: 'x86-64', version: 'foll-pin-2020' });
    const e = w.trace.find((s) => s.event === 'write')!;
    expect(w.m.arch.protnone({ lo: e.lo!, hi: e.hi! })).toBe(true);
  });

  it('unmap-realloc frees the page and hands the same frame to another owner', () => {
    const w = solo('race-pte-changed', { arch: 'arm64', version: 'generic-2014' });
    const freed = w.trace.find((s) => s.event === 'free')!;
    const again = w.trace.find((s) => s.event === 'alloc')!;
    expect(again.pfn).toBe(freed.pfn);
    expect(w.m.mem.info(again.pfn!).refcount).toBe(1);
  });
});

describe('CLI explore and races', () => {
  const run = (argv: string[]) => {
    const out: string[] = [];
    const err: string[] = [];
    const code = main(argv, (s) => out.push(s), (s) => err.push(s)) as number;
    return { code, out: out.join('\n'), err: err.join('\n') };
  };

  it('explore --json has the contract shape', () => {
    const r = run(['explore', '--scenario', 'race-pte-changed', '--version', 'arm-rfc-2013', '--arch', 'arm-lpae', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j).toMatchObject({ verdict: 'violation', invariant: 'ref-on-freed-page' });
    expect(typeof j.states).toBe('number');
    expect(typeof j.interleavings).toBe('number');
    expect(typeof j.ms).toBe('number');
    expect(j.counterexample[0]).toMatchObject({ actor: expect.any(String), fn: expect.any(String), anchor: expect.any(String) });
  });

  it('explore prints the verdict and the figures', () => {
    const r = run(['explore', '--scenario', 'race-pte-changed', '--version', 'generic-2014', '--arch', 'arm64', '--max-states', '50000']);
    expect(r.out).toMatch(/no violation within bounds \(max 50000 states/);
    expect(r.out).toMatch(/explored \d+ states, \d+ complete interleavings/);
  });

  it('explore refuses bad names and bad numbers', () => {
    expect(run(['explore', '--scenario', 'race-nope', '--version', 'x86-2008', '--arch', 'x86-64']).err).toMatch(/valid race scenarios: race-pae-torn-pte/);
    expect(run(['explore', '--scenario', 'race-fork-pin', '--version', 'x86-2008', '--arch', 'arm64']).err).toMatch(/does not run on arm64/);
    expect(run(['explore', '--scenario', 'race-fork-pin', '--version', 'wpseq-2021', '--arch', 'x86-64', '--max-states', '-3']).code).toBe(2);
  });

  it('races --json: every race fails before and passes after', () => {
    const r = run(['races', '--json']);
    const rows = JSON.parse(r.out);
    expect(rows.map((x: { scenario: string }) => x.scenario)).toEqual(RACES.map((x) => x.id));
    for (const row of rows) expect(row).toMatchObject({ beforeVerdict: 'violation', afterVerdict: 'ok', ms: expect.any(Number) });
  }, 60_000);
});

describe('actors of another era are refused, never a false violation', () => {
  const split = RACES.find((r) => r.id === 'race-thp-split-no-ipi')!;
  it.each(['foll-pin-2020', 'wpseq-2021', 'folio-6x'])('the pre-4.5 THP split against %s (4.5+ refcounting): NotApplicableError naming why', (v) => {
    expect(() => explore(split, { arch: 'arm64', version: v })).toThrow(/THP split of before 4\.5 .* only meets walkers of before 4\.5, and .* 4\.5\+ refcounting era/);
  });
  it('the same split against the pre-4.5 walkers still runs (its before and after)', () => {
    expect(explore(split, split.before).verdict).toBe('violation');
    expect(explore(split, split.after).verdict).toBe('ok');
  });
});

describe('munmap as tlb_finish_mmu orders it', () => {
  it('the pmd is cleared before the flush, and the pages and the table are freed after it', () => {
    const sc = RACES.find((r) => r.id === 'race-table-free')!;
    const w = makeWorld(sc, { arch: 'x86-64', version: 'x86-2008' });
    while (!w.actors[1].done) stepActor(w, 1);
    const order = w.actors[1].steps.map((s) => s.anchor);
    const at = (a: string) => order.indexOf(a);
    expect(at('pmd_clear(pmd)')).toBeGreaterThan(at('ptep_get_and_clear_full'));
    expect(at('pmd_clear(pmd)')).toBeLessThan(at('tlb_flush_mmu_tlbonly'));
    expect(at('tlb_flush_mmu_tlbonly')).toBeLessThan(at('free_pages_and_swap_cache'));
    expect(at('free_pages_and_swap_cache')).toBeLessThan(at('pte_free_tlb(tlb, token, addr)'));
  });
});

describe('the compound-head re-check with a pin', () => {
  it('dropping the pin taken on a head that is no longer compound gives back exactly what was taken (no violation)', () => {
    const base = RACES.find((r) => r.id === 'race-compound-head-split')!;
    const sc = { ...base, call: { ...base.call, pin: true } };
    const r = explore(sc, { arch: 'arm64', version: 'wpseq-2021' });
    expect(r.verdict, r.message).toBe('ok');
    expect(r.complete).toBe(true);
  });
});

describe('statements as each release wrote them', () => {
  it('5.7 turned interrupts off with local_irq_disable in internal_get_user_pages_fast; 5.8 on with local_irq_save', () => {
    const anchors = (version: string) => replay({ arch: 'x86-64', version, scenario: 'pages-4k-16', trace: true }).steps.filter((s) => s.event === 'irq').map((s) => s.anchor);
    expect(anchors('foll-pin-2020')).toEqual(['local_irq_disable()', 'local_irq_enable()']);
    expect(anchors('wpseq-2021')).toEqual(['local_irq_save(flags)', 'local_irq_restore(flags)']);
  });
});

describe('the x86 file\'s range checks as it had them (2.6.27-4.12)', () => {
  const past = (fastOnly: boolean): Scenario => ({ id: 'past', title: 'past TASK_SIZE', description: '', layout: [], call: { offset: 0, nrPages: 16, write: false, fromTop: 8 * 4096, fastOnly } });
  it('x86-64 stops a range past the user address space before the walk; PAE had no such check and walks until an entry stops it', () => {
    const r64 = replay({ arch: 'x86-64', version: 'x86-2008', scenario: past(false), trace: true });
    expect(r64.steps.some((s) => s.anchor === 'end >> __VIRTUAL_MASK_SHIFT' && s.event === 'bail')).toBe(true);
    const pae = replay({ arch: 'x86-pae', version: 'x86-2008', scenario: past(false), trace: true });
    expect(pae.steps.some((s) => s.anchor === 'end >> __VIRTUAL_MASK_SHIFT')).toBe(false);
    expect(pae.steps.some((s) => s.event === 'load' && s.fn !== 'get_user_pages')).toBe(true);
    // either way the slow path finds no VMA there
    expect([r64.result.ret, pae.result.ret]).toEqual([-14, -14]);
  });

  it('__get_user_pages_fast refuses it outright (access_ok) and returns 0', () => {
    const r = replay({ arch: 'x86-pae', version: 'x86-2008', scenario: past(true), trace: true });
    expect(r.result).toMatchObject({ nr: 0, ret: 0, slowPath: false });
    expect(r.steps.some((s) => s.anchor.startsWith('access_ok(') && s.event === 'bail')).toBe(true);
  });
});

describe('a built-in scenario as the debugger runs it (a world with no other actor)', () => {
  const worldOf = (id: string, run: RaceRun) => {
    const s = getScenario(id);
    const w = makeWorld({ ...s, actors: [] }, run);
    while (!w.actors[0].done) stepActor(w, 0);
    return w;
  };
  it('la57-high gets its 5-level machine and its 4 pages, as replay does', () => {
    const w = worldOf('la57-high', { arch: 'x86-64', version: 'folio-6x' });
    expect(w.m.arch.levels.map((l) => l.level)).toEqual(['pgd', 'p4d', 'pud', 'pmd', 'pte']);
    expect(w.returned[0].runs.toArray()).toEqual(replay({ arch: 'x86-64', version: 'folio-6x', scenario: 'la57-high' }).result.pages);
  });
  it('past-task-size starts where its fromTop says, below TASK_SIZE, and gets nothing', () => {
    const w = worldOf('past-task-size', { arch: 'arm64', version: 'folio-6x' });
    expect(w.returned[0].call.start).toBe(w.m.arch.taskSize - 8 * 4096);
    expect(w.returned[0].runs.toArray()).toEqual([]);
  });
});

describe('which bound cut an exploration', () => {
  const sc = RACES.find((r) => r.id === 'race-pin-overflow-1g')!;

  it('nine 1 GiB pins get nine calls\' worth of steps: on the 6.x model every interleaving runs to its end, and the fix holds', () => {
    const r = explore(sc, { arch: 'x86-64', version: 'folio-6x' });
    expect(r.verdict).toBe('ok');
    expect(r.complete).toBe(true);
    expect(r.cut).toBeUndefined();
  });

  it('the step bound of one interleaving and the state budget are told apart, in the result and in what the CLI says', async () => {
    const steps = explore(sc, { arch: 'x86-64', version: 'folio-6x' }, { maxSteps: 50 });
    expect([steps.complete, steps.cut]).toEqual([false, 'steps']);
    const states = explore(RACES.find((r) => r.id === 'race-fork-pin')!, { arch: 'x86-64', version: 'wpseq-2021' }, { maxStates: 40 });
    expect([states.complete, states.cut]).toEqual([false, 'states']);
    const out: string[] = [];
    await main(['explore', '--scenario', 'race-fork-pin', '--version', 'wpseq-2021', '--arch', 'x86-64', '--max-states', '40'], (l) => out.push(l), () => {});
    expect(out.join('\n')).toContain('the state bound cut the search');
  });
});
