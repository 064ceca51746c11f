/**
 * The debug runtime: a world (machine + one generator per actor, as the explorer builds it)
 * stepped by hand, shown on the user's own source lines through the shared mapping. It knows
 * nothing of DAP (the mock-debug split: session.ts translates). Time travel is a replay: the
 * runtime keeps the schedule (which actor ran at each step) and rebuilds the world from it, so
 * stepping back lands in exactly the state the machine had.
 */
import { EventEmitter } from 'node:events';
import { getArch } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { ACTORS, type ActorKind, type ActorSpec } from '../../emulator/actors';
import { enabled, explore, finalCheck, replaySchedule, stepActor, type World, type WorldSpec } from '../../emulator/explore/explore';
import { INVARIANTS } from '../../emulator/explore/invariants';
import { checkApplicable } from '../../emulator/run/replay';
import { getScenario, SCENARIO_IDS } from '../../emulator/scenarios';
import { raceRun, RACES, type NamedRun, type RaceRun } from '../../emulator/scenarios/races';
import type { SourceVersion } from '../../emulator/interp/source-version';
import type { Step } from '../../emulator/trace/types';
import { getVersion } from '../../emulator/versions';
import type { Analysis } from '../analysis/analyze';
import { mapSteps } from '../analysis/mapping';
import { raceDiagram } from '../../emulator/trace/diagram';
import { traceSvg } from '../pictures/trace-svg';

export interface LaunchConfig {
  program: string;
  arch?: string;
  /** the user's default arch (the client's gupLens.defaultArch): used where the launch names none and the program is built for it */
  defaultArch?: string;
  version?: string;
  scenario?: string;
  /** extra concurrent actors (for a replay scenario), or the race scenario's own */
  actors?: string[];
  stopOnEntry?: boolean;
  /** whose code to step: the program's own (default where it compiles) or the version model's */
  engine?: 'auto' | 'source' | 'model';
  /** what names the census does not know do (the gupLens.stubs setting, filled in by the client) */
  stubs?: Record<string, string>;
}

export interface Frame {
  name: string;
  fn: string;
  line?: number;
  addr?: number;
  end?: number;
  /** index in the thread's own steps of the frame's call step (-1: the thread's root) */
  callIndex: number;
}

export type StopReason = 'entry' | 'step' | 'breakpoint' | 'function breakpoint' | 'exception' | 'pause' | 'end';

export class LaunchError extends Error {}

const ACTOR_KINDS = Object.keys(ACTORS) as ActorKind[];

/**
 * A session keeps every step (its call stacks, stepping back): it stops at this many. A walk of a
 * file's own code over 1 GiB, nine times (race-pin-overflow-1g), makes tens of millions, which
 * would take the adapter's memory; the explorer runs such a walk through.
 */
export const MAX_SESSION_STEPS = 1_000_000;

export class GupRuntime extends EventEmitter {
  world!: World;
  schedule: number[] = [];
  /** the counterexample being replayed: stepping follows it */
  script: number[] | undefined;
  spec!: WorldSpec;
  run!: NamedRun;
  /** what the worlds run: the program's own code (a SourceVersion stopping at every statement) or the model */
  exec!: RaceRun;
  /** the program's own code, when that is what runs */
  source: SourceVersion | undefined;
  scenarioId = '';
  violation: string | undefined;
  /** the last stop on 'exception' is a limit of the tool (code it cannot run), not a kernel outcome */
  limit = false;
  private lineBps = new Set<number>();
  private fnBps = new Set<string>();
  private paused = false;
  /** lines a step of this version maps to (breakpoints are verified against them) */
  mappable = new Set<number>();

  constructor(readonly analysis: Analysis) {
    super();
  }

