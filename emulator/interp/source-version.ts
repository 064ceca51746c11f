/**
 * A file's own GUP-fast code as a version model: preprocess it for an arch's configuration,
 * parse it (the caller hands in the parser: the emulator does no I/O), compile every function
 * once, and answer `gup(k, call)` by running the file's entry point on the machine. Replay,
 * the explorer, the debugger and every front take it like any hand-written model. What the
 * file does not say itself (how a THP tail's pin was counted in its era, what the caller does
 * to give pages back) comes from the model the file was matched to.
 * Layer: pure emulator.
 */
import { releaseNumber } from '../arch/release';
import { TableOverrun } from '../machine/machine';
import type { ArchModel } from '../arch/types';
import type { GupResult } from '../trace/types';
import { gupResult, NotApplicableError, UninitRead, unwindTo, WalkOverrun, type G, type GupCall, type Kern, type VersionModel } from '../versions/kern';
import { configFor, type InterpConfig } from './config';
import { codegenOn, compileProgram, fromJs, type CNode, type Program } from './compile';
import { FOLL, SLOW_PATH } from './kapi/slow';
import { hugeLevelsOf } from './kapi/pgtable';
import { codeNames, placeRelease, type Placement } from './era';
import { getPage, putPage } from '../versions/refs';
import type { Stubs } from './kapi/stubs';
import { preprocess, type Preprocessed } from './preprocess';
import { definedFunctions, pruneUnreachable } from './prune';
import { CallerPages } from './caller-pages';
import { keepProgram, keptProgram } from './program-cache';
import { ArrPtr, Thread, Unsupported, type CompiledFn, type Coverage } from './runtime';

/** What parses C: web-tree-sitter's parser, given by the caller (the tree is freed after compiling). */
export type ParseC = (text: string) => { rootNode: CNode; delete(): void };

export interface SourceOptions {
  /** shown in titles and errors */
  path?: string;
  /** CONFIG_* overrides: NAME -> y|n|number */
  config?: Record<string, string>;
  /** the function a GUP call enters (default: get_user_pages_fast, pin_user_pages_fast for a pin) */
  entry?: string;
  /** the user's stubs (kapi/stubs.ts) */
  stubs?: Stubs;
  /** object-like macros from the file's kernel tree headers that the file uses but does not define */
  headerMacros?: Record<string, string>;
  /** the release the file's kernel tree names (its top Makefile): it places the file within its code's range */
  treeRelease?: string;
}

export interface SourceVersion extends VersionModel {
  engine: 'source';
  program: Program;
  config: InterpConfig;
  pre: Preprocessed;
  /** the model the era's reference rules come from (also the oracle) */
  model: VersionModel;
  /** the entry function a call runs, or why there is none */
  entryFor(call: GupCall): CompiledFn;
  /** steps pause at every statement (a debugger), not only at scheduling points */
  everyStatement: boolean;
  /** where a coverage run's executed lines and decisions go (a copy of the version with it set) */
  cov?: Coverage;
  /** the releases the file's own markers place it in (era.ts) */
  placement?: Placement;
  /** the user's stubs the compiled code binds ("name()=value"), for every result to name */
  stubsUsed: string[];
}

const PIN_ENTRIES = ['pin_user_pages_fast'];
/** every entry point a call may run: what the compiler starts from */
const ENTRIES = ['get_user_pages_fast', '__get_user_pages_fast', 'get_user_pages_fast_only', 'pin_user_pages_fast', 'pin_user_pages_fast_only'];
const FAST_ONLY = ['get_user_pages_fast_only', '__get_user_pages_fast'];

/** The file as a version model for one arch. Throws Unsupported when the file cannot be compiled at all. */
export function sourceVersion(text: string, parse: ParseC, arch: ArchModel, model: VersionModel, opts: SourceOptions = {}): SourceVersion {
  const c = toCompile(text, arch, opts);
  const program = keptProgram(arch, c.key) ?? keepProgram(arch, c.key, compiled(parse(c.input), arch, c, opts));
  return build(program, c.config, c.pre, arch, model, opts, text);
}

