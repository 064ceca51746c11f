import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ARCHES, getArch } from '../../emulator/arch';
import { fieldApplies, fromBig, toBig } from '../../emulator/arch/bits';
import { eraOfRelease } from '../../emulator/arch/release';
import type { Era, Level } from '../../emulator/arch/types';

const bit = (n: number) => 1n << BigInt(n);

/** [arch, level, era, raw, predicate, expected] — one row per bit GUP-fast tests. */
type Row = [string, Level, Era, bigint, 'present' | 'write' | 'user' | 'special' | 'devmap' | 'protnone' | 'huge' | 'splitting', boolean];

const rows: Row[] = [
  // x86-64 (pgtable_types.h)
  ['x86-64', 'pte', 'modern', bit(0), 'present', true],
  ['x86-64', 'pte', 'modern', 0n, 'present', false],
  ['x86-64', 'pte', 'modern', bit(0) | bit(1), 'write', true],
  ['x86-64', 'pte', 'modern', bit(0), 'write', false],
  ['x86-64', 'pte', 'modern', bit(0) | bit(2), 'user', true],
  ['x86-64', 'pte', 'modern', bit(0) | bit(9), 'special', true],
  // without a release the era's (6.9): _PAGE_DEVMAP is bit 57 there (see the rows by release)
  ['x86-64', 'pte', 'modern', bit(0) | bit(57), 'devmap', true],
  ['x86-64', 'pte', 'thp-split', bit(0) | bit(57), 'devmap', false],
  ['x86-64', 'pte', 'modern', bit(8), 'protnone', true],
  ['x86-64', 'pte', 'modern', bit(8), 'present', true], // pte_present includes PROTNONE on x86
  ['x86-64', 'pte', 'modern', bit(0) | bit(8), 'protnone', false], // GLOBAL on a present entry
  ['x86-64', 'pmd', 'modern', bit(0) | bit(7), 'huge', true],
  ['x86-64', 'pud', 'modern', bit(0) | bit(7), 'huge', true],
  ['x86-64', 'pte', 'modern', bit(0) | bit(7), 'huge', false], // bit 7 is PAT in a pte
  ['x86-64', 'pmd', 'thp-split', bit(0) | bit(7) | bit(10), 'splitting', true],
  ['x86-64', 'pmd', 'modern', bit(0) | bit(7) | bit(10), 'splitting', false],
  // x86 PAE: same low bits, no devmap
  ['x86-pae', 'pte', 'modern', bit(0) | bit(2) | bit(1), 'write', true],
  ['x86-pae', 'pte', 'modern', bit(0) | bit(9), 'special', true],
  ['x86-pae', 'pte', 'modern', bit(0) | bit(58), 'devmap', false],
  ['x86-pae', 'pmd', 'modern', bit(0) | bit(7), 'huge', true],
  ['x86-pae', 'pte', 'modern', bit(8), 'protnone', true],
  // ARM LPAE (pgtable-3level.h)
  ['arm-lpae', 'pte', 'modern', bit(0) | bit(1), 'present', true],
  ['arm-lpae', 'pte', 'modern', bit(0) | bit(1) | bit(6), 'user', true],
  ['arm-lpae', 'pte', 'modern', bit(0) | bit(1), 'write', true],
  ['arm-lpae', 'pte', 'modern', bit(0) | bit(1) | bit(58), 'write', false], // L_PTE_RDONLY
  ['arm-lpae', 'pte', 'modern', bit(0) | bit(1) | bit(56), 'special', true],
  ['arm-lpae', 'pmd', 'modern', bit(0), 'huge', true], // section: type 1
  ['arm-lpae', 'pmd', 'modern', bit(0) | bit(1), 'huge', false], // table: type 3
  ['arm-lpae', 'pmd', 'thp-split', bit(0) | bit(56), 'splitting', true], // L_PMD_SECT_SPLITTING
  ['arm-lpae', 'pte', 'modern', bit(57), 'protnone', false], // no NUMA balancing on 32-bit ARM
  // arm64 (pgtable-hwdef.h, pgtable-prot.h)
  ['arm64', 'pte', 'modern', bit(0) | bit(1), 'present', true],
  ['arm64', 'pte', 'modern', bit(0) | bit(6), 'user', true],
  ['arm64', 'pte', 'modern', bit(0) | bit(51), 'write', true], // PTE_WRITE = PTE_DBM
  ['arm64', 'pte', 'modern', bit(0) | bit(7), 'write', false],
  ['arm64', 'pte', 'thp-split', bit(0) | bit(57), 'write', true], // old PTE_WRITE position
  ['arm64', 'pmd', 'thp-split', bit(0) | bit(57), 'write', true], // 3.17-4.4: pmd_write is PTE_WRITE (57)
  ['arm64', 'pmd', 'thp-split', bit(0), 'write', false],
  ['arm64', 'pte', 'modern', bit(0) | bit(56), 'special', true],
  ['arm64', 'pte', 'modern', bit(0) | bit(57), 'devmap', true],
  ['arm64', 'pte', 'modern', bit(58), 'protnone', true],
  ['arm64', 'pte', 'modern', bit(58), 'present', true],
  ['arm64', 'pte', 'modern', bit(0) | bit(58), 'protnone', false],
  ['arm64', 'pmd', 'modern', bit(0), 'huge', true], // block
  ['arm64', 'pud', 'modern', bit(0), 'huge', true],
  ['arm64', 'pmd', 'modern', bit(0) | bit(1), 'huge', false],
  ['arm64', 'pmd', 'thp-split', bit(0) | bit(56), 'splitting', true], // 3.17-4.4: the pmd's special bit
  ['arm64', 'pmd', 'thp-split', bit(0) | bit(57), 'splitting', false],
  ['arm64', 'pmd', 'modern', bit(0) | bit(57), 'splitting', false],
];

