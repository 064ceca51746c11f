/**
 * The behaviour of a tree over its history: every commit (or tag) that changed GUP-fast code, and
 * on that commit's own code each built-in scenario and each applicable race per arch. A verdict
 * that changes from one commit to the next is a flip: "fixed" or "introduced", with the commit
 * that did it. Results are kept by file blob and engine version (a blob seen before costs
 * nothing, so one more commit costs one column); the tree is only read.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { ArchId } from '../../emulator/arch/types';
import { RACES } from '../../emulator/scenarios/races';
import { archesOf, mentionsGup } from '../analysis/fingerprint';
import { fileVersion } from '../analysis/source';
import type { GitAccessor } from './git';
import { verdictOn } from './review';

/** GUP-fast files of every era (the x86 file moved into mm/gup.c in 4.13) */
const FILES = ['mm/gup.c', 'arch/x86/mm/gup.c', 'arch/arm/mm/gup.c', 'arch/arm64/mm/gup.c'];
/** bumped when what a verdict means changes: older cached verdicts are not reused */
const ENGINE = 'sweep-2';

export type SweepVerdict = 'violation' | 'ok' | 'n/a' | 'unsupported';

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
}

function cachePath(dir: string, blob: string, arch: string): string {
  return join(dir, `${ENGINE}-${blob}-${arch}.json`);
}

/** Per race, the verdict of one file blob on one arch (read from the cache, or explored now). */
async function verdicts(text: string, path: string, arch: ArchId, blob: string, opts: SweepOptions, dir: string): Promise<Record<string, SweepVerdict>> {
  const file = cachePath(dir, blob, arch);
  if (existsSync(file)) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as Record<string, SweepVerdict>;
    } catch {
      // a corrupt cache entry is explored again
    }
  }
  const out: Record<string, SweepVerdict> = {};
  let v;
  try {
    v = (await fileVersion(text, { arch, path })).source;
  } catch {
    v = undefined;
  }
  for (const race of RACES) {
    if (race.arches && !race.arches.includes(arch)) continue;
    if (!v) {
      out[race.id] = 'unsupported';
      continue;
    }
    const { verdict, r, unsupported } = verdictOn(v, arch, race, opts.maxStates);
    out[race.id] = unsupported ? 'unsupported' : verdict;
    // a torn PAE read met on the way is race-pae-torn-pmd's (or -pte's) violation, not this race's
    if (r?.by) out[`${race.id}@by`] = r.by as SweepVerdict;
  }
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, JSON.stringify(out));
  } catch {
    // a cache that cannot be written only costs time
  }
  return out;
}

/** The commits (or tags) in range that touched a GUP-fast file, oldest first. */
async function commitsOf(git: GitAccessor, opts: SweepOptions): Promise<SweepCommit[]> {
  if (opts.tags) {
    const tags = (await git.run(['tag', '--sort=creatordate'])).split('\n').filter(Boolean);
    const out: SweepCommit[] = [];
    for (const t of tags) {
      const [rev, date, ...subj] = (await git.run(['log', '-1', '--format=%H%x09%aI%x09%s', t])).trim().split('\t');
      out.push({ rev, date, subject: `${t}: ${subj.join('\t')}`, files: [] });
    }
    return out;
  }
  const range = opts.from ? `${opts.from}..${opts.to ?? 'HEAD'}` : opts.to ?? 'HEAD';
  const log = await git.run(['log', '--reverse', '--format=@@%H%x09%aI%x09%s', '--name-only', range, '--', ...FILES]);
  const out: SweepCommit[] = [];
  for (const block of log.split('@@').filter((b) => b.trim())) {
    const [head, ...names] = block.split('\n');
    const [rev, date, ...subj] = head.split('\t');
    out.push({ rev, date, subject: subj.join('\t'), files: names.filter(Boolean) });
  }
  return out;
}

export async function sweep(git: GitAccessor, opts: SweepOptions = {}): Promise<Sweep> {
  const dir = opts.cacheDir ?? join(homedir(), '.cache', 'gup-lens', 'sweep');
  const commits = await commitsOf(git, opts);
  const wanted = (opts.arches?.length ? opts.arches : ['x86-64', 'x86-pae', 'arm-lpae', 'arm64']) as ArchId[];
  const cells: SweepCell[] = [];
  for (const c of commits) {
    if (opts.signal?.aborted) throw new Error('cancelled');
    const specs = FILES.map((f) => `${c.rev}:${f}`);
    const texts = await git.catFiles(specs);
    const blobs = new Map<string, string>();
    for (const f of FILES) {
      if (texts.get(`${c.rev}:${f}`) === undefined) continue;
      try {
        blobs.set(f, (await git.run(['rev-parse', `${c.rev}:${f}`])).trim());
      } catch {
        // gone at this commit
      }
    }
    for (const arch of wanted) {
      // the arch's own walker where the tree has one, else mm/gup.c's generic one
      const file = FILES.slice().sort((x, y) => Number(!x.startsWith('arch/')) - Number(!y.startsWith('arch/'))).find((f) => {
        const t = texts.get(`${c.rev}:${f}`);
        return t !== undefined && mentionsGup(t) && archesOf(t, f).arches.includes(arch);
      });
      if (!file) {
        for (const race of RACES) if (!race.arches || race.arches.includes(arch)) cells.push({ rev: c.rev, scenario: race.id, arch, verdict: 'n/a', engine: 'none' });
        continue;
      }
      opts.progress?.(`${c.rev.slice(0, 12)} ${c.subject.slice(0, 60)}: ${file} on ${arch}`);
      const v = await verdicts(texts.get(`${c.rev}:${file}`)!, file, arch, blobs.get(file) ?? c.rev, opts, dir);
      for (const [scenario, verdict] of Object.entries(v)) {
        if (scenario.endsWith('@by')) continue;
        const by = v[`${scenario}@by`];
        cells.push({ rev: c.rev, scenario, arch, verdict, engine: verdict === 'unsupported' ? 'none' : 'source', ...(by && { by }) });
      }
    }
  }
  return { commits, cells, flips: flipsOf(commits, cells) };
}

/** Where a (race, arch) verdict changes between one commit and the next that has one. */
export function flipsOf(commits: SweepCommit[], cells: SweepCell[]): SweepFlip[] {
  const byKey = new Map<string, Map<string, SweepVerdict>>();
  for (const x of cells) {
    const k = `${x.scenario}|${x.arch}`;
    let m = byKey.get(k);
    if (!m) byKey.set(k, (m = new Map()));
    // another race's violation says nothing of this one's: skipped like code that could not run
    m.set(x.rev, x.by ? 'unsupported' : x.verdict);
  }
  const out: SweepFlip[] = [];
  for (const [k, m] of byKey) {
    const [scenario, arch] = k.split('|');
    let last: SweepVerdict | undefined;
    for (const c of commits) {
      const v = m.get(c.rev);
      // a commit whose code gup-lens could not run says nothing: the comparison goes over it
      if (v === undefined || v === 'unsupported') continue;
      if (last !== undefined && last !== v) {
        if (last === 'violation' && v !== 'violation') out.push({ scenario, arch: arch as ArchId, rev: c.rev, subject: c.subject, flip: 'fixed' });
        else if (last !== 'violation' && v === 'violation') out.push({ scenario, arch: arch as ArchId, rev: c.rev, subject: c.subject, flip: 'introduced' });
      }
      last = v;
    }
  }
  return out;
}
