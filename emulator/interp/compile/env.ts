/**
 * The compiler's shared shapes: the syntax-tree node it reads, compiled expressions and places,
 * the program it produces, and the environment of one compile (arch, configuration, what the file
 * defines, what nothing binds).
 * Layer: pure emulator.
 */
import { LEVEL_NAMES, type ArchModel, type Level } from '../../arch/types';
import type { CType, Widths } from '../ctypes';
import type { InterpConfig } from '../config';
import { type Builtin, builtin } from '../kapi';
import { typedefs, widthsOf } from '../kapi/types';
import type { FB } from './builder';
import { type CompiledFn, type Frame, type Thread, Unsupported } from '../runtime';

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

export type Ev = (t: Thread, f: Frame) => any;
export interface X {
  t: CType;
  ev: Ev;
  /** the same as JS source over t, f and V (= f.v), where the compiler can write it (see emit) */
  js?: string;
}
export interface Place {
  t: CType;
  get: Ev;
  set: (t: Thread, f: Frame, v: any) => void;
  /** the place's address, where it has one */
  addr?: Ev;
  /** as JS: `pre` evaluates the address once (into a slot), then `get` and `set(v)` use it */
  bind?: (b: FB) => { pre: string; get: string; set: (v: string) => string };
}
export interface Label {
  pc: number;
}
/** An op's body as JS; `go(pc)` is how it goes on to the op at pc (a JS expression). */
export type Body = (go: (pc: string) => string) => string;
export interface Local {
  slot: number;
  t: CType;
  /** a function's static variable: kept with the file's globals, at this index (slot unused) */
  global?: number;
  /** a local array: its length */
  length?: number;
  /** declared without a value: it holds UNSET until set, and a read of UNSET stops the call */
  unset?: boolean;
}

export interface Program {
  fns: Map<string, CompiledFn>;
  /** functions whose definition could not be compiled, with the reason */
  broken: Map<string, Unsupported>;
  /** every name the compiled code calls or reads that nothing defines, first line each */
  unknown: Map<string, number>;
  /** unknown functions called for their effect alone, taken as doing nothing (calls.ts assumedNoop), first line each */
  assumed: Map<string, number>;
  /** fields of the arch's per-mm state (mm->context) the code reads, which read as 0 (expr.ts member), first line each */
  zeroFields: Map<string, number>;
  cfg: InterpConfig;
  /** the user's stubs the compiled code binds, as "name()=value" */
  stubsUsed: string[];
  /** every function the file defines for this configuration and GUP-fast may reach (compiled or not; prune.ts blanks the rest) */
  defined: string[];
  /** the file's own definitions of slow-path names: the built-in slow path runs instead (kapi/slow.ts) */
  slowPath: string[];
  /** the page-table levels the file's code names, top first (p4d from 4.11: a file that calls p4d_*) */
  levels: readonly Level[];
}

export const line = (n: CNode) => n.startPosition.row + 1;
export const named = (n: CNode) => n.namedChildren.filter((c): c is CNode => !!c && c.type !== 'comment');
export const field = (n: CNode, f: string) => n.childForFieldName(f);
/**
 * The value a condition has whatever the machine holds, or undefined: a literal, the
 * configuration (IS_ENABLED), an arch hook no modelled arch implements (a built-in's `fixed`
 * value: s390's arch_make_folio_accessible), and `!`, `&&`, `||` over those (`x && 0` is 0).
 */
export function fixedValue(n: CNode, env: Env): boolean | undefined {
  switch (n.type) {
    case 'parenthesized_expression':
      return named(n)[0] ? fixedValue(named(n)[0], env) : undefined;
    case 'number_literal':
      return Number(n.text.replace(/[ul]+$/i, '')) !== 0;
    case 'true':
      return true;
    case 'false':
      return false;
    case 'unary_expression': {
      if (n.children[0]?.text !== '!' || !named(n)[0]) return undefined;
      const v = fixedValue(named(n)[0], env);
      return v === undefined ? undefined : !v;
    }
    case 'binary_expression': {
      const op = field(n, 'operator')?.text ?? n.children[1]?.text;
      const left = field(n, 'left');
      const right = field(n, 'right');
      // a half the parser could not make out (broken text) fixes nothing
      if ((op !== '&&' && op !== '||') || !left || !right) return undefined;
      const l = fixedValue(left, env);
      const r = fixedValue(right, env);
      // the operand that decides alone: false for &&, true for ||
      const decides = op === '||';
      if (l === decides || r === decides) return decides;
      return l === undefined || r === undefined ? undefined : op === '&&' ? l && r : l || r;
    }
    case 'call_expression': {
      const fn = field(n, 'function')?.text ?? '';
      if (fn === 'IS_ENABLED') return env.cfg.defined.get(field(n, 'arguments') ? named(field(n, 'arguments')!)[0]?.text ?? '' : '') === '1';
      if (env.sigs.has(fn) || env.cfg.stubs[fn] !== undefined) return undefined;
      const f = env.builtin(fn)?.fixed;
      const v = typeof f === 'function' ? f(env.arch, env.levels) : f;
      return v === undefined ? undefined : v !== 0;
    }
    default:
      return undefined;
  }
}