  /** Validate and build; throws LaunchError with a message for the user. */
  start(cfg: LaunchConfig, source?: SourceVersion): void {
    const a = this.analysis;
    if (!a.gupFunctions.length || !a.version) throw new LaunchError(`${cfg.program} has no GUP-fast functions to debug`);
    let arch: ArchId;
    try {
      arch = getArch(cfg.arch ?? 'x86-64').id;
    } catch (e) {
      throw new LaunchError((e as Error).message);
    }
    const version = cfg.version && cfg.version !== 'auto' ? cfg.version : a.version.id;
    try {
      getVersion(version);
    } catch (e) {
      throw new LaunchError((e as Error).message);
    }
    const id = cfg.scenario ?? 'pages-4k-16';
    const race = RACES.find((r) => r.id === id);
    let spec: WorldSpec & { id: string; arches?: ArchId[] };
    if (race) {
      spec = race;
    } else {
      if (!SCENARIO_IDS.includes(id)) throw new LaunchError(`unknown scenario '${id}'; valid scenarios: ${[...SCENARIO_IDS, ...RACES.map((r) => r.id)].join(', ')}`);
      const s = getScenario(id);
      const actors: ActorSpec[] = (cfg.actors ?? []).map((k) => {
        if (!ACTOR_KINDS.includes(k as ActorKind)) throw new LaunchError(`unknown actor '${k}'; valid actors: ${ACTOR_KINDS.join(', ')}`);
        return { kind: k as ActorKind, offset: s.call.offset };
      });
      spec = { ...s, actors };
    }
    try {
      // the model the file is matched to must run on the arch (its rules fill in what the file does not say)
      const model = getVersion(version);
      if (!model.arches.includes(arch)) checkApplicable(getArch(arch), model, spec);
      // the era that meets the scenario is the code's that runs: the program's own (its markers), else the model's
      checkApplicable(getArch(arch), source && cfg.engine !== 'model' ? source : model, spec);
    } catch (e) {
      throw new LaunchError((e as Error).message);
    }
    this.spec = spec;
    // a race's own runs carry their switches (e.g. hpagePincount off before the 1 GiB fix)
    this.run = raceRun(race, arch, version);
    this.source = source && cfg.engine !== 'model' ? ({ ...source, everyStatement: true } as SourceVersion) : undefined;
    if (cfg.engine === 'source' && !this.source) throw new LaunchError(`${cfg.program}: its own code cannot run on ${arch}; launch with "engine": "model"`);
    this.exec = this.source ? { ...this.run, version: this.source } : this.run;
    this.scenarioId = id;
    try {
      this.rebuild([]);
    } catch (e) {
      throw new LaunchError(`scenario ${id} cannot run here: ${(e as Error).message}`);
    }
    this.dryRunActors(id);
    if (this.source) {
      // every statement of a compiled function can stop
      for (const fn of this.source.program.fns.values()) for (const l of fn.lines) this.mappable.add(l - 1);
      return;
    }
    // the lines any step can land on: from one whole run of the walker alone
    const solo = replaySchedule({ ...spec, actors: [] }, this.run, []).w;
    while (!solo.actors[0].done) stepActor(solo, 0);
    const m = mapSteps(a.file, solo.trace);
    m.places.forEach((p) => p.line !== undefined && this.mappable.add(p.line));
  }

  /**
   * Each extra actor alone, to its end, on a world of its own: one that needs what the scenario's
   * layout does not have (a pte table under a huge pmd) is refused here, not halfway through a step.
   */
  private dryRunActors(id: string): void {
    for (let i = 1; i < this.world.actors.length; i++) {
      const { w } = replaySchedule(this.spec, this.exec, []);
      try {
        for (let n = 0; n < 100_000 && !w.actors[i].done && enabled(w).includes(i); n++) stepActor(w, i);
      } catch (e) {
        throw new LaunchError(`actor ${w.actors[i].name} cannot run on scenario ${id}: ${(e as Error).message}`);
      }
    }
  }

  /** how many times the world was replayed from its start (time travel costs one or two) */
  rebuilds = 0;

  private rebuild(schedule: number[]): void {
    this.rebuilds++;
    const { w, v } = replaySchedule(this.spec, this.exec, schedule);
    this.world = w;
    this.schedule = schedule.slice();
    this.violation = v && `${INVARIANTS[v.invariant]}: ${v.message}`;
  }

