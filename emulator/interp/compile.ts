/**
 * The compiler: a tree-sitter C syntax tree of the file -> CompiledFn per function, each a flat
 * list of ops (closures) built once. Names are resolved here, before anything runs: a local to
 * its slot, a call to a function of the file or to a kernel built-in, a constant to its value on
 * this arch. What cannot be resolved becomes an op that stops the run with its name and line,
 * so nothing is guessed and a function the walk never reaches costs nothing.
 *
 * Expressions are closures over the frame. A part that can stop the thread (a call to a function
 * of the file, a load from a page-table page, a ref or pin, IRQ on/off, the slow path) is
 * linearised: it becomes an op whose result goes to a temporary slot, operands evaluated before
 * it are spilled to temporaries first (so side effects keep their order), and &&, || and ?:
 * around it become jumps. Everything else stays one nested closure per statement.
 * Layer: pure emulator.
 */
import type { ArchModel } from '../arch/types';
import { BOOL, common, converter, entType, INT, int, is64, isInt, longType, nullOf, promote, ptr, sizeOf, typeName, VOID, wrapper, type CType, type Widths } from './ctypes';
import type { InterpConfig } from './config';
import { builtin, type Builtin } from './kapi';
import { stubLabel, stubResult } from './kapi/stubs';
import { SLOW_PATH } from './kapi/slow';
import { report } from './kapi/range';
import { entVal, loadEnt, N, peek, twoHalves, type LoadedEnt } from './kapi/pgtable';
import { specType, typedefs, widthsOf } from './kapi/types';
import { ArrPtr, CURRENT, FieldRef, LocalRef, MmRef, TablePtr, Unsupported, type CompiledFn, type Frame, type Op, type Thread } from './runtime';

/** The parts of a web-tree-sitter Node the compiler reads. */
export interface CNode {
  readonly type: string;
  readonly text: string;
  readonly isNamed: boolean;
  readonly childCount: number;
  readonly namedChildren: (CNode | null)[];
  readonly children: (CNode | null)[];
  readonly startPosition: { row: number; column: number };
  readonly endPosition: { row: number; column: number };
  readonly hasError: boolean;
  readonly id: number;
  childForFieldName(name: string): CNode | null;
  childrenForFieldName(name: string): (CNode | null)[];
}

type Ev = (t: Thread, f: Frame) => any;
interface X {
  t: CType;
  ev: Ev;
  /** the same as JS source over t, f and V (= f.v), where the compiler can write it (see emit) */
  js?: string;
}
interface Place {
  t: CType;
  get: Ev;
  set: (t: Thread, f: Frame, v: any) => void;
  /** the place's address, where it has one */
  addr?: Ev;
  /** as JS: `pre` evaluates the address once (into a slot), then `get` and `set(v)` use it */
  bind?: (b: FB) => { pre: string; get: string; set: (v: string) => string };
}
interface Label {
  pc: number;
}
/** An op's body as JS; `go(pc)` is how it goes on to the op at pc (a JS expression). */
type Body = (go: (pc: string) => string) => string;
interface Local {
  slot: number;
  t: CType;
}

export interface Program {
  fns: Map<string, CompiledFn>;
  /** functions whose definition could not be compiled, with the reason */
  broken: Map<string, Unsupported>;
  /** every name the compiled code calls or reads that nothing defines, first line each */
  unknown: Map<string, number>;
  cfg: InterpConfig;
  /** the user's stubs the compiled code binds, as "name()=value" */
  stubsUsed: string[];
  /** every function the file defines for this configuration and GUP-fast may reach (compiled or not; prune.ts blanks the rest) */
  defined: string[];
  /** the file's own definitions of slow-path names: the built-in slow path runs instead (kapi/slow.ts) */
  slowPath: string[];
}

const line = (n: CNode) => n.startPosition.row + 1;
const named = (n: CNode) => n.namedChildren.filter((c): c is CNode => !!c && c.type !== 'comment');
const field = (n: CNode, f: string) => n.childForFieldName(f);
const ONCE = new Set(['READ_ONCE', 'ACCESS_ONCE']);
const PAGE = { k: 'struct', name: 'page' } as const;

class Env {
  readonly w: Widths;
  readonly types: Map<string, CType>;
  readonly sigs = new Map<string, { params: { name: string; t: CType }[]; ret: CType; node: CNode }>();
  readonly fns = new Map<string, CompiledFn>();
  readonly unknown = new Map<string, number>();
  /** functions whose definition could not be compiled */
  readonly broken = new Map<string, Unsupported>();
  readonly stubsUsed = new Set<string>();
  /** how many times a name nothing binds was compiled (an assertion's condition is checked by it) */
  unknownHits = 0;
  constructor(
    readonly arch: ArchModel,
    readonly cfg: InterpConfig,
  ) {
    this.w = widthsOf(arch);
    this.types = typedefs(this.w);
  }
  builtin(name: string): Builtin | undefined {
    return builtin(name, this.arch);
  }
  /** why a function of the file cannot be called */
  whyBroken(name: string, l: number): Unsupported {
    const e = this.broken.get(name);
    return e ?? new Unsupported(`call to ${name}()`, l);
  }
}

// ---------------- types ----------------

function baseType(env: Env, n: CNode | null): CType {
  if (!n) throw new Unsupported('a declaration without a type', 0);
  switch (n.type) {
    case 'primitive_type':
    case 'sized_type_specifier': {
      const words = n.text.split(/\s+/);
      if (n.type === 'sized_type_specifier') {
        const inner = field(n, 'type');
        if (inner && inner.type === 'type_identifier') return env.types.get(inner.text) ?? INT;
      }
      const uns = words.includes('unsigned');
      const longs = words.filter((x) => x === 'long').length;
      if (words.includes('void')) return VOID;
      if (words.includes('bool') || words.includes('_Bool')) return BOOL;
      if (words.includes('char')) return int(8, !uns, uns ? 'unsigned char' : 'char');
      if (words.includes('short')) return int(16, !uns, uns ? 'unsigned short' : 'short');
      if (longs >= 2) return int(64, !uns, uns ? 'unsigned long long' : 'long long');
      if (longs === 1) return longType(env.w, !uns);
      return int(32, !uns, uns ? 'unsigned int' : 'int');
    }
    case 'type_identifier': {
      const t = env.types.get(n.text) ?? entType(n.text);
      if (!t) throw new Unsupported(`type ${n.text}`, line(n));
      return t;
    }
    case 'struct_specifier':
    case 'union_specifier': {
      const name = field(n, 'name');
      if (!name) throw new Unsupported('an anonymous struct', line(n));
      return { k: 'struct', name: name.text };
    }
    default:
      throw new Unsupported(`type ${n.text}`, line(n));
  }
}

/** A declarator applied to a base type: its name, its type, its initializer. */
function declarator(env: Env, base: CType, d: CNode | null): { name: string; t: CType; init?: CNode; node: CNode | null } {
  let t = base;
  let init: CNode | undefined;
  let n = d;
  while (n) {
    switch (n.type) {
      case 'init_declarator':
        init = field(n, 'value') ?? undefined;
        n = field(n, 'declarator');
        continue;
      case 'pointer_declarator':
      case 'abstract_pointer_declarator':
        t = ptr(t);
        n = field(n, 'declarator');
        continue;
      case 'parenthesized_declarator':
        n = named(n)[0] ?? null;
        continue;
      case 'identifier':
      case 'field_identifier':
        return { name: n.text, t, init, node: n };
      case 'function_declarator':
        n = field(n, 'declarator');
        continue;
      default:
        throw new Unsupported(`declarator ${n.type} (${n.text})`, line(n));
    }
  }
  return { name: '', t, init, node: null };
}

