/**
 * Review a patch: find its base (the tree's `base-commit:`, else HEAD where it applies, else the
 * newest tag it applies to; a tree that is not a git repository, a distribution's source package,
 * is its files as they stand; none without a tree), apply it in memory, and on both sides of every
 * GUP-fast function it touches replay the function's own scenario and explore every applicable
 * race on the file's own code. A verdict that changes is a flip: "fixed" or "introduced". A
 * series is applied patch by patch, and reviewed per patch and as a whole. The tree is only read.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { structuredPatch, type StructuredPatchHunk } from 'diff';
import { getArch } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { explore } from '../../emulator/explore/explore';
import type { SourceVersion } from '../../emulator/interp/source-version';
import type { Stubs } from '../../emulator/interp/kapi/stubs';
import { KAPI } from '../../emulator/interp/kapi';
import { Unsupported } from '../../emulator/interp/runtime';
import { checkApplicable, NotApplicableError, releaseAll, replay } from '../../emulator/run/replay';
import { checkBalance, faultViolation } from '../../emulator/explore/invariants';
import { SCENARIOS } from '../../emulator/scenarios';
import { replayOutcome } from '../analysis/check';
import { RACES } from '../../emulator/scenarios/races';
import type { Step } from '../../emulator/trace/types';
import { stoppedWhy } from '../../emulator/trace/describe';
import { analyze, archesFor, gupCensusOf, planFunction, replayFunction, type FileReq } from '../analysis/analyze';
import { bdiffMarkdown, behaviourDiff } from './bdiff';
import { archesOf, mentionsGup } from '../analysis/fingerprint';
import { fileVersion } from '../analysis/source';
import { releaseOfMakefile } from '../analysis/headers';
import { parseC, type CFile } from '../analysis/parse';
import { cliGit, type GitAccessor } from './git';
import { applyFile, inSeriesOrder, NotAPatchError, parseMails, parseQuotedMails, pathsInTree, spaced, type FilePatch, type MailPatch } from './patch';

export type Verdict = 'violation' | 'ok' | 'n/a';

export interface FunctionReview {
  name: string;
  file: string;
  /** per arch, what the function's own scenario gives on that side (absent: the function does not exist there) */
  before?: Partial<Record<ArchId, string>>;
  after?: Partial<Record<ArchId, string>>;
  /** 0-based document line of the hunk that touches it (where a lens goes) */
  line: number;
  /** the function's scenario on its first arch, before and after, the traces aligned (Markdown) */
  bdiff?: string;
  /** the hunk's text as the patch has it, for a reply to quote */
  hunk: string[];
}

export interface RaceReview {
  scenario: string;
  arch: ArchId;
  file: string;
  before: Verdict;
  after: Verdict;
  flip: 'fixed' | 'introduced' | null;
  /** the side that violates it: its counterexample and the invariant's message */
  counterexample?: Step[];
  actors?: string[];
  message?: string;
  /** a side whose code gup-lens could not run to a verdict (its n/a is that, not "does not apply") */
  unsupported?: string;
  /** a violation that is another race's (a torn PAE pmd or pte read met while exploring this one) */
  by?: string;
}

/** A built-in scenario whose outcome on the file's own code differs before and after the patch. */
export interface BehaviourChange {
  scenario: string;
  arch: ArchId;
  file: string;
  before: string;
  after: string;
}

export interface PatchReview {
  subject: string;
  base: { kind: 'base-commit' | 'head' | 'tag' | 'none'; rev?: string };
  functions: FunctionReview[];
  races: RaceReview[];
  /** every built-in scenario whose outcome changes (with the races: a full review) */
  behaviour: BehaviourChange[];
  /** 0-based document line where the mail starts */
  line: number;
  /** what could not be reviewed, and why (a file that does not apply, a binary patch or a merge's combined diff, no tree) */
  problems: string[];
  /** how the patch was read and applied where that was not as written (quoted in a reply, with fuzz, ignoring blank space) */
  notes: string[];
  /** what stopped either side's own code in a race, once each (a stub may get past it) */
  stops?: { what: string; line: number }[];
}

