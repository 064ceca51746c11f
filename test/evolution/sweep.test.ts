/**
 * The behaviour timeline of a tree built here from era fixtures: the flips fall on the commits that
 * introduce and fix each race, and a second run reads every verdict from the blob cache.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sweepArgs } from '../../client/sweep-args';
import { main } from '../../server/cli/main';
import { cliGit } from '../../server/evolution/git';
import { sweep } from '../../server/evolution/sweep';
import { SweepPool } from '../../server/evolution/sweep-pool';
import { fileVerdicts } from '../../server/evolution/sweep-verdicts';
import { withoutWriteProtectSeq } from '../fixtures/derive';

const FIX = join(__dirname, '../fixtures');
const fixture = (p: string) => readFileSync(join(FIX, p), 'utf8');
const V510 = fixture('eras/gup-5.10-shape.c');
const V510_NO_SEQ = withoutWriteProtectSeq(V510);
const V61 = fixture('eras/gup-6.1-shape.c');
const V62 = V61.replace('pmd_t pmv = READ_ONCE(*pm_at);', 'pmd_t pmv = pmdp_get_lockless(pm_at);');

/** A fresh git repository in a temporary folder (git init with these arguments), and git run in it as one author. */
function gitRepo(prefix: string, ...init: string[]): { dir: string; g: (...a: string[]) => string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const g = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 's', GIT_AUTHOR_EMAIL: 's@e', GIT_COMMITTER_NAME: 's', GIT_COMMITTER_EMAIL: 's@e' } });
  g('init', '-q', ...init);
  return { dir, g };
}

/** One file's versions committed one after another (text, subject), swept on x86-64: the result and its revisions, oldest first. */
async function sweepHistory(prefix: string, path: string, versions: [string, string][]) {
  const { dir, g } = gitRepo(prefix);
  mkdirSync(join(dir, dirname(path)), { recursive: true });
  for (const [text, subject] of versions) {
    writeFileSync(join(dir, path), text);
    g('add', '.');
    g('commit', '-qm', subject);
  }
  const r = await sweep(cliGit(dir), { arches: ['x86-64'], cacheDir: mkdtempSync(join(tmpdir(), 'gup-sweep-cache-')), maxStates: 20_000 });
  return { r, revs: r.commits.map((c) => c.rev) };
}

function tree(): { dir: string; revs: string[] } {
  const { dir, g } = gitRepo('gup-sweep-');
  mkdirSync(join(dir, 'mm'));
  const revs: string[] = [];
  for (const [text, msg] of [[V510_NO_SEQ, 'mm/gup: a 5.10-shaped walker'], [V510, 'mm/gup: back off while fork copies (write_protect_seq)'], [V61, 'mm/gup: folios'], [V62, 'mm/gup: read pmds with pmdp_get_lockless']] as const) {
    writeFileSync(join(dir, 'mm/gup.c'), text);
    g('add', '.');
    g('commit', '-qm', msg);
    revs.push(g('rev-parse', 'HEAD').trim());
  }
  // a commit that does not touch GUP-fast code is not a column
  writeFileSync(join(dir, 'README'), 'x\n');
  g('add', '.');
  g('commit', '-qm', 'docs');
  return { dir, revs };
}

