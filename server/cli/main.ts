#!/usr/bin/env node
/**
 * gup-lens CLI: the main job on a machine without VS Code. A thin front over the emulator:
 * parse arguments, call, print text or one JSON document. Exit 2 on bad input, with the valid
 * names in the message.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { inspect } from '../analysis/analyze';
import { fileVersion, MAX_SOURCE_BYTES, NotGupError } from '../analysis/source';
import { Unsupported } from '../../emulator/interp/runtime';
import type { SourceVersion } from '../../emulator/interp/source-version';
import { ConfigError } from '../../emulator/interp/config';
import { parseStubs, stubHint, type Stubs } from '../../emulator/interp/kapi/stubs';
import { check } from '../analysis/check';
import { archesOf } from '../analysis/fingerprint';
import { fileCoverage } from '../analysis/coverage';
import { stopText } from '../analysis/stops';
import { treeRoot } from '../analysis/headers';
import { isGitTree, review, type PatchReview } from '../evolution/review';
import { FILES as GUP_FILES, sweep } from '../evolution/sweep';
import { NotAPatchError } from '../evolution/patch';
import { COMPILER_FORMS, KAPI, kapiTable, releasesOf } from '../../emulator/interp/kapi';
import { behaviourDiff, bdiffMarkdown } from '../evolution/bdiff';
import { cliGit } from '../evolution/git';
import { functionHistory } from '../evolution/history';
import { ARCHES, getArch } from '../../emulator/arch';
import type { ArchId, Era, Level } from '../../emulator/arch/types';
import { fieldApplies } from '../../emulator/arch/bits';
import { releaseNumber } from '../../emulator/arch/release';
import { counterexampleLines, explore, stepNumber, type ExploreResult } from '../../emulator/explore/explore';
import { archFor, checkApplicable } from '../../emulator/run/replay';
import { INVARIANTS } from '../../emulator/explore/invariants';
import { replay } from '../../emulator/run/replay';
import { SCENARIOS } from '../../emulator/scenarios';
import { getRace, RACES, type RaceKind, type RaceRun } from '../../emulator/scenarios/races';
import { describeStep, flagNames, formatResult, formatStep } from '../../emulator/trace/describe';
import { raceDiagram } from '../../emulator/trace/diagram';
import { traceSvg, type TracePicture } from '../pictures/trace-svg';
import { getVersion, VERSIONS } from '../../emulator/versions';
import type { VersionOptions } from '../../emulator/versions/kern';

export class UsageError extends Error {}

const USAGE = `usage: gup-lens <command> [options]

commands:
  list [--json | --markdown]                      arch models, versions and scenarios
  replay --arch A --version V --scenario S [--json] [--la57] [--opt name=on|off] [--svg FILE]
  replay --file F --arch A --scenario S [--entry FN] [--config NAME=y|n]... [--stub NAME=V]... [--json] [--svg FILE]
                                                  run F's own code (its era's model fills in what F does not say)
                                                  replay a scenario's GUP call, print the trace
  decode --arch A --level pgd|p4d|pud|pmd|pte 0xVALUE [--release R | --era modern|thp-split] [--json]
                                                  decode a raw page-table entry (with the layout of release R, e.g. 3.18)
  explore --scenario RACE --version V --arch A [--json | --diagram] [--max-states N] [--opt name=on|off] [--svg FILE]
  explore --file F --scenario RACE --arch A [--entry FN] [--config NAME=y|n]... [--stub NAME=V]... [--json | --diagram] [--svg FILE]
                                                  search the interleavings of a race scenario;
                                                  --diagram prints a counterexample as CPU columns,
                                                  --svg FILE draws its walk and timeline
  races [--json]                                  every race on its version before and after the fix
  kapi [--json]                                   the kernel API the interpreter binds, with what each built-in does
  inspect FILE [--json] [--version V]             fingerprint a gup.c and map each function's replays onto it
  check FILE|DIR... [--json] [--arch A]... [--stub NAME=noop|0|1|true|false]... [--no-races] [--max-states N]
                                                  run every built-in scenario and every applicable race on each
                                                  file's own code, per arch it is for; name what stops it
  review PATCH [--tree DIR] [--arch A]... [--stub NAME=V]... [--json] [--no-races] [--max-states N]
                                                  a mailed patch or series: each GUP-fast function it touches,
                                                  replayed before and after, and every race's verdict on both
                                                  sides ("fixed", "introduced"); the tree is only read
  coverage FILE [--json] [--stub NAME=V]... [--no-races]
                                                  lines and decision outcomes of each GUP-fast function that every
                                                  scenario and race, on every arch the code is for, executes
  sweep --repo DIR [--from REV] [--to REV] [--tags] [--arch A]... [--max-states N] [--json]
                                                  every commit (or tag) that changed GUP-fast code, each race on
                                                  its own code per arch, and the commits where a verdict flips
  history FUNC --repo DIR [--json]                the commits where a function's text changed, oldest first
  bdiff --scenario S --arch A --from V1 --to V2 [--json]
                                                  the same scenario on two versions, traces aligned

gup-lens <command> --help prints that command's lines.
`;

type Out = (s: string) => void;

function need(v: string | undefined, name: string): string {
  if (!v) throw new UsageError(`missing --${name}\n\n${USAGE}`);
  return v;
}

function parseOpts(list: string[] | undefined): VersionOptions {
  const out: Record<string, boolean> = {};
  for (const o of list ?? []) {
    const m = /^(\w+)=(on|off|true|false)$/.exec(o);
    if (!m) throw new UsageError(`--opt takes name=on|off, not '${o}'`);
    out[m[1]] = m[2] === 'on' || m[2] === 'true';
  }
  return out as VersionOptions;
}

/** The registry as Markdown tables (README.md carries this block, and a test keeps them equal). */
export function registryMarkdown(): string {
  const rows = [
    '| arch | levels (shift) | entry load | TLB shootdown | page tables freed by RCU |',
    '|---|---|---|---|---|',
    ...ARCHES.map((a) => `| \`${a.id}\` | ${a.levels.map((l) => `${l.level} ${l.shift}`).join(', ')} | ${a.atomicEntryLoad ? 'one atomic load' : 'two 32-bit halves'} | ${a.tlbShootdown === 'ipi' ? 'IPI' : 'hardware broadcast'} | ${a.rcuTableFree ? 'yes' : 'no (the flush IPI protects)'} |`),
    '',
    '| version | kernels | files | what it introduced |',
    '|---|---|---|---|',
    ...VERSIONS.map((v) => `| \`${v.id}\` | ${v.kernels}${v.dialects ? `, in dialects: ${v.dialects.map((d) => `\`${d.id}\` ${d.kernels}`).join(', ')}` : ''} | ${v.files.join(', ')} | ${v.change} |`),
    '',
    '| scenario | what it exercises |',
    '|---|---|',
    ...SCENARIOS.map((x) => `| \`${x.id}\` | ${x.title}${x.arches ? ` (${x.arches.join(', ')})` : ''} |`),
    '',
    '| race scenario | kind | arch | before → after | kernels | invariant the old version breaks |',
    '|---|---|---|---|---|---|',
    ...RACES.map((r) => `| \`${r.id}\` | ${r.kind} | ${r.before.arch} | \`${r.before.version}\`${r.before.options ? ' ' + JSON.stringify(r.before.options) : ''} → \`${r.after.version}\`${r.after.options ? ' ' + JSON.stringify(r.after.options) : ''} | ${r.kernels} | ${INVARIANTS[r.invariant]} |`),
  ];
  return rows.join('\n');
}