export interface ReviewOptions {
  /** the kernel tree the patch is for */
  tree?: string;
  git?: GitAccessor;
  arches?: string[];
  races?: boolean;
  maxStates?: number;
  progress?: (s: string) => void;
  /** the workspace's stubs for names the census cannot know */
  stubs?: Stubs;
}

export interface Review {
  patches: PatchReview[];
  /** a series of more than one patch, reviewed as a whole (the first patch's base, the last patch's result) */
  series?: PatchReview;
}

type Files = Map<string, string | undefined>;

/** An arch's own GUP-fast walker (x86's until 4.13, ARM's), and the generic one an arch walks with otherwise. */
const OWN_WALKER = /^arch\/(?:x86|arm|arm64)\/mm\/gup\.c$/;
const GENERIC_WALKER = 'mm/gup.c';

/** A base where every file the series touches (and does not create) exists and every patch applies in turn. */
async function findBase(mails: MailPatch[], git: GitAccessor): Promise<{ base: PatchReview['base']; files: Files } | undefined> {
  const candidates: { kind: PatchReview['base']['kind']; rev: string }[] = [];
  const named = mails.find((m) => m.baseCommit)?.baseCommit;
  if (named) candidates.push({ kind: 'base-commit', rev: named });
  candidates.push({ kind: 'head', rev: 'HEAD' });
  try {
    const tags = (await git.run(['tag', '--sort=-creatordate'])).split('\n').filter(Boolean).slice(0, 40);
    for (const t of tags) candidates.push({ kind: 'tag', rev: t });
  } catch {
    // no tags: HEAD only
  }
  const paths = basePaths(mails);
  // the series' files at a revision, and whether the series takes them
  const fitAt = async (rev: string): Promise<{ files: Files; fit: ReturnType<typeof appliesAll> } | undefined> => {
    let got: Map<string, string | undefined>;
    try {
      got = await git.catFiles(paths.map((p) => `${rev}:${p}`));
    } catch {
      return undefined;
    }
    const files: Files = new Map(paths.map((p) => [p, got.get(`${rev}:${p}`)]));
    return { files, fit: appliesAll(mails, paths, files) };
  };
  let partial: { base: PatchReview['base']; files: Files } | undefined;
  for (const c of candidates) {
    const at = await fitAt(c.rev);
    if (at?.fit === 'whole') return { base: { kind: c.kind, rev: c.rev }, files: at.files };
    if (at?.fit === 'partly') partial ??= { base: { kind: c.kind, rev: c.rev }, files: at.files };
  }
  if (partial) return partial;
  for (const r of await preImageRevs(mails, git)) {
    if (candidates.some((c) => c.rev === r)) continue;
    const at = await fitAt(r);
    if (at && at.fit !== 'no') return { base: { kind: 'base-commit', rev: (await git.run(['rev-parse', r])).trim() }, files: at.files };
  }
  return undefined;
}

/**
 * A patch of long ago against a repository that moved on (HEAD and the newest tags no longer take
 * it): where to look for the commit whose tree holds the file as the patch's `index` line names
 * it, as `git am -3` finds it: the commits that brought that blob in or took it out, and their
 * parents.
 */
async function preImageRevs(mails: MailPatch[], git: GitAccessor): Promise<string[]> {
  const f = mails.flatMap((m) => m.files).find((x) => x.preImage && x.oldPath);
  if (!f) return [];
  try {
    const revs = (await git.run(['log', '--all', '--format=%H', `--find-object=${f.preImage}`, '--', f.oldPath!])).split('\n').filter(Boolean).slice(0, 8);
    return revs.flatMap((x) => [x, `${x}^`]);
  } catch {
    return []; // an object the repository does not know
  }
}

/** The files a series changes and does not create: what its base must have. */
function basePaths(mails: MailPatch[]): string[] {
  return [...new Set(mails.flatMap((m) => m.files.filter((f) => f.oldPath && !f.unapplied).map((f) => f.oldPath!)))];
}

/**
 * Does the series apply here: 'whole' when every file it changes is there and every patch applies
 * in turn; 'partly' when some are not there (a tree read for its GUP-fast files only, or a file
 * of another subsystem) but every one that is takes its hunks; else 'no'.
 */