describe('decode gives the kernel meaning of each bit GUP-fast tests', () => {
  it.each(rows)('%s %s (%s) %s → %s is %s', (arch, level, era, raw, pred, want) => {
    const d = getArch(arch).decode(level, raw, era);
    expect(d[pred]).toBe(want);
  });
});

describe('frame numbers', () => {
  it.each([
    ['x86-64', 0x000f_ffff_ffff_f000n, 0xff_ffff_ffffn],
    ['x86-pae', 0x0000_0fff_ffff_f000n, 0xffff_ffffn],
    ['arm-lpae', 0x0000_00ff_ffff_f000n, 0xfff_ffffn],
    ['arm64', 0x0000_ffff_ffff_f000n, 0xf_ffff_ffffn],
  ])('%s: the widest physical address decodes to the widest frame', (arch, raw, pfn) => {
    expect(BigInt(getArch(arch).decode('pte', raw).pfn)).toBe(pfn);
  });

  it.each(['x86-pae', 'arm-lpae'])('%s: a page above 4 GiB keeps its high frame bits', (id) => {
    const arch = getArch(id);
    const pfn = 0x12_3456; // physical 0x1_2345_6000, above 4 GiB
    const e = arch.mkLeaf('pte', pfn, { write: true, user: true }, 'modern');
    expect(e.hi & 0xff).toBe(1); // bit 32 of the physical address lives in the high half
    expect(arch.pfn(e)).toBe(pfn);
    expect(arch.decode('pte', toBig(e)).phys).toBe('0x0000000123456000');
  });
});

