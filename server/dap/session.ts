/**
 * The `gup` debug adapter: translates the Debug Adapter Protocol into calls on GupRuntime and
 * its events back into DAP events (the mock-debug split). Errors end the launch with a
 * message; nothing here is allowed to hang or crash the adapter.
 */
import { basename, normalize } from 'node:path';
import {
  Handles, InitializedEvent, LoggingDebugSession, OutputEvent, Response, Scope, Source, StackFrame, StoppedEvent, TerminatedEvent, Thread,
} from '@vscode/debugadapter';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { getArch } from '../../emulator/arch';
import { hex, toBig } from '../../emulator/arch/bits';
import { F, PG } from '../../emulator/machine/memory';
import { addrHex, flagNames } from '../../emulator/trace/describe';
import { analyze, archesFor, type Analysis } from '../analysis/analyze';
import { GupRuntime, LaunchError, type LaunchConfig, type StopReason } from './runtime';
import { fileVersion } from '../analysis/source';
import { parseStubs, type Stubs } from '../../emulator/interp/kapi/stubs';
import { Unsupported } from '../../emulator/interp/runtime';
import { replay } from '../../emulator/run/replay';
import { getScenario } from '../../emulator/scenarios';
import { raceArchFor, RACES } from '../../emulator/scenarios/races';
import type { SourceVersion } from '../../emulator/interp/source-version';
import { ArrPtr, LocalRef, TablePtr, UNSET, type Thread as InterpThread } from '../../emulator/interp/runtime';
import { typeName, type CType } from '../../emulator/interp/ctypes';
import type { ArchId, ArchModel, Era } from '../../emulator/arch/types';

/** How the adapter reads the program: node's fs standalone, VS Code's workspace.fs inline. */
export interface FileAccessor {
  readFile(path: string): Promise<string>;
}

interface LaunchArgs extends DebugProtocol.LaunchRequestArguments, LaunchConfig {}

type VarRef = { kind: 'locals' | 'entry' | 'page' | 'machine' | 'cpus'; thread: number; frame: number };

/** Two paths name the same file (case and separators aside, as a client may spell them). */
function samePath(a: string, b: string): boolean {
  const norm = (p: string) => normalize(p).replace(/\\/g, '/').replace(/\/+$/, '');
  return norm(a) === norm(b) || (process.platform !== 'linux' && norm(a).toLowerCase() === norm(b).toLowerCase());
}

/**
 * Whether the program's own code runs the launch's scenario alone to its end: the reason it does
 * not (a construct or name it cannot run), or undefined. A race's actors may still lead it elsewhere.
 */
function dryRun(source: SourceVersion, arch: string, scenario: string | undefined): string | undefined {
  const id = scenario ?? 'pages-4k-16';
  const race = RACES.find((r) => r.id === id);
  try {
    replay({ arch, version: source, scenario: race ? { id: race.id, title: race.title, description: race.story, layout: race.layout, call: race.call } : getScenario(id) });
    return undefined;
  } catch (e) {
    return e instanceof Unsupported ? e.message : undefined;
  }
}

export class GupDebugSession extends LoggingDebugSession {
  private rt: GupRuntime | undefined;
  private program = '';
  private refs = new Handles<VarRef>();
  private frames = new Handles<{ thread: number; index: number }>();
  private pendingBps: { lines: number[]; resolve: (r: { line: number; verified: boolean; message?: string }[]) => void }[] = [];

  /** the session ended (terminated sent): later run requests get an error, not another 'terminated' */
  private ended = false;

  /**
   * Every request gets one answer with a message a user can read: missing arguments become {},
   * and an error thrown by a handler is answered with its message (the library would send its
   * JavaScript stack).
   */
  protected override dispatchRequest(request: DebugProtocol.Request): void {
    if (request.arguments === undefined || request.arguments === null) request.arguments = {};
    const running = ['continue', 'next', 'stepIn', 'stepOut', 'stepBack', 'reverseContinue', 'pause'];
    if (this.ended && running.includes(request.command)) {
      this.sendErrorResponse(new Response(request), { id: 1106, format: 'the debug session has ended: start it again to step', showUser: true });
      return;
    }
    try {
      super.dispatchRequest(request);
    } catch (e) {
      this.sendErrorResponse(new Response(request), { id: 1105, format: `${request.command}: ${(e as Error).message}` });
    }
  }

