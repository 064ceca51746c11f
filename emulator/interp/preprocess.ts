/**
 * The preprocessor, as much of it as GUP-fast files use: #if/#ifdef/#ifndef/#elif/#else/#endif
 * chosen by the configuration (defined(), IS_ENABLED(), integer comparisons), and the file's own
 * #defines (object- and function-like) expanded. Lines never move: a directive, a line compiled
 * out or a line folded into a macro call becomes empty, so every statement keeps its line.
 * Layer: pure emulator.
 */
import { identStart, wordChar } from './chars';
import { HEADER_MACROS, type InterpConfig } from './config';

export interface Macro {
  name: string;
  params?: string[];
  body: string;
  line: number;
}

export interface Preprocessed {
  /** the text the compiler parses: same number of lines as the input */
  text: string;
  /** 1-based lines compiled in (false: compiled out or a directive) */
  active: boolean[];
  macros: Map<string, Macro>;
}

export class PreprocessError extends Error {
  constructor(msg: string, readonly line: number) {
    super(`${msg} at line ${line}`);
  }
}

interface Cond {
  /** this branch is compiled in */
  on: boolean;
  /** a branch of this #if was already taken */
  taken: boolean;
  /** the enclosing region is compiled in */
  outer: boolean;
  line: number;
}

/** Whether a line can be a directive: its first character past blanks is `#` (or one the regex must judge: other white space). Most lines are code, and a regex per line of a 100 KB file per arch adds up at every edit. */
function mayBeDirective(line: string): boolean {
  for (let k = 0; k < line.length; k++) {
    const c = line.charCodeAt(k);
    if (c === 0x23) return true;
    if (c !== 0x20 && c !== 0x09) return c > 0x7e || c < 0x20;
  }
  return false;
}

export function preprocess(src: string, cfg: InterpConfig): Preprocessed {
  const lines = src.split(/\r\n|\r|\n/);
  const out: string[] = new Array(lines.length);
  const active: boolean[] = [false];
  // the tree's header macros first (line 0): the file's own #defines replace them
  const macros = new Map<string, Macro>([...(cfg.headerMacros ?? [])].map(([name, body]) => [name, { name, body, line: 0 }]));
  const stack: Cond[] = [];
  const on = () => stack.length === 0 || stack[stack.length - 1].on;
  for (let i = 0; i < lines.length; i++) {
    const m = mayBeDirective(lines[i]) ? /^\s*#\s*(\w+)(.*)$/.exec(lines[i]) : null;
    if (!m) {
      out[i] = on() ? lines[i] : '';
      active.push(on());
      continue;
    }
    // a directive, with its continuation lines
    let rest = m[2];
    const first = i;
    out[i] = '';
    active.push(false);
    while (rest.endsWith('\\') && i + 1 < lines.length) {
      rest = rest.slice(0, -1) + ' ' + lines[++i];
      out[i] = '';
      active.push(false);
    }
    rest = stripComments(rest).trim();
    const line = first + 1;
    const d = m[1];
    const cur = on();
    switch (d) {
      case 'if':
      case 'ifdef':
      case 'ifndef': {
        const v = !cur ? false : d === 'if' ? evalIf(rest, cfg, macros, line) : (cfg.defined.has(word(rest)) || macros.has(word(rest))) === (d === 'ifdef');
        stack.push({ on: cur && v, taken: v, outer: cur, line });
        break;
      }
      case 'elif': {
        const c = stack[stack.length - 1];
        if (!c) throw new PreprocessError('#elif without #if', line);
        const v = c.outer && !c.taken && evalIf(rest, cfg, macros, line);
        c.on = v;
        c.taken ||= v;
        break;
      }
      case 'else': {
        const c = stack[stack.length - 1];
        if (!c) throw new PreprocessError('#else without #if', line);
        c.on = c.outer && !c.taken;
        c.taken = true;
        break;
      }
      case 'endif':
        if (!stack.pop()) throw new PreprocessError('#endif without #if', line);
        break;
      case 'define':
        if (cur) {
          const dm = /^([A-Za-z_]\w*)(\(([^)]*)\))?\s*(.*)$/.exec(rest);
          if (!dm) throw new PreprocessError(`#define: cannot read '${rest}'`, line);
          const params = dm[2] !== undefined ? dm[3].split(',').map((p) => p.trim()).filter((p) => p) : undefined;
          macros.set(dm[1], { name: dm[1], params, body: dm[4], line });
        }
        break;
      case 'undef':
        if (cur) macros.delete(word(rest));
        break;
      default: // include, error, warning, pragma, line: nothing to do for the model
        break;
    }
  }
  if (stack.length) throw new PreprocessError('#if without #endif', stack[stack.length - 1].line);
  return { text: expand(out.join('\n'), macros), active, macros };
}

