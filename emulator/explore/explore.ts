/**
 * The interleaving explorer. A world is the machine plus one kernel thread per actor (the GUP
 * caller on CPU 0, the others on CPUs 1..n). Breadth-first, so the first violation found is a
 * shortest one; states are hashed (machine contents + each actor's own history) so
 * interleavings that only reorder independent steps are explored once. A state's world goes on
 * to its first successor; its last takes over what was kept of it (freeze()), and any between
 * start from a copy of that: its machine, each actor's script (data: actors/script.ts) and the
 * caller of a file's own code (data: interp/caller.ts, its slow path included). A model's GUP
 * caller runs generators, which cannot be copied: it is replayed, each run of its turns on a copy
 * of the machine as it was before that run (Turn.before), so only its own steps run again; only
 * a file's caller stopped at a call's end (a kernel generator) is had again from the root. Every
 * counterexample replays deterministically from its schedule.
 * Layer: pure emulator.
 */
import { ACTORS } from '../actors';
import { getArch } from '../arch';
import { buildMachine } from '../machine/builder';
import type { Machine } from '../machine/machine';
import { archFor, checkActors, gupCall, kernOptions } from '../run/replay';
import type { Scenario } from '../scenarios/types';
import type { RaceRun, RaceScenario } from '../scenarios/races';
import type { GupResult, Step } from '../trace/types';
import { getVersion, type VersionModel } from '../versions';
import { Fiber, guardedGup, KernCtx, releasePages, type G, type GupCall, type Kern, type VersionOptions } from '../versions/kern';
import type { StepSink } from '../trace/buffer';
import { HashSink, hashStep, hashStr, mix } from '../trace/hash';
import { DigestSet } from './digests';
import { checkBalance, checkBalanceOnce, checkCowReuse, checkForkPin, checkPinnedStays, checkReturned, faultViolation, returnOf, type InvariantId, type Returned, type Violation } from './invariants';
import { Script } from '../actors/script';
import { SourceCaller } from '../interp/caller';
import { isSource } from '../interp/source-version';

interface ActorRun {
  name: string;
  k: KernCtx;
  /** its thread: a script (actors/script.ts), the caller of a file's own code (interp/caller.ts), or a Fiber running a model's generators */
  gen: { resume(): boolean };
  done: boolean;
  /** its steps (a bounded world keeps them in its trace only, and none here) */
  steps: Step[];
  /** a bounded world: the actor's last step and how many it has made */
  last?: Step;
  made?: number;
  /** rolling hash of this actor's own steps */
  h: number;
  /** what its last step waits for, if it waits (it may run again only once this holds) */
  until?: () => boolean;
}

export interface World {
  m: Machine;
  version: VersionModel;
  actors: ActorRun[];
  returned: Returned[];
  /** every step of every actor, in execution order */
  trace: Step[];
  /** its trace is not whole: rebuilt, or the explorer's own (whose sinks only hash the steps; a counterexample is replayed in full) */
  partial?: boolean;
  /** a counterexample's replay keeps a bounded trace: its head and tail, the steps between only counted */
  bounded?: BoundedTrace;
}

/**
 * A trace kept within bounds: the first `head` steps and the last `tail`, the ones between only
 * counted. A 1 GiB walk of a file's own code makes millions of steps (a statement each, per
 * page): its counterexample must not hold them all (the language server has 320 MB).
 */
export class BoundedTrace {
  readonly head: Step[] = [];
  private readonly ring: Step[] = [];
  private at = 0;
  /** steps neither in the head nor in the tail */
  dropped = 0;
  constructor(
    private readonly headMax: number,
    private readonly tailMax: number,
  ) {}
  push(s: Step): void {
    if (this.head.length < this.headMax) this.head.push(s);
    else if (this.ring.length < this.tailMax) this.ring.push(s);
    else {
      this.ring[this.at] = s;
      this.at = (this.at + 1) % this.tailMax;
      this.dropped++;
    }
  }
  /** the steps kept, in order */
  steps(): Step[] {
    return [...this.head, ...this.ring.slice(this.at), ...this.ring.slice(0, this.at)];
  }
}

/** what a counterexample keeps of its steps: its first and its last (ExploreResult.elided counts the others) */
export const TRACE_HEAD = 50_000;
export const TRACE_TAIL = 50_000;