  get threads(): { id: number; name: string }[] {
    return this.world.actors.map((a, i) => ({ id: i + 1, name: `cpu${a.k.cpu}: ${a.name === 'gup' ? 'GUP caller' : a.name}${a.done ? ' (done)' : ''}` }));
  }

  get done(): boolean {
    return this.world.actors.every((a) => a.done);
  }

  /** The step a thread executed last, and where it lands in the file. */
  current(thread: number): { step?: Step; line?: number } {
    const a = this.world.actors[thread - 1];
    const step = a?.steps[a.steps.length - 1];
    if (!step) return {};
    return { step, line: this.lineOf(step) };
  }

  lineOf(step: Step): number | undefined {
    if (step.line !== undefined) return step.line - 1; // the program's own code: the step's own line
    if (this.source && step.actor === 'gup') return undefined; // the slow path, modelled as one step
    return mapSteps(this.analysis.file, [step]).places[0].line;
  }

  /** The walk as a call stack, innermost first, each frame with its address range. */
  stack(thread: number): Frame[] {
    const a = this.world.actors[thread - 1];
    if (!a) return [];
    const frames: { fn: string; addr?: number; end?: number; line?: number; callIndex: number }[] = [];
    a.steps.forEach((s, i) => {
      if (s.event === 'call') {
        // the caller stands on the statement that calls this function
        // (the file's own code: the caller already stands on the calling statement)
        const caller = frames[frames.length - 1];
        if (caller && s.line === undefined) caller.line = this.lineOf({ ...s, fn: caller.fn, anchor: s.fn, event: 'note' }) ?? caller.line;
        frames.push({ fn: s.fn, addr: s.addr, end: s.end, callIndex: i, line: this.lineOf(s) });
      }
      else if (s.event === 'return') frames.pop();
      else {
        const line = this.lineOf(s);
        const top = frames[frames.length - 1];
        if (top && top.fn === s.fn && line !== undefined) top.line = line;
      }
    });
    const out: Frame[] = frames.reverse().map((f) => ({
      name: `${f.fn}${f.addr !== undefined && f.end !== undefined ? ` [0x${f.addr.toString(16)}-0x${f.end.toString(16)})` : ''}`,
      fn: f.fn,
      line: f.line,
      addr: f.addr,
      end: f.end,
      callIndex: f.callIndex,
    }));
    const cur = this.current(thread);
    if (cur.step && out.length && cur.step.fn !== out[0].fn) {
      // a leaf helper without a frame of its own (gup_get_pte's loads): show it on top
      out.unshift({ name: cur.step.fn, fn: cur.step.fn, line: cur.line, callIndex: a.steps.length - 1 });
    }
    if (!out.length && cur.step) out.push({ name: cur.step.fn, fn: cur.step.fn, line: cur.line, callIndex: -1 });
    // a thread that has not run yet still shows (a client lists a thread without frames as nothing to step)
    if (!out.length && !a.steps.length) out.push({ name: `${a.name === 'gup' ? 'get_user_pages_fast' : a.name}: not started`, fn: a.name, line: undefined, callIndex: -1 });
    return out;
  }

  setBreakpoints(lines: number[]): { line: number; verified: boolean; message?: string }[] {
    const at = lines.map((l) => (this.mappable.has(l) ? l : this.nextStatement(l)));
    this.lineBps = new Set(at.filter((l): l is number => l !== undefined));
    const why = this.source ? 'not a statement of a function the walk can run' : "no step of this version's replay runs this line";
    return lines.map((l, i) => (at[i] !== undefined ? { line: at[i]!, verified: true } : { line: l, verified: false, message: why }));
  }