/** What the C parser is given for a configured file: the bodies GUP-fast cannot reach blanked (prune.ts). */
export function parseInput(pre: Preprocessed, opts: Pick<SourceOptions, 'entry'> = {}): string {
  return pruneUnreachable(pre.text, roots(opts), SLOW_PATH);
}

/** The functions a GUP call may enter first: where reachability (pruning, coverage) starts. */
export const roots = (opts: Pick<SourceOptions, 'entry'> = {}) => [...(opts.entry ? [opts.entry] : []), ...ENTRIES];

/** The same, with a parser that answers later (the parse worker). */
export async function sourceVersionAsync(text: string, parse: (text: string) => Promise<ReturnType<ParseC>>, arch: ArchModel, model: VersionModel, opts: SourceOptions = {}): Promise<SourceVersion> {
  const c = toCompile(text, arch, opts);
  const program = keptProgram(arch, c.key) ?? keepProgram(arch, c.key, compiled(await parse(c.input), arch, c, opts));
  return build(program, c.config, c.pre, arch, model, opts, text);
}

/** A file configured for an arch: what its program is compiled from, and the key it is kept by (program-cache.ts). */
interface ToCompile {
  config: InterpConfig;
  pre: Preprocessed;
  /** the parse input */
  input: string;
  /** the slow path the file defines (pruned before parsing, so the compiler never saw it) */
  slowPath: string[];
  key: string;
}

function toCompile(text: string, arch: ArchModel, opts: SourceOptions): ToCompile {
  const { config, pre } = configure(text, arch, opts);
  const input = parseInput(pre, opts);
  const slowPath = definedFunctions(pre.text).filter((n) => SLOW_PATH.has(n));
  return { config, pre, input, slowPath, key: programKey(input, slowPath, opts) };
}

/**
 * What a compiled program is made from besides the arch (program-cache.ts): the configuration's
 * inputs, the roots, the slow path the file defines, whether it compiles to generated JS, and the
 * parse input without the blanks that end its lines and the text (a program knows its code by
 * line; a pruned body is blanks).
 */
function programKey(input: string, slowPath: string[], opts: SourceOptions): string {
  return JSON.stringify([opts.config ?? {}, opts.stubs ?? {}, opts.headerMacros ?? {}, roots(opts), slowPath, codegenOn()]) + '\n' + input.replace(/[ \t\r\f\v]+$/gm, '').trimEnd();
}

function compiled(tree: ReturnType<ParseC>, arch: ArchModel, c: ToCompile, opts: SourceOptions): Program {
  let program: Program;
  try {
    program = compileProgram(tree.rootNode, arch, c.config, roots(opts));
  } finally {
    tree.delete();
  }
  program.slowPath = c.slowPath;
  return program;
}

function configure(text: string, arch: ArchModel, opts: SourceOptions): { config: InterpConfig; pre: Preprocessed } {
  const config = configFor(arch, opts.config, opts.stubs, opts.headerMacros);
  try {
    return { config, pre: preprocess(text, config) };
  } catch (e) {
    const l = (e as { line?: number }).line ?? 0;
    throw new Unsupported((e as Error).message.replace(/ at line \d+$/, ''), l);
  }
}

