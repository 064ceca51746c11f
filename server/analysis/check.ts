/**
 * `gup-lens check`: what a reviewer runs on a tree. For each GUP-fast file and each arch its code
 * is for, every built-in scenario and every applicable race run on the file's own code; where
 * the code cannot run, the version model stands in and the first unsupported construct is named
 * with its line. One summary at the end: how many runs were the file's own.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { getArch } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { explore } from '../../emulator/explore/explore';
import { faultViolation } from '../../emulator/explore/invariants';
import { Unsupported } from '../../emulator/interp/runtime';
import type { Stubs } from '../../emulator/interp/kapi/stubs';
import { checkApplicable, NotApplicableError, replay } from '../../emulator/run/replay';
import { SCENARIOS } from '../../emulator/scenarios';
import { RACES } from '../../emulator/scenarios/races';
import { archesOf } from './fingerprint';
import { treeReleaseOf } from './headers';
import { fileVersion, MAX_SOURCE_BYTES, NotGupError } from './source';

export interface CheckRun {
  scenario: string;
  engine: 'source' | 'model';
  /** what happened: a replay's result, a race's verdict, or why nothing ran */
  outcome: string;
  unsupported?: { what: string; line: number };
}

export interface CheckFile {
  file: string;
  release: string | null;
  /** why no arch is checked (a file for another arch, no GUP-fast code) */
  note?: string;
  /** the stubs the runs used */
  stubs?: string[];
  /** per arch: the runs, and the names the file's reachable code uses that nothing binds (the census's gaps) */
  arches: { arch: ArchId; runs: CheckRun[]; lacks?: { what: string; line: number }[] }[];
}

export interface CheckReport {
  files: CheckFile[];
  summary: { files: number; runs: number; own: number; percent: number };
}

export interface CheckOptions {
  stubs?: Stubs;
  /** only these arches (default: every arch the file's code is for) */
  arches?: string[];
  /** races too (default on) */
  races?: boolean;
  /** a bound on each race's search, for quick checks */
  maxStates?: number;
  /** progress, one line per file */
  progress?: (s: string) => void;
}