export interface ExploreResult {
  verdict: 'violation' | 'ok';
  invariant?: InvariantId;
  message?: string;
  /** the shortest interleaving that breaks the invariant, step by step */
  counterexample: Step[];
  /** which actor ran at each scheduling point (replay it with replaySchedule) */
  schedule: number[];
  actors: string[];
  states: number;
  interleavings: number;
  ms: number;
  bounds: { maxStates: number; maxSteps: number };
  /** every interleaving was explored to its end: neither bound cut anything */
  complete: boolean;
  /** which bound cut the search, where one did: the state budget, or the steps of one interleaving */
  cut?: 'states' | 'steps';
  /** the counterexample's steps left out between its first TRACE_HEAD and last TRACE_TAIL (a walk of millions) */
  elided?: { after: number; count: number };
  /**
   * The violation is another race's: a torn PAE read of a pmd (race-pae-torn-pmd) or a pte
   * (race-pae-torn-pte) met while exploring this one. Say what failed: the verdict names it.
   */
  by?: string;
}

/** The number in the whole walk of the counterexample's i-th kept step (past an elision, the steps left out count). */
export function stepNumber(r: Pick<ExploreResult, 'elided'>, i: number): number {
  return r.elided && i >= r.elided.after ? i + r.elided.count : i;
}

/** The counterexample as lines, one a step numbered in the whole walk, and where steps were left out, a line that says so. */
export function counterexampleLines(r: Pick<ExploreResult, 'counterexample' | 'elided'>, line: (s: Step, n: number) => string): string[] {
  const out: string[] = [];
  r.counterexample.forEach((s, i) => {
    if (r.elided && i === r.elided.after) out.push(`   … ${r.elided.count} steps left out (a counterexample keeps its first ${TRACE_HEAD} and its last ${TRACE_TAIL}) …`);
    out.push(line(s, stepNumber(r, i)));
  });
  return out;
}

/** The race a violation belongs to, where it is not the one explored: a torn PAE read of a pmd or a pte. */
export function tornBy(raceId: string, invariant: InvariantId | undefined, message: string | undefined): string | undefined {
  if (invariant !== 'torn-read' || !message) return undefined;
  const level = /^(\w+) entry /.exec(message)?.[1];
  const owner = level === 'pmd' ? 'race-pae-torn-pmd' : level === 'pte' ? 'race-pae-torn-pte' : undefined;
  return owner && owner !== raceId ? owner : undefined;
}

/** What a world is built from: a layout, the GUP call, the other actors (a race scenario is one; a built-in one with actors added, as the debugger launches it). */
export type WorldSpec = Pick<RaceScenario, 'layout' | 'call' | 'actors'> & Pick<Scenario, 'la57'>;

/** What every world of one scenario and run starts from: a built machine to copy, and the run's constants. */
interface Prepared {
  template: Machine;
  version: VersionModel;
  call: GupCall;
  opts: Required<VersionOptions>;
}

/**
 * The last few (scenario, run) pairs' templates, most recent first. Not a weak map on the
 * scenario: the built-in races live as long as the process, and a 1 GiB layout's template holds
 * its whole memmap (the language server has 320 MB).
 */
const prepared: { sc: WorldSpec; run: RaceRun; p: Prepared }[] = [];
const PREPARED_KEPT = 8;

function prepare(sc: WorldSpec, run: RaceRun): Prepared {
  // the same run whoever spells it: a caller that makes its run object afresh each time (the fronts do) still finds its template
  const at = prepared.findIndex((x) => x.sc === sc && sameRun(x.run, run));
  let p = at >= 0 ? prepared[at].p : undefined;
  // the run as last spelled: every rebuild of an exploration finds it by identity (sameRun's first test)
  if (at >= 0) prepared[at].run = run;
  if (at > 0) prepared.unshift(...prepared.splice(at, 1));
  if (!p) {
    const arch = getArch(run.arch, { la57: sc.la57 });
    const version = typeof run.version === 'string' ? getVersion(run.version) : run.version;
    checkActors(version, { id: (sc as RaceScenario).id ?? 'race', actors: sc.actors });
    const template = buildMachine(archFor(arch, version), version.era, { mappings: sc.layout, cpus: 1 + sc.actors.length });
    template.enableGhost();
    template.mem.enableDigest();
    p = { template, version, call: gupCall(arch, sc, version), opts: kernOptions(arch, version, run.options) };
    prepared.unshift({ sc, run, p });
    prepared.length = Math.min(prepared.length, PREPARED_KEPT);
  }
  return p;
}