  /** A breakpoint on a line with no statement of its own (a declaration without a value, a brace, a comment) inside a function of the file: its next statement, as a native debugger moves it. */
  private nextStatement(l: number): number | undefined {
    if (!this.source) return undefined;
    for (const fn of this.source.program.fns.values()) {
      if (l < fn.line - 1 || l > fn.endLine - 1) continue;
      const next = fn.lines.find((x) => x - 1 > l);
      return next === undefined ? undefined : next - 1;
    }
    return undefined;
  }

  setFunctionBreakpoints(names: string[]): { name: string; verified: boolean; message?: string }[] {
    const known = new Set(this.source ? this.source.program.fns.keys() : getVersion(this.run.version).functions);
    this.fnBps = new Set(names.filter((n) => known.has(n)));
    return names.map((n) => (known.has(n) ? { name: n, verified: true } : { name: n, verified: false, message: `${this.run.version} has no function ${n}` }));
  }

  /** Which actor runs next when `thread` asked: the script decides in a replayed counterexample. */
  private pick(thread: number): number | undefined {
    if (this.script) return this.script[this.schedule.length];
    const en = enabled(this.world);
    if (en.includes(thread - 1)) return thread - 1;
    return en[0];
  }

  /** One step of one actor; returns a stop reason when something must stop the run. */
  private stepOnce(thread: number): { reason?: StopReason; thread: number } {
    const i = this.pick(thread);
    if (i === undefined) return { reason: 'end', thread };
    this.schedule.push(i);
    let v;
    try {
      v = stepActor(this.world, i) ?? (this.done ? finalCheck(this.world) : undefined);
    } catch (e) {
      // a modelled path that cannot go on here: stop on it and say why (the session stays usable)
      this.schedule.pop();
      const who = this.world.actors[i].name;
      this.rebuild(this.schedule); // the thrown generator is spent: back to the state before the step
      this.violation = `${who} cannot go on: ${(e as Error).message}`;
      this.limit = true;
      return { reason: 'exception', thread: i + 1 };
    }
    const t = i + 1;
    if (v) {
      this.limit = false;
      this.violation = `${INVARIANTS[v.invariant]}: ${v.message}`;
      return { reason: 'exception', thread: t };
    }
    if (this.world.trace.length >= MAX_SESSION_STEPS && !this.done) {
      this.limit = true;
      this.violation = `the walk has made ${this.world.trace.length.toLocaleString('en')} steps and goes on: a debug session keeps every step (for its call stacks and stepping back) and stops at ${MAX_SESSION_STEPS.toLocaleString('en')}. The explorer (the Races lens, or \`gup-lens explore\`) runs ${this.scenarioId} to its end`;
      return { reason: 'exception', thread: t };
    }
    if (this.done) return { reason: 'end', thread: t };
    const { step, line } = this.current(t);
    if (step?.event === 'call' && this.fnBps.has(step.fn)) return { reason: 'function breakpoint', thread: t };
    if (line !== undefined && this.lineBps.has(line)) return { reason: 'breakpoint', thread: t };
    return { thread: t };
  }

  private depth(thread: number): number {
    return this.current(thread).step?.depth ?? 0;
  }

  /** next / stepIn / stepOut on a thread: stop at the first step that is shallow enough. */
  step(thread: number, kind: 'in' | 'over' | 'out'): void {
    // a thread that cannot run now (finished, or waiting) stays where it is: others do not run in its place
    if (!this.script && !enabled(this.world).includes(thread - 1)) return this.stop('step', thread);
    const d0 = this.depth(thread);
    // a thread that has not started: stepping over its first call would run it to the end
    if (!this.current(thread).step) kind = 'in';
    for (let n = 0; n < 100_000; n++) {
      const r = this.stepOnce(thread);
      if (r.reason && r.reason !== 'breakpoint' && r.reason !== 'function breakpoint') return this.stop(r.reason, r.thread);
      const d = this.depth(r.thread);
      const cur = this.current(r.thread);
      const onLine = cur.line !== undefined;
      if (r.thread !== thread && !this.script) continue;
      // a modelled actor (THP split, munmap, fork...) has no lines here: each of its steps is a stop
      if (this.world.actors[r.thread - 1].name !== 'gup') return this.stop(r.reason ?? 'step', r.thread);
      if (kind === 'in' && onLine) return this.stop('step', r.thread);
      if (kind === 'over' && onLine && d <= d0) return this.stop('step', r.thread);
      if (kind === 'out' && onLine && d < d0) return this.stop('step', r.thread);
      if (r.reason) return this.stop(r.reason, r.thread);
    }
    this.stop('step', thread);
  }