describe('encode and decode round-trip exactly', () => {
  for (const arch of ARCHES) {
    for (const level of arch.levels.map((l) => l.level)) {
      for (const era of ['modern', 'thp-split'] as Era[]) {
        it(`${arch.id} ${level} ${era}`, () => {
          fc.assert(
            fc.property(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), (raw) => {
              const d = arch.decode(level, raw, era);
              expect(arch.encode(level, { pfn: d.pfn, fields: d.fields, other: d.other }, era)).toBe(raw);
              // the two-halves form agrees with the bigint form
              expect(toBig(fromBig(raw))).toBe(raw);
              expect(arch.pfn(fromBig(raw))).toBe(d.pfn);
            }),
            { numRuns: 300 },
          );
        });
      }
    }
  }

  it('named fields never overlap each other or the frame number', () => {
    for (const arch of ARCHES) {
      for (const level of arch.levels.map((l) => l.level)) {
        for (const era of ['modern', 'thp-split'] as Era[]) {
          for (const release of [undefined, '2.6.32', '2.6.38', '3.7', '3.8', '3.11', '3.15', '3.16', '3.18', '3.19', '3.20', '4.4', '4.5', '6.9', '6.10']) {
          if (release && eraOfRelease(release) !== era) continue;
          const d = arch.decode(level, (1n << 64n) - 1n, era, release);
          let seen = ((1n << BigInt(arch.physBits - 12)) - 1n) << 12n;
          for (const f of arch.fields.filter((x) => x.name in d.fields)) {
            if (!fieldApplies(f, level, era, d.release)) continue;
            const m = ((1n << BigInt(f.width ?? 1)) - 1n) << BigInt(f.shift);
            expect(seen & m, `${arch.id} ${level} ${era} ${d.release} ${f.name}`).toBe(0n);
            seen |= m;
          }
          }
        }
      }
    }
  });

  it('builders make entries their own predicates agree with', () => {
    for (const arch of ARCHES) {
      for (const l of arch.levels.filter((x) => x.leaf)) {
        const rw = arch.mkLeaf(l.level, 0x4_0000, { write: true, user: true }, 'modern');
        const ro = arch.wrprotect(l.level, rw, 'modern');
        expect(arch.present(rw) && arch.user(rw) && arch.write(l.level, rw, 'modern')).toBe(true);
        expect(arch.write(l.level, ro, 'modern')).toBe(false);
        expect(arch.leaf(l.level, rw)).toBe(l.level !== 'pte');
        expect(arch.pfn(rw)).toBe(0x4_0000);
      }
    }
  });

  it('rejects fields an arch does not have', () => {
    expect(() => getArch('arm-lpae').encode('pte', { pfn: 1, fields: { devmap: 1 } })).toThrow(/no field 'devmap'/);
    expect(() => getArch('sparc')).toThrow(/valid archs: x86-64, x86-pae, arm-lpae, arm64/);
  });

  it('x86-64 5-level adds a p4d level', () => {
    const a = getArch('x86-64', { la57: true });
    expect(a.levels.map((l) => `${l.level}:${l.shift}`)).toEqual(['pgd:48', 'p4d:39', 'pud:30', 'pmd:21', 'pte:12']);
  });
});