function appliesAll(mails: MailPatch[], paths: string[], files: Files): 'whole' | 'partly' | 'no' {
  const present = paths.filter((p) => files.get(p) !== undefined);
  if (!present.length) return 'no';
  const probe = new Map(files);
  const ok = mails.every((m) => m.files.every((f) => f.unapplied || (f.oldPath && probe.get(f.oldPath) === undefined) || applyTo(probe, f) !== undefined));
  return !ok ? 'no' : present.length === paths.length ? 'whole' : 'partly';
}

/** A kernel tree without git (a source package, a vendor's tarball): its files as they stand are the base, if the series applies to them. */
function plainBase(mails: MailPatch[], tree: string): { base: PatchReview['base']; files: Files } | undefined {
  const paths = basePaths(mails);
  const files: Files = new Map(paths.map((p) => [p, readTreeFile(join(tree, p))]));
  return appliesAll(mails, paths, files) !== 'no' ? { base: { kind: 'head' }, files } : undefined;
}

/** A source file of the tree; undefined when it is not there, not a file or too big to be one (32 MiB). */
function readTreeFile(path: string): string | undefined {
  try {
    const st = statSync(path);
    return st.isFile() && st.size <= 32 << 20 ? readFileSync(path, 'utf8') : undefined;
  } catch {
    return undefined;
  }
}

/** A git repository (a work tree, or a bare one). */
export function isGitTree(dir: string): boolean {
  return existsSync(join(dir, '.git')) || existsSync(join(dir, 'HEAD'));
}

/** Apply one file patch to the running state; how it applied, or undefined when it does not. */
function applyTo(state: Files, f: FilePatch): 'exact' | 'whitespace' | 'fuzz' | undefined {
  const before = f.oldPath ? state.get(f.oldPath) : '';
  if (before === undefined) return undefined;
  const after = applyFile(before, f);
  if (after === undefined) return undefined;
  if (f.oldPath && f.oldPath !== f.newPath) state.delete(f.oldPath);
  if (f.newPath) state.set(f.newPath, after.text);
  return after.how;
}

/** One side's text, parsed once; none when it names no GUP-fast function (it then defines none). */
async function parsedSide(text: string | undefined): Promise<CFile | undefined> {
  return text && mentionsGup(text) ? parseC(text) : undefined;
}

/** The GUP-fast functions (the census of that side's text) whose lines a hunk changes, on one side's parsed text. */
function touched(text: string | undefined, file: CFile | undefined, ranges: [number, number][]): { name: string; startLine: number; endLine: number }[] {
  if (!text || !file) return [];
  const isGup = gupCensusOf(text);
  return inRanges(file, ranges).filter((f) => isGup(f.name));
}

/** Every function of a side the changed lines fall in. */
function inRanges(file: CFile | undefined, ranges: [number, number][]): CFile['functions'] {
  return (file?.functions ?? []).filter((f) => ranges.some(([a, b]) => a <= f.endLine && b >= f.startLine));
}

/**
 * How far each hunk of a file patch landed from where its header says, in lines (a patch mailed
 * against another tree applies at an offset): which hunk of the document a function's lens goes
 * on. The hunk's old side is looked for nearest its header's line, as patch(1) does; 0 where it
 * is not found as it is (applied with fuzz).
 */
function hunkOffsets(before: string, f: FilePatch): number[] {
  // blank space counted as one, once per line (a mailer may have re-indented the patch)
  const lines = before.split('\n').map(spaced);
  return (f.patch?.hunks ?? []).map((h) => {
    const want = h.lines.filter((l) => !l.startsWith('+') && !l.startsWith('\\')).map((l) => spaced(l.slice(1)));
    const at = h.oldStart - (h.oldLines > 0 ? 1 : 0);
    if (!want.length) return 0;
    const fits = (s: number) => s >= 0 && s + want.length <= lines.length && want.every((l, j) => lines[s + j] === l);
    for (let d = 0; d < lines.length; d++) {
      if (fits(at - d)) return -d;
      if (fits(at + d)) return d;
    }
    return 0;
  });
}

const KAPI_NAMES = new Set(KAPI.map((b) => b.name));