function sameRun(a: RaceRun, b: RaceRun): boolean {
  return a === b || (a.arch === b.arch && a.version === b.version && JSON.stringify(a.options ?? {}) === JSON.stringify(b.options ?? {}));
}

/** The GUP caller of a version model: `repeat` calls, each noting what it returned (a module-level generator: a closure would cost V8 a new map per world). */
function* gupCaller(k: Kern, version: VersionModel, call: GupCall, repeat: number, returned: Returned[]): G<void> {
  for (let r = 0; r < repeat; r++) returned.push(returnOf(k, call, (yield guardedGup(k, version, call)) as GupResult));
}

/**
 * A world at its start. A lean one (the explorer's) hashes its steps instead of keeping them; a
 * bounded one keeps a BoundedTrace (a counterexample's replay).
 */
export function makeWorld(sc: WorldSpec, run: RaceRun, lean = false, bounded?: BoundedTrace): World {
  const p = prepare(sc, run);
  return worldOn(sc, p, p.template.clone(), lean, bounded);
}

/**
 * A world on machine m: each thread a new one at its start, or (`kept`) a copy of one a state
 * kept, the GUP caller's with the calls it had returned (`returned`). A world that takes `kept`
 * over (`adopt`: m is its machine) runs the kept threads themselves, in their own contexts.
 */
function worldOn(sc: WorldSpec, p: Prepared, m: Machine, lean: boolean, bounded?: BoundedTrace, kept?: Frozen, adopt = false): World {
  const { version, call, opts } = p;
  const returned: Returned[] = kept?.returned ? (adopt ? kept.returned : kept.returned.slice()) : [];
  const sink = (): StepSink => (lean ? new HashSink() : []);
  const context = (i: number, actor: string): KernCtx => {
    const k = adopt ? kept!.ks[i] : undefined;
    if (!k) return new KernCtx(m, version.era, i, actor, opts, true, true, sink(), version.since);
    k.sink = sink();
    return k;
  };
  const thread = (i: number, k: KernCtx) => (adopt ? kept!.threads[i] : kept?.threads[i]?.copy(k, returned));
  const gk = context(0, 'gup');
  const repeat = sc.call.repeat ?? 1;
  const caller = thread(0, gk) ?? (isSource(version) ? new SourceCaller(gk, version, call, repeat, returned) : new Fiber(gk, gupCaller(gk, version, call, repeat, returned)));
  const actors: ActorRun[] = [actorRun('gup', gk, caller, lean)];
  for (let i = 0; i < sc.actors.length; i++) {
    const spec = sc.actors[i];
    const k = context(i + 1, spec.kind);
    actors.push(actorRun(spec.kind, k, thread(i + 1, k) ?? ACTORS[spec.kind](k, spec, version), lean));
  }
  if (bounded && !lean) {
    // each step goes straight into the bounded trace: the actor keeps only its last (what it waits for)
    for (const a of actors) {
      a.made = 0;
      a.k.sink = { push: (st: Step) => void (bounded.push(st), (a.last = st), a.made!++) };
    }
  }
  return { m, version, actors, returned, trace: [], partial: lean, bounded: bounded && !lean ? bounded : undefined };
}

/**
 * An actor's run with every field present from the start. An object that gains a field later
 * (until, at its first wait) moves to a map of its own, which can die with the last such object
 * between two explorations; V8 then deoptimises the code that had seen it ("weak objects" in
 * --trace-deopt), and the next explorations run slower until the JIT has caught up.
 */
function actorRun(name: string, k: KernCtx, gen: ActorRun['gen'], lean: boolean): ActorRun {
  return { name, k, gen, done: false, steps: lean ? [] : (k.sink as Step[]), last: undefined, made: undefined, h: 0, until: undefined };
}

/** The actor can take its next step: not finished, and not waiting on something that has not happened. */
const canRun = (a: ActorRun): boolean => !a.done && (!a.until || a.until());

