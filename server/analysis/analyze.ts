/**
 * One open file, understood: parsed, fingerprinted, and each of its GUP-fast functions tied to
 * the default replay of that function on each arch model, mapped onto the file's own lines.
 * The language server, the debug adapter and `gup-lens inspect` all start here.
 */
import { ARCHES } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { NotApplicableError, replay, type Replay } from '../../emulator/run/replay';
import { formatted } from '../../emulator/run/formatted';
import { scenarioFor, SCENARIOS, type Scenario } from '../../emulator/scenarios';
import { RACES, type RaceRun, type RaceScenario } from '../../emulator/scenarios/races';
import { dialectFor, getVersion, VERSIONS, type VersionModel } from '../../emulator/versions';
import { archesOf, fingerprint, isGupName, mentionsGup, namesIn, type Fingerprint } from './fingerprint';
import { mapSteps, type Mapping } from './mapping';
import { parseC, type CFile, type CFunction } from './parse';
import { fileVersion, type SourceRequest } from './source';
import { treeReleaseOf } from './headers';
import { Unsupported } from '../../emulator/interp/runtime';
import { SLOW_PATH } from '../../emulator/interp/kapi/slow';
import { reachableFunctions } from '../../emulator/interp/prune';
import { FnSink } from '../../emulator/trace/buffer';
import { stoppedWhy } from '../../emulator/trace/describe';
import { type Stop, Stops } from './stops';
import { roots, type SourceVersion } from '../../emulator/interp/source-version';

export interface Analysis {
  /** the text analysed (the interpreter compiles it per arch, on demand) */
  text: string;
  file: CFile;
  fingerprint?: Fingerprint;
  /** the version model used: the override if one is set, else the fingerprint's */
  version?: VersionModel;
  /** the file's functions that this version defines, in file order */
  gupFunctions: CFunction[];
  /** where the file is (its kernel tree's headers) and the workspace's stubs: every compile of it asks with these */
  req: FileReq;
}

export type FileReq = Pick<SourceRequest, 'path' | 'stubs' | 'release'>;

/** `signal` cancels the parse (the document changed or closed): the promise then rejects with ParseCancelled. */
export async function analyze(text: string, override?: string, signal?: AbortSignal, req: FileReq = {}): Promise<Analysis> {
  // a C file that names no GUP-fast function defines none: its outline is not worth a parse
  const file = mentionsGup(text) ? await parseC(text, signal) : { functions: [], errors: 0 };
  const fp = fingerprint(text, file, req.release ?? treeReleaseOf(req.path));
  const id = override && override !== 'auto' ? override : fp?.id;
  // the fingerprint's id is already the file's dialect; a model named by hand gets its dialect here
  const version = !id ? undefined : id === fp?.id ? getVersion(id) : dialectFor(getVersion(id), namesIn(text));
  // the model's functions, and every function of the file its GUP-fast entry points reach without
  // entering the slow path: a file's own helpers (gup_fast_permitted, undo_dev_pagemap, a vendor's
  // walker) are GUP-fast functions too, with lenses and coverage of their own
  const reach = version && fp ? fastReach(text) : undefined;
  const gupFunctions = version && fp ? file.functions.filter((f) => version.functions.includes(f.name) || !!reach?.has(f.name)) : [];
  return { text, file, fingerprint: fp, version, gupFunctions, req };
}

/**
 * The census of a text's GUP-fast functions as a test on names: any version's, and every function
 * of the text its entry points reach without entering the slow path (what analyze() lenses).
 */
export function gupCensusOf(text: string): (name: string) => boolean {
  const reach = fastReach(text);
  return (name) => isGupName(name) || !!reach?.has(name);
}

/** The functions of a text its GUP-fast entry points reach without entering the slow path (undefined: its braces do not balance). */
function fastReach(text: string): Set<string> | undefined {
  return reachableFunctions(text, roots(), (n) => SLOW_PATH.has(n));
}

