/**
 * The compiler's generated JS (one function per C function, compile.ts emit) against its
 * closures, the reference it is built from: the same steps, on the same lines, with the same
 * values, for every era file, arch and scenario; and every function of those files is generated
 * (a generation that fails falls back silently, so this is where it would show).
 */
import { existsSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import { setCodegen } from '../../emulator/interp/compile';
import { sourceVersion, type ParseC } from '../../emulator/interp/source-version';
import { NotApplicableError, replay } from '../../emulator/run/replay';
import { SCENARIOS } from '../../emulator/scenarios';
import { getVersion } from '../../emulator/versions';
import { sourceParser } from '../../server/analysis/parse';
import { PAIRS } from './pairs';

let parse: ParseC;
beforeAll(async () => {
  parse = await sourceParser();
});
afterAll(() => setCodegen(true));

function walk(file: string, model: string, arch: (typeof PAIRS)[number]['arches'][number], scenario: string, generated: boolean) {
  setCodegen(generated);
  try {
    const v = sourceVersion(readFileSync(file, 'utf8'), parse, getArch(arch), getVersion(model), { path: file });
    if (generated) for (const fn of v.program.fns.values()) expect(fn.generated, `${fn.name}() generated`).toBe(true);
    const r = replay({ arch, version: v, scenario, trace: true });
    return { steps: r.steps, result: r.result, deltas: r.deltas };
  } catch (e) {
    if (e instanceof NotApplicableError) return 'n/a';
    throw e;
  } finally {
    setCodegen(true);
  }
}

const rows = PAIRS.flatMap((p) => p.arches.flatMap((arch) => SCENARIOS.map((s) => [p.file.split('/').slice(-1)[0], arch, s.id, p] as const)));

describe('generated JS and the closures it is compiled from', () => {
  it.each(rows)('%s on %s, %s: the same steps, values and outcome', (_name, arch, scenario, p) => {
    if (p.corpus && !existsSync(p.file)) return console.warn(`skipped: ${p.file} is absent`);
    expect(walk(p.file, p.model, arch, scenario, true)).toEqual(walk(p.file, p.model, arch, scenario, false));
  });
});