export function cmdList(json: boolean, out: Out, markdown = false): void {
  if (markdown) {
    out(registryMarkdown());
    return;
  }
  const arches = ARCHES.map((a) => ({
    id: a.id,
    title: a.title,
    levels: a.levels.map((l) => l.level),
    atomicEntryLoad: a.atomicEntryLoad,
    tlbShootdown: a.tlbShootdown,
    rcuTableFree: a.rcuTableFree,
  }));
  const versions = VERSIONS.map((v) => ({ id: v.id, title: v.title, kernels: v.kernels, year: v.year, files: v.files, arches: v.arches, change: v.change, ...(v.dialects && { dialects: v.dialects }) }));
  const scenarios = [
    ...SCENARIOS.map((s) => ({ id: s.id, kind: 'replay', title: s.title, arches: s.arches ?? ARCHES.map((a) => a.id), releases: s.releases ?? 'every release' })),
    // a race's kind says what sort of story it is (race, review, design-limit); replays are 'replay'
    ...RACES.map((r) => ({ id: r.id, kind: r.kind, kernels: r.kernels, releases: r.kernels, title: r.title, arches: r.arches ?? [r.before.arch], before: r.before.version, after: r.after.version })),
  ];
  if (json) {
    out(JSON.stringify({ arches, versions, scenarios }));
    return;
  }
  out('arch models:');
  for (const a of arches) out(`  ${a.id.padEnd(10)} ${a.title}; entry load ${a.atomicEntryLoad ? 'atomic' : 'in two halves'}; TLB shootdown by ${a.tlbShootdown}`);
  out('versions:');
  for (const v of versions) {
    out(`  ${v.id.padEnd(14)} ${v.year} ${v.kernels}${v.dialects ? " (dialects below)" : ""} — ${v.title} [${v.arches.join(', ')}]`);
    for (const d of v.dialects ?? []) out(`    ${d.id.padEnd(14)} ${d.kernels}`);
  }
  out('scenarios:');
  for (const s of scenarios) out(`  ${s.id.padEnd(22)} ${s.kind === 'replay' ? '' : `[${s.kind}] `}${s.title}`);
}

export function cmdReplay(a: { arch: string; version: string; scenario: string; json: boolean; la57: boolean; opt?: string[]; svg?: string }, out: Out): void {
  const rp = replay({ arch: a.arch, version: a.version, scenario: a.scenario, trace: true, la57: a.la57, options: parseOpts(a.opt) });
  const steps = rp.steps.map((s, i) => describeStep(rp.arch, rp.version.era, s, i));
  writeSvg(a.svg, { title: `${rp.scenario.id} on ${rp.version.id} / ${rp.arch.id}`, arch: rp.arch, era: rp.version.era, steps: rp.steps, actors: ['gup'] });
  if (a.json) {
    out(JSON.stringify({
      arch: rp.arch.id,
      version: rp.version.id,
      scenario: rp.scenario.id,
      call: { ...rp.call, start: '0x' + rp.call.start.toString(16) },
      result: rp.result,
      deltas: rp.deltas,
      steps,
    }));
    return;
  }
  out(`${rp.version.id} on ${rp.arch.id}, scenario ${rp.scenario.id}: ${rp.scenario.title}`);
  for (const d of steps) out(formatStep(d));
  for (const l of formatResult(rp.result, rp.deltas)) out(l);
}

