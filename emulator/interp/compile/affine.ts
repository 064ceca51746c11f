/**
 * Loops that only count: the walkers' record_subpages (pages[nr] = nth_page(page, nr) while addr
 * steps to end) and the do-while loops before it. Where the explorer runs a file's code, such a
 * loop runs as one step from its closed form (n iterations' stores into an array and each
 * counter's steps) instead of n interpreted iterations: a 1 GiB leaf is 262,144 of them per pin.
 *
 * A loop is one when every statement of its body, update and test steps a variable by a constant
 * (x++, x -= C) or stores into an array (a[i] = v) at an index and of a value that are sums of
 * variables and constants (nth_page(p, n) is p + n, p++ is p then a step), and its test compares
 * what one stepped variable becomes with what nothing steps (!= or <). Anything else (a call, a
 * branch, a read through a pointer into memory) leaves the loop to the interpreter, as does a run
 * whose values are not plain numbers or whose stores would leave the array (the interpreter stops
 * there and says so). Layer: pure emulator.
 */
import { CallerPages } from '../caller-pages';
import { ArrPtr, type Frame, type Thread } from '../runtime';
import { HashSink } from '../../trace/hash';
import { type CNode, field, line, named, type Place } from './env';
import { FB } from './builder';
import { constValue, place } from './expr';

/** a variable the loop reads or steps: a local, or what a local points to (*nr) */
interface Var {
  place: Place;
  /** its step per iteration, all its steps summed */
  total: bigint;
}

/** coef times a variable's value at one point of an iteration: its value there is v0 + partial + j * total */
interface Term {
  v: Var;
  coef: bigint;
  partial: bigint;
}

/** an affine value at one point of an iteration */
interface Aff {
  terms: Term[];
  c: bigint;
}

interface Plan {
  kind: 'for' | 'do';
  vars: Var[];
  store?: { arr: Place; idx: Aff; val: Aff };
  test: { x: Aff; y: Aff; op: '!=' | '<' };
  line: number;
}

class NotAffine extends Error {}
/** thrown as one object: a loop that is not affine is the common case, and a new Error captures a stack each time */
const NOT_AFFINE = new NotAffine();

/** The loop's closed form, if it has one: an op's body that runs it and says whether it did. */
export function affineLoop(b: FB, n: CNode, kind: 'for' | 'do'): ((t: Thread, f: Frame) => boolean) | undefined {
  let plan: Plan;
  try {
    plan = planOf(b, n, kind);
  } catch {
    // not such a loop, or a part the interpreter cannot take (the loop's own compilation says which)
    return undefined;
  }
  return (t, f) => run(plan, t, f);
}

function planOf(b: FB, n: CNode, kind: 'for' | 'do'): Plan {
  const vars = new Map<string, Var>();
  const partial = new Map<Var, bigint>();
  const fail = (): never => {
    throw NOT_AFFINE;
  };
  const varOf = (node: CNode): Var => {
    while (node.type === 'parenthesized_expression') node = named(node)[0] ?? fail();
    const key = node.text.replace(/[\s()]/g, '');
    let v = vars.get(key);
    if (!v) {
      if (node.type === 'identifier' ? !b.lookup(node.text) : !(node.type === 'pointer_expression' && node.children[0]?.text === '*' && field(node, 'argument')?.type === 'identifier')) fail();
      vars.set(key, (v = { place: place(b, node), total: 0n }));
    }
    return v;
  };
  const stepBy = (v: Var, d: bigint) => {
    partial.set(v, (partial.get(v) ?? 0n) + d);
  };
  const constant = (node: CNode): bigint => {
    try {
      const c = constValue(b, node);
      if (typeof c === 'bigint') return c;
      if (typeof c === 'number' && Number.isInteger(c)) return BigInt(c);
    } catch {
      // not a constant
    }
    return fail();
  };
  // an rvalue as an affine form at this point of the iteration; post-increments inside it step after it
  const after: [Var, bigint][] = [];
  const aff = (node: CNode): Aff => {
    switch (node.type) {
      case 'parenthesized_expression':
        return aff(named(node)[0] ?? fail());
      case 'number_literal':
        return { terms: [], c: constant(node) };
      case 'identifier':
        if (!b.lookup(node.text)) return { terms: [], c: constant(node) };
        return term(varOf(node));
      case 'pointer_expression':
        return term(varOf(node));
      case 'binary_expression': {
        const op = node.childForFieldName('operator')?.text;
        if (op !== '+' && op !== '-') return fail();
        return sum(aff(field(node, 'left')!), aff(field(node, 'right')!), op === '-' ? -1n : 1n);
      }
      case 'call_expression': {
        // nth_page(page, n): the n-th struct page after page, frames in a row
        const args = named(field(node, 'arguments') ?? fail());
        if (field(node, 'function')?.text !== 'nth_page' || args.length !== 2) return fail();
        return sum(aff(args[0]), aff(args[1]), 1n);
      }
      case 'update_expression': {
        // x++ only (++x is the value after)
        const [a, op] = [node.children[0], node.children[1]];
        if (!a || !op || (op.text !== '++' && op.text !== '--')) return fail();
        const v = varOf(a);
        after.push([v, op.text === '++' ? 1n : -1n]);
        return term(v);
      }
      default:
        return fail();
    }
  };
  const term = (v: Var): Aff => ({ terms: [{ v, coef: 1n, partial: partial.get(v) ?? 0n }], c: 0n });
  const sum = (x: Aff, y: Aff, s: bigint): Aff => ({ terms: [...x.terms, ...y.terms.map((t) => ({ ...t, coef: t.coef * s }))], c: x.c + s * y.c });
  const flush = () => after.splice(0).forEach(([v, d]) => stepBy(v, d));

  let store: Plan['store'];
  let test: Plan['test'] | undefined;
  // one event of an iteration: a step, a store, or (last) the test
  const event = (node: CNode, isTest = false): void => {
    switch (node.type) {
      case 'parenthesized_expression':
        return event(named(node)[0] ?? fail(), isTest);
      case 'comma_expression':
        event(field(node, 'left')!);
        return event(field(node, 'right')!, isTest);
      case 'binary_expression': {
        const op = node.childForFieldName('operator')?.text;
        if (!isTest || (op !== '!=' && op !== '<')) return fail();
        test = { x: aff(field(node, 'left')!), y: aff(field(node, 'right')!), op };
        return flush();
      }
      case 'update_expression': {
        const [a, z] = [node.children[0], node.children[1]];
        if (!a || !z) return fail();
        const pre = a.text === '++' || a.text === '--';
        return stepBy(varOf(pre ? z : a), (pre ? a.text : z.text) === '++' ? 1n : -1n);
      }
      case 'assignment_expression': {
        const op = node.childForFieldName('operator')?.text ?? node.children[1]?.text;
        const left = field(node, 'left')!;
        const right = field(node, 'right')!;
        if (op === '+=' || op === '-=') return stepBy(varOf(left), op === '+=' ? constant(right) : -constant(right));
        if (op !== '=' || left.type !== 'subscript_expression' || store) return fail();
        const arr = field(left, 'argument')!;
        if (arr.type !== 'identifier' || !b.lookup(arr.text)) return fail();
        // the value, then the index, as C leaves the order open only where nothing else steps
        const val = aff(right);
        const idx = aff(field(left, 'index')!);
        store = { arr: place(b, arr), idx, val };
        return flush();
      }
      default:
        return fail();
    }
  };
  const statements = (node: CNode): void => {
    if (node.type === 'compound_statement') return named(node).forEach(statements);
    if (node.type === 'expression_statement') return event(named(node)[0] ?? fail());
    return fail();
  };

  const body = field(n, 'body') ?? fail();
  const cond = field(n, 'condition') ?? fail();
  // an iteration's events in order: a for loop (and a while loop, one with no update) tests first, then runs its body and update
  if (kind === 'for') {
    event(cond, true);
    statements(body);
    const u = field(n, 'update');
    if (u) event(u);
  } else {
    statements(body);
    event(cond, true);
  }
  for (const [v, d] of partial) v.total = d;
  // the partials were taken as the iteration went; a term's variable steps by its total per iteration
  if (!test) return fail();
  return { kind, vars: [...vars.values()], store, test, line: line(n) };
}