  /** The library answers a handler's exception with its JavaScript stack: the message is what a user can use. */
  protected override sendErrorResponse(response: DebugProtocol.Response, codeOrMessage: number | DebugProtocol.Message, format?: string, variables?: unknown, dest?: never): void {
    super.sendErrorResponse(response, codeOrMessage as number, format === '{_stack}' ? '{_exception}' : format, variables, dest);
  }

  override sendEvent(event: DebugProtocol.Event): void {
    if (event.event === 'terminated') {
      if (this.ended) return; // one 'terminated' per session
      this.ended = true;
    }
    super.sendEvent(event);
  }

  constructor(private readonly files: FileAccessor) {
    super();
    this.setDebuggerLinesStartAt1(true);
    this.setDebuggerColumnsStartAt1(true);
  }

  protected override initializeRequest(response: DebugProtocol.InitializeResponse): void {
    response.body = {
      ...response.body,
      supportsConfigurationDoneRequest: true,
      supportsStepBack: true,
      supportsFunctionBreakpoints: true,
      supportsRestartRequest: false,
      supportsTerminateRequest: true,
    };
    this.sendResponse(response);
    this.sendEvent(new InitializedEvent());
  }

  protected override async launchRequest(response: DebugProtocol.LaunchResponse, launchArgs: DebugProtocol.LaunchRequestArguments | undefined): Promise<void> {
    const args = (launchArgs ?? {}) as LaunchArgs;
    try {
      if (!args.program) throw new LaunchError("launch.json needs 'program': the gup.c file to debug");
      let text: string;
      try {
        text = await this.files.readFile(args.program);
      } catch (e) {
        throw new LaunchError(`cannot read program ${args.program}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      // the program's own code, where it compiles for this arch with an entry point
      let source: SourceVersion | undefined;
      let stubs: Stubs = {};
      try {
        stubs = parseStubs(args.stubs && typeof args.stubs === 'object' ? args.stubs : {});
      } catch (e) {
        throw new LaunchError(`launch.json 'stubs': ${(e as Error).message}`);
      }
      const analysis = await analyze(text, args.version && args.version !== 'auto' ? args.version : undefined, undefined, { path: args.program, stubs }).catch((e: Error) => {
        throw new LaunchError(e.message);
      });
      args.arch = this.archFor(args, analysis);
      if (args.engine !== 'model' && analysis.version) {
        const arch = args.arch;
        const fv = await fileVersion(text, { arch, version: analysis.version.id, path: args.program, stubs }).catch(() => undefined);
        source = fv?.source;
        const why = !source ? fv?.unsupported?.message : dryRun(source, arch, args.scenario);
        if (why) {
          if (args.engine === 'source') throw new LaunchError(`the program's own code cannot run this scenario on ${arch}: ${why}`);
          this.sendEvent(new OutputEvent(`gup-lens: the program's own code cannot run here (${why}); stepping the model ${analysis.version.id} instead\n`, 'console'));
          source = undefined;
        } else if (source?.stubsUsed.length) this.sendEvent(new OutputEvent(`gup-lens: stubs used: ${source.stubsUsed.join(', ')}\n`, 'console'));
      }
      const rt = new GupRuntime(analysis);
      rt.start(args, source);
      this.rt = rt;
      this.program = args.program;
      rt.on('stop', (reason: StopReason, thread: number) => this.onStop(reason, thread));
      for (const p of this.pendingBps.splice(0)) p.resolve([]); // each answers for its own source (setBreakPointsRequest)
      this.sendEvent(new OutputEvent(`gup-lens: ${rt.source ? 'your code' : `model ${rt.run.version}`} on ${rt.run.arch}, scenario ${rt.scenarioId}; threads: ${rt.threads.map((t) => t.name).join(', ')}\n`));
      this.sendResponse(response);
      if (args.stopOnEntry ?? true) this.sendEvent(stopped('entry', 1));
      else rt.continue(1);
    } catch (e) {
      this.sendErrorResponse(response, { id: 1001, format: (e as Error).message, showUser: true });
      // breakpoints sent before the launch are answered too
      for (const p of this.pendingBps.splice(0)) p.resolve(p.lines.map((line) => ({ line, verified: false, message: 'the launch failed' })));
      this.sendEvent(new TerminatedEvent());
    }
  }

