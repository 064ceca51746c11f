/**
 * C types: a declaration's base type and declarators, type names in casts and sizeof, and a
 * function's signature, each on the arch's own widths.
 * Layer: pure emulator.
 */
import { BOOL, type CType, entType, INT, int, longType, ptr, VOID } from '../ctypes';
import { Unsupported } from '../runtime';
import { type CNode, Env, field, line, named } from './env';


export function baseType(env: Env, n: CNode | null): CType {
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
export function declarator(env: Env, base: CType, d: CNode | null): { name: string; t: CType; init?: CNode; node: CNode | null; size?: CNode | null } {
  let t = base;
  let init: CNode | undefined;
  /** an array's length as written (null: `[]`); the array is a pointer to its first element, as it decays */
  let size: CNode | null | undefined;
  let n = d;
  while (n) {
    switch (n.type) {
      case 'array_declarator':
        if (size !== undefined) throw new Unsupported(`an array of arrays (${n.text})`, line(n));
        size = field(n, 'size');
        t = ptr(t);
        n = field(n, 'declarator');
        continue;
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
        return { name: n.text, t, init, node: n, ...(size !== undefined && { size }) };
      case 'function_declarator':
        n = field(n, 'declarator');
        continue;
      default:
        throw new Unsupported(`declarator ${n.type} (${n.text})`, line(n));
    }
  }
  return { name: '', t, init, node: null };
}

export function typeOfDescriptor(env: Env, n: CNode): CType {
  const base = baseType(env, field(n, 'type'));
  const d = field(n, 'declarator');
  return d ? declarator(env, base, d).t : base;
}

/** A type written as text (the first argument of min_t). */
export function typeFromText(env: Env, s: string): CType | undefined {
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


export function signature(env: Env, n: CNode): { name: string; params: { name: string; t: CType }[]; ret: CType } | undefined {
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