function build(program: Program, config: InterpConfig, pre: Preprocessed, arch: ArchModel, model: VersionModel, opts: SourceOptions, text: string): SourceVersion {
  const names = program.defined;
  // the era (THP protocol, tail pins) is the file's own, from its markers; the model's only where it has none
  const placement = placeRelease(codeNames(text), text, opts.treeRelease);
  const tails = placement?.tails ?? model.thpTails;
  const pinEntry = names.some((n) => PIN_ENTRIES.includes(n));
  // 5.6 had FOLL_PIN and pin_user_pages_fast, but a pin was still a plain reference (the bias and
  // the exact huge-page pincounts came in 5.7): it is taken and given back as one
  const pinsAreRefs = !!placement && releaseNumber(placement.since) < releaseNumber('5.7');
  // the split's dummy IPI is the arch's pmdp_splitting_flush, not the walker's: arm and arm64 send
  // one from 3.18 until 4.5 dropped the splitting protocol, whatever later model the file matched
  const splitIpi = placement ? placement.era === 'thp-split' && releaseNumber(placement.since) >= releaseNumber('3.18') : model.defaults.splitIpi;
  // 5.1's try_get_page: the slow path takes no reference on a count gone negative
  const overflowGuard = placement ? placement.overflowGuard : releaseNumber(model.since) >= releaseNumber('5.1');
  const self: SourceVersion = {
    engine: 'source',
    id: model.id,
    title: `the file's own code${opts.path ? ` (${opts.path})` : ''}`,
    kernels: model.kernels,
    since: placement?.since ?? model.since,
    year: pinEntry ? Math.max(model.year, 2020) : model.year,
    pins: !!opts.entry || pinEntry,
    files: opts.path ? [opts.path] : model.files,
    functions: names,
    change: model.change,
    era: placement?.era ?? model.era,
    thpTails: tails,
    noThp: placement?.noThp,
    hugeLeaves: hugeLevelsOf(pre.text),
    placement,
    arches: [arch.id],
    options: model.options,
    // what the slow path and the arch do is the release's: the file's own markers say whether it breaks COW for reads
    defaults: { ...model.defaults, cowBreakReads: placement?.cowBreakReads ?? false, splitIpi },
    program,
    config,
    pre,
    model,
    everyStatement: false,
    stubsUsed: program.stubsUsed,
    entryFor(call) {
      const wanted = opts.entry ? [opts.entry] : call.pin ? (call.fastOnly ? ['pin_user_pages_fast_only'] : PIN_ENTRIES) : call.fastOnly ? FAST_ONLY : ['get_user_pages_fast'];
      for (const n of wanted) {
        const fn = program.fns.get(n);
        if (fn) return fn;
        const why = program.broken.get(n);
        if (why) throw why;
      }
      // a file from before FOLL_PIN (5.6) cannot pin: not a gap of the interpreter's
      if (!opts.entry && call.fastOnly && program.fns.has(call.pin ? 'pin_user_pages_fast' : 'get_user_pages_fast')) throw new NotApplicableError(`this file defines no ${wanted.join(' or ')}() (it has the entry point that falls back to the slow path)`);
      if (call.pin && !opts.entry && program.fns.has('get_user_pages_fast')) throw new NotApplicableError(`this file has no ${wanted.join(' or ')}() (FOLL_PIN pins came in 5.6): it can only take references`);
      throw new Unsupported(`entry point ${wanted.join(' or ')}() is not defined in this file for ${arch.id}`, 1);
    },
    // a method, not an arrow: a copy with everyStatement on (the debugger's) runs as itself
    gup(k, call) {
      return runGup(this as SourceVersion, k, call);
    },
    // a FOLL_GET reference goes back as the file's era counted it; a pin as the (5.7+) model unpins
    release: (k, pfn, call, n) => (call.pin && !pinsAreRefs ? model.release(k, pfn, call, n) : putPage(k, pfn, tails, n)),
    grab: (k, pfn, call) => {
      if (call.pin && !pinsAreRefs) return model.grab(k, pfn, call);
      if (overflowGuard && k.m.refcount(k.m.headOf(pfn)) < 0) return false;
      getPage(k, pfn, tails);
      return true;
    },
  };
  return self;
}

/** Bind the entry point's parameters by their names, across the releases' signatures. */
function entryArgs(fn: CompiledFn, call: GupCall, pages: ArrPtr): unknown[] {
  return fn.params.map((p) => {
    const c = fromJs(p.type);
    switch (p.name) {
      case 'start':
      case 'addr':
        return c(call.start);
      case 'nr_pages':
      case 'nr':
        return c(call.nrPages);
      case 'write':
        return c(call.write ? 1 : 0);
      case 'gup_flags':
      case 'flags':
        return c((call.write ? FOLL.FOLL_WRITE : 0) | (call.longterm ? FOLL.FOLL_LONGTERM : 0) | (call.honorNumaFault ? FOLL.FOLL_HONOR_NUMA_FAULT : 0));
      case 'pages':
        return pages;
      case 'vmas':
      case 'locked':
        return null;
      default:
        throw new Unsupported(`${fn.name}() parameter ${p.name}: the scenario's call does not say what to pass`, fn.line);
    }
  });
}