/** --svg FILE: the walk and the timeline of a trace, as one SVG file */
function writeSvg(file: string | undefined, pic: TracePicture): void {
  if (!file) return;
  try {
    writeFileSync(file, traceSvg(pic));
  } catch (e) {
    throw new UsageError(`cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** --config NAME=y|n|number, repeated */
function parseConfig(list: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const c of list ?? []) {
    const m = /^([A-Za-z_]\w*)=(y|n|\d+)$/.exec(c);
    if (!m) throw new UsageError(`--config takes NAME=y|n (or NAME=number), not '${c}'`);
    out[m[1]] = m[2];
  }
  return out;
}

/** --stub NAME=noop|0|1|true|false, repeated */
function stubsOf(list: string[] | undefined): Stubs {
  try {
    return parseStubs(list ?? []);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function readSource(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** F's own code for one arch; Unsupported (exit 1) when it cannot be compiled. */
async function loadSource(a: { file: string; arch: string; version?: string; entry?: string; config?: string[]; stub?: string[] }, warn?: Out): Promise<SourceVersion> {
  const text = readSource(a.file);
  getArch(a.arch);
  // asked for an arch the file's code is not for (arch/x86/mm/gup.c on arm64, another arch's walker): it runs, with a word of warning
  const meant = archesOf(text, a.file);
  if (warn && !meant.arches.includes(a.arch as ArchId)) warn(`gup-lens: note: ${meant.note ?? `${a.file}'s code is for ${meant.arches.join(', ')}`}; running it on ${a.arch} as asked`);
  if (a.version && a.version !== 'auto') getVersion(a.version);
  let fv;
  try {
    fv = await fileVersion(text, { arch: a.arch, version: a.version, entry: a.entry, config: parseConfig(a.config), path: a.file, stubs: stubsOf(a.stub) });
  } catch (e) {
    if (e instanceof NotGupError || e instanceof ConfigError) throw new UsageError(`${a.file}: ${e.message}`);
    throw e;
  }
  if (!fv.source) throw fv.unsupported!;
  return fv.source;
}

function configLine(v: SourceVersion): string {
  return v.config.symbols.filter((x) => x.value !== undefined).map((x) => (x.value === '1' ? x.name : `${x.name}=${x.value}`)).join(' ');
}

export async function cmdReplayFile(a: { file: string; arch: string; scenario: string; version?: string; entry?: string; config?: string[]; stub?: string[]; json: boolean; svg?: string }, out: Out, warn?: Out): Promise<void> {
  const v = await loadSource(a, warn);
  const rp = replay({ arch: a.arch, version: v, scenario: a.scenario, trace: true });
  const steps = rp.steps.map((s, i) => describeStep(rp.arch, v.era, s, i));
  writeSvg(a.svg, { title: `${rp.scenario.id}: ${basename(a.file)}'s own code / ${rp.arch.id}`, arch: rp.arch, era: v.era, steps: rp.steps, actors: ['gup'], lineOf: (x) => (x.line ? x.line - 1 : undefined) });
  if (a.json) {
    out(JSON.stringify({
      engine: 'source',
      file: a.file,
      arch: rp.arch.id,
      version: v.model.id,
      entry: v.entryFor(rp.call).name,
      scenario: rp.scenario.id,
      config: Object.fromEntries(v.config.symbols.filter((x) => x.value !== undefined).map((x) => [x.name, x.value])),
      stubs: v.stubsUsed,
      call: { ...rp.call, start: '0x' + rp.call.start.toString(16) },
      result: rp.result,
      deltas: rp.deltas,
      steps,
    }));
    return;
  }
  out(`${a.file}: its own code on ${rp.arch.id} (era rules of ${v.model.id}), scenario ${rp.scenario.id}: ${rp.scenario.title}`);
  out(`config: ${configLine(v)}`);
  if (v.stubsUsed.length) out(`stubs: ${v.stubsUsed.join(', ')}`);
  for (const d of steps) out(formatStep(d));
  for (const l of formatResult(rp.result, rp.deltas)) out(l);
}

export async function cmdExploreFile(a: { file: string; arch: string; scenario: string; version?: string; entry?: string; config?: string[]; stub?: string[]; json: boolean; maxStates?: string; diagram?: boolean; svg?: string }, out: Out, warn?: Out): Promise<void> {
  const sc = getRace(a.scenario);
  const v = await loadSource(a, warn);
  const arch = getArch(a.arch);
  checkApplicable(arch, v, sc);
  const r = explore(sc, { arch: arch.id, version: v }, { maxStates: positiveInt(a.maxStates, 'max-states') });
  // the release's layout: the counterexample's entries read as the machine built them
  const at = archFor(arch, v);
  if (r.verdict === 'violation') writeSvg(a.svg, { title: `${sc.id}: ${basename(a.file)}'s own code / ${arch.id}`, arch: at, era: v.era, steps: r.counterexample, actors: r.actors, violation: r.message, lineOf: (x) => (x.line ? x.line - 1 : undefined) });
  if (a.diagram && r.verdict === 'violation') {
    out(raceDiagram(r.counterexample, r.actors, { source: readSource(a.file).split(/\r\n|\r|\n/), violation: r.message }));
    return;
  }
  if (a.json) {
    out(JSON.stringify({ engine: 'source', file: a.file, stubs: v.stubsUsed, ...exploreJson(r, at, v.era) }));
    return;
  }
  printExplore(out, sc, `${a.file} (its own code${v.stubsUsed.length ? `; stubs ${v.stubsUsed.join(', ')}` : ''})`, at, v.era, r);
}

export function cmdDecode(a: { arch: string; level: string; value: string; era: string; release?: string; json: boolean }, out: Out): void {
  const arch = getArch(a.arch);
  if (!arch.levels.some((l) => l.level === a.level)) {
    throw new UsageError(`${arch.id} has no '${a.level}' level; its levels: ${arch.levels.map((l) => l.level).join(', ')}`);
  }
  if (a.era !== 'modern' && a.era !== 'thp-split') throw new UsageError(`--era is modern or thp-split, not '${a.era}'`);
  let raw: bigint;
  try {
    raw = BigInt(a.value);
  } catch {
    throw new UsageError(`'${a.value}' is not a number (write it as 0x...)`);
  }
  if (raw < 0n || raw >= 1n << 64n) throw new UsageError(`'${a.value}' does not fit in 64 bits`);
  if (a.release !== undefined) {
    try {
      releaseNumber(a.release);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const d = arch.decode(a.level as Level, raw, a.era as Era, a.release);
  if (a.json) {
    out(JSON.stringify(d));
    return;
  }
  // a swap-format entry's bits above the flags are an offset, not a frame
  const what = d.swap ? `a swap entry, type ${d.swap.type}, offset 0x${d.swap.offset.toString(16)} (a migration entry's offset is the pfn being moved)` : `pfn 0x${d.pfn.toString(16)} (phys ${d.phys})`;
  out(`${arch.id} ${d.level} ${d.raw} (layout of ${d.release}, ${d.era} era): ${d.kind}, ${what}`);
  out(`  GUP sees: ${flagNames(d).join(' ')}`);
  for (const f of arch.fields) {
    if (!(f.name in d.fields) || !fieldApplies(f, d.level, d.era, d.release)) continue;
    const bits = f.width && f.width > 1 ? `${f.shift}..${f.shift + f.width - 1}` : String(f.shift);
    out(`  bit ${bits.padEnd(6)} ${f.name.padEnd(11)} = ${d.fields[f.name]}   (${f.kernel})`);
  }
  if (BigInt(d.other) !== 0n) out(`  other bits: ${d.other}`);
}

function positiveInt(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--${name} takes a positive whole number, not '${v}'`);
  return n;
}

function exploreJson(r: ExploreResult, arch: ReturnType<typeof getArch>, era: Era) {
  return {
    verdict: r.verdict,
    invariant: r.invariant ?? null,
    message: r.message ?? null,
    counterexample: r.counterexample.map((s, i) => describeStep(arch, era, s, stepNumber(r, i))),
    ...(r.elided && { elided: r.elided }),
    schedule: r.schedule,
    actors: r.actors,
    states: r.states,
    interleavings: r.interleavings,
    ms: r.ms,
    bounds: r.bounds,
    complete: r.complete,
  };
}

export function cmdExplore(a: { scenario: string; version: string; arch: string; json: boolean; maxStates?: string; opt?: string[]; diagram?: boolean; svg?: string }, out: Out): void {
  const sc = getRace(a.scenario);
  const arch = getArch(a.arch);
  const run: RaceRun = { arch: arch.id, version: a.version, options: parseOpts(a.opt) };
  const version = getVersion(a.version);
  checkApplicable(arch, version, sc);
  const r = explore(sc, run, { maxStates: positiveInt(a.maxStates, 'max-states') });
  const at = archFor(arch, version);
  if (r.verdict === 'violation') writeSvg(a.svg, { title: `${sc.id} on ${version.id} / ${arch.id}`, arch: at, era: version.era, steps: r.counterexample, actors: r.actors, violation: r.message });
  if (a.diagram && r.verdict === 'violation') {
    out(raceDiagram(r.counterexample, r.actors, { violation: r.message }));
    return;
  }
  if (a.json) {
    out(JSON.stringify(exploreJson(r, at, version.era)));
    return;
  }
  printExplore(out, sc, version.id, at, version.era, r);
}

function printExplore(out: Out, sc: ReturnType<typeof getRace>, who: string, arch: ReturnType<typeof getArch>, era: Era, r: ExploreResult): void {
  out(`${sc.id} on ${who} / ${arch.id}: ${sc.title}`);
  out(`actors: ${r.actors.map((n, i) => `${n}@cpu${i}`).join(', ')}`);
  if (r.verdict === 'violation') {
    out(`VIOLATION of "${INVARIANTS[r.invariant!]}": ${r.message}`);
    out(`shortest counterexample (${r.counterexample.length + (r.elided?.count ?? 0)} steps):`);
    for (const l of counterexampleLines(r, (s, n) => formatStep(describeStep(arch, era, s, n)))) out(l);
  } else {
    out(`no violation within bounds (max ${r.bounds.maxStates} states, ${r.bounds.maxSteps} steps per interleaving)${r.complete ? '; every interleaving within them explored' : r.cut === 'steps' ? `; an interleaving reached ${r.bounds.maxSteps} steps and was cut there` : '; the state bound cut the search'}`);
  }
  out(`explored ${r.states} states, ${r.interleavings} complete interleavings, in ${r.ms} ms`);
}

export interface RaceRow {
  scenario: string;
  kind: RaceKind;
  /** the releases of its before and of its after */
  kernels: string;
  arch: string;
  before: string;
  after: string;
  beforeVerdict: ExploreResult['verdict'];
  afterVerdict: ExploreResult['verdict'];
  invariant: string | null;
  ms: number;
}

export function raceTable(): RaceRow[] {
  return RACES.map((sc) => {
    const t0 = Date.now();
    const b = explore(sc, sc.before);
    const f = explore(sc, sc.after);
    const label = (r: RaceRun) => r.version + (r.options && Object.keys(r.options).length ? ` (${Object.entries(r.options).map(([k, v]) => `${k}=${v ? 'on' : 'off'}`).join(', ')})` : '');
    return { scenario: sc.id, kind: sc.kind, kernels: sc.kernels, arch: sc.before.arch, before: label(sc.before), after: label(sc.after), beforeVerdict: b.verdict, afterVerdict: f.verdict, invariant: b.invariant ?? null, ms: Date.now() - t0 };
  });
}

export function cmdRaces(json: boolean, out: Out): void {
  const rows = raceTable();
  if (json) {
    out(JSON.stringify(rows));
    return;
  }
  out('race scenario            kind          arch      before -> after                                          verdicts            ms');
  for (const r of rows) {
    const verdicts = `${r.beforeVerdict} -> ${r.afterVerdict}`;
    out(`${r.scenario.padEnd(24)} ${r.kind.padEnd(13)} ${r.arch.padEnd(9)} ${`${r.before} -> ${r.after}`.padEnd(56)} ${verdicts.padEnd(19)} ${r.ms}`);
    out(`${''.padEnd(25)}${r.kernels}`);
  }
}

export async function cmdInspect(a: { file: string; json: boolean; version?: string }, out: Out): Promise<void> {
  let text: string;
  try {
    text = readFileSync(a.file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${a.file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (text.length > MAX_SOURCE_BYTES) throw new UsageError(`${a.file} is ${(text.length / 1048576).toFixed(1)} MB; gup-lens reads files up to 4 MB`);
  if (a.version && a.version !== 'auto') getVersion(a.version);
  const r = await inspect(text, a.version);
  if (a.json) {
    out(JSON.stringify(r));
    return;
  }
  if (!r.version) {
    out(`${a.file}: no GUP-fast functions found`);
    return;
  }
  out(`${a.file}: ${r.version.release ? `release ${r.version.release}; ` : ''}model ${r.version.id} (confidence ${r.version.confidence}${r.version.overridden ? ', set by --version' : ''}${r.version.evidence.length ? `; evidence: ${r.version.evidence.join(', ')}` : ''})`);
  for (const f of r.functions) {
    out(`  ${f.name} (lines ${f.startLine}-${f.endLine}): ${f.mapped} of ${f.steps} replayed steps on its lines`);
    for (const x of f.arches) {
      const why = x.unsupported ? ` (the file's code stopped: ${x.unsupported.what} at line ${x.unsupported.line})` : '';
      if (x.na) out(`    ${x.arch.padEnd(9)} n/a: ${x.na}${why}`);
      else out(`    ${x.arch.padEnd(9)} ${x.engine === 'source' ? 'your code' : `model ${r.version.id}`} ${x.scenario}: ${x.mapped}/${x.steps} steps → lines ${x.lines.join(', ') || '-'}${x.missing.length ? `; not found in this file: ${x.missing.join(' | ')}` : ''}${why}`);
    }
  }
}

/** What stopped a file's own code, as check and review end with it, and the --stub that gets past it. */
function stopLine(what: string, line: number, runs = ''): string {
  const hint = stubHint(what);
  return `  stops its own code: ${what} at line ${line}${runs}${hint ? `; ${hint}` : ''}`;
}

export async function cmdCheck(a: { paths: string[]; json: boolean; arch?: string[]; stub?: string[]; races: boolean; maxStates?: string }, out: Out, err: Out): Promise<void> {
  if (!a.paths.length) throw new UsageError(`check needs a FILE or DIR\n\n${helpFor('check')}`);
  for (const x of a.arch ?? []) getArch(x);
  const r = await check(a.paths, { stubs: stubsOf(a.stub), arches: a.arch?.length ? a.arch : undefined, races: a.races, maxStates: positiveInt(a.maxStates, 'max-states'), progress: err });
  if (a.json) {
    out(JSON.stringify(r));
    return;
  }
  for (const f of r.files) {
    out(`${f.file}: ${f.release ? `release ${f.release}` : 'release not placed'}${f.stubs ? `; stubs ${f.stubs.join(', ')}` : ''}`);
    if (f.note) out(`  ${f.note}`);
    for (const x of f.arches) {
      const own = x.runs.filter((y) => y.engine === 'source').length;
      out(`  ${x.arch.padEnd(9)} ${own}/${x.runs.length} on its own code`);
      for (const y of x.runs) {
        const why = y.unsupported ? `  <- stopped at line ${y.unsupported.line}: ${y.unsupported.what}` : '';
        out(`    ${y.scenario.padEnd(26)} ${y.engine === 'source' ? 'own  ' : 'model'} ${y.outcome}${why}`);
      }
    }
    // what stopped the file's own code, once each, with the stub that gets past it
    const stops = new Map<string, { line: number; runs: number }>();
    for (const y of f.arches.flatMap((x) => x.runs)) {
      if (!y.unsupported) continue;
      const s = stops.get(y.unsupported.what) ?? { line: y.unsupported.line, runs: 0 };
      s.runs++;
      stops.set(y.unsupported.what, s);
    }
    for (const [what, s] of stops) out(stopLine(what, s.line, ` (${s.runs} run${s.runs === 1 ? '' : 's'})`));
  }
  const s = r.summary;
  out(`${s.files} file(s), ${s.runs} runs, ${s.own} on the files' own code (${s.percent}%)`);
}

function reviewJson(p: PatchReview) {
  return {
    subject: p.subject,
    base: p.base,
    functions: p.functions.map((f) => ({ name: f.name, file: f.file, ...(f.before && { before: f.before }), ...(f.after && { after: f.after }) })),
    races: p.races.map((r) => ({ scenario: r.scenario, arch: r.arch, before: r.before, after: r.after, flip: r.flip, file: r.file, ...(r.message && { message: r.message }), ...(r.unsupported && { unsupported: r.unsupported }) })),
    ...(p.behaviour.length && { behaviour: p.behaviour }),
    ...(p.problems.length && { problems: p.problems }),
    ...(p.notes.length && { notes: p.notes }),
  };
}

export async function cmdReview(a: { patch: string; tree?: string; arch?: string[]; json: boolean; races: boolean; maxStates?: string; stub?: string[] }, out: Out, err: Out): Promise<void> {
  for (const x of a.arch ?? []) getArch(x);
  if (a.tree && !isDirectory(a.tree)) throw new UsageError(`${a.tree} is not a directory (the kernel tree the patch is for)`);
  // without --tree, the kernel tree the reviewer stands in (or the one the patch file lies in)
  const tree = a.tree ?? treeRoot(join(process.cwd(), 'x')) ?? treeRoot(resolve(a.patch));
  const text = readSource(a.patch);
  const r = await review(text, { tree, arches: a.arch, races: a.races, maxStates: positiveInt(a.maxStates, 'max-states'), stubs: stubsOf(a.stub) });
  if (a.json) {
    out(JSON.stringify({ patches: r.patches.map(reviewJson), ...(r.series && { series: reviewJson(r.series) }) }));
    return;
  }
  for (const p of [...r.patches, ...(r.series ? [r.series] : [])]) {
    out(`${p.subject}`);
    out(`  base: ${p.base.kind}${p.base.rev ? ` ${p.base.rev}` : p.base.kind === 'head' ? ` (the files of ${tree}: not a git repository)` : ''}`);
    for (const x of p.problems) out(`  ! ${x}`);
    for (const x of p.notes) out(`  note: ${x}`);
    if (!p.functions.length && !p.races.length && !p.behaviour.length && !p.problems.length) out('  touches no GUP-fast function: nothing to replay or explore');
    for (const f of p.functions) {
      out(`  ${f.file}: ${f.name}${!f.before ? ' (new)' : !f.after ? ' (removed)' : ''}`);
      for (const arch of Object.keys({ ...f.before, ...f.after }) as (keyof NonNullable<typeof f.before>)[]) {
        out(`    ${arch.padEnd(9)} before: ${f.before?.[arch] ?? '-'}`);
        out(`    ${''.padEnd(9)} after:  ${f.after?.[arch] ?? '-'}`);
      }
    }
    for (const x of p.races) {
      const flip = x.flip === 'fixed' ? `  fixes ${x.scenario}` : x.flip === 'introduced' ? `  introduces a violation of ${x.scenario}` : '';
      // a violation met while exploring this race that is another's (a torn PAE read) says whose it is
      const whose = x.by && !x.flip ? `  (the violation is ${x.by}'s)` : '';
      out(`  ${x.scenario.padEnd(26)} ${x.arch.padEnd(9)} ${x.before} -> ${x.after}${flip}${whose}${x.unsupported ? `  [could not run: ${x.unsupported}]` : ''}`);
      if (x.flip && x.counterexample && x.actors) out(raceDiagram(x.counterexample, x.actors, { violation: x.message }).split('\n').map((l) => '      ' + l).join('\n'));
    }
    if (p.behaviour.length) out('  built-in scenarios whose outcome changes:');
    for (const x of p.behaviour) out(`  ${x.scenario.padEnd(26)} ${x.arch.padEnd(9)} ${x.before} -> ${x.after}`);
    for (const x of p.stops ?? []) out(stopLine(x.what, x.line));
  }
  void err;
}

export async function cmdCoverage(a: { file: string; json: boolean; stub?: string[]; races: boolean }, out: Out): Promise<void> {
  const text = readSource(a.file);
  const c = await fileCoverage(a.file, text, { stubs: stubsOf(a.stub), races: a.races });
  if (a.json) {
    // the contract's shape exactly (issue 25): what the editor's views use stays out
    out(JSON.stringify({ file: c.file, functions: c.functions.map(({ ranBy: _r, statements: _s, decisions: _d, stops: _t, ...f }) => f), summary: c.summary }));
    return;
  }
  for (const f of c.functions) {
    if (f.unreachable) {
      out(`  ${f.name.padEnd(30)} unreachable on every modelled arch`);
      continue;
    }
    out(`  ${f.name.padEnd(30)} lines ${f.lines.run}/${f.lines.total}, decision outcomes ${f.branches.run}/${f.branches.total}${f.missed.length ? `; not reached: ${f.missed.slice(0, 6).map((m) => `${m.line} ${m.outcome}`).join(', ')}${f.missed.length > 6 ? ', …' : ''}` : ''}`);
    // why the lines after a stop are not reached
    for (const st of f.stops) out(`  ${''.padEnd(30)} runs stop: ${stopText(st)} (${st.runs.slice(0, 3).join(', ')}${st.runs.length > 3 ? ` and ${st.runs.length - 3} more` : ''})`);
  }
  out(`${c.file}: ${c.summary.branches.run} of ${c.summary.branches.total} decision outcomes (${c.summary.percent}%)`);
}

/**
 * The repository a directory is in, and the directory's place in it: --repo may name the kernel's
 * folder inside a larger repository (its files are then that folder's). A bare repository is its
 * own top. Undefined: no repository.
 */
function repoOf(dir: string): { top: string; folder?: string } | undefined {
  try {
    const [top, prefix] = execFileSync('git', ['-C', dir, 'rev-parse', '--show-toplevel', '--show-prefix'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).split('\n');
    return { top, folder: prefix || undefined };
  } catch {
    return isGitTree(dir) ? { top: dir } : undefined;
  }
}

export async function cmdSweep(a: { repo: string; from?: string; to?: string; tags: boolean; arch?: string[]; maxStates?: string; json: boolean }, out: Out, err: Out): Promise<void> {
  const repo = repoOf(a.repo);
  if (!repo) throw new UsageError(`${a.repo} is not a git repository`);
  for (const x of a.arch ?? []) getArch(x);
  const r = await sweep(cliGit(repo.top), { from: a.from, to: a.to, tags: a.tags, arches: a.arch, maxStates: positiveInt(a.maxStates, 'max-states'), progress: err, dir: repo.folder });
  if (a.json) {
    out(JSON.stringify(r));
    return;
  }
  // a tree whose history never held those files says so, not just "0"
  if (!r.commits.length) {
    out(`no commit${a.from || a.to ? ' in this range' : ''} changed a GUP-fast file (${GUP_FILES.join(', ')}, in ${repo.folder ? `the folder ${repo.folder}` : 'the top of the tree or one folder under it'})`);
    return;
  }
  out(`${r.commits.length} commit(s) that changed GUP-fast code`);
  for (const f of r.flips) out(`  ${f.scenario.padEnd(26)} ${f.arch.padEnd(9)} ${f.flip.padEnd(10)} ${f.rev.slice(0, 12)} ${f.subject}`);
  if (!r.flips.length) out('  no verdict flips in this range');
}

export async function cmdHistory(a: { fn: string; repo: string; json: boolean }, out: Out): Promise<void> {
  const repo = repoOf(a.repo);
  if (!repo) throw new UsageError(`${a.repo} is not a git repository`);
  const h = await functionHistory(cliGit(repo.top), a.fn, { dir: repo.folder });
  if (a.json) {
    out(JSON.stringify(h.map(({ text: _t, ...e }) => e)));
    return;
  }
  if (!h.length) out(`${a.fn}: not found in any commit of ${a.repo}`);
  for (const e of h) out(`${e.commit.slice(0, 12)} ${(e.tag ?? '-').padEnd(10)} ${e.date.slice(0, 10)} ${e.path}:${e.name}  ${e.subject}`);
}

export function cmdBdiff(a: { scenario: string; arch: string; from: string; to: string; json: boolean }, out: Out): void {
  const d = behaviourDiff(a.scenario, a.arch, a.from, a.to);
  if (a.json) {
    out(JSON.stringify({ from: a.from, to: a.to, scenario: d.scenario, arch: d.arch, summary: d.summary, aligned: d.aligned }));
    return;
  }
  out(bdiffMarkdown(d));
}

/** The exit code of an async command: 1 for code the interpreter cannot run, 2 for bad input. */
function settle(p: Promise<void>, err: Out): Promise<number> {
  return p.then(
    () => 0,
    (e) => {
      err(e instanceof Unsupported ? e.message : `gup-lens: ${(e as Error).message}${process.env.GUP_LENS_STACK ? "\n" + (e as Error).stack : ""}`);
      return e instanceof Unsupported ? 1 : 2;
    },
  );
}

/** One command's lines of the usage text (its forms and what it does). */
export function helpFor(cmd: string): string | undefined {
  const lines: string[] = [];
  let current = '';
  for (const l of USAGE.split('\n')) {
    const m = /^  ([a-z]+) /.exec(l) ?? /^  ([a-z]+)$/.exec(l);
    if (m) current = m[1];
    else if (!/^ {4,}/.test(l)) current = '';
    if (current === cmd) lines.push(l);
  }
  return lines.length ? `usage: gup-lens ${cmd} ...\n${lines.join('\n')}` : undefined;
}

/** Run the CLI; returns the exit code (a promise for commands that parse files). */
export function main(argv: string[], out: Out = (s) => process.stdout.write(s + '\n'), err: Out = (s) => process.stderr.write(s + '\n')): number | Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      allowPositionals: true,
      options: {
        json: { type: 'boolean', default: false },
        markdown: { type: 'boolean', default: false },
        arch: { type: 'string', multiple: true },
        stub: { type: 'string', multiple: true },
        'no-races': { type: 'boolean', default: false },
        version: { type: 'string' },
        scenario: { type: 'string' },
        level: { type: 'string' },
        era: { type: 'string', default: 'modern' },
        release: { type: 'string' },
        la57: { type: 'boolean', default: false },
        opt: { type: 'string', multiple: true },
        'max-states': { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        repo: { type: 'string' },
        tree: { type: 'string' },
        tags: { type: 'boolean', default: false },
        file: { type: 'string' },
        entry: { type: 'string' },
        config: { type: 'string', multiple: true },
        diagram: { type: 'boolean', default: false },
        svg: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
    if (values.help && cmd) {
      const h = helpFor(cmd);
      if (!h) throw new UsageError(`unknown command '${cmd}'\n\n${USAGE}`);
      out(h);
      return 0;
    }
    if (values.diagram && (cmd !== 'explore' || values.json)) throw new UsageError('--diagram goes with explore, without --json');
    if (values.svg && cmd !== 'explore' && cmd !== 'replay') throw new UsageError('--svg goes with replay or explore');
    const arch = values.arch?.at(-1);
    if (values.stub && !(cmd === 'check' || cmd === 'review' || cmd === 'coverage' || values.file)) throw new UsageError('--stub goes with check, review and coverage, and with replay or explore on a --file');
    switch (cmd) {
      case 'list':
        cmdList(values.json!, out, values.markdown);
        return 0;
      case 'kapi':
        if (values.json) out(JSON.stringify({ forms: COMPILER_FORMS, builtins: KAPI.map((b) => ({ name: b.name, family: b.family, kind: b.kind, releases: releasesOf(b), doc: b.doc, ...(b.arches && { arches: b.arches }) })) }));
        else out(kapiTable());
        return 0;
      case 'replay':
        if (values.file) {
          return settle(cmdReplayFile({ file: values.file, arch: need(arch, 'arch'), scenario: need(values.scenario, 'scenario'), version: values.version, entry: values.entry, config: values.config, stub: values.stub, json: values.json!, svg: values.svg }, out, err), err);
        }
        if (values.entry || values.config) throw new UsageError('--entry and --config go with --file');
        cmdReplay({ arch: need(arch, 'arch'), version: need(values.version, 'version'), scenario: need(values.scenario, 'scenario'), json: values.json!, la57: values.la57!, opt: values.opt, svg: values.svg }, out);
        return 0;
      case 'decode':
        cmdDecode({ arch: need(arch, 'arch'), level: need(values.level, 'level'), value: need(positionals[0], 'value (0x...)'), era: values.era!, release: values.release, json: values.json! }, out);
        return 0;
      case 'explore':
        if (values.file) {
          return settle(cmdExploreFile({ file: values.file, arch: need(arch, 'arch'), scenario: need(values.scenario, 'scenario'), version: values.version, entry: values.entry, config: values.config, stub: values.stub, json: values.json!, maxStates: values['max-states'], diagram: values.diagram, svg: values.svg }, out, err), err);
        }
        if (values.entry || values.config) throw new UsageError('--entry and --config go with --file');
        cmdExplore({ scenario: need(values.scenario, 'scenario'), version: need(values.version, 'version'), arch: need(arch, 'arch'), json: values.json!, maxStates: values['max-states'], opt: values.opt, diagram: values.diagram, svg: values.svg }, out);
        return 0;
      case 'races':
        cmdRaces(values.json!, out);
        return 0;
      case 'bdiff':
        cmdBdiff({ scenario: need(values.scenario, 'scenario'), arch: need(arch, 'arch'), from: need(values.from, 'from'), to: need(values.to, 'to'), json: values.json! }, out);
        return 0;
      case 'history':
        return cmdHistory({ fn: need(positionals[0], 'FUNC'), repo: need(values.repo, 'repo'), json: values.json! }, out).then(
          () => 0,
          (e) => {
            err(`gup-lens: ${(e as Error).message}`);
            return 2;
          },
        );
      case 'check':
        return cmdCheck({ paths: positionals, json: values.json!, arch: values.arch, stub: values.stub, races: !values['no-races'], maxStates: values['max-states'] }, out, err).then(
          () => 0,
          (e) => {
            err(`gup-lens: ${(e as Error).message}${process.env.GUP_LENS_STACK ? '\n' + (e as Error).stack : ''}`);
            return 2;
          },
        );
      case 'review':
        return cmdReview({ patch: need(positionals[0], 'PATCH'), tree: values.tree, arch: values.arch, json: values.json!, races: !values['no-races'], maxStates: values['max-states'], stub: values.stub }, out, err).then(
          () => 0,
          (e) => {
            err(`gup-lens: ${(e as Error).message}`);
            return e instanceof NotAPatchError ? 1 : 2;
          },
        );
      case 'coverage':
        return cmdCoverage({ file: need(positionals[0], 'FILE'), json: values.json!, stub: values.stub, races: !values['no-races'] }, out).then(
          () => 0,
          (e) => {
            err(`gup-lens: ${(e as Error).message}`);
            return 2;
          },
        );
      case 'sweep':
        return cmdSweep({ repo: need(values.repo, 'repo'), from: values.from, to: values.to, tags: values.tags!, arch: values.arch, maxStates: values['max-states'], json: values.json! }, out, err).then(
          () => 0,
          (e) => {
            err(`gup-lens: ${(e as Error).message}`);
            return 2;
          },
        );
      case 'inspect':
        return cmdInspect({ file: need(positionals[0], 'FILE'), json: values.json!, version: values.version }, out).then(
          () => 0,
          (e) => {
            err(`gup-lens: ${(e as Error).message}`);
            return 2;
          },
        );
      case undefined:
      case 'help':
      case '--help':
        out(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'\n\n${USAGE}`);
    }
  } catch (e) {
    err(e instanceof Unsupported ? e.message : `gup-lens: ${(e as Error).message}`);
    return e instanceof Unsupported ? 1 : 2;
  }
}

// the CLI bundle's own entry only (other bundles, such as the fuzz run, import main() from here)
if (require.main === module && /^cli\.[cm]?js$/.test(basename(__filename))) {
  // `gup-lens replay ... | head` closes the pipe early: that is not an error
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  Promise.resolve(main(process.argv.slice(2))).then((code) => (process.exitCode = code));
}
