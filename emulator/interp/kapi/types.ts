/**
 * The kernel API's side of the interpreter: what a built-in is, and the C types kernel headers
 * declare (typedefs the GUP-fast files use), per arch.
 * Layer: pure emulator.
 */
import type { ArchModel } from '../../arch/types';
import type { Sub } from '../../versions/kern';
import { BOOL, entType, INT, int, longType, ptr, U64, UINT, VOID, type CType, type Widths } from '../ctypes';
import type { Thread } from '../runtime';

/** A return type written once for every arch: 'ulong' is 32 or 64 bits as the arch has it. */
export type TypeSpec = 'void' | 'int' | 'uint' | 'bool' | 'long' | 'ulong' | 'u64' | 'page' | 'folio' | 'pages' | 'ptr' | `ent:${'pte' | 'pmd' | 'pud' | 'p4d' | 'pgd'}` | `entp:${'pte' | 'pmd' | 'pud' | 'p4d' | 'pgd'}`;

export interface Builtin {
  name: string;
  /** the kernel semantics it implements, in one line */
  doc: string;
  /** which module it lives in */
  family: string;
  ret: TypeSpec;
  /**
   * const: a constant (value); pure: computes, records nothing; sched: may record a step that
   * is a scheduling point (an entry load, a ref or pin, IRQ on/off, a seqcount read); gen: runs
   * as a kernel generator (the slow path, a load in two halves) and may wait or yield inside.
   */
  kind: 'const' | 'pure' | 'sched' | 'gen';
  value?: (a: ArchModel) => number | bigint;
  run?: (t: Thread, a: any[]) => unknown;
  gen?: (t: Thread, a: any[]) => Sub;
  /** arguments passed as places, not values (local_irq_save(flags) assigns flags) */
  lvalueArgs?: number[];
  /** takes its argument as an expression to read once (READ_ONCE): the compiler reads it as is */
  once?: boolean;
  /** arches this one exists on (default: all) */
  arches?: string[];
}

export function widthsOf(a: ArchModel): Widths {
  return { long: a.id === 'x86-64' || a.id === 'arm64' ? 64 : 32 };
}

export function specType(s: TypeSpec, w: Widths): CType {
  switch (s) {
    case 'void': return VOID;
    case 'int': return INT;
    case 'uint': return UINT;
    case 'bool': return BOOL;
    case 'long': return longType(w, true);
    case 'ulong': return longType(w, false);
    case 'u64': return U64;
    case 'page': return ptr({ k: 'struct', name: 'page' });
    case 'folio': return ptr({ k: 'struct', name: 'folio' });
    case 'pages': return ptr(ptr({ k: 'struct', name: 'page' }));
    case 'ptr': return ptr(VOID);
    default: {
      const [k, lvl] = s.split(':');
      const e = entType(`${lvl}_t`)!;
      return k === 'ent' ? e : ptr(e);
    }
  }
}

/** Typedef names of kernel headers, as this arch defines them. */
export function typedefs(w: Widths): Map<string, CType> {
  const ulong = longType(w, false);
  const m = new Map<string, CType>([
    ['u8', int(8, false, 'u8')], ['u16', int(16, false, 'u16')], ['u32', int(32, false, 'u32')], ['u64', U64],
    ['s8', int(8, true, 's8')], ['s32', INT], ['s64', int(64, true, 's64')],
    ['bool', BOOL], ['_Bool', BOOL], ['size_t', ulong], ['ssize_t', longType(w, true)], ['uintptr_t', ulong],
    ['pteval_t', U64], ['pmdval_t', U64], ['pudval_t', U64], ['p4dval_t', U64], ['pgdval_t', U64], ['phys_addr_t', U64],
    ['gfp_t', UINT], ['vm_fault_t', UINT], ['fault_flags_t', UINT], ['vm_flags_t', ulong], ['pgoff_t', ulong],
    ['atomic_t', { k: 'struct', name: 'atomic_t' }], ['spinlock_t', { k: 'struct', name: 'spinlock_t' }],
    ['pgprot_t', { k: 'struct', name: 'pgprot_t' }], ['seqcount_t', { k: 'struct', name: 'seqcount_t' }],
    ['hugepd_t', { k: 'struct', name: 'hugepd_t' }],
  ]);
  for (const l of ['pte', 'pmd', 'pud', 'p4d', 'pgd']) m.set(`${l}_t`, entType(`${l}_t`)!);
  return m;
}