function typeOfDescriptor(env: Env, n: CNode): CType {
  const base = baseType(env, field(n, 'type'));
  const d = field(n, 'declarator');
  return d ? declarator(env, base, d).t : base;
}

/** A type written as text (the first argument of min_t). */
function typeFromText(env: Env, s: string): CType | undefined {
  const x = s.trim();
  const star = x.endsWith('*');
  const core = x.replace(/\*$/, '').trim();
  let t: CType | undefined = env.types.get(core) ?? entType(core);
  if (!t && /^(unsigned|signed|int|long|short|char)\b/.test(core)) {
    const fake = { type: 'sized_type_specifier', text: core } as unknown as CNode;
    (fake as unknown as { childForFieldName: () => null }).childForFieldName = () => null;
    t = baseType(env, fake);
  }
  return t && star ? ptr(t) : t;
}

// ---------------- values ----------------

/** A converter from whatever a built-in returns (number, bigint, boolean) to type t. */
export function fromJs(t: CType): (v: any) => any {
  if (t.k !== 'int') return (v) => v;
  const w = wrapper(t);
  if (t.bits === 64) return (v) => w(typeof v === 'bigint' ? v : BigInt(typeof v === 'boolean' ? +v : v ?? 0));
  return (v) => (typeof v === 'number' ? w(v) : w(typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : typeof v === 'boolean' ? +v : 0));
}

function conv(from: CType, to: CType): (v: any) => any {
  return converter(from, to) ?? ((v) => v);
}

const ZERO = /^(0+[uUlL]*|0x0+[uUlL]*|NULL|false)$/;

/** An initializer that only zeroes: {}, { 0 }, { NULL }, { false }, and designated or nested ones of those. */
function zeroInit(n: CNode): boolean {
  if (n.type === 'initializer_list') return named(n).every(zeroInit);
  if (n.type === 'initializer_pair') {
    const v = field(n, 'value');
    return !!v && zeroInit(v);
  }
  return ZERO.test(n.text.trim());
}

/** { v } around one plain value (C allows it for a scalar), else undefined. */
function scalarInit(n: CNode): CNode | undefined {
  const xs = named(n);
  return xs.length === 1 && xs[0].type !== 'initializer_list' && xs[0].type !== 'initializer_pair' && !ZERO.test(xs[0].text.trim()) ? xs[0] : undefined;
}

function zeroOf(t: CType): unknown {
  if (t.k === 'int') return t.bits === 64 ? 0n : 0;
  if (t.k === 'ent') return { lo: 0, hi: 0 };
  if (t.k === 'ptr') return nullOf(t);
  return undefined;
}

function ptrEq(a: any, b: any): boolean {
  if (a === b) return true;
  if (a == null || b == null || typeof a === 'number' || typeof b === 'number') return (a ?? 0) === (b ?? 0);
  if (a instanceof TablePtr && b instanceof TablePtr) return a.table === b.table && a.idx === b.idx;
  if (a instanceof ArrPtr && b instanceof ArrPtr) return a.a === b.a && a.off === b.off;
  if (a instanceof LocalRef && b instanceof LocalRef) return a.v === b.v && a.i === b.i && a.past === b.past;
  return false;
}

function ptrPlus(v: any, n: number, line: number): any {
  if (typeof v === 'number') return v + n;
  if (v instanceof TablePtr || v instanceof ArrPtr || v instanceof LocalRef) return v.plus(n);
  if (n === 0) return v;
  throw new Unsupported('pointer arithmetic on a pointer the model does not know', line);
}

function ptrIndex(v: any): number {
  if (typeof v === 'number') return v;
  if (v instanceof TablePtr) return v.idx;
  if (v instanceof ArrPtr) return v.off;
  return 0;
}

/** An arithmetic or bitwise operator on two values of integer type t (already converted). */
function arith(op: string, t: CType, l: number): (a: any, b: any) => any {
  const w = wrapper(t);
  const big = is64(t);
  const signed = t.k === 'int' && t.signed;
  switch (op) {
    case '+': return (a, b) => w(a + b);
    case '-': return (a, b) => w(a - b);
    case '*': return big ? (a, b) => w(a * b) : (a, b) => w(Math.imul(a, b));
    case '/': return big ? (a, b) => { if (b === 0n) throw new Unsupported('division by zero', l); return w(a / b); } : (a, b) => { if (b === 0) throw new Unsupported('division by zero', l); return w(Math.trunc(a / b)); };
    case '%': return big ? (a, b) => { if (b === 0n) throw new Unsupported('division by zero', l); return w(a % b); } : (a, b) => { if (b === 0) throw new Unsupported('division by zero', l); return w(a % b); };
    case '&': return (a, b) => w(a & b);
    case '|': return (a, b) => w(a | b);
    case '^': return (a, b) => w(a ^ b);
    case '<<': return big ? (a, b) => w(a << BigInt(b)) : (a, b) => w(b >= 32 ? 0 : a << b);
    case '>>': return big ? (a, b) => w(a >> BigInt(b)) : signed ? (a, b) => a >> Math.min(b, 31) : (a, b) => (b >= 32 ? 0 : a >>> b);
    default: throw new Unsupported(`operator ${op}`, l);
  }
}

function compare(op: string): (a: any, b: any) => number {
  switch (op) {
    case '==': return (a, b) => (a === b ? 1 : 0);
    case '!=': return (a, b) => (a !== b ? 1 : 0);
    case '<': return (a, b) => (a < b ? 1 : 0);
    case '>': return (a, b) => (a > b ? 1 : 0);
    case '<=': return (a, b) => (a <= b ? 1 : 0);
    default: return (a, b) => (a >= b ? 1 : 0);
  }
}

/** Parse a C integer literal: value and type by the C rules. */
function literal(env: Env, text: string, l: number): X {
  if (text.startsWith('-')) {
    const x = literal(env, text.slice(1).trim(), l);
    const t = promote(x.t);
    const v = wrapper(t)(-x.ev(undefined as unknown as Thread, undefined as unknown as Frame));
    return constX(t, v);
  }
  const m = /^(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)([uUlL]*)$/.exec(text);
  if (!m) throw new Unsupported(`number ${text}`, l);
  const digits = m[1];
  const big = /^0[xX]/.test(digits) ? BigInt(digits) : digits.length > 1 && digits[0] === '0' ? BigInt('0o' + digits.slice(1)) : BigInt(digits);
  const suf = m[2].toLowerCase();
  const uns = suf.includes('u');
  const longs = (suf.match(/l/g) ?? []).length;
  let t: CType;
  if (longs === 0 && big <= (uns ? 0xffffffffn : 0x7fffffffn)) t = uns ? int(32, false, 'unsigned int') : INT;
  else if (longs === 0 && !uns && /^0/.test(digits) && big <= 0xffffffffn) t = int(32, false, 'unsigned int');
  else if (longs <= 1 && env.w.long === 64) t = longType(env.w, !uns && big <= 0x7fffffffffffffffn);
  else if (longs <= 1 && big <= (uns ? 0xffffffffn : 0x7fffffffn)) t = longType(env.w, !uns);
  else t = int(64, !uns && big <= 0x7fffffffffffffffn, uns ? 'unsigned long long' : 'long long');
  const v = is64(t) ? big : Number(big);
  return constX(t, v);
}

/** A constant as JS source (numbers and bigints inline), or undefined when it is not one. */
function litJs(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return `(${v})`;
  if (typeof v === 'bigint') return `(${v}n)`;
  if (v === null) return 'null';
  return undefined;
}

/** A constant expression: its value, as a closure and as JS. */
function constX(t: CType, v: unknown): X {
  return { t, ev: () => v, js: litJs(v) };
}

