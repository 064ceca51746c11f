/**
 * Replay one scenario's GUP call on one arch model and one version model, single caller, and
 * return the trace, the result and each page's refcount change. Every front (CLI, hover,
 * CodeLens, debug adapter) starts here. Layer: pure emulator.
 */
import { getArch, longBits } from '../arch';
import { releaseNumber } from '../arch/release';
import type { ArchModel, Era, Level } from '../arch/types';
import { buildMachine, type MapSpec } from '../machine/builder';
import type { Machine } from '../machine/machine';
import { getScenario, type Scenario } from '../scenarios';
import { TraceBuffer, type StepSink } from '../trace/buffer';
import type { GupResult, RefDelta, Step } from '../trace/types';
import { getVersion, type VersionModel } from '../versions';
import { isSource } from '../interp/source-version';
import { callOn, guardedGup, hasPins, KernCtx, NotApplicableError, releasePages, run, runsOf, type GupCall, type VersionOptions } from '../versions/kern';
import { F, type PhysMem } from '../machine/memory';

export interface ReplayRequest {
  arch: string;
  /** a version model's id, or a version model itself (the file's own code: emulator/interp) */
  version: string | VersionModel;
  scenario: string | Scenario;
  /** record every step (off: only the result, for speed) */
  trace?: boolean;
  options?: VersionOptions;
  la57?: boolean;
  /** record into this sink instead of a trace buffer (with `trace`): what ran, without keeping every step */
  sink?: StepSink;
  /** work out the refcount deltas (default); off where only what ran matters (a lens plan): a 1 GiB machine's memmap is not copied to compare */
  deltas?: boolean;
}

export interface Replay {
  arch: ArchModel;
  version: VersionModel;
  scenario: Scenario;
  call: GupCall;
  trace: TraceBuffer;
  /** the trace as objects (built on first use) */
  readonly steps: Step[];
  result: GupResult;
  deltas: RefDelta[];
  machine: Machine;
  /** the memmap before the call (frames allocated later were 0); undefined when deltas were not asked for */
  memBefore?: PhysMem;
  /** the version switches it ran with (the caller's release must use the same) */
  options?: VersionOptions;
}

export { NotApplicableError };

/** Check that a version and a scenario can run on an arch; throws with the reason. */
/**
 * Actors written after the kernel of one era: run against a walker of another era they would
 * report what that kernel could never do. The pre-4.5 split moves tail pins and marks the pmd
 * splitting; a 4.5+ walker keeps no tail pins and never tests a splitting bit. khugepaged meets
 * both: it collapses small pages, whose count it checks the same way in every release (page_count
 * against what the mappings hold), and maps a fresh THP nobody has referenced yet.
 */
const ACTOR_ERA: Partial<Record<string, { era: Era; why: string }>> = {
  'thp-split': { era: 'thp-split', why: 'the THP split of before 4.5 (splitting pmd, tail pins moved to the tails) only meets walkers of before 4.5' },
  'thp-split-freeze': { era: 'modern', why: 'the THP split of 4.5 and later (refcount freezing) only meets walkers of 4.5 and later' },
};

/** Refuse a race whose actors cannot meet this version (never a false violation). */
const THP_ACTORS = new Set(['thp-split', 'thp-split-freeze', 'khugepaged', 'unmap-realloc-thp']);

/** A layout or actor that puts a huge leaf at a level the code's walker never tests for one: that configuration maps none there. */
function checkHugeLeaves(version: VersionModel, scenario: { id: string; layout?: readonly MapSpec[]; actors?: { kind: string }[] }): void {
  const has = version.hugeLeaves;
  if (!has) return;
  const needs = new Set<Level>();
  for (const m of scenario.layout ?? []) if (m.kind === 'thp' || m.kind === 'huge-pud') needs.add(m.kind === 'thp' ? 'pmd' : 'pud');
  for (const a of scenario.actors ?? []) if (THP_ACTORS.has(a.kind) && a.kind !== 'thp-split-freeze') needs.add('pmd');
  for (const l of needs) {
    if (!has.includes(l)) throw new NotApplicableError(`scenario ${scenario.id} maps a huge ${l}, but this code's walker never tests for one (no ${l}_huge, ${l}_trans_huge, ${l}_leaf or ${l}_large): its configuration maps no huge pages there`);
  }
}