function word(s: string): string {
  return /^[A-Za-z_]\w*/.exec(s)?.[0] ?? '';
}

function stripComments(s: string): string {
  return s.replace(/\/\*.*?(\*\/|$)/g, ' ').replace(/\/\/.*$/, '');
}

// ---- #if expressions ----

function evalIf(expr: string, cfg: InterpConfig, macros: Map<string, Macro>, line: number): boolean {
  const toks = expr.match(/\d+[uUlL]*|0x[0-9a-fA-F]+[uUlL]*|[A-Za-z_]\w*|&&|\|\||==|!=|<=|>=|<<|>>|[-+*/%()!<>?:~&|^,]/g) ?? [];
  let p = 0;
  const peek = () => toks[p];
  const next = () => toks[p++];
  const isDef = (n: string) => cfg.defined.has(n) || macros.has(n);
  const value = (n: string): number => {
    const v = cfg.defined.get(n) ?? macros.get(n)?.body;
    if (v === undefined) return 0;
    const num = Number.parseInt(v, /^0x/i.test(v) ? 16 : 10);
    return Number.isNaN(num) ? (v === '' ? 0 : 1) : num;
  };
  const primary = (): number => {
    const t = next();
    if (t === undefined) throw new PreprocessError(`#if: expression ends early in '${expr}'`, line);
    if (t === '(') {
      const v = ternary();
      if (next() !== ')') throw new PreprocessError(`#if: ')' expected in '${expr}'`, line);
      return v;
    }
    if (t === '!') return primary() ? 0 : 1;
    if (t === '-') return -primary();
    if (t === '~') return ~primary();
    if (t === 'defined') {
      const paren = peek() === '(';
      if (paren) next();
      const n = next();
      if (paren && next() !== ')') throw new PreprocessError(`#if: ')' expected after defined(${n}`, line);
      return isDef(n) ? 1 : 0;
    }
    if (t === 'IS_ENABLED' || t === 'IS_BUILTIN' || t === 'IS_REACHABLE') {
      next();
      const n = next();
      next();
      return cfg.defined.get(n) === '1' ? 1 : 0;
    }
    if (/^\d|^0x/.test(t)) return Number.parseInt(t.replace(/[uUlL]+$/, ''), /^0x/i.test(t) ? 16 : 10);
    return value(t);
  };
  const BIN: [string[], (a: number, b: number) => number][] = [
    [['*', '/', '%'], (a, b) => a * b],
    [['+', '-'], (a, b) => a + b],
    [['<<', '>>'], (a, b) => a << b],
    [['<', '>', '<=', '>='], (a, b) => +(a < b)],
    [['==', '!='], (a, b) => +(a === b)],
    [['&'], (a, b) => a & b],
    [['^'], (a, b) => a ^ b],
    [['|'], (a, b) => a | b],
    [['&&'], (a, b) => +(a && b)],
    [['||'], (a, b) => +(a || b)],
  ];
  const apply = (op: string, a: number, b: number): number => {
    switch (op) {
      case '*': return a * b;
      case '/': return b ? Math.trunc(a / b) : 0;
      case '%': return b ? a % b : 0;
      case '+': return a + b;
      case '-': return a - b;
      case '<<': return a << b;
      case '>>': return a >> b;
      case '<': return +(a < b);
      case '>': return +(a > b);
      case '<=': return +(a <= b);
      case '>=': return +(a >= b);
      case '==': return +(a === b);
      case '!=': return +(a !== b);
      case '&': return a & b;
      case '^': return a ^ b;
      case '|': return a | b;
      case '&&': return +(!!a && !!b);
      default: return +(!!a || !!b);
    }
  };
  const binary = (lvl: number): number => {
    if (lvl < 0) return primary();
    let a = binary(lvl - 1);
    while (peek() !== undefined && BIN[lvl][0].includes(peek()!)) {
      const op = next()!;
      a = apply(op, a, binary(lvl - 1));
    }
    return a;
  };
  const ternary = (): number => {
    const c = binary(BIN.length - 1);
    if (peek() !== '?') return c;
    next();
    const a = ternary();
    if (next() !== ':') throw new PreprocessError(`#if: ':' expected in '${expr}'`, line);
    const b = ternary();
    return c ? a : b;
  };
  const v = ternary();
  if (p < toks.length) throw new PreprocessError(`#if: cannot read '${expr}'`, line);
  return v !== 0;
}

