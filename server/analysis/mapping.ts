/**
 * Placing trace steps on the lines of a user's file: a step's anchor (key tokens of the
 * statement it models) is looked for among the statements of the function it names, as a
 * contiguous run of tokens. A step whose function or statement is not in the file is reported
 * as missing, never put on a wrong line. Shared by the language server, the debug adapter and
 * the CLI.
 */
import type { Step } from '../../emulator/trace/types';
import type { CFile, CFunction } from './parse';
import { findRun, tokenize } from './tokens';

export interface StepPlace {
  /** 0-based line, or undefined when not found in this file */
  line?: number;
  fn?: CFunction;
}

export interface Mapping {
  places: StepPlace[];
  /** "fn: anchor" of every step that found no line, once each */
  missing: string[];
}

// the models' anchors are a few hundred; a file's own statements are new with every edit: bounded
const anchorTokens = new Map<string, string[]>();
const toks = (a: string) => {
  let t = anchorTokens.get(a);
  if (!t) {
    if (anchorTokens.size > 4000) anchorTokens.clear();
    anchorTokens.set(a, (t = tokenize(a)));
  }
  return t;
};

export function mapSteps(file: CFile, steps: readonly Step[]): Mapping {
  const byName = new Map<string, CFunction[]>();
  for (const f of file.functions) (byName.get(f.name) ?? byName.set(f.name, []).get(f.name)!).push(f);
  const cursor = new Map<string, number>(); // last line matched per function: loops read in order
  const missing = new Set<string>();
  const cache = new Map<string, StepPlace>();
  const places = steps.map((s) => {
    const fns = byName.get(s.fn);
    if (!fns) {
      missing.add(`${s.fn}: ${s.anchor}`);
      return {};
    }
    if (s.event === 'call') return { line: fns[0].nameLine, fn: fns[0] };
    if (s.event === 'return') return { line: fns[0].endLine, fn: fns[0] };
    const key = `${s.fn}\u0000${s.anchor}\u0000${cursor.get(s.fn) ?? -1}`;
    let place = cache.get(key);
    if (!place) {
      place = locate(fns, toks(s.anchor), cursor.get(s.fn) ?? -1);
      cache.set(key, place);
    }
    if (place.line === undefined) missing.add(`${s.fn}: ${s.anchor}`);
    else cursor.set(s.fn, place.line);
    return place;
  });
  return { places, missing: [...missing] };
}

function locate(fns: CFunction[], needle: string[], after: number): StepPlace {
  return scan(fns, (t) => findRun(t, needle) >= 0, after) ?? looseLocate(fns, needle, after) ?? {};
}

function scan(fns: CFunction[], match: (tokens: string[]) => boolean, after: number): StepPlace | undefined {
  let first: StepPlace | undefined;
  for (const fn of fns) {
    for (const st of fn.statements) {
      if (!match(st.tokens)) continue;
      if (st.line >= after) return { line: st.line, fn };
      first ??= { line: st.line, fn };
    }
  }
  return first;
}

const isIdent = (t: string) => /^[A-Za-z_]/.test(t);
/** a call, or a constant-looking name: these must match; other names are the code's locals */
const isKey = (t: string, next: string | undefined) => next === '(' || /^[A-Z_][A-Z0-9_]*$/.test(t);

/**
 * A second try that survives renamed locals (`page` called `pg`): called functions, constants
 * and punctuation must match, other identifiers may be any identifier. Only anchors with at
 * least one call or constant are tried this way, so a bare `x = y` never matches anything.
 */
function looseLocate(fns: CFunction[], needle: string[], after: number): StepPlace | undefined {
  const keys = needle.map((t, i) => isIdent(t) && isKey(t, needle[i + 1]));
  if (!keys.some(Boolean)) return undefined;
  const fits = (hay: string[]) => {
    outer: for (let i = 0; i + needle.length <= hay.length; i++) {
      for (let j = 0; j < needle.length; j++) {
        const want = needle[j];
        const got = hay[i + j];
        if (keys[j] || !isIdent(want) ? got !== want : !isIdent(got)) continue outer;
      }
      return true;
    }
    return false;
  };
  return scan(fns, fits, after);
}

/** Where an anchor (function name(s) + statement tokens) is in a file now; for notes and the debugger. */
export function locateAnchor(file: CFile, names: string[], statement: string | undefined): { line?: number; fn?: CFunction; why?: string } {
  const fns = file.functions.filter((f) => names.includes(f.name));
  if (!fns.length) return { why: `function ${names[0]} is not in this file` };
  if (!statement) return { line: fns[0].nameLine, fn: fns[0] };
  const place = locate(fns, toks(statement), -1);
  return place.line === undefined ? { why: `statement \`${statement}\` is not in ${fns[0].name} here` } : place;
}
