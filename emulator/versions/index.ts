/**
 * The one registry of version models, oldest first. Layer: pure emulator.
 */
import { UnknownNameError } from '../arch';
import { generic_2014 } from './generic-2014';
import type { VersionModel } from './kern';
import { x86_2008 } from './x86-2008';

export const VERSIONS: readonly VersionModel[] = [x86_2008, generic_2014];
export const VERSION_IDS = VERSIONS.map((v) => v.id);

export function getVersion(id: string): VersionModel {
  const v = VERSIONS.find((x) => x.id === id);
  if (!v) throw new UnknownNameError('version', id, VERSION_IDS);
  return v;
}

export type { VersionModel } from './kern';
