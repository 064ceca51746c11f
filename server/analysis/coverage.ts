/**
 * Coverage of a file's GUP-fast code by the whole catalog: every built-in scenario and every
 * applicable race, on every arch the code is for, run on the file's own code with a coverage
 * sink. Statement lines and decision outcomes (each if and loop test, and each linearised && ||
 * ?:, taken or not) are the units, per function; what no scenario reaches is listed, and code no
 * modelled arch can reach (powerpc's hugepd, pgd-level huge pages) is marked as such.
 */
import { getArch } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { explore } from '../../emulator/explore/explore';
import type { Stubs } from '../../emulator/interp/kapi/stubs';
import { type Coverage, Unsupported } from '../../emulator/interp/runtime';
import { SLOW_PATH } from '../../emulator/interp/kapi/slow';
import { reachableFunctions } from '../../emulator/interp/prune';
import { roots, type SourceVersion } from '../../emulator/interp/source-version';
import { checkApplicable, replay } from '../../emulator/run/replay';
import { SCENARIOS } from '../../emulator/scenarios';
import { RACES } from '../../emulator/scenarios/races';
import { stoppedWhy } from '../../emulator/trace/describe';
import { analyze } from './analyze';
import { archesOf } from './fingerprint';
import { fileVersion } from './source';
import { type Stop, Stops } from './stops';

export interface FunctionCoverage {
  name: string;
  /** 1-based line of its definition */
  line: number;
  lines: { run: number; total: number };
  branches: { run: number; total: number };
  /** decision outcomes no scenario produced: the line and which way it did not go */
  missed: { line: number; outcome: 'true' | 'false' }[];
  /** no modelled arch can run it */
  unreachable: boolean;
  /** per executed line, the scenarios that ran it (the hover names them) */
  ranBy: Record<number, string[]>;
  /** every statement line, run or not (VS Code's statement coverage) */
  statements: number[];
  /** every decision outcome, run or not (VS Code's branch coverage) */
  decisions: { line: number; outcome: 'true' | 'false'; run: boolean }[];
  /** where a run stopped inside it (the code's own outcome, or a construct the interpreter does not know): why the lines after are not reached */
  stops: Stop[];
}

export interface FileCoverage {
  file: string;
  functions: FunctionCoverage[];
  summary: { branches: { run: number; total: number }; percent: number };
}