// ---------------- the function builder ----------------

class FB {
  readonly ops: Op[] = [];
  nslots = 0;
  readonly scopes: Map<string, Local>[] = [new Map()];
  readonly labels = new Map<string, Label>();
  readonly loops: { brk: Label; cont?: Label }[] = [];
  readonly locals: CompiledFn['locals'] = [];
  readonly lines = new Set<number>();
  /** the file's functions this one calls */
  readonly calls = new Set<string>();
  /** each slot's value when a frame starts (a declared local without initializer: zero of its type) */
  readonly zeros: unknown[] = [];
  private readonly memo = new Map<number, boolean>();
  /** what generated code reads as K[i]: closures, built-ins, each call site's argument array */
  readonly consts: unknown[] = [];
  /**
   * per op: its body as JS, given how to go on to a pc (`go`); a thunk, as jump targets are
   * placed later. None: its closure runs.
   */
  readonly bodies: (Body | undefined)[] = [];
  /** per op: the statement whose mark rides on it */
  readonly marks: ({ l: number; anchor: string } | undefined)[] = [];
  constructor(
    readonly env: Env,
    readonly name: string,
    readonly ret: CType,
  ) {}

  /** a value generated code reads: its K[i] */
  k(v: unknown): string {
    this.consts.push(v);
    return `K[${this.consts.length - 1}]`;
  }
  /** an expression as JS: its own source, or a call of its closure */
  js(x: X): string {
    return x.js ?? `${this.k(x.ev)}(t, f)`;
  }
  /** x converted from type `from` to `to`, as JS */
  cv(from: CType, to: CType, js: string): string {
    const c = converter(from, to);
    return c ? `${this.k(c)}(${js})` : js;
  }

  slot(): number {
    return this.nslots++;
  }
  local(name: string, t: CType, l: number): Local {
    const x = { slot: this.slot(), t };
    this.scopes[this.scopes.length - 1].set(name, x);
    this.locals.push({ name, type: t, slot: x.slot, line: l });
    return x;
  }
  lookup(name: string): Local | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const x = this.scopes[i].get(name);
      if (x) return x;
    }
    return undefined;
  }
  label(): Label {
    return { pc: -1 };
  }
  place(l: Label): void {
    l.pc = this.ops.length;
  }
  /**
   * Append an op. A statement's mark (its line, its text, its 'stmt' step) rides on the
   * statement's first op instead of being an op of its own: half the dispatches of a walk.
   */
  push(op: Op, body?: Body): void {
    const p = this.pending;
    this.marks.push(p);
    this.bodies.push(body);
    if (p) {
      this.pending = undefined;
      const { l, anchor } = p;
      const inner = op;
      const pc = this.ops.length;
      op = (t, f) => {
        if (f.marked !== pc) {
          f.line = l;
          f.anchor = anchor;
          if (t.rec) t.note(f, 'stmt');
          // a debugger stops on the statement before any of it runs: come back here, unmarked
          if (t.stop) {
            f.marked = pc;
            return pc;
          }
        }
        f.marked = -1;
        return inner(t, f);
      };
    }
    this.ops.push(op);
  }
  /**
   * an op that does something and goes on (js: the same as a JS statement; `leaves`: it pushes
   * a frame, so the run loop must take over)
   */
  op(run: (t: Thread, f: Frame) => void, js?: string, leaves = false): void {
    const next = this.ops.length + 1;
    this.push((t, f) => {
      run(t, f);
      return next;
    }, js === undefined ? undefined : (go) => `${js};\n ${leaves ? `return ${next};` : go(String(next))}`);
  }
  jump(l: Label): void {
    this.push(() => l.pc, (go) => go(String(l.pc)));
  }
  jumpIf(x: X, l: Label, when: boolean): void {
    const next = this.ops.length + 1;
    const ev = x.ev;
    const c = this.js(x);
    this.push(when ? (t, f) => (ev(t, f) ? l.pc : next) : (t, f) => (ev(t, f) ? next : l.pc), (go) => `if (${c}) ${go(String(when ? l.pc : next))}\n else ${go(String(when ? next : l.pc))}`);
  }
  /** keep a value in a temporary now (before a later operand's ops run) */
  spill(x: X): X {
    const s = this.slot();
    const ev = x.ev;
    this.op((t, f) => {
      f.v[s] = ev(t, f);
    }, `V[${s}] = ${this.js(x)}`);
    return { t: x.t, ev: (_t, f) => f.v[s], js: `V[${s}]` };
  }
  /** a statement starts: its line, its text as the step anchor, a 'stmt' step (on its first op) */
  mark(n: CNode, text = n.text): void {
    if (this.pending) this.op(() => undefined, ''); // a statement that made no op still shows
    const l = line(n);
    this.lines.add(l);
    this.pending = { l, anchor: text.split('\n')[0].trim().slice(0, 120) };
  }
  private pending: { l: number; anchor: string } | undefined;

  /** where the op list stands, to take back what an expression compiled (an assertion left unevaluated) */
  checkpoint(): { n: number; pending: FB['pending'] } {
    return { n: this.ops.length, pending: this.pending };
  }
  rollback(c: { n: number; pending: FB['pending'] }): void {
    this.ops.length = this.bodies.length = this.marks.length = c.n;
    this.pending = c.pending;
  }

  /** Can evaluating this expression stop the thread (so it must be linearised)? Conservative. */
  suspends(n: CNode): boolean {
    const m = this.memo.get(n.id);
    if (m !== undefined) return m;
    let r = false;
    if (n.type === 'call_expression') {
      const fnode = field(n, 'function');
      const name = fnode?.type === 'identifier' ? fnode.text : '';
      const b = this.env.builtin(name);
      r = this.env.cfg.stubs[name] !== undefined ? false : this.env.sigs.has(name) || (!!b && (b.kind === 'sched' || b.kind === 'gen')) || (!b && !ONCE.has(name) && !SPECIAL.has(name));
    } else if (n.type === 'pointer_expression' && n.children[0]?.text === '*') r = true;
    else if (n.type === 'field_expression' && n.children.some((c) => c?.text === '->')) r = true;
    if (!r) for (const c of named(n)) if (this.suspends(c)) r = true;
    this.memo.set(n.id, r);
    return r;
  }
}

const SPECIAL = new Set(['IS_ENABLED', 'min', 'max', 'min_t', 'max_t', 'WRITE_ONCE', 'sizeof']);

// ---------------- expressions ----------------

function unknownName(b: FB, what: string, l: number): Ev {
  b.env.unknownHits++;
  if (!b.env.unknown.has(what)) b.env.unknown.set(what, l);
  return () => {
    throw new Unsupported(what, l);
  };
}

