/**
 * Before parsing: blank the bodies of the file's functions that GUP-fast cannot reach. A 100 KB
 * mm/gup.c holds hundreds of functions, the walk calls a dozen; the C parser's time (and the
 * tree handed back from its worker) goes with the text it is given. Reachability is by name,
 * from the entry points through every identifier a reachable body mentions, so it can only keep
 * too much; a `stop` name (the slow path) is never entered. Signatures stay (the file's list of functions does not change), and so does every
 * newline (lines never move).
 * Layer: pure emulator.
 */

import { identStart, wordChar } from './chars';
import { lastText } from './memo';

interface Def {
  name: string;
  /** where its text starts (after the previous top-level `;` or `}`) */
  from: number;
  /** offsets of the body's braces */
  open: number;
  close: number;
  /** the identifiers the body mentions */
  uses: Set<string>;
}

const ATTRIBUTES = new Set(['__attribute__', '__attribute', '__declspec', '__section', '__aligned', '__printf', '__scanf']);

/** The text to parse: `text` with the bodies no root reaches blanked (unchanged when no root is defined). */
export function pruneUnreachable(text: string, roots: string[], stop: ReadonlySet<string> = new Set()): string {
  const defs = topLevelFunctions(text);
  if (!defs) return text;
  const keep = reach(defs, roots, (n) => stop.has(n));
  if (!keep) return text;
  const out: string[] = [];
  let at = 0;
  for (const d of defs) {
    if (keep.has(d.name)) continue;
    out.push(text.slice(at, d.from), blank(text.slice(d.from, d.close + 1)));
    at = d.close + 1;
  }
  out.push(text.slice(at));
  return out.join('');
}

/** The functions the roots call, directly or not, without going through one `stop` says (undefined: braces that do not balance). */
export function reachableFunctions(text: string, roots: string[], stop: (name: string) => boolean): Set<string> | undefined {
  const defs = topLevelFunctions(text);
  return defs ? reach(defs, roots, stop) ?? new Set() : undefined;
}

function reach(defs: Def[], roots: string[], stop: (name: string) => boolean): Set<string> | undefined {
  const byName = new Map<string, Def[]>();
  for (const d of defs) byName.set(d.name, [...(byName.get(d.name) ?? []), d]);
  const todo = roots.filter((r) => byName.has(r));
  if (!todo.length) return undefined;
  const keep = new Set<string>();
  while (todo.length) {
    const n = todo.pop()!;
    if (keep.has(n) || stop(n)) continue;
    keep.add(n);
    for (const d of byName.get(n) ?? []) for (const u of d.uses) if (byName.has(u) && !keep.has(u)) todo.push(u);
  }
  return keep;
}

/** The names of the functions a text defines at top level (none when its braces do not balance). */
export function definedFunctions(text: string): string[] {
  return (topLevelFunctions(text) ?? []).map((d) => d.name);
}

const blank = (s: string) => s.replace(/[^\n]+/g, (m) => ' '.repeat(m.length));

/**
 * The top-level function definitions: a `{` at depth 0 whose header (the text since the last
 * top-level `;` or `}`) has a parameter list and no `=`. Comments, strings and character
 * literals are skipped. Undefined when the braces do not balance (the caller parses it all).
 * One scan per text (pruning, reachability and the list of names each ask, per arch).
 */
const topLevelFunctions = lastText(scanFunctions);

function scanFunctions(text: string): Def[] | undefined {
  const defs: Def[] = [];
  let depth = 0;
  let headerFrom = 0;
  let cur: Def | undefined;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 47 /* / */ && text.charCodeAt(i + 1) === 42 /* * */) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 1;
    } else if (c === 47 && text.charCodeAt(i + 1) === 47) {
      const end = text.indexOf('\n', i);
      i = end < 0 ? n : end - 1;
    } else if (c === 34 /* " */ || c === 39 /* ' */) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== c && text.charCodeAt(j) !== 10) j += text.charCodeAt(j) === 92 /* \ */ ? 2 : 1;
      i = j;
    } else if (c === 123 /* { */) {
      if (depth === 0) {
        const name = functionName(text.slice(headerFrom, i));
        if (name) cur = { name, from: headerFrom, open: i, close: -1, uses: new Set() };
      }
      depth++;
    } else if (c === 125 /* } */) {
      depth--;
      if (depth < 0) return undefined;
      if (depth === 0) {
        if (cur) {
          cur.close = i;
          defs.push(cur);
          cur = undefined;
        }
        headerFrom = i + 1;
      }
    } else if (c === 59 /* ; */ && depth === 0) {
      headerFrom = i + 1;
    } else if (cur && identStart(c)) {
      const at = i;
      while (i + 1 < n && wordChar(text.charCodeAt(i + 1))) i++;
      cur.uses.add(text.slice(at, i + 1));
    } else if (c >= 48 && c <= 57) {
      // a number's digits and suffix are not identifiers (0x1fUL)
      while (i + 1 < n && wordChar(text.charCodeAt(i + 1))) i++;
    }
  }
  return depth === 0 ? defs : undefined;
}

/** The function a header defines: the first identifier followed by `(` at paren depth 0 that is not an attribute; none if the header has `=`. */
function functionName(header: string): string | undefined {
  const h = header.replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, ' ');
  if (h.includes('=')) return undefined;
  let depth = 0;
  for (let i = 0; i < h.length; i++) {
    const ch = h[i];
    if (ch === '(') {
      if (depth === 0) {
        const m = /([A-Za-z_]\w*)\s*$/.exec(h.slice(0, i));
        if (m && !ATTRIBUTES.has(m[1])) return m[1];
      }
      depth++;
    } else if (ch === ')') depth--;
  }
  return undefined;
}