/** Walkers for page tables no modelled arch has: powerpc's hugepd, huge pages at the pgd level. */
const UNREACHABLE = /hugepd|hugepte|huge_pgd|pgd_leaf|gup_huge_pd\b/;
/** A decision that calls one of those walkers: neither outcome can happen on a modelled arch. */
const CALLS_UNREACHABLE = /\b(?:gup_huge_pd|gup_huge_pgd|gup_fast_hugepd|gup_hugepd|gup_fast_pgd_leaf)\s*\(/;
/** A test for such a table (a hugepd, a huge pgd or p4d): it can only be false on a modelled arch. */
const TESTS_UNREACHABLE = /\b(?:is_hugepd|pgd_huge|pgd_leaf|p4d_huge|p4d_leaf)\s*\(/;

/** The outcomes of a decision on this source line that no modelled arch can take. */
function unreachableOutcomes(src: string): ('true' | 'false')[] {
  if (CALLS_UNREACHABLE.test(src)) return ['true', 'false'];
  return TESTS_UNREACHABLE.test(src) ? ['true'] : [];
}

export interface CoverageOptions {
  stubs?: Stubs;
  /** races too (default on), each bounded by this many states */
  races?: boolean;
  maxStates?: number;
}

export async function fileCoverage(file: string, text: string, opts: CoverageOptions = {}): Promise<FileCoverage> {
  const a = await analyze(text, undefined, undefined, { path: file, stubs: opts.stubs });
  const defined = a.gupFunctions;
  // per function: statement lines compiled, lines run (and by which scenarios), decisions and outcomes seen
  const lines = new Map<string, Set<number>>();
  const ran = new Map<string, Map<number, Set<string>>>();
  const decisions = new Map<string, Map<string, number>>();
  const seen = new Map<string, Set<string>>();
  const reached = new Set<string>();
  /** functions some arch's configuration compiles in (an #ifdef for another arch's page tables leaves them out) */
  const active = new Set<string>();
  const stops = new Stops();
  const stopOf = (e: unknown, run: string) => {
    if (e instanceof Unsupported) stops.add(e.line, `stopped: ${e.what}`, run);
  };
  for (const arch of archesOf(text, file).arches) {
    let src: SourceVersion | undefined;
    try {
      src = (await fileVersion(text, { arch, path: file, stubs: opts.stubs, ...(a.version && { version: a.version.id }) })).source;
    } catch {
      src = undefined;
    }
    if (!src) continue;
    for (const f of defined) if (src.pre.active[f.nameLine + 1]) active.add(f.name);
    // what an entry point reaches, not through the slow path nor through code for tables no modelled arch has
    // (a helper only a hugepd walker calls is as unreachable as that walker); compiled or not, a gap is never hidden
    const stop = (n: string) => SLOW_PATH.has(n) || UNREACHABLE.test(n);
    for (const name of reachableFunctions(src.pre.text, roots(), stop) ?? src.program.fns.keys()) reached.add(name);
    for (const [name, fn] of src.program.fns) {
      const ls = lines.get(name) ?? new Set<number>();
      fn.lines.forEach((l) => ls.add(l));
      lines.set(name, ls);
      // a decision is known by its line and its place among that line's decisions
      const ds = decisions.get(name) ?? new Map<string, number>();
      const count = new Map<number, number>();
      fn.branches.forEach((l) => {
        const k = count.get(l) ?? 0;
        count.set(l, k + 1);
        ds.set(`${l}#${k}`, l);
      });
      decisions.set(name, ds);
    }
    let scenario = '';
    const keyOf = new Map<string, string[]>();
    for (const [name, fn] of src.program.fns) {
      const count = new Map<number, number>();
      keyOf.set(name, fn.branches.map((l) => {
        const k = count.get(l) ?? 0;
        count.set(l, k + 1);
        return `${l}#${k}`;
      }));
    }
    // a loop runs the same lines and decisions over and over (the 1 GiB pin: 2^18 times a call): what
    // this scenario already noted is answered from an array, and only news reaches the maps
    let lastFn = '';
    let lastLines: (string | undefined)[] = [];
    let lastOutcomes: Uint8Array = new Uint8Array(0);
    const linesOf = new Map<string, (string | undefined)[]>();
    const outcomesOf = new Map<string, Uint8Array>();
    const enter = (fn: string) => {
      lastFn = fn;
      lastLines = linesOf.get(fn) ?? linesOf.set(fn, []).get(fn)!;
      lastOutcomes = outcomesOf.get(fn) ?? outcomesOf.set(fn, new Uint8Array(keyOf.get(fn)?.length ?? 0)).get(fn)!;
    };
    const cov: Coverage = {
      line(fn, l) {
        if (fn !== lastFn) enter(fn);
        if (lastLines[l] === scenario) return;
        lastLines[l] = scenario;
        let m = ran.get(fn);
        if (!m) ran.set(fn, (m = new Map()));
        let s = m.get(l);
        if (!s) m.set(l, (s = new Set()));
        s.add(scenario);
      },
      branch(fn, id, taken) {
        if (fn !== lastFn) enter(fn);
        const bit = taken ? 1 : 2;
        if (lastOutcomes[id] & bit) return;
        lastOutcomes[id] |= bit;
        const key = keyOf.get(fn)?.[id];
        if (!key) return;
        let s = seen.get(fn);
        if (!s) seen.set(fn, (s = new Set()));
        s.add(`${key}:${taken}`);
      },
    };
    const version: SourceVersion = { ...src, cov };
    for (const sc of SCENARIOS) {
      scenario = `${sc.id} on ${arch}`;
      try {
        const r = replay({ arch, version, scenario: sc }).result;
        const why = stoppedWhy(r);
        if (why) stops.add(r.uninit?.line ?? r.overrun?.line, why, scenario);
      } catch (e) {
        // not applicable here, or code it cannot run: what ran until then counts, and where it stopped is said
        stopOf(e, scenario);
      }
    }
    if (opts.races === false) continue;
    for (const race of RACES) {
      if (race.arches && !race.arches.includes(arch as ArchId)) continue;
      scenario = `${race.id} on ${arch}`;
      try {
        checkApplicable(getArch(arch), version, race);
        explore(race, { arch, version }, { maxStates: opts.maxStates ?? 2_000 });
      } catch (e) {
        // as above
        stopOf(e, scenario);
      }
    }
  }
  const source = text.split('\n');
  const functions: FunctionCoverage[] = defined
    .filter((f, i) => defined.findIndex((g) => g.name === f.name) === i)
    .map((f) => {
      // code no modelled arch has, code no arch's configuration keeps, or code no entry point calls (unpin_user_page in 5.15+)
      const unreachable = UNREACHABLE.test(f.name) || !active.has(f.name) || !reached.has(f.name);
      const ls = lines.get(f.name) ?? new Set<number>();
      const r = ran.get(f.name) ?? new Map<number, Set<string>>();
      const ds = decisions.get(f.name) ?? new Map<string, number>();
      const s = seen.get(f.name) ?? new Set<string>();
      const missed: FunctionCoverage['missed'] = [];
      const all: FunctionCoverage['decisions'] = [];
      let run = 0;
      let total = 0;
      for (const [key, l] of ds) {
        const never = unreachableOutcomes(source[l - 1] ?? '');
        for (const outcome of ['true', 'false'] as const) {
          const hit = s.has(`${key}:${outcome}`);
          // an outcome only a hugepd or pgd-level huge page could give is not counted, hit or missed
          if (never.includes(outcome) && !hit) continue;
          total++;
          all.push({ line: l, outcome, run: hit });
          if (hit) run++;
          else missed.push({ line: l, outcome });
        }
      }
      missed.sort((x, y) => x.line - y.line || x.outcome.localeCompare(y.outcome));
      const ranBy: Record<number, string[]> = {};
      for (const [l, by] of r) ranBy[l] = [...by].sort();
      return {
        name: f.name,
        line: f.nameLine + 1,
        lines: { run: [...ls].filter((l) => r.has(l)).length, total: ls.size },
        branches: { run, total },
        missed: unreachable ? [] : missed,
        unreachable,
        ranBy,
        statements: [...ls].sort((x, y) => x - y),
        decisions: all.sort((x, y) => x.line - y.line),
        stops: stops.list(f.startLine + 1, f.endLine + 1),
      };
    });
  const counted = functions.filter((f) => !f.unreachable);
  const run = counted.reduce((n, f) => n + f.branches.run, 0);
  const total = counted.reduce((n, f) => n + f.branches.total, 0);
  return { file, functions, summary: { branches: { run, total }, percent: total ? Math.round((run / total) * 1000) / 10 : 100 } };
}