  /**
   * The arch to step on: the launch's own; else the user's default (`defaultArch`, from the
   * client) where the program is built for it, else the first the program is for that the
   * scenario meets. An arch the program's code is not for (arch/x86/mm/gup.c on arm64) is
   * refused with the reason, unless the launch asks for the version model.
   */
  private archFor(args: LaunchArgs, analysis: Analysis): string {
    if (typeof args.arch === 'string') getArch(args.arch); // an unknown name is said as such, with the known ones
    const own = archesFor(analysis);
    const preferred = typeof args.defaultArch === 'string' ? args.defaultArch : 'x86-64';
    const race = RACES.find((r) => r.id === args.scenario);
    const meets = (a: string) => own.arches.includes(a as ArchId) && (!race?.arches || race.arches.includes(a as ArchId));
    const arch = typeof args.arch === 'string' ? args.arch : meets(preferred) ? preferred : ((race ? raceArchFor(race, own.arches) : own.arches[0]) ?? preferred);
    if (args.engine !== 'model' && analysis.version && !own.arches.includes(arch as ArchId)) {
      const why = own.note ?? `its code is for ${own.arches.join(', ')}`;
      throw new LaunchError(`${basename(args.program)} does not run on ${arch}: ${why}. Set "arch" to one it is for, or "engine": "model" to step the version model`);
    }
    if (args.engine !== 'model' && analysis.version && race?.arches && !race.arches.includes(arch as ArchId)) {
      throw new LaunchError(`${race.id} is a race of ${race.arches.join(' and ')}, and ${basename(args.program)} runs on ${own.arches.join(', ')}: it does not meet it there`);
    }
    return arch;
  }

  private onStop(reason: StopReason, thread: number): void {
    if (reason === 'end') {
      this.sendEvent(new OutputEvent('gup-lens: every actor has finished\n'));
      this.sendEvent(new TerminatedEvent());
      return;
    }
    if (reason === 'exception') {
      // a limit of the tool (code it cannot run) is said as such, never as a kernel outcome
      const limit = this.rt?.limit;
      this.sendEvent(new OutputEvent(limit ? `gup-lens: the run cannot go on here (a limit of gup-lens, not a kernel outcome) — ${this.rt?.violation}\n` : `gup-lens: invariant violated — ${this.rt?.violation}\n`, 'stderr'));
      const e = stopped('exception', thread, this.rt?.violation);
      e.body.description = limit ? 'gup-lens cannot run this code' : 'Invariant violated';
      this.sendEvent(e);
      return;
    }
    this.sendEvent(stopped(reason, thread));
  }

  /**
   * VS Code sends one request per source file, with all of that file's breakpoints (an empty list
   * when the last one there is removed or disabled): a request for one file never touches another
   * file's. Only the program's own lines can be hit; another file's breakpoints are kept apart,
   * unverified, with the reason.
   */
  protected override setBreakPointsRequest(response: DebugProtocol.SetBreakpointsResponse, args: DebugProtocol.SetBreakpointsArguments): void {
    const lines = (args.breakpoints ?? []).map((b) => this.convertClientLineToDebugger(b.line) - 1);
    const path = args.source?.path ? this.convertClientPathToDebugger(args.source.path) : undefined;
    const answer = (rs: { line: number; verified: boolean; message?: string }[]) => {
      response.body = { breakpoints: rs.map((r) => ({ verified: r.verified, line: this.convertDebuggerLineToClient(r.line + 1), message: r.message })) };
      this.sendResponse(response);
    };
    const apply = () => {
      if (path && !samePath(path, this.program)) return lines.map((line) => ({ line, verified: false, message: `gup-lens steps ${basename(this.program)} only; this breakpoint is in ${basename(path)}` }));
      return this.rt!.setBreakpoints(lines);
    };
    if (this.rt) answer(apply());
    else this.pendingBps.push({ lines, resolve: (rs) => answer(this.rt ? apply() : rs) }); // before launch: answered once the program is known
  }

