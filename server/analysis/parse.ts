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
import { Edit, Language, Parser, type Node, type Tree } from 'web-tree-sitter';
import { editBetween } from './text-edit';
import { tokenize } from './tokens';
import type { ParseC } from '../../emulator/interp/source-version';
import { hostFor, parserHost, treeHost } from './parse-host';

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

/**
 * The statements of a body, in source order: each statement once, a condition where its
 * construct starts (a do-while's after its body). Iterative: a body nested thousands of blocks
 * deep must not overflow the parse worker's stack.
 */
function collectStatements(body: Node, out: CStatement[], text: string): void {
  // work still to do, last on top: a node that is a statement, a node whose children to visit, or a line of an ERROR
  type Work = { add: Node } | { visit: Node } | { line: number; text: string };
  const todo: Work[] = [{ visit: body }];
  while (todo.length) {
    const w = todo.pop()!;
    if ('line' in w) {
      out.push({ line: w.line, text: w.text, tokens: tokenize(w.text) });
      continue;
    }
    if ('add' in w) {
      const t = text.slice(w.add.startIndex, w.add.endIndex);
      out.push({ line: w.add.startPosition.row, text: t, tokens: tokenize(t) });
      continue;
    }
    const next: Work[] = [];
    for (const c of w.visit.namedChildren) {
      if (!c) continue;
      if (STATEMENTS.has(c.type)) {
        next.push({ add: c });
      } else if (c.type === 'if_statement' || c.type === 'while_statement' || c.type === 'switch_statement') {
        const cond = c.childForFieldName('condition');
        if (cond) next.push({ add: cond });
        next.push({ visit: c });
      } else if (c.type === 'do_statement') {
        next.push({ visit: c });
        const cond = c.childForFieldName('condition');
        if (cond) next.push({ add: cond });
      } else if (c.type === 'for_statement') {
        // the header alone (init; condition; step): the body's statements are their own
        const b = c.childForFieldName('body');
        if (b) {
          next.push({ line: c.startPosition.row, text: text.slice(c.startIndex, b.startIndex) });
          next.push({ visit: b });
        } else next.push({ add: c });
      } else if (c.type === 'ERROR') {
        // the grammar gave up here: keep each line of it as a statement so anchors still match
        const row = c.startPosition.row;
        text.slice(c.startIndex, c.endIndex).split('\n').forEach((l, i) => l.trim() && next.push({ line: row + i, text: l }));
      } else if (c.type !== 'parenthesized_expression' && c.type !== 'comment') {
        next.push({ visit: c });
      }
    }
    for (let i = next.length - 1; i >= 0; i--) todo.push(next[i]);
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
function scanHeaders(lines: string[], heads: Map<number, RegExpExecArray>, known: Set<string>, endOf: (start: number) => number): CFunction[] {
  const out: CFunction[] = [];
  for (const [i, m] of heads) {
    const name = m[1];
    if (known.has(name) || ['if', 'while', 'for', 'switch', 'return', 'sizeof'].includes(name)) continue;
    known.add(name);
    const end = endOf(i);
    const statements: CStatement[] = [];
    for (let j = i + 1; j <= end; j++) if (lines[j].trim()) statements.push({ line: j, text: lines[j], tokens: tokenize(lines[j]) });
    out.push({ name, startLine: i, endLine: end, nameLine: i, nameCol: lines[i].indexOf(name, m.index), statements, recovered: true });
  }
  return out;
}

/** LSP counts a lone CR as a line end; tree-sitter does not: make it a LF (same length, no offset moves). */
export function lineEnds(text: string): string {
  return text.includes('\r') ? text.replace(/\r(?!\n)/g, '\n') : text;
}

/** A definition with a name and a body goes into the outline (false: walk into it instead). */
function addFunction(n: Node, functions: CFunction[], text: string): boolean {
  const id = declaratorName(n);
  const body = n.childForFieldName('body');
  if (!id || !body) return false;
  const statements: CStatement[] = [];
  collectStatements(body, statements, text);
  functions.push({ name: id.text, startLine: n.startPosition.row, endLine: n.endPosition.row, nameLine: id.startPosition.row, nameCol: id.startPosition.column, statements });
  return true;
}

/**
 * The last text parsed and its tree, for the next parse to start from: an edit to a document
 * re-parses only around what changed (tree-sitter's incremental parse), not the whole file.
 */
export interface LastParse {
  text?: string;
  tree?: Tree;
}

/** Parse `text`, from `last`'s tree where most of it is unchanged; `last` then holds this parse. */
function parseFrom(parser: Parser, text: string, last?: LastParse): Tree | null {
  const prev = last?.tree;
  const prevText = last?.text;
  // taken out first: a parse that throws leaves no half-edited tree behind
  if (last) last.tree = last.text = undefined;
  try {
    let old: Tree | undefined;
    if (prev && prevText !== undefined) {
      const e = editBetween(prevText, text);
      // another document, or most of this one rewritten: a fresh parse costs no more
      if (e.startIndex + (prevText.length - e.oldEndIndex) >= text.length / 2) {
        old = prev;
        old.edit(new Edit(e));
      }
    }
    let tree = parser.parse(text, old);
    if (old && tree?.rootNode.hasError) {
      // where the text does not parse cleanly, recovery from an old tree can differ from a fresh
      // parse's: the same text must give the same outline whatever was typed before it
      tree.delete();
      tree = parser.parse(text);
    }
    if (last && tree) {
      last.text = text;
      last.tree = tree.copy();
    }
    return tree;
  } finally {
    prev?.delete();
  }
}

export function parseWith(parser: Parser, raw: string, last?: LastParse): CFile {
  const source = lineEnds(raw);
  const text = neutralize(source);
  const tree = parseFrom(parser, text, last);
  if (!tree) return { functions: [], errors: 0 };
  const functions: CFunction[] = [];
  let errors = 0;
  // a cursor walks the nodes outside function bodies (all of a prose or junk document): a Node
  // object per node, as `children` makes, costs more than the walk itself
  const cursor = tree.walk();
  for (;;) {
    const type = cursor.nodeType;
    let inside = true;
    if (type === 'ERROR') errors++;
    else if (type === 'function_definition') inside = !addFunction(cursor.currentNode, functions, text);
    if (inside && cursor.gotoFirstChild()) continue;
    let more = true;
    while (more && !cursor.gotoNextSibling()) more = cursor.gotoParent();
    if (!more) break;
  }
  cursor.delete();
  tree.delete();
  const lines = source.split('\n');
  // the definition headers at column 0, by line, in one pass (a listing or a patch has hundreds)
  const heads = new Map<number, RegExpExecArray>();
  lines.forEach((l, i) => {
    const m = isHeader(l);
    if (m) heads.set(i, m);
  });
  const bounds = [...functions.map((f) => f.startLine), ...heads.keys()].sort((a, b) => a - b);
  const known = new Set(functions.map((f) => f.name));
  const recovered = scanHeaders(lines, heads, known, (start) => {
    // a recovered function ends before the next function or header that starts after it, or at the file end
    const next = bounds.find((b) => b > start) ?? lines.length;
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
export async function parseC(source: string, signal?: AbortSignal): Promise<CFile> {
  const host = hostFor(source, parserHost);
  if (host.available) return host.file(source, signal);
  return parseWith(await getParser(), source, lastInProcess);
}
const lastInProcess: LastParse = {};

/** Load the parser now, where parses will run: the outline worker (the server process itself then never holds a wasm heap). */
export function warmParser(): void {
  const host = parserHost();
  if (host.available) void host.file('').catch(() => undefined);
  else void getParser();
}

/** trees asked for ahead of need (a replay starts its parse while the file's outline is still parsing) */
const ahead = new Map<string, Promise<ReturnType<ParseC>>>();

/**
 * Trees the parse worker made, as plain data nothing writes: the arches whose configuration
 * preprocesses a file alike (x86-64 and arm64, often all four) share one parse. The last two (the
 * distinct inputs of one edit; a tree of a big file is megabytes).
 */
const plain = new Map<string, Promise<ReturnType<ParseC>>>();
const PLAIN_KEPT = 2;

/** Start parsing `text` for the interpreter now; the next parseTree of the same text takes it. */
export function parseTreeAhead(text: string): void {
  // a flat tree of a big file is tens of MB: keep one ahead at most, and only for files of mm/gup.c's size
  if (ahead.has(text) || plain.has(text) || text.length > 512 * 1024) return;
  if (hostFor(text, treeHost).available) {
    void parseTree(text).catch(() => undefined);
    return;
  }
  ahead.clear();
  const p = parseTreeNow(text);
  p.catch(() => undefined);
  ahead.set(text, p);
}

/** A tree for the interpreter, as plain data from the parse worker (or in-process without one). */
export function parseTree(text: string): Promise<ReturnType<ParseC>> {
  const early = ahead.get(text);
  if (early) {
    ahead.delete(text); // an in-process tree is used once (its compile frees it)
    return early;
  }
  if (text.length <= 512 * 1024 && hostFor(text, treeHost).available) {
    let p = plain.get(text);
    if (!p) {
      p = parseTreeNow(text);
      p.catch(() => plain.delete(text));
      if (plain.size >= PLAIN_KEPT) plain.delete(plain.keys().next().value!);
      plain.set(text, p);
    }
    return p;
  }
  return parseTreeNow(text);
}

async function parseTreeNow(text: string): Promise<ReturnType<ParseC>> {
  const host = hostFor(text, treeHost);
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
