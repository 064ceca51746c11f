/**
 * Calls: to the file's own functions (a frame of their own), to kernel built-ins (pure, or a
 * scheduling point, or a generator such as the slow path), to the user's stubs, and assertions,
 * which never stop a run.
 * Layer: pure emulator.
 */
import { common, INT, VOID } from '../ctypes';
import { stubLabel, stubResult } from '../kapi/stubs';
import { SLOW_PATH } from '../kapi/slow';
import { report } from '../kapi/range';
import { NEEDS_GEN, specType } from '../kapi/types';
import { type Frame, type Thread, Unsupported } from '../runtime';
import { type CNode, field, line, named, ONCE, SPECIAL, STATIC_KEY, type X } from './env';
import { FB } from './builder';
import { constX, conv, fromJs } from './values';
import { typeFromText } from './types';
import { addressOf, expr, identifier, place, unknownName, valueStub } from './expr';

/**
 * Whether evaluating the expression can change anything: it calls, assigns or increments. One
 * that cannot is not evaluated as an argument of a stub or a call taken as doing nothing: its
 * value goes nowhere (`count_vm_event(AN_ENUM_OF_A_HEADER)`, `this_cpu_inc(a_vendor_counter)`).
 */
function hasEffect(n: CNode): boolean {
  if (n.type === 'call_expression' || n.type === 'assignment_expression' || n.type === 'update_expression') return true;
  return named(n).some(hasEffect);
}

/** The arguments of a call whose callee ignores their values: only those with effects, evaluated in order. */
function effectArgs(b: FB, list: CNode[]): X['ev'][] {
  return args(b, list.filter(hasEffect)).map((x) => x.ev);
}

function args(b: FB, list: CNode[]): X[] {
  const out: X[] = [];
  for (let i = 0; i < list.length; i++) {
    if (b.suspends(list[i])) for (let j = 0; j < out.length; j++) out[j] = b.spill(out[j]);
    out.push(expr(b, list[i]));
  }
  return out;
}

/** WARN_ON*, VM_WARN_ON*, VM_BUG_ON*, BUG_ON and their _PAGE/_FOLIO/_MM forms, WARN and WARN_ONCE */
const ASSERTION = /^(?:VM_)?(?:BUG|WARN)(?:_ON)?(?:_ONCE)?(?:_PAGE|_FOLIO|_MM|_VMA)?$/;

/**
 * An assertion never stops a run: its condition is evaluated (and reported when it fires) where
 * every name in it is known; a condition naming something unknown, or a construct the compiler
 * does not know, is taken as holding (false), and the trace notes that it was not evaluated.
 */
function assertion(b: FB, name: string, cond: CNode, l: number): X {
  const cp = b.checkpoint();
  const hits = b.env.unknownHits;
  const known = new Map(b.env.unknown);
  let x: X | undefined;
  let why = '';
  try {
    x = expr(b, cond);
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    why = e.what;
  }
  if (x && b.env.unknownHits === hits) {
    const ev = x.ev;
    return { t: INT, ev: (t, f) => report(t, name, ev(t, f)) };
  }
  // what only this condition named is not a gap of the file's code
  for (const k of [...b.env.unknown.keys()]) if (!known.has(k)) {
    why ||= k;
    b.env.unknown.delete(k);
  }
  b.rollback(cp);
  const note = `${name} at line ${l}: condition not evaluated (${why || 'it names something unknown'}); taken as holding`;
  return { t: INT, ev: (t) => {
    t.note(t.top, 'note', { note });
    return 0;
  } };
}

/**
 * A call made for its effect (its value unused) to a name the file does not define, the kernel
 * API census does not know and no stub names: a vendor's own primitive (a reader count held over
 * the walk, an accounting hook). It is taken as doing nothing the emulator models, the run goes
 * on, and both the trace and the list of stubs say so; `--stub NAME=...` says otherwise.
 * Undefined when the call is anything else (the ordinary call path decides).
 */
export function assumedNoop(b: FB, n: CNode): X | undefined {
  const fnode = field(n, 'function');
  if (fnode?.type !== 'identifier') return undefined;
  const name = fnode.text;
  if (ONCE.has(name) || SPECIAL.has(name) || ASSERTION.test(name) || b.env.cfg.stubs[name] !== undefined) return undefined;
  if (b.env.sigs.has(name) || b.env.builtin(name)) return undefined;
  const l = line(n);
  b.env.stubsUsed.add(`${stubLabel(name, 'noop')} (assumed: unknown, its value unused)`);
  if (!b.env.assumed.has(name)) b.env.assumed.set(name, l);
  // arguments are still evaluated for their effects, where they compile
  const cp = b.checkpoint();
  let evs: X['ev'][] = [];
  try {
    evs = effectArgs(b, named(field(n, 'arguments')!));
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    b.rollback(cp);
  }
  const note = `${name}() at line ${l} is no kernel function the interpreter knows and its value is unused: taken as doing nothing (--stub ${name}=... to say what it does)`;
  return { t: VOID, ev: (t, f) => {
    for (const e of evs) e(t, f);
    t.note(t.top, 'note', { note });
  } };
}