const MAX_TRIPS = 1n << 22n;

function run(p: Plan, t: Thread, f: Frame): boolean {
  // only where the explorer runs the code: a trace, the debugger and coverage see every iteration
  if (t.cov || !(t.k.sink instanceof HashSink)) return false;
  const v0 = new Map<Var, bigint>();
  /** the variables held as 64-bit values (BigInt); the others are numbers */
  const big = new Set<Var>();
  for (const v of p.vars) {
    let x: unknown;
    try {
      x = v.place.get(t, f);
    } catch {
      return false; // a read the interpreter stops at (a local nothing set): it says so there
    }
    if (typeof x === 'bigint') {
      v0.set(v, x);
      big.add(v);
    }
    else if (typeof x === 'number' && Number.isInteger(x)) v0.set(v, BigInt(x));
    else return false;
  }
  const at0 = (a: Aff) => a.terms.reduce((s, x) => s + x.coef * (v0.get(x.v)! + x.partial), a.c);
  const slope = (a: Aff) => a.terms.reduce((s, x) => s + x.coef * x.v.total, 0n);
  const { x, y, op } = p.test;
  const dx = slope(x) - slope(y);
  const gap = at0(y) - at0(x);
  // the first iteration whose test fails
  let k: bigint;
  if (dx === 0n) return false;
  if (op === '!=') {
    if (gap % dx !== 0n || gap / dx < 0n) return false;
    k = gap / dx;
  } else {
    if (dx < 0n) return false;
    k = gap <= 0n ? 0n : (gap + dx - 1n) / dx;
  }
  const trips = p.kind === 'for' ? k : k + 1n;
  if (trips > MAX_TRIPS) return false;
  const n = Number(trips);
  if (p.store && n > 0) {
    const a = p.store.arr.get(t, f);
    // the caller's pages[] (its entries are frames; a local array's may be anything)
    if (!(a instanceof ArrPtr) || !(a.a instanceof CallerPages)) return false;
    const i0 = BigInt(a.off) + at0(p.store.idx);
    const di = slope(p.store.idx);
    const last = i0 + BigInt(n - 1) * di;
    if (i0 < 0n || last < 0n || i0 >= BigInt(a.len) || last >= BigInt(a.len)) return false;
    const e0 = at0(p.store.val);
    const de = slope(p.store.val);
    if (di === 1n && de === 1n) a.a.fill(Number(i0), Number(e0), n);
    else for (let j = 0; j < n; j++) a.a.set(Number(i0 + BigInt(j) * di), Number(e0 + BigInt(j) * de));
  }
  for (const v of p.vars) {
    if (v.total === 0n) continue;
    const now = v0.get(v)! + trips * v.total;
    v.place.set(t, f, big.has(v) ? now : Number(now));
  }
  // the state's history: this loop and how many times it went round (as its iterations' marks would tell)
  t.mark(p.line);
  t.mark(n);
  return true;
}
