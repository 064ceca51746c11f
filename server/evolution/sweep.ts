/**
 * The behaviour of a tree over its history: every commit (or tag) that changed GUP-fast code, and
 * on that commit's own code each built-in scenario and each applicable race per arch. A verdict
 * that changes from a commit's parent (in the history of those files) to the commit is a flip:
 * "fixed" or "introduced", with the commit that did it. Results are kept by file blob and engine
 * version (a blob seen before costs nothing, so one more commit costs one column); the tree is
 * only read.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ArchId } from '../../emulator/arch/types';
import { SCENARIOS } from '../../emulator/scenarios';
import { RACES } from '../../emulator/scenarios/races';
import { archesOf, mentionsGup } from '../analysis/fingerprint';
import { releaseOfMakefile } from '../analysis/headers';
import { releaseLine } from '../../emulator/interp/era';
import { kernelDir, type GitAccessor } from './git';
import { MODELLED_FILES } from './names';
import { SweepPool, verdictEngine } from './sweep-pool';
import { NO_FAST_CODE, type SweepVerdict, type SweepVerdicts } from './sweep-verdicts';

/** GUP-fast files of every era (the x86 file moved into mm/gup.c in 4.13) */
export const FILES = MODELLED_FILES;

export type { SweepVerdict } from './sweep-verdicts';


export interface SweepCommit {
  rev: string;
  subject: string;
  date: string;
  files: string[];
}

export interface SweepCell {
  rev: string;
  scenario: string;
  arch: ArchId;
  verdict: SweepVerdict;
  engine: 'source' | 'none';
  /** the violation is another race's (a torn PAE pmd or pte read met on the way): it flips nothing for this one */
  by?: string;
}

export interface SweepFlip {
  scenario: string;
  arch: ArchId;
  rev: string;
  subject: string;
  flip: 'fixed' | 'introduced';
}

export interface Sweep {
  commits: SweepCommit[];
  cells: SweepCell[];
  flips: SweepFlip[];
}

export interface SweepOptions {
  from?: string;
  to?: string;
  /** every tag instead of every commit */
  tags?: boolean;
  arches?: string[];
  maxStates?: number;
  /** where verdicts are kept between runs (default ~/.cache/gup-lens/sweep) */
  cacheDir?: string;
  progress?: (s: string) => void;
  signal?: AbortSignal;
  /** worker threads at once (default: every core) */
  workers?: number;
  /** the kernel's folder in the repository, '' at its top (default: kernelDir's census) */
  dir?: string;
}

/** A column's verdicts are the file's blob's on an arch, in its tree's release line (the Makefile places the code within its range). */
function cachePath(dir: string, key: string): string {
  return join(dir, `${verdictEngine()}-${key.replace(/\|/g, '-')}.json`);
}

/** The verdicts of one file blob on one arch and release line kept from an earlier run, if any. */
function cached(dir: string, key: string): SweepVerdicts | undefined {
  const file = cachePath(dir, key);
  if (!existsSync(file)) return undefined;
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as SweepVerdicts;
  } catch {
    return undefined; // a corrupt cache entry is explored again
  }
}

function keep(dir: string, key: string, v: SweepVerdicts): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(cachePath(dir, key), JSON.stringify(v));
  } catch {
    // a cache that cannot be written only costs time
  }
}

/** A release's tag (v5.10, v5.10.44, v6.1-rc3, a vendor's v5.4.61-1.0): such tags go in version order. */
const RELEASE_TAG = /^v?(\d+(?:\.\d+)+)(.*)$/;

/** Where a tag's suffix sorts among the tags of one release: a release candidate first (by number), then the release, then a vendor's suffixes. */
function suffixRank(suffix: string): [number, number, string] {
  const rc = /^-rc(\d+)$/.exec(suffix);
  return rc ? [0, Number(rc[1]), ''] : suffix === '' ? [1, 0, ''] : [2, 0, suffix];
}

