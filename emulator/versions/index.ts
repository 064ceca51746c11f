/**
 * The one registry of version models, oldest first. Layer: pure emulator.
 */
import { UnknownNameError } from '../arch';
import { arm_rfc_2013 } from './arm-rfc-2013';
import { foll_pin_2020 } from './foll-pin-2020';
import { folio_6x } from './folio-6x';
import { generic_2014 } from './generic-2014';
import type { VersionModel } from './kern';
import { wpseq_2021 } from './wpseq-2021';
import { x86_2008 } from './x86-2008';

export const VERSIONS: readonly VersionModel[] = [x86_2008, arm_rfc_2013, generic_2014, foll_pin_2020, wpseq_2021, folio_6x];
export const VERSION_IDS = VERSIONS.map((v) => v.id);

export function getVersion(id: string): VersionModel {
  const v = VERSIONS.find((x) => x.id === id);
  if (!v) throw new UnknownNameError('version', id, VERSION_IDS);
  return v;
}

export type { VersionModel } from './kern';
