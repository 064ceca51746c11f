/**
 * The kernel API's side of the interpreter: what a built-in is, and the C types kernel headers
 * declare (typedefs the GUP-fast files use), per arch.
 * Layer: pure emulator.
 */
import type { ArchModel, Level } from '../../arch/types';
import type { Sub } from '../../versions/kern';
import { BOOL, entType, INT, int, longType, ptr, U64, UINT, VOID, type CType, type Widths } from '../ctypes';
import type { Thread } from '../runtime';

/** A return type written once for every arch: 'ulong' is 32 or 64 bits as the arch has it. */
export type TypeSpec = 'void' | 'int' | 'uint' | 'bool' | 'long' | 'ulong' | 'u64' | 'page' | 'folio' | 'pages' | 'ptr' | `ent:${'pte' | 'pmd' | 'pud' | 'p4d' | 'pgd'}` | `entp:${'pte' | 'pmd' | 'pud' | 'p4d' | 'pgd'}`;

/** What a gen built-in's quick run answers when it cannot do without its generator. */
export const NEEDS_GEN: unique symbol = Symbol('needs its generator');

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
  /** a const the kernel fixes at boot, not at build (x86-64 picks 4- or 5-level paging as it starts): read from the running machine */
  boot?: boolean;
  /** what it returns on every modelled arch whatever its arguments (a hook only another arch implements): a test of it is no decision */
  fixed?: number | ((a: ArchModel, levels: readonly Level[]) => number | undefined);
  run?: (t: Thread, a: any[]) => unknown;
  gen?: (t: Thread, a: any[]) => Sub;
  /** a gen built-in's run where it needs no generator (a whole-entry load): its value, or NEEDS_GEN (then gen runs) */
  quick?: (t: Thread, a: any[]) => unknown;
  /** arguments passed as places, not values (local_irq_save(flags) assigns flags) */
  lvalueArgs?: number[];
  /** takes its argument as an expression to read once (READ_ONCE): the compiler reads it as is */
  once?: boolean;
  /** arches this one exists on (default: all) */
  arches?: string[];
  /** the releases whose GUP-fast code reaches it (default: read from the doc's leading release, else every release) */
  releases?: string;
}

/** Families of names whose releases are clear from the name (first match wins). */
const BY_NAME: [RegExp, string][] = [
  [/^(FOLL_PIN|FOLL_FAST_ONLY|unpin_user_pages?|NR_FOLL_PIN_(ACQUIRED|RELEASED))$/, '5.6+'],
  [/^(GUP_PIN_COUNTING_BIAS|hpage_pincount_\w+|page_maybe_dma_pinned|compound_pincount_ptr)$/, '5.7+'],
  [/^(folio_\w+|page_folio|is_zero_folio|put_devmap_managed_folio_refs|node_stat_mod_folio|arch_make_folio_accessible|VM_\w+_FOLIO)$/, '5.18+'],
  [/^(p4d_\w+|PTRS_PER_P4D|P4D_\w+|mm_p4d_folded)$/, '4.11+'],
  [/^(pte|pmd|pud)_devmap$|^(get|put)_dev_pagemap$/, '4.5+'],
  [/^page_ref_(add|inc|sub|count|add_unless)$/, '4.6+'],
  [/^page_cache_(get|add)_speculative$/, '3.18–5.1'],
  [/^(pte|pmd|pud)_protnone$/, '4.0+'],
  [/^mmap_read_(lock|unlock)\w*$|^mmap_assert_locked$/, '5.8+'],
  [/^(down_read|up_read)$/, 'before 5.8'],
  [/^(raw_read_seqcount|read_seqcount_retry)$/, '5.11+ (5.10.y)'],
  [/^(ptep_get|ptep_get_lockless)$/, '5.10+'],
  [/^pmdp_get_lockless$/, '6.2+'],
  [/^try_get_page$/, '5.2+ (4.14.y, 4.19.y)'],
  [/^try_get_compound_head$/, '5.2–5.17 (stable 4.4.y–4.19.y; RHEL 7)'],
  [/^(FOLL_LONGTERM|is_migrate_cma_page)$/, '4.15+'],
  [/^(MMF_HAS_PINNED|mm_set_has_pinned_flag)$/, '5.12+'],
  [/^(gup_must_unshare|PageAnonExclusive)$/, '5.19+'],
  [/^(access_ok|VERIFY_READ|VERIFY_WRITE)$/, 'every release (the type argument before 5.0)'],
];

/** The releases a built-in covers: its own field, a release its doc starts with ("5.7:", "4.6-4.13:", "before 4.5:"), or every one. */
export function releasesOf(b: Pick<Builtin, 'releases' | 'doc' | 'name'>): string {
  if (b.releases) return b.releases;
  for (const [re, r] of BY_NAME) if (re.test(b.name)) return r;
  const m = /^(before \d+\.\d+|\d+\.(?:\d+|x)(?:\s*[-–]\s*\d+\.\d+|\+)?)(?=[:\s(])/.exec(b.doc);
  return m ? m[1].replace('-', '–') : 'every release';
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