function expr(b: FB, n: CNode): X {
  const l = line(n);
  switch (n.type) {
    case 'parenthesized_expression':
      return expr(b, named(n)[0]);
    case 'number_literal':
      return literal(b.env, n.text, l);
    case 'char_literal': {
      const c = n.text.slice(1, -1);
      const v = c.startsWith('\\') ? ({ n: 10, t: 9, '0': 0, '\\': 92, "'": 39 } as Record<string, number>)[c[1]] ?? 0 : c.charCodeAt(0);
      return constX(INT, v);
    }
    case 'string_literal':
    case 'concatenated_string': {
      const s = n.text;
      return { t: ptr(int(8, true, 'char')), ev: () => s };
    }
    case 'true':
      return constX(BOOL, 1);
    case 'false':
      return constX(BOOL, 0);
    case 'null':
      return constX(ptr(VOID), null);
    case 'identifier':
      return identifier(b, n);
    case 'assignment_expression':
      return assignment(b, n);
    case 'update_expression':
      return update(b, n);
    case 'binary_expression':
      return binary(b, n);
    case 'unary_expression':
      return unary(b, n);
    case 'pointer_expression':
      return n.children[0]?.text === '&' ? addressOf(b, field(n, 'argument')!) : deref(b, n);
    case 'field_expression':
    case 'subscript_expression':
      return rvalueOfPlace(b, n);
    case 'call_expression':
      return call(b, n);
    case 'cast_expression': {
      const to = typeOfDescriptor(b.env, field(n, 'type')!);
      const x = expr(b, field(n, 'value')!);
      if (to.k === 'void') return { t: VOID, ev: x.ev, js: x.js };
      const c = converter(x.t, to);
      const ev = x.ev;
      return { t: to, ev: c ? (t, f) => c(ev(t, f)) : ev, js: b.cv(x.t, to, b.js(x)) };
    }
    case 'conditional_expression':
      return conditional(b, n);
    case 'comma_expression': {
      const left = field(n, 'left')!;
      const right = field(n, 'right')!;
      if (b.suspends(right)) {
        effect(b, left);
        return expr(b, right);
      }
      const lx = expr(b, left);
      const rx = expr(b, right);
      const le = lx.ev;
      const re = rx.ev;
      return { t: rx.t, ev: (t, f) => (le(t, f), re(t, f)), js: `(${b.js(lx)}, ${b.js(rx)})` };
    }
    case 'sizeof_expression': {
      const ty = field(n, 'type');
      const size = ty ? sizeOf(typeOfDescriptor(b.env, ty), b.env.w) : sizeOf(typeOnly(b, field(n, 'value')!), b.env.w);
      const t = longType(b.env.w, false);
      const v = is64(t) ? BigInt(size) : size;
      return constX(t, v);
    }
    default:
      throw new Unsupported(`expression ${n.type} (${n.text.slice(0, 40)})`, l);
  }
}

/** The type of an expression, without running it (sizeof). */
function typeOnly(b: FB, n: CNode): CType {
  const scratch = new FB(b.env, b.name, b.ret);
  (scratch.scopes as Map<string, Local>[]).splice(0, 1, ...b.scopes);
  return expr(scratch, n).t;
}

function identifier(b: FB, n: CNode): X {
  const name = n.text;
  const loc = b.lookup(name);
  if (loc) {
    const s = loc.slot;
    return { t: loc.t, ev: (_t, f) => f.v[s], js: `V[${s}]` };
  }
  if (name === 'current') return { t: ptr({ k: 'struct', name: 'task_struct' }), ev: () => CURRENT, js: b.k(CURRENT) };
  if (name === 'NULL') return constX(ptr(VOID), null);
  if (name === 'true' || name === 'false') return constX(BOOL, name === 'true' ? 1 : 0);
  const bi = b.env.builtin(name);
  if (bi && bi.kind === 'const') {
    const t = specType(bi.ret, b.env.w);
    return constX(t, fromJs(t)(bi.value!(b.env.arch)));
  }
  return { t: INT, ev: unknownName(b, `identifier ${name}`, line(n)) };
}

/** A place (lvalue): a local, *p, a[i], x.f, p->f. */
function place(b: FB, n: CNode): Place {
  const l = line(n);
  switch (n.type) {
    case 'parenthesized_expression':
      return place(b, named(n)[0]);
    case 'identifier': {
      const loc = b.lookup(n.text);
      if (!loc) throw new Unsupported(`assignment to ${n.text}, which is not a local`, l);
      const s = loc.slot;
      const name = n.text;
      return {
        t: loc.t,
        get: (_t, f) => f.v[s],
        set: (_t, f, v) => void (f.v[s] = v),
        addr: (_t, f) => new LocalRef(f.v, s, name),
        bind: () => ({ pre: '', get: `V[${s}]`, set: (v) => `(V[${s}] = ${v})` }),
      };
    }
    case 'pointer_expression': {
      if (n.children[0]?.text !== '*') throw new Unsupported('& is not a place', l);
      const p = expr(b, field(n, 'argument')!);
      if (p.t.k !== 'ptr') throw new Unsupported(`* of a ${typeName(p.t)}`, l);
      const pe = p.ev;
      const to = p.t.to;
      return {
        t: to,
        get: (t, f) => readThrough(t, pe(t, f), l),
        set: (t, f, v) => writeThrough(t, pe(t, f), v, l),
        addr: pe,
        bind: (b) => {
          const a = b.slot();
          return { pre: `V[${a}] = ${b.js(p)}`, get: `${b.k(readThrough)}(t, V[${a}], ${l})`, set: (v) => `${b.k(writeThrough)}(t, V[${a}], ${v}, ${l})` };
        },
      };
    }
    case 'subscript_expression': {
      const a = expr(b, field(n, 'argument')!);
      const i = expr(b, field(n, 'index')!);
      if (a.t.k !== 'ptr') throw new Unsupported(`[] on a ${typeName(a.t)}`, l);
      const ae = a.ev;
      const ie = i.ev;
      return {
        t: a.t.to,
        get: (t, f) => readThrough(t, ptrPlus(ae(t, f), N(ie(t, f)), l), l),
        set: (t, f, v) => writeThrough(t, ptrPlus(ae(t, f), N(ie(t, f)), l), v, l),
        addr: (t, f) => ptrPlus(ae(t, f), N(ie(t, f)), l),
        bind: (b) => {
          const base = b.slot();
          const at = b.slot();
          return {
            pre: `V[${base}] = ${b.js(a)}, V[${at}] = ${b.k(N)}(${b.js(i)})`,
            get: `${b.k(readAt)}(t, V[${base}], V[${at}], ${l})`,
            set: (v) => `${b.k(writeAt)}(t, V[${base}], V[${at}], ${v}, ${l})`,
          };
        },
      };
    }
    case 'field_expression':
      return member(b, n);
    default:
      throw new Unsupported(`${n.type} is not a place`, l);
  }
}

/** *p for a pointer that is not into a page-table page (locals, pages[], counters). */
function readThrough(t: Thread, p: any, l: number): any {
  if (p instanceof LocalRef) return p.past === 0 ? p.v[p.i] : pastLocal(p, l);
  if (p instanceof ArrPtr) return p.a[p.off] ?? 0;
  if (p instanceof TablePtr) return t.k.m.load(p);
  throw new Unsupported('a read through a pointer the model does not know', l);
}

/** p[i] without making the pointer p + i (pages[*nr] on every page of a walk) */
function readAt(t: Thread, p: any, i: number, l: number): any {
  return p instanceof ArrPtr ? p.a[p.off + i] ?? 0 : readThrough(t, ptrPlus(p, i, l), l);
}

function writeAt(t: Thread, p: any, i: number, v: any, l: number): void {
  if (p instanceof ArrPtr) p.a[p.off + i] = v;
  else writeThrough(t, ptrPlus(p, i, l), v, l);
}

function pastLocal(p: LocalRef, l: number): never {
  throw new Unsupported(`a read or write ${p.past} element(s) past the local ${p.name}`, l);
}

function writeThrough(_t: Thread, p: any, v: any, l: number): void {
  if (p instanceof LocalRef) p.past === 0 ? (p.v[p.i] = v) : pastLocal(p, l);
  else if (p instanceof ArrPtr) p.a[p.off] = v;
  else throw new Unsupported('a store through a pointer the model does not know (GUP-fast never writes page tables)', l);
}

const HALVES: Record<string, 'lo' | 'hi' | 'all'> = {
  pte_low: 'lo', pte_high: 'hi', pmd_low: 'lo', pmd_high: 'hi', pud_low: 'lo', pud_high: 'hi',
  pte: 'all', pmd: 'all', pud: 'all', p4d: 'all', pgd: 'all',
};

