/**
 * C parsing for gup-lens: web-tree-sitter with the C grammar wasm that tree-sitter-c ships, both
 * loaded from disk (next to the bundle, or from node_modules when running from source).
 * Kernel annotation macros confuse the grammar, so they are blanked with spaces of the same
 * length first: no position moves. Functions the grammar cannot see (a listing with missing
 * lines has no braces to close them) are recovered by a scan for definition headers.
 * Shared by the language server, the debug adapter and the CLI.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Language, Parser, type Node } from 'web-tree-sitter';
import { tokenize } from './tokens';
import type { ParseC } from '../../emulator/interp/source-version';
import { parserHost, treeHost } from './parse-host';

export interface CStatement {
  /** 0-based line of the statement's first token */
  line: number;
  text: string;
  tokens: string[];
}

export interface CFunction {
  name: string;
  /** 0-based lines */
  startLine: number;
  endLine: number;
  nameLine: number;
  nameCol: number;
  statements: CStatement[];
  /** found by the header scan, not by the grammar (a listing with gaps) */
  recovered?: boolean;
}

export interface CFile {
  functions: CFunction[];
  /** ERROR nodes the grammar left (information only) */
  errors: number;
}

const ANNOTATIONS = /\b(noinline|__user|__must_check|__maybe_unused|__always_inline|__init|__weak|__cold|__ref|notrace|__rcu|__force|__percpu)\b/g;

/** Blank annotation macros without moving any position. */
export function neutralize(text: string): string {
  return text.replace(ANNOTATIONS, (m) => ' '.repeat(m.length));
}

/** The wasm next to the bundle (dist/), else in node_modules above this file or the working folder. */
function findFile(name: string, pkg: string): string {
  const tried: string[] = [join(__dirname, name)];
  for (const start of [__dirname, process.cwd()]) {
    for (let d = start; ; d = dirname(d)) {
      tried.push(join(d, 'node_modules', pkg, name));
      if (dirname(d) === d) break;
    }
  }
  const hit = tried.find((p) => existsSync(p));
  if (!hit) throw new Error(`cannot find ${name}: looked next to the bundle and in node_modules/${pkg}`);
  return hit;
}

let parserPromise: Promise<Parser> | undefined;

/** The shared parser (first call warms the wasm: tens of ms). */
export function getParser(): Promise<Parser> {
  parserPromise ??= (async () => {
    const runtime = findFile('web-tree-sitter.wasm', 'web-tree-sitter');
    await Parser.init({ locateFile: () => runtime });
    const lang = await Language.load(readFileSync(findFile('tree-sitter-c.wasm', 'tree-sitter-c')));
    const p = new Parser();
    p.setLanguage(lang);
    return p;
  })();
  return parserPromise;
}

const STATEMENTS = new Set(['expression_statement', 'declaration', 'return_statement', 'goto_statement', 'break_statement', 'continue_statement']);

function collectStatements(node: Node, out: CStatement[], text: string): void {
  const add = (n: Node) => {
    const t = text.slice(n.startIndex, n.endIndex);
    out.push({ line: n.startPosition.row, text: t, tokens: tokenize(t) });
  };
  for (const c of node.namedChildren) {
    if (!c) continue;
    if (STATEMENTS.has(c.type)) {
      add(c);
    } else if (c.type === 'if_statement' || c.type === 'while_statement' || c.type === 'switch_statement') {
      const cond = c.childForFieldName('condition');
      if (cond) add(cond);
      collectStatements(c, out, text);
    } else if (c.type === 'do_statement') {
      collectStatements(c, out, text);
      const cond = c.childForFieldName('condition');
      if (cond) add(cond);
    } else if (c.type === 'for_statement') {
      add(c);
      const body = c.childForFieldName('body');
      if (body) collectStatements(body, out, text);
    } else if (c.type === 'ERROR') {
      // the grammar gave up here: keep each line of it as a statement so anchors still match
      const t = text.slice(c.startIndex, c.endIndex).split('\n');
      t.forEach((l, i) => l.trim() && out.push({ line: c.startPosition.row + i, text: l, tokens: tokenize(l) }));
    } else if (c.type !== 'parenthesized_expression' && c.type !== 'comment') {
      collectStatements(c, out, text);
    }
  }
}

function declaratorName(fn: Node): Node | undefined {
  let d = fn.childForFieldName('declarator');
  while (d) {
    if (d.type === 'function_declarator') {
      const id = d.childForFieldName('declarator');
      if (id?.type === 'identifier') return id;
      d = id;
      continue;
    }
    d = d.childForFieldName('declarator');
  }
  return undefined;
}

