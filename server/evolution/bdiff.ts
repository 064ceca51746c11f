/**
 * The behaviour diff: one scenario replayed on two version models, the traces aligned step by
 * step with jsdiff. Steps are compared by what they do (event, the function's oldest name, the
 * statement's key tokens), so a renamed function still lines up; aligned steps whose values
 * differ (a ref of +1024 where there was +1) are "changed". A race scenario compares the two
 * versions' explorer verdicts and counterexamples the same way.
 */
import { diffArrays } from 'diff';
import { getArch } from '../../emulator/arch';
import type { ArchModel, Era } from '../../emulator/arch/types';
import { explore } from '../../emulator/explore/explore';
import { archFor, checkApplicable, replay } from '../../emulator/run/replay';
import { getRace, RACES } from '../../emulator/scenarios/races';
import { getVersion, MODELS, type VersionModel } from '../../emulator/versions';
import { describeStep, type DescribedStep } from '../../emulator/trace/describe';
import type { Step } from '../../emulator/trace/types';
import { canonical } from './names';

export interface Aligned {
  op: 'same' | 'added' | 'removed' | 'changed';
  from: DescribedStep | null;
  to: DescribedStep | null;
}

/** a replay's result, or (for a race) the explorer's verdict on that version */
export interface DiffResult {
  nr: number;
  slowPath: boolean;
  fastNr: number;
  verdict?: 'violation' | 'ok';
  message?: string;
}

export interface BehaviourDiff {
  from: { version: string; result: DiffResult };
  to: { version: string; result: DiffResult };
  scenario: string;
  arch: string;
  aligned: Aligned[];
  summary: { same: number; added: number; removed: number; changed: number };
}

/** The part of the walk a function plays, across versions: helpers fold into their caller. */
const ROLE: Record<string, string> = {
  gup_get_pte: 'gup_pte_range', ptep_get_lockless: 'gup_pte_range', pmdp_get_lockless: 'gup_pmd_range',
  __get_user_pages_fast: 'walk', internal_get_user_pages_fast: 'walk', lockless_pages_from_mm: 'walk', gup_fast: 'walk',
  gup_fast_fallback: 'walk', gup_pgd_range: 'walk', gup_fast_pgd_range: 'walk',
  get_user_pages_fast: 'entry', pin_user_pages_fast: 'entry', get_user_pages_fast_only: 'entry', pin_user_pages_fast_only: 'entry',
};
const role = (fn: string) => ROLE[fn] ?? canonical(fn);
/** steps line up by what they do where: the event, the function's role, the entry level */
const key = (s: Step) => `${s.event}|${role(s.fn)}|${s.level ?? ''}`;
/** aligned steps are "the same" only if the statement and its values are */
const values = (s: Step) => JSON.stringify([s.anchor, s.ref ?? null, s.pin ?? null, s.nr ?? null, s.ret ?? null, s.lo ?? null, s.hi ?? null, s.slow ?? null]);

/** Two traces lined up by what each step does where. */
/** Each side's steps with the arch of its release (the layout its machine was built with). */
type Steps = { steps: readonly Step[]; era: Era; arch: ArchModel };

function align(a: Steps, b: Steps): { aligned: Aligned[]; summary: BehaviourDiff['summary'] } {
  const da = (s: Step, i: number) => describeStep(a.arch, a.era, s, i);
  const db = (s: Step, i: number) => describeStep(b.arch, b.era, s, i);
  const aligned: Aligned[] = [];
  let i = 0;
  let j = 0;
  for (const part of diffArrays([...a.steps], [...b.steps], { comparator: (x: Step, y: Step) => key(x) === key(y) })) {
    for (const s of part.value) {
      if (part.added) aligned.push({ op: 'added', from: null, to: db(s, j++) });
      else if (part.removed) aligned.push({ op: 'removed', from: da(s, i++), to: null });
      else {
        const x = a.steps[i];
        const y = b.steps[j];
        aligned.push({ op: values(x) === values(y) ? 'same' : 'changed', from: da(x, i++), to: db(y, j++) });
      }
    }
  }
  const summary = { same: 0, added: 0, removed: 0, changed: 0 };
  for (const x of aligned) summary[x.op]++;
  return { aligned, summary };
}

