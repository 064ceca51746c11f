/**
 * The kernel configuration a file's code is compiled for: the CONFIG_* symbols and the names arch
 * headers define that GUP-fast files test with #if/#ifdef, derived from the arch model. Every
 * symbol says why it is set, the whole list is shown to the user, and each can be overridden
 * (`--config NAME=y|n`). Symbols of several releases are set together where they never conflict
 * (HAVE_GENERIC_RCU_GUP in 3.18, HAVE_GENERIC_GUP in 4.13, HAVE_FAST_GUP in 5.x, HAVE_GUP_FAST in
 * 6.10 all mean "this arch uses the generic fast walker"), so one configuration fits every era.
 * Layer: pure emulator.
 */
import type { ArchModel } from '../arch/types';
import type { Stubs } from './kapi/stubs';

export interface ConfigSymbol {
  name: string;
  /** '1' for y; a number for valued symbols; undefined: not set */
  value: string | undefined;
  why: string;
}

export interface InterpConfig {
  arch: ArchModel;
  symbols: ConfigSymbol[];
  /** name -> value, for the preprocessor */
  defined: Map<string, string>;
  /** the user's stubs for names the census cannot know (kapi/stubs.ts) */
  stubs: Stubs;
  /** object-like macros the file uses but does not define, read from its kernel tree's headers (name -> body) */
  headerMacros: ReadonlyMap<string, string>;
}

/** Function-like macros an arch header would define, applied before the file's own. */
export const HEADER_MACROS: Record<string, string> = {
  // annotations with no meaning for the model
  noinline: '', __always_inline: 'inline', __maybe_unused: '', __must_check: '', __user: '', __force: '',
  __read_mostly: '', __rcu: '', notrace: '', __weak: '', __init: '', __ref: '', __cold: '', __percpu: '',
  __aligned: '',
};

export class ConfigError extends Error {}

