/**
 * A mailed patch, read: a `git format-patch` series or mbox, one mail with the diff inline, or a
 * bare diff. Each mail gives its subject, its `base-commit:` if it names one, and per file the
 * parsed unified diff (the `diff` library's), with the document lines of its headers and hunks so
 * the fronts can put lenses there. Applying is pure: text in, text out, never the work tree.
 */
import { decodeMail, decodeWords } from './mime';
import { applyPatch, parsePatch, type StructuredPatch } from 'diff';

export interface FilePatch {
  /** repository path before and after (undefined: the file is created, or deleted) */
  oldPath?: string;
  newPath?: string;
  /** why the file's diff is reported, never applied: a binary patch, a merge's combined diff */
  unapplied?: string;
  patch?: StructuredPatch;
  /** 0-based document line of the file's `diff --git` (or `---`) header */
  line: number;
  /** per hunk: the 0-based document line of its `@@` header, the header as written, and the function named after it */
  hunks: { line: number; header: string; context: string }[];
  /** the blob the file was before the patch, as git's `index` line names it (abbreviated) */
  preImage?: string;
  /** and the blob it is after */
  postImage?: string;
}

export interface MailPatch {
  subject: string;
  /** its place in a series, as the list tag numbers it (`[PATCH v2 3/7]`: 3 of 7) */
  part?: { n: number; of: number };
  /** `base-commit:` of the mail, if any (format-patch --base) */
  baseCommit?: string;
  /** 0-based document line where the mail starts */
  line: number;
  files: FilePatch[];
}

export class NotAPatchError extends Error {}

/** Mails of an mbox or format-patch series start with "From <sha or address> <date>". */
const MAIL_START = /^From (?:[0-9a-f]{40} |\S+@\S+ |\S+ +)(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) /;
/** a commit of `git log -p` or `git show` (its decorations allowed; a stable mail's "commit <sha> upstream." is no start) */
const COMMIT_START = /^commit [0-9a-f]{40}(?: \(.*\))?$/;
/** `git log -p --oneline`: an abbreviated hash and the subject, the commit's diff right after */
const ONELINE = /^[0-9a-f]{7,40}(?: \([^)]*\))? (\S.*)$/;
const isCommit = (lines: string[], i: number) =>
  (COMMIT_START.test(lines[i] ?? '') && /^(?:Author|Merge):/.test(lines[i + 1] ?? '')) || (ONELINE.test(lines[i] ?? '') && (lines[i + 1] ?? '').startsWith('diff --git '));
const MAX_BYTES = 16 * 1024 * 1024;
/** a merge's combined diff of a file (git show of a merge): one column per parent, hunks `@@@ ... @@@` */
const COMBINED = /^diff --(?:cc|combined) \S/;

/** The mails of a document (a bare diff is one mail without headers); those without a diff have no files. */
export function parseMails(text: string): MailPatch[] {
  if (text.length > MAX_BYTES) throw new NotAPatchError(`the document is ${(text.length / 1048576).toFixed(1)} MB; gup-lens reads patches up to ${MAX_BYTES / 1048576} MB`);
  const lines = text.split(/\r\n|\r|\n/);
  const starts = [0];
  // a git log's commits split the document where it is one (a mail that quotes a commit header is still one mail)
  const log = isCommit(lines, 0);
  for (let i = 1; i < lines.length; i++) if (MAIL_START.test(lines[i]) || (log && isCommit(lines, i))) starts.push(i);
  const out: MailPatch[] = [];
  starts.forEach((s, k) => {
    const e = k + 1 < starts.length ? starts[k + 1] : lines.length;
    // a body in quoted-printable or base64 (a mail client's, a list archive's) is read decoded, its lines placed where they came from
    const d = decodeMail(lines, s, e);
    out.push(d ? relined(parseMail(d.lines, 0, d.lines.length), (l) => d.at[Math.min(l, d.at.length - 1)] ?? s) : parseMail(lines, s, e));
  });
  return log ? inBlobOrder(out) : out;
}

/**
 * The commits of a `git log -p` in the order they were made: git log shows the newest first, and
 * `--reverse` the oldest. Each file's `index` line names its blob before and after; the order in
 * which those chain (one commit's after is the next one's before) is the order they apply in.
 */