/**
 * A condition that decides nothing about behaviour, so it is no decision for coverage: one whose
 * value the configuration fixes (fixedValue), or an assertion (WARN_ON* firing is not a path to exercise).
 */
export function notABranch(n: CNode, env: Env): boolean {
  if (fixedValue(n, env) !== undefined) return true;
  let c: CNode | null = n;
  while (c && (c.type === 'parenthesized_expression' || (c.type === 'unary_expression' && c.children[0]?.text === '!'))) c = named(c)[0];
  if (!c || c.type !== 'call_expression') return false;
  const fn = field(c, 'function')?.text ?? '';
  return /^(?:VM_)?(?:BUG|WARN)(?:_ON)?(?:_ONCE)?(?:_PAGE|_FOLIO|_MM|_VMA)?$/.test(fn);
}

/** calls whose arguments the compiler reads itself (a type, a place, a config name) */
export const SPECIAL = new Set(['IS_ENABLED', 'min', 'max', 'min_t', 'max_t', 'WRITE_ONCE', 'sizeof', 'smp_load_acquire', 'smp_store_release', 'ARRAY_SIZE']);
/** a static key's state, asked of the key's address */
export const STATIC_KEY = new Set(['static_branch_likely', 'static_branch_unlikely', 'static_key_enabled', 'static_key_true', 'static_key_false']);
export const ONCE = new Set(['READ_ONCE', 'ACCESS_ONCE']);
export const PAGE = { k: 'struct', name: 'page' } as const;

export class Env {
  readonly w: Widths;
  readonly types: Map<string, CType>;
  readonly sigs = new Map<string, { params: { name: string; t: CType }[]; ret: CType; node: CNode }>();
  readonly fns = new Map<string, CompiledFn>();
  readonly unknown = new Map<string, number>();
  readonly assumed = new Map<string, number>();
  readonly zeroFields = new Map<string, number>();
  /** functions whose definition could not be compiled */
  readonly broken = new Map<string, Unsupported>();
  readonly stubsUsed = new Set<string>();
  /** the file's own global variables (a scalar or a pointer, with a constant initializer), by name */
  readonly globals = new Map<string, { slot: number; t: CType }>();
  /** where every global is kept (the file's, then each function's static variables), by index: the values they start with */
  readonly globalInit: unknown[] = [];
  /** the enumerators of the file's own enums, and their values */
  readonly enums = new Map<string, number>();
  /** the static keys the file defines, and whether each starts enabled (nothing a walk does flips one) */
  readonly staticKeys: ReadonlyMap<string, boolean>;
  /** how many times a name nothing binds was compiled (an assertion's condition is checked by it) */
  unknownHits = 0;
  constructor(
    readonly arch: ArchModel,
    readonly cfg: InterpConfig,
    readonly levels: readonly Level[] = LEVEL_NAMES,
    text = '',
  ) {
    this.staticKeys = staticKeysOf(text);
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

/**
 * DEFINE_STATIC_KEY_TRUE/FALSE(name) (and _RO), what it expands to where the tree's headers are
 * read (`struct static_key_true name = ...`), and the older `struct static_key name =
 * STATIC_KEY_INIT_TRUE/FALSE`.
 */
export function staticKeysOf(text: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  for (const m of text.matchAll(/\bDEFINE_STATIC_KEY_(TRUE|FALSE)(?:_RO)?\s*\(\s*(\w+)\s*\)/g)) out.set(m[2], m[1] === 'TRUE');
  for (const m of text.matchAll(/\bstruct\s+static_key_(true|false)\s+(\w+)\s*=/g)) out.set(m[2], m[1] === 'true');
  for (const m of text.matchAll(/\bstruct\s+static_key\s+(\w+)\s*=\s*STATIC_KEY_INIT(_TRUE|_FALSE)?\b/g)) out.set(m[1], m[2] === '_TRUE');
  return out;
}
