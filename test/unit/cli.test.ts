import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../server/cli/main';
import { checkPaths } from '../../server/analysis/check';

function run(argv: string[]): { code: number; out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const code = main(argv, (s) => out.push(s), (s) => err.push(s)) as number;
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('gup-lens CLI', () => {
  it('list --json names every arch, version and scenario by id', () => {
    const r = run(['list', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.arches.map((a: { id: string }) => a.id)).toEqual(['x86-64', 'x86-pae', 'arm-lpae', 'arm64']);
    expect(j.versions.map((v: { id: string }) => v.id)).toEqual(expect.arrayContaining(['x86-2008', 'generic-2014']));
    expect(j.scenarios.map((s: { id: string }) => s.id)).toEqual(
      expect.arrayContaining(['pages-4k-16', 'thp-pmd', 'huge-pud-1g', 'cross-pmd', 'hole-middle', 'write-readonly', 'special-pte', 'unaligned-start']),
    );
  });

  it('replay --json gives the result and steps with fn, anchor, event', () => {
    const r = run(['replay', '--arch', 'arm64', '--version', 'generic-2014', '--scenario', 'thp-pmd', '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.result.nr).toBe(512);
    expect(j.result.slowPath).toBe(false);
    expect(j.result.pages).toHaveLength(512);
    const ref = j.steps.find((s: { anchor: string }) => s.anchor === 'page_cache_add_speculative(head, refs)');
    expect(ref).toMatchObject({ fn: 'gup_huge_pmd', event: 'ref', page: { ref: 512 } });
    const load = j.steps.find((s: { fn: string; event: string }) => s.fn === 'gup_pmd_range' && s.event === 'load');
    expect(load.entry.flags).toEqual(expect.arrayContaining(['present', 'user', 'write', 'huge']));
  });

  it('replay prints a readable trace with the slow path marked', () => {
    const r = run(['replay', '--arch', 'x86-pae', '--version', 'x86-2008', '--scenario', 'hole-middle']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/gup_get_pte: LOAD pte\.pte_low = ptep->pte_low/);
    expect(r.out).toMatch(/SLOWPATH .*\[slow path\]/);
    expect(r.out).toMatch(/result: nr=16 ret=16 slow path ran \(fast path got 8\)/);
  });

  it('decode shows each bit by its kernel name', () => {
    const r = run(['decode', '--arch', 'x86-64', '--level', 'pte', '0x8000000123456067']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/pfn 0x123456/);
    expect(r.out).toMatch(/bit 1 +rw +\= 1 +\(_PAGE_BIT_RW\)/);
    const j = JSON.parse(run(['decode', '--arch', 'arm64', '--level', 'pmd', '0x0000000040000711', '--era', 'modern', '--json']).out);
    expect(j).toMatchObject({ kind: 'huge', huge: true, pfn: 0x40000 });
  });

  it('decode reads a migration entry as a swap type and offset, not as a frame', () => {
    // x86-64, 4.18+ layout: type 24 in bits 59-63, the offset 0x100006 inverted from bit 9
    const r = run(['decode', '--arch', 'x86-64', '--level', 'pte', '0xc7ffffffdffff200']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/not-present, a swap entry, type 24, offset 0x100006/);
    expect(r.out).not.toMatch(/pfn 0x/);
    const j = JSON.parse(run(['decode', '--arch', 'x86-64', '--level', 'pte', '0xc7ffffffdffff200', '--json']).out);
    expect(j.swap).toEqual({ type: 24, offset: 0x100006 });
  });

  it.each([
    [['replay', '--arch', 'sparc', '--version', 'x86-2008', '--scenario', 'thp-pmd'], /unknown arch 'sparc'; valid archs: x86-64, x86-pae, arm-lpae, arm64/],
    [['replay', '--arch', 'x86-64', '--version', 'x86-2099', '--scenario', 'thp-pmd'], /unknown version 'x86-2099'; valid versions: x86-2008, arm-rfc-2013, generic-2014, foll-pin-2020, wpseq-2021, folio-6x/],
    [['replay', '--arch', 'x86-64', '--version', 'x86-2008', '--scenario', 'nope'], /unknown scenario 'nope'; valid scenarios: pages-4k-16/],
    [['replay', '--arch', 'x86-64'], /missing --version/],
    [['replay', '--arch', 'x86-64', '--version', 'wpseq-2021', '--scenario', 'race-fork-pin'], /is a race scenario .*gup-lens explore --scenario race-fork-pin/],
    [['decode', '--arch', 'x86-pae', '--level', 'pud', '0x1'], /x86-pae has no 'pud' level; its levels: pgd, pmd, pte/],
    [['decode', '--arch', 'x86-64', '--level', 'pte', 'zz'], /not a number/],
    [['frobnicate'], /unknown command 'frobnicate'/],
  ])('bad input %j exits 2 with a clear message', (argv, msg) => {
    const r = run(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(msg);
  });

  const bin = join(__dirname, '../../dist/cli.js');
  it.skipIf(!existsSync(bin))('the built bin runs as a program and exits non-zero on errors', () => {
    const out = execFileSync('node', [bin, 'list', '--json'], { encoding: 'utf8' });
    expect(JSON.parse(out).arches).toHaveLength(4);
    const bad = spawnSync('node', [bin, 'replay', '--arch', 'vax', '--version', 'x86-2008', '--scenario', 'thp-pmd'], { encoding: 'utf8' });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/unknown arch 'vax'/);
  });

  it.skipIf(!existsSync(bin))('replay --file on an arch the file is not for runs as asked, and says so on stderr', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-cli-'));
    try {
      const x86 = join(dir, 'arch/x86/mm/gup.c');
      mkdirSync(join(dir, 'arch/x86/mm'), { recursive: true });
      writeFileSync(x86, readFileSync(join(__dirname, '../fixtures/eras/x86-2008-shape.c'), 'utf8'));
      const r = spawnSync('node', [bin, 'replay', '--file', x86, '--arch', 'arm64', '--scenario', 'pages-4k-16'], { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr).toMatch(/note: .*arch\/x86\/mm\/gup\.c's code is for x86-64, x86-pae; running it on arm64 as asked/);
      const ok = spawnSync('node', [bin, 'replay', '--file', x86, '--arch', 'x86-64', '--scenario', 'pages-4k-16'], { encoding: 'utf8', timeout: 20_000 });
      expect(ok.status).toBe(0);
      expect(ok.stderr).not.toMatch(/note:/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync(bin))('in a tree where x86 has its own arch/x86/mm/gup.c, check runs x86 on that file and mm/gup.c on ARM only, and says why', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-cli-'));
    try {
      mkdirSync(join(dir, 'arch/x86/mm'), { recursive: true });
      mkdirSync(join(dir, 'mm'));
      writeFileSync(join(dir, 'arch/x86/mm/gup.c'), readFileSync(join(__dirname, '../fixtures/eras/x86-2008-shape.c'), 'utf8'));
      writeFileSync(join(dir, 'mm/gup.c'), readFileSync(join(__dirname, '../fixtures/eras/gup-4.9-shape.c'), 'utf8'));
      const r = spawnSync('node', [bin, 'check', dir, '--no-races', '--json'], { encoding: 'utf8', timeout: 120_000 });
      expect(r.status).toBe(0);
      const files = JSON.parse(r.stdout).files as { file: string; arches: { arch: string }[] }[];
      const archesOf = (end: string) => files.find((f) => f.file.endsWith(end))!.arches.map((a) => a.arch).sort();
      expect(archesOf('arch/x86/mm/gup.c')).toEqual(['x86-64', 'x86-pae']);
      expect(archesOf('/mm/gup.c')).toEqual(['arm-lpae', 'arm64']);
      // the same mm/gup.c alone (no tree around it) is for every arch
      const alone = join(dir, 'alone.c');
      writeFileSync(alone, readFileSync(join(__dirname, '../fixtures/eras/gup-4.9-shape.c'), 'utf8'));
      const a = spawnSync('node', [bin, 'check', alone, '--no-races', '--json'], { encoding: 'utf8', timeout: 120_000 });
      expect((JSON.parse(a.stdout).files[0].arches as { arch: string }[]).map((x) => x.arch).sort()).toEqual(['arm-lpae', 'arm64', 'x86-64', 'x86-pae']);
      const text = spawnSync('node', [bin, 'check', join(dir, 'mm/gup.c'), '--no-races'], { encoding: 'utf8', timeout: 120_000 });
      expect(text.stdout).toMatch(/arch\/x86\/mm\/gup\.c in this tree is the GUP-fast walker of x86/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 200_000);

  it('check of a folder that holds kernel trees takes each tree\'s GUP-fast files by their paths, not every C file in it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-cli-trees-'));
    try {
      for (const t of ['linux-a', 'src/linux-b']) {
        mkdirSync(join(dir, t, 'mm'), { recursive: true });
        writeFileSync(join(dir, t, 'mm/gup.c'), readFileSync(join(__dirname, '../fixtures/eras/gup-4.9-shape.c'), 'utf8'));
        // another C file of the tree that names a GUP-fast function (a caller): not a GUP-fast file
        writeFileSync(join(dir, t, 'mm/caller.c'), 'int f(void) { return get_user_pages_fast(0, 1, 0, 0); }\n');
      }
      // a loose C file outside any tree is still looked at
      writeFileSync(join(dir, 'loose.c'), 'int g(void) { return 0; }\n');
      expect(checkPaths([dir]).map((x) => x.slice(dir.length + 1))).toEqual(['linux-a/mm/gup.c', 'loose.c', 'src/linux-b/mm/gup.c']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!existsSync(bin))('check ends a file with what stopped its own code, once each, and the --stub that gets past it; with the stub, every run is its own', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-cli-'));
    try {
      const file = join(dir, 'gup.c');
      const text = readFileSync(join(__dirname, '../fixtures/eras/gup-4.9-shape.c'), 'utf8').replace('vendor_gup_account(current, nr_pages);', 'if (vendor_gup_disabled)\n\t\treturn 0;');
      writeFileSync(file, text);
      const at = text.split('\n').findIndex((l) => l.includes('vendor_gup_disabled')) + 1;
      const r = spawnSync('node', [bin, 'check', file, '--no-races', '--arch', 'arm64'], { encoding: 'utf8', timeout: 120_000 });
      const [, own, runs] = (/arm64 +(\d+)\/(\d+) on its own code/.exec(r.stdout) ?? []).map(Number);
      expect(runs - own).toBeGreaterThan(10);
      expect(r.stdout).toContain(`  stops its own code: identifier vendor_gup_disabled at line ${at} (${runs - own} runs); --stub vendor_gup_disabled=0|1 gives it a value`);
      const given = spawnSync('node', [bin, 'check', file, '--no-races', '--arch', 'arm64', '--stub', 'vendor_gup_disabled=0'], { encoding: 'utf8', timeout: 120_000 });
      expect(given.stdout).toMatch(new RegExp(`arm64 +${runs}/${runs} on its own code`));
      expect(given.stdout).toMatch(/stubs vendor_gup_disabled=0/);
      expect(given.stdout).not.toMatch(/stops its own code/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 200_000);

  it.skipIf(!existsSync(bin))('the built bin ends once a --file replay is printed (the parse worker does not hold it open)', () => {
    const fixture = join(__dirname, '../fixtures/eras/gup-5.10-shape.c');
    const r = spawnSync('node', [bin, 'replay', '--file', fixture, '--arch', 'x86-64', '--scenario', 'pages-4k-16', '--json'], { encoding: 'utf8', timeout: 20_000 });
    expect(r.signal).toBeNull();
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout).result.nr).toBe(16);
  });
});

describe('README', () => {
  it('carries the kernel API table exactly as `gup-lens kapi` prints it', () => {
    const readme = readFileSync(join(__dirname, '../../README.md'), 'utf8');
    const block = readme.split('<!-- kapi:start -->\n')[1].split('\n<!-- kapi:end -->')[0];
    const r = run(['kapi']);
    expect(r.code).toBe(0);
    expect(block).toBe(r.out);
    expect(r.out).toMatch(/\| `page_cache_get_speculative` \| page \| sched \|/);
  });

  it('carries the registry tables exactly as `gup-lens list --markdown` prints them', () => {
    const readme = require('node:fs').readFileSync(join(__dirname, '../../README.md'), 'utf8') as string;
    const block = readme.split('<!-- registry:start -->\n')[1].split('\n<!-- registry:end -->')[0];
    const out: string[] = [];
    main(['list', '--markdown'], (s) => out.push(s));
    expect(block).toBe(out.join('\n'));
  });
});

describe('races --json and list --json: every race says what kind of story it is and which kernels', () => {
  it('kind is race, review or design-limit; kernels names the before and the after', () => {
    const rows: string[] = [];
    main(['races', '--json'], (s) => rows.push(s));
    const races = JSON.parse(rows.join('\n')) as { scenario: string; kind: string; kernels: string; beforeVerdict: string; afterVerdict: string }[];
    const kinds = Object.fromEntries(races.map((r) => [r.scenario, r.kind]));
    expect(kinds).toMatchObject({ 'race-fork-pin': 'race', 'race-pin-overflow-1g': 'design-limit', 'race-numa-protnone': 'review' });
    for (const r of races) {
      expect(['race', 'review', 'design-limit']).toContain(r.kind);
      expect(r.kernels).toMatch(/^before: .+; after: .+/);
      expect([r.beforeVerdict, r.afterVerdict]).toEqual(['violation', 'ok']);
    }
    const list: string[] = [];
    main(['list', '--json'], (s) => list.push(s));
    const listed = (JSON.parse(list.join('\n')).scenarios as { id: string; kind: string; kernels?: string }[]).filter((s) => s.id.startsWith('race-'));
    expect(listed.map((s) => [s.id, s.kind, s.kernels])).toEqual(races.map((r) => [r.scenario, r.kind, r.kernels]));
  }, 60_000);
});

describe('explore --diagram and --help', () => {
  it('--diagram prints the counterexample as CPU columns, each actor\'s statements in order, and nothing else', () => {
    const r = run(['explore', '--scenario', 'race-pte-changed', '--version', 'arm-rfc-2013', '--arch', 'arm-lpae', '--diagram']);
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(/^CPU 0 \(gup\) +CPU 1 \(unmap-realloc\)$/);
    expect(lines[1]).toMatch(/^-+ +-+$/);
    const col = lines[0].indexOf('CPU 1');
    const left = lines.slice(2).filter((l) => l.trim() && !l.startsWith('=>') && !l.startsWith(' ')).map((l) => l.trim());
    const right = lines.slice(2).filter((l) => l.length > col && l.slice(0, col).trim() === '').map((l) => l.trim());
    expect(left[0]).toBe('local_irq_disable()');
    expect(left[left.length - 1]).toBe('get_page(page)');
    expect(right).toEqual(['ptep_get_and_clear_full', 'tlb_flush_mmu_tlbonly', 'put_page(page)']);
    // the actor frees the page between the walker's pte load and its get_page
    const at = (t: string) => lines.findIndex((l) => l.trim() === t);
    expect(at('ACCESS_ONCE(*ptep)')).toBeLessThan(at('put_page(page)'));
    expect(at('put_page(page)')).toBeLessThan(at('get_page(page)'));
    expect(lines[lines.length - 1]).toMatch(/^=> \+1 ref on page 0x[0-9a-f]+, which is free$/);
    expect(r.out).not.toMatch(/explored|VIOLATION|actors:/);
  });

  it('--diagram with --json, or on another command, is a usage error', () => {
    expect(run(['explore', '--scenario', 'race-pte-changed', '--version', 'arm-rfc-2013', '--arch', 'arm-lpae', '--diagram', '--json']).code).toBe(2);
    expect(run(['replay', '--diagram']).code).toBe(2);
  });

  it.each(['list', 'replay', 'decode', 'explore', 'races', 'kapi', 'inspect', 'history', 'bdiff'])('%s --help prints that command\'s usage lines and exits 0', (cmd) => {
    const r = run([cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.out.split('\n')[0]).toBe(`usage: gup-lens ${cmd} ...`);
    expect(r.out).toContain(`  ${cmd}`);
    expect(r.out).not.toMatch(new RegExp(`^  (?!${cmd}\\b)[a-z]+ `, 'm'));
  });
});

describe('decode --release', () => {
  it('decodes with that release\'s layout and names it; a bad release is a usage error', () => {
    const old = run(['decode', '--arch', 'arm64', '--level', 'pmd', '0x0200000000000001', '--release', '3.11', '--json']);
    expect(JSON.parse(old.out)).toMatchObject({ release: '3.11', era: 'thp-split', splitting: true, write: true });
    const later = run(['decode', '--arch', 'arm64', '--level', 'pmd', '0x0200000000000001', '--release', '3.18', '--json']);
    expect(JSON.parse(later.out)).toMatchObject({ release: '3.18', splitting: false, write: true });
    const text = run(['decode', '--arch', 'x86-64', '--level', 'pmd', '0x281', '--release', '3.2']).out;
    expect(text).toMatch(/layout of 3\.2, thp-split era/);
    expect(text).toMatch(/bit 9 +splitting += 1 +\(_PAGE_BIT_SPLITTING \(= SOFTW1, the special bit\)\)/);
    expect(text).not.toMatch(/bit 9 +special/);
    // --era keeps working
    expect(JSON.parse(run(['decode', '--arch', 'x86-64', '--level', 'pmd', '0x481', '--era', 'thp-split', '--json']).out).splitting).toBe(true);
    const bad = run(['decode', '--arch', 'arm64', '--level', 'pte', '0x1', '--release', 'six']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/'six' is not a kernel release/);
  });
});
