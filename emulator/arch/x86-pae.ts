/**
 * x86-32 with PAE: 3 levels (a 4-entry PDPT at PGDIR_SHIFT 30, pmd at 21, pte at 12), 64-bit
 * entries that a 32-bit CPU loads as two 32-bit halves, so one load of an entry is NOT atomic:
 * this is why the x86 walker reads pte_low, pte_high, then pte_low again (gup_get_pte).
 * Physical addresses limited to 44 bits in that era; NX at bit 63; no devmap, no pkeys.
 * Layer: pure emulator.
 */
import { makeX86 } from './x86-common';

export const x86_pae = makeX86({
  id: 'x86-pae',
  title: 'x86-32 PAE (3-level)',
  levels: [
    { level: 'pgd', shift: 30, entries: 4, leaf: false },
    { level: 'pmd', shift: 21, entries: 512, leaf: true },
    { level: 'pte', shift: 12, entries: 512, leaf: true },
  ],
  physBits: 44,
  atomicEntryLoad: false,
  hasDevmap: false,
  hasPkeys: false,
  numaBalancing: false, // ARCH_SUPPORTS_NUMA_BALANCING is x86-64 only
  userBase: 0x4000_0000,
  taskSize: 0xc000_0000,
  extraFields: [],
});
