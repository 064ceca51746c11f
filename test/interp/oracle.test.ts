/**
 * The version models are the oracle of the interpreter: running a file of an era (the real
 * texts in ../shared/corpus, and fixtures in each era's shape written for these tests) gives the
 * same pages, refcount and pincount deltas, nr and slow-path verdict as that era's model, on
 * every built-in scenario and arch where both run. One table lists every pair.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { KAPI } from '../../emulator/interp/kapi';
import { sourceVersion, type ParseC } from '../../emulator/interp/source-version';
import { NotApplicableError, replay, type Replay } from '../../emulator/run/replay';
import { SCENARIOS } from '../../emulator/scenarios';
import { getVersion } from '../../emulator/versions';
import { sourceParser } from '../../server/analysis/parse';
import { PAIRS } from './pairs';
import { forgetPrograms } from '../../emulator/interp/program-cache';

const FIX = join(__dirname, '../fixtures');

let parse: ParseC;
beforeAll(async () => {
  parse = await sourceParser();
});

function outcome(r: Replay) {
  return { nr: r.result.nr, ret: r.result.ret, slowPath: r.result.slowPath, fastNr: r.result.fastNr, pages: r.result.pages, deltas: r.deltas };
}

/** Both engines on one scenario; undefined when the scenario does not apply. */
function both(file: string, model: string, arch: ArchId, scenario: string, options?: Record<string, boolean>) {
  const v = sourceVersion(readFileSync(file, 'utf8'), parse, getArch(arch), getVersion(model), { path: file });
  let oracle: Replay;
  try {
    oracle = replay({ arch, version: model, scenario, options });
  } catch (e) {
    if (e instanceof NotApplicableError) return undefined;
    throw e;
  }
  let source: Replay;
  try {
    source = replay({ arch, version: v, scenario });
  } catch (e) {
    // the file has no entry point for this call (a fixture without the fast-only ones): nothing to compare
    if (e instanceof NotApplicableError) return undefined;
    throw e;
  }
  return { source: outcome(source), model: outcome(oracle) };
}

const rows = PAIRS.flatMap((p) => p.arches.flatMap((arch) => SCENARIOS.map((s) => [p.file.split('/').slice(-2).join('/'), p.model, arch, s.id, p] as const)));

describe('interpreter vs version model (oracle)', () => {
  it.each(rows)('%s as %s on %s: %s', (_name, model, arch, scenario, p) => {
    if (p.corpus && !existsSync(p.file)) {
      console.warn(`skipped: ${p.file} is absent (../shared/corpus holds the real kernel text)`);
      return;
    }
    if (p.skip?.includes(scenario)) return;
    const r = both(p.file, model, arch, scenario, p.options);
    if (!r) return;
    expect(r.source).toEqual(r.model);
  });

  it('stops with the name and line of a call nothing defines, and the fallback model still runs', () => {
    const file = join(FIX, 'gup-2014-shape.c');
    const v = sourceVersion(readFileSync(file, 'utf8'), parse, getArch('arm64'), getVersion('generic-2014'));
    expect(replay({ arch: 'arm64', version: v, scenario: 'pages-4k-16' }).result.nr).toBe(16); // the fast path alone suffices
    const at = readFileSync(file, 'utf8').split('\n').findIndex((l) => l.includes('return slow_path_rest(')) + 1;
    expect(() => replay({ arch: 'arm64', version: v, scenario: 'hole-middle' })).toThrow(new RegExp(`^unsupported: call to slow_path_rest\\(\\) at line ${at}$`));
    expect(replay({ arch: 'arm64', version: 'generic-2014', scenario: 'hole-middle' }).result.nr).toBe(16);
  });

  it('fails when a built-in takes a reference the model does not take', () => {
    const p = PAIRS[1];
    if (!existsSync(p.file)) return console.warn(`skipped: ${p.file} is absent`);
    const b = KAPI.find((x) => x.name === 'page_cache_get_speculative')!;
    const run = b.run!;
    forgetPrograms(); // the file compiles with the swapped built-in bound, and again without it after
    b.run = (t, a) => {
      const ok = run(t, a);
      if (ok) t.k.m.refAdd(a[0], 1); // one reference too many
      return ok;
    };
    try {
      const r = both(p.file, p.model, 'arm64', 'pages-4k-16')!;
      expect(r.source).not.toEqual(r.model);
      expect(r.source.deltas[0].refcount).toBe(2);
    } finally {
      b.run = run;
      forgetPrograms();
    }
  });
});