/** Version order: numbers part by part (5.10 is 5.10.0), then the suffix. */
function byVersion(a: string, b: string): number {
  const [, va, sa] = RELEASE_TAG.exec(a)!;
  const [, vb, sb] = RELEASE_TAG.exec(b)!;
  const pa = va.split('.').map(Number);
  const pb = vb.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  const [ka, na, xa] = suffixRank(sa);
  const [kb, nb, xb] = suffixRank(sb);
  return ka - kb || na - nb || (xa < xb ? -1 : xa > xb ? 1 : 0);
}

/**
 * The tags from --from to --to (both named tags, both kept), in version order where every tag
 * names a release and else in the order they were made; of those, each whose GUP-fast files
 * differ from the tag before it (the first always), with the files that changed.
 */
async function tagsOf(git: GitAccessor, opts: SweepOptions, paths: string[]): Promise<SweepCommit[]> {
  const made = (await git.run(['tag', '--sort=creatordate'])).split('\n').filter(Boolean);
  if (!made.length) throw new Error('this repository has no tags (without --tags, the sweep walks commits)');
  const tags = made.every((t) => RELEASE_TAG.test(t)) ? [...made].sort(byVersion) : made;
  const at = (flag: string, name: string) => {
    const i = tags.indexOf(name);
    if (i < 0) throw new Error(`${flag} ${name}: no such tag (with --tags, --from and --to name the first and last tag)`);
    return i;
  };
  const lo = opts.from ? at('--from', opts.from) : 0;
  const hi = opts.to ? at('--to', opts.to) : tags.length - 1;
  if (lo > hi) throw new Error(`--from ${opts.from} comes after --to ${opts.to} in the tags' order`);
  const out: SweepCommit[] = [];
  let prev = new Map<string, string>();
  for (const t of tags.slice(lo, hi + 1)) {
    if (opts.signal?.aborted) throw new Error('cancelled');
    // path -> blob of the GUP-fast files the tag holds
    const now = new Map<string, string>();
    for (const line of (await git.run(['ls-tree', '-r', t, '--', ...paths])).split('\n')) {
      const m = /^\d+ blob ([0-9a-f]+)\t(.+)$/.exec(line);
      if (m) now.set(m[2], m[1]);
    }
    const files = paths.filter((f) => now.get(f) !== prev.get(f));
    prev = now;
    if (out.length && !files.length) continue;
    const [rev, date, ...subj] = (await git.run(['log', '-1', '--format=%H%x09%aI%x09%s', t])).trim().split('\t');
    out.push({ rev, date, subject: `${t}: ${subj.join('\t')}`, files });
  }
  return out;
}

/**
 * The commits (or tags) in range that touched a GUP-fast file, oldest first, and what each is
 * compared with: a commit, with its first parent as git's history of those files rewrites it (the
 * nearest listed ancestor on that line: a side branch's commit is not compared with the main
 * line's, nor a merge with its side); a tag, with the tag before it.
 */
async function commitsOf(git: GitAccessor, opts: SweepOptions, paths: string[]): Promise<{ commits: SweepCommit[]; bases: Bases }> {
  if (opts.tags) {
    const commits = await tagsOf(git, opts, paths);
    return { commits, bases: new Map(commits.map((c, i) => [c.rev, commits[i - 1]?.rev])) };
  }
  const range = opts.from ? `${opts.from}..${opts.to ?? 'HEAD'}` : opts.to ?? 'HEAD';
  // topo-order: every parent before its children, whatever the commit dates say. git's own
  // history simplification: a merge that took the files as one parent had them is no commit of
  // theirs (a topic branch merging the main line would otherwise "introduce" every race the main
  // line has), and --parents names the nearest listed ancestors. No --diff-merges here: it makes
  // git list every merge that differs from its first parent (10,803 of them in a 2.6.32 tree
  // whose files changed in 13 commits).
  const log = await git.run(['log', '--reverse', '--topo-order', '--parents', '--format=@@%H%x09%P%x09%aI%x09%s', '--name-only', range, '--', ...paths]);
  const commits: SweepCommit[] = [];
  const bases: Bases = new Map();
  for (const block of log.split('@@').filter((b) => b.trim())) {
    const [head, ...names] = block.split('\n');
    const [rev, parents, date, ...subj] = head.split('\t');
    const c = { rev, date, subject: subj.join('\t'), files: names.filter(Boolean) };
    // a merge left in changed the files from every parent: name them as it changed them from its first
    if (parents.includes(' ')) c.files = (await git.run(['diff', '--name-only', `${rev}^1`, rev, '--', ...paths])).split('\n').filter(Boolean);
    commits.push(c);
    const first = parents.split(' ')[0];
    bases.set(rev, bases.has(first) ? first : undefined);
  }
  return { commits, bases };
}