export function enabled(w: World): number[] {
  const out: number[] = [];
  for (let i = 0; i < w.actors.length; i++) if (canRun(w.actors[i])) out.push(i);
  return out;
}

/** murmur3's finalizer: every input bit reaches every output bit (mix alone only carries bits upwards) */
function fmix(h: number): number {
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** Run one actor to its next scheduling point; returns a violation seen right after it. */
export function stepActor(w: World, i: number): Violation | undefined {
  const a = w.actors[i];
  const sink = a.k.sink;
  if (sink instanceof HashSink) {
    // an explorer's world: the sink hashed the steps as they were taken
    if (a.gen.resume()) a.done = true;
    a.until = sink.until;
    a.h = a.done ? mix(sink.h, 0xd0e) : sink.h;
    return faultViolation(w.m);
  }
  if (w.bounded) {
    const made = a.made!;
    if (a.gen.resume()) a.done = true;
    if (a.made! > made) a.until = a.last!.until;
    return faultViolation(w.m);
  }
  const before = a.steps.length;
  if (a.gen.resume()) a.done = true;
  if (a.steps.length > before) a.until = a.steps[a.steps.length - 1].until;
  for (let j = before; j < a.steps.length; j++) {
    const s = a.steps[j];
    w.trace.push(s);
    a.h = hashStep(a.h, s);
  }
  if (a.done) a.h = mix(a.h, 0xd0e);
  return faultViolation(w.m);
}

/** Every actor is done: check what was returned, then let the caller release and check the counts (`balanced`: each machine's count check kept, see checkBalanceOnce). */
export function finalCheck(w: World, balanced?: Map<string, Violation | undefined>): Violation | undefined {
  let prev: Returned | undefined;
  for (const r of w.returned) if (r.stopped) return r.stopped;
  for (const r of w.returned) {
    // the checks read the machine as it is now and the return: a repeat of the last return (a 1 GiB pin made nine times) is checked once
    if (!prev || !sameReturn(prev, r)) {
      const v = checkReturned(w.m, r) ?? checkForkPin(w.m, r) ?? checkPinnedStays(w.m, r) ?? checkCowReuse(w.m, r);
      if (v) return v;
    }
    prev = r;
  }
  const gk = w.actors[0].k;
  for (const r of w.returned) releasePages(gk, w.version, r.runs, r.call);
  return faultViolation(w.m) ?? (balanced ? checkBalanceOnce(w.m, balanced) : checkBalance(w.m));
}

function sameReturn(a: Returned, b: Returned): boolean {
  return a.call === b.call && a.segs.length === b.segs.length && a.segs.every((x, i) => x === b.segs[i]);
}

/** A 52-bit digest of a state: the machine (memmap, tables, CPUs, mm) and each actor's history. */
export function hashWorld(w: World): number {
  const m = w.m;
  const mem = m.mem;
  // the memmap and the tables by their digests, kept current as they are written (O(1), not O(frames))
  let h = mix(mix(mix(2166136261, mem.mapDigest), mem.tablesDigest), mem.frames);
  for (const c of m.cpus) h = mix(mix(h, c.irqsOff ? 1 : 0), c.enables);
  h = mix(mix(h, m.mm.write_protect_seq), m.mm.has_pinned ? 1 : 0);
  let g = m.mmapWriter === null ? 0x9e37 : hashStr(0x9e37, m.mmapWriter);
  for (const a of w.actors) g = mix(mix(g, a.h), a.done ? 1 : 2);
  for (const r of w.returned) g = mix(g, r.h);
  // every bit of both parts depends on the machine and the actors: states with the same machine
  // differ in their actors' histories, and 20 bits alone for those collided (a state lost)
  const hi = fmix(mix(h, g));
  const lo = fmix(mix(mix(g, 0x27d4eb2f), h ^ 0x165667b1));
  return hi * 0x100000 + (lo & 0xfffff);
}

/** Rebuild the world a schedule leads to; stops at the first violation. A bounded trace keeps the steps' head and tail only (its `w.trace` is set at the end). */
export function replaySchedule(sc: WorldSpec, run: RaceRun, schedule: number[], bounded?: BoundedTrace): { w: World; v?: Violation } {
  const w = makeWorld(sc, run, false, bounded);
  const done = (r: { w: World; v?: Violation }) => {
    if (bounded) w.trace = bounded.steps();
    return r;
  };
  for (const i of schedule) {
    if (w.actors[i].done) throw new Error(`schedule runs actor ${i} after it finished`);
    const v = stepActor(w, i);
    if (v) return done({ w, v });
  }
  if (w.actors.every((a) => a.done)) return done({ w, v: finalCheck(w) });
  return done({ w });
}

export interface ExploreOptions {
  maxStates?: number;
  maxSteps?: number;
}

/**
 * A schedule as a chain of turns (a state shares its parent's prefix instead of copying it). A
 * turn that starts a run of the GUP caller's turns keeps the machine as it was before it: a
 * rebuild replays that run on a copy of it. Each turn links to the last turn of a replayed
 * thread at or before it, and such a turn to its run's first, so a rebuild visits the runs it
 * replays, not every turn of the schedule.
 */
export interface Turn {
  prev: Turn | null;
  actor: number;
  len: number;
  before: Machine | undefined;
  /** the last turn of a replayed thread at or before this one */
  lastRun: Turn | null;
  /** a replayed thread's turn: the first of its run (this turn, or the one its run began with) */
  runStart: Turn | null;
}

export function scheduleOf(t: Turn | null): number[] {
  const out: number[] = new Array(t ? t.len : 0);
  for (; t; t = t.prev) out[t.len - 1] = t.actor;
  return out;
}

/** A thread a state can keep a copy of (a script always; the caller of a file's own code where no kernel generator runs under it). */
type Copyable = Script | SourceCaller;
const copyable = (g: ActorRun['gen']): g is Copyable => g instanceof Script || g instanceof SourceCaller;

/**
 * A thread that is replayed to be had again (a model's GUP caller: generators), not copied: its
 * runs of turns keep the machine they start from. A file's caller is copied: where it cannot be
 * (a call's end after its walk stopped, a kernel generator), the state is rebuilt from the root.
 */
const replayed = (a: ActorRun): boolean => !(a.gen instanceof Script || a.gen instanceof SourceCaller);

/**
 * Actor i's turn after `prev`, taken in world w: the turn, keeping the machine beforehand when it
 * starts a run of a replayed thread's turns (`at` is that machine, when the caller holds one).
 */
export function takeTurn(w: World, prev: Turn | null, i: number, at?: Machine): Turn {
  // `before` is set here or never: every turn has the one shape (see actorRun)
  const again = replayed(w.actors[i]);
  const before = again && prev?.actor !== i ? (at ?? w.m.clone()) : undefined;
  const t: Turn = { prev, actor: i, len: (prev?.len ?? 0) + 1, before, lastRun: prev?.lastRun ?? null, runStart: null };
  if (again) {
    t.lastRun = t;
    t.runStart = before ? t : prev!.runStart;
  }
  return t;
}

/**
 * What a state keeps to be had again: its machine, a copy of each thread that can be copied
 * (undefined: replayed) and the context it waits in, what the GUP caller's calls returned when
 * it was copied, each actor's history hash, done and waiting.
 */
export interface Frozen {
  m: Machine;
  threads: (Copyable | undefined)[];
  ks: (KernCtx | undefined)[];
  returned: Returned[] | undefined;
  hs: number[];
  done: boolean[];
  waiting: boolean[];
}

export function freeze(w: World): Frozen {
  const m = w.m.clone();
  const returned = w.returned.slice();
  // each copy waits in a context of its own (the live one goes on); a caller that cannot be copied (a kernel generator under it) is replayed
  const ks: (KernCtx | undefined)[] = [];
  const threads: (Copyable | undefined)[] = [];
  for (const a of w.actors) {
    const g = a.gen;
    const k = copyable(g) ? (a.k as KernCtx).parked(m) : undefined;
    const c = k && (g as Copyable).copy(k, returned);
    ks.push(c ? k : undefined);
    threads.push(c || undefined);
  }
  return {
    m,
    threads,
    ks,
    returned: threads[0] ? returned : undefined,
    hs: w.actors.map((a) => a.h),
    done: w.actors.map((a) => a.done),
    waiting: w.actors.map((a) => a.until !== undefined),
  };
}

/**
 * The world of a state the explorer reached (`turn` its schedule, `f` what it kept), as a
 * replay of its schedule would make it, without the trace. The machine and the scripts are
 * copies, or (`adopt`: the state's last child) what was kept itself, which nothing uses after;
 * a replayed thread runs again quietly, each run of its turns on a copy of the machine that run
 * started from (its writes there go nowhere: the machine copied has them), then goes on on the
 * world's. The prefix is known to be free of violations. A lean world goes on hashing its steps
 * in its sinks (the explorer's own); otherwise it records them from here on.
 */
export function rebuild(sc: WorldSpec, run: RaceRun, turn: Turn | null, f: Frozen, lean = false, adopt = false): World {
  const p = prepare(sc, run);
  // a file's caller that could not be copied (the end of a call whose walk stopped) kept no machines to be replayed on
  if (!f.threads[0] && isSource(p.version)) return fromRoot(sc, run, turn, lean);
  const m = adopt ? f.m : f.m.clone();
  const w = worldOn(sc, p, m, true, undefined, f, adopt);
  const again = (j: number) => f.threads[j] === undefined;
  // the runs of the replayed threads' turns, last first: [first turn, last turn] of each
  const runs: Turn[] = [];
  for (let t = turn?.lastRun ?? null; t; t = t.runStart!.prev?.lastRun ?? null) runs.push(t.runStart!, t);
  w.actors.forEach((a, j) => {
    if (again(j)) (a.k.sink as HashSink).off = a.k.quiet = true;
  });
  // a run of consecutive turns is one resume that passes the scheduling points between them
  for (let r = runs.length - 2; r >= 0; r -= 2) {
    const first = runs[r];
    const a = w.actors[first.actor];
    if (!again(first.actor)) throw new Error(`rebuilding a schedule: ${a.name} was copied, yet turn ${first.len - 1} is to replay it`);
    if (!first.before) throw new Error(`rebuilding a schedule: turn ${first.len - 1} of ${a.name} kept no machine`);
    a.k.m = first.before.clone();
    a.k.m.mem.pauseDigests();
    a.k.skip = runs[r + 1].len - first.len;
    if (a.gen.resume()) a.done = true;
    else if (a.k.skip !== 0) throw new Error(`rebuilding a schedule: ${a.name} stopped early`);
  }
  w.actors.forEach((a, j) => {
    const sink = a.k.sink as HashSink;
    a.h = sink.h = f.hs[j];
    if (again(j)) {
      a.k.m = m;
      a.until = sink.until;
      sink.off = a.k.quiet = false;
    } else {
      const s = a.gen as Copyable;
      a.done = f.done[j];
      if (f.waiting[j]) a.until = () => s.ready();
    }
    if (!lean) a.k.sink = a.steps;
  });
  w.partial = true;
  return w;
}

/** The world a schedule leads to, every thread run again from the start (a file's caller that could not be copied there). */
function fromRoot(sc: WorldSpec, run: RaceRun, turn: Turn | null, lean: boolean): World {
  const w = makeWorld(sc, run, true);
  for (const i of scheduleOf(turn)) stepActor(w, i);
  if (!lean) for (const a of w.actors) a.k.sink = a.steps;
  return w;
}

/** A state waiting its turn: its schedule and the world that schedule led to, untouched until then (its first child takes it over, the others rebuild from what is kept of it then). */
interface Item {
  turn: Turn | null;
  w: World;
}

/** The one actor that can move, or -1 when none or several can. */
function onlyEnabled(w: World): number {
  let only = -1;
  for (let i = 0; i < w.actors.length; i++) {
    if (!canRun(w.actors[i])) continue;
    if (only !== -1) return -1;
    only = i;
  }
  return only;
}

export function explore(sc: RaceScenario, run: RaceRun, opts: ExploreOptions = {}): ExploreResult {
  const t0 = Date.now();
  const bounds = { maxStates: opts.maxStates ?? sc.bounds.maxStates, maxSteps: opts.maxSteps ?? sc.bounds.maxSteps };
  const names = sc.actors.reduce((n, a) => [...n, a.kind], ['gup']);
  const seen = new DigestSet();
  const ends = new DigestSet();
  const balanced = new Map<string, Violation | undefined>();
  const root = makeWorld(sc, run, true);
  // breadth-first: work items by schedule length, shortest first
  const buckets = new Map<number, Item[]>([[0, [{ turn: null, w: root }]]]);
  let states = 0;
  let interleavings = 0;
  let cut: ExploreResult['cut'];
  /** `w` is the world the schedule led to, when it holds the whole trace (else it is replayed) */
  const found = (turn: Turn | null, v: Violation, w?: World): ExploreResult => {
    const schedule = scheduleOf(turn);
    const kept = new BoundedTrace(TRACE_HEAD, TRACE_TAIL);
    const full = w && !w.partial ? w : replaySchedule(sc, run, schedule, kept).w;
    const by = tornBy(sc.id, v.invariant, v.message);
    const elided = full.bounded?.dropped ? { after: TRACE_HEAD, count: full.bounded.dropped } : undefined;
    return {
      verdict: 'violation', invariant: v.invariant, message: v.message, counterexample: full.trace.map(stripUntil),
      schedule, actors: names, states, interleavings, ms: Date.now() - t0, bounds, complete: false, ...(by && { by }), ...(elided && { elided }),
    };
  };
  for (let len = 0; buckets.size > 0 && len <= bounds.maxSteps; len++) {
    const items = buckets.get(len);
    if (!items) continue;
    buckets.delete(len);
    for (const item of items) {
      let live: World | undefined = item.w;
      const en = enabled(live);
      if (en.length === 0) {
        const stuck = live.actors.filter((a) => !a.done).map((a) => a.name);
        if (stuck.length) return found(item.turn, { invariant: 'deadlock', message: `every unfinished actor waits: ${stuck.join(', ')}` }, live);
        continue;
      }
      // kept now, not when the state was queued: a queued state holds one world, not two (the queue is what a collection copies)
      const kept = en.length > 1 ? freeze(live) : undefined;
      // the turns that start from the kept machine itself (Turn.before)
      const lent: Turn[] = [];
      for (let n = 0; n < en.length; n++) {
        const i = en[n];
        if (states >= bounds.maxStates) {
          cut = 'states';
          break;
        }
        // the first child takes the parent's world over; the last takes what was kept over (a turn that
        // starts from the kept machine gets a copy of it first); the others rebuild from a copy
        const adopt = n > 0 && n === en.length - 1;
        if (adopt && lent.length) {
          // one copy serves them all: a rebuild only copies a turn's machine, never writes it
          const copy = kept!.m.clone();
          for (const t of lent) t.before = copy;
        }
        const w = live ?? rebuild(sc, run, item.turn, kept!, true, adopt);
        live = undefined;
        // the state's kept machine is the one this turn starts from
        let turn = takeTurn(w, item.turn, i, adopt ? undefined : kept?.m);
        if (kept && turn.before === kept.m) lent.push(turn);
        states++;
        let v = stepActor(w, i);
        // a chain where only one actor can move is followed in place: no choice, nothing to replay
        let only = onlyEnabled(w);
        while (!v && only !== -1 && turn.len < bounds.maxSteps && states < bounds.maxStates) {
          turn = takeTurn(w, turn, only);
          states++;
          v = stepActor(w, only);
          only = onlyEnabled(w);
        }
        if (v) return found(turn, v, w);
        if (w.actors.every((a) => a.done)) {
          interleavings++;
          // an end state met before (the same machine, histories and returns) was checked then
          if (!ends.add(hashWorld(w))) continue;
          const fv = finalCheck(w, balanced);
          if (fv) return found(turn, fv, w);
          continue;
        }
        if (turn.len >= bounds.maxSteps || states >= bounds.maxStates) {
          cut = states >= bounds.maxStates ? 'states' : (cut ?? 'steps');
          continue;
        }
        const h = hashWorld(w);
        if (!seen.add(h)) continue;
        const list = buckets.get(turn.len) ?? [];
        list.push({ turn, w });
        buckets.set(turn.len, list);
      }
    }
  }
  return { verdict: 'ok', counterexample: [], schedule: [], actors: names, states, interleavings, ms: Date.now() - t0, bounds, complete: !cut, ...(cut && { cut }) };
}

function stripUntil(s: Step): Step {
  if (!s.until) return s;
  const { until: _u, ...rest } = s;
  return rest;
}