  protected override setFunctionBreakPointsRequest(response: DebugProtocol.SetFunctionBreakpointsResponse, args: DebugProtocol.SetFunctionBreakpointsArguments): void {
    const rs = this.rt?.setFunctionBreakpoints((args.breakpoints ?? []).map((b) => b.name)) ?? (args.breakpoints ?? []).map((b) => ({ name: b.name, verified: false, message: 'not launched yet' }));
    response.body = { breakpoints: rs.map((r) => ({ verified: r.verified, message: r.message })) };
    this.sendResponse(response);
  }

  protected override configurationDoneRequest(response: DebugProtocol.ConfigurationDoneResponse): void {
    this.sendResponse(response);
  }

  protected override threadsRequest(response: DebugProtocol.ThreadsResponse): void {
    response.body = { threads: (this.rt?.threads ?? [{ id: 1, name: 'cpu0: GUP caller' }]).map((t) => new Thread(t.id, t.name)) };
    this.sendResponse(response);
  }

  protected override stackTraceRequest(response: DebugProtocol.StackTraceResponse, args: DebugProtocol.StackTraceArguments): void {
    const rt = this.rt;
    const frames = rt ? rt.stack((args.threadId ?? 1)) : [];
    const src = new Source(basename(this.program), this.convertDebuggerPathToClient(this.program));
    response.body = {
      stackFrames: frames.map((f, i) => {
        const id = this.frames.create({ thread: (args.threadId ?? 1), index: i });
        const sf = new StackFrame(id, f.name, f.line !== undefined ? src : undefined, f.line !== undefined ? this.convertDebuggerLineToClient(f.line + 1) : 0, 1);
        if (f.line === undefined) (sf as DebugProtocol.StackFrame).presentationHint = 'label';
        return sf;
      }),
      totalFrames: frames.length,
    };
    this.sendResponse(response);
  }

  protected override scopesRequest(response: DebugProtocol.ScopesResponse, args: DebugProtocol.ScopesArguments): void {
    const f = this.frames.get(args.frameId) ?? { thread: 1, index: 0 };
    const mk = (name: string, kind: VarRef['kind'], expensive = false) => new Scope(name, this.refs.create({ kind, thread: f.thread, frame: f.index }), expensive);
    response.body = { scopes: [mk('Locals', 'locals'), mk('Entry', 'entry'), mk('struct page', 'page'), mk('Machine', 'machine')] };
    this.sendResponse(response);
  }

  protected override variablesRequest(response: DebugProtocol.VariablesResponse, args: DebugProtocol.VariablesArguments): void {
    const ref = this.refs.get(args.variablesReference);
    response.body = { variables: ref && this.rt ? this.variables(ref) : [] };
    this.sendResponse(response);
  }

