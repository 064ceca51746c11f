/**
 * The one registry of the kernel API the interpreter binds: every built-in, one module per
 * family, and the forms the compiler itself handles. `kapiTable()` lists them all with the
 * kernel semantics each implements (`gup-lens kapi`, and the README).
 * Layer: pure emulator.
 */
import type { ArchModel } from '../../arch/types';
import { pageBuiltins } from './page';
import { pgtableBuiltins } from './pgtable';
import { rangeBuiltins } from './range';
import { slowBuiltins } from './slow';
import { syncBuiltins } from './sync';
import { releasesOf, type Builtin } from './types';

export const KAPI: readonly Builtin[] = [...pgtableBuiltins(), ...pageBuiltins(), ...syncBuiltins(), ...rangeBuiltins(), ...slowBuiltins()];

const BY_NAME = new Map<string, Builtin[]>();
for (const b of KAPI) BY_NAME.set(b.name, [...(BY_NAME.get(b.name) ?? []), b]);

/**
 * A tracepoint, or an Android vendor hook (trace_android_vh_*): with nothing attached it does
 * nothing, and an out-argument it was handed keeps the value the caller gave it.
 */
const TRACEPOINT: Builtin = { name: 'trace_*', doc: 'a tracepoint or vendor hook: nothing attached, no effect', family: 'range', kind: 'pure', ret: 'void', run: () => undefined };

/** The built-in of this name on this arch, if any. */
export function builtin(name: string, arch: ArchModel): Builtin | undefined {
  const b = BY_NAME.get(name)?.find((x) => !x.arches || x.arches.includes(arch.id));
  return b ?? (/^trace_[a-z0-9_]+$/.test(name) ? TRACEPOINT : undefined);
}

/** Forms the compiler handles itself (their argument is a place or a type, not a value). */
export const COMPILER_FORMS: { name: string; doc: string }[] = [
  { name: 'READ_ONCE / ACCESS_ONCE', doc: 'read the place once: an entry slot is one load, or two 32-bit loads on x86 PAE' },
  { name: 'WRITE_ONCE', doc: 'store to the place once' },
  { name: 'IS_ENABLED', doc: 'a CONFIG_ symbol of the run\'s configuration, as 0 or 1' },
  { name: 'sizeof', doc: 'the size of the type on this arch (unsigned long: 8 or 4)' },
  { name: 'current / current->mm', doc: 'the calling task and its mm' },
  { name: 'min / max / min_t / max_t', doc: 'the smaller or larger of two values (in the given type)' },
  { name: 'smp_load_acquire / smp_store_release', doc: 'a load from (a store to) the place &x names, as READ_ONCE (WRITE_ONCE): each CPU steps in order, so the ordering they ask for holds' },
  { name: 'ARRAY_SIZE', doc: 'the length a local array was declared with' },
  { name: 'static_branch_likely / static_branch_unlikely / static_key_enabled / static_key_true / static_key_false', doc: 'the static key\'s state: as the file defines it (DEFINE_STATIC_KEY_TRUE/FALSE; no walk flips one), or as a stub says for a key of another file' },
];

/** Every built-in as a Markdown table: name, family, kind, semantics. */
export function kapiTable(): string {
  const rows = [...KAPI, TRACEPOINT].map((b) => `| \`${b.name}\` | ${b.family} | ${b.kind} | ${releasesOf(b)} | ${b.doc}${b.arches ? ` (${b.arches.join(', ')})` : ''} |`);
  const forms = COMPILER_FORMS.map((f) => `| \`${f.name}\` | compiler | form | every release | ${f.doc} |`);
  return ['| name | family | kind | releases | kernel semantics |', '|---|---|---|---|---|', ...forms, ...rows].join('\n');
}

export type { Builtin } from './types';
export { releasesOf } from './types';