/**
 * The kernel API built-ins a file patch changes (a helper's definition or body in a header, or
 * in a file without GUP-fast code): gup-lens runs its own model of each, never the patch's text.
 * A name counts where a changed line defines it (`#define NAME`, `NAME(` after its type) or where
 * the hunk's function context names it.
 */
function kapiTouched(f: FilePatch): string[] {
  const out = new Set<string>();
  (f.patch?.hunks ?? []).forEach((h, i) => {
    const ctx = /\b([A-Za-z_]\w*)\s*\(/.exec(f.hunks[i]?.context ?? '')?.[1];
    const changed = h.lines.filter((l) => l.startsWith('+') || l.startsWith('-'));
    if (ctx && KAPI_NAMES.has(ctx) && changed.length) out.add(ctx);
    for (const l of changed) {
      const d = /^[+-]\s*#\s*define\s+([A-Za-z_]\w*)/.exec(l)?.[1] ?? /^[+-](?:static\s+)?(?:inline\s+)?(?:[A-Za-z_]\w*\s+\**)+([A-Za-z_]\w*)\s*\(/.exec(l)?.[1];
      if (d && KAPI_NAMES.has(d)) out.add(d);
    }
  });
  return [...out];
}

/** Changed line ranges of hunks (0-based, inclusive) on the old and the new side. */
function changedRanges(hunks: StructuredPatchHunk[]): { old: [number, number][]; new: [number, number][] } {
  const old: [number, number][] = [];
  const nu: [number, number][] = [];
  for (const h of hunks) {
    let o = h.oldStart - 1;
    let n = h.newStart - 1;
    for (const l of h.lines) {
      if (l.startsWith('-')) old.push([o, o++]);
      else if (l.startsWith('+')) nu.push([n, n++]);
      else if (!l.startsWith('\\')) {
        o++;
        n++;
      }
    }
    // a pure insertion touches the function it lands in on the old side too, a pure deletion on the new side
    if (!h.lines.some((l) => l.startsWith('-'))) old.push([h.oldStart - 1, h.oldStart - 1]);
    if (!h.lines.some((l) => l.startsWith('+'))) nu.push([Math.max(0, h.newStart - 1), Math.max(0, h.newStart - 1)]);
  }
  return { old, new: nu };
}

async function replaySummary(text: string, req: FileReq, fn: string, arches: ArchId[]): Promise<Partial<Record<ArchId, string>>> {
  const a = await analyze(text, undefined, undefined, req);
  const out: Partial<Record<ArchId, string>> = {};
  for (const arch of arches) {
    // the touched function's own plan only: the rest of the file's functions are not replayed
    const plan = await planFunction(a, arch, fn);
    if (!plan) {
      out[arch] = `n/a: ${archesFor(a).arches.includes(arch) ? `no built-in scenario executes ${fn}() on ${arch}` : archesFor(a).note ?? `not for ${arch}`}`;
      continue;
    }
    const r = await replayFunction(a, fn, arch, plan.scenario);
    if (r.na) {
      out[arch] = `n/a: ${r.na}`;
      continue;
    }
    const res = r.replay!.result;
    const refs = r.replay!.deltas.reduce((s, d) => s + d.refcount, 0);
    const stopped = stoppedWhy(res);
    out[arch] = `${r.scenario.id}: nr=${res.nr}${res.slowPath ? `, slow path after ${res.fastNr}` : ''}, refs ${refs >= 0 ? '+' : ''}${refs}${stopped ? `; ${stopped}` : ''} (${r.engine === 'source' ? 'its own code' : `model ${a.version?.id}${r.unsupported ? `; its code stopped: ${r.unsupported.what} at line ${r.unsupported.line}` : ''}`})`;
  }
  return out;
}

/** The function's own scenario on both sides, the traces aligned, as Markdown (undefined where either side cannot run it). */
async function sideBySide(b: string, a: string, req: FileReq, fn: string, arch: ArchId): Promise<string | undefined> {
  const vb = await sourceOf(b, req, arch);
  const va = await sourceOf(a, req, arch);
  if (!vb || !va) return undefined;
  const plan = await planFunction(await analyze(a, undefined, undefined, req), arch, fn);
  try {
    return bdiffMarkdown(behaviourDiff(plan?.scenario.id ?? 'pages-4k-16', arch, { label: 'before', version: vb }, { label: 'after', version: va }));
  } catch {
    return undefined;
  }
}

async function sourceOf(text: string | undefined, req: FileReq, arch: ArchId): Promise<SourceVersion | undefined> {
  if (!text || !mentionsGup(text)) return undefined;
  try {
    return (await fileVersion(text, { arch, ...req })).source;
  } catch {
    return undefined;
  }
}

/** A race explored on a file's own code: its verdict, or n/a and why the code could not run. */
export function verdictOn(v: SourceVersion | undefined, arch: ArchId, race: (typeof RACES)[number], maxStates?: number): { verdict: Verdict; r?: ReturnType<typeof explore>; unsupported?: string; stop?: { what: string; line: number } } {
  if (!v) return { verdict: 'n/a' };
  try {
    checkApplicable(getArch(arch), v, race);
    const r = explore(race, { arch, version: v }, { maxStates });
    return { verdict: r.verdict === 'violation' ? 'violation' : 'ok', r };
  } catch (e) {
    if (e instanceof NotApplicableError) return { verdict: 'n/a' };
    return couldNotRun(e);
  }
}

/** The file's code reached something gup-lens cannot run: no verdict, why (and, an Unsupported, what stopped it where). */
function couldNotRun(e: unknown): { verdict: 'n/a'; unsupported: string; stop?: { what: string; line: number } } {
  if (e instanceof Unsupported) return { verdict: 'n/a', unsupported: `${e.what} at line ${e.line}`, stop: { what: e.what, line: e.line } };
  return { verdict: 'n/a', unsupported: (e as Error).message };
}

/**
 * A built-in scenario on a file's own code, as a verdict: a violation where the walk ran past its
 * range (a store past pages[], a read past a page table), touched what is no struct page, or left
 * a count the caller's release does not give back; n/a where the scenario does not apply.
 */
export function scenarioVerdictOn(v: SourceVersion | undefined, arch: ArchId, s: (typeof SCENARIOS)[number]): { verdict: Verdict; message?: string; unsupported?: string } {
  if (!v) return { verdict: 'n/a' };
  try {
    checkApplicable(getArch(arch), v, s);
    const rp = replay({ arch, version: v, scenario: s, deltas: false });
    if (rp.result.overrun || rp.result.uninit) return { verdict: 'violation', message: replayOutcome(rp) };
    const fault = faultViolation(rp.machine);
    if (fault) return { verdict: 'violation', message: fault.message };
    releaseAll(rp);
    const left = checkBalance(rp.machine);
    return left ? { verdict: 'violation', message: left.message } : { verdict: 'ok' };
  } catch (e) {
    if (e instanceof NotApplicableError) return { verdict: 'n/a' };
    return couldNotRun(e);
  }
}

/** Review one step of the series: the files' texts before and after it. */
async function reviewStep(mail: MailPatch, before: Files, after: Files, base: PatchReview['base'], tree: string | undefined, release: string | undefined, opts: ReviewOptions, problems: string[], notes: string[]): Promise<PatchReview> {
  const functions: FunctionReview[] = [];
  const races: RaceReview[] = [];
  const behaviour: BehaviourChange[] = [];
  const wanted = (opts.arches?.length ? opts.arches : ['x86-64', 'x86-pae', 'arm-lpae', 'arm64']) as ArchId[];
  const covered = new Set<ArchId>();
  const stops = new Map<string, { what: string; line: number }>();
  // arch-specific files first: arch/x86/mm/gup.c answers for x86 before mm/gup.c does
  const cfiles = mail.files.filter((f) => !f.unapplied && /\.[ch]$/.test(f.newPath ?? f.oldPath ?? '')).sort((x, y) => Number(!(x.newPath ?? x.oldPath)!.startsWith('arch/')) - Number(!(y.newPath ?? y.oldPath)!.startsWith('arch/')));
  for (const f of cfiles) {
    const path = (f.newPath ?? f.oldPath)!;
    const b = f.oldPath ? before.get(f.oldPath) : '';
    const a = f.newPath ? after.get(f.newPath) : '';
    // a change to the kernel API the walker calls (a header's helper), in a file with no GUP-fast function touched, is said even where the tree lacks the file
    const apiOnly = () => {
      const api = kapiTouched(f);
      if (api.length) problems.push(`${path}: changes ${api.join(', ')}, which gup-lens runs as ${api.length > 1 ? 'built-ins' : 'a built-in'} of its own (the kernel API the walker calls; \`gup-lens kapi\`): the patch's version is not run`);
    };
    if ((f.oldPath && b === undefined) || (f.newPath && a === undefined)) {
      apiOnly();
      continue;
    }
    // where the file is (its tree's headers) and the base's own release, where a revision names it
    const req: FileReq = { path: tree ? join(tree, path) : path, stubs: opts.stubs, ...(release !== undefined && { release }) };
    const placed = archesOf(a || b || '', req.path);
    const arches = placed.arches.filter((x) => wanted.includes(x));
    // another arch's own walker (s390, powerpc, sparc...): its touched functions are named, there is no machine to run them on
    if (!placed.arches.length && placed.note) notes.push(`${path}: ${placed.note}: its functions are named, not replayed`);
    const offsets = b ? hunkOffsets(b, f) : [];
    // the lines that changed, from the two texts (however the hunks landed: at an offset, with fuzz)
    const ranges = changedRanges(structuredPatch(path, path, b ?? '', a ?? '', '', '', { context: 0 }).hunks);
    const pb = await parsedSide(b);
    const pa = await parsedSide(a);
    const fb = touched(b, pb, ranges.old);
    const fa = touched(a, pa, ranges.new);
    const names = [...new Set([...fb.map((x) => x.name), ...fa.map((x) => x.name)])];
    if (!names.length) {
      apiOnly();
      // the functions it does change, where GUP-fast never goes (the slow path, a helper nothing calls now)
      const api = new Set(kapiTouched(f));
      const other = [...new Set([...inRanges(pb, ranges.old), ...inRanges(pa, ranges.new)].map((x) => x.name))].filter((x) => !api.has(x));
      if (other.length) notes.push(`${path}: changes ${other.slice(0, 8).join(', ')}${other.length > 8 ? ` and ${other.length - 8} more` : ''}, which no GUP-fast walk reaches: nothing to replay`);
      continue;
    }
    const hunkAt = (name: string) => {
      const fn = fa.find((x) => x.name === name) ?? fb.find((x) => x.name === name);
      const hs = f.patch?.hunks ?? [];
      const i = Math.max(0, hs.findIndex((h, j) => fn && h.newStart - 1 + (offsets[j] ?? 0) <= fn.endLine && h.newStart - 1 + (offsets[j] ?? 0) + h.newLines >= fn.startLine));
      // quoted as the patch has it (the header as written)
      return { line: f.hunks[i]?.line ?? f.line, hunk: hs[i] ? [f.hunks[i]?.header ?? `@@ -${hs[i].oldStart},${hs[i].oldLines} +${hs[i].newStart},${hs[i].newLines} @@`, ...hs[i].lines] : [] };
    };
    for (const name of names) {
      opts.progress?.(`${mail.subject}: ${name}`);
      // a function a hunk only borders on one side is still there on the other: not added, not removed
      const inB = !!pb?.functions.some((x) => x.name === name);
      const inA = !!pa?.functions.some((x) => x.name === name);
      functions.push({
        name, file: path, ...hunkAt(name),
        ...(inB && b ? { before: await replaySummary(b, req, name, arches) } : {}),
        ...(inA && a ? { after: await replaySummary(a, req, name, arches) } : {}),
        ...(opts.races !== false && inB && inA && b && a && arches[0] ? { bdiff: await sideBySide(b, a, req, name, arches[0]) } : {}),
      });
    }
    if (opts.races === false) continue;
    // an arch's own walker removed (or added): on that side the generic walker of mm/gup.c walks for the arch
    const own = OWN_WALKER.test(path);
    const generic = (side: Files) => (own ? side.get(GENERIC_WALKER) : undefined);
    const genReq: FileReq = { ...req, path: tree ? join(tree, GENERIC_WALKER) : GENERIC_WALKER };
    const handed = own && ((!a && generic(after)) || (!b && generic(before)));
    if (handed) notes.push(`${path}: ${!a ? 'removed' : 'added'}: ${arches.join(', ')} ${!a ? 'walk with the generic walker of mm/gup.c after it' : 'walked with the generic walker of mm/gup.c before it'}, and the races compare the two`);
    for (const arch of arches.filter((x) => !covered.has(x))) {
      covered.add(arch);
      const vb = b ? await sourceOf(b, req, arch) : await sourceOf(generic(before), genReq, arch);
      const va = a ? await sourceOf(a, req, arch) : await sourceOf(generic(after), genReq, arch);
      // the built-in scenarios on both sides' own code: a change the touched functions' own replays do not show
      if (vb && va) {
        for (const s of SCENARIOS) {
          const x = outcomeOn(vb, arch, s);
          const y = outcomeOn(va, arch, s);
          if (x !== undefined && y !== undefined && x !== y) behaviour.push({ scenario: s.id, arch, file: path, before: x, after: y });
        }
      }
      for (const race of RACES) {
        if (race.arches && !race.arches.includes(arch)) continue;
        opts.progress?.(`${mail.subject}: ${race.id} on ${arch}`);
        const x = verdictOn(vb, arch, race, opts.maxStates);
        const y = verdictOn(va, arch, race, opts.maxStates);
        for (const z of [x.stop, y.stop]) if (z && !stops.has(z.what)) stops.set(z.what, z);
        if (x.verdict === 'n/a' && y.verdict === 'n/a') continue;
        // code that did not exist (or the race could not meet) before and violates it now introduces the violation;
        // a violation that is another race's (a torn PAE read) is named as such and flips nothing here
        const own = (z: typeof x) => z.verdict === 'violation' && !z.r?.by;
        // a side whose code could not run says nothing (as in the sweep): no flip across it
        const ran = !x.unsupported && !y.unsupported;
        const flip = !ran ? null : own(x) && !own(y) && y.verdict !== 'violation' ? 'fixed' : !own(x) && x.verdict !== 'violation' && own(y) ? 'introduced' : null;
        const bad = y.verdict === 'violation' ? y.r : x.verdict === 'violation' ? x.r : undefined;
        const could = [x.unsupported && `before: ${x.unsupported}`, y.unsupported && `after: ${y.unsupported}`].filter(Boolean).join('; ');
        const by = y.r?.by ?? x.r?.by;
        races.push({ scenario: race.id, arch, file: path, before: x.verdict, after: y.verdict, flip, ...(bad && { counterexample: bad.counterexample, actors: bad.actors, message: by ? `${bad.message} (that is ${by})` : bad.message }), ...(could && { unsupported: could }), ...(by && { by }) });
      }
    }
  }
  return { subject: mail.subject, base, functions, races, behaviour, line: mail.line, problems, notes, ...(stops.size && { stops: [...stops.values()] }) };
}

/** A built-in scenario's outcome on one side's own code; undefined where it does not apply or the code cannot run it. */
function outcomeOn(v: SourceVersion, arch: ArchId, s: (typeof SCENARIOS)[number]): string | undefined {
  try {
    checkApplicable(getArch(arch), v, s);
    return replayOutcome(replay({ arch, version: v, scenario: s }));
  } catch {
    return undefined;
  }
}

/** Review every patch of a document; NotAPatchError when nothing in it is a patch. */
export async function review(text: string, opts: ReviewOptions = {}): Promise<Review> {
  let mails = inSeriesOrder(parseMails(text).filter((m) => m.files.length));
  // a reply that carries the patch only as it quotes it: the quoted patch
  const quoted = !mails.length;
  if (quoted) mails = parseQuotedMails(text);
  if (!mails.length) throw new NotAPatchError('nothing in this input is a patch (no diff with a hunk)');
  // paths as the tree has them (patch -pN): a diff made a directory above the tree, or inside a top directory of its own
  const tree = opts.tree;
  if (tree) mails = mails.map((m) => ({ ...m, files: m.files.map((f) => pathsInTree(f, (p) => existsSync(join(tree, p)))) }));
  const git = opts.git ?? (opts.tree && isGitTree(opts.tree) ? cliGit(opts.tree) : undefined);
  const found = git ? await findBase(mails, git) : opts.tree ? plainBase(mails, opts.tree) : undefined;
  const base: PatchReview['base'] = found?.base ?? { kind: 'none' };
  const state: Files = new Map(found?.files ?? []);
  // a series that adds or removes an arch's own walker hands that arch to (or from) mm/gup.c's generic one: read it with the base
  if (found && !state.has(GENERIC_WALKER) && mails.some((m) => m.files.some((f) => OWN_WALKER.test(f.oldPath ?? f.newPath ?? '')))) {
    const text = git && base.rev ? await git.catFiles([`${base.rev}:${GENERIC_WALKER}`]).then((x) => x.get(`${base.rev}:${GENERIC_WALKER}`), () => undefined) : tree ? readTreeFile(join(tree, GENERIC_WALKER)) : undefined;
    if (text !== undefined) state.set(GENERIC_WALKER, text);
  }
  const first = new Map(state);
  // the release of a base at a revision is that revision's Makefile's (a tree on disk is read around the file)
  const made = git && base.rev ? await git.catFiles([`${base.rev}:Makefile`, `${base.rev}:Makefile.rhelver`]) : undefined;
  const release = made ? (releaseOfMakefile(made.get(`${base.rev}:Makefile`) ?? '', made.get(`${base.rev}:Makefile.rhelver`)) ?? '') : undefined;
  const out: PatchReview[] = [];
  for (const m of mails) {
    const problems: string[] = [];
    const notes: string[] = quoted ? ['the patch as a reply quotes it (its "> " lines): a hunk the reply trimmed does not apply'] : [];
    const before = new Map(state);
    for (const f of m.files) {
      const path = f.newPath ?? f.oldPath ?? '?';
      if (f.unapplied) {
        problems.push(`${path}: ${f.unapplied}`);
        continue;
      }
      const how = applyTo(state, f);
      if (how === 'whitespace') notes.push(`${path}: applied ignoring blank space (a mailer changed its indentation)`);
      if (how === 'fuzz') notes.push(`${path}: applied with fuzz: some context lines differ from the base`);
      if (how === undefined) {
        if (f.oldPath && found && before.get(f.oldPath) === undefined) problems.push(`${path}: not in ${opts.tree ?? 'the tree'} at its base: not reviewed`);
        else if (f.oldPath && !before.has(f.oldPath)) problems.push(`${path}: ${opts.tree ? `no base in ${opts.tree} that this patch applies to` : 'no kernel tree to apply it to: open the kernel tree this patch is for (in the CLI, --tree DIR); it changes a file the patch does not carry whole'}`);
        else problems.push(`${path}: this patch does not apply to it`);
      }
    }
    out.push(await reviewStep(m, before, new Map(state), base, opts.tree, release, opts, problems, notes));
  }
  if (mails.length < 2) return { patches: out };
  const whole: MailPatch = { subject: `the series as a whole (${mails.length} patches)`, line: mails[0].line, files: wholeSeries(mails, first, state) };
  return { patches: out, series: await reviewStep(whole, first, state, base, opts.tree, release, opts, [], []) };
}

/**
 * The series as one change per file: the first patch's text against the last patch's, diffed
 * anew (hunk numbers of later patches refer to texts in between); lenses go at the hunks of the
 * first patch that touches the file.
 */
function wholeSeries(mails: MailPatch[], first: Files, last: Files): FilePatch[] {
  const out: FilePatch[] = [];
  const seen = new Set<string>();
  for (const m of mails) {
    for (const f of m.files) {
      const path = f.newPath ?? f.oldPath;
      if (!path || seen.has(path) || f.unapplied) continue;
      seen.add(path);
      const origin = f.oldPath ?? (f.newPath && !first.has(f.newPath) ? undefined : f.newPath);
      const a = origin ? first.get(origin) : '';
      const b = last.get(path);
      if (a === undefined || b === undefined) continue;
      const patch = structuredPatch(origin ?? '/dev/null', path, a, b, '', '', { context: 3 });
      out.push({ oldPath: origin, newPath: path, patch, line: f.line, hunks: patch.hunks.map((h, i) => ({ line: (f.hunks[Math.min(i, f.hunks.length - 1)] ?? { line: f.line }).line, header: `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`, context: '' })) });
    }
  }
  return out;
}