export interface ArchReplay {
  arch: ArchId;
  scenario: Scenario;
  /** whose code ran: the file's own (emulator/interp), or the version model's mapped by anchors */
  engine: 'source' | 'model';
  /** why the file's own code did not run here (the model ran instead) */
  unsupported?: Unsupported;
  /** why there is no replay on this arch (the version or scenario does not run there) */
  na?: string;
  replay?: KeptReplay;
  mapping?: Mapping;
}

/**
 * A replay as the caches keep it: what the views read, without the machine it ran on. A 1 GiB
 * walk's machine holds eight 4 MB arrays of struct page fields; a hundred kept replays were
 * most of the server's heap.
 */
export type KeptReplay = Omit<Replay, 'machine' | 'memBefore'>;

function kept(r: Replay): KeptReplay {
  const { arch, version, scenario, call, trace, result, deltas, options } = r;
  let steps: KeptReplay['steps'] | undefined;
  return {
    arch, version, scenario, call, trace, result, deltas, options,
    get steps() {
      return (steps ??= trace.toArray());
    },
  };
}

// replays are pure functions of (version, scenario, arch): keep the recent ones
const replayCache = new Map<string, KeptReplay | Error>();

function cachedReplay(version: string, scenario: Scenario, arch: ArchId): KeptReplay {
  const key = `${version}/${scenario.id}/${arch}`;
  let r = replayCache.get(key);
  if (!r) {
    try {
      r = kept(replay({ arch, version, scenario, trace: true }));
    } catch (e) {
      if (!(e instanceof NotApplicableError)) throw e;
      r = formatted(e);
    }
    if (replayCache.size > 100) replayCache.delete(replayCache.keys().next().value!);
    replayCache.set(key, r);
  }
  if (r instanceof Error) throw r;
  return r;
}

// replays of a file's own code: by compiled file (fileVersion keeps those), then scenario
const sourceReplays = new WeakMap<SourceVersion, Map<string, KeptReplay | Error>>();

function cachedSourceReplay(v: SourceVersion, scenario: Scenario, arch: ArchId): KeptReplay {
  let m = sourceReplays.get(v);
  if (!m) sourceReplays.set(v, (m = new Map()));
  let r = m.get(scenario.id);
  if (!r) {
    try {
      r = kept(replay({ arch, version: v, scenario, trace: true }));
    } catch (e) {
      r = formatted(e as Error);
    }
    m.set(scenario.id, r);
  }
  if (r instanceof Error) throw r;
  return r;
}

/** Steps of the file's own code carry their lines: the mapping is theirs. */
function sourceMapping(file: CFile, steps: readonly { line?: number }[]): Mapping {
  const places = steps.map((s) => {
    if (s.line === undefined) return {};
    const line = s.line - 1;
    return { line, fn: file.functions.find((f) => line >= f.startLine && line <= f.endLine) };
  });
  return { places, missing: [] };
}

/**
 * The default scenario for a function on one arch: the file's own code where it runs, else the
 * version model (mapped onto the file by anchors), saying why.
 */
/** The arches the file's code is for (an x86 file: x86-64 and PAE), and why where it is for none of them. */
export function archesFor(a: Analysis): { arches: ArchId[]; note?: string } {
  // once per analysis: a tree's mm/gup.c asks the file system which arch files stand beside it
  let r = archesMemo.get(a);
  if (!r) archesMemo.set(a, (r = archesOf(a.text, a.req.path)));
  return r;
}
const archesMemo = new WeakMap<Analysis, { arches: ArchId[]; note?: string }>();