/** A side of a diff: a version model's id, or a model itself (a file's own code, as a patch has it) with its label. */
/** What the pickers offer: every model, dialects included, oldest first, the open file's own on top. */
export function modelChoices(mine?: string): { label: string; description: string; picked: boolean }[] {
  const all = [...MODELS].sort((x, y) => x.year - y.year).map((v) => ({ label: v.id, description: `${v.year} · ${v.kernels}${v.id === mine ? ' · this file' : ''}`, picked: v.id === mine }));
  return [...all.filter((x) => x.picked), ...all.filter((x) => !x.picked)];
}

export type Side = string | { label: string; version: VersionModel };
const sideVersion = (x: Side) => (typeof x === 'string' ? x : x.version);
const sideLabel = (x: Side) => (typeof x === 'string' ? x : x.label);

export function behaviourDiff(scenario: string, arch: string, from: Side, to: Side): BehaviourDiff {
  if (RACES.some((r) => r.id === scenario)) return raceDiff(scenario, arch, from, to);
  const a = replay({ arch, version: sideVersion(from), scenario, trace: true });
  const b = replay({ arch, version: sideVersion(to), scenario, trace: true });
  const A = getArch(arch);
  const res = (r: typeof a) => ({ nr: r.result.nr, slowPath: r.result.slowPath, fastNr: r.result.fastNr });
  return { from: { version: sideLabel(from), result: res(a) }, to: { version: sideLabel(to), result: res(b) }, scenario: a.scenario.id, arch: A.id, ...align({ steps: a.steps, era: a.version.era, arch: a.arch }, { steps: b.steps, era: b.version.era, arch: b.arch }) };
}

/** A race on two versions: each one's counterexample (none where it is ok), lined up; the verdicts beside. */
export function raceDiff(raceId: string, arch: string, from: Side, to: Side): BehaviourDiff {
  const sc = getRace(raceId);
  const A = getArch(arch);
  const run = (side: Side) => {
    const v = typeof side === 'string' ? getVersion(side) : side.version;
    checkApplicable(A, v, sc);
    return { r: explore(sc, { arch: A.id, version: typeof side === 'string' ? side : v }), era: v.era, arch: archFor(A, v) };
  };
  const a = run(from);
  const b = run(to);
  const res = (x: typeof a) => ({ nr: 0, slowPath: false, fastNr: 0, verdict: x.r.verdict, message: x.r.message });
  return { from: { version: sideLabel(from), result: res(a) }, to: { version: sideLabel(to), result: res(b) }, scenario: raceId, arch: A.id, ...align({ steps: a.r.counterexample, era: a.era, arch: a.arch }, { steps: b.r.counterexample, era: b.era, arch: b.arch }) };
}

/** Markdown for people: what the newer code does differently. */
export function bdiffMarkdown(d: BehaviourDiff): string {
  const line = (s: DescribedStep | null) => (s ? `\`${s.fn}\` ${s.event} \`${s.anchor}\`${s.page?.ref !== undefined ? ` ref ${s.page.ref}` : ''}${s.page?.pin ? ` pin ${s.page.pin}` : ''}${s.note ? ` — ${s.note}` : ''}` : '');
  const out = [
    `# Behaviour diff: ${d.from.version} → ${d.to.version}`,
    `Scenario \`${d.scenario}\` on ${d.arch}. Result: nr ${d.from.result.nr} → ${d.to.result.nr}; slow path ${d.from.result.slowPath} → ${d.to.result.slowPath}.`,
    `${d.summary.same} steps the same, ${d.summary.changed} changed, ${d.summary.added} added, ${d.summary.removed} removed.`,
    '',
  ];
  let run = 0;
  for (const x of d.aligned) {
    if (x.op === 'same') {
      run++;
      continue;
    }
    if (run) out.push(`- … ${run} step(s) the same`);
    run = 0;
    if (x.op === 'added') out.push(`- **+** ${line(x.to)}`);
    else if (x.op === 'removed') out.push(`- **−** ${line(x.from)}`);
    else out.push(`- **~** ${line(x.from)} → ${line(x.to)}`);
  }
  if (run) out.push(`- … ${run} step(s) the same`);
  return out.join('\n');
}