const STRUCT_FIELDS: Record<string, Record<string, CType>> = {
  task_struct: { mm: ptr({ k: 'struct', name: 'mm_struct' }) },
  mm_struct: { write_protect_seq: { k: 'struct', name: 'seqcount_t' }, has_pinned: { k: 'struct', name: 'atomic_t' }, flags: int(64, false, 'unsigned long'), mmap_sem: { k: 'struct', name: 'rw_semaphore' }, mmap_lock: { k: 'struct', name: 'rw_semaphore' } },
  page: { _count: { k: 'struct', name: 'atomic_t' }, _refcount: { k: 'struct', name: 'atomic_t' }, _mapcount: { k: 'struct', name: 'atomic_t' }, flags: int(64, false, 'unsigned long') },
  folio: { _refcount: { k: 'struct', name: 'atomic_t' }, _pincount: { k: 'struct', name: 'atomic_t' }, flags: int(64, false, 'unsigned long') },
};

/** x.f and p->f: halves of an entry, fields of kernel objects. */
function member(b: FB, n: CNode): Place {
  const l = line(n);
  const arrow = n.children.some((c) => c?.text === '->');
  const fname = field(n, 'field')!.text;
  const obj = field(n, 'argument')!;
  const half = HALVES[fname];
  if (!arrow) {
    const p = place(b, obj);
    if (p.t.k === 'ent' && half) {
      const get = p.get;
      const set = p.set;
      if (half === 'all') return { t: int(64, false, 'pteval_t'), get: (t, f) => entVal(get(t, f)), set: (t, f, v) => set(t, f, { lo: Number(BigInt.asUintN(32, v)), hi: Number(BigInt.asUintN(64, v) >> 32n) }) };
      const u32 = int(32, false, 'unsigned long');
      return {
        t: u32,
        get: (t, f) => (get(t, f) as LoadedEnt)[half] >>> 0,
        set: (t, f, v) => {
          const e = get(t, f) as LoadedEnt;
          set(t, f, half === 'lo' ? { lo: v >>> 0, hi: e.hi, g: e.g } : { lo: e.lo, hi: v >>> 0, g: e.g });
        },
      };
    }
    throw new Unsupported(`member .${fname} of a ${typeName(p.t)}`, l);
  }
  const o = expr(b, obj);
  if (o.t.k !== 'ptr') throw new Unsupported(`-> on a ${typeName(o.t)}`, l);
  const oe = o.ev;
  const to = o.t.to;
  if (to.k === 'ent' && half) {
    // a load of one half (or all) of an entry straight from its slot: a scheduling point
    const tmp = b.slot();
    const u32 = int(32, false, 'unsigned long');
    if (half === 'all') throw new Unsupported(`->${fname} (read the entry with * instead)`, l);
    b.op((t, f) => {
      const p = oe(t, f);
      if (p instanceof TablePtr) {
        const m = t.k.m;
        const v = half === 'lo' ? m.loadLo(p) : m.loadHi(p);
        f.v[tmp] = v;
        t.sched('load', { level: p.level, lo: half === 'lo' ? v : undefined, hi: half === 'hi' ? v : undefined, note: half === 'lo' ? 'low half' : 'high half' });
      } else f.v[tmp] = (peek(t, p, `->${fname}`) as LoadedEnt)[half] >>> 0;
    });
    return { t: u32, get: (_t, f) => f.v[tmp], set: () => { throw new Unsupported('a store into a page-table entry', l); } };
  }
  if (to.k === 'struct' && to.name === 'folio' && fname === 'page') {
    // a folio begins with its head page: &folio->page is the head's struct page
    return { t: PAGE, get: oe, set: () => { throw new Unsupported('a store to folio->page', l); }, addr: oe };
  }
  if (to.k === 'struct' && (to.name === 'folio' || to.name === 'page') && fname === 'mapping') {
    // an anonymous folio's mapping has PAGE_MAPPING_ANON set (the anon_vma itself is not modelled); others have none here
    const mt = ptr({ k: 'struct', name: 'address_space' });
    return { t: mt, get: (t, f) => (t.k.m.mem.hasFlag(t.k.m.headOf(oe(t, f) as number), 'anon') ? 1 : null), set: () => { throw new Unsupported(`a store to ${to.name}->mapping`, l); } };
  }
  if (to.k === 'struct') {
    const ft = STRUCT_FIELDS[to.name]?.[fname];
    if (!ft) throw new Unsupported(`field ${to.name}->${fname}`, l);
    if (to.name === 'task_struct') return { t: ft, get: (t, f) => (oe(t, f) as typeof CURRENT).mm, set: () => { throw new Unsupported('a store to current->mm', l); } };
    const ref: Ev = (t, f) => new FieldRef(oe(t, f), fname);
    return {
      t: ft,
      get: (t, f) => {
        const r = ref(t, f) as FieldRef;
        if (r.obj instanceof MmRef && fname === 'has_pinned') return t.k.m.mm.has_pinned ? 1 : 0;
        if (r.obj instanceof MmRef && fname === 'flags') return t.k.m.mm.has_pinned ? 1n << 27n : 0n;
        if (r.obj instanceof MmRef && fname === 'write_protect_seq') return t.k.m.mm.write_protect_seq;
        return r;
      },
      set: (t, f, v) => {
        const r = ref(t, f) as FieldRef;
        if (r.obj instanceof MmRef && fname === 'has_pinned') t.k.m.mm.has_pinned = !!v;
        else throw new Unsupported(`a store to ${to.name}->${fname}`, l);
      },
      addr: ref,
    };
  }
  throw new Unsupported(`->${fname} on a ${typeName(o.t)}`, l);
}

function rvalueOfPlace(b: FB, n: CNode): X {
  const p = place(b, n);
  const at = p.bind?.(b);
  return { t: p.t, ev: p.get, js: at && (at.pre ? `(${at.pre}, ${at.get})` : at.get) };
}

function addressOf(b: FB, n: CNode): X {
  if (n.type === 'pointer_expression' && n.children[0]?.text === '*') return expr(b, field(n, 'argument')!);
  const p = place(b, n);
  if (!p.addr) throw new Unsupported(`& of ${n.text}`, line(n));
  return { t: ptr(p.t), ev: p.addr };
}

