/**
 * Expressions: names, places (locals, entries, struct fields), loads and stores through
 * pointers, operators (calls are calls.ts).
 * Layer: pure emulator.
 */

import { BOOL, common, converter, type CType, INT, int, is64, isInt, longType, promote, ptr, sizeOf, typeName, VOID, wrapper } from '../ctypes';
import { entVal, type LoadedEnt, loadEnt, N, peek, TwoHalves } from '../kapi/pgtable';
import { mappingOf } from '../kapi/page';
import { specType } from '../kapi/types';
import { stubLabel, stubResult } from '../kapi/stubs';
import { CallerPages } from '../caller-pages';
import { ArrPtr, CURRENT, FieldRef, fileGlobals, type Frame, LocalRef, MmRef, TablePtr, type Thread, UNSET, Unsupported } from '../runtime';
import { type CNode, type Ev, field, fixedValue, line, type Local, named, PAGE, type Place, type X } from './env';
import { FB } from './builder';
import { arith, compare, constX, conv, fromJs, literal, ptrEq, ptrIndex, ptrPlus, zeroOf } from './values';
import { effect, statement } from './stmt';
import { typeOfDescriptor } from './types';
import { UninitRead, WalkOverrun } from '../../versions/kern';
import { call } from './calls';


export function unknownName(b: FB, what: string, l: number): Ev {
  b.env.unknownHits++;
  if (!b.env.unknown.has(what)) b.env.unknown.set(what, l);
  return () => {
    throw new Unsupported(what, l);
  };
}

export function expr(b: FB, n: CNode): X {
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
    case 'compound_statement':
      return statementExpr(b, n);
    case 'gnu_asm_expression': {
      // an asm with no outputs changes nothing the model holds: a compiler barrier or a hint
      // (`asm volatile("" ::: "memory")`); one with outputs gives values no one can know here
      const outs = field(n, 'output_operands');
      if (outs && named(outs).length) throw new Unsupported(`inline asm with outputs (${n.text.slice(0, 40)})`, l);
      return { t: VOID, ev: () => undefined, js: 'undefined' };
    }
    case 'ERROR':
      throw new Unsupported(unreadable(n.text), l);
    default:
      throw new Unsupported(`expression ${n.type} (${n.text.slice(0, 40)})`, l);
  }
}

/** A stretch the C parser could not read, in words: a merge conflict left in the file (a tree mid-rebase), or just text. */
export function unreadable(text: string): string {
  const first = text.trimStart().split('\n')[0].slice(0, 40);
  return /^(<{7}|={7}|>{7}|\|{7})( |$)/.test(first) ? `an unresolved merge conflict (${first})` : `text the C parser could not read (${first})`;
}

/**
 * A GNU statement expression, `({ ...; value; })` (what a kernel-style macro of the file expands
 * to): its statements run in a scope of their own, and its value is the last one's, kept in a
 * slot. It runs as statements do, so the expression around it treats it as a call (b.suspends).
 */
