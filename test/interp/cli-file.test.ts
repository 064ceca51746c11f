/**
 * The CLI on a file's own code: replay --file, explore --file, inspect's engine per arch, and
 * the exit status of code the interpreter cannot run (1, with the construct and its line).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../server/cli/main';

async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const FIX = join(__dirname, '../fixtures/eras');
const ARM = join(__dirname, '../../../shared/corpus/arm-rfc-2013.arch-arm-mm-gup.c');

describe('gup-lens on a file\'s own code', () => {
  it('replay --file --json: engine source, the result, each step with its line', async () => {
    const r = await run(['replay', '--file', join(FIX, 'gup-6.10-shape.c'), '--arch', 'x86-pae', '--scenario', 'hole-middle', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.engine).toBe('source');
    expect(j.entry).toBe('get_user_pages_fast');
    expect(j.config.CONFIG_X86_PAE).toBe('1');
    expect(j.result).toMatchObject({ nr: 16, slowPath: true, fastNr: 8 });
    const walk = j.steps.filter((s: { slow?: boolean }) => !s.slow);
    expect(walk.every((s: { line?: number }) => typeof s.line === 'number')).toBe(true);
    // PAE: ptep_get_lockless reads low, high, then low again, on the pte-read line
    const halves = j.steps.filter((s: { fn: string; event: string; note?: string }) => s.fn === 'gup_fast_pte_range' && s.note === 'low half');
    expect(halves.length).toBeGreaterThan(0);
    const readLine = readFileSync(join(FIX, 'gup-6.10-shape.c'), 'utf8').split('\n').findIndex((l) => l.includes('ptep_get_lockless(at)')) + 1;
    expect(new Set(halves.map((s: { line: number }) => s.line))).toEqual(new Set([readLine]));
  });

  it('a file from before FOLL_PIN cannot run a pin scenario: it says so and exits 2, it does not fall back to pinning', async () => {
    // a gup_flags-era file (whose model pins) without its pin entry point, as 5.2 was
    const dir = mkdtempSync(join(tmpdir(), 'gup-lens-nopin-'));
    const file = join(dir, 'gup.c');
    writeFileSync(file, readFileSync(join(FIX, 'gup-5.10-shape.c'), 'utf8').replace(/\bpin_user_pages_fast\b/g, 'pin_nothing_yet'));
    const r = await run(['replay', '--file', file, '--arch', 'x86-64', '--scenario', 'pin-1g']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/this file has no pin_user_pages_fast\(\) \(FOLL_PIN pins came in 5\.6\)/);
    expect(r.out).toBe('');
  });

  it('--config overrides a symbol: without a pte special bit the 2014-style pte level is a stub', async () => {
    const file = join(__dirname, '../../../shared/corpus/generic-2014.mm-gup-fast-part.c');
    if (!existsSync(file)) return console.warn('skipped: ../shared/corpus is absent');
    const on = JSON.parse((await run(['replay', '--file', file, '--arch', 'arm64', '--scenario', 'pages-4k-16', '--json'])).out);
    const off = JSON.parse((await run(['replay', '--file', file, '--arch', 'arm64', '--scenario', 'pages-4k-16', '--json', '--config', '__HAVE_ARCH_PTE_SPECIAL=n'])).out);
    expect(on.result).toMatchObject({ nr: 16, slowPath: false });
    expect(off.result).toMatchObject({ nr: 16, slowPath: true, fastNr: 0 });
  });

  it('explore --file finds the counterexample on the 2013 ARM file', async () => {
    if (!existsSync(ARM)) return console.warn('skipped: ../shared/corpus is absent');
    const r = await run(['explore', '--file', ARM, '--arch', 'arm-lpae', '--scenario', 'race-pte-changed', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.engine).toBe('source');
    expect(j.verdict).toBe('violation');
  });

  it('inspect --json says which engine ran per arch, and why the file\'s code could not', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-lens-'));
    const f = join(dir, 'gup.c');
    // the x86-shaped fixture with one call nothing defines, whose value the pte path needs
    const lines = readFileSync(join(FIX, 'x86-2008-shape.c'), 'utf8').split('\n');
    const at = lines.findIndex((l) => l.includes('SetPageReferenced(pg);'));
    lines[at] = lines[at].replace('SetPageReferenced(pg);', 'if (mystery_helper(pg)) return 0;');
    writeFileSync(f, lines.join('\n'));
    const r = await run(['inspect', f, '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    const fn = j.functions.find((x: { name: string }) => x.name === 'gup_pte_range');
    const a = fn.arches.find((x: { arch: string }) => x.arch === 'x86-64');
    expect(a.engine).toBe('model');
    expect(a.unsupported).toEqual({ what: 'call to mystery_helper()', line: at + 1 });
    expect(a.steps).toBeGreaterThan(0); // the model ran instead
    const huge = j.functions.find((x: { name: string }) => x.name === 'gup_huge_pmd').arches.find((x: { arch: string }) => x.arch === 'x86-64');
    expect(huge.engine).toBe('source'); // the THP path never meets the unknown call
  });

  it('an unknown call on the path exits 1 with its name and line, never a stack trace', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-lens-'));
    const f = join(dir, 'gup.c');
    writeFileSync(f, 'int get_user_pages_fast(unsigned long start, int nr_pages, int write, struct page **pages)\n{\n\treturn frobnicate(start);\n}\n');
    const r = await run(['replay', '--file', f, '--arch', 'x86-64', '--scenario', 'pages-4k-16']);
    expect(r.code).toBe(1);
    expect(r.err).toBe('unsupported: call to frobnicate() at line 3');
  });

  it('a file with no GUP-fast code is refused with a message (exit 2)', async () => {
    const r = await run(['replay', '--file', join(__dirname, '../fixtures/not-gup.c'), '--arch', 'x86-64', '--scenario', 'pages-4k-16']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no GUP-fast function found/);
  });
});
