/**
 * Actors speak the release of the code they race: a counterexample against a 3.12 walker says
 * mmap_sem, one against 5.11 says mmap_lock.
 */
import { describe, expect, it } from 'vitest';
import { explore } from '../../emulator/explore/explore';
import { getRace } from '../../emulator/scenarios/races';
import { MODELS } from '../../emulator/versions';
import { speller } from '../../emulator/versions/spelling';

describe('names as each release wrote them', () => {
  it('mmap_lock reads as mmap_sem before 5.8, and nothing is rewritten from 5.8 on', () => {
    const s = speller('5.7')!;
    expect(s('mmap_write_lock(oldmm)')).toBe('down_write(&oldmm->mmap_sem)');
    expect(s('mmap_write_unlock(mm)')).toBe('up_write(&mm->mmap_sem)');
    expect(s('mmap_lock for write; VMA detached')).toBe('mmap_sem for write; VMA detached');
    expect(s('pmdp_collapse_flush(vma, address, pmd)')).toBe('pmdp_collapse_flush(vma, address, pmd)');
    expect(speller('5.8')).toBeUndefined();
    expect(speller('6.12')).toBeUndefined();
    expect(speller(undefined)).toBeUndefined();
    expect(speller('2.6.38')!('mmap_write_lock(mm)')).toBe('down_write(&mm->mmap_sem)');
  });

  it('every model names its first release', () => {
    for (const m of MODELS) expect(m.since, m.id).toMatch(/^\d+\.\d+(\.\d+)?$/);
  });

  it('munmap racing the 2013 ARM walker takes mmap_sem; khugepaged racing 5.11 takes mmap_lock', () => {
    const old = explore(getRace('race-table-free'), getRace('race-table-free').before).counterexample.filter((s) => s.actor === 'munmap');
    expect(old.map((s) => s.anchor)).toContain('down_write(&mm->mmap_sem)');
    expect(old.some((s) => /mmap_(write_)?lock/.test(`${s.anchor} ${s.note ?? ''}`))).toBe(false);
    const newer = explore(getRace('race-khugepaged-collapse'), getRace('race-khugepaged-collapse').before).counterexample.filter((s) => s.actor === 'khugepaged');
    expect(newer.map((s) => s.anchor)).toContain('mmap_write_lock(mm)');
  });
});
