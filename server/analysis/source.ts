/**
 * The open file's own code as a version model, for every front: fingerprint the file (which
 * model is its era's oracle and fallback), then compile it for one arch (emulator/interp).
 * Compiled files are kept by text, arch and configuration: a lens, a hover and a replay on the
 * same document compile it once.
 */
import { getArch } from '../../emulator/arch';
import { Unsupported } from '../../emulator/interp/runtime';
import { configFor } from '../../emulator/interp/config';
import type { Stubs } from '../../emulator/interp/kapi/stubs';
import { preprocess } from '../../emulator/interp/preprocess';
import { parseInput, sourceVersionAsync, type SourceVersion } from '../../emulator/interp/source-version';
import { dialectFor, getVersion, type VersionModel } from '../../emulator/versions';
import { fingerprint, namesIn, type Fingerprint } from './fingerprint';
import { parseC, parseTree, parseTreeAhead } from './parse';
import { headerMacrosFor, treeReleaseOf } from './headers';
import { formatted } from '../../emulator/run/formatted';
import { lastText } from '../../emulator/interp/memo';

export interface SourceRequest {
  arch: string;
  /** the model whose era rules apply; default: the fingerprint's */
  version?: string;
  config?: Record<string, string>;
  entry?: string;
  path?: string;
  /** the user's stubs (gupLens.stubs, --stub) */
  stubs?: Stubs;
  /** the release the file's kernel tree names, where the caller knows it (a revision's Makefile; '' for none); else read from the tree on disk around path */
  release?: string;
}

export interface FileVersion {
  /** the model the file was matched to (era rules, oracle, fallback) */
  model: VersionModel;
  fingerprint?: Fingerprint;
  /** the file's code, or undefined when it cannot be compiled (see unsupported) */
  source?: SourceVersion;
  unsupported?: Unsupported;
}

/** Files above this size are refused (the same limit the language server keeps). */
export const MAX_SOURCE_BYTES = 4 * 1024 * 1024;

export class NotGupError extends Error {}

const cache = new Map<string, FileVersion>();
/** compiles under way: a second request for the same file and arch joins the first (a replay during the lenses' idle compile) */
const inFlight = new Map<string, Promise<FileVersion>>();

// each lens, replay and prefetch of an edit asks for the same text's key, per arch
const hash = lastText((s: string): string => {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return `${s.length}:${(h >>> 0).toString(16)}`;
});

function keyOf(text: string, req: SourceRequest): string {
  return `${hash(text)}|${getArch(req.arch).id}|${req.version ?? ''}|${JSON.stringify(req.config ?? {})}|${req.entry ?? ''}|${req.path ?? ''}|${req.release === undefined ? '~' : req.release}|${JSON.stringify(req.stubs ?? {})}`;
}

/** The compiled file if it is at hand now (a lens must not wait for a compile). */
export function peekFileVersion(text: string, req: SourceRequest): FileVersion | undefined {
  return cache.get(keyOf(text, req));
}

export function fileVersion(text: string, req: SourceRequest): Promise<FileVersion> {
  if (text.length > MAX_SOURCE_BYTES) return Promise.reject(new NotGupError(`the file is ${(text.length / 1048576).toFixed(1)} MB; gup-lens reads files up to 4 MB`));
  let key: string;
  try {
    key = keyOf(text, req);
  } catch (e) {
    return Promise.reject(e); // an unknown arch: a rejected promise, like every other failure
  }
  const hit = cache.get(key);
  if (hit) return Promise.resolve(hit);
  let p = inFlight.get(key);
  if (!p) {
    p = compileFile(text, req, key).finally(() => inFlight.delete(key));
    inFlight.set(key, p);
  }
  return p;
}

/**
 * Start the slow part of fileVersion (the parse of the preprocessed text) for one arch now, while
 * the caller still waits for something else (the file's outline).
 */
export function prefetchFile(text: string, req: SourceRequest): void {
  try {
    if (text.length > MAX_SOURCE_BYTES) return;
    // compiled (or compiling) for this arch already, under whatever model: no tree is wanted
    const prefix = `${hash(text)}|${getArch(req.arch).id}|`;
    for (const k of [...cache.keys(), ...inFlight.keys()]) if (k.startsWith(prefix)) return;
    parseTreeAhead(parseInput(preprocess(text, configFor(getArch(req.arch), req.config, req.stubs, headerMacrosFor(req.path, text))), { entry: req.entry }));
  } catch {
    // a configuration or preprocessor error: fileVersion will report it
  }
}

async function compileFile(text: string, req: SourceRequest, key: string): Promise<FileVersion> {
  const arch = getArch(req.arch);
  const tree = req.release ?? treeReleaseOf(req.path);
  // the fingerprint only when no model is named (it costs a whole parse)
  const fp = req.version && req.version !== 'auto' ? undefined : fingerprint(text, await parseC(text), tree);
  const id = req.version && req.version !== 'auto' ? req.version : fp?.id;
  if (!id) throw new NotGupError('no GUP-fast function found in this file (get_user_pages_fast and its walkers)');
  const model = fp ? getVersion(id) : dialectFor(getVersion(id), namesIn(text));
  let r: FileVersion;
  try {
    r = { model, fingerprint: fp, source: await sourceVersionAsync(text, parseTree, arch, model, { path: req.path, config: req.config, entry: req.entry, stubs: req.stubs, headerMacros: headerMacrosFor(req.path, text), treeRelease: tree }) };
  } catch (e) {
    if (!(e instanceof Unsupported)) throw e;
    r = { model, fingerprint: fp, unsupported: formatted(e) };
  }
  // four arches of a few open files; each entry holds a compiled file and its replays
  if (cache.size > 16) cache.delete(cache.keys().next().value!);
  cache.set(key, r);
  return r;
}