/** [arch, level, release, raw, field or predicate, expected] — a bit whose meaning moved between releases. */
const releaseRows: [string, Level, string, bigint, string, boolean | number][] = [
  // x86: the splitting bit was SOFTW1 (the special bit) from 2.6.38, SOFTW2 from 3.16
  ['x86-64', 'pmd', '3.2', bit(0) | bit(7) | bit(9), 'splitting', true],
  ['x86-64', 'pmd', '3.2', bit(0) | bit(7) | bit(10), 'splitting', false],
  ['x86-64', 'pmd', '3.18', bit(0) | bit(7) | bit(9), 'splitting', false],
  ['x86-64', 'pmd', '3.18', bit(0) | bit(7) | bit(10), 'splitting', true],
  ['x86-64', 'pmd', '4.8', bit(0) | bit(7) | bit(10), 'splitting', false],
  ['x86-pae', 'pmd', '2.6.39', bit(0) | bit(7) | bit(9), 'field:splitting', 1],
  // arm64: the 3.11 THP patch, 3.17-4.4, 4.5-6.9, 6.10
  ['arm64', 'pmd', '3.11', bit(0) | bit(57), 'splitting', true],
  ['arm64', 'pmd', '3.11', bit(0), 'write', true],
  ['arm64', 'pmd', '3.18', bit(0) | bit(56), 'splitting', true],
  ['arm64', 'pmd', '3.18', bit(0) | bit(57), 'write', true],
  ['arm64', 'pmd', '3.18', bit(0), 'write', false],
  ['arm64', 'pte', '4.9', bit(0) | bit(1) | bit(51), 'write', true],
  // PTE_DEVMAP from 5.3 only; before, bit 57 is unused (and from 4.3 write is DBM, not 57)
  ['arm64', 'pte', '4.9', bit(0) | bit(1) | bit(57), 'devmap', false],
  ['arm64', 'pte', '5.4', bit(0) | bit(1) | bit(57), 'devmap', true],
  ['arm64', 'pte', '4.3', bit(0) | bit(1) | bit(51), 'write', true],
  ['arm64', 'pte', '4.3', bit(0) | bit(1) | bit(57), 'write', false],
  ['arm64', 'pte', '4.2', bit(0) | bit(1) | bit(57), 'write', true],
  // x86 NUMA hinting kept the user bit, marked with bit 8 (3.8-3.15) or bit 9 (3.16-3.19)
  ['x86-64', 'pte', '3.10', bit(2) | bit(8), 'protnone', true],
  ['x86-64', 'pte', '3.18', bit(2) | bit(9), 'protnone', true],
  ['x86-64', 'pte', '3.18', bit(2) | bit(9), 'present', true],
  ['x86-64', 'pte', '4.9', bit(2) | bit(9), 'protnone', false],
  // ARM LPAE: L_PTE_SPECIAL from 3.18; in 3.12 bit 56 of a pte meant nothing
  ['arm-lpae', 'pte', '3.12', bit(0) | bit(1) | bit(56), 'special', false],
  ['arm-lpae', 'pte', '3.18', bit(0) | bit(1) | bit(56), 'special', true],
  ['arm64', 'pte', '6.6', bit(1) | bit(58), 'protnone', true],
  ['arm64', 'pte', '6.10', bit(1) | bit(58), 'protnone', false],
  ['arm64', 'pte', '6.10', bit(1) | bit(11), 'protnone', true],
  ['arm64', 'pte', '6.10', bit(1) | bit(58), 'field:uffd_wp', 1],
  // x86-64 _PAGE_DEVMAP: bit 58 (SOFTW4) from 4.5, bit 57 from 6.6 (shadow stacks' SAVED_DIRTY is 58), none from 6.17
  ['x86-64', 'pte', '4.9', bit(0) | bit(58), 'devmap', true],
  ['x86-64', 'pte', '6.1', bit(0) | bit(58), 'devmap', true],
  ['x86-64', 'pte', '6.1', bit(0) | bit(57), 'devmap', false],
  ['x86-64', 'pte', '6.6', bit(0) | bit(57), 'devmap', true],
  ['x86-64', 'pte', '6.6', bit(0) | bit(58), 'devmap', false],
  ['x86-64', 'pte', '6.18', bit(0) | bit(57), 'devmap', false],
  ['arm64', 'pte', '6.18', bit(0) | bit(1) | bit(57), 'devmap', false],
];