/** A revision the user named is a commit of this repository, or the sweep stops saying which flag named what. */
async function mustBeCommit(git: GitAccessor, flag: string, rev: string): Promise<void> {
  try {
    await git.run(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  } catch {
    throw new Error(`${flag} ${rev}: no such commit in this repository (a commit, branch or tag)`);
  }
}

/** per commit, the listed one its verdicts are compared with (undefined: none in range) */
type Bases = Map<string, string | undefined>;

/** One commit on one arch: the file whose own code runs there, if the tree has one. */
interface Column {
  c: SweepCommit;
  arch: ArchId;
  file?: string;
  text?: string;
  blob?: string;
  /** the release the Makefile of the commit's kernel folder names ('' where it names none) */
  release?: string;
}

/** Where a column's verdicts are kept: its blob, its arch and its release line. */
const keyOf = (x: Column) => `${x.blob}|${x.arch}|${(x.release && releaseLine(x.release)) ?? ''}`;

export async function sweep(git: GitAccessor, opts: SweepOptions = {}): Promise<Sweep> {
  const dir = opts.cacheDir ?? join(homedir(), '.cache', 'gup-lens', 'sweep');
  if (!opts.tags) for (const [flag, rev] of [['--from', opts.from], ['--to', opts.to]] as const) if (rev) await mustBeCommit(git, flag, rev);
  // the files as the repository names them (commits list them so); a column's file is the kernel's path, which says the arches
  const top = opts.dir ?? (await kernelDir(git, opts.to ?? 'HEAD', FILES));
  const { commits, bases } = await commitsOf(git, opts, FILES.map((f) => top + f));
  const wanted = (opts.arches?.length ? opts.arches : ['x86-64', 'x86-pae', 'arm-lpae', 'arm64']) as ArchId[];
  const cols: Column[] = [];
  for (const c of commits) {
    if (opts.signal?.aborted) throw new Error('cancelled');
    const at = (f: string) => `${c.rev}:${top}${f}`;
    const texts = await git.catFiles([...FILES, 'Makefile', 'Makefile.rhelver'].map(at));
    const release = releaseOfMakefile(texts.get(at('Makefile')) ?? '', texts.get(at('Makefile.rhelver'))) ?? '';
    const blobs = new Map<string, string>();
    for (const f of FILES) {
      if (texts.get(at(f)) === undefined) continue;
      try {
        blobs.set(f, (await git.run(['rev-parse', at(f)])).trim());
      } catch {
        // gone at this commit
      }
    }
    for (const arch of wanted) {
      // the arch's own walker where the tree has one, else mm/gup.c's generic one
      const file = FILES.slice().sort((x, y) => Number(!x.startsWith('arch/')) - Number(!y.startsWith('arch/'))).find((f) => {
        const t = texts.get(at(f));
        return t !== undefined && mentionsGup(t) && archesOf(t, f).arches.includes(arch);
      });
      cols.push(file ? { c, arch, file, text: texts.get(at(file))!, blob: blobs.get(file) ?? c.rev, release } : { c, arch });
    }
  }
  // each distinct (blob, arch) once: from the cache, else explored on the workers, all cores at once
  const pool = new SweepPool(opts.workers);
  const stop = () => void pool.close();
  opts.signal?.addEventListener('abort', stop);
  const jobs = new Map<string, Promise<SweepVerdicts>>();
  const todo = new Set(cols.filter((x) => x.file).map(keyOf)).size;
  let done = 0;
  const said = (x: Column, how = '') => opts.progress?.(`[${++done}/${todo}] ${x.c.rev.slice(0, 12)} ${x.c.subject.slice(0, 60)}: ${top}${x.file} on ${x.arch}${how}`);
  try {
    for (const x of cols) {
      if (!x.file) continue;
      const key = keyOf(x);
      if (jobs.has(key)) continue;
      const hit = cached(dir, key);
      if (hit) said(x, ' (cached)');
      jobs.set(
        key,
        hit
          ? Promise.resolve(hit)
          : pool.run({ text: x.text!, path: x.file, arch: x.arch, maxStates: opts.maxStates, release: x.release }).then(
              (v) => {
                keep(dir, key, v);
                said(x);
                return v;
              },
              // a worker lost on this file (or cancelled): its code is reported as not run, never as a verdict
              (): SweepVerdicts => ({}),
            ),
      );
    }
    await Promise.all(jobs.values());
  } finally {
    opts.signal?.removeEventListener('abort', stop);
    await pool.close();
  }
  if (opts.signal?.aborted) throw new Error('cancelled');
  const cells: SweepCell[] = [];
  for (const x of cols) {
    // every race, then every built-in scenario, the arch can meet
    const applicable = [...RACES, ...SCENARIOS].filter((r) => !r.arches || r.arches.includes(x.arch));
    const v = x.file ? await jobs.get(keyOf(x))! : undefined;
    // no file for the arch, or one with no GUP-fast code (the slow path only): nothing runs there
    if (!v || v[NO_FAST_CODE]) {
      for (const race of applicable) cells.push({ rev: x.c.rev, scenario: race.id, arch: x.arch, verdict: 'n/a', engine: 'none' });
      continue;
    }
    for (const race of applicable) {
      const verdict = (v[race.id] as SweepVerdict | undefined) ?? 'unsupported';
      const by = v[`${race.id}@by`];
      cells.push({ rev: x.c.rev, scenario: race.id, arch: x.arch, verdict, engine: verdict === 'unsupported' ? 'none' : 'source', ...(by && { by }) });
    }
  }
  return { commits, cells, flips: flipsOf(commits, cells, bases) };
}

/**
 * Where a (race, arch) verdict changes between a commit and the one it is compared with (its base;
 * by default the one before it in the list). A commit whose code could not run says nothing: the
 * comparison goes over it to its base's.
 */
export function flipsOf(commits: SweepCommit[], cells: SweepCell[], bases?: Bases): SweepFlip[] {
  const baseOf = (i: number) => (bases ? bases.get(commits[i].rev) : commits[i - 1]?.rev);
  const index = new Map(commits.map((c, i) => [c.rev, i]));
  // 'gone': the tree has no GUP-fast code for the arch at that commit (no file, or the slow path only)
  const byKey = new Map<string, Map<string, SweepVerdict | 'gone'>>();
  for (const x of cells) {
    const k = `${x.scenario}|${x.arch}`;
    let m = byKey.get(k);
    if (!m) byKey.set(k, (m = new Map()));
    // another race's violation says nothing of this one's: skipped like code that could not run
    m.set(x.rev, x.by ? 'unsupported' : x.engine === 'none' && x.verdict === 'n/a' ? 'gone' : x.verdict);
  }
  const out: SweepFlip[] = [];
  for (const [k, m] of byKey) {
    const [scenario, arch] = k.split('|');
    // the verdict a commit hands on to those based on it (oldest first, so a base is always done)
    const carried: (SweepVerdict | 'gone' | undefined)[] = [];
    commits.forEach((c, i) => {
      const b = baseOf(i);
      const last = b === undefined ? undefined : carried[index.get(b)!];
      const v = m.get(c.rev);
      // code that could not run carries its base's verdict on; code taken out of the tree fixes nothing
      if (v === undefined || v === 'unsupported' || (v === 'gone' && last === 'violation')) {
        carried[i] = last;
        return;
      }
      carried[i] = v;
      if (last === undefined || last === v) return;
      // a race comes with the code that has it (introduced)
      if (last === 'violation' && v !== 'violation') out.push({ scenario, arch: arch as ArchId, rev: c.rev, subject: c.subject, flip: 'fixed' });
      else if (last !== 'violation' && v === 'violation') out.push({ scenario, arch: arch as ArchId, rev: c.rev, subject: c.subject, flip: 'introduced' });
    });
  }
  return out;
}
