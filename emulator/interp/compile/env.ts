/**
 * The compiler's shared shapes: the syntax-tree node it reads, compiled expressions and places,
 * the program it produces, and the environment of one compile (arch, configuration, what the file
 * defines, what nothing binds).
 * Layer: pure emulator.
 */
import type { ArchModel } from '../../arch/types';
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

export const line = (n: CNode) => n.startPosition.row + 1;
export const named = (n: CNode) => n.namedChildren.filter((c): c is CNode => !!c && c.type !== 'comment');
export const field = (n: CNode, f: string) => n.childForFieldName(f);
/**
 * A condition that decides nothing about behaviour, so it is no decision for coverage: the
 * configuration (IS_ENABLED, a literal), or an assertion (WARN_ON* firing is not a path to exercise).
 */
export function notABranch(n: CNode): boolean {
  let c: CNode | null = n;
  while (c && (c.type === 'parenthesized_expression' || (c.type === 'unary_expression' && c.children[0]?.text === '!'))) c = named(c)[c.type === 'unary_expression' ? 0 : 0];
  if (!c) return false;
  if (c.type === 'number_literal' || c.type === 'true' || c.type === 'false') return true;
  if (c.type !== 'call_expression') return false;
  const fn = field(c, 'function')?.text ?? '';
  return fn === 'IS_ENABLED' || /^(?:VM_)?(?:BUG|WARN)(?:_ON)?(?:_ONCE)?(?:_PAGE|_FOLIO|_MM|_VMA)?$/.test(fn);
}

/** calls whose arguments the compiler reads itself (a type, a place, a config name) */
export const SPECIAL = new Set(['IS_ENABLED', 'min', 'max', 'min_t', 'max_t', 'WRITE_ONCE', 'sizeof']);
export const ONCE = new Set(['READ_ONCE', 'ACCESS_ONCE']);
export const PAGE = { k: 'struct', name: 'page' } as const;

export class Env {
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