  private variables(ref: VarRef): DebugProtocol.Variable[] {
    const rt = this.rt!;
    const w = rt.world;
    const m = w.m;
    const v = (name: string, value: string | number | boolean, variablesReference = 0): DebugProtocol.Variable => ({ name, value: String(value), variablesReference });
    const actor = w.actors[ref.thread - 1];
    const frames = rt.stack(ref.thread);
    const frame = frames[ref.frame];
    // the thread's steps inside this frame (from its call on)
    const steps = actor ? actor.steps.slice(Math.max(frame?.callIndex ?? 0, 0)) : [];
    const last = <K extends keyof (typeof steps)[number]>(k: K) => [...steps].reverse().find((s) => s[k] !== undefined);
    switch (ref.kind) {
      case 'locals': {
        const c = this.cLocals(ref);
        if (c) return c;
        const out = [];
        if (frame?.addr !== undefined) out.push(v('addr', addrHex(last('addr')?.addr ?? frame.addr)), v('end', addrHex(frame.end!)));
        const nr = last('nr')?.nr;
        if (nr !== undefined) out.push(v('nr', nr));
        out.push(v('write', rt.spec.call.write), v('flags', `${rt.spec.call.pin ? 'FOLL_PIN' : 'FOLL_GET'}${rt.spec.call.write ? '|FOLL_WRITE' : ''}${rt.spec.call.longterm ? '|FOLL_LONGTERM' : ''}`));
        const refs = last('ref');
        if (refs?.ref !== undefined) out.push(v('refs', refs.ref));
        return out;
      }
      case 'entry': {
        const s = [...steps].reverse().find((x) => x.level && x.lo !== undefined && x.hi !== undefined);
        if (!s) return [v('entry', 'no entry read yet in this frame')];
        const raw = toBig({ lo: s.lo!, hi: s.hi! });
        const d = m.arch.decode(s.level!, raw, getEra(rt));
        return [
          v('level', d.level),
          v('raw', hex(raw)),
          v('kind', d.kind),
          v('pfn', addrHex(d.pfn)),
          v('phys', d.phys),
          v('gup sees', flagNames(d).join('|')),
          ...Object.entries(d.fields).map(([k, x]) => v(k, x)),
        ];
      }
      case 'page': {
        const s = [...steps].reverse().find((x) => x.pfn !== undefined) ?? [...(actor?.steps ?? [])].reverse().find((x) => x.pfn !== undefined);
        if (!s || !m.mem.valid(s.pfn!)) return [v('page', 'no page touched yet')];
        const p = m.mem.info(s.pfn!);
        return [
          v('pfn', addrHex(p.pfn)),
          v('_refcount', p.refcount),
          v('pincount', p.pincount),
          // the kernel keeps mapcount - 1 (a page mapped once reads 0, unmapped -1)
          v('_mapcount', `${p.mapcount - 1} (mapped ${p.mapcount}×)`),
          v('flags', p.flags.join('|') || '0'),
          v('head', addrHex(p.head)),
          v('order', p.order),
        ];
      }
      case 'machine':
        return [
          v('cpus', `${m.cpus.length} CPUs`, this.refs.create({ ...ref, kind: 'cpus' })),
          v('mm->write_protect_seq', m.mm.write_protect_seq),
          v('mm->has_pinned', m.mm.has_pinned),
          v('mmap_lock (write)', m.mmapWriter ?? 'free'),
          v('free frames', Array.from({ length: m.mem.frames }, (_, i) => m.mem.at(F.flags, i) & PG.free).filter(Boolean).length),
          v('violation', rt.violation ?? 'none'),
        ];
      case 'cpus':
        return m.cpus.map((c) => v(`cpu${c.id}`, `${c.irqsOff ? 'interrupts OFF' : 'interrupts on'}, pending IPIs ${c.pendingIpis}`));
    }
  }

  /** The C locals of a frame of the program's own code (the interpreter's frame), formatted for the arch. */
  private cLocals(ref: VarRef): DebugProtocol.Variable[] | undefined {
    const rt = this.rt!;
    const actor = rt.world.actors[ref.thread - 1];
    const t = actor?.k.interp as InterpThread | undefined;
    if (!rt.source || !t || t.done) return undefined;
    const f = t.stack[t.stack.length - 1 - ref.frame];
    if (!f) return undefined;
    const m = rt.world.m;
    const era = getEra(rt);
    return f.fn.locals.map((l) => ({ name: l.name, value: showC(f.v[l.slot], l.type, m.arch, era), type: typeName(l.type), variablesReference: 0 }));
  }

  protected override continueRequest(response: DebugProtocol.ContinueResponse, args: DebugProtocol.ContinueArguments): void {
    response.body = { allThreadsContinued: true };
    this.sendResponse(response);
    this.rt?.continue((args.threadId ?? 1));
  }

  protected override nextRequest(response: DebugProtocol.NextResponse, args: DebugProtocol.NextArguments): void {
    this.sendResponse(response);
    this.rt?.step((args.threadId ?? 1), 'over');
  }

  protected override stepInRequest(response: DebugProtocol.StepInResponse, args: DebugProtocol.StepInArguments): void {
    this.sendResponse(response);
    this.rt?.step((args.threadId ?? 1), 'in');
  }

  protected override stepOutRequest(response: DebugProtocol.StepOutResponse, args: DebugProtocol.StepOutArguments): void {
    this.sendResponse(response);
    this.rt?.step((args.threadId ?? 1), 'out');
  }