export async function replayFunction(a: Analysis, fn: string, arch: ArchId, chosen?: Scenario): Promise<ArchReplay> {
  if (!archesFor(a).arches.includes(arch)) return { arch, scenario: chosen ?? scenarioFor(fn), engine: 'model', na: archesFor(a).note ?? `not for this arch: this file's code is for ${archesFor(a).arches.join(', ')}` };
  // by default, the scenario the function's lens runs: one that executes it on this arch
  const planned = chosen || !a.version ? undefined : (await planFunctions(a, arch)).get(fn);
  const scenario = chosen ?? planned?.scenario ?? scenarioFor(fn);
  if (!a.version) return { arch, scenario, engine: 'model', na: 'no GUP-fast version recognised in this file' };
  if (!chosen && !planned && a.gupFunctions.some((f) => f.name === fn)) return { arch, scenario, engine: 'model', na: `no built-in scenario executes ${fn}() on ${arch}` };
  let unsupported: Unsupported | undefined;
  try {
    const fv = await fileVersion(a.text, { arch, version: a.version.id, ...a.req });
    if (fv.source) {
      const rp = cachedSourceReplay(fv.source, scenario, arch);
      return { arch, scenario, engine: 'source', replay: rp, mapping: sourceMapping(a.file, rp.steps) };
    }
    unsupported = fv.unsupported;
  } catch (e) {
    if (e instanceof NotApplicableError) return { arch, scenario, engine: 'source', na: e.message };
    unsupported = e instanceof Unsupported ? e : new Unsupported((e as Error).message, 0);
  }
  try {
    const rp = cachedReplay(a.version.id, scenario, arch);
    return { arch, scenario, engine: 'model', unsupported, replay: rp, mapping: mapSteps(a.file, rp.steps) };
  } catch (e) {
    return { arch, scenario, engine: 'model', unsupported, na: (e as Error).message };
  }
}

export function replayAllArches(a: Analysis, fn: string): Promise<ArchReplay[]> {
  return Promise.all(ARCHES.map((x) => replayFunction(a, fn, x.id)));
}

/** What a function's lens runs on one arch: a scenario that executes it, on whose code. */
export interface FnPlan {
  scenario: Scenario;
  engine: 'source' | 'model';
  /** why the file's own code did not run it (the model does) */
  unsupported?: Unsupported;
}

const plans = new WeakMap<Analysis, Map<ArchId, Promise<Map<string, FnPlan>>>>();

/**
 * The scenarios a function's plan falls back on when its own showcase does not run it: the small
 * ones. A 1 GiB walk (a quarter of a million struct pages) is tried only for a function it is the
 * showcase of: a plan for every function of a file must not build a machine that size per arch.
 */
const FALLBACK = SCENARIOS.filter((x) => !x.layout.some((m) => m.kind === 'huge-pud'));

/**
 * For each GUP-fast function of the file, on one arch: the scenario its lens replays (its own
 * showcase when that executes it, else the first that does), and whether the file's own code ran
 * it. A function no scenario executes on that arch gets no plan (and no lens there).
 */
export function planFunctions(a: Analysis, arch: ArchId): Promise<Map<string, FnPlan>> {
  let byArch = plans.get(a);
  if (!byArch) plans.set(a, (byArch = new Map()));
  let p = byArch.get(arch);
  if (!p) {
    const made = makePlan(a, arch);
    p = made;
    void made.then(() => settled.add(made));
    byArch.set(arch, p);
  }
  return p;
}

/** The plan if it is ready now (a lens must not wait for it). */
export function planReady(a: Analysis, arch: ArchId): boolean {
  return !!plans.get(a)?.get(arch) && settled.has(plans.get(a)!.get(arch)!);
}
const settled = new WeakSet<Promise<unknown>>();

/** The plan of one function (a review asks for the functions a patch touches, not every one). */
export function planFunction(a: Analysis, arch: ArchId, fn: string): Promise<FnPlan | undefined> {
  const whole = plans.get(a)?.get(arch);
  return whole ? whole.then((m) => m.get(fn)) : makePlan(a, arch, [fn]).then((m) => m.get(fn));
}