  /** Run until a breakpoint, a violation or the end; yields to the event loop so pause works. */
  continue(thread: number): void {
    this.paused = false;
    const chunk = () => {
      for (let n = 0; n < 2000; n++) {
        const r = this.stepOnce(thread);
        if (r.reason) return this.stop(r.reason, r.thread);
        if (this.paused) return this.stop('pause', r.thread);
      }
      setImmediate(chunk);
    };
    chunk();
  }

  pause(): void {
    this.paused = true;
  }

  stepBack(thread: number): void {
    if (!this.schedule.length) return this.stop('entry', thread);
    const prev = this.schedule.slice(0, -1);
    this.rebuild(prev);
    this.stop('step', (prev[prev.length - 1] ?? 0) + 1);
  }

  /**
   * Back to the previous breakpoint hit, or to the start: one pass forward from the start finds
   * the last hit before here, and one rebuild lands on it (two replays, not one per step back).
   */
  reverseContinue(thread: number): void {
    const all = this.schedule.slice();
    this.rebuild([]);
    let hit = 0;
    let hitThread = thread;
    for (let n = 1; n < all.length; n++) {
      const i = all[n - 1];
      this.schedule.push(i);
      if (stepActor(this.world, i)) break; // the violation is at the end of the schedule, not before it
      const t = i + 1;
      const { step, line } = this.current(t);
      if ((line !== undefined && this.lineBps.has(line)) || (step?.event === 'call' && this.fnBps.has(step.fn))) {
        hit = n;
        hitThread = t;
      }
    }
    this.rebuild(all.slice(0, hit));
    this.stop(hit ? 'breakpoint' : 'entry', hit ? hitThread : thread);
  }

  /** The world's trace so far as the trace view draws it (and as a text diagram when it is a race). */
  picture(): { title: string; svg: string; diagram?: string } {
    const actors = this.world.actors.map((a) => a.name);
    // the release's layout, as the machine was built with it
    const arch = this.world.m.arch;
    const era = (this.source ?? getVersion(this.run.version)).era;
    const steps = this.world.trace;
    const title = `${this.scenarioId} on ${this.source ? 'your code' : this.run.version} / ${arch.id}, step ${this.schedule.length}`;
    const svg = traceSvg({ title, arch, era, steps, actors, violation: this.violation, lineOf: (s) => this.lineOf(s) });
    return { title, svg, diagram: actors.length > 1 ? raceDiagram(steps, actors, { source: this.analysis.text.split(/\r\n|\r|\n/), violation: this.violation }) : undefined };
  }

  /** Run the explorer on this race scenario and load its counterexample, paused at the start. */
  exploreRaces(): { verdict: string; message?: string; steps: number } {
    const race = RACES.find((r) => r.id === this.scenarioId);
    if (!race) throw new LaunchError(`'${this.scenarioId}' is not a race scenario; launch one of ${RACES.map((r) => r.id).join(', ')}`);
    // the explorer interleaves at scheduling points only (not at every statement, as stepping does)
    const run: RaceRun = this.source ? { ...this.run, version: { ...this.source, everyStatement: false } as SourceVersion } : this.run;
    const r = explore(race, run);
    if (r.verdict === 'violation') {
      this.script = r.schedule;
      this.exec = run; // its schedule counts scheduling points, so the replay steps by them
      this.rebuild([]);
    }
    return { verdict: r.verdict, message: r.message, steps: r.schedule.length };
  }

  private stop(reason: StopReason, thread: number): void {
    this.emit('stop', reason, thread);
  }
}