/** How a message names the code that runs: a file's own (its era is its markers', not its model's), or a version model. */
function whose(version: VersionModel): string {
  return isSource(version) ? "this file's code" : version.id;
}

export function checkActors(version: VersionModel, scenario: { id: string; actors?: { kind: string }[] }): void {
  for (const a of scenario.actors ?? []) {
    if (version.noThp && THP_ACTORS.has(a.kind)) throw new NotApplicableError(`scenario ${scenario.id} cannot run on ${whose(version)}: its ${a.kind} actor needs transparent huge pages (2.6.38), which this code predates`);
    const need = ACTOR_ERA[a.kind];
    if (need && need.era !== version.era) {
      throw new NotApplicableError(`scenario ${scenario.id} cannot run on ${whose(version)}: ${need.why}, and ${whose(version)} is of the ${version.era === 'modern' ? '4.5+ refcounting' : 'pre-4.5'} era`);
    }
  }
}

export function checkApplicable(arch: ArchModel, version: VersionModel, scenario: Pick<Scenario, 'id' | 'call' | 'arches'> & { actors?: { kind: string }[] }): void {
  if (!version.arches.includes(arch.id)) {
    throw new NotApplicableError(`version ${version.id} (${version.files.join(', ')}) does not run on ${arch.id}; it runs on ${version.arches.join(', ')}`);
  }
  if (arch.levels.some((l) => l.level === 'p4d') && !version.functions.some((f) => f.includes('p4d'))) {
    throw new NotApplicableError(`version ${version.id} predates the p4d level (4.11), so it cannot walk 5-level page tables`);
  }
  if (scenario.call.pin && !hasPins(version) && !scenario.call.dmaRef) {
    throw new NotApplicableError(isSource(version) ? `this file has no pin_user_pages_fast() (FOLL_PIN pins came in 5.6): it can only take references, so scenario ${scenario.id} does not apply` : `version ${version.id} predates FOLL_PIN (pin_user_pages_fast, 5.6), so scenario ${scenario.id} does not apply`);
  }
  checkActors(version, scenario);
  if (scenario.actors?.some((a) => a.kind === 'numa-hint')) {
    if (!arch.numaBalancing) throw new NotApplicableError(`scenario ${scenario.id} needs NUMA balancing, which ${arch.id} does not have (ARCH_SUPPORTS_NUMA_BALANCING is x86-64's and arm64's)`);
    const before = (version as { placement?: { before?: string } }).placement?.before;
    if (arch.id === 'arm64' && before && releaseNumber(before) <= releaseNumber('4.0')) throw new NotApplicableError(`scenario ${scenario.id}: arm64 had no NUMA balancing in the releases this code belongs to (3.18)`);
  }
  const eras = (scenario as { eras?: Era[] }).eras;
  if (eras && !eras.includes(version.era)) throw new NotApplicableError(`scenario ${scenario.id} concerns ${(scenario as { releases?: string }).releases ?? eras.join(', ')}: ${whose(version)} is of the ${version.era === 'modern' ? '4.5+' : 'pre-4.5'} era`);
  if (scenario.arches && !scenario.arches.includes(arch.id)) {
    throw new NotApplicableError(`scenario ${scenario.id} needs ${scenario.arches.join(' or ')}, not ${arch.id}`);
  }
  checkDevmap(arch, version, (scenario as { layout?: MapSpec[] }).layout);
  checkHugeLeaves(version, scenario as { id: string; layout?: MapSpec[]; actors?: { kind: string }[] });
  const since = (scenario as Pick<Scenario, 'sinceOn'>).sinceOn?.[arch.id] ?? (scenario as { since?: string }).since;
  if (since && releaseNumber(version.bits ?? version.since) < releaseNumber(since)) {
    throw new NotApplicableError(`scenario ${scenario.id} concerns ${(scenario as { releases?: string }).releases ?? since + '+'}: ${whose(version)} is ${version.bits ?? version.since} code`);
  }
}

/** The arch as the version's release laid out its entries (the machine it runs on is built with it). */
export function archFor(arch: ArchModel, version: VersionModel): ArchModel {
  return arch.at(version.bits ?? version.since);
}

