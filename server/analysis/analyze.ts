/**
 * One open file, understood: parsed, fingerprinted, and each of its GUP-fast functions tied to
 * the default replay of that function on each arch model, mapped onto the file's own lines.
 * The language server, the debug adapter and `gup-lens inspect` all start here.
 */
import { ARCHES } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { NotApplicableError, replay, type Replay } from '../../emulator/run/replay';
import { scenarioFor, type Scenario } from '../../emulator/scenarios';
import { RACES, type RaceRun, type RaceScenario } from '../../emulator/scenarios/races';
import { getVersion, VERSIONS, type VersionModel } from '../../emulator/versions';
import { fingerprint, type Fingerprint } from './fingerprint';
import { mapSteps, type Mapping } from './mapping';
import { parseC, type CFile, type CFunction } from './parse';
import { fileVersion } from './source';
import { Unsupported } from '../../emulator/interp/runtime';

export interface Analysis {
  file: CFile;
  fingerprint?: Fingerprint;
  /** the version model used: the override if one is set, else the fingerprint's */
  version?: VersionModel;
  /** the file's functions that this version defines, in file order */
  gupFunctions: CFunction[];
}

export async function analyze(text: string, override?: string): Promise<Analysis> {
  const file = await parseC(text);
  const fp = fingerprint(text, file);
  const id = override && override !== 'auto' ? override : fp?.id;
  const version = id ? getVersion(id) : undefined;
  const gupFunctions = version && fp ? file.functions.filter((f) => version.functions.includes(f.name)) : [];
  return { file, fingerprint: fp, version, gupFunctions };
}

export interface ArchReplay {
  arch: ArchId;
  scenario: Scenario;
  /** why there is no replay on this arch (the version or scenario does not run there) */
  na?: string;
  replay?: Replay;
  mapping?: Mapping;
}

// replays are pure functions of (version, scenario, arch): keep the recent ones
const replayCache = new Map<string, Replay | Error>();

function cachedReplay(version: string, scenario: Scenario, arch: ArchId): Replay {
  const key = `${version}/${scenario.id}/${arch}`;
  let r = replayCache.get(key);
  if (!r) {
    try {
      r = replay({ arch, version, scenario, trace: true });
    } catch (e) {
      if (!(e instanceof NotApplicableError)) throw e;
      r = e;
    }
    if (replayCache.size > 200) replayCache.delete(replayCache.keys().next().value!);
    replayCache.set(key, r);
  }
  if (r instanceof Error) throw r;
  return r;
}

/** The default scenario for a function, replayed on one arch and mapped onto this file. */
export function replayFunction(a: Analysis, fn: string, arch: ArchId, scenario = scenarioFor(fn)): ArchReplay {
  if (!a.version) return { arch, scenario, na: 'no GUP-fast version recognised in this file' };
  try {
    const rp = cachedReplay(a.version.id, scenario, arch);
    return { arch, scenario, replay: rp, mapping: mapSteps(a.file, rp.steps) };
  } catch (e) {
    return { arch, scenario, na: (e as Error).message };
  }
}

export function replayAllArches(a: Analysis, fn: string): ArchReplay[] {
  return ARCHES.map((x) => replayFunction(a, fn, x.id));
}

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
  const shipped = (x: RaceRun) => x.version === versionId && Object.entries(x.options ?? {}).every(([k, v]) => defaults[k as keyof typeof defaults] === v);
  const claims = (runsOf: (r: RaceScenario) => RaceRun[]) =>
    RACES.flatMap((race) => {
      const run = runsOf(race).find(shipped);
      return run ? [{ race, run }] : [];
    });
  return {
    has: claims((r) => [r.before, ...(r.alsoBad ?? [])]),
    fixes: claims((r) => [r.after, ...(r.alsoOk ?? [])]),
  };
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

/** The function's default scenario on the file's own code, if it runs; else why not. */
async function sourceReplay(text: string, override: string | undefined, fn: string, arch: ArchId): Promise<Replay | Unsupported | Error> {
  try {
    const fv = await fileVersion(text, { arch, version: override });
    if (!fv.source) return fv.unsupported!;
    return replay({ arch, version: fv.source, scenario: scenarioFor(fn), trace: true });
  } catch (e) {
    return e as Error;
  }
}

/** What `gup-lens inspect` prints: the fingerprint and, per function and arch, how its replay maps. */
export async function inspect(text: string, override?: string) {
  const a = await analyze(text, override);
  const functions: InspectFunction[] = [];
  for (const f of a.gupFunctions) {
    const arches: InspectArch[] = [];
    for (const r of replayAllArches(a, f.name)) {
      const src = a.version ? await sourceReplay(text, override, f.name, r.arch) : undefined;
      if (src && !(src instanceof Error)) {
        const own = src.steps.filter((s) => s.fn === f.name);
        const lines = [...new Set(own.map((s) => s.line).filter((l): l is number => l !== undefined))].sort((x, y) => x - y);
        arches.push({ arch: r.arch, scenario: src.scenario.id, engine: 'source', steps: own.length, mapped: own.filter((s) => s.line !== undefined).length, lines, missing: [] });
        continue;
      }
      const unsupported = src instanceof Unsupported ? { what: src.what, line: src.line } : undefined;
      if (!r.replay || !r.mapping) {
        arches.push({ arch: r.arch, scenario: r.scenario.id, engine: 'model', steps: 0, mapped: 0, lines: [], missing: [], na: r.na, ...(unsupported && { unsupported }) });
        continue;
      }
      const own = r.replay.steps.map((s, i) => ({ s, p: r.mapping!.places[i] })).filter((x) => x.s.fn === f.name);
      const lines = [...new Set(own.filter((x) => x.p.line !== undefined).map((x) => x.p.line! + 1))].sort((x, y) => x - y);
      const missing = [...new Set(own.filter((x) => x.p.line === undefined).map((x) => x.s.anchor))];
      arches.push({ arch: r.arch, scenario: r.scenario.id, engine: 'model', steps: own.length, mapped: own.filter((x) => x.p.line !== undefined).length, lines, missing, ...(unsupported && { unsupported }) });
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
    version: a.version ? { id: a.version.id, confidence: a.fingerprint?.confidence ?? 1, evidence: a.fingerprint?.evidence ?? [], overridden: !!override && override !== 'auto' } : null,
    functions,
  };
}

export { VERSIONS };