describe('decode by release', () => {
  it('x86 names the NUMA-hinting bit where each release had it: bit 8 in 3.8-3.15, bit 9 in 3.16-3.19', () => {
    const kernelOf = (release: string, bit: number) => getArch('x86-64').fields.find((f) => f.shift === bit && fieldApplies(f, 'pte', eraOfRelease(release), release))!.kernel;
    expect(kernelOf('3.10', 8)).toMatch(/_PAGE_BIT_NUMA/);
    expect(kernelOf('3.10', 9)).not.toMatch(/NUMA/);
    expect(kernelOf('3.18', 9)).toMatch(/_PAGE_BIT_NUMA/);
    expect(kernelOf('3.18', 8)).not.toMatch(/NUMA/);
    expect(kernelOf('4.9', 9)).toBe('_PAGE_BIT_SPECIAL (SOFTW1)');
  });

  it.each(releaseRows)('%s %s %s %s → %s is %s', (arch, level, release, raw, what, want) => {
    const d = getArch(arch).decode(level, raw, undefined, release);
    expect(d.release).toBe(release);
    if (what.startsWith('field:')) expect(d.fields[what.slice(6)]).toBe(want);
    else expect(d[what as 'write']).toBe(want);
  });

  it('a release picks its era: before 4.5 the splitting protocol, from 4.5 refcount freezing', () => {
    expect(getArch('arm64').decode('pte', 1n, 'modern', '4.4').era).toBe('thp-split');
    expect(getArch('arm64').decode('pte', 1n, 'thp-split', '4.5').era).toBe('modern');
  });
});

describe('what a decoded entry says', () => {
  it('a table descriptor reads as a table (x86: the U/S and R/W it passes down), never as a page\'s rdonly or write', async () => {
    const { flagNames } = await import('../../emulator/trace/describe');
    const arm = getArch('arm64');
    expect(flagNames(arm.decode('pmd', toBig(arm.mkTable('pmd', 0x100003)), 'modern'))).toEqual(['table']);
    const x86 = getArch('x86-64');
    expect(flagNames(x86.decode('pmd', toBig(x86.mkTable('pmd', 0x100003)), 'modern'))).toEqual(['table', 'user', 'rw']);
    const leaf = x86.mkLeaf('pte', 0x100004, { write: false, user: true }, 'modern');
    expect(flagNames(x86.decode('pte', toBig(leaf), 'modern'))).toEqual(['present', 'user', 'rdonly']);
  });

  it('a NUMA-hinting (PROT_NONE) entry keeps no user permission', () => {
    for (const id of ['x86-64', 'x86-pae', 'arm64']) {
      const a = getArch(id);
      const e = a.mkProtnone('pte', a.mkLeaf('pte', 0x100004, { write: true, user: true }, 'modern'));
      expect(a.protnone(e), id).toBe(true);
      expect(a.user(e), id).toBe(false);
    }
  });
});