function inBlobOrder(commits: MailPatch[]): MailPatch[] {
  const follows = (a: MailPatch, b: MailPatch) =>
    b.files.some((g) => g.preImage && a.files.some((f) => f.postImage && (f.newPath ?? f.oldPath) === (g.oldPath ?? g.newPath) && sameBlob(f.postImage, g.preImage!)));
  let forward = 0;
  let backward = 0;
  for (let i = 0; i + 1 < commits.length; i++) {
    if (follows(commits[i], commits[i + 1])) forward++;
    if (follows(commits[i + 1], commits[i])) backward++;
  }
  return backward > forward ? [...commits].reverse() : commits;
}

/** Two blob names, either abbreviated: the same blob. */
const sameBlob = (a: string, b: string) => a.startsWith(b) || b.startsWith(a);

/** A mail parsed from other lines than the document's (decoded, unquoted), its line numbers put back on the document's. */
function relined(m: MailPatch, place: (l: number) => number): MailPatch {
  return { ...m, line: place(m.line), files: m.files.map((f) => ({ ...f, line: place(f.line), hunks: f.hunks.map((h) => ({ ...h, line: place(h.line) })) })) };
}

/**
 * The patch a reply quotes, when the document carries none of its own: a reviewer answering on
 * the list has the patch only as the reply quotes it, often a reply to a reply (`>> `, `> > `).
 * The patch's lines are those at the quote depth of its first hunk, unquoted; the replies' own
 * words (other depths) are left out, and every line keeps its place in the document (the lenses
 * go on the quoted hunks). A hunk a reply trimmed does not apply, and says so.
 */
export function parseQuotedMails(text: string): MailPatch[] {
  if (text.length > MAX_BYTES) return [];
  const all = text.split(/\r\n|\r|\n/);
  const quoted = all.map((l) => QUOTE.exec(l));
  const depth = (q: RegExpExecArray) => q[1].replace(/[^>]/g, '').length;
  const hunk = quoted.find((q) => q && /^@@ -\d+/.test(q[2]));
  if (!hunk) return [];
  const d = depth(hunk);
  const at: number[] = [];
  const lines: string[] = [];
  quoted.forEach((q, i) => {
    if (!q || depth(q) !== d) return;
    at.push(i);
    lines.push(q[2]);
  });
  const subject = subjectOf(all, 0, all.length).replace(/^(?:Re|Aw|Sv|Antw):\s*/i, '');
  const place = (l: number) => at[Math.min(l, at.length - 1)] ?? 0;
  return parseMails(lines.join('\n'))
    .filter((m) => m.files.length)
    .map((m) => ({ ...relined(m, place), subject: m.subject.startsWith('changes to ') && subject ? bareSubject(subject) : m.subject }));
}

/** a quoted line: its quote marks (`>`, `>>`, `> >`; one space after the last is the quote's own), and what it quotes */
const QUOTE = /^((?:> ?)*>) ?(.*)$/;

function subjectOf(lines: string[], s: number, e: number): string {
  // a commit of git log or git show: its message, indented by four, follows the headers
  const oneline = ONELINE.exec(lines[s] ?? '');
  if (oneline && (lines[s + 1] ?? '').startsWith('diff --git ')) return oneline[1].trim();
  if (COMMIT_START.test(lines[s])) {
    let i = s;
    while (i < e && lines[i] !== '') i++;
    const first = lines.slice(i, e).find((l) => /^ {4}\S/.test(l));
    return first ? first.trim() : '';
  }
  for (let i = s; i < e && lines[i] !== ''; i++) {
    const m = /^Subject:\s*(.*)$/i.exec(lines[i]);
    if (!m) continue;
    let subj = m[1];
    for (let j = i + 1; j < e && /^[ \t]/.test(lines[j]); j++) subj += ' ' + lines[j].trim();
    return decodeWords(subj.trim());
  }
  return '';
}

/** A subject without its list tag: `[PATCH v3 2/7]`, `[RFC PATCH]`, `[PATCH RESEND]`, `[PATCH 6.1.y]`. */
const bareSubject = (s: string) => s.replace(/^\[[^\]]*\bPATCH\b[^\]]*\]\s*/i, '');

