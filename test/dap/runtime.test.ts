/**
 * The debug runtime without the protocol. Time travel: reverse-continue replays the world at most
 * twice (a pass to find the last breakpoint hit, one to land on it), whatever the distance; it
 * used to replay once per step back, which froze the adapter on the 1 GiB scenarios. Actors: one
 * that cannot run on a scenario is refused at launch, and every step is answered by one stop.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyze } from '../../server/analysis/analyze';
import { ACTORS } from '../../emulator/actors';
import { SCENARIO_IDS } from '../../emulator/scenarios';
import { GupRuntime, LaunchError } from '../../server/dap/runtime';

const text = readFileSync(join(__dirname, '../fixtures/gup-2014-shape.c'), 'utf8');
const line0 = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle));

describe('reverse-continue', () => {
  it('lands on the last breakpoint hit before here with two replays, not one per step', async () => {
    const rt = new GupRuntime(await analyze(text));
    rt.start({ program: 'gup.c', arch: 'x86-64', scenario: 'pages-4k-16', engine: 'model' } as never);
    const stops: [string, number][] = [];
    rt.on('stop', (reason: string, thread: number) => stops.push([reason, thread]));
    const bp = line0('if (!page_cache_get_speculative(');
    expect(rt.setBreakpoints([bp])[0].verified).toBe(true);
    // run to the 3rd hit, then on a few steps past it
    for (let i = 0; i < 3; i++) rt.continue(1);
    expect(stops.map((s) => s[0])).toEqual(['breakpoint', 'breakpoint', 'breakpoint']);
    const third = rt.schedule.length;
    for (let i = 0; i < 4; i++) rt.step(1, 'over');
    expect(rt.schedule.length).toBeGreaterThan(third);
    const before = rt.rebuilds;
    rt.reverseContinue(1);
    expect(rt.rebuilds - before).toBeLessThanOrEqual(2);
    expect(stops[stops.length - 1]).toEqual(['breakpoint', 1]);
    expect(rt.schedule.length).toBe(third);
    expect(rt.current(1).line).toBe(bp);
    // and again: the hit before that one
    rt.reverseContinue(1);
    expect(rt.schedule.length).toBeLessThan(third);
    expect(rt.current(1).line).toBe(bp);
  });
});

describe('actors on every scenario (x86-64)', () => {
  it('each scenario x actor pair is refused at launch with the reason, or answers every step with exactly one stop', async () => {
    const a = await analyze(readFileSync(join(__dirname, '../fixtures/eras/gup-5.10-shape.c'), 'utf8'));
    let refused = 0;
    for (const sc of SCENARIO_IDS) {
      for (const actor of Object.keys(ACTORS)) {
        const rt = new GupRuntime(a);
        try {
          rt.start({ program: 'gup.c', arch: 'x86-64', scenario: sc, actors: [actor], engine: 'model' } as never);
        } catch (e) {
          expect(e).toBeInstanceOf(LaunchError);
          expect((e as Error).message).toMatch(/cannot run on|concerns /);
          refused++;
          continue;
        }
        let stops = 0;
        rt.on('stop', () => stops++);
        for (let i = 0; i < 60 && !rt.done; i++) {
          rt.step((i % 2) + 1, 'over');
          expect(stops, `${sc} + ${actor}, step ${i}`).toBe(i + 1);
        }
      }
    }
    // the huge-page scenarios have no pte table for the pte actors; 4.5+ walkers never meet the old split
    expect(refused).toBeGreaterThan(10);
  }, 60_000);
});
