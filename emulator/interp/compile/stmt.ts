/**
 * Statements: declarations, if/loops/switch/goto, return, and the marks that make each
 * executed statement a step on its own line.
 * Layer: pure emulator.
 */
import { N } from '../kapi/pgtable';
import type { CType } from '../ctypes';
import { ArrPtr, type Frame, type Op, type Thread, UNSET, Unsupported } from '../runtime';
import { type CNode, field, fixedValue, type Label, line, named, notABranch } from './env';
import { FB } from './builder';
import { baseType, declarator, typeOfDescriptor } from './types';
import { conv, scalarInit, zeroInit, zeroOf } from './values';
import { constValue, expr, typeOnly, unreadable } from './expr';
import { assumedNoop } from './calls';
import { affineLoop } from './affine';


/** A loop that only counts (affine.ts): an op before it that runs it whole where the explorer runs the code, and jumps past it. */
function countingLoop(b: FB, n: CNode, kind: 'for' | 'do', end: Label): void {
  const whole = affineLoop(b, n, kind);
  if (!whole) return;
  const next = b.ops.length + 1;
  b.push((t, f) => (whole(t, f) ? end.pc : next));
}

/** A loop's body, with the labels break and continue jump to. */
function loopBody(b: FB, body: CNode, brk: Label, cont: Label): void {
  b.loops.push({ brk, cont });
  statement(b, body);
  b.loops.pop();
}

/** An expression evaluated for its effect only. */
export function effect(b: FB, n: CNode): void {
  const x = expr(b, n);
  const e = x.ev;
  b.op((t, f) => void e(t, f), b.js(x));
}

/**
 * A local array (`unsigned long seen[4] = { 0 };`): made afresh, zeroed, each time its declaration
 * runs; its name is a pointer to its first element, as it decays in C. Reads and writes outside it
 * stop the run.
 */
function localArray(b: FB, d: CNode, n: CNode, name: string, t: CType, init: CNode | undefined, size: CNode | null): void {
  const l = line(n);
  if (t.k !== 'ptr') throw new Unsupported(`the array ${name}`, l);
  if (init && (init.type !== 'initializer_list' || !zeroInit(init))) throw new Unsupported(`an initializer with values for the array ${name} (only zeroing ones)`, l);
  let len = NaN;
  try {
    len = size ? Number(constValue(b, size)) : NaN;
  } catch {
    // a length that is not a constant: said below
  }
  if (!Number.isInteger(len) || len <= 0 || len > 1 << 16) throw new Unsupported(`the array ${name}[${size?.text ?? ''}]: its length is not a constant the interpreter knows (up to 65536)`, l);
  b.mark(d, n.text);
  const loc = b.local(name, t, l);
  loc.length = len;
  const s = loc.slot;
  const z = zeroOf(t.to);
  b.op((_t, f) => void (f.v[s] = new ArrPtr(new Array(len).fill(z), 0, len, name)));
}

/**
 * A function's static variable (`static bool warned;`): it lasts from call to call, kept with the
 * file's globals (one actor's calls share it), its initializer a constant. Its declaration runs
 * nothing.
 */
function staticLocal(b: FB, n: CNode, name: string, t: CType, init: CNode | undefined, size: CNode | null | undefined): void {
  const l = line(n);
  if (size !== undefined || t.k === 'struct') throw new Unsupported(`the static ${name} (only a scalar or a pointer)`, l);
  let v: unknown = zeroOf(t);
  if (init) {
    try {
      v = constValue(b, init, t);
    } catch {
      throw new Unsupported(`the static ${name}: its initializer is not a constant the interpreter knows`, l);
    }
  }
  const g = b.env.globalInit.length;
  b.env.globalInit.push(v);
  b.scopes[b.scopes.length - 1].set(name, { slot: -1, t, global: g });
}

/** typeof and its GNU spellings */
const TYPEOF = /^(?:__)?typeof(?:__)?$/;

/**
 * `typeof(a * 2) name = value;` as the C parser reads it when typeof's operand is an expression:
 * an assignment whose left is a call of typeof followed by a stray name. Its operand, name and value.
 */
function typeofDeclaration(e: CNode): { of: CNode; name: string; value: CNode } | undefined {
  if (e.type !== 'assignment_expression') return undefined;
  const left = field(e, 'left');
  const callee = left?.type === 'call_expression' ? field(left, 'function')?.text ?? '' : '';
  if (!TYPEOF.test(callee)) return undefined;
  const stray = e.children.find((c) => c?.type === 'ERROR');
  const name = stray && /^[A-Za-z_]\w*$/.test(stray.text.trim()) ? stray.text.trim() : undefined;
  const of = named(field(left!, 'arguments')!)[0];
  const value = field(e, 'right');
  return name && of && value ? { of, name, value } : undefined;
}

