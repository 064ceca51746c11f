/**
 * The one list of scenarios. Layer: pure emulator.
 */
import { UnknownNameError } from '../arch';
import { BUILTIN } from './builtin';
import type { Scenario } from './types';

export const SCENARIOS: readonly Scenario[] = [...BUILTIN];
export const SCENARIO_IDS = SCENARIOS.map((s) => s.id);

export function getScenario(id: string): Scenario {
  const s = SCENARIOS.find((x) => x.id === id);
  if (!s) {
    if (id.startsWith('race-')) throw new RangeError(`'${id}' is a race scenario (several actors): run it with \`gup-lens explore --scenario ${id} ...\``);
    throw new UnknownNameError('scenario', id, SCENARIO_IDS);
  }
  return s;
}

/** The default scenario for replaying a kernel function (CodeLens, hover). */
export function scenarioFor(fn: string): Scenario {
  return SCENARIOS.find((s) => s.showcases?.includes(fn)) ?? SCENARIOS[0];
}

export type { Scenario, CallSpec } from './types';