describe('the predicates and the entries built follow the release (ArchModel.at)', () => {
  const PFN = 0x12345;
  it('arm64 before 5.3 cannot build a devmap entry, and reads bit 57 as nothing; from 5.3 it can', () => {
    const a49 = getArch('arm64').at('4.9');
    expect(a49.hasDevmap).toBe(false);
    expect(() => a49.mkLeaf('pte', PFN, { write: true, user: true, devmap: true }, 'modern')).toThrow(/before 5\.3/);
    const a54 = getArch('arm64').at('5.4');
    const e = a54.mkLeaf('pte', PFN, { write: true, user: true, devmap: true }, 'modern');
    expect(a54.devmap('pte', e, 'modern')).toBe(true);
    expect(a49.devmap('pte', e, 'modern')).toBe(false);
  });

  it('arm64 4.3-4.4 writes with DBM (bit 51) in the pre-4.5 era; 3.18 with bit 57; wrprotect clears the release\'s bit', () => {
    for (const [r, b] of [['4.3', 51], ['3.18', 57]] as const) {
      const a = getArch('arm64').at(r);
      const e = a.mkLeaf('pte', PFN, { write: true, user: true }, 'thp-split');
      expect(a.decode('pte', (BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0), undefined, r).write).toBe(true);
      expect(((e.hi >>> (b - 32)) & 1) === 1).toBe(true);
      expect(a.write('pte', a.wrprotect('pte', e, 'thp-split'), 'thp-split')).toBe(false);
    }
  });

  it('arm64 6.10 builds PROT_NONE as not-valid with nG (bit 58 left alone), and only that reads as protnone', () => {
    const a = getArch('arm64').at('6.10');
    const e = a.mkProtnone('pte', a.mkLeaf('pte', PFN, { write: true, user: true }, 'modern'));
    expect(a.protnone(e)).toBe(true);
    expect(a.present(e)).toBe(true);
    expect((e.hi >>> (58 - 32)) & 1).toBe(0);
    expect(getArch('arm64').at('6.6').protnone(e)).toBe(false);
  });

  it('x86 3.18 marks a NUMA-hinting pte with bit 9 and keeps the user bit; 4.0 makes it PAGE_NONE; 3.2 splits on bit 9', () => {
    const base = getArch('x86-64').mkLeaf('pte', PFN, { write: true, user: true }, 'thp-split');
    const a318 = getArch('x86-64').at('3.18');
    const h = a318.mkProtnone('pte', base);
    expect([a318.protnone(h), a318.user(h), (h.lo >>> 9) & 1, (h.lo >>> 8) & 1]).toEqual([true, true, 1, 0]);
    const a40 = getArch('x86-64').at('4.0');
    const n = a40.mkProtnone('pte', base);
    expect([a40.protnone(n), a40.user(n), (n.lo >>> 8) & 1]).toEqual([true, false, 1]);
    const a32 = getArch('x86-64').at('3.2');
    const s = a32.mkSplitting(a32.mkLeaf('pmd', 0x200, { write: true, user: true }, 'thp-split'), 'thp-split');
    expect([(s.lo >>> 9) & 1, (s.lo >>> 10) & 1, a32.splitting('pmd', s, 'thp-split')]).toEqual([1, 0, true]);
    expect(getArch('x86-64').at('3.18').splitting('pmd', s, 'thp-split')).toBe(false);
  });

  it('ARM LPAE before 3.18 has no special bit: a VM_PFNMAP pte is built like any other', () => {
    const a = getArch('arm-lpae').at('3.12');
    expect(a.hasPteSpecial).toBe(false);
    const e = a.mkLeaf('pte', PFN, { write: true, user: true, special: true }, 'thp-split');
    expect(a.special('pte', e)).toBe(false);
    expect((e.hi >>> (56 - 32)) & 1).toBe(0);
    expect(getArch('arm-lpae').at('3.18').special('pte', getArch('arm-lpae').at('3.18').mkLeaf('pte', PFN, { write: true, user: true, special: true }, 'thp-split'))).toBe(true);
  });

  it('x86-64 carries a protection key in bits 59-62 from 4.6; 4.5 and PAE have none to build', () => {
    const a = getArch('x86-64').at('4.6');
    const e = a.mkLeaf('pte', PFN, { write: true, user: true, pkey: 5 }, 'modern');
    expect(a.pkey!(e)).toBe(5);
    expect((e.hi >>> (59 - 32)) & 15).toBe(5);
    expect(a.pfn(e)).toBe(PFN);
    expect(() => getArch('x86-64').at('4.5').mkLeaf('pte', PFN, { write: true, user: true, pkey: 1 }, 'modern')).toThrow(/no protection keys before 4.6/);
    expect(() => getArch('x86-pae').mkLeaf('pte', PFN, { write: true, user: true, pkey: 1 }, 'modern')).toThrow(/no protection keys/);
    expect(getArch('x86-64').at('4.5').pkey!(e)).toBe(0);
  });

  it('one model per layout: releases with the same bits share it, and a variant answers for other releases too', () => {
    expect(getArch('arm64').at('5.4')).toBe(getArch('arm64').at('5.15'));
    // 5.19 moved the swap type up a bit (__SWP_EXCLUSIVE), 6.10 the PROT_NONE mark
    expect(getArch('arm64').at('5.4')).not.toBe(getArch('arm64').at('6.1'));
    expect(getArch('arm64').at('6.1')).not.toBe(getArch('arm64').at('6.10'));
    expect(getArch('x86-64').at('3.18').at('4.9')).toBe(getArch('x86-64').at('4.9'));
  });
});