function statementExpr(b: FB, n: CNode): X {
  const items = named(n).filter((c) => c.type !== 'comment');
  const last = items[items.length - 1];
  b.scopes.push(new Map());
  for (const c of items.slice(0, -1)) statement(b, c);
  let x: X = { t: VOID, ev: () => undefined, js: 'undefined' };
  const e = last?.type === 'expression_statement' ? named(last)[0] : undefined;
  if (e) {
    b.mark(last!);
    const v = expr(b, e);
    const tmp = b.slot();
    const ev = v.ev;
    b.op((t, f) => void (f.v[tmp] = ev(t, f)), `V[${tmp}] = ${b.js(v)}`);
    x = { t: v.t, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` };
  } else if (last) statement(b, last);
  b.scopes.pop();
  return x;
}

/**
 * The value of a constant expression, converted to type t where one is given (an initializer of a
 * global or a static, an array's length, an enumerator), worked out as the file is compiled: an
 * expression that needs a running thread (a variable, a call) throws.
 */
export function constValue(b: FB, n: CNode, t?: CType): unknown {
  const x = expr(b, n);
  const v = x.ev(undefined as never, undefined as never);
  return t ? conv(x.t, t)(v) : v;
}

/** A name the user's stubs give a value (a header's global, another file's static key), or undefined. */
export function valueStub(b: FB, name: string): X | undefined {
  const stub = b.env.cfg.stubs[name];
  if (stub === undefined) return undefined;
  b.env.stubsUsed.add(stubLabel(name, stub, false));
  return constX(INT, stubResult(stub));
}

/** The type of an expression, without running it (sizeof, typeof). */
export function typeOnly(b: FB, n: CNode): CType {
  const scratch = new FB(b.env, b.name, b.ret);
  (scratch.scopes as Map<string, Local>[]).splice(0, 1, ...b.scopes);
  return expr(scratch, n).t;
}

/** A read of a local declared without a value: the value, or an UninitRead where nothing has set it yet. */
function readOfUnset(b: FB, s: number, name: string, l: number): { ev: Ev; js: string } {
  const stop = () => {
    throw new UninitRead(name, l);
  };
  return { ev: (_t, f) => (f.v[s] !== UNSET ? f.v[s] : stop()), js: `(V[${s}] !== ${b.k(UNSET)} ? V[${s}] : ${b.k(stop)}())` };
}

export function identifier(b: FB, n: CNode): X {
  const name = n.text;
  const loc = b.lookup(name);
  if (loc?.global !== undefined) return { t: loc.t, ev: keptAt(b, loc.global, loc.t).get };
  if (loc) {
    const s = loc.slot;
    if (loc.unset) return { t: loc.t, ...readOfUnset(b, s, name, line(n)) };
    return { t: loc.t, ev: (_t, f) => f.v[s], js: `V[${s}]` };
  }
  const g = globalPlace(b, name);
  if (g) return { t: g.t, ev: g.get };
  const en = b.env.enums.get(name);
  if (en !== undefined) return constX(INT, en);
  if (name === 'current') return { t: ptr({ k: 'struct', name: 'task_struct' }), ev: () => CURRENT, js: b.k(CURRENT) };
  if (name === 'NULL') return constX(ptr(VOID), null);
  if (name === 'true' || name === 'false') return constX(BOOL, name === 'true' ? 1 : 0);
  const bi = b.env.builtin(name);
  if (bi && bi.kind === 'const') {
    const t = specType(bi.ret, b.env.w);
    const conv = fromJs(t);
    if (!bi.boot) return constX(t, conv(bi.value!(b.env.arch)));
    // the machine this runs on may page with more levels than the arch compiled for: its value, kept per arch
    let seen = b.env.arch;
    let v = conv(bi.value!(seen));
    const read = (th: Thread) => (th.k.arch === seen ? v : ((seen = th.k.arch), (v = conv(bi.value!(seen)))));
    return { t, ev: read, js: `${b.k(read)}(t)` };
  }
  // a global or a constant of a header the tree does not give: the user's word for its value
  return valueStub(b, name) ?? { t: INT, ev: unknownName(b, `identifier ${name}`, line(n)) };
}

/** One of the file's own global variables, kept per actor (runtime.ts fileGlobals). */
function globalPlace(b: FB, name: string): Place | undefined {
  const g = b.env.globals.get(name);
  return g && keptAt(b, g.slot, g.t);
}

/** The place of the global (or function static) kept at index s. */
function keptAt(b: FB, s: number, t: CType): Place {
  const of = b.env.globals;
  const init = b.env.globalInit;
  const store = (th: Thread) => fileGlobals(th.k, of, init);
  return { t, get: (th) => store(th)[s], set: (th, _f, v) => void (store(th)[s] = v) };
}

/** A place (lvalue): a local, *p, a[i], x.f, p->f. */
export function place(b: FB, n: CNode): Place {
  const l = line(n);
  switch (n.type) {
    case 'parenthesized_expression':
      return place(b, named(n)[0]);
    case 'identifier': {
      const loc = b.lookup(n.text);
      if (loc?.global !== undefined) return keptAt(b, loc.global, loc.t);
      if (!loc) {
        const g = globalPlace(b, n.text);
        if (g) return g;
        throw new Unsupported(`assignment to ${n.text}, which is not a local or a variable of the file`, l);
      }
      const s = loc.slot;
      const name = n.text;
      const read = loc.unset ? readOfUnset(b, s, name, l) : { ev: (_t: Thread, f: Frame) => f.v[s], js: `V[${s}]` };
      return {
        t: loc.t,
        get: read.ev,
        set: (_t, f, v) => void (f.v[s] = v),
        addr: (_t, f) => new LocalRef(f.v, s, name),
        bind: () => ({ pre: '', get: read.js, set: (v) => `(V[${s}] = ${v})` }),
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
  if (p instanceof ArrPtr) return elementOf(p, p.off, l);
  if (p instanceof TablePtr) return t.k.m.load(p);
  throw new Unsupported('a read through a pointer the model does not know', l);
}

/** p[i] without making the pointer p + i (pages[*nr] on every page of a walk) */
function readAt(t: Thread, p: any, i: number, l: number): any {
  if (!(p instanceof ArrPtr)) return readThrough(t, ptrPlus(p, i, l), l);
  return elementOf(p, p.off + i, l);
}

/** p's array at `at`: a local array's element (inside it), or the caller's pages[at] (0 where nothing was stored). */
function elementOf(p: ArrPtr, at: number, l: number): any {
  return p.local !== undefined && !(at >= 0 && at < p.len) ? pastArray(p, at, l) : p.get(at) ?? 0;
}

function pastArray(p: ArrPtr, at: number, l: number): never {
  throw new Unsupported(`a read of ${p.local}[${at}], outside the local array of ${p.len}`, l);
}

function writeAt(t: Thread, p: any, i: number, v: any, l: number): void {
  if (p instanceof ArrPtr) storeIn(p, p.off + i, v, l);
  else writeThrough(t, ptrPlus(p, i, l), v, l);
}

/** A store into the caller's pages[]: past its nr_pages entries the kernel would corrupt memory, so the run stops there. */
function storeIn(p: ArrPtr, at: number, v: any, l: number): void {
  if (p.local !== undefined && !(at >= 0 && at < p.len)) throw new Unsupported(`a store to ${p.local}[${at}], outside the local array of ${p.len}`, l);
  if (at >= p.len) throw new WalkOverrun(p.a instanceof CallerPages ? p.a.slice(p.len) : (p.a.slice(0, p.len) as number[]), p.len, l);
  if (!(at >= 0)) throw new Unsupported(`a store to pages[${at}], before the caller's array`, l);
  p.set(at, v);
}

function pastLocal(p: LocalRef, l: number): never {
  throw new Unsupported(`a read or write ${p.past} element(s) past the local ${p.name}`, l);
}

function writeThrough(_t: Thread, p: any, v: any, l: number): void {
  if (p instanceof LocalRef) p.past === 0 ? (p.v[p.i] = v) : pastLocal(p, l);
  else if (p instanceof ArrPtr) storeIn(p, p.off, v, l);
  else throw new Unsupported('a store through a pointer the model does not know (GUP-fast never writes page tables)', l);
}

const HALVES: Record<string, 'lo' | 'hi' | 'all'> = {
  pte_low: 'lo', pte_high: 'hi', pmd_low: 'lo', pmd_high: 'hi', pud_low: 'lo', pud_high: 'hi',
  pte: 'all', pmd: 'all', pud: 'all', p4d: 'all', pgd: 'all',
};

const STRUCT_FIELDS: Record<string, Record<string, CType>> = {
  task_struct: { mm: ptr({ k: 'struct', name: 'mm_struct' }) },
  mm_struct: { write_protect_seq: { k: 'struct', name: 'seqcount_t' }, has_pinned: { k: 'struct', name: 'atomic_t' }, flags: int(64, false, 'unsigned long'), mmap_sem: { k: 'struct', name: 'rw_semaphore' }, mmap_lock: { k: 'struct', name: 'rw_semaphore' }, context: { k: 'struct', name: 'mm_context_t' } },
  page: { _count: { k: 'struct', name: 'atomic_t' }, _refcount: { k: 'struct', name: 'atomic_t' }, _mapcount: { k: 'struct', name: 'atomic_t' }, flags: int(64, false, 'unsigned long') },
  folio: { _refcount: { k: 'struct', name: 'atomic_t' }, _pincount: { k: 'struct', name: 'atomic_t' }, flags: int(64, false, 'unsigned long') },
};

/**
 * A per-mm field the machine does not model: it reads as an mm that has not used it, 0, and the
 * stubs and the line's diagnostic say so; a store to it stops the run.
 */
function unmodelledMmField(b: FB, what: string, why: string, l: number): Place {
  b.env.stubsUsed.add(`${what}=0 (assumed: ${why})`);
  if (!b.env.zeroFields.has(what)) b.env.zeroFields.set(what, l);
  return { t: int(32, true, 'int'), get: () => 0, set: () => { throw new Unsupported(`a store to ${what}`, l); } };
}

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
    // the arch's own per-mm state (x86: an LDT, protection keys; a vendor's flags, Xen's has_foreign_mappings)
    if (p.t.k === 'struct' && p.t.name === 'mm_context_t') return unmodelledMmField(b, `mm->context.${fname}`, "the arch's per-mm state is not modelled", l);
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
    const mt = ptr({ k: 'struct', name: 'address_space' });
    return { t: mt, get: (t, f) => mappingOf(t.k.m, oe(t, f) as number), set: () => { throw new Unsupported(`a store to ${to.name}->mapping`, l); } };
  }
  if (to.k === 'struct') {
    const ft = STRUCT_FIELDS[to.name]?.[fname];
    // a field a tree adds to mm_struct (a vendor's or a research kernel's flag): a new mm has it zeroed
    if (!ft && to.name === 'mm_struct') return unmodelledMmField(b, `mm->${fname}`, 'a field of mm_struct gup-lens does not model; mm_alloc() zeroes a new mm', l);
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

export function addressOf(b: FB, n: CNode): X {
  if (n.type === 'pointer_expression' && n.children[0]?.text === '*') return expr(b, field(n, 'argument')!);
  const p = place(b, n);
  if (!p.addr) throw new Unsupported(`& of ${n.text}`, line(n));
  // a local whose address is taken may be set through it (local_irq_save(flags), &nr), and the built-in that sets it reads its type off its value: a typed zero
  const loc = n.type === 'identifier' ? b.lookup(n.text) : undefined;
  if (loc?.unset && b.zeros[loc.slot] === UNSET) b.zeros[loc.slot] = zeroOf(loc.t);
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
      t.startSub(new TwoHalves(t, pv), tmp);
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
      b.jumpIf({ t: INT, ev: (_t, f) => f.v[tmp], js: `V[${tmp}]` }, end, op === '||', fixedValue(left, b.env) === undefined);
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

export function update(b: FB, n: CNode): X {
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
