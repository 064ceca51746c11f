/**
 * The custom part of gup-lens's LSP, shared by client and server (rust-analyzer's lsp_ext
 * style): server-side command ids, their arguments and results, and notifications.
 * Everything else is standard LSP (CodeLens, Hover, executeCommand).
 */
import type { ArchId } from '../emulator/arch/types';

/**
 * How the language server is started (the extension, the fuzz run and the bench alike): its old
 * space capped, since V8 otherwise lets a long session's garbage grow towards a limit set by the
 * machine's memory, and the server's live data is a few bounded caches.
 */
export const SERVER_EXEC_ARGV = ['--max-old-space-size=320'];

export const SERVER_COMMANDS = {
  replay: 'gup-lens.server.replay',
  explore: 'gup-lens.server.explore',
  analysis: 'gup-lens.server.analysis',
  /** the coverage of an open document by the whole catalog (FileCoverage, server/analysis/coverage.ts) */
  coverage: 'gup-lens.server.coverage',
} as const;

/** Commands the client contributes (what lenses and hover links run). */
export const CLIENT_COMMANDS = {
  replay: 'gup-lens.replay',
  races: 'gup-lens.races',
  explore: 'gup-lens.explore',
  selectVersion: 'gup-lens.selectVersion',
  clearHighlights: 'gup-lens.clearHighlights',
  history: 'gup-lens.history',
  /** set gupLens.stubs[name] = value in the workspace (the quick fix of an unknown call) */
  setStub: 'gup-lens.setStub',
  /** show a text (a patch review's details) in the gup-lens output */
  showText: 'gup-lens.showText',
  /** put a reply (a patch review as a quoting mail) on the clipboard */
  copyReply: 'gup-lens.copyReply',
} as const;

export interface ReplayArgs {
  uri: string;
  fn: string;
  arch: ArchId;
  scenario?: string;
  /** draw the picture now (default); false: the answer comes without `svg`, the trace view asks for it when it is shown */
  picture?: boolean;
}

/** One executed line, with what happened there (for decorations / inlay values). */
export interface LineValue {
  /** 0-based */
  line: number;
  text: string;
  hits: number;
}

export interface ReplayView {
  fn: string;
  arch: ArchId;
  version?: string;
  /** whose code ran: "your code", or "model <id>" and why the file's own code did not run */
  engine?: string;
  scenario: string;
  /** why this replay does not exist (the version or scenario does not run on that arch) */
  na?: string;
  result?: { nr: number; ret: number; slowPath: boolean; fastNr: number };
  lines: LineValue[];
  /** the whole trace as text, one line a step, with the file line it maps to */
  trace: string[];
  missing: string[];
  /** the walk and the timeline as one SVG (the trace view shows it; not drawn when asked with picture: false) */
  svg?: string;
}

export interface ExploreArgs {
  scenario: string;
  version?: string;
  arch?: ArchId;
  /** explore this open document's own code (its version model where the code cannot run) */
  uri?: string;
}

export interface ExploreView {
  scenario: string;
  version: string;
  arch: ArchId;
  /** n/a: the race cannot meet this code (its actors belong to another era); message says why */
  verdict: 'violation' | 'ok' | 'n/a';
  invariant?: string;
  message?: string;
  states: number;
  interleavings: number;
  ms: number;
  trace: string[];
  /** whose code the verdict is about: "this file", or "model <id>" (and why the file's code did not run) */
  engine?: string;
  /** a counterexample's walk and timeline as one SVG, and as the CPU-column text diagram */
  svg?: string;
  diagram?: string;
  /** what the historical versions did on this race: its before and its after */
  history?: { version: string; arch: ArchId; verdict: 'violation' | 'ok'; side: 'before' | 'after' }[];
}

export interface FingerprintParams {
  uri: string;
  /** undefined: no GUP-fast functions in the file */
  version?: string;
  title?: string;
  /** the release range the file's own names place it in */
  release?: string;
  confidence?: number;
  overridden?: boolean;
  /** who chose the model when it was not the fingerprint: this file's own choice, or the workspace setting */
  chosenBy?: 'file' | 'workspace';
  /** what the fingerprint scored each model, best first (the picker shows them) */
  scores?: { id: string; score: number }[];
}

export const FINGERPRINT_NOTIFICATION = 'gupLens/fingerprint';

/** Client to server: the model for one file ('auto': its fingerprint again), kept for that file only. */
export interface FileVersionParams {
  uri: string;
  version: string;
}
export const FILE_VERSION_NOTIFICATION = 'gupLens/setFileVersion';

export interface Settings {
  /** 'auto' (fingerprint) or a version id */
  version: string;
  defaultArch: ArchId;
  /** 'auto' (the function's default) or a scenario id */
  scenario: string;
  codeLens: boolean;
  hover: boolean;
  /** what names the census cannot know do in this workspace: NAME -> noop|0|1|true|false */
  stubs: Record<string, string>;
}

export const DEFAULT_SETTINGS: Settings = { version: 'auto', defaultArch: 'x86-64', scenario: 'auto', codeLens: true, hover: true, stubs: {} };

/** A diagnostic on a call the kernel-API census does not bind: its data, for the quick fix that stubs it. */
export const UNKNOWN_CALL_CODE = 'gup-lens.unknown-call';
export interface UnknownCallData {
  name: string;
  /** a name read as a value (a global, a static key), not a call: its quick fixes give it 0 or 1 */
  value?: true;
}
