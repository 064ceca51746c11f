import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import { MIGRATION_TYPE } from '../../emulator/arch/swap';
import type { ArchId, Ent } from '../../emulator/arch/types';
import { flagNames } from '../../emulator/trace/describe';

const toBig = (e: Ent) => (BigInt(e.hi >>> 0) << 32n) | BigInt(e.lo >>> 0);
// each arch with its offset width; arm64 also as 6.10 lays it out (nG marks PROT_NONE there)
const CASES: [string, ArchId, string | undefined, number][] = [
  ['x86-64', 'x86-64', undefined, 2 ** 40],
  ['x86-pae', 'x86-pae', undefined, 2 ** 40],
  ['x86-64 3.16-3.19', 'x86-64', '3.17', 2 ** 40],
  ['x86-64 4.0-4.7', 'x86-64', '4.7', 2 ** 40],
  ['x86-64 4.8-4.17', 'x86-64', '4.16', 2 ** 40],
  ['x86-pae before 4.18', 'x86-pae', '4.9', 2 ** 27],
  ['arm64', 'arm64', undefined, 2 ** 40],
  ['arm64 6.10', 'arm64', '6.10', 2 ** 40],
  ['arm64 4.0-5.18', 'arm64', '5.10', 2 ** 40],
  ['arm64 3.x', 'arm64', '3.18', 2 ** 40],
  ['arm-lpae', 'arm-lpae', undefined, 2 ** 25],
  ['arm-lpae 3.x', 'arm-lpae', '3.18', 2 ** 24],
];

describe('swap-format (migration) entries', () => {
  it("x86 lays a migration entry out as each release's __swp_entry does: bit-exact", () => {
    const raw = (id: ArchId, release: string) => toBig(getArch(id).at(release).mkSwap({ type: MIGRATION_TYPE, offset: 0x100006 }));
    // type from bit 1, offset from bit 9 (3.x before 3.16, and 4.0-4.7)
    expect(raw('x86-64', '3.10')).toBe((24n << 1n) | (0x100006n << 9n));
    expect(raw('x86-64', '4.7')).toBe((24n << 1n) | (0x100006n << 9n));
    // 3.16-3.19: the offset from bit 10, clear of _PAGE_NUMA
    expect(raw('x86-64', '3.18')).toBe((24n << 1n) | (0x100006n << 10n));
    // 4.8-4.17: type from bit 9, offset from bit 14
    expect(raw('x86-64', '4.9')).toBe((24n << 9n) | (0x100006n << 14n));
    // 4.18 (L1TF): type in bits 59-63, the offset inverted from bit 9
    const mask = (1n << 50n) - 1n;
    expect(raw('x86-64', '4.18')).toBe((24n << 59n) | ((~0x100006n & mask) << 9n));
    // PAE before 4.18: the entry in the high word, the low word zero
    expect(raw('x86-pae', '4.9')).toBe((24n | (0x100006n << 5n)) << 32n);
    // arm64, as each release's __SWP_TYPE_SHIFT and __SWP_OFFSET_SHIFT have it
    const arm = (release: string) => toBig(getArch('arm64').at(release).mkSwap({ type: MIGRATION_TYPE, offset: 0x100006 }));
    expect(arm('3.18')).toBe((24n << 3n) | (0x100006n << 9n));
    expect(arm('5.10')).toBe((24n << 2n) | (0x100006n << 8n));
    expect(arm('6.1')).toBe((24n << 3n) | (0x100006n << 8n));
    expect(arm('6.12')).toBe((24n << 6n) | (0x100006n << 12n));
    // 32-bit ARM: type from bit 3 before 4.0 (bit 2 was the file bit), from bit 2 after
    const lpae = (release: string) => toBig(getArch('arm-lpae').at(release).mkSwap({ type: MIGRATION_TYPE, offset: 0x100006 }));
    expect(lpae('3.18')).toBe((24n << 3n) | (0x100006n << 8n));
    expect(lpae('4.9')).toBe((24n << 2n) | (0x100006n << 7n));
    // none of the pre-L1TF ones has x86-64's devmap bit (58), which a 4.5-4.12 walker tests before present
    for (const r of ['3.10', '4.7', '4.9']) {
      const a = getArch('x86-64').at(r);
      expect(a.devmap('pte', a.mkSwap({ type: MIGRATION_TYPE, offset: 0x100006 }), 'modern'), r).toBe(false);
    }
  });

  it.each(CASES)('%s: a swap entry is neither none, present nor PROT_NONE, and gives back its type and offset', (_n, id, release, max) => {
    const base = getArch(id);
    const a = release ? base.at(release) : base;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 31 }), fc.integer({ min: 1, max: max - 1 }), (type, offset) => {
        const e = a.mkSwap({ type, offset });
        expect(a.none(e)).toBe(false);
        expect(a.present(e)).toBe(false);
        expect(a.protnone(e)).toBe(false);
        expect(a.swap(e)).toEqual({ type, offset });
      }),
      { numRuns: 200 },
    );
  });

  it('x86 keeps the type in bits 59-63 and the offset inverted from bit 9 (4.18+)', () => {
    const a = getArch('x86-64');
    const raw = toBig(a.mkSwap({ type: MIGRATION_TYPE, offset: 0x1234 }));
    expect(raw >> 59n).toBe(BigInt(MIGRATION_TYPE));
    expect(raw & 0x1ffn).toBe(0n); // present, protnone and every flag below bit 9 clear
    expect((~(raw >> 9n)) & 0xffffn).toBe(0x1234n);
  });

  it('arm64 moved the type to bit 6 and the offset from bit 8 to bit 12 in 6.10, clear of nG (its PROT_NONE mark there)', () => {
    const old = toBig(getArch('arm64').mkSwap({ type: 1, offset: 0xf }));
    const now = toBig(getArch('arm64').at('6.10').mkSwap({ type: 1, offset: 0xf }));
    expect(old).toBe((1n << 3n) | (0xfn << 8n));
    expect(now).toBe((1n << 6n) | (0xfn << 12n));
  });

  it('a decoded swap entry says so, with its type and offset, instead of permissions', () => {
    const a = getArch('arm64');
    const d = a.decode('pte', toBig(a.mkSwap({ type: MIGRATION_TYPE, offset: 0x100006 })));
    expect(d.kind).toBe('not-present');
    expect(d.swap).toEqual({ type: MIGRATION_TYPE, offset: 0x100006 });
    expect(flagNames(d)).toEqual(['swap', `type=${MIGRATION_TYPE}`, 'offset=0x100006']);
    // a present entry has no swap reading
    expect(a.decode('pte', toBig(a.mkLeaf('pte', 0x100006, { write: true, user: true }, 'modern'))).swap).toBeUndefined();
  });
});