/** The files a path stands for: a file itself; in a directory, its GUP-fast files (a kernel tree's by their paths). */
export function checkPaths(paths: string[]): string[] {
  const out: string[] = [];
  for (const p of paths) {
    let st;
    try {
      st = statSync(p);
    } catch (e) {
      throw new Error(`cannot read ${p}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    if (!st.isDirectory()) {
      out.push(p);
      continue;
    }
    out.push(...walkC(p));
  }
  return out;
}

/** A kernel tree's GUP-fast files, by their paths (none: the directory is no kernel tree, or holds none). */
function treeFiles(dir: string): string[] {
  return ['mm/gup.c', 'arch/x86/mm/gup.c', 'arch/arm/mm/gup.c', 'arch/arm64/mm/gup.c']
    .map((x) => join(dir, x))
    .filter((x) => {
      try {
        return statSync(x).isFile();
      } catch {
        return false;
      }
    });
}

/** The C files under a directory; a kernel tree met on the way gives its GUP-fast files only (a folder of trees is not 90,000 files each). */
function walkC(dir: string, depth = 0): string[] {
  const own = treeFiles(dir);
  if (own.length) return own;
  if (depth > 12) return [];
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (e.name.startsWith('.') || e.name === 'node_modules') continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walkC(p, depth + 1));
    else if (e.isFile() && /\.c$/.test(e.name)) out.push(p);
  }
  return out;
}

function unsupportedOf(e: unknown): { what: string; line: number } {
  if (e instanceof Unsupported) return { what: e.what, line: e.line };
  return { what: (e as Error).message, line: 0 };
}

/** A replay's outcome in one line: pages, return, slow path, an overrun, the references it left. */
export function replayOutcome(r: ReturnType<typeof replay>): string {
  const refs = r.deltas.reduce((n, d) => n + d.refcount, 0);
  const pins = r.deltas.reduce((n, d) => n + d.pincount, 0);
  // what the walk broke on the way, where a plain replay sees it (a refcount wrapped past zero, a wild page)
  const broke = faultViolation(r.machine);
  return `nr=${r.result.nr} ret=${r.result.ret}${r.result.slowPath ? ` slow(fast ${r.result.fastNr})` : ''}${r.result.overrun ? ` overrun(${r.result.overrun.table ? `${r.result.overrun.table.level} table[${r.result.overrun.table.idx}]` : `pages[${r.result.overrun.len}]`})` : ''}${r.result.uninit ? ` uninit(${r.result.uninit.name}@${r.result.uninit.line})` : ''} refs${refs >= 0 ? '+' : ''}${refs}${pins ? ` pins+${pins}` : ''}${broke ? ` [${broke.invariant}]` : ''}`;
}

/** Check one file's text (`file` names it in the report). */
export async function checkText(file: string, text: string, opts: CheckOptions = {}): Promise<CheckFile> {
  if (text.length > MAX_SOURCE_BYTES) return { file, release: null, note: `${(text.length / 1048576).toFixed(1)} MB: gup-lens reads files up to 4 MB`, arches: [] };
  const { arches, note } = archesOf(text, file);
  const wanted = arches.filter((a) => !opts.arches || opts.arches.includes(a));
  const out: CheckFile = { file, release: null, arches: [], ...(note && { note }) };
  const stubsUsed = new Set<string>();
  for (const arch of wanted) {
    let fv;
    try {
      fv = await fileVersion(text, { arch, path: file, stubs: opts.stubs });
    } catch (e) {
      // no GUP-fast code here: where the tree's own walker is, and the tree's release, still said
      if (e instanceof NotGupError) {
        const tree = treeReleaseOf(file);
        return { ...out, ...(tree && { release: `${tree} (its tree's Makefile)` }), note: note ? `${e.message}; ${note}` : e.message, arches: [] };
      }
      throw e;
    }
    out.release ??= fv.fingerprint?.release ? `${fv.fingerprint.release.range} (by ${fv.fingerprint.release.by.join(', ')})` : null;
    const runs: CheckRun[] = [];
    const src = fv.source;
    for (const s of SCENARIOS) {
      try {
        checkApplicable(getArch(arch), src ?? fv.model, s);
      } catch (e) {
        if (e instanceof NotApplicableError) continue;
        throw e;
      }
      if (src) {
        try {
          runs.push({ scenario: s.id, engine: 'source', outcome: replayOutcome(replay({ arch, version: src, scenario: s })) });
          continue;
        } catch (e) {
          if (e instanceof NotApplicableError) continue;
          runs.push(await modelRun(s.id, () => replayOutcome(replay({ arch, version: fv.model, scenario: s })), unsupportedOf(e)));
          continue;
        }
      }
      runs.push(await modelRun(s.id, () => replayOutcome(replay({ arch, version: fv.model, scenario: s })), unsupportedOf(fv.unsupported)));
    }
    if (opts.races !== false) {
      for (const sc of RACES) {
        if (sc.arches && !sc.arches.includes(arch)) continue;
        const race = (version: typeof fv.model) => {
          checkApplicable(getArch(arch), version, sc);
          const r = explore(sc, { arch, version }, { maxStates: opts.maxStates });
          return r.verdict === 'violation' ? `violation (${r.invariant}${r.by ? `: ${r.by}` : ''})` : r.complete ? 'ok' : 'ok within bounds';
        };
        if (src) {
          try {
            runs.push({ scenario: sc.id, engine: 'source', outcome: race(src) });
            continue;
          } catch (e) {
            if (e instanceof NotApplicableError) continue;
            runs.push(await modelRun(sc.id, () => race(fv.model), unsupportedOf(e)));
            continue;
          }
        }
        runs.push(await modelRun(sc.id, () => race(fv.model), unsupportedOf(fv.unsupported)));
      }
    }
    for (const n of src?.stubsUsed ?? []) stubsUsed.add(n);
    const lacks = src ? [...src.program.unknown].map(([what, line]) => ({ what, line })) : [];
    out.arches.push({ arch, runs, ...(lacks.length && { lacks }) });
  }
  if (stubsUsed.size) out.stubs = [...stubsUsed].sort();
  return out;
}

/** A run on the version model in the file's stead; n/a there too is still a run the file's code could not make. */
async function modelRun(scenario: string, run: () => string, unsupported: { what: string; line: number }): Promise<CheckRun> {
  let outcome: string;
  try {
    outcome = run();
  } catch (e) {
    outcome = e instanceof NotApplicableError ? `n/a on the model: ${e.message}` : `the model failed too: ${(e as Error).message}`;
  }
  return { scenario, engine: 'model', outcome, unsupported };
}

export async function check(paths: string[], opts: CheckOptions = {}): Promise<CheckReport> {
  const files: CheckFile[] = [];
  const base = process.cwd();
  for (const p of checkPaths(paths)) {
    let text: string;
    try {
      text = readFileSync(p, 'utf8');
    } catch (e) {
      files.push({ file: p, release: null, note: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, arches: [] });
      continue;
    }
    const name = relative(base, p).startsWith('..') ? p : relative(base, p);
    const t0 = Date.now();
    const r = await checkText(name, text, opts);
    opts.progress?.(`${name}: ${summaryOf([r]).own}/${summaryOf([r]).runs} own-code runs (${Date.now() - t0} ms)`);
    files.push(r);
  }
  return { files, summary: summaryOf(files) };
}

export function summaryOf(files: CheckFile[]): CheckReport['summary'] {
  const runs = files.flatMap((f) => f.arches.flatMap((a) => a.runs));
  const own = runs.filter((r) => r.engine === 'source').length;
  return { files: files.length, runs: runs.length, own, percent: runs.length ? Math.round((own / runs.length) * 1000) / 10 : 100 };
}
