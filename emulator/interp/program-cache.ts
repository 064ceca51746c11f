/**
 * Compiled programs by everything compiling reads: the parse input (the configured text with the
 * bodies GUP-fast cannot reach blanked), the arch model, what the configuration is made from, the
 * roots, the slow-path functions the file defines, and whether functions compile to generated JS. An edit outside the file's GUP-fast code
 * leaves all of that alike (pruning blanks a body, it keeps its lines), so a keystroke there does
 * not parse and compile the file again, and the replays of its code can be kept with the program
 * (they depend on it, not on the text around it). The last few per arch model.
 * Layer: pure emulator.
 */
import type { ArchModel } from '../arch/types';
import type { Program } from './compile';

const KEPT = 8;
let byArch = new WeakMap<ArchModel, Map<string, Program>>();

export function keptProgram(arch: ArchModel, key: string): Program | undefined {
  const m = byArch.get(arch);
  const p = m?.get(key);
  if (p) {
    // most recent last: the oldest goes first
    m!.delete(key);
    m!.set(key, p);
  }
  return p;
}

export function keepProgram(arch: ArchModel, key: string, p: Program): Program {
  let m = byArch.get(arch);
  if (!m) byArch.set(arch, (m = new Map()));
  m.set(key, p);
  if (m.size > KEPT) m.delete(m.keys().next().value!);
  return p;
}

/** Forget every kept program: a compile binds the kernel-API built-ins as they are then (a test that swaps one compiles afresh). */
export function forgetPrograms(): void {
  byArch = new WeakMap();
}