  protected override stepBackRequest(response: DebugProtocol.StepBackResponse, args: DebugProtocol.StepBackArguments): void {
    this.sendResponse(response);
    this.rt?.stepBack((args.threadId ?? 1));
  }

  protected override reverseContinueRequest(response: DebugProtocol.ReverseContinueResponse, args: DebugProtocol.ReverseContinueArguments): void {
    this.sendResponse(response);
    this.rt?.reverseContinue((args.threadId ?? 1));
  }

  protected override pauseRequest(response: DebugProtocol.PauseResponse): void {
    this.sendResponse(response);
    this.rt?.pause();
  }

  /** Custom request `exploreRaces`: run the explorer and replay its counterexample from the start. */
  protected override customRequest(command: string, response: DebugProtocol.Response): void {
    if (command === 'gupTrace' && this.rt) {
      // the trace view follows the current stop: the world's steps so far, drawn
      try {
        response.body = this.rt.picture();
        this.sendResponse(response);
      } catch (e) {
        this.sendErrorResponse(response, { id: 1004, format: (e as Error).message });
      }
      return;
    }
    if (command !== 'exploreRaces' || !this.rt) {
      this.sendErrorResponse(response, { id: 1002, format: `unknown request ${command}` });
      return;
    }
    try {
      const r = this.rt.exploreRaces();
      response.body = r;
      this.sendResponse(response);
      this.sendEvent(new OutputEvent(r.verdict === 'violation' ? `gup-lens: counterexample of ${r.steps} steps loaded: step or continue to replay it\n` : 'gup-lens: no violation within bounds\n'));
      if (r.verdict === 'violation') this.sendEvent(stopped('entry', 1));
    } catch (e) {
      this.sendErrorResponse(response, { id: 1003, format: (e as Error).message });
    }
  }

  protected override terminateRequest(response: DebugProtocol.TerminateResponse): void {
    this.sendResponse(response);
    this.sendEvent(new TerminatedEvent());
  }
}

/** A C value as the debugger shows it: entries decoded, pointers as what they point at. */
function showC(v: unknown, t: CType, arch: ArchModel, era: Era): string {
  // a declaration the walk has not reached yet holds nothing; one without a value, UNSET
  if (v === UNSET || (v === undefined && t.k !== 'struct')) return 'not set yet';
  if (v === undefined) return '?';
  if (t.k === 'ent' && v && typeof v === 'object' && 'lo' in v) {
    const e = v as { lo: number; hi: number };
    const raw = toBig(e);
    try {
      const d = arch.decode(arch.levels.some((l) => l.level === t.level) ? t.level : arch.levels[0].level, raw, era);
      return `${hex(raw)} ${flagNames(d).join('|')} pfn=${addrHex(d.pfn)}`;
    } catch {
      return hex(raw);
    }
  }
  if (t.k === 'ptr') {
    if (v === null || v === 0) return 'NULL';
    if (typeof v === 'number') return `page ${addrHex(v)}`;
    if (v instanceof TablePtr) return `&${v.level} table ${addrHex(v.table)}[${v.idx}]`;
    if (v instanceof ArrPtr) return `pages + ${v.off}`;
    if (v instanceof LocalRef) return `&${v.name}${v.past ? ` + ${v.past}` : ''}`;
    return String((v as { kind?: string }).kind ?? 'pointer');
  }
  if (typeof v === 'bigint') return v > 0xffffn ? '0x' + v.toString(16) : String(v);
  if (typeof v === 'number' && /long/.test(t.k === 'int' ? t.name : '') && v > 0xffff) return '0x' + v.toString(16);
  return String(v);
}

function getEra(rt: GupRuntime) {
  return rt.world.version.era;
}

/**
 * A stop of one thread is a stop of all: an actor not chosen does not move, so every CPU can be
 * inspected and stepped (without allThreadsStopped a client shows the others running, their
 * step buttons off).
 */
function stopped(reason: string, thread: number, text?: string): DebugProtocol.StoppedEvent {
  const e = new StoppedEvent(reason, thread, text) as DebugProtocol.StoppedEvent;
  e.body.allThreadsStopped = true;
  return e;
}
