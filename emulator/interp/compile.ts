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
import type { InterpConfig } from './config';
import { SLOW_PATH } from './kapi/slow';
import { levelNamesOf } from './kapi/pgtable';
import { type CompiledFn, Unsupported } from './runtime';
import { type CNode, Env, field, line, named, type Program } from './compile/env';
import { FB } from './compile/builder';
import { baseType, declarator, signature } from './compile/types';
import { constValue } from './compile/expr';
import { emit } from './compile/emit';
import { statement } from './compile/stmt';
import { zeroOf } from './compile/values';
import { INT } from './ctypes';
import { formatted } from '../run/formatted';

export type { CNode, Program } from './compile/env';
export { fromJs } from './compile/values';
export { codegenOn, setCodegen } from './compile/emit';

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
  return { name, line: line(n), endLine: end, params, ret: sig.ret, ops, generated: ops !== b.ops, nslots: b.nslots, zeros, locals: b.locals, lines: [...b.lines].sort((x, y) => x - y), branches: b.branches };
}

/**
 * Compile the functions of a (preprocessed) file for one arch and configuration: those the
 * roots reach through calls (a 100 KB mm/gup.c has hundreds of functions GUP-fast never calls),
 * or every one when no root is defined in the file.
 */
export function compileProgram(root: CNode, arch: ArchModel, cfg: InterpConfig, roots: string[] = []): Program {
  const env = new Env(arch, cfg, levelNamesOf(root.text), root.text);
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
          broken.set(name, formatted(asUnsupported(e, name, c)));
        }
      } else if (c.type === 'declaration') {
        if (field(c, 'type')?.type === 'enum_specifier') enumsOf(env, field(c, 'type')!);
        globalsOf(env, c);
      } else if (c.type === 'enum_specifier') enumsOf(env, c);
      else if (c.type === 'preproc_if' || c.type === 'preproc_ifdef' || c.type === 'preproc_else' || c.type === 'linkage_specification' || c.type === 'declaration_list') visit(c);
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
      broken.set(name, formatted(asUnsupported(e, name, node)));
    }
    for (const c of calls) if (!done.has(c)) todo.push(c);
  }
  return { fns: env.fns, broken, unknown: env.unknown, assumed: env.assumed, zeroFields: env.zeroFields, cfg, stubsUsed: [...env.stubsUsed].sort(), defined: [...defs.keys()], slowPath: [...slowPath], levels: env.levels };
}

/**
 * A file-scope declaration's variables: each scalar or pointer the file defines here (not extern),
 * with its constant initializer or zero. Anything else (an array, a struct, an initializer that is
 * no constant, a type the interpreter does not know) stays unbound: a run that reads it stops there.
 */
function globalsOf(env: Env, n: CNode): void {
  if (named(n).some((c) => c.type === 'storage_class_specifier' && c.text === 'extern')) return;
  let base;
  try {
    base = baseType(env, field(n, 'type'));
  } catch {
    return;
  }
  for (const d of n.childrenForFieldName('declarator').filter((c): c is CNode => !!c)) {
    if (d.type === 'function_declarator') continue;
    try {
      const { name, t, init, size } = declarator(env, base, d);
      if (!name || size !== undefined || t.k === 'struct' || t.k === 'void' || env.globals.has(name)) continue;
      const v = init ? constValue(new FB(env, name, t), init, t) : zeroOf(t);
      env.globals.set(name, { slot: env.globalInit.length, t });
      env.globalInit.push(v);
    } catch {
      // not a constant the interpreter can read: left unbound
    }
  }
}

/** An enum's enumerators as constants: each its given value (a constant expression) or one more than the one before. */
function enumsOf(env: Env, n: CNode): void {
  const list = field(n, 'body');
  if (!list) return;
  let next = 0;
  for (const e of named(list)) {
    if (e.type !== 'enumerator') continue;
    const name = field(e, 'name')?.text;
    const value = field(e, 'value');
    if (value) {
      try {
        next = Number(constValue(new FB(env, name ?? 'enum', INT), value));
      } catch {
        return; // a value the interpreter cannot read: this enumerator and the rest stay unbound
      }
    }
    if (!name || !Number.isFinite(next)) return;
    env.enums.set(name, next++);
  }
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