/** *p: a load from a page-table page (a scheduling point; two halves on PAE) or a read through another pointer. */
function deref(b: FB, n: CNode): X {
  const l = line(n);
  const p = expr(b, field(n, 'argument')!);
  if (p.t.k !== 'ptr') throw new Unsupported(`* of a ${typeName(p.t)}`, l);
  const pe = p.ev;
  const to = p.t.to;
  if (to.k !== 'ent') return { t: to, ev: (t, f) => readThrough(t, pe(t, f), l), js: `${b.k(readThrough)}(t, ${b.js(p)}, ${l})` };
  const tmp = b.slot();
  const atomic = b.env.arch.atomicEntryLoad;
  const load = (t: Thread, f: Frame, pv: unknown) => {
    if (!(pv instanceof TablePtr)) f.v[tmp] = peek(t, pv, '*');
    else if (atomic) f.v[tmp] = loadEnt(t, pv);
    else {
      t.sub = twoHalves(t, pv);
      t.subDone = (v) => void (f.v[tmp] = v);
      t.stop = true;
    }
  };
  b.op((t, f) => load(t, f, pe(t, f)), `${b.k(load)}(t, f, ${b.js(p)})`);
  return { t: to, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` };
}

function assignment(b: FB, n: CNode): X {
  const l = line(n);
  const op = n.childForFieldName('operator')?.text ?? n.children[1]!.text;
  const right = field(n, 'right')!;
  const lp = place(b, field(n, 'left')!);
  const rx = b.suspends(right) ? b.spill(expr(b, right)) : expr(b, right);
  const re = rx.ev;
  const set = lp.set;
  const get = lp.get;
  const at = lp.bind?.(b);
  const r = b.slot();
  if (op === '=') {
    const c = conv(rx.t, lp.t);
    // the value first, then the place's address (as the closure does)
    const js = at && `(V[${r}] = ${b.cv(rx.t, lp.t, b.js(rx))}${at.pre ? `, ${at.pre}` : ''}, ${at.set(`V[${r}]`)}, V[${r}])`;
    return { t: lp.t, ev: (t, f) => { const v = c(re(t, f)); set(t, f, v); return v; }, js };
  }
  const bop = op.slice(0, -1);
  const apply = binop(b, bop, lp.t, rx.t, l);
  const back = conv(apply.t, lp.t);
  const fn = apply.fn;
  const value = (get: string) => (apply.js ? apply.js(get, b.js(rx)) : `${b.k(fn)}(${get}, ${b.js(rx)})`);
  const js = at && `(${at.pre ? `${at.pre}, ` : ''}V[${r}] = ${b.cv(apply.t, lp.t, value(at.get))}, ${at.set(`V[${r}]`)}, V[${r}])`;
  return { t: lp.t, ev: (t, f) => { const v = back(fn(get(t, f), re(t, f))); set(t, f, v); return v; }, js };
}

/** C's comparison operators as JS on values of one integer type. */
const JS_CMP: Record<string, string> = { '==': '===', '!=': '!==', '<': '<', '>': '>', '<=': '<=', '>=': '>=' };

/** A binary operator on two typed values: the result type, a function of the raw values, and (where plain) the JS of it. */
function binop(b: FB, op: string, lt: CType, rt: CType, l: number): { t: CType; fn: (a: any, b: any) => any; js?: (a: string, c: string) => string } {
  if (lt.k === 'ptr' && (op === '+' || op === '-') && isInt(rt)) {
    const sign = op === '+' ? 1 : -1;
    return { t: lt, fn: (a, x) => ptrPlus(a, sign * N(x), l) };
  }
  if (rt.k === 'ptr' && op === '+' && isInt(lt)) return { t: rt, fn: (x, a) => ptrPlus(a, N(x), l) };
  if (lt.k === 'ptr' && rt.k === 'ptr' && op === '-') {
    const t = longType(b.env.w, true);
    const w = fromJs(t);
    return { t, fn: (a, x) => w(ptrIndex(a) - ptrIndex(x)) };
  }
  if ((lt.k === 'ptr' || rt.k === 'ptr') && (op === '==' || op === '!=')) {
    const ne = op === '!=';
    return { t: INT, fn: (a, x) => (ptrEq(a, x) !== ne ? 1 : 0) };
  }
  if (lt.k === 'ptr' && rt.k === 'ptr') {
    const c = compare(op);
    return { t: INT, fn: (a, x) => c(ptrIndex(a), ptrIndex(x)) };
  }
  if (!isInt(lt) || !isInt(rt)) throw new Unsupported(`operator ${op} on ${typeName(lt)} and ${typeName(rt)}`, l);
  if (op === '<<' || op === '>>') {
    const t = promote(lt);
    const cl = conv(lt, t);
    const f = arith(op, t, l);
    return { t, fn: (a, x) => f(cl(a), N(x)) };
  }
  const t = common(lt, rt);
  const cl = conv(lt, t);
  const cr = conv(rt, t);
  const cvl = (a: string) => b.cv(lt, t, a);
  const cvr = (a: string) => b.cv(rt, t, a);
  if (['==', '!=', '<', '>', '<=', '>='].includes(op)) {
    const c = compare(op);
    return { t: INT, fn: (a, x) => c(cl(a), cr(x)), js: (a, x) => `(${cvl(a)} ${JS_CMP[op]} ${cvr(x)} ? 1 : 0)` };
  }
  const f = arith(op, t, l);
  // + - & | ^ wrapped to the type's width inline; the rest through arith (division checks, shifts)
  const plain = ['+', '-', '&', '|', '^'].includes(op) && t.k === 'int' && (t.bits === 64 || t.bits === 32);
  const wrap = (e: string) => (t.k === 'int' && t.bits === 64 ? `BigInt.as${t.signed ? 'Int' : 'Uint'}N(64, ${e})` : t.k === 'int' && t.signed ? `((${e}) | 0)` : `((${e}) >>> 0)`);
  return { t, fn: (a, x) => f(cl(a), cr(x)), js: plain ? (a, x) => wrap(`${cvl(a)} ${op} ${cvr(x)}`) : undefined };
}

function binary(b: FB, n: CNode): X {
  const l = line(n);
  const op = n.childForFieldName('operator')?.text ?? n.children[1]!.text;
  const left = field(n, 'left')!;
  const right = field(n, 'right')!;
  if (op === '&&' || op === '||') {
    const lx = expr(b, left);
    if (b.suspends(right)) {
      const tmp = b.slot();
      const end = b.label();
      const le = lx.ev;
      b.op((t, f) => void (f.v[tmp] = le(t, f) ? 1 : 0), `V[${tmp}] = (${b.js(lx)}) ? 1 : 0`);
      b.jumpIf({ t: INT, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` }, end, op === '||');
      const rx = expr(b, right);
      const re = rx.ev;
      b.op((t, f) => void (f.v[tmp] = re(t, f) ? 1 : 0), `V[${tmp}] = (${b.js(rx)}) ? 1 : 0`);
      b.place(end);
      return { t: INT, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` };
    }
    const le = lx.ev;
    const rx = expr(b, right);
    const re = rx.ev;
    return { t: INT, ev: op === '&&' ? (t, f) => (le(t, f) && re(t, f) ? 1 : 0) : (t, f) => (le(t, f) || re(t, f) ? 1 : 0), js: `((${b.js(lx)}) ${op} (${b.js(rx)}) ? 1 : 0)` };
  }
  const same = (op === '==' || op === '!=') && entryVal(b, left) && entryVal(b, right);
  if (same) {
    // pte_val(a) != pte_val(b): the raw values compared half by half (no 64-bit arithmetic)
    const arg = (n: CNode): CNode => (n.type === 'parenthesized_expression' ? arg(named(n)[0]) : named(field(n, 'arguments')!)[0]);
    let ax = expr(b, arg(left));
    if (b.suspends(right)) ax = b.spill(ax);
    const bx = expr(b, arg(right));
    const ae = ax.ev;
    const be = bx.ev;
    const ne = op === '!=';
    const same = (x: LoadedEnt, y: LoadedEnt) => ((x.lo === y.lo && x.hi === y.hi) !== ne ? 1 : 0);
    return { t: INT, ev: (tt, f) => same(ae(tt, f), be(tt, f)), js: `${b.k(same)}(${b.js(ax)}, ${b.js(bx)})` };
  }
  let lx = expr(b, left);
  if (b.suspends(right)) lx = b.spill(lx);
  const rx = expr(b, right);
  const { t, fn, js } = binop(b, op, lx.t, rx.t, l);
  const le = lx.ev;
  const re = rx.ev;
  return { t, ev: (tt, f) => fn(le(tt, f), re(tt, f)), js: js ? js(b.js(lx), b.js(rx)) : `${b.k(fn)}(${b.js(lx)}, ${b.js(rx)})` };
}

/** A call pte_val(e) (or pmd/pud/p4d/pgd) of an entry-typed argument, the built-in one. */
function entryVal(b: FB, n: CNode): boolean {
  while (n.type === 'parenthesized_expression') n = named(n)[0];
  if (n.type !== 'call_expression') return false;
  const name = field(n, 'function')?.text ?? '';
  return /^(pte|pmd|pud|p4d|pgd)_val$/.test(name) && !b.env.sigs.has(name) && named(field(n, 'arguments')!).length === 1;
}

function unary(b: FB, n: CNode): X {
  const l = line(n);
  const op = n.childForFieldName('operator')?.text ?? n.children[0]!.text;
  const x = expr(b, field(n, 'argument')!);
  const e = x.ev;
  if (op === '!') return { t: INT, ev: (t, f) => (e(t, f) ? 0 : 1), js: `((${b.js(x)}) ? 0 : 1)` };
  if (!isInt(x.t)) throw new Unsupported(`unary ${op} on a ${typeName(x.t)}`, l);
  const t = promote(x.t);
  const c = conv(x.t, t);
  const w = wrapper(t);
  const cj = b.cv(x.t, t, b.js(x));
  if (op === '-') return { t, ev: (tt, f) => w(-c(e(tt, f))), js: `${b.k(w)}(-${cj})` };
  if (op === '~') return { t, ev: (tt, f) => w(~c(e(tt, f))), js: `${b.k(w)}(~${cj})` };
  if (op === '+') return { t, ev: (tt, f) => c(e(tt, f)), js: cj };
  throw new Unsupported(`unary ${op}`, l);
}

function update(b: FB, n: CNode): X {
  const l = line(n);
  const op = n.childForFieldName('operator')?.text ?? n.children.find((c) => c?.text === '++' || c?.text === '--')!.text;
  const prefix = n.children[0]?.text === op;
  const p = place(b, field(n, 'argument')!);
  const d = op === '++' ? 1 : -1;
  const get = p.get;
  const set = p.set;
  let next: (v: any) => any;
  if (p.t.k === 'ptr') next = (v) => ptrPlus(v, d, l);
  else if (isInt(p.t)) {
    const w = wrapper(p.t);
    next = is64(p.t) ? (v) => w(v + BigInt(d)) : (v) => w(v + d);
  } else throw new Unsupported(`${op} on a ${typeName(p.t)}`, l);
  const at = p.bind?.(b);
  const r = b.slot();
  const nx = b.k(next);
  const pre = at?.pre ? `${at.pre}, ` : '';
  return {
    t: p.t,
    ev: prefix
      ? (t, f) => { const v = next(get(t, f)); set(t, f, v); return v; }
      : (t, f) => { const v = get(t, f); set(t, f, next(v)); return v; },
    js: at && (prefix ? `(${pre}V[${r}] = ${nx}(${at.get}), ${at.set(`V[${r}]`)}, V[${r}])` : `(${pre}V[${r}] = ${at.get}, ${at.set(`${nx}(V[${r}])`)}, V[${r}])`),
  };
}

function conditional(b: FB, n: CNode): X {
  const c = expr(b, field(n, 'condition')!);
  const cn = field(n, 'consequence')!;
  const an = field(n, 'alternative')!;
  if (b.suspends(cn) || b.suspends(an)) {
    const tmp = b.slot();
    const other = b.label();
    const end = b.label();
    b.jumpIf(c, other, false);
    const x = expr(b, cn);
    const xe = x.ev;
    b.op((t, f) => void (f.v[tmp] = xe(t, f)), `V[${tmp}] = ${b.js(x)}`);
    b.jump(end);
    b.place(other);
    const y = expr(b, an);
    const ye = y.ev;
    b.op((t, f) => void (f.v[tmp] = ye(t, f)), `V[${tmp}] = ${b.js(y)}`);
    b.place(end);
    return { t: x.t.k === 'ptr' && x.t.to.k === 'void' ? y.t : x.t, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` };
  }
  const x = expr(b, cn);
  const y = expr(b, an);
  const t = isInt(x.t) && isInt(y.t) ? common(x.t, y.t) : x.t.k === 'ptr' && x.t.to.k === 'void' ? y.t : x.t;
  const cx = conv(x.t, t);
  const cy = conv(y.t, t);
  const ce = c.ev;
  const xe = x.ev;
  const ye = y.ev;
  return { t, ev: (tt, f) => (ce(tt, f) ? cx(xe(tt, f)) : cy(ye(tt, f))), js: `((${b.js(c)}) ? ${b.cv(x.t, t, b.js(x))} : ${b.cv(y.t, t, b.js(y))})` };
}

