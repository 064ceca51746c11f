/**
 * A function's history in a kernel git tree: every commit where its text changed, oldest first,
 * following it across files (arch/x86/mm/gup.c → mm/gup.c, and the open file's own earlier
 * names via --follow) and names (gup_pte_range → gup_fast_pte_range). One `git log --raw` gives
 * each commit with the blob of every candidate file it changed, one `cat-file --batch` the
 * contents, tree-sitter cuts the function out of each distinct blob (cached by object id, so a
 * blob is parsed once), and name-rev names the release tag. Cheap enough for linux.git.
 */
import type { Parser } from 'web-tree-sitter';
import { getParser, parseWith, type LastParse } from '../analysis/parse';
import { CancelledError, kernelDir, type GitAccessor } from './git';
import { aliases, KNOWN_FILES, MODELLED_FILES } from './names';

export interface HistoryEntry {
  commit: string;
  /** the first tag that contains the commit (the release it landed in), or null */
  tag: string | null;
  date: string;
  path: string;
  name: string;
  subject: string;
}

export interface HistoryOptions {
  /** more paths to follow (e.g. the file the user has open) */
  paths?: string[];
  signal?: AbortSignal;
  progress?: (done: number, total: number) => void;
  /** only commits reachable from this revision (default HEAD) */
  rev?: string;
  /** the kernel's folder in the repository, '' at its top (default: kernelDir's census) */
  dir?: string;
}

/** One version of a file after another differs little: each parse starts from the last one's tree. */
const lastCut: LastParse = {};

/** The text of function `names` (any of them) in a C file, cut by the parser; first match wins. */
export function cutFunction(parser: Parser, source: string, names: string[]): { name: string; text: string; startLine: number } | undefined {
  const file = parseWith(parser, source, lastCut);
  for (const n of names) {
    const f = file.functions.find((x) => x.name === n);
    if (f) {
      const lines = source.split('\n');
      return { name: n, text: lines.slice(f.startLine, f.endLine + 1).join('\n'), startLine: f.startLine };
    }
  }
  return undefined;
}

const blobCache = new Map<string, Map<string, { name: string; text: string } | null>>();

const norm = (s: string) => s.replace(/\s+/g, ' ').trim();