async function makePlan(a: Analysis, arch: ArchId, only?: string[]): Promise<Map<string, FnPlan>> {
  const out = new Map<string, FnPlan>();
  const names = new Set(a.gupFunctions.map((f) => f.name).filter((n) => !only || only.includes(n)));
  if (!a.version || !names.size || !archesFor(a).arches.includes(arch)) return out;
  let source: SourceVersion | undefined;
  let unsupported: Unsupported | undefined;
  try {
    const fv = await fileVersion(a.text, { arch, version: a.version.id, ...a.req });
    source = fv.source;
    unsupported = fv.unsupported;
  } catch (e) {
    unsupported = e instanceof Unsupported ? e : new Unsupported((e as Error).message, 0);
  }
  const ran = source ? ranWith(source, arch) : new Map<string, Ran>();
  const version = source ?? a.version;
  // a whole plan's stops are kept (a plan of a few functions, as a review asks for, sees only some runs)
  const stops = only ? undefined : (planStops.get(a) ?? planStops.set(a, new Stops()).get(a)!);
  // which functions a scenario runs: its steps go to a sink that keeps only their names (a 1 GiB walk makes millions)
  const executed = (sc: Scenario): Set<string> | Error => {
    let r = ran.get(sc.id);
    if (!r) {
      const sink = new FnSink();
      try {
        const res = replay({ arch, version, scenario: sc, trace: true, sink, deltas: false }).result;
        r = { fns: sink.fns, ...(source && res.uninit && { uninit: { line: res.uninit.line, why: stoppedWhy(res)! } }) };
      } catch (e) {
        r = { error: formatted(e as Error) };
      }
      ran.set(sc.id, r);
    }
    // the file's own code read a local nothing had set: a bug whatever the caller passes, which the
    // diagnostics show (a walk past its range is the scenario's input as much as the code: it stays in the replay)
    if (r.uninit) stops?.add(r.uninit.line, r.uninit.why, `${sc.id} on ${arch}`);
    return r.error ?? r.fns!;
  };
  for (const f of names) {
    for (const sc of [scenarioFor(f), ...FALLBACK.filter((x) => x !== scenarioFor(f))]) {
      const r = executed(sc);
      if (r instanceof Error) {
        // the file's code stopped on this scenario: its showcase runs on the model, saying why
        if (sc === scenarioFor(f) && r instanceof Unsupported) {
          out.set(f, { scenario: sc, engine: 'model', unsupported: r });
          break;
        }
        continue;
      }
      if (r.has(f)) {
        out.set(f, { scenario: sc, engine: source ? 'source' : 'model', ...(unsupported && { unsupported }) });
        break;
      }
    }
  }
  return out;
}

/** What one scenario's replay ran: the functions it entered, or the error that stopped it; where the file's code read a local nothing had set. */
interface Ran {
  fns?: Set<string>;
  error?: Error;
  uninit?: { line: number; why: string };
}

/**
 * The plans' replays of a compiled file, kept with its program (a program is kept for the text it
 * compiles from: emulator/interp/program-cache.ts) and what else its runs read: an edit outside
 * the GUP-fast code replays nothing again. By arch and the version's own rules (its release's
 * placement, era, defaults), which the text around the code can change.
 */
const ranByProgram = new WeakMap<SourceVersion['program'], Map<string, Map<string, Ran>>>();

function ranWith(v: SourceVersion, arch: ArchId): Map<string, Ran> {
  let byRules = ranByProgram.get(v.program);
  if (!byRules) ranByProgram.set(v.program, (byRules = new Map()));
  const rules = JSON.stringify([arch, v.id, v.since, v.year, v.pins, v.era, v.thpTails, v.noThp, v.hugeLeaves, v.placement, v.defaults]);
  let ran = byRules.get(rules);
  if (!ran) byRules.set(rules, (ran = new Map()));
  return ran;
}

/** Where the plans' runs of the file's own code read a local nothing had set (C gives it no value), over the arches planned so far. */
export function planStopsOf(a: Analysis): Stop[] {
  return planStops.get(a)?.list() ?? [];
}
const planStops = new WeakMap<Analysis, Stops>();

export interface RaceClaim {
  race: RaceScenario;
  /** the run that shows it: this version as shipped, on that arch */
  run: RaceRun;
}