/** Evaluate call arguments in order, spilling those before an argument that can stop the thread. */
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

function call(b: FB, n: CNode): X {
  const l = line(n);
  const fnode = field(n, 'function')!;
  const argNodes = named(field(n, 'arguments')!);
  if (fnode.type !== 'identifier') throw new Unsupported(`a call through ${fnode.text}`, l);
  const name = fnode.text;
  // forms whose arguments are places or types
  if (ONCE.has(name)) return expr(b, argNodes[0]);
  if (name === 'WRITE_ONCE') {
    const p = place(b, argNodes[0]);
    const v = expr(b, argNodes[1]);
    const c = conv(v.t, p.t);
    const ve = v.ev;
    const set = p.set;
    return { t: VOID, ev: (t, f) => set(t, f, c(ve(t, f))) };
  }
  if (name === 'IS_ENABLED') return constX(INT, b.env.cfg.defined.get(argNodes[0]?.text ?? '') === '1' ? 1 : 0);
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
  const stub = b.env.cfg.stubs[name];
  if (stub !== undefined) {
    // the user's word for a name the census cannot know: arguments still evaluated, for their effects
    b.env.stubsUsed.add(stubLabel(name, stub));
    const xs = args(b, argNodes);
    const evs = xs.map((x) => x.ev);
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
    const start = (t: Thread, f: Frame, a: unknown[]) => {
      t.sub = gen(t, a);
      t.subDone = (v) => void (f.v[tmp] = back(v));
      t.stop = true;
    };
    b.op((t, f) => start(t, f, argv(t, f)), `${b.k(start)}(t, f, [${xs.map((x) => b.js(x)).join(', ')}])`);
  }
  return { t: rt, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` };
}

// ---------------- statements ----------------

/** A loop's body, with the labels break and continue jump to. */
function loopBody(b: FB, body: CNode, brk: Label, cont: Label): void {
  b.loops.push({ brk, cont });
  statement(b, body);
  b.loops.pop();
}

/** An expression evaluated for its effect only. */
function effect(b: FB, n: CNode): void {
  const x = expr(b, n);
  const e = x.ev;
  b.op((t, f) => void e(t, f), b.js(x));
}

function statement(b: FB, n: CNode): void {
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
      const base = baseType(b.env, field(n, 'type'));
      for (const d of n.childrenForFieldName('declarator').filter((c): c is CNode => !!c)) {
        const { name, t, init } = declarator(b.env, base, d);
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
        } else b.zeros[s] = zeroOf(t);
      }
      return;
    }
    case 'expression_statement': {
      const e = named(n)[0];
      if (!e) return;
      b.mark(n);
      effect(b, e);
      return;
    }
    case 'if_statement': {
      const cond = field(n, 'condition')!;
      b.mark(n, `if ${cond.text}`);
      const c = expr(b, cond);
      const other = b.label();
      const end = b.label();
      b.jumpIf(c, other, false);
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
      b.place(top);
      const cond = field(n, 'condition')!;
      b.mark(n, `while ${cond.text}`);
      b.jumpIf(expr(b, cond), end, false);
      loopBody(b, field(n, 'body')!, end, top);
      b.jump(top);
      b.place(end);
      return;
    }
    case 'do_statement': {
      const top = b.label();
      const test = b.label();
      const end = b.label();
      b.place(top);
      loopBody(b, field(n, 'body')!, end, test);
      b.place(test);
      const cond = field(n, 'condition')!;
      b.mark(cond, `while ${cond.text}`);
      b.jumpIf(expr(b, cond), top, true);
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
      b.place(top);
      const cond = field(n, 'condition');
      if (cond) {
        b.mark(n, `for ${cond.text}`);
        b.jumpIf(expr(b, cond), end, false);
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
    default:
      throw new Unsupported(`statement ${n.type} (${n.text.split('\n')[0].slice(0, 40)})`, l);
  }
}

// ---------------- functions and the file ----------------

function signature(env: Env, n: CNode): { name: string; params: { name: string; t: CType }[]; ret: CType } | undefined {
  const base = baseType(env, field(n, 'type'));
  let d = field(n, 'declarator');
  let ret = base;
  while (d && d.type === 'pointer_declarator') {
    ret = ptr(ret);
    d = field(d, 'declarator');
  }
  if (!d || d.type !== 'function_declarator') return undefined;
  const name = field(d, 'declarator')?.text ?? '';
  const params: { name: string; t: CType }[] = [];
  for (const p of named(field(d, 'parameters')!)) {
    if (p.type === 'variadic_parameter') throw new Unsupported(`variadic function ${name}`, line(p));
    if (p.type !== 'parameter_declaration') continue;
    const pt = baseType(env, field(p, 'type'));
    const pd = field(p, 'declarator');
    if (!pd && pt.k === 'void') continue;
    const x = declarator(env, pt, pd);
    params.push({ name: x.name, t: x.t });
  }
  return { name, params, ret };
}

function compileFn(env: Env, name: string, n: CNode, calls: Set<string>): CompiledFn {
  const sig = env.sigs.get(name)!;
  const b = new FB(env, name, sig.ret);
  const params = sig.params.map((p) => ({ name: p.name, type: p.t, slot: b.local(p.name, p.t, line(n)).slot }));
  statement(b, field(n, 'body')!);
  for (const c of b.calls) calls.add(c);
  const end = n.endPosition.row + 1;
  b.push((t, f) => {
    f.line = end;
    t.ret(zeroOf(sig.ret));
    return -1;
  });
  for (const l of b.labels.values()) if (l.pc < 0) throw new Unsupported('goto to a label that is not in the function', line(n));
  const zeros = Array.from({ length: b.nslots }, (_, i) => b.zeros[i]);
  const ops = emit(b);
  return { name, line: line(n), endLine: end, params, ret: sig.ret, ops, generated: ops !== b.ops, nslots: b.nslots, zeros, locals: b.locals, lines: [...b.lines].sort((x, y) => x - y) };
}

/** Generate JS for the ops (off: the closures run, as written; tests compare both). */
let generate = true;
export function setCodegen(on: boolean): void {
  generate = on;
}

/**
 * The function as generated JS: one `new Function` per C function, its ops the cases of a
 * switch in a loop, each op's expression inlined and its built-in calls direct. It goes from op
 * to op without the run loop until something stops the thread (a scheduling point, a sub-
 * generator, a debugger) or the frame changes (a call, a return); every entry of `ops` is that
 * one function, which starts at f.pc. The closures were one generic body per kind of node, so
 * every call inside them saw every callee (megamorphic, never inlined) and every op was a
 * dispatch. Ops the compiler has no JS for stay closures (a case that returns to the run loop),
 * and a function whose source fails to build keeps its closures: they are the reference.
 */
function emit(b: FB): Op[] {
  if (!generate) return b.ops;
  const anchors = b.marks.map((m) => m?.anchor);
  const cases = b.ops.map((_, i) => {
    // on to the next op: fall through into its case; anywhere else: through the switch
    const go = (pc: string) => (pc === String(i + 1) ? `{ if (t.stop) return ${pc}; }` : `{ pc = ${pc}; if (t.stop) return pc; continue; }`);
    const body = b.bodies[i];
    if (!body) return `case ${i}: return O[${i}](t, f);`;
    const m = b.marks[i];
    // the statement's mark, as push() wraps it: a debugger stops here before any of it runs
    const mark = m ? `if (f.marked !== ${i}) { f.line = ${m.l}; f.anchor = A[${i}]; if (t.rec) t.note(f, 'stmt'); if (t.stop) { f.marked = ${i}; return ${i}; } }\n f.marked = -1;\n ` : '';
    return `case ${i}: {\n ${mark}${body(go)}\n}`; // a body ends in a go or a return
  });
  const src = `'use strict';\nreturn (t, f) => {\n const V = f.v;\n let pc = f.pc;\n for (;;) switch (pc) {\n${cases.join('\n')}\n default: return O[pc](t, f);\n }\n};`;
  try {
    const run = new Function('K', 'O', 'A', src)(b.consts, b.ops, anchors) as Op;
    return b.ops.map(() => run);
  } catch {
    return b.ops;
  }
}

/**
 * Compile the functions of a (preprocessed) file for one arch and configuration: those the
 * roots reach through calls (a 100 KB mm/gup.c has hundreds of functions GUP-fast never calls),
 * or every one when no root is defined in the file.
 */
export function compileProgram(root: CNode, arch: ArchModel, cfg: InterpConfig, roots: string[] = []): Program {
  const env = new Env(arch, cfg);
  const broken = env.broken;
  const defs = new Map<string, CNode>();
  const slowPath = new Set<string>();
  const visit = (n: CNode) => {
    for (const c of named(n)) {
      if (c.type === 'function_definition') {
        const declared = declaredName(c);
        if (declared && SLOW_PATH.has(declared)) {
          slowPath.add(declared);
          continue;
        }
        try {
          const s = signature(env, c);
          if (s) {
            env.sigs.set(s.name, { params: s.params, ret: s.ret, node: c });
            defs.set(s.name, c);
          }
        } catch (e) {
          const name = /(\w+)\s*\(/.exec(c.text)?.[1] ?? '?';
          broken.set(name, asUnsupported(e, name, c));
        }
      } else if (c.type === 'preproc_if' || c.type === 'preproc_ifdef' || c.type === 'preproc_else' || c.type === 'linkage_specification' || c.type === 'declaration_list') visit(c);
    }
  };
  visit(root);
  const todo = roots.filter((r) => defs.has(r) || broken.has(r));
  if (todo.length === 0) todo.push(...defs.keys());
  const done = new Set<string>();
  while (todo.length) {
    const name = todo.pop()!;
    if (done.has(name)) continue;
    done.add(name);
    const node = defs.get(name);
    if (!node) continue;
    const calls = new Set<string>();
    try {
      env.fns.set(name, compileFn(env, name, node, calls));
    } catch (e) {
      broken.set(name, asUnsupported(e, name, node));
    }
    for (const c of calls) if (!done.has(c)) todo.push(c);
  }
  return { fns: env.fns, broken, unknown: env.unknown, cfg, stubsUsed: [...env.stubsUsed].sort(), defined: [...defs.keys()], slowPath: [...slowPath] };
}

/** The name a function definition declares, without resolving its types. */
function declaredName(n: CNode): string | undefined {
  let d = field(n, 'declarator');
  while (d && d.type !== 'function_declarator') d = field(d, 'declarator');
  const id = d && field(d, 'declarator');
  return id?.type === 'identifier' ? id.text : undefined;
}

/** Why a function cannot be compiled, in words a reader can act on (the compiler recurses: a body nested thousands deep overflows it). */
function asUnsupported(e: unknown, name: string, node: CNode): Unsupported {
  if (e instanceof Unsupported) return e;
  if (e instanceof RangeError && /call stack/.test(e.message)) return new Unsupported(`${name}() nests its blocks or expressions too deep to compile`, line(node));
  return new Unsupported(`${(e as Error).message} in ${name}()`, line(node));
}