export async function functionHistory(git: GitAccessor, fn: string, opts: HistoryOptions = {}): Promise<(HistoryEntry & { text: string })[]> {
  const names = aliases(fn);
  const { signal } = opts;
  const check = () => {
    if (signal?.aborted) throw new CancelledError();
  };
  const rev = opts.rev ?? 'HEAD';
  // the usual homes of GUP-fast, the caller's file, and every name that file had before
  const dir = opts.dir ?? (await kernelDir(git, rev, KNOWN_FILES));
  const paths = new Set([...KNOWN_FILES.map((f) => dir + f), ...(opts.paths ?? [])]);
  for (const p of opts.paths ?? []) {
    const out = await git.run(['log', '--follow', '--format=', '--name-only', rev, '--', p], signal).catch(() => '');
    out.split('\n').filter(Boolean).forEach((x) => paths.add(x));
  }
  check();
  // one pass over the log, parents before children: each commit with its first parent in the
  // history of those files (rewritten to the nearest one that touched them) and the blob of every
  // file it changed. git's own history simplification: a merge that took the files as one parent
  // had them is no commit of theirs (no --diff-merges, which lists every merge that differs from
  // its first parent: each topic branch that merged the main line).
  const args = ['log', '--reverse', '--topo-order', '--parents', '--no-abbrev', '--raw', '--no-renames', '--format=%x00%H%x09%P%x09%aI%x09%s'];
  const log = await git.run([...args, rev, '--', ...paths], signal);
  // the files a commit changed (their blobs) and those it deleted
  const blobsOf = (raw: string[]) => {
    const blobs: { path: string; blob: string }[] = [];
    const gone: string[] = [];
    for (const l of raw) {
      const m = /^:\d+ \d+ [0-9a-f]+ ([0-9a-f]+) ([A-Z])\d*\t(.+)$/.exec(l);
      if (m?.[2] === 'D') gone.push(m[3]);
      else if (m) blobs.push({ path: m[3], blob: m[1] });
    }
    return { blobs, gone };
  };
  const commits = [];
  for (const chunk of log.split('\0').slice(1)) {
    const [head, ...raw] = chunk.split('\n');
    const [commit, parents, date, ...subject] = head.split('\t');
    const ps = parents.split(' ').filter(Boolean);
    // a merge left in changed the files from every parent: its blobs as it changed them from its first (what it brought to that line)
    const lines = ps.length > 1 ? (await git.run(['diff', '--raw', '--no-abbrev', '--no-renames', `${commit}^1`, commit, '--', ...paths], signal)).split('\n') : raw;
    commits.push({ commit, parents: ps, date, subject: subject.join('\t'), ...blobsOf(lines) });
  }
  const parser = await getParser();
  const cacheKey = names.join(',');
  const parsed = blobCache.get(cacheKey) ?? new Map<string, { name: string; text: string } | null>();
  blobCache.set(cacheKey, parsed);
  const out: (HistoryEntry & { text: string })[] = [];
  // the function as each commit has it (where it was last seen along its own line of history)
  type At = { text: string; path: string; name: string };
  const state = new Map<string, At | undefined>();
  const unknown = [...new Set(commits.flatMap((c) => c.blobs.map((b) => b.blob)))].filter((b) => !parsed.has(b));
  const contents = await git.catFiles(unknown, signal);
  for (const [blob, text] of contents) {
    check();
    const cut = text === undefined ? undefined : cutFunction(parser, text, names);
    parsed.set(blob, cut ? { name: cut.name, text: cut.text } : null);
  }
  const tags = await nameRev(git, commits.map((c) => c.commit), signal);
  // how much a file is the function's home: the file the caller named, mm/gup.c, a modelled arch's own walker, another arch's
  const homeRank = (path: string) => (opts.paths?.includes(path) ? 0 : path === `${dir}mm/gup.c` ? 1 : MODELLED_FILES.some((f) => path === dir + f) ? 2 : 3);
  commits.forEach((c, i) => {
    opts.progress?.(i + 1, commits.length);
    // compared with its own (first) parent, not with the commit printed before it (another branch's)
    const prev = c.parents.length ? state.get(c.parents[0]) : undefined;
    state.set(c.commit, prev);
    // a commit can only change the function through a file it changed; the function stays in the
    // file it was in unless the commit changed or deleted that file, or brought it to a better home
    // (an arch's copy of the walker changing is not the function changing: 2.6's powerpc and x86)
    const found = c.blobs.map((b) => ({ b, f: parsed.get(b.blob) })).filter((x) => x.f);
    const stays = prev && !c.gone.includes(prev.path) && !c.blobs.some((b) => b.path === prev.path);
    const here = prev && found.find((x) => x.b.path === prev.path);
    const hit = here ?? found.filter((x) => !stays || homeRank(x.b.path) < homeRank(prev!.path)).sort((x, y) => homeRank(x.b.path) - homeRank(y.b.path))[0];
    if (!hit?.f) return;
    const now = { text: hit.f.text, path: hit.b.path, name: hit.f.name };
    state.set(c.commit, now);
    const same = (x: At | undefined) => !!x && norm(x.text) === norm(now.text) && x.path === now.path && x.name === now.name;
    // a merge that takes the version a side branch already had brings no new one
    if (same(prev) || c.parents.slice(1).some((p) => same(state.get(p)))) return;
    out.push({ commit: c.commit, tag: tags.get(c.commit) ?? null, date: c.date, path: now.path, name: now.name, subject: c.subject, text: now.text });
  });
  return out;
}

/** The first tag containing each commit (git name-rev --tags), without the ~n^m suffix. */
async function nameRev(git: GitAccessor, commits: string[], signal?: AbortSignal): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (!commits.length) return out;
  const res = await git.run(['name-rev', '--tags', '--name-only', ...commits], signal).catch(() => '');
  res.split('\n').forEach((l, i) => {
    const t = l.trim().replace(/^tags\//, '').replace(/[~^].*$/, '');
    if (t && t !== 'undefined' && commits[i]) out.set(commits[i], t);
  });
  return out;
}