/**
 * The races this version, as shipped (its switches at their defaults), is known to have, and
 * those it fixes: a run of it on the race's bad side, or on its good side.
 */
export function racesOf(versionId: string): { has: RaceClaim[]; fixes: RaceClaim[] } {
  const defaults = getVersion(versionId).defaults;
  // a dialect (folio-6x@6.1) is the same code under other names: it shares its version's races
  const base = (v: string | { id: string }) => (typeof v === 'string' ? v : v.id).split('@')[0];
  const shipped = (x: RaceRun) => base(x.version) === base(versionId) && Object.entries(x.options ?? {}).every(([k, v]) => defaults[k as keyof typeof defaults] === v);
  const claims = (runsOf: (r: RaceScenario) => RaceRun[]) =>
    RACES.flatMap((race) => {
      const run = runsOf(race).find(shipped);
      return run ? [{ race, run }] : [];
    });
  const has = claims((r) => [r.before, ...(r.alsoBad ?? [])]);
  // never both "known to have X" and "fixes X"
  return { has, fixes: claims((r) => [r.after, ...(r.alsoOk ?? [])]).filter((c) => !has.some((h) => h.race === c.race)) };
}

export interface InspectFunction {
  name: string;
  startLine: number;
  endLine: number;
  steps: number;
  mapped: number;
  missing: string[];
  arches: InspectArch[];
}

export interface InspectArch {
  arch: ArchId;
  scenario: string;
  /** whose code ran: the file's own (emulator/interp) or the version model, mapped by anchors */
  engine: 'source' | 'model';
  steps: number;
  mapped: number;
  lines: number[];
  missing: string[];
  na?: string;
  /** why the file's own code could not run here (the construct or call, and its line) */
  unsupported?: { what: string; line: number };
}

/** What `gup-lens inspect` prints: the fingerprint and, per function and arch, how its replay maps. */
export async function inspect(text: string, override?: string) {
  const a = await analyze(text, override);
  const functions: InspectFunction[] = [];
  for (const f of a.gupFunctions) {
    const arches: InspectArch[] = [];
    for (const r of await replayAllArches(a, f.name)) {
      const unsupported = r.unsupported ? { what: r.unsupported.what, line: r.unsupported.line } : undefined;
      if (!r.replay || !r.mapping) {
        arches.push({ arch: r.arch, scenario: r.scenario.id, engine: r.engine, steps: 0, mapped: 0, lines: [], missing: [], na: r.na, ...(unsupported && { unsupported }) });
        continue;
      }
      // the file's own steps carry their line: an #else stub of the same name gets none of them
      const inF = (l: number | undefined) => r.engine !== 'source' || l === undefined || (l > f.startLine && l <= f.endLine + 1);
      const own = r.replay.steps.map((s, i) => ({ s, p: r.mapping!.places[i] })).filter((x) => x.s.fn === f.name && inF(x.s.line));
      const lines = [...new Set(own.filter((x) => x.p.line !== undefined).map((x) => x.p.line! + 1))].sort((x, y) => x - y);
      const missing = [...new Set(own.filter((x) => x.p.line === undefined).map((x) => x.s.anchor))];
      arches.push({ arch: r.arch, scenario: r.scenario.id, engine: r.engine, steps: own.length, mapped: own.filter((x) => x.p.line !== undefined).length, lines, missing, ...(unsupported && { unsupported }) });
    }
    functions.push({
      name: f.name,
      startLine: f.startLine + 1,
      endLine: f.endLine + 1,
      steps: arches.reduce((n, x) => n + x.steps, 0),
      mapped: arches.reduce((n, x) => n + x.mapped, 0),
      missing: [...new Set(arches.flatMap((x) => x.missing))],
      arches,
    });
  }
  return {
    version: a.version ? { id: a.version.id, confidence: a.fingerprint?.confidence ?? 1, evidence: a.fingerprint?.evidence ?? [], overridden: !!override && override !== 'auto', release: a.fingerprint?.release?.range ?? null } : null,
    functions,
  };
}

export { VERSIONS };