/** A `From:` line then, within two lines, `Subject:` in the body of the mail from s, before line e: the subject of the patch it carries. */
function innerSubject(lines: string[], s: number, e: number): string | undefined {
  let i = s;
  while (i < e && lines[i] !== '') i++;
  let found: string | undefined;
  for (; i < e; i++) {
    if (!/^From:\s+\S/.test(lines[i])) continue;
    for (let j = i + 1; j <= i + 2 && j < e; j++) {
      const m = /^Subject:\s*(.+)$/.exec(lines[j]);
      if (m) found = decodeWords(m[1].trim());
    }
  }
  return found;
}

function parseMail(lines: string[], s: number, e: number): MailPatch {
  let subject = subjectOf(lines, s, e);
  let baseCommit: string | undefined;
  for (let i = s; i < e; i++) {
    const m = /^base-commit:\s*([0-9a-f]{7,40})\s*$/.exec(lines[i]);
    if (m) baseCommit = m[1];
  }
  // where each file's diff starts: `diff --git`, or (a plain diff) a `--- ` line followed by `+++ `
  // outside any hunk: a hunk's counts say where it ends, so a removed "-- x" line is not a header
  const heads: number[] = [];
  let gitHeader = false;
  let oldLeft = 0;
  let newLeft = 0;
  for (let i = s; i < e; i++) {
    const l = lines[i];
    if (oldLeft > 0 || newLeft > 0) {
      if (l.startsWith('-')) oldLeft--;
      else if (l.startsWith('+')) newLeft--;
      else if (l.startsWith(' ') || l === '') {
        oldLeft--;
        newLeft--;
      }
      continue;
    }
    const hunk = hunkCounts(l);
    if (hunk) {
      gitHeader = false;
      [oldLeft, newLeft] = hunk;
    } else if (l.startsWith('diff --git ') || COMBINED.test(l)) {
      heads.push(i);
      gitHeader = true;
    } else if (l === '' || l.startsWith('GIT binary patch') || l.startsWith('Binary files ')) gitHeader = false;
    else if (!gitHeader && l.startsWith('--- ') && lines[i + 1]?.startsWith('+++ ')) heads.push(i);
  }
  const files: FilePatch[] = [];
  heads.forEach((h, k) => {
    // up to the next file, and within that up to where its hunks end (not the mail's signature after them)
    const chunk = counted(lines.slice(h, k + 1 < heads.length ? heads[k + 1] : e));
    const unapplied = COMBINED.test(chunk[0])
      ? "a merge's combined diff (diff --cc: only what the merge resolved), not applied; review the merge against its first parent (git diff M^1 M)"
      : chunk.some((l) => l.startsWith('GIT binary patch') || /^Binary files .* differ$/.test(l))
        ? 'a binary patch, not applied'
        : undefined;
    const hunks: FilePatch['hunks'] = [];
    chunk.forEach((l, j) => {
      const m = /^@@@? -\d+(?:,\d+)? (?:-\d+(?:,\d+)? )?\+\d+(?:,\d+)? @@@? ?(.*)$/.exec(l);
      if (m) hunks.push({ line: h + j, header: l.trimEnd(), context: m[1].trim() });
    });
    let patch: StructuredPatch | undefined;
    if (!unapplied) {
      try {
        patch = parsePatch(chunk.join('\n') + '\n')[0];
      } catch {
        patch = undefined;
      }
    }
    const name = (p: string | undefined) => (!p || p === '/dev/null' ? undefined : p.replace(/^[ab]\//, '').replace(/\t.*$/, ''));
    const git = /^diff --git a\/(\S+) b\/(\S+)/.exec(chunk[0]) ?? /^diff --(?:cc|combined) ()(\S+)/.exec(chunk[0]);
    let oldPath = patch ? name(patch.oldFileName) : git?.[1];
    let newPath = patch ? name(patch.newFileName) : git?.[2];
    if (!git && oldPath && newPath) [oldPath, newPath] = plainNames(oldPath, newPath);
    // a file a plain diff creates or deletes has one name: a tree's own top directory above it (quilt's linux-2.6/) comes off
    else if (!git) [oldPath, newPath] = [oldPath && fromKernelTop(oldPath), newPath && fromKernelTop(newPath)];
    const index = chunk.map((l) => /^index ([0-9a-f]{7,40})\.\.([0-9a-f]{7,40})/.exec(l)).find((x) => x);
    const pre = index && !/^0+$/.test(index[1]) ? index[1] : undefined;
    const post = index && !/^0+$/.test(index[2]) ? index[2] : undefined;
    files.push({ oldPath: patch?.oldFileName === '/dev/null' ? undefined : oldPath ?? (git?.[1] || git?.[2]), newPath: patch?.newFileName === '/dev/null' ? undefined : newPath ?? git?.[2], ...(unapplied && { unapplied }), patch, line: h, hunks, ...(pre && { preImage: pre }), ...(post && { postImage: post }) });
  });
  // the patch's own headers in the body, before its diff (Andrew Morton's -mm mails, a forwarded patch): its subject is the patch's
  const inBody = innerSubject(lines, s, heads[0] ?? e);
  if (inBody) subject = inBody;
  if (!subject) subject = files.length ? `changes to ${[...new Set(files.map((f) => f.newPath ?? f.oldPath))].join(', ')}` : '(no subject)';
  const part = /^\[[^\]]*\bPATCH\b[^\]]*?\b(\d+)\/(\d+)\]/i.exec(subject);
  return { subject: bareSubject(subject), ...(part && { part: { n: Number(part[1]), of: Number(part[2]) } }), baseCommit, line: s, files };
}

