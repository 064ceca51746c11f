/**
 * The one registry of version models, oldest first. Layer: pure emulator.
 */
import { UnknownNameError } from '../arch';
import { arm_rfc_2013 } from './arm-rfc-2013';
import { foll_pin_2020 } from './foll-pin-2020';
import { folio_61, folio_6x } from './folio-6x';
import { generic_2014 } from './generic-2014';
import type { VersionModel } from './kern';
import { wpseq_2021 } from './wpseq-2021';
import { x86_2008 } from './x86-2008';

export const VERSIONS: readonly VersionModel[] = [x86_2008, arm_rfc_2013, generic_2014, foll_pin_2020, wpseq_2021, folio_6x];
export const VERSION_IDS = VERSIONS.map((v) => v.id);

/** The dialects that are not a registry entry of their own (each is reached through its version). */
const DIALECT_MODELS: readonly VersionModel[] = [folio_61];

/** Every model there is: the registry and the dialects it points at. */
export const MODELS: readonly VersionModel[] = [...VERSIONS, ...DIALECT_MODELS];

export function getVersion(id: string): VersionModel {
  const v = VERSIONS.find((x) => x.id === id) ?? DIALECT_MODELS.find((x) => x.id === id);
  if (!v) throw new UnknownNameError('version', id, [...VERSION_IDS, ...DIALECT_MODELS.map((x) => x.id)]);
  return v;
}

/**
 * The dialect of v that a file is written in: the one whose function names the file has most
 * of (v itself on a tie or when v has no dialects). A 6.6 file fingerprinted as folio-6x runs
 * the 6.1–6.9 names, so its steps land on gup_pte_range, not on a gup_fast_pte_range it lacks.
 */
export function dialectFor(v: VersionModel, names: Iterable<string>): VersionModel {
  if (!v.dialects) return v;
  const have = new Set(names);
  let best = v;
  let most = v.functions.filter((f) => have.has(f)).length;
  for (const d of v.dialects) {
    const m = getVersion(d.id);
    const n = m.functions.filter((f) => have.has(f)).length;
    if (n > most) [best, most] = [m, n];
  }
  return best;
}

export type { VersionModel } from './kern';
