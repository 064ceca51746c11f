/**
 * One column of the sweep: every race that can run on an arch, explored on one file's own code,
 * and every built-in scenario replayed on it.
 * What a worker thread runs (sweep-worker.ts), and the sweep itself where there are no workers.
 */
import type { ArchId } from '../../emulator/arch/types';
import { SCENARIOS } from '../../emulator/scenarios';
import { RACES } from '../../emulator/scenarios/races';
import { fileVersion, NotGupError } from '../analysis/source';
import { scenarioVerdictOn, verdictOn } from './review';

export type SweepVerdict = 'violation' | 'ok' | 'n/a' | 'unsupported';

/**
 * race id → verdict; `<race>@by` names the race whose violation it really was (a torn PAE read met
 * on the way); NO_FAST_CODE, that the file has no GUP-fast code at all (a tree's mm/gup.c of the
 * slow path only, its walker elsewhere): no race applies there.
 */
export type SweepVerdicts = Record<string, SweepVerdict | string>;

export const NO_FAST_CODE = '@none';

export async function fileVerdicts(text: string, path: string, arch: ArchId, maxStates?: number, release?: string): Promise<SweepVerdicts> {
  const out: SweepVerdicts = {};
  let v;
  try {
    v = (await fileVersion(text, { arch, path, release })).source;
  } catch (e) {
    if (e instanceof NotGupError) return { [NO_FAST_CODE]: e.message };
    v = undefined;
  }
  for (const race of RACES) {
    if (race.arches && !race.arches.includes(arch)) continue;
    if (!v) {
      out[race.id] = 'unsupported';
      continue;
    }
    const { verdict, r, unsupported } = verdictOn(v, arch, race, maxStates);
    out[race.id] = unsupported ? 'unsupported' : verdict;
    if (r?.by) out[`${race.id}@by`] = r.by;
  }
  // and each built-in scenario: a walk past its range, a wild page, a count left behind
  for (const s of SCENARIOS) {
    if (s.arches && !s.arches.includes(arch)) continue;
    const { verdict, unsupported } = scenarioVerdictOn(v, arch, s);
    out[s.id] = !v || unsupported ? 'unsupported' : verdict;
  }
  return out;
}
