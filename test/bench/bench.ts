/**
 * npm run bench: speed and memory figures for people, then ONE line of JSON with every figure
 * (snake_case, unit last). Targets live here, not in unit tests.
 */
import { buildMachine } from '../../emulator/machine/builder';
import { makeKern } from '../../emulator/run/replay';
import type { Scenario } from '../../emulator/scenarios';
import { TraceBuffer } from '../../emulator/trace/buffer';
import { getVersion } from '../../emulator/versions';
import { getArch } from '../../emulator/arch';
import { explore } from '../../emulator/explore/explore';
import { RACES } from '../../emulator/scenarios/races';

const figures: Record<string, number> = {};
const say = (s: string) => process.stdout.write(s + '\n');
let peakRss = 0;
const sampleRss = () => (peakRss = Math.max(peakRss, process.memoryUsage().rss));

const GIB_PAGES = 262_144;
const oneGiB: Scenario = {
  id: 'bench-1g-4k',
  title: '1 GiB of 4K pages',
  description: '',
  layout: [{ kind: '4k', offset: 0, count: GIB_PAGES }],
  call: { offset: 0, nrPages: GIB_PAGES, write: true },
};

function gupThroughput(versionId: string, trace: boolean, runs: number): number {
  const arch = getArch('x86-64');
  const version = getVersion(versionId);
  const m = buildMachine(arch, version.era, { mappings: oneGiB.layout });
  sampleRss();
  let best = Infinity;
  for (let r = 0; r < runs; r++) {
    (globalThis as { gc?: () => void }).gc?.(); // start each run without the last one's garbage
    const k = makeKern(m, version, undefined, 'gup', 0, trace, false, new TraceBuffer(trace ? GIB_PAGES * 6 : 0));
    const t0 = process.hrtime.bigint();
    const it = version.gup(k, { start: arch.userBase, nrPages: GIB_PAGES, write: true }).next();
    if (!it.done) throw new Error('yielded');
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (it.value.nr !== GIB_PAGES || it.value.slowPath) throw new Error(`bench walk returned ${it.value.nr}`);
    sampleRss();
    best = Math.min(best, ms);
  }
  return GIB_PAGES / (best / 1000);
}

function main(): void {
  say('GUP-fast over 1 GiB of 4K pages (262,144 pages) on x86-64, best of 5:');
  for (const v of ['x86-2008', 'generic-2014']) {
    const off = gupThroughput(v, false, 5);
    const on = gupThroughput(v, true, 3);
    const key = v.replace(/-/g, '_');
    figures[`gup_fast_1g_pages_per_s_trace_off_${key}`] = Math.round(off);
    figures[`gup_fast_1g_pages_per_s_trace_on_${key}`] = Math.round(on);
    say(`  ${v.padEnd(13)} tracing off ${(off / 1e6).toFixed(2)} M pages/s   tracing on ${(on / 1e6).toFixed(2)} M pages/s`);
  }
  figures.gup_fast_1g_pages_per_s_trace_off = figures.gup_fast_1g_pages_per_s_trace_off_x86_2008;
  figures.gup_fast_1g_pages_per_s_trace_on = figures.gup_fast_1g_pages_per_s_trace_on_x86_2008;
  figures.gup_fast_1g_peak_rss_mb = Math.round(peakRss / 1e5) / 10;
  say(`  peak RSS ${figures.gup_fast_1g_peak_rss_mb} MB (targets: >= 5 M pages/s off, >= 1 M pages/s on)`);
  say('');
  say('Race explorer (breadth-first, replaying schedules), time to the first counterexample on the version before the fix:');
  let best = { id: '', states: 0, perS: 0 };
  for (const sc of RACES) {
    const times: number[] = [];
    for (let r = 0; r < 3; r++) times.push(explore(sc, sc.before).ms);
    const ms = Math.min(...times);
    const after = explore(sc, sc.after);
    const perS = after.states / Math.max(after.ms, 1) * 1000;
    figures[`race_${sc.id.replace(/-/g, '_')}_ms_to_counterexample`] = ms;
    say(`  ${sc.id.padEnd(24)} counterexample in ${String(ms).padStart(5)} ms; after the fix: ${after.states} states in ${after.ms} ms (${Math.round(perS)} states/s)`);
    if (after.states > best.states) best = { id: sc.id, states: after.states, perS };
  }
  figures.explore_states_per_s = Math.round(best.perS);
  say(`  largest exploration: ${best.id} (${best.states} states) at ${figures.explore_states_per_s} states/s (targets: counterexample < 1000 ms, >= 200,000 states/s)`);
  say(JSON.stringify(figures));
}

main();