/**
 * A series' patches in the order their tags number them, as git am and b4 take them: a list
 * archive's mbox is in the order the mails arrived (3/3 before 2/3 when the network said so).
 * Only where every patch is numbered out of the same count, each number once; else as written.
 */
export function inSeriesOrder(mails: MailPatch[]): MailPatch[] {
  const of = mails[0]?.part?.of;
  const numbered = mails.every((m) => m.part && m.part.of === of) && new Set(mails.map((m) => m.part!.n)).size === mails.length;
  return numbered ? [...mails].sort((a, b) => a.part!.n - b.part!.n) : mails;
}

/** A hunk header's line counts, old and new (a count left out is 1), or undefined where the line is no hunk header. */
function hunkCounts(l: string): [number, number] | undefined {
  const h = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/.exec(l);
  return h ? [h[1] === undefined ? 1 : Number(h[1]), h[2] === undefined ? 1 : Number(h[2])] : undefined;
}

/**
 * A file's diff up to the end of its last hunk, as the hunks count their lines: what follows (a
 * signature a mailer added without git's version line, a reply's words) is no part of it.
 */
function counted(chunk: string[]): string[] {
  let end = chunk.length;
  for (let i = 0; i < chunk.length; i++) {
    const h = hunkCounts(chunk[i]);
    if (!h) continue;
    let [old, add] = h;
    let j = i + 1;
    for (; j < chunk.length && (old > 0 || add > 0); j++) {
      const l = chunk[j];
      if (l.startsWith('-')) old--;
      else if (l.startsWith('+')) add--;
      else if (l.startsWith(' ') || l === '') {
        old--;
        add--;
      }
      else if (!l.startsWith('\\')) break;
    }
    while (j < chunk.length && chunk[j].startsWith('\\')) j++;
    end = j;
    i = j - 1;
  }
  return chunk.slice(0, end);
}

/** A path with the directories above the kernel's own top directory taken off (up to three): `linux-2.6/arch/x86/mm/gup.c` is arch/x86/mm/gup.c. */
function fromKernelTop(p: string): string {
  const parts = p.split('/');
  for (let n = 0; n <= 3 && n < parts.length - 1; n++) if (KERNEL_TOP.has(parts[n])) return parts.slice(n).join('/');
  return p;
}

/**
 * The file names of a plain diff (no `diff --git`), as patch(1) would take them: a backup's
 * `.orig` (or `~...`) name is the file itself, and two trees diffed whole (`diff -urN linux-6.9
 * linux-6.10`, quilt's `linux.orig/`) name it under different top directories, stripped as -p1.
 */