/**
 * static_branch_likely/unlikely(&key), static_key_enabled/true/false(&key): the key's state (each
 * is true while the key is enabled, whatever its name hints). A key the file defines starts as it
 * is defined, and nothing a walk does flips one; a key of another file is the user's to say
 * (`--stub key=0|1`), else the run stops on it.
 */
function staticKey(b: FB, arg: CNode, l: number): X {
  const key = /^&?\s*\(?\s*([A-Za-z_]\w*)/.exec(arg.text)?.[1];
  if (!key) throw new Unsupported(`a static key given as ${arg.text}`, l);
  const stubbed = valueStub(b, key);
  if (stubbed) return stubbed;
  const on = b.env.staticKeys.get(key);
  if (on !== undefined) return constX(INT, on ? 1 : 0);
  return { t: INT, ev: unknownName(b, `static key ${key}`, l) };
}

/** A store of a value into a place, converted to the place's type (WRITE_ONCE, smp_store_release). */
function storeTo(b: FB, to: CNode, value: CNode): X {
  const p = place(b, to);
  const v = expr(b, value);
  const c = conv(v.t, p.t);
  const ve = v.ev;
  const set = p.set;
  return { t: VOID, ev: (t, f) => set(t, f, c(ve(t, f))) };
}

export function call(b: FB, n: CNode): X {
  const l = line(n);
  const fnode = field(n, 'function')!;
  const argNodes = named(field(n, 'arguments')!);
  if (fnode.type !== 'identifier') throw new Unsupported(`a call through ${fnode.text}`, l);
  const name = fnode.text;
  // forms whose arguments are places or types
  if (ONCE.has(name)) return expr(b, argNodes[0]);
  if (name === 'WRITE_ONCE') return storeTo(b, argNodes[0], argNodes[1]);
  if (name === 'IS_ENABLED') return constX(INT, b.env.cfg.defined.get(argNodes[0]?.text ?? '') === '1' ? 1 : 0);
  // an acquire load and a release store of a place, as READ_ONCE and WRITE_ONCE (one CPU's view: the ordering is the model's)
  if ((name === 'smp_load_acquire' && argNodes.length === 1) || (name === 'smp_store_release' && argNodes.length === 2)) {
    const at = argNodes[0];
    const target = at.type === 'pointer_expression' && at.children[0]?.text === '&' ? field(at, 'argument')! : undefined;
    if (!target) throw new Unsupported(`${name}(${at.text}) (only of &place)`, l);
    return name === 'smp_load_acquire' ? expr(b, target) : storeTo(b, target, argNodes[1]);
  }
  if (name === 'ARRAY_SIZE' && argNodes.length === 1) {
    const len = b.lookup(argNodes[0].text.trim())?.length;
    if (len === undefined) throw new Unsupported(`ARRAY_SIZE(${argNodes[0].text}) (only of a local array)`, l);
    return constX(INT, len);
  }
  if (name === 'min' || name === 'max' || name === 'min_t' || name === 'max_t') {
    const typed = name.endsWith('_t');
    const forced = typed ? typeFromText(b.env, argNodes[0]?.text ?? '') : undefined;
    if (typed && !forced) throw new Unsupported(`${name} with type ${argNodes[0]?.text}`, l);
    const [x, y] = args(b, argNodes.slice(typed ? 1 : 0));
    const t = forced ?? common(x.t, y.t);
    const cx = conv(x.t, t);
    const cy = conv(y.t, t);
    const xe = x.ev;
    const ye = y.ev;
    const lt = name.startsWith('min');
    return { t, ev: (tt, f) => { const a = cx(xe(tt, f)); const c = cy(ye(tt, f)); return lt ? (a < c ? a : c) : a > c ? a : c; } };
  }
  if (ASSERTION.test(name) && argNodes.length) return assertion(b, name, argNodes[0], l);
  if (STATIC_KEY.has(name) && argNodes.length === 1) return staticKey(b, argNodes[0], l);
  const stub = b.env.cfg.stubs[name];
  if (stub !== undefined) {
    // the user's word for a name the census cannot know: arguments still evaluated, for their effects
    b.env.stubsUsed.add(stubLabel(name, stub));
    const evs = effectArgs(b, argNodes);
    const v = stubResult(stub);
    return { t: stub === 'noop' ? VOID : INT, ev: (t, f) => { for (const e of evs) e(t, f); return v; } };
  }
  const sig = SLOW_PATH.has(name) ? undefined : b.env.sigs.get(name);
  if (sig) {
    b.calls.add(name);
    if (sig.params.length !== argNodes.length) throw new Unsupported(`call to ${name}() with ${argNodes.length} arguments (it takes ${sig.params.length})`, l);
    const xs = args(b, argNodes);
    const convs = xs.map((x, i) => conv(x.t, sig.params[i].t));
    const evs = xs.map((x) => x.ev);
    const tmp = b.slot();
    const env = b.env;
    const enter = (t: Thread, a: unknown[]) => {
      const callee = env.fns.get(name);
      if (!callee) throw env.whyBroken(name, l);
      t.call(callee, a, tmp, l);
    };
    b.op((t, f) => {
      const a = new Array(evs.length);
      for (let i = 0; i < evs.length; i++) a[i] = convs[i](evs[i](t, f));
      enter(t, a);
    }, `${b.k(enter)}(t, [${xs.map((x, i) => b.cv(x.t, sig.params[i].t, b.js(x))).join(', ')}])`, true);
    return { t: sig.ret, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` };
  }
  const bi = b.env.builtin(name);
  if (!bi) {
    const fail = unknownName(b, `call to ${name}()`, l);
    return { t: INT, ev: fail };
  }
  const rt = specType(bi.ret, b.env.w);
  if (bi.kind === 'const') return identifier(b, fnode);
  const lv = new Set(bi.lvalueArgs ?? []);
  const xs: X[] = [];
  for (let i = 0; i < argNodes.length; i++) {
    if (b.suspends(argNodes[i])) for (let j = 0; j < xs.length; j++) xs[j] = b.spill(xs[j]);
    const a = argNodes[i];
    const already = a.type === 'pointer_expression' && a.children[0]?.text === '&';
    xs.push(lv.has(i) && !already ? addressOf(b, a) : expr(b, a));
  }
  const evs = xs.map((x) => x.ev);
  const back = fromJs(rt);
  // pure and sched built-ins read their arguments at once and keep none: one array per call site
  const shared = new Array(evs.length);
  const sh = b.k(shared);
  const argJs = xs.length ? `(${xs.map((x, i) => `${sh}[${i}] = ${b.js(x)}`).join(', ')}, ${sh})` : sh;
  const result = (v: unknown) => (v === true ? 1 : v === false ? 0 : back(v));
  const argv =
    bi.kind === 'gen'
      ? (t: Thread, f: Frame) => {
          const a = new Array(evs.length);
          for (let i = 0; i < evs.length; i++) a[i] = evs[i](t, f);
          return a;
        }
      : evs.length === 1
        ? (t: Thread, f: Frame) => {
            shared[0] = evs[0](t, f);
            return shared;
          }
        : (t: Thread, f: Frame) => {
            for (let i = 0; i < evs.length; i++) shared[i] = evs[i](t, f);
            return shared;
          };
  // a built-in's own errors are given their line by the run loop (source-version.ts)
  if (bi.kind === 'pure') {
    const run = bi.run!;
    const js = `${b.k(result)}(${b.k(run)}(t, ${argJs}))`;
    if (evs.length === 1) {
      const e0 = evs[0];
      return { t: rt, ev: (t, f) => { shared[0] = e0(t, f); return result(run(t, shared)); }, js };
    }
    if (evs.length === 2) {
      const e0 = evs[0];
      const e1 = evs[1];
      return { t: rt, ev: (t, f) => { shared[0] = e0(t, f); shared[1] = e1(t, f); return result(run(t, shared)); }, js };
    }
    return { t: rt, ev: (t, f) => back(run(t, argv(t, f))), js: `${b.k(back)}(${b.k(run)}(t, ${argJs}))` };
  }
  const tmp = b.slot();
  if (bi.kind === 'sched') {
    const run = bi.run!;
    b.op((t, f) => {
      f.v[tmp] = back(run(t, argv(t, f)));
    }, `V[${tmp}] = ${b.k(back)}(${b.k(run)}(t, ${argJs}))`);
  } else {
    const gen = bi.gen!;
    const quick = bi.quick;
    const start = (t: Thread, f: Frame, a: unknown[]) => {
      if (quick) {
        const v = quick(t, a);
        if (v !== NEEDS_GEN) {
          f.v[tmp] = back(v);
          return;
        }
      }
      t.startSub(gen(t, a), tmp, back);
    };
    b.op((t, f) => start(t, f, argv(t, f)), `${b.k(start)}(t, f, [${xs.map((x) => b.js(x)).join(', ')}])`);
  }
  return { t: rt, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` };
}
