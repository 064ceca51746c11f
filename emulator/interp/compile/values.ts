/**
 * Values: conversions between C types, literals and constants, pointer arithmetic and
 * comparison, arithmetic with C's integer rules, and how a local starts (zeroed, or from an
 * initializer list).
 * Layer: pure emulator.
 */
import { converter, type CType, INT, int, is64, longType, nullOf, promote, wrapper } from '../ctypes';
import { ArrPtr, type Frame, LocalRef, TablePtr, type Thread, Unsupported } from '../runtime';
import { type CNode, Env, field, named, type X } from './env';


/** A converter from whatever a built-in returns (number, bigint, boolean) to type t. */
export function fromJs(t: CType): (v: any) => any {
  if (t.k !== 'int') return (v) => v;
  const w = wrapper(t);
  if (t.bits === 64) return (v) => w(typeof v === 'bigint' ? v : BigInt(typeof v === 'boolean' ? +v : v ?? 0));
  return (v) => (typeof v === 'number' ? w(v) : w(typeof v === 'bigint' ? Number(BigInt.asIntN(32, v)) : typeof v === 'boolean' ? +v : 0));
}

export function conv(from: CType, to: CType): (v: any) => any {
  return converter(from, to) ?? ((v) => v);
}

const ZERO = /^(0+[uUlL]*|0x0+[uUlL]*|NULL|false)$/;

/** An initializer that only zeroes: {}, { 0 }, { NULL }, { false }, and designated or nested ones of those. */
export function zeroInit(n: CNode): boolean {
  if (n.type === 'initializer_list') return named(n).every(zeroInit);
  if (n.type === 'initializer_pair') {
    const v = field(n, 'value');
    return !!v && zeroInit(v);
  }
  return ZERO.test(n.text.trim());
}

/** { v } around one plain value (C allows it for a scalar), else undefined. */
export function scalarInit(n: CNode): CNode | undefined {
  const xs = named(n);
  return xs.length === 1 && xs[0].type !== 'initializer_list' && xs[0].type !== 'initializer_pair' && !ZERO.test(xs[0].text.trim()) ? xs[0] : undefined;
}

export function zeroOf(t: CType): unknown {
  if (t.k === 'int') return t.bits === 64 ? 0n : 0;
  if (t.k === 'ent') return { lo: 0, hi: 0 };
  if (t.k === 'ptr') return nullOf(t);
  return undefined;
}

export function ptrEq(a: any, b: any): boolean {
  if (a === b) return true;
  if (a == null || b == null || typeof a === 'number' || typeof b === 'number') return (a ?? 0) === (b ?? 0);
  if (a instanceof TablePtr && b instanceof TablePtr) return a.table === b.table && a.idx === b.idx;
  if (a instanceof ArrPtr && b instanceof ArrPtr) return a.a === b.a && a.off === b.off;
  if (a instanceof LocalRef && b instanceof LocalRef) return a.v === b.v && a.i === b.i && a.past === b.past;
  return false;
}

export function ptrPlus(v: any, n: number, line: number): any {
  if (typeof v === 'number') return v + n;
  if (v instanceof TablePtr || v instanceof ArrPtr || v instanceof LocalRef) return v.plus(n);
  if (n === 0) return v;
  throw new Unsupported('pointer arithmetic on a pointer the model does not know', line);
}

export function ptrIndex(v: any): number {
  if (typeof v === 'number') return v;
  if (v instanceof TablePtr) return v.idx;
  if (v instanceof ArrPtr) return v.off;
  return 0;
}

/** An arithmetic or bitwise operator on two values of integer type t (already converted). */
export function arith(op: string, t: CType, l: number): (a: any, b: any) => any {
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

export function compare(op: string): (a: any, b: any) => number {
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
export function literal(env: Env, text: string, l: number): X {
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
export function constX(t: CType, v: unknown): X {
  return { t, ev: () => v, js: litJs(v) };
}