/** `typeof(x)` as a declaration's type: a local's or a global's type, or a type written inside. */
function typeofType(b: FB, n: CNode | null): CType | undefined {
  if (n?.type !== 'macro_type_specifier' || !TYPEOF.test(field(n, 'name')?.text ?? '')) return undefined;
  const inner = field(n, 'type');
  const name = inner?.text.trim() ?? '';
  const known = b.lookup(name)?.t ?? b.env.globals.get(name)?.t;
  if (known) return known;
  try {
    return typeOfDescriptor(b.env, inner!);
  } catch {
    throw new Unsupported(`typeof(${name}) (only of a variable or a type)`, line(n));
  }
}

export function statement(b: FB, n: CNode): void {
  const l = line(n);
  switch (n.type) {
    case 'comment':
      return;
    case 'compound_statement':
      b.scopes.push(new Map());
      for (const c of named(n)) statement(b, c);
      b.scopes.pop();
      return;
    case 'declaration': {
      const base = typeofType(b, field(n, 'type')) ?? baseType(b.env, field(n, 'type'));
      const isStatic = named(n).some((c) => c.type === 'storage_class_specifier' && c.text === 'static');
      for (const d of n.childrenForFieldName('declarator').filter((c): c is CNode => !!c)) {
        const { name, t, init, size } = declarator(b.env, base, d);
        if (isStatic) {
          staticLocal(b, n, name, t, init, size);
          continue;
        }
        if (size !== undefined) {
          localArray(b, d, n, name, t, init, size);
          continue;
        }
        if (init && init.type === 'initializer_list') {
          // { 0 }, { NULL }, {}, { .field = 0 }: the object starts zeroed; { v } for a scalar is v
          const one = scalarInit(init);
          if (!one) {
            if (!zeroInit(init)) throw new Unsupported(`an initializer list with values for ${name} (only zeroing ones, or { value } for a scalar)`, l);
            b.mark(d, n.text);
            const loc = b.local(name, t, l);
            const z = zeroOf(t);
            b.op((_t, f) => void (f.v[loc.slot] = z), `V[${loc.slot}] = ${b.k(z)}`);
            continue;
          }
        }
        const value = init?.type === 'initializer_list' ? scalarInit(init) : init;
        const x = value ? (b.mark(d, n.text), expr(b, value)) : undefined;
        const loc = b.local(name, t, l);
        const s = loc.slot;
        if (x) {
          const c = conv(x.t, t);
          const e = x.ev;
          b.op((tt, f) => void (f.v[s] = c(e(tt, f))), `V[${s}] = ${b.cv(x.t, t, b.js(x))}`);
        } else if (t.k === 'int' || t.k === 'ptr') {
          // C gives it no value: a read before a store is the file's own undefined behaviour, not a zero
          // (an entry is left zeroed: `pte.pte_low = ...` sets one half, and the place reads the whole)
          loc.unset = true;
          b.zeros[s] = UNSET;
        } else b.zeros[s] = zeroOf(t);
      }
      return;
    }
    case 'expression_statement': {
      const e = named(n)[0];
      if (!e) return;
      b.mark(n);
      const td = typeofDeclaration(e);
      if (td) {
        // `typeof(expr) name = value;`: the parser, not knowing typeof(expr) for a type, reads an assignment
        const t = typeOnly(b, td.of);
        const x = expr(b, td.value);
        const loc = b.local(td.name, t, l);
        const s = loc.slot;
        const c = conv(x.t, t);
        const ev = x.ev;
        b.op((tt, f) => void (f.v[s] = c(ev(tt, f))), `V[${s}] = ${b.cv(x.t, t, b.js(x))}`);
        return;
      }
      const noop = e.type === 'call_expression' ? assumedNoop(b, e) : undefined;
      if (noop) {
        const ev = noop.ev;
        b.op((t, f) => void ev(t, f), b.js(noop));
        return;
      }
      effect(b, e);
      return;
    }
    case 'if_statement': {
      const cond = field(n, 'condition')!;
      b.mark(n, `if ${cond.text}`);
      const c = expr(b, cond);
      const other = b.label();
      const end = b.label();
      b.jumpIf(c, other, false, !notABranch(cond, b.env));
      statement(b, field(n, 'consequence')!);
      const alt = field(n, 'alternative');
      if (alt) b.jump(end);
      b.place(other);
      if (alt) statement(b, alt.type === 'else_clause' ? named(alt)[0] : alt);
      b.place(end);
      return;
    }
    case 'else_clause':
      statement(b, named(n)[0]);
      return;
    case 'while_statement': {
      const top = b.label();
      const end = b.label();
      countingLoop(b, n, 'for', end);
      b.place(top);
      const cond = field(n, 'condition')!;
      b.mark(n, `while ${cond.text}`);
      b.jumpIf(expr(b, cond), end, false, fixedValue(cond, b.env) === undefined);
      loopBody(b, field(n, 'body')!, end, top);
      b.jump(top);
      b.place(end);
      return;
    }
    case 'do_statement': {
      const top = b.label();
      const test = b.label();
      const end = b.label();
      countingLoop(b, n, 'do', end);
      b.place(top);
      loopBody(b, field(n, 'body')!, end, test);
      b.place(test);
      const cond = field(n, 'condition')!;
      b.mark(cond, `while ${cond.text}`);
      b.jumpIf(expr(b, cond), top, true, fixedValue(cond, b.env) === undefined);
      b.place(end);
      return;
    }
    case 'for_statement': {
      b.scopes.push(new Map());
      const init = field(n, 'initializer');
      if (init) {
        if (init.type === 'declaration') statement(b, init);
        else {
          b.mark(n);
          effect(b, init);
        }
      }
      const top = b.label();
      const upd = b.label();
      const end = b.label();
      countingLoop(b, n, 'for', end);
      b.place(top);
      const cond = field(n, 'condition');
      if (cond) {
        b.mark(n, `for ${cond.text}`);
        b.jumpIf(expr(b, cond), end, false, fixedValue(cond, b.env) === undefined);
      }
      loopBody(b, field(n, 'body')!, end, upd);
      b.place(upd);
      const u = field(n, 'update');
      if (u) effect(b, u);
      b.jump(top);
      b.place(end);
      b.scopes.pop();
      return;
    }
    case 'return_statement': {
      b.mark(n);
      const v = named(n)[0];
      if (v) {
        const x = expr(b, v);
        const c = conv(x.t, b.ret);
        const e = x.ev;
        const js = b.cv(x.t, b.ret, b.js(x));
        b.push((t, f) => { t.ret(c(e(t, f))); return -1; }, () => `t.ret(${js});\n return -1;`);
      } else b.push((t) => { t.ret(undefined); return -1; }, () => 't.ret(undefined);\n return -1;');
      return;
    }
    case 'break_statement': {
      const loop = b.loops[b.loops.length - 1];
      if (!loop) throw new Unsupported('break outside a loop or switch', l);
      b.mark(n);
      b.jump(loop.brk);
      return;
    }
    case 'continue_statement': {
      const loop = [...b.loops].reverse().find((x) => x.cont);
      if (!loop) throw new Unsupported('continue outside a loop', l);
      b.mark(n);
      b.jump(loop.cont!);
      return;
    }
    case 'goto_statement': {
      const name = field(n, 'label')!.text;
      if (!b.labels.has(name)) b.labels.set(name, b.label());
      b.mark(n);
      b.jump(b.labels.get(name)!);
      return;
    }
    case 'labeled_statement': {
      const name = field(n, 'label')!.text;
      if (!b.labels.has(name)) b.labels.set(name, b.label());
      b.place(b.labels.get(name)!);
      for (const c of named(n).slice(1)) statement(b, c);
      return;
    }
    case 'switch_statement': {
      const cond = field(n, 'condition')!;
      b.mark(n, `switch ${cond.text}`);
      const x = expr(b, cond);
      const e = x.ev;
      const end = b.label();
      const cases: { v: any; at: Label }[] = [];
      let dflt: Label | undefined;
      const body = field(n, 'body')!;
      let dispatch: Op = () => end.pc; // set below, once the case labels are placed
      b.push((t, f) => dispatch(t, f));
      b.loops.push({ brk: end });
      for (const c of named(body)) {
        if (c.type !== 'case_statement') {
          statement(b, c);
          continue;
        }
        const at = b.label();
        b.place(at);
        const value = field(c, 'value');
        if (value) cases.push({ v: N(expr(b, value).ev(undefined as unknown as Thread, undefined as unknown as Frame)), at });
        else dflt = at;
        for (const s of named(c).filter((s) => !value || s.id !== value.id)) statement(b, s);
      }
      b.loops.pop();
      b.place(end);
      dispatch = (t, f) => {
        const v = N(e(t, f));
        for (const c of cases) if (c.v === v) return c.at.pc;
        return (dflt ?? end).pc;
      };
      return;
    }
    case ';':
    case 'empty_statement':
      return;
    case 'ERROR':
      throw new Unsupported(unreadable(n.text), l);
    default:
      throw new Unsupported(`statement ${n.type} (${n.text.split('\n')[0].slice(0, 40)})`, l);
  }
}