function plainNames(oldPath: string, newPath: string): [string, string] {
  // a backup's name: `.orig`, or `~` with what follows (Andrew Morton's -mm mails name the patch there: `mm/gup.c~mm-gup-fix`)
  if (oldPath === `${newPath}.orig` || oldPath.startsWith(`${newPath}~`)) return [newPath, newPath];
  const top = (p: string) => p.slice(0, p.indexOf('/'));
  if (oldPath.includes('/') && newPath.includes('/') && top(oldPath) !== top(newPath)) return [oldPath.slice(oldPath.indexOf('/') + 1), newPath.slice(newPath.indexOf('/') + 1)];
  return [oldPath, newPath];
}

/** The kernel's top-level directories: a path that starts with one starts at a tree's root. */
const KERNEL_TOP = new Set(['arch', 'block', 'certs', 'crypto', 'Documentation', 'drivers', 'fs', 'include', 'init', 'io_uring', 'ipc', 'kernel', 'lib', 'LICENSES', 'mm', 'net', 'rust', 'samples', 'scripts', 'security', 'sound', 'tools', 'usr', 'virt']);

/**
 * A patch's paths made relative to the tree it is reviewed against, as patch -pN: where the
 * tree has no file at a path, leading directories that are not the kernel's own (a diff made
 * above the tree, `linux/mm/gup.c`) are stripped, up to three, while that names a file the
 * tree has. A kernel path (arch/x86/mm/gup.c) is never shortened into another (mm/gup.c).
 */
export function pathsInTree(f: FilePatch, has: (path: string) => boolean): FilePatch {
  const p = f.oldPath ?? f.newPath;
  if (!p || has(p)) return f;
  const parts = p.split('/');
  for (let n = 1; n <= 3 && n < parts.length; n++) {
    if (KERNEL_TOP.has(parts[n - 1])) return f;
    if (!has(parts.slice(n).join('/'))) continue;
    const strip = (x: string | undefined) => (x === undefined ? undefined : x.split('/').slice(n).join('/') || x);
    return { ...f, oldPath: strip(f.oldPath), newPath: strip(f.newPath) };
  }
  return f;
}

/**
 * A file patch applied to a text: the new text and how it applied, or undefined when it does not.
 * Exactly if it can; else as `git apply --ignore-whitespace` would (a mailer re-indented it: runs
 * of blanks count as one); else as patch(1) does by default, with up to two lines of context
 * that differ from the base (a patch mailed against a neighbouring tree). The base keeps its own
 * context lines.
 */
export function applyFile(before: string, f: FilePatch): { text: string; how: 'exact' | 'whitespace' | 'fuzz' } | undefined {
  if (f.unapplied || !f.patch) return undefined;
  if (!f.newPath) return { text: '', how: 'exact' };
  const exact = applyPatch(before, f.patch);
  if (exact !== false) return { text: exact, how: 'exact' };
  const compareLine = (_n: number, line: string | undefined, _op: string, content: string) => line !== undefined && sameIgnoringSpace(line, content);
  const loose = applyPatch(before, f.patch, { compareLine });
  if (loose !== false) return { text: loose, how: 'whitespace' };
  const fuzzy = applyPatch(before, f.patch, { compareLine, fuzzFactor: 2 });
  return fuzzy === false ? undefined : { text: fuzzy, how: 'fuzz' };
}

/** A line with each run of blank space counted as one, and none at its ends. */
export function spaced(l: string): string {
  return l.replace(/\s+/g, ' ').trim();
}

/** Two lines are the same but for how much blank space runs between their words (and at their ends). */
export function sameIgnoringSpace(a: string, b: string): boolean {
  return a === b || spaced(a) === spaced(b);
}

/** Whether the text looks like a patch at all (a diff header and a hunk), before parsing it. */
export function looksLikePatch(text: string): boolean {
  if (/^(?:> ?)*(diff --git |--- \S)/m.test(text) && /^(?:> ?)*@@ -\d+/m.test(text)) return true;
  // a mail client's encoded body (base64, quoted-printable, a part of a multipart mail) hides its diff from a regex: decoded, it may have one
  const encoded = /^Content-(?:Transfer-Encoding:[ \t]*(?:base64|quoted-printable)|Type:[ \t]*multipart\/)/im.test(text);
  return encoded && text.length <= MAX_BYTES && parseMails(text).some((m) => m.files.length > 0);
}
