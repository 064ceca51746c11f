/**
 * A compiled file is kept by what compiling reads (emulator/interp/program-cache.ts): an edit
 * outside the GUP-fast code compiles nothing again and runs the same; an edit inside it does.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import { sourceVersion, type ParseC } from '../../emulator/interp/source-version';
import { setCodegen } from '../../emulator/interp/compile';
import { replay } from '../../emulator/run/replay';
import { RACES } from '../../emulator/scenarios/races';
import { explore } from '../../emulator/explore/explore';
import { getVersion } from '../../emulator/versions';
import { sourceParser } from '../../server/analysis/parse';
import { withoutWriteProtectSeq } from '../fixtures/derive';

const text = readFileSync(join(__dirname, '../fixtures/eras/gup-5.10-shape.c'), 'utf8');
// a function GUP-fast never calls: the pruner blanks its body
const helper = (body: string) => `\nstatic long follow_helper(unsigned long address)\n{\n\t${body}\n}\n`;

describe('the compiled-program cache', () => {
  it('an edit outside the GUP-fast code (an unreachable body, blanks at the end) parses and compiles nothing again; one inside does, and runs as the new code', async () => {
    const parser = await sourceParser();
    let parses = 0;
    const counting: ParseC = (t) => (parses++, parser(t));
    const arch = getArch('x86-64');
    const model = getVersion('wpseq-2021');
    const base = sourceVersion(text + helper('return 1;'), counting, arch, model);
    expect(parses).toBe(1);
    const edited = sourceVersion(text + helper('return address & 4095; /* typed */') + '\n\n', counting, arch, model);
    expect(parses).toBe(1);
    expect(edited.program).toBe(base.program);
    expect(replay({ arch: 'x86-64', version: edited, scenario: 'pages-4k-16' }).result.nr).toBe(16);
    // the fork fix taken out of the walker: compiled again, and the race is back
    const old = sourceVersion(withoutWriteProtectSeq(text) + helper('return 1;'), counting, arch, model);
    expect(parses).toBe(2);
    expect(old.program).not.toBe(base.program);
    const race = RACES.find((r) => r.id === 'race-fork-pin')!;
    expect(explore(race, { arch: 'x86-64', version: old }).verdict).toBe('violation');
    expect(explore(race, { arch: 'x86-64', version: edited }).verdict).toBe('ok');
  });

  it('the same code under another configuration, arch or code generation is compiled for it', async () => {
    const parser = await sourceParser();
    let parses = 0;
    const counting: ParseC = (t) => (parses++, parser(t));
    const model = getVersion('wpseq-2021');
    const a = sourceVersion(text, counting, getArch('x86-64'), model);
    const n = parses;
    const b = sourceVersion(text, counting, getArch('arm64'), model);
    const c = sourceVersion(text, counting, getArch('x86-64'), model, { config: { CONFIG_HAVE_FAST_GUP: 'n' } });
    // the closures the generated JS is made from (codegen.test compares the two): compiled apart
    setCodegen(false);
    const d = sourceVersion(text, counting, getArch('x86-64'), model);
    setCodegen(true);
    expect(parses).toBe(n + 3);
    expect(new Set([a.program, b.program, c.program, d.program]).size).toBe(4);
  });
});