/** The configuration of an arch model, with the user's overrides (NAME=y|n|number). */
export function configFor(arch: ArchModel, overrides: Record<string, string> = {}, stubs: Stubs = {}, headerMacros: Record<string, string> = {}): InterpConfig {
  const is64 = arch.id === 'x86-64' || arch.id === 'arm64';
  const x86 = arch.id === 'x86-64' || arch.id === 'x86-pae';
  const y = (on: boolean) => (on ? '1' : undefined);
  const s: ConfigSymbol[] = [
    { name: 'CONFIG_MMU', value: '1', why: 'every modelled arch has an MMU' },
    { name: 'CONFIG_64BIT', value: y(is64), why: `${arch.id} is ${is64 ? '' : 'not '}a 64-bit arch` },
    { name: 'CONFIG_X86', value: y(x86), why: 'x86 arch model' },
    { name: 'CONFIG_X86_64', value: y(arch.id === 'x86-64'), why: 'x86-64 arch model' },
    { name: 'CONFIG_X86_32', value: y(arch.id === 'x86-pae'), why: 'x86-32 arch model' },
    { name: 'CONFIG_X86_PAE', value: y(arch.id === 'x86-pae'), why: 'PAE: 64-bit entries on a 32-bit CPU' },
    { name: 'CONFIG_ARM', value: y(arch.id === 'arm-lpae'), why: '32-bit ARM arch model' },
    { name: 'CONFIG_ARM_LPAE', value: y(arch.id === 'arm-lpae'), why: 'ARM long descriptors (3 levels, 64-bit entries)' },
    { name: 'CONFIG_ARM64', value: y(arch.id === 'arm64'), why: 'arm64 arch model' },
    { name: 'CONFIG_PGTABLE_LEVELS', value: String(arch.levels.length), why: `${arch.id} walks ${arch.levels.map((l) => l.level).join(', ')}` },
    { name: 'CONFIG_TRANSPARENT_HUGEPAGE', value: '1', why: 'THP scenarios (thp-pmd) need it' },
    { name: 'CONFIG_HUGETLB_PAGE', value: '1', why: 'hugetlb scenarios (huge-pud-1g) need it' },
    { name: 'CONFIG_HAVE_ARCH_TRANSPARENT_HUGEPAGE_PUD', value: y(arch.id === 'x86-64'), why: 'x86-64 maps THP at the pud level' },
    { name: 'CONFIG_HAVE_GENERIC_RCU_GUP', value: '1', why: 'the generic walker (3.18 name) is compiled for every arch model' },
    { name: 'CONFIG_HAVE_GENERIC_GUP', value: '1', why: 'the generic walker (4.13 name)' },
    { name: 'CONFIG_HAVE_FAST_GUP', value: '1', why: 'the generic walker (5.x name)' },
    { name: 'CONFIG_HAVE_GUP_FAST', value: '1', why: 'the generic walker (6.10 name)' },
    { name: '__HAVE_ARCH_PTE_SPECIAL', value: y(arch.hasPteSpecial), why: `${arch.id} has a pte special bit` },
    { name: 'CONFIG_ARCH_HAS_PTE_SPECIAL', value: y(arch.hasPteSpecial), why: `${arch.id} has a pte special bit (4.18 name)` },
    { name: 'CONFIG_ARCH_HAS_PTE_DEVMAP', value: y(is64), why: 'x86-64 and arm64 have a devmap bit' },
    { name: '__HAVE_ARCH_PTE_DEVMAP', value: y(is64), why: 'x86-64 and arm64 have a devmap bit (4.x name)' },
    { name: 'CONFIG_ZONE_DEVICE', value: y(is64), why: 'devmap pages exist on 64-bit arches' },
    { name: 'CONFIG_GUP_GET_PTE_LOW_HIGH', value: y(!arch.atomicEntryLoad), why: 'a 64-bit entry is two 32-bit loads (x86 PAE)' },
    { name: 'CONFIG_GUP_GET_PXX_LOW_HIGH', value: y(!arch.atomicEntryLoad), why: 'a 64-bit entry is two 32-bit loads (x86 PAE, 6.2 name)' },
    { name: 'CONFIG_HAVE_RCU_TABLE_FREE', value: y(arch.rcuTableFree), why: `${arch.id} frees page tables ${arch.rcuTableFree ? 'through RCU' : 'after the flush IPI'}` },
    { name: 'CONFIG_MMU_GATHER_RCU_TABLE_FREE', value: y(arch.rcuTableFree), why: 'RCU table free (5.7 name)' },
    { name: 'CONFIG_NUMA_BALANCING', value: y(arch.numaBalancing), why: `${arch.id} ${arch.numaBalancing ? 'has' : 'has no'} NUMA-hinting (protnone) entries` },
    { name: 'CONFIG_CMA', value: '1', why: 'FOLL_LONGTERM scenarios may meet CMA pages' },
    { name: 'CONFIG_MIGRATION', value: '1', why: 'FOLL_LONGTERM migrates unpinnable pages' },
    { name: 'CONFIG_FS_DAX', value: undefined, why: 'no DAX files in the scenarios' },
    { name: 'CONFIG_ARCH_HAS_HUGEPD', value: undefined, why: 'hugepd is powerpc only' },
    { name: 'CONFIG_PGTABLE_HAS_HUGE_LEAVES', value: '1', why: 'huge leaves (6.x)' },
    { name: 'gup_get_pte', value: y(!arch.atomicEntryLoad), why: 'x86 PAE headers of 4.13-5.2 define their own gup_get_pte (low/high/low)' },
    { name: 'CONFIG_SECRETMEM', value: y(arch.id !== 'arm-lpae'), why: `memfd_secret (5.14, default y) needs ARCH_HAS_SET_DIRECT_MAP: ${arch.id === 'arm-lpae' ? '32-bit ARM has none' : 'x86 and arm64 have it'}` },
    { name: 'CONFIG_SMP', value: '1', why: 'races need two CPUs' },
    { name: 'CONFIG_DEBUG_VM', value: '1', why: 'VM_BUG_ON evaluates and reports' },
  ];
  for (const [name, v] of Object.entries(overrides)) {
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new ConfigError(`--config: '${name}' is not a symbol name`);
    const value = v === 'y' || v === '1' ? '1' : v === 'n' || v === '0' ? undefined : /^\d+$/.test(v) ? v : undefined;
    if (value === undefined && v !== 'n' && v !== '0') throw new ConfigError(`--config ${name}=${v}: the value must be y, n or a number`);
    const old = s.find((x) => x.name === name);
    if (old) {
      old.value = value;
      old.why = 'set by the user';
    } else s.push({ name, value, why: 'set by the user' });
  }
  const defined = new Map<string, string>();
  for (const x of s) if (x.value !== undefined) defined.set(x.name, x.name === 'gup_get_pte' ? 'gup_get_pte' : x.value);
  return { arch, symbols: s, defined, stubs, headerMacros: new Map(Object.entries(headerMacros)) };
}