const HEADER = /^(?:static\s+|extern\s+)?(?:inline\s+|noinline\s+|__always_inline\s+)*(?:[A-Za-z_][\w]*[\s*]+)+\**([A-Za-z_]\w*)\s*\(/;
const NOT_TYPES = /^(return|if|else|do|while|for|switch|case|goto|sizeof)\b/;

/** A function definition header at column 0 (listings lose indentation, so statements are excluded by shape). */
function isHeader(l: string): RegExpExecArray | null {
  if (/^\s/.test(l) || /;\s*$/.test(l) || NOT_TYPES.test(l)) return null;
  return HEADER.exec(l);
}

/** Functions whose header starts a line but that the grammar did not yield (listings with gaps). */
function scanHeaders(lines: string[], known: Set<string>, endOf: (start: number) => number): CFunction[] {
  const out: CFunction[] = [];
  lines.forEach((l, i) => {
    const m = isHeader(l);
    if (!m) return;
    const name = m[1];
    if (known.has(name) || ['if', 'while', 'for', 'switch', 'return', 'sizeof'].includes(name)) return;
    known.add(name);
    const end = endOf(i);
    const statements: CStatement[] = [];
    for (let j = i + 1; j <= end; j++) if (lines[j].trim()) statements.push({ line: j, text: lines[j], tokens: tokenize(lines[j]) });
    out.push({ name, startLine: i, endLine: end, nameLine: i, nameCol: l.indexOf(name, m.index), statements, recovered: true });
  });
  return out;
}

/** LSP counts a lone CR as a line end; tree-sitter does not: make it a LF (same length, no offset moves). */
export function lineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

export function parseWith(parser: Parser, raw: string): CFile {
  const source = lineEnds(raw);
  const text = neutralize(source);
  const tree = parser.parse(text);
  if (!tree) return { functions: [], errors: 0 };
  const functions: CFunction[] = [];
  let errors = 0;
  const visit = (n: Node) => {
    if (n.type === 'ERROR') errors++;
    if (n.type === 'function_definition') {
      const id = declaratorName(n);
      const body = n.childForFieldName('body');
      if (id && body) {
        const statements: CStatement[] = [];
        collectStatements(body, statements, text);
        functions.push({
          name: id.text,
          startLine: n.startPosition.row,
          endLine: n.endPosition.row,
          nameLine: id.startPosition.row,
          nameCol: id.startPosition.column,
          statements,
        });
        return;
      }
    }
    for (const c of n.children) if (c) visit(c);
  };
  visit(tree.rootNode);
  tree.delete();
  const lines = source.split('\n');
  const starts = functions.map((f) => f.startLine);
  const known = new Set(functions.map((f) => f.name));
  const recovered = scanHeaders(lines, known, (start) => {
    // a recovered function ends before the next function that starts after it, or at the file end
    const next = [...starts, ...lines.map((l, i) => (i > start && isHeader(l) ? i : Infinity))]
      .filter((s) => s > start)
      .reduce((a, b) => Math.min(a, b), lines.length);
    let end = next - 1;
    while (end > start && !lines[end].trim()) end--;
    return end;
  });
  // a definition header at column 0 never sits inside a real function body: where the grammar
  // ran one function over the next (gaps in a listing), the parsed one ends before that header
  for (const f of functions) {
    const cut = recovered.filter((r) => r.startLine > f.startLine && r.startLine <= f.endLine).map((r) => r.startLine);
    if (!cut.length) continue;
    let end = Math.min(...cut) - 1;
    while (end > f.startLine && !lines[end].trim()) end--;
    f.endLine = end;
    f.statements = f.statements.filter((st) => st.line <= end);
  }
  functions.push(...recovered);
  functions.sort((a, b) => a.startLine - b.startLine);
  return { functions, errors };
}

/**
 * Parse a file into its outline: in the parse worker when one is built (parse-host.ts), so a
 * large document neither blocks nor grows this process; in-process otherwise.
 */
export async function parseC(source: string): Promise<CFile> {
  const host = parserHost();
  if (host.available) return host.file(source);
  return parseWith(await getParser(), source);
}

/** trees asked for ahead of need (a replay starts its parse while the file's outline is still parsing) */
const ahead = new Map<string, Promise<ReturnType<ParseC>>>();

/** Start parsing `text` for the interpreter now; the next parseTree of the same text takes it. */
export function parseTreeAhead(text: string): void {
  // a flat tree of a big file is tens of MB: keep one ahead at most, and only for files of mm/gup.c's size
  if (ahead.has(text) || text.length > 512 * 1024) return;
  ahead.clear();
  const p = parseTreeNow(text);
  p.catch(() => undefined);
  ahead.set(text, p);
}

/** A tree for the interpreter, as plain data from the parse worker (or in-process without one). */
export function parseTree(text: string): Promise<ReturnType<ParseC>> {
  const early = ahead.get(text);
  if (early) {
    ahead.delete(text); // a tree is used once
    return early;
  }
  return parseTreeNow(text);
}

async function parseTreeNow(text: string): Promise<ReturnType<ParseC>> {
  const host = treeHost();
  if (host.available) return host.tree(text);
  return (await sourceParser())(text);
}

/** The parser as the interpreter takes it, in-process (emulator/interp does no I/O of its own). */
export async function sourceParser(): Promise<ParseC> {
  const parser = await getParser();
  return (text: string) => {
    const tree = parser.parse(text);
    if (!tree) throw new Error('the C parser returned no tree');
    return tree as unknown as ReturnType<ParseC>;
  };
}