// ---- macro expansion ----

/** Expand the file's macros (and the annotation macros headers define) in compiled-in code; newlines eaten by a call are put back after it. */
export function expand(text: string, macros: Map<string, Macro>): string {
  const all = new Map(macros);
  for (const [name, body] of Object.entries(HEADER_MACROS)) if (!all.has(name)) all.set(name, { name, body, line: 0 });
  if (all.size === 0) return text;
  return expandIn(text, all, new Set(), true);
}

const SLASH = 0x2f;
const STAR = 0x2a;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const QUOTE = 0x22;
const APOSTROPHE = 0x27;

/** The text with its macros expanded: what no macro touches is copied a run at a time (a 100 KB file is expanded at every edit). */
function expandIn(text: string, macros: Map<string, Macro>, hide: Set<string>, keepLines: boolean): string {
  let out = '';
  // text[from, i) goes out as it is
  let from = 0;
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
      const e = text.indexOf('*/', i + 2);
      i = e < 0 ? n : e + 2;
    } else if (c === SLASH && text.charCodeAt(i + 1) === SLASH) {
      const e = text.indexOf('\n', i);
      i = e < 0 ? n : e;
    } else if (c === QUOTE || c === APOSTROPHE) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== c && text.charCodeAt(j) !== NEWLINE) j += text.charCodeAt(j) === BACKSLASH ? 2 : 1;
      i = j + 1;
    } else if (identStart(c) && (i === 0 || !wordChar(text.charCodeAt(i - 1)))) {
      const at = i;
      while (++i < n && wordChar(text.charCodeAt(i)));
      const id = text.slice(at, i);
      const m = macros.get(id);
      if (!m || hide.has(id)) continue;
      if (!m.params) {
        out += text.slice(from, at) + expandIn(m.body, macros, new Set([...hide, id]), false);
        from = i;
        continue;
      }
      let j = i;
      while (j < n && /\s/.test(text[j])) j++;
      if (text[j] !== '(') continue;
      const { args, end } = readArgs(text, j);
      const eaten = text.slice(i, end).split('\n').length - 1;
      let body = m.body;
      m.params.forEach((p, k) => {
        body = body.replace(new RegExp(`\\b${p}\\b`, 'g'), () => args[k] ?? '');
      });
      out += text.slice(from, at) + expandIn(body, macros, new Set([...hide, id]), false) + (keepLines ? '\n'.repeat(eaten) : '');
      from = i = end;
    } else i++;
  }
  return out + text.slice(from, Math.min(i, n));
}

function readArgs(text: string, open: number): { args: string[]; end: number } {
  const args: string[] = [];
  let depth = 0;
  let cur = '';
  for (let i = open; i < text.length; i++) {
    const c = text[i];
    if (c === '(') {
      if (depth++ > 0) cur += c;
    } else if (c === ')') {
      if (--depth === 0) {
        args.push(cur.replace(/\n/g, ' ').trim());
        return { args, end: i + 1 };
      }
      cur += c;
    } else if (c === ',' && depth === 1) {
      args.push(cur.replace(/\n/g, ' ').trim());
      cur = '';
    } else cur += c;
  }
  return { args, end: text.length };
}