/** A layout that needs a devmap entry where the release had no devmap bit: not applicable. */
function checkDevmap(arch: ArchModel, version: VersionModel, layout: readonly MapSpec[] | undefined): void {
  // from 6.17 device memory is mapped by ordinary entries: the layout builds those
  if (!layout?.some((m) => m.devmap)) return;
  const at = archFor(arch, version);
  if (at.hasDevmap || at.devmapGone) return;
  const release = version.bits ?? version.since;
  const since = arch.id === 'x86-64' ? '4.5' : arch.id === 'arm64' ? '5.3' : undefined;
  throw new NotApplicableError(`${arch.id} ${since ? `had no devmap bit before ${since}` : 'has no devmap bit'}, and ${version.id} is ${release} code`);
}

export function makeKern(m: Machine, version: VersionModel, opts: VersionOptions | undefined, actor: string, cpu: number, y: boolean, i = false, sink: StepSink = []): KernCtx {
  return new KernCtx(m, version.era, cpu, actor, kernOptions(m.arch, version, opts), y, i, sink, version.since);
}

/** A version's switches as a run sets them. */
export function kernOptions(arch: ArchModel, version: VersionModel, opts: VersionOptions | undefined): Required<VersionOptions> {
  // page tables are RCU-freed only where both the code and the arch do it (not bare-metal x86)
  const rcuTableFree = version.defaults.rcuTableFree && arch.rcuTableFree;
  return { ...version.defaults, rcuTableFree, ...opts };
}

/** The scenario's call on this arch, as this code makes it (callOn). */
export function gupCall(arch: ArchModel, s: Pick<Scenario, 'call'>, version: Pick<VersionModel, 'pins' | 'year'>): GupCall {
  const c = s.call;
  const start = c.fromEnd !== undefined ? 2 ** longBits(arch) - c.fromEnd : c.fromTop !== undefined ? arch.taskSize - c.fromTop : arch.userBase + c.offset;
  return callOn(version, { ...c, start });
}

export function replay(req: ReplayRequest): Replay {
  const scenario = typeof req.scenario === 'string' ? getScenario(req.scenario) : req.scenario;
  if (scenario.la57 && req.arch !== 'x86-64') throw new NotApplicableError(`scenario ${scenario.id} needs x86-64's 5-level paging (LA57), not ${req.arch}`);
  const arch = getArch(req.arch, { la57: req.la57 || scenario.la57 });
  const version = typeof req.version === 'string' ? getVersion(req.version) : req.version;
  checkApplicable(arch, version, scenario);
  const m = buildMachine(archFor(arch, version), version.era, { mappings: scenario.layout });
  const before = req.deltas === false ? undefined : m.mem.clone(); // the memmap before the walk (a copy shares it until written)
  const call = gupCall(arch, scenario, version);
  const trace = new TraceBuffer(req.trace && !req.sink ? Math.min(call.nrPages * 6 + 64, 1 << 24) : 0);
  const k = makeKern(m, version, req.options, 'gup', 0, !!req.trace, false, req.sink ?? trace);
  const result = run(k, guardedGup(k, version, call)); // no scheduling points: runs to the end at once
  let steps: Step[] | undefined;
  return {
    // the release's layout: the trace's entries read as the machine built them
    arch: m.arch, version, scenario, call, trace,
    get steps() {
      return (steps ??= trace.toArray());
    },
    result, deltas: before ? refDeltas(m, before) : [], machine: m, memBefore: before, options: req.options,
  };
}

function refDeltas(m: Machine, before: PhysMem): RefDelta[] {
  const out: RefDelta[] = [];
  // only where the walk wrote: the memmap chunks it still shares with the copy taken before are the same
  for (const i of m.mem.changedFrames(before)) {
    const r0 = i < before.frames ? before.at(F.refcount, i) : 0;
    const p0 = i < before.frames ? before.at(F.pincount, i) : 0;
    const dr = m.mem.at(F.refcount, i) - r0;
    const dp = m.mem.at(F.pincount, i) - p0;
    if (dr !== 0 || dp !== 0) out.push({ pfn: m.mem.basePfn + i, refcount: dr, pincount: dp });
  }
  return out;
}

/** The caller's side after GUP: give every returned page back (put_page / unpin_user_page). */
export function releaseAll(rp: Replay): void {
  const k = makeKern(rp.machine, rp.version, rp.options, 'gup', 0, false);
  releasePages(k, rp.version, runsOf(rp.result), rp.call);
}