describe('sweep', () => {
  it('puts each flip on the commit that made it, and reads a second run from the cache', async () => {
    const { dir, revs } = tree();
    const cacheDir = mkdtempSync(join(tmpdir(), 'gup-sweep-cache-'));
    const r = await sweep(cliGit(dir), { arches: ['x86-64', 'x86-pae'], cacheDir, maxStates: 30_000 });
    expect(r.commits.map((c) => c.rev)).toEqual(revs);
    expect(r.flips).toContainEqual({ scenario: 'race-fork-pin', arch: 'x86-64', rev: revs[1], subject: 'mm/gup: back off while fork copies (write_protect_seq)', flip: 'fixed' });
    expect(r.flips).toContainEqual({ scenario: 'race-pae-torn-pmd', arch: 'x86-pae', rev: revs[3], subject: 'mm/gup: read pmds with pmdp_get_lockless', flip: 'fixed' });
    expect(r.flips.filter((f) => f.flip === 'introduced' && f.scenario === 'race-fork-pin')).toEqual([]);
    expect(r.cells.find((c) => c.rev === revs[0] && c.scenario === 'race-fork-pin' && c.arch === 'x86-64')).toMatchObject({ verdict: 'violation', engine: 'source' });
    // one file per blob and arch: the second run explores nothing
    const cached = readdirSync(cacheDir).length;
    expect(cached).toBe(revs.length * 2);
    const t0 = Date.now();
    const again = await sweep(cliGit(dir), { arches: ['x86-64', 'x86-pae'], cacheDir });
    expect(again.flips).toEqual(r.flips);
    expect(Date.now() - t0).toBeLessThan(30_000);
    expect(readdirSync(cacheDir).length).toBe(cached);
    // kept under what computed them: the built worker's digest, so another build never reuses them
    const worker = join(__dirname, '../../dist/sweep-worker.js');
    const digest = existsSync(worker) ? `-${createHash('sha1').update(readFileSync(worker)).digest('hex').slice(0, 12)}` : '';
    expect(readdirSync(cacheDir).every((f) => f.startsWith(`sweep-5${digest}-`))).toBe(true);
    // --from and --to name commits: the ones after --from, up to --to; a name that is no commit stops the sweep, saying which flag named it
    const some = await sweep(cliGit(dir), { from: revs[1], to: revs[3], arches: ['x86-64'], cacheDir });
    expect(some.commits.map((c) => c.rev)).toEqual(revs.slice(2, 4));
    await expect(sweep(cliGit(dir), { from: 'no-such-rev', cacheDir })).rejects.toThrow(/^--from no-such-rev: no such commit in this repository/);
    await expect(sweep(cliGit(dir), { to: 'v9.9', cacheDir })).rejects.toThrow(/^--to v9\.9: no such commit in this repository/);
  }, 120_000);

  it('a history with a branch and a merge: each commit is compared with its own parent, not the commit printed before it (the main line\'s commit after a side branch\'s fix introduces nothing)', async () => {
    const { dir, g } = gitRepo('gup-sweep-merge-', '-b', 'main');
    const commit = (msg: string, date: string) => {
      g('add', '.');
      execFileSync('git', ['-C', dir, 'commit', '-qm', msg, `--date=${date}`], { env: { ...process.env, GIT_AUTHOR_NAME: 's', GIT_AUTHOR_EMAIL: 's@e', GIT_COMMITTER_NAME: 's', GIT_COMMITTER_EMAIL: 's@e', GIT_COMMITTER_DATE: date } });
      return g('rev-parse', 'HEAD').trim();
    };
    mkdirSync(join(dir, 'mm'));
    writeFileSync(join(dir, 'mm/gup.c'), V510_NO_SEQ);
    commit('mm/gup: a 5.10-shaped walker', '2021-01-01T00:00:00');
    g('checkout', '-qb', 'fix');
    writeFileSync(join(dir, 'mm/gup.c'), V510);
    const fix = commit('mm/gup: back off while fork copies (write_protect_seq)', '2021-01-02T00:00:00');
    g('checkout', '-q', 'main');
    // the main line changes the file too, later than the fix: git log prints it after the fix
    writeFileSync(join(dir, 'mm/gup.c'), `/* the main line's note */\n${V510_NO_SEQ}`);
    const note = commit('mm/gup: a note on the main line', '2021-01-03T00:00:00');
    g('merge', '-q', '--no-edit', 'fix');
    const merge = g('rev-parse', 'HEAD').trim();
    const r = await sweep(cliGit(dir), { arches: ['x86-64'], cacheDir: mkdtempSync(join(tmpdir(), 'gup-sweep-cache-')), maxStates: 30_000 });
    expect(r.commits.map((c) => c.rev)).toEqual(expect.arrayContaining([fix, note, merge]));
    const pin = r.flips.filter((f) => f.scenario === 'race-fork-pin').map((f) => [f.rev, f.flip]);
    // fixed on the side branch, and again where the merge brings the fix to the main line; the main line's note introduces nothing
    expect(pin).toEqual([[fix, 'fixed'], [merge, 'fixed']]);
    // the merge names the file it changed on the main line (the timeline opens it from there)
    expect(r.commits.find((c) => c.rev === merge)?.files).toEqual(['mm/gup.c']);
  }, 120_000);

  it('a topic branch that merges the main line: the merge took the files as the main line had them, so it is no commit of the sweep and fixes nothing (the fix is the main line\'s commit)', async () => {
    const { dir, g } = gitRepo('gup-sweep-topic-', '-b', 'main');
    const commit = (msg: string) => {
      g('add', '.');
      g('commit', '-qm', msg);
      return g('rev-parse', 'HEAD').trim();
    };
    mkdirSync(join(dir, 'mm'));
    writeFileSync(join(dir, 'mm/gup.c'), V510_NO_SEQ);
    const first = commit('mm/gup: a 5.10-shaped walker');
    g('checkout', '-qb', 'topic');
    writeFileSync(join(dir, 'README'), 'topic work\n');
    commit('docs: topic work');
    g('checkout', '-q', 'main');
    writeFileSync(join(dir, 'mm/gup.c'), V510);
    const fix = commit('mm/gup: back off while fork copies (write_protect_seq)');
    g('checkout', '-q', 'topic');
    g('merge', '-q', '--no-edit', 'main');
    const r = await sweep(cliGit(dir), { arches: ['x86-64'], cacheDir: mkdtempSync(join(tmpdir(), 'gup-sweep-cache-')), maxStates: 30_000 });
    expect(r.commits.map((c) => c.rev)).toEqual([first, fix]);
    expect(r.flips.filter((f) => f.scenario === 'race-fork-pin').map((f) => [f.rev, f.flip])).toEqual([[fix, 'fixed']]);
  }, 120_000);

  it('--tags: release tags in version order (a stable tag made later sorts by its version), a tag that changes no GUP-fast file is no column, --from/--to name the first and last tag', async () => {
    const { dir, revs } = tree();
    const g = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8', env: { ...process.env, GIT_COMMITTER_NAME: 's', GIT_COMMITTER_EMAIL: 's@e' } });
    // made in this order: the stable tag of the oldest walker last, an -rc before its release
    g('tag', 'v5.11-rc1', revs[1]);
    g('tag', 'v5.11', revs[1]);
    g('tag', 'v6.2', revs[3]);
    g('tag', 'v6.1', revs[2]);
    g('tag', 'v5.10.4', revs[0]);
    // a vendor's suffix sorts after its release, still by version
    g('tag', 'v6.2.0-vendor', revs[3]);
    const cacheDir = mkdtempSync(join(tmpdir(), 'gup-sweep-cache-'));
    const r = await sweep(cliGit(dir), { tags: true, arches: ['x86-64', 'x86-pae'], cacheDir, maxStates: 30_000 });
    // v5.11 holds what v5.11-rc1 held: no column of its own
    expect(r.commits.map((c) => c.subject.split(':')[0])).toEqual(['v5.10.4', 'v5.11-rc1', 'v6.1', 'v6.2']);
    expect(r.commits.length).toBe(4); // v6.2.0-vendor holds what v6.2 held
    expect(r.commits[1].files).toEqual(['mm/gup.c']);
    expect(r.flips).toContainEqual(expect.objectContaining({ scenario: 'race-fork-pin', arch: 'x86-64', rev: revs[1], flip: 'fixed' }));
    expect(r.flips).toContainEqual(expect.objectContaining({ scenario: 'race-pae-torn-pmd', arch: 'x86-pae', rev: revs[3], flip: 'fixed' }));
    const some = await sweep(cliGit(dir), { tags: true, from: 'v5.11', to: 'v6.1', arches: ['x86-64'], cacheDir });
    expect(some.commits.map((c) => c.subject.split(':')[0])).toEqual(['v5.11', 'v6.1']);
    await expect(sweep(cliGit(dir), { tags: true, from: 'v9.9', cacheDir })).rejects.toThrow(/--from v9\.9: no such tag/);
    const bare = tree();
    await expect(sweep(cliGit(bare.dir), { tags: true, cacheDir })).rejects.toThrow(/this repository has no tags/);
    // the timeline's choices, as the CLI takes them: every tag from v6.1 on; the commits after v6.1
    const run = async (args: string[]) => {
      const out: string[] = [];
      expect(await main([...args, '--arch', 'x86-pae', '--max-states', '20000'], (x) => out.push(x), () => undefined)).toBe(0);
      return JSON.parse(out.join('')) as { commits: { rev: string; subject: string }[] };
    };
    expect(sweepArgs(dir, 'every tag')).toEqual(['sweep', '--repo', dir, '--json', '--tags']);
    expect((await run(sweepArgs(dir, 'tags from a tag on…', 'v6.1'))).commits.map((c) => c.subject.split(':')[0])).toEqual(['v6.1', 'v6.2']);
    expect((await run(sweepArgs(dir, 'commits since a tag…', 'v6.1'))).commits.map((c) => c.rev)).toEqual([revs[3]]);
    expect((await run(sweepArgs(dir, 'every commit that changed GUP-fast code', 'v6.1'))).commits.map((c) => c.rev)).toEqual(revs);
  }, 180_000);

  it('a tree whose mm/gup.c is the slow path only (its walker in arch/x86/mm/gup.c): the other arches have no GUP-fast code, n/a, never "could not run"', async () => {
    const { dir, g } = gitRepo('gup-sweep-slow-');
    mkdirSync(join(dir, 'mm'));
    mkdirSync(join(dir, 'arch/x86/mm'), { recursive: true });
    // the slow path only: it names get_user_pages_fast (the arch's walker falls back on it) and defines no walker
    writeFileSync(join(dir, 'mm/gup.c'), '/* the slow path; get_user_pages_fast() lives in the arch */\nlong get_user_pages_unlocked(unsigned long start, unsigned long nr_pages, struct page **pages, unsigned int gup_flags)\n{\n\treturn 0;\n}\n');
    writeFileSync(join(dir, 'arch/x86/mm/gup.c'), fixture('eras/x86-2008-shape.c'));
    g('add', '.');
    g('commit', '-qm', 'a tree of 2.6.x shape');
    const r = await sweep(cliGit(dir), { arches: ['x86-64', 'arm64'], cacheDir: mkdtempSync(join(tmpdir(), 'gup-sweep-cache-')), maxStates: 20_000 });
    const arm = r.cells.filter((c) => c.arch === 'arm64');
    expect(arm.length).toBeGreaterThan(0);
    expect(arm.every((c) => c.verdict === 'n/a' && c.engine === 'none')).toBe(true);
    expect(r.cells.filter((c) => c.arch === 'x86-64').every((c) => c.engine === 'source' || c.verdict === 'n/a')).toBe(true);
  }, 120_000);

  it('replays every built-in scenario too: the commit that rounds an unaligned start down fixes unaligned-cross-pmd (a walk past its pte table)', async () => {
    const fixed = fixture('eras/x86-2008-shape.c');
    const unrounded = fixed.replace('va = start & PAGE_MASK;', 'va = start;');
    expect(unrounded).not.toBe(fixed);
    const { r, revs } = await sweepHistory('gup-sweep-scen-', 'arch/x86/mm/gup.c', [
      [unrounded, 'x86: lockless get_user_pages_fast'],
      [fixed, 'x86: round an unaligned start down'],
    ]);
    const cellOf = (scenario: string, i: number) => r.cells.find((c) => c.scenario === scenario && c.rev === revs[i])?.verdict;
    expect([cellOf('unaligned-cross-pmd', 0), cellOf('unaligned-cross-pmd', 1)]).toEqual(['violation', 'ok']);
    expect(r.flips.filter((f) => f.scenario === 'unaligned-cross-pmd')).toEqual([{ scenario: 'unaligned-cross-pmd', arch: 'x86-64', rev: revs[1], subject: 'x86: round an unaligned start down', flip: 'fixed' }]);
    // the plain 4K walks are ok on both, with their cells in the contract's shape
    expect([cellOf('pages-4k-16', 0), cellOf('pages-4k-16', 1)]).toEqual(['ok', 'ok']);
    // a scenario of another arch has no cell here (pkey-denied is x86-64's; LA57 is x86-64's too)
    expect(r.cells.some((c) => c.arch !== 'x86-64')).toBe(false);
  }, 120_000);

  it("the 2019 refcount-overflow fix is a flip: the commit that takes try_get_compound_head fixes get-refcount-overflow (the count wrapped to zero before)", async () => {
    const V49 = fixture('eras/gup-4.9-shape.c');
    const lookup = 'hd = compound_head(pg);\n\t\tif (!page_cache_get_speculative(hd)) {';
    const guarded = V49.replace(lookup, 'hd = try_get_compound_head(pg, 1);\n\t\tif (!hd) {');
    expect(guarded).not.toBe(V49);
    const { r, revs } = await sweepHistory('gup-sweep-wrap-', 'mm/gup.c', [
      [V49, 'mm/gup: a 4.9-shaped walker'],
      [guarded, 'mm: prevent get_user_pages() from overflowing page refcount'],
    ]);
    const cellOf = (i: number) => r.cells.find((c) => c.scenario === 'get-refcount-overflow' && c.rev === revs[i])?.verdict;
    expect([cellOf(0), cellOf(1)]).toEqual(['violation', 'ok']);
    expect(r.flips.filter((f) => f.scenario === 'get-refcount-overflow')).toEqual([{ scenario: 'get-refcount-overflow', arch: 'x86-64', rev: revs[1], subject: 'mm: prevent get_user_pages() from overflowing page refcount', flip: 'fixed' }]);
  }, 120_000);

  it('a kernel kept in a folder of a larger repository (a research tree, a vendor\'s import): found by a census of the top-level folders, or named by --repo; its commits and flips are the same, its files named as the repository names them', async () => {
    const { dir, g } = gitRepo('gup-sweep-folder-');
    mkdirSync(join(dir, 'linux-6.1/mm'), { recursive: true });
    const revs: string[] = [];
    for (const [text, msg] of [[V61, 'import linux 6.1'], [V62, 'read pmds with pmdp_get_lockless']] as const) {
      writeFileSync(join(dir, 'linux-6.1/mm/gup.c'), text);
      writeFileSync(join(dir, 'NOTES'), msg);
      g('add', '.');
      g('commit', '-qm', msg);
      revs.push(g('rev-parse', 'HEAD').trim());
    }
    const cacheDir = mkdtempSync(join(tmpdir(), 'gup-sweep-cache-'));
    const r = await sweep(cliGit(dir), { arches: ['x86-pae'], cacheDir, maxStates: 20_000 });
    expect(r.commits.map((c) => [c.rev, c.files])).toEqual(revs.map((rev) => [rev, ['linux-6.1/mm/gup.c']]));
    expect(r.flips).toEqual([{ scenario: 'race-pae-torn-pmd', arch: 'x86-pae', rev: revs[1], subject: 'read pmds with pmdp_get_lockless', flip: 'fixed' }]);
    // --repo naming the folder: the same sweep
    const out: string[] = [];
    expect(await main(['sweep', '--repo', join(dir, 'linux-6.1'), '--arch', 'x86-pae', '--json'], (s) => out.push(s), () => undefined)).toBe(0);
    expect(JSON.parse(out.join('')).flips).toEqual(r.flips);
    // two kernels side by side: no census can choose, nothing is swept (the top holds none)
    mkdirSync(join(dir, 'linux-6.2/mm'), { recursive: true });
    writeFileSync(join(dir, 'linux-6.2/mm/gup.c'), V62);
    g('add', '.');
    g('commit', '-qm', 'a second kernel');
    expect((await sweep(cliGit(dir), { arches: ['x86-pae'], cacheDir })).commits).toEqual([]);
  }, 120_000);

  it('gup-lens sweep --json: commits, cells and flips of the contract', async () => {
    const { dir, revs } = tree();
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['sweep', '--repo', dir, '--from', revs[2], '--arch', 'x86-pae', '--json'], (s) => out.push(s), (s) => err.push(s))).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(Object.keys(j)).toEqual(['commits', 'cells', 'flips']);
    expect(j.commits.map((c: { rev: string }) => c.rev)).toEqual([revs[3]]);
    expect(Object.keys(j.commits[0]).sort()).toEqual(['date', 'files', 'rev', 'subject']);
    expect(Object.keys(j.cells[0]).sort()).toEqual(['arch', 'engine', 'rev', 'scenario', 'verdict']);
    expect(err.join('\n')).toMatch(/mm\/gup\.c on x86-pae/);
    expect(await main(['sweep', '--repo', mkdtempSync(join(tmpdir(), 'gup-not-a-repo-'))], () => undefined, () => undefined)).toBe(2);
    // a range where only the docs changed says which files it looked for, and where
    const none: string[] = [];
    expect(await main(['sweep', '--repo', dir, '--from', revs[3]], (s) => none.push(s), () => undefined)).toBe(0);
    expect(none.join('\n')).toBe('no commit in this range changed a GUP-fast file (mm/gup.c, arch/x86/mm/gup.c, arch/arm/mm/gup.c, arch/arm64/mm/gup.c, in the top of the tree or one folder under it)');
    const inMm: string[] = [];
    expect(await main(['sweep', '--repo', join(dir, 'mm')], (s) => inMm.push(s), () => undefined)).toBe(0);
    expect(inMm.join('\n')).toMatch(/in the folder mm\/\)$/);
  }, 120_000);
});

describe('the sweep pool', () => {
  it('explores on worker threads (the built script) and answers what the same work gives on this thread', async () => {
    const script = join(__dirname, '../../dist/sweep-worker.js');
    if (!existsSync(script)) return void console.warn('dist/sweep-worker.js not built: run npm run build (the worker half of this test is skipped)');
    const job = { text: V510_NO_SEQ, path: 'mm/gup.c', arch: 'x86-64' as const, maxStates: 30_000 };
    const pool = new SweepPool(2, script);
    try {
      const [a, b] = await Promise.all([pool.run(job), pool.run({ ...job, text: V510 })]);
      expect(a).toEqual(await fileVerdicts(job.text, job.path, job.arch, job.maxStates));
      expect(a['race-fork-pin']).toBe('violation');
      expect(b['race-fork-pin']).toBe('ok');
    } finally {
      await pool.close();
    }
    // a closed pool refuses what is left, never hangs
    await expect(pool.run(job)).rejects.toThrow(/cancelled/);
  }, 120_000);
});
