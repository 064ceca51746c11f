/**
 * A counterexample as the two-column CPU0/CPU1 interleaving kernel commit messages use: one
 * column per actor, time going down, each row the statement that did something (a load, a check,
 * a reference taken or dropped, a write, a flush, a free). Steps that only enter, leave or pass
 * through a statement are left out; a step of the file's own code is shown as that line of the
 * file. Plain text, for mails and commit messages.
 * Layer: pure emulator.
 */
import type { Step } from './types';

const QUIET = new Set(['call', 'return', 'stmt']);
const MAX_COL = 52;

export interface DiagramOptions {
  /** the file whose own code ran (its lines, 0-based), to print a step's statement as written */
  source?: readonly string[];
  /** what went wrong, printed under the columns */
  violation?: string;
}

function textOf(s: Step, source?: readonly string[]): string {
  const line = s.line && source ? source[s.line - 1]?.trim() : undefined;
  return (line || s.anchor || s.fn).replace(/\s+/g, ' ');
}

function fit(t: string, w: number): string {
  return t.length <= w ? t.padEnd(w) : `${t.slice(0, w - 3)}...`;
}

/** The interleaving of `steps` among `actors` (their names, column order) as text. */
export function raceDiagram(steps: readonly Step[], actors: readonly string[], opts: DiagramOptions = {}): string {
  const rows: { col: number; text: string }[] = [];
  for (const s of steps) {
    if (QUIET.has(s.event)) continue;
    const col = Math.max(0, actors.indexOf(s.actor));
    const text = textOf(s, opts.source);
    const last = rows[rows.length - 1];
    // one row per statement: a load and the check on the same line of the same CPU are one
    if (last && last.col === col && last.text === text) continue;
    rows.push({ col, text });
  }
  const width = actors.map((_, c) => Math.min(MAX_COL, Math.max(`CPU ${c} (${actors[c]})`.length, ...rows.filter((r) => r.col === c).map((r) => r.text.length))));
  const line = (cells: string[]) => cells.map((t, c) => (c === cells.length - 1 ? t.trimEnd() : fit(t, width[c]))).join('    ').trimEnd();
  const out = [line(actors.map((a, c) => `CPU ${c} (${a})`)), line(actors.map((_, c) => '-'.repeat(width[c])))];
  for (const r of rows) out.push(line(actors.map((_, c) => (c === r.col ? r.text : ''))));
  if (opts.violation) out.push('', `=> ${opts.violation}`);
  return out.join('\n');
}
