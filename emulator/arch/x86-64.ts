/**
 * x86-64: 4-level paging (PGDIR_SHIFT 39, 47-bit user space), or 5-level with LA57 (P4D at 39,
 * PGDIR at 48, 56-bit user space). 64-bit aligned loads are atomic. Huge leaves: 2 MiB PSE pmd,
 * 1 GiB PSE pud. DEVMAP (SOFTW4, bit 58) from 4.5 and protection keys (59..62) from 4.6.
 * Layer: pure emulator.
 */
import type { ArchModel, LevelInfo } from './types';
import { makeX86 } from './x86-common';

const lvl = (level: LevelInfo['level'], shift: number, leaf = false): LevelInfo => ({ level, shift, entries: 512, leaf });

export function makeX86_64(opts: { la57?: boolean } = {}): ArchModel {
  const levels = opts.la57
    ? [lvl('pgd', 48), lvl('p4d', 39), lvl('pud', 30, true), lvl('pmd', 21, true), lvl('pte', 12, true)]
    : [lvl('pgd', 39), lvl('pud', 30, true), lvl('pmd', 21, true), lvl('pte', 12, true)];
  const vaBits = opts.la57 ? 56 : 47;
  return makeX86({
    id: 'x86-64',
    title: opts.la57 ? 'x86-64 (5-level, LA57)' : 'x86-64 (4-level)',
    levels,
    physBits: 52,
    atomicEntryLoad: true,
    hasDevmap: true,
    hasPkeys: true,
    numaBalancing: true,
    userBase: 0x7f00_0000_0000,
    taskSize: 2 ** vaBits - 4096,
    extraFields: [
      { name: 'devmap', shift: 58, eras: ['modern'], since: '4.5', until: '6.5', kernel: '_PAGE_BIT_DEVMAP (SOFTW4, 58)' },
      { name: 'devmap', shift: 57, eras: ['modern'], since: '6.6', until: '6.16', kernel: '_PAGE_BIT_DEVMAP (SOFTW4, 57 once shadow stacks took 58)' },
      { name: 'pkey', shift: 59, width: 4, eras: ['modern'], kernel: '_PAGE_BIT_PKEY_BIT0..3' },
    ],
  });
}

export const x86_64 = makeX86_64();
