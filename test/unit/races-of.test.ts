import { describe, expect, it } from 'vitest';
import { racesOf } from '../../server/analysis/analyze';
import { getRace, raceArchFor } from '../../emulator/scenarios/races';

const ids = (cs: { race: { id: string } }[]) => cs.map((c) => c.race.id);

describe('the races a version has or fixes, as shipped', () => {
  it('foll-pin-2020 has the fork races (a pin, and a FOLL_GET before 5.8\'s early COW), the compound-head split and the collapse (and the torn PAE pmd of every walker before 6.2); the 1 GiB overflow needed its pincount switched off, so it fixes that one', () => {
    const r = racesOf('foll-pin-2020');
    expect(ids(r.has)).toEqual(['race-pae-torn-pmd', 'race-fork-pin', 'race-fork-get', 'race-compound-head-split', 'race-khugepaged-collapse']);
    expect(ids(r.fixes)).toEqual(['race-pin-overflow-1g', 'race-numa-protnone']);
  });

  it('each claim carries the arch its run shows it on', () => {
    const r = racesOf('generic-2014');
    expect(r.has.find((c) => c.race.id === 'race-pae-torn-pte')?.run.arch).toBe('x86-pae');
    expect(r.fixes.find((c) => c.race.id === 'race-thp-split-no-ipi')?.run.arch).toBe('arm-lpae');
    expect(ids(racesOf('arm-rfc-2013').fixes)).toEqual([]);
  });
});

describe('the arch a race is explored on for a file built for some arches', () => {
  it("the race's own arch where the file is for it, else the first the race allows, else none", () => {
    expect(raceArchFor(getRace('race-table-free'), ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'])).toBe('arm-lpae');
    // arch/x86/mm/gup.c: never the ARM arch the race was found on
    expect(raceArchFor(getRace('race-table-free'), ['x86-64', 'x86-pae'])).toBe('x86-64');
    expect(raceArchFor(getRace('race-pae-torn-pte'), ['x86-64', 'x86-pae'])).toBe('x86-pae');
    // a split that waits for nobody is an ARM race: an x86 file does not meet it
    expect(raceArchFor(getRace('race-compound-head-split'), ['x86-64', 'x86-pae'])).toBeUndefined();
    expect(raceArchFor(getRace('race-pae-torn-pmd'), ['arm64'])).toBeUndefined();
  });
});
