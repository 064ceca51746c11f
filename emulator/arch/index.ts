/**
 * The one list of architecture models. Layer: pure emulator.
 */
import { arm64 } from './arm64';
import { arm_lpae } from './arm-lpae';
import type { ArchId, ArchModel } from './types';
import { makeX86_64, x86_64 } from './x86-64';
import { x86_pae } from './x86-pae';

export const ARCHES: readonly ArchModel[] = [x86_64, x86_pae, arm_lpae, arm64];
export const ARCH_IDS = ARCHES.map((a) => a.id) as readonly ArchId[];

export class UnknownNameError extends Error {
  constructor(kind: string, name: string, valid: readonly string[]) {
    super(`unknown ${kind} '${name}'; valid ${kind}s: ${valid.join(', ')}`);
  }
}

/** An arch model by id; `la57` selects 5-level paging on x86-64. */
export function getArch(id: string, opts: { la57?: boolean } = {}): ArchModel {
  const a = ARCHES.find((x) => x.id === id);
  if (!a) throw new UnknownNameError('arch', id, ARCH_IDS);
  if (opts.la57) {
    if (id !== 'x86-64') throw new RangeError(`5-level paging is an x86-64 option, not ${id}'s`);
    return makeX86_64({ la57: true });
  }
  return a;
}

/** BITS_PER_LONG: how wide an address (and an unsigned long) is on the arch. */
export const longBits = (arch: ArchModel): 32 | 64 => (arch.id === 'x86-64' || arch.id === 'arm64' ? 64 : 32);

export type { ArchId, ArchModel } from './types';