/** A call of the file's entry point under way: its thread, the caller's pages[], the frame depth it started at. */
export interface SourceRun {
  fn: CompiledFn;
  t: Thread;
  pages: ArrPtr;
  depth: number;
  call: GupCall;
}

/** The call's thread, not yet started (begin() makes the entry point's frame). */
export function sourceRun(v: SourceVersion, k: Kern, call: GupCall): SourceRun {
  const fn = v.entryFor(call);
  const t = new Thread(k, { call, model: v.model, self: v, foll: FOLL, levels: v.program.levels });
  t.every = v.everyStatement;
  t.cov = v.cov;
  k.interp = t;
  return { fn, t, pages: new ArrPtr(new CallerPages(), 0, call.nrPages), depth: k.frames.length, call };
}

/** Enter the entry point with the call's arguments. */
export function begin(r: SourceRun): void {
  r.t.call(r.fn, entryArgs(r.fn, r.call, r.pages), -1, r.fn.line);
}

/** What a throw from running the file's code means for the call: never a stack trace, its line named. */
export function runFailure(r: SourceRun, e: unknown): unknown {
  const { t, pages, call, fn } = r;
  if (e instanceof Unsupported || e instanceof WalkOverrun) return e;
  // a read of a local nothing set: the file's own undefined behaviour, with what pages[] holds by then
  if (e instanceof UninitRead) return new UninitRead(e.local, e.line, (pages.a as CallerPages).slice(call.nrPages));
  // a walk past its page table: a kernel outcome, as a store past pages[] is
  if (e instanceof TableOverrun) return new WalkOverrun((pages.a as CallerPages).slice(call.nrPages), call.nrPages, t.stack.length ? t.top.line : undefined, { level: e.level, idx: e.idx });
  const at = t.stack.length ? t.top : undefined;
  return new Unsupported(`${(e as Error).message}${at ? ` (in "${at.anchor}")` : ''}`, at ? at.line : fn.line);
}

/** The call's result, once its thread is done. */
export function runResult(r: SourceRun): GupResult {
  const { t, pages } = r;
  const ret = Number(t.value ?? 0);
  const nr = Math.max(ret, 0);
  const a = pages.a as CallerPages;
  const res = { nr, ret, slowPath: t.slowRan, fastNr: t.slowRan ? t.fastNr : nr };
  const runs = a.runsTo(nr);
  // entries the code never wrote read as nothing, as an array's holes
  return runs ? gupResult(res, runs) : { ...res, pages: a.slice(nr) };
}

function* runGup(v: SourceVersion, k: Kern, call: GupCall): G<GupResult> {
  const r = sourceRun(v, k, call);
  const t = r.t;
  try {
    begin(r);
    for (;;) {
      try {
        t.run();
      } catch (e) {
        throw runFailure(r, e);
      }
      if (t.done) break;
      if (t.sub) {
        const s = t.sub;
        t.sub = undefined;
        t.subReturn(yield s);
        continue;
      }
      yield;
    }
  } finally {
    unwindTo(k, r.depth);
  }
  return runResult(r);
}

export function isSource(v: VersionModel): v is SourceVersion {
  return (v as SourceVersion).engine === 'source';
}

/** Run one function of the file to its end with the given C values (tests, the debugger's evaluate): no slow path, no scheduling. */
export function callFunction(v: SourceVersion, k: Kern, name: string, args: unknown[]): unknown {
  const fn = v.program.fns.get(name);
  if (!fn) throw v.program.broken.get(name) ?? new Unsupported(`no function ${name}() in this file`, 0);
  const call: GupCall = { start: 0, nrPages: 0, write: false };
  const t = new Thread(k, { call, model: v.model, self: v, foll: FOLL, levels: v.program.levels });
  const depth = k.frames.length;
  try {
    t.call(fn, fn.params.map((p, i) => fromJs(p.type)(args[i])), -1, fn.line);
    while (!t.done) {
      t.run();
      if (t.sub) throw new Unsupported(`${name}() needs a kernel generator (a load in halves, the slow path): run it through gup()`, t.top.line);
    }
  } finally {
    k.frames.length = depth;
  }
  return t.value;
}
