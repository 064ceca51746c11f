/**
 * Review notes anchored to a function and a statement's tokens, not to a line: they follow
 * edits, and show on every version of the function where the statement still exists (and say
 * where it does not). Stored as readable JSON in the workspace (.vscode/gup-lens-notes.json),
 * written atomically (temporary file, then rename). A file that does not parse is reported and
 * moved aside, never overwritten.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { CFile } from '../analysis/parse';
import { locateAnchor } from '../analysis/mapping';
import { tokenize } from '../analysis/tokens';
import { aliases } from './names';

export interface Note {
  id: string;
  fn: string;
  /** the statement's tokens joined by spaces, or null for a note on the whole function */
  statement: string | null;
  text: string;
  created: string;
}

export interface NotesFile {
  version: 1;
  notes: Note[];
}

export interface NotesFs {
  read(path: string): Promise<string | undefined>;
  write(path: string, data: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

export class CorruptNotesError extends Error {
  constructor(readonly path: string, readonly keptAt: string, why: string) {
    super(`${path} could not be read (${why}); it was kept aside as ${keptAt} and a new notes file will be started`);
  }
}

function validate(x: unknown): NotesFile {
  const f = x as NotesFile;
  if (!f || typeof f !== 'object' || f.version !== 1 || !Array.isArray(f.notes)) throw new Error('not a gup-lens notes file (version 1)');
  for (const n of f.notes) {
    if (typeof n?.id !== 'string' || typeof n.fn !== 'string' || typeof n.text !== 'string' || (n.statement !== null && typeof n.statement !== 'string')) {
      throw new Error(`a note is malformed: ${JSON.stringify(n).slice(0, 80)}`);
    }
  }
  return f;
}

export class NotesStore {
  private seq = 0;

  constructor(private readonly fs: NotesFs, readonly path: string) {}

  /** The notes; a corrupt file is moved aside and reported by a CorruptNotesError (after which load() starts empty). */
  async load(): Promise<Note[]> {
    const raw = await this.fs.read(this.path);
    if (raw === undefined || raw.trim() === '') return [];
    try {
      return validate(JSON.parse(raw)).notes;
    } catch (e) {
      const aside = `${this.path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      await this.fs.rename(this.path, aside);
      throw new CorruptNotesError(this.path, aside, (e as Error).message);
    }
  }

  /** Write the whole file: a temporary file first, then an atomic rename over the old one. */
  async save(notes: Note[]): Promise<void> {
    const tmp = `${this.path}.tmp-${process.pid}-${++this.seq}`;
    await this.fs.write(tmp, JSON.stringify({ version: 1, notes } satisfies NotesFile, null, 2) + '\n');
    await this.fs.rename(tmp, this.path);
  }

  async add(fn: string, statementText: string | null, text: string): Promise<Note> {
    const notes = await this.load();
    const note: Note = { id: randomUUID(), fn, statement: statementText === null ? null : tokenize(statementText).join(' '), text, created: new Date().toISOString() };
    notes.push(note);
    await this.save(notes);
    return note;
  }

  async remove(id: string): Promise<void> {
    await this.save((await this.load()).filter((n) => n.id !== id));
  }
}

/** The anchor of a line of a parsed file: its function, and the statement there as written (on one line). */
export function anchorAt(file: CFile, line: number): { fn: string; statement: string | null } | undefined {
  const fn = file.functions.find((f) => line >= f.startLine && line <= f.endLine);
  if (!fn) return undefined;
  if (line === fn.nameLine || line === fn.startLine) return { fn: fn.name, statement: null };
  const st = fn.statements.find((x) => x.line === line);
  return { fn: fn.name, statement: st ? st.text.replace(/\s+/g, ' ').trim() : null };
}

export interface PlacedNote {
  note: Note;
  line?: number;
  /** the function's name in this file (it may be another name of the note's function) */
  fn?: string;
  /** the statement (or the function's header) as this file writes it, line by line */
  source?: string[];
  /** why it has no line in this file */
  missing?: string;
}

/** A statement's own lines from `line`: on until one ends it (`;`, `{` or `}`), four at most. */
function statementLines(lines: readonly string[], line: number): string[] {
  const out: string[] = [];
  for (let i = line; i < lines.length && out.length < 4; i++) {
    out.push(lines[i].replace(/\s+$/, ''));
    if (/[;{}]\s*(\/[/*].*)?$/.test(lines[i])) break;
  }
  return out;
}

/** Where each note is in this version of the file (through the function's other names too); with `text`, its source lines. */
export function placeNotes(notes: Note[], file: CFile, text?: string): PlacedNote[] {
  const lines = text?.split(/\r\n|\r|\n/);
  return notes.map((note) => {
    const at = locateAnchor(file, aliases(note.fn), note.statement ?? undefined);
    if (at.line === undefined) return { note, missing: at.why };
    const fn = file.functions.find((f) => at.line! >= f.startLine && at.line! <= f.endLine)?.name;
    return { note, line: at.line, fn, ...(lines && { source: statementLines(lines, at.line) }) };
  });
}

/**
 * Every note once, as a Markdown review comment: under the first file that has its statement,
 * named as that file names the function, with the statement's own text; notes no file has come
 * last, with why.
 */
export function notesMarkdown(placed: { file: string; notes: PlacedNote[] }[]): string {
  const out = ['# gup-lens review notes', ''];
  const seen = new Set<string>();
  for (const f of placed) {
    for (const p of f.notes) {
      if (p.line === undefined || seen.has(p.note.id)) continue;
      seen.add(p.note.id);
      out.push(`**${p.fn ?? p.note.fn}** · ${f.file}:${p.line + 1}`, '', '```c', ...(p.source ?? [p.note.statement ?? '']), '```', '', ...p.note.text.split('\n'), '');
    }
  }
  const lost = placed.flatMap((f) => f.notes.filter((p) => p.line === undefined && !seen.has(p.note.id)).map((p) => ({ p, file: f.file })));
  for (const { p, file } of lost) {
    if (seen.has(p.note.id)) continue;
    seen.add(p.note.id);
    out.push(`**${p.note.fn}** (not found: ${file}: ${p.missing})`, '', ...(p.note.statement ? ['```c', p.note.statement, '```', ''] : []), ...p.note.text.split('\n'), '');
  }
  return out.join('\n');
}

/** A note as a reply on the mailing list: the quoted lines (`> `), then the note. */
export function noteReply(p: PlacedNote, file: string): string {
  const quoted = (p.source ?? [p.note.statement ?? '']).map((l) => `> ${l}`.trimEnd());
  const where = p.line !== undefined ? `${file}:${p.line + 1}, in ${p.fn ?? p.note.fn}()` : `${p.note.fn}()`;
  return [`On ${where}:`, '', ...quoted, '', ...p.note.text.split('\n'), ''].join('\n');
}

/** Node's fs, for the CLI, the tests and the extension host. */
export function nodeNotesFs(): NotesFs {
  return {
    read: (p) => readFile(p, 'utf8').catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? undefined : Promise.reject(e))),
    write: async (p, d) => {
      await mkdir(dirname(p), { recursive: true });
      await writeFile(p, d);
    },
    rename: (a, b) => rename(a, b),
  };
}
