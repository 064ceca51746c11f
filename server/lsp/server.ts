/**
 * The gup-lens language server: a thin translation of LSP requests into analysis calls.
 * CodeLens and Hover are standard; replay and explore are server commands (executeCommand) the
 * client's own commands call, and the fingerprint goes out as a notification for the status bar.
 * Nothing here may throw into the connection: a bad document gets no lenses and a log line.
 */
import {
  CodeAction, CodeActionKind, CodeLens, DiagnosticSeverity, DidChangeConfigurationNotification, Hover, MarkupKind, TextDocumentSyncKind, TextDocuments,
  type Connection, type Diagnostic, type InitializeResult,
} from 'vscode-languageserver/node';
import { fileURLToPath } from 'node:url';
import { parseStubs, STUB_VALUES, type Stubs } from '../../emulator/interp/kapi/stubs';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { getArch } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { counterexampleLines, explore } from '../../emulator/explore/explore';
import { getRace, raceArchFor, raceRun, type RaceRun } from '../../emulator/scenarios/races';
import { archFor, checkApplicable, NotApplicableError } from '../../emulator/run/replay';
import { fileVersion, prefetchFile } from '../analysis/source';
import { Unsupported } from '../../emulator/interp/runtime';
import { describeStep, formatStep } from '../../emulator/trace/describe';
import { raceDiagram } from '../../emulator/trace/diagram';
import type { Step } from '../../emulator/trace/types';
import { mapSteps } from '../analysis/mapping';
import { traceSvg } from '../pictures/trace-svg';
import { getVersion } from '../../emulator/versions';
import { analyze, archesFor, type Analysis } from '../analysis/analyze';
import { warmParser } from '../analysis/parse';
import { bigHost, ParseCancelled, parserHost } from '../analysis/parse-host';
import {
  CLIENT_COMMANDS, DEFAULT_SETTINGS, UNKNOWN_CALL_CODE, type UnknownCallData, FILE_VERSION_NOTIFICATION, FINGERPRINT_NOTIFICATION, SERVER_COMMANDS, type ExploreArgs, type ExploreView, type FileVersionParams, type FingerprintParams,
  type ReplayArgs, type ReplayView, type Settings,
} from '../protocol';
import { diagnosticsFor, forgetLenses, hoverFor, lensesFor, replayView, slowPathHover, wordAt } from './views';
import { forgetPatch, isPatchDocument, patchLenses } from './patch-lenses';
import { fileCoverage, type FileCoverage } from '../analysis/coverage';
import { stopText } from '../analysis/stops';
import { isGupName } from '../analysis/fingerprint';

/** Files larger than this are not analysed (mm/gup.c is about 100 KB). */
export const MAX_BYTES = 4 * 1024 * 1024;
const DEBOUNCE_MS = 150;

type Change = Parameters<typeof TextDocument.update>[1][number];

/**
 * An edit's range clamped to the document before it is applied: a range far past the end (line
 * 2^31-1 to 2^31+1) would have the text-document library write line offsets at that index.
 */
export function clampChange(doc: TextDocument, c: Change): Change {
  if (!('range' in c) || !c.range) return c;
  const at = (p: { line: number; character: number } | undefined) => {
    const line = Number.isFinite(p?.line) ? Math.max(0, Math.floor(p!.line)) : 0;
    const character = Number.isFinite(p?.character) ? Math.max(0, Math.floor(p!.character)) : 0;
    if (line >= doc.lineCount) return doc.positionAt(doc.getText().length);
    return doc.positionAt(doc.offsetAt({ line, character }));
  };
  return { ...c, range: { start: at(c.range.start), end: at(c.range.end) } };
}

export function startServer(connection: Connection): void {
  // a didOpen without text opens an empty document; an edit's range is clamped to the document
  const documents = new TextDocuments<TextDocument>({
    create: (uri, languageId, version, content) => TextDocument.create(uri, languageId, version, typeof content === 'string' ? content : ''),
    update: (doc, changes, version) => TextDocument.update(doc, changes.filter((c) => typeof c?.text === 'string').map((c) => clampChange(doc, c)), version),
  });
  let settings: Settings = { ...DEFAULT_SETTINGS };
  let canPullConfig = false;
  /** per document: its analysis (by version and override), the switch that cancels its parse, and why there is none */
  const cache = new Map<string, { version: number; override: string; analysis: Promise<Analysis | undefined>; abort: AbortController; problem?: string }>();
  const timers = new Map<string, NodeJS.Timeout>();

  const log = (s: string) => connection.console.log(s);

  /** the workspace's stubs, checked (a bad entry is logged and left out) */
  let stubs: Stubs = {};
  const setStubs = (raw: unknown) => {
    stubs = {};
    for (const [k, v] of Object.entries(raw && typeof raw === 'object' ? raw : {})) {
      try {
        stubs = { ...stubs, ...parseStubs({ [k]: v }) };
      } catch (e) {
        log(`gupLens.stubs: ${(e as Error).message}`);
      }
    }
  };
  /** a file: URI's path (its kernel tree's headers are read from there); none for other schemes */
  const pathOf = (uri: string) => {
    try {
      return uri.startsWith('file:') ? fileURLToPath(uri) : undefined;
    } catch {
      return undefined;
    }
  };

  /** a file's own choice of model (from the status bar), over the workspace setting */
  const fileVersions = new Map<string, string>();
  const overrideOf = (uri: string) => fileVersions.get(uri) ?? settings.version;

  /** The analysis of a document as it is now (cached per document version and override). */
  function analysisOf(doc: TextDocument): Promise<Analysis | undefined> {
    const hit = cache.get(doc.uri);
    const override = overrideOf(doc.uri);
    if (hit && hit.version === doc.version && hit.override === override) return hit.analysis;
    // the parse of what the document was is not wanted any more
    hit?.abort.abort();
    const text = doc.getText();
    const entry = { version: doc.version, override, abort: new AbortController(), analysis: Promise.resolve<Analysis | undefined>(undefined), problem: undefined as string | undefined };
    const req = { path: pathOf(doc.uri), stubs };
    if (text.length > MAX_BYTES) {
      entry.problem = `gup-lens: this file is ${(text.length / 1048576).toFixed(1)} MB; lenses and hovers are for files up to ${MAX_BYTES / 1048576} MB`;
      log(`${doc.uri}: ${text.length} bytes, over the ${MAX_BYTES}-byte limit: not analysed`);
    } else {
      entry.analysis = analyze(text, override, entry.abort.signal, req).then((a) => {
        if (a) ownFns.set(doc.uri, new Set(a.gupFunctions.map((f) => f.name)));
        if (a?.version) compiledAs.set(doc.uri, { version: a.version.id, arches: archesFor(a).arches });
        return a;
      }).catch((e: Error) => {
        if (e instanceof ParseCancelled) return undefined;
        entry.problem = `gup-lens: this file could not be analysed (${e.message})`;
        log(`${doc.uri}: analysis failed: ${e.message}`);
        return undefined;
      });
    }
    cache.set(doc.uri, entry);
    // an edit seldom changes the model: the file's code is compiled for it now, on this thread and
    // in the tree worker, while its outline is parsed in the other (the lenses then find it compiled)
    const was = compiledAs.get(doc.uri);
    if (was && !entry.problem) for (const arch of was.arches) void fileVersion(text, { arch, version: was.version, ...req }).catch(() => undefined);
    return entry.analysis;
  }

  /** the model and arches a document's last analysis compiled it for */
  const compiledAs = new Map<string, { version: string; arches: ArchId[] }>();

  /**
   * Per document, the GUP-fast functions its last finished analysis found: the census reaches
   * past the models' names (a release's own helpers, a vendor's), and a hover on one of them
   * waits for the analysis like a model name does.
   */
  const ownFns = new Map<string, Set<string>>();

  /** A document changed or closed: its parse under way, if any, stops. */
  function forget(uri: string): void {
    cache.get(uri)?.abort.abort();
    cache.delete(uri);
  }

  async function publishFingerprint(doc: TextDocument): Promise<void> {
    const a = await analysisOf(doc);
    const p: FingerprintParams = { uri: doc.uri };
    if (a?.version && a.gupFunctions.length) {
      p.version = a.version.id;
      p.title = a.version.title;
      p.confidence = a.fingerprint?.confidence;
      p.release = a.fingerprint?.release?.range;
      p.overridden = overrideOf(doc.uri) !== 'auto';
      if (p.overridden) p.chosenBy = fileVersions.has(doc.uri) ? 'file' : 'workspace';
      p.scores = a.fingerprint?.scores.map(({ id, score }) => ({ id, score: Math.round(score * 100) / 100 }));
    }
    void connection.sendNotification(FINGERPRINT_NOTIFICATION, p);
  }

  function schedule(doc: TextDocument): void {
    clearTimeout(timers.get(doc.uri));
    timers.set(doc.uri, setTimeout(() => {
      timers.delete(doc.uri);
      void publishFingerprint(doc);
    }, DEBOUNCE_MS));
  }

  async function refreshSettings(): Promise<void> {
    if (!canPullConfig) return;
    try {
      const got = (await connection.workspace.getConfiguration('gupLens')) as Partial<Settings> | null;
      settings = { ...DEFAULT_SETTINGS, ...(got ?? {}) };
      setStubs(settings.stubs);
      if (settings.version !== 'auto') getVersion(settings.version); // reject an unknown id now
    } catch (e) {
      log(`settings: ${(e as Error).message}; using version 'auto'`);
      settings = { ...settings, version: 'auto' };
    }
  }

  connection.onInitialize((params): InitializeResult => {
    canPullConfig = !!params.capabilities.workspace?.configuration;
    const init = params.initializationOptions as Partial<Settings> | undefined;
    if (init) settings = { ...settings, ...init };
    setStubs(settings.stubs);
    warmParser(); // while the client finishes starting
    return {
      capabilities: {
        textDocumentSync: TextDocumentSyncKind.Incremental,
        hoverProvider: true,
        codeLensProvider: { resolveProvider: false },
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        executeCommandProvider: { commands: Object.values(SERVER_COMMANDS) },
      },
      serverInfo: { name: 'gup-lens', version: '0.1.0' },
    };
  });

  connection.onInitialized(() => {
    if (canPullConfig) {
      void connection.client.register(DidChangeConfigurationNotification.type, { section: 'gupLens' });
      void refreshSettings();
    }
  });

  connection.onDidChangeConfiguration(async () => {
    await refreshSettings();
    for (const uri of [...cache.keys()]) forget(uri);
    for (const d of documents.all()) schedule(d);
    void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  });

  // the process's memory (the fuzz run reports it: heap against RSS tells a leak from the allocator)
  connection.onRequest('gupLens/memory', () => ({ ...process.memoryUsage(), outlineParses: parserHost().sent, bigParses: bigHost().sent }));

  connection.onNotification(FILE_VERSION_NOTIFICATION, (p: FileVersionParams) => {
    if (typeof p?.uri !== 'string' || typeof p.version !== 'string') return;
    if (p.version === 'auto') fileVersions.delete(p.uri);
    else {
      try {
        getVersion(p.version);
      } catch (e) {
        log(`${p.uri}: ${(e as Error).message}`);
        return;
      }
      fileVersions.set(p.uri, p.version);
    }
    forget(p.uri);
    const doc = documents.get(p.uri);
    if (doc) schedule(doc);
    void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
  });

  documents.onDidOpen((e) => schedule(e.document));
  documents.onDidChangeContent((e) => {
    forget(e.document.uri);
    schedule(e.document);
  });
  documents.onDidClose((e) => {
    // nothing may keep a closed document: a cleared timer still held in the map holds its text
    forget(e.document.uri);
    ownFns.delete(e.document.uri);
    compiledAs.delete(e.document.uri);
    clearTimeout(timers.get(e.document.uri));
    timers.delete(e.document.uri);
    forgetLenses(e.document.uri);
    forgetPatch(e.document.uri);
    coverages.delete(e.document.uri);
    published.delete(e.document.uri);
  });

  connection.onCodeLens(async (p): Promise<CodeLens[]> => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc || !settings.codeLens) return [];
    if (isPatchDocument(doc.languageId, doc.getText())) {
      // a patch: its review's lenses (the review runs once per version; the client asks again when it is done)
      const refresh = () => void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
      return patchLenses(doc.uri, doc.version, doc.getText(), pathOf(doc.uri), stubs, refresh).map((l) => ({
        range: { start: { line: l.line, character: 0 }, end: { line: l.line, character: 0 } },
        command: { title: l.title, command: l.command, arguments: l.args },
      }));
    }
    const a = await analysisOf(doc);
    if (!a) {
      // too large, or the parser failed: say so where the lenses would be (a lens with no command is a label)
      const entry = cache.get(doc.uri);
      const problem = entry?.version === doc.version ? entry.problem : undefined;
      return problem ? [{ range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, command: { title: problem, command: '' } }] : [];
    }
    // the engine in the titles comes once the file is compiled: then the client asks again, and the diagnostics go out
    const refresh = () => {
      void connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined);
      publishDiagnostics(doc, a);
    };
    publishDiagnostics(doc, a);
    const cov = await readyCoverage(doc);
    const covLenses = (cov?.functions ?? []).filter((f) => !f.unreachable).map((f) => ({
      line: f.line - 1,
      title: `Coverage: ${f.branches.run} of ${f.branches.total} decision outcomes, ${f.lines.run} of ${f.lines.total} lines`,
      command: CLIENT_COMMANDS.showText,
      args: [{ title: f.name, text: `${f.name}: ${f.branches.run} of ${f.branches.total} decision outcomes exercised by the catalog${f.missed.length ? `; never: ${f.missed.map((m) => `line ${m.line} ${m.outcome}`).join(', ')}` : ''}${f.stops.length ? `; runs stop: ${f.stops.map((st) => `${stopText(st)} (${st.runs.length} run${st.runs.length > 1 ? 's' : ''})`).join('; ')}` : ''}` }],
    }));
    const fnLenses = await lensesFor(a, doc.uri, refresh);
    // plans ready in time compiled the file on the way: what it lacks is known now (a repeat is not sent)
    publishDiagnostics(doc, a);
    return [...fnLenses, ...covLenses].map((l) => ({
      range: { start: { line: l.line, character: 0 }, end: { line: l.line, character: 0 } },
      command: { title: l.title, command: l.command, arguments: l.args },
    }));
  });

  /** coverage by the whole catalog, per document version (seconds to compute: kept until the text changes) */
  const coverages = new Map<string, { version: number; result: Promise<FileCoverage> }>();
  function coverageOf(doc: TextDocument): Promise<FileCoverage> {
    const hit = coverages.get(doc.uri);
    if (hit && hit.version === doc.version) return hit.result;
    if (coverages.size > 8) coverages.delete(coverages.keys().next().value!);
    const result = fileCoverage(pathOf(doc.uri) ?? doc.uri, doc.getText(), { stubs });
    coverages.set(doc.uri, { version: doc.version, result });
    void result.then(() => connection.sendRequest('workspace/codeLens/refresh').catch(() => undefined), () => undefined);
    return result;
  }
  /** the coverage of a document if it has been computed for this version */
  async function readyCoverage(doc: TextDocument): Promise<FileCoverage | undefined> {
    const hit = coverages.get(doc.uri);
    if (!hit || hit.version !== doc.version) return undefined;
    return hit.result.catch(() => undefined);
  }

  /** the file's unknown names (once compiled), as diagnostics; each document's last set is kept to skip repeats */
  const published = new Map<string, string>();
  function publishDiagnostics(doc: TextDocument, a: Analysis): void {
    const diagnostics: Diagnostic[] = diagnosticsFor(a).map((d) => ({
      range: { start: { line: d.line, character: 0 }, end: { line: d.line, character: doc.getText({ start: { line: d.line, character: 0 }, end: { line: d.line + 1, character: 0 } }).replace(/\r?\n$/, '').length } },
      severity: d.warning ? DiagnosticSeverity.Warning : DiagnosticSeverity.Information,
      source: 'gup-lens',
      message: d.message,
      ...(d.name && { code: UNKNOWN_CALL_CODE, data: { name: d.name, ...(d.value && { value: d.value }) } satisfies UnknownCallData }),
    }));
    const key = JSON.stringify(diagnostics);
    if (published.get(doc.uri) === key) return;
    published.set(doc.uri, key);
    void connection.sendDiagnostics({ uri: doc.uri, version: doc.version, diagnostics });
  }

  // the quick fix of an unknown call: say what it does in this workspace (gupLens.stubs, written by the client)
  connection.onCodeAction((p): CodeAction[] => {
    const out: CodeAction[] = [];
    for (const d of p.context.diagnostics) {
      const data = d.code === UNKNOWN_CALL_CODE ? (d.data as UnknownCallData | undefined) : undefined;
      const name = data?.name;
      if (!name || !/^[A-Za-z_]\w*$/.test(name)) continue;
      for (const value of data.value ? (['0', '1'] as const) : STUB_VALUES) {
        const title = data.value ? `gup-lens: take ${name} as ${value} in this workspace` : value === 'noop' ? `gup-lens: treat ${name}() as a no-op in this workspace` : `gup-lens: treat ${name}() as returning ${value} in this workspace`;
        out.push({ title, kind: CodeActionKind.QuickFix, diagnostics: [d], command: { title, command: CLIENT_COMMANDS.setStub, arguments: [{ name, value }] } });
      }
    }
    return out;
  });

  connection.onHover(async (p): Promise<Hover | null> => {
    const doc = documents.get(p.textDocument.uri);
    if (!doc || !settings.hover) return null;
    const lineText = doc.getText({ start: { line: p.position.line, character: 0 }, end: { line: p.position.line + 1, character: 0 } });
    const word = wordAt(lineText, p.position.character);
    // where the walk falls back, in a file of GUP-fast code: the emulator's slow path, not this definition or call
    const slow = word ? slowPathHover(word) : undefined;
    if (slow) return (await analysisOf(doc))?.version ? { contents: { kind: MarkupKind.Markdown, value: slow } } : null;
    // a word no version defines gets no hover: no need to wait for the document's (re)parse
    if (!isGupName(word) && !(word && ownFns.get(doc.uri)?.has(word))) {
      // once coverage has run: which scenarios run this line
      const cov = await readyCoverage(doc);
      const by = cov?.functions.map((f) => f.ranBy[p.position.line + 1]).find((x) => x?.length);
      return by ? { contents: { kind: MarkupKind.Markdown, value: `**gup-lens coverage**: run by ${by.slice(0, 8).map((x) => '`' + x + '`').join(', ')}${by.length > 8 ? ` and ${by.length - 8} more` : ''}` } } : null;
    }
    const a = await analysisOf(doc);
    if (!a) return null;
    const fn = a.gupFunctions.find((f) => f.name === word);
    if (!fn) return null;
    try {
      const md = await hoverFor(a, fn.name, doc.uri);
      return md ? { contents: { kind: MarkupKind.Markdown, value: md } } : null;
    } catch (e) {
      log(`hover ${fn.name}: ${(e as Error).message}`);
      return null;
    }
  });

  connection.onExecuteCommand(async (p) => {
    const arg = (p.arguments ?? [])[0] as Record<string, unknown> | undefined;
    try {
      switch (p.command) {
        case SERVER_COMMANDS.replay:
          return await doReplay(arg as unknown as ReplayArgs);
        case SERVER_COMMANDS.explore:
          return await doExplore(arg as unknown as ExploreArgs);
        case SERVER_COMMANDS.coverage: {
          const doc = documents.get(String(arg?.uri));
          if (!doc) return { error: `document ${String(arg?.uri)} is not open` };
          const c = await coverageOf(doc);
          return c;
        }
        case SERVER_COMMANDS.analysis: {
          const doc = documents.get(String(arg?.uri));
          const a = doc && (await analysisOf(doc));
          return a ? { version: a.version?.id, confidence: a.fingerprint?.confidence, arches: archesFor(a).arches, functions: a.gupFunctions.map((f) => ({ name: f.name, startLine: f.startLine, endLine: f.endLine })) } : null;
        }
        default:
          return { error: `unknown command ${p.command}` };
      }
    } catch (e) {
      return { error: (e as Error).message };
    }
  });

  async function doReplay(args: ReplayArgs): Promise<ReplayView | { error: string }> {
    const doc = args && documents.get(args.uri);
    if (!doc) return { error: `document ${args?.uri} is not open` };
    getArch(args.arch);
    // the file's own code is parsed for this arch while its outline is parsed in the other worker
    prefetchFile(doc.getText(), { arch: args.arch });
    const a = await analysisOf(doc);
    if (!a?.version) return { error: 'no GUP-fast functions in this file' };
    return replayView(a, args.fn, args.arch as ArchId, args.scenario ?? settings.scenario, args.picture !== false);
  }

  function historyOf(sc: ReturnType<typeof getRace>): ExploreView['history'] {
    return (['before', 'after'] as const).map((side) => ({ version: sc[side].version, arch: sc[side].arch, side, verdict: explore(sc, sc[side]).verdict as 'violation' | 'ok' }));
  }

  async function doExplore(args: ExploreArgs): Promise<ExploreView> {
    const sc = getRace(args.scenario);
    const doc = args.uri ? documents.get(args.uri) : undefined;
    const a = doc && (await analysisOf(doc));
    const version = args.version ?? a?.version?.id ?? sc.before.version;
    // a file's code runs on the arches it is built for (arch/x86/mm/gup.c: x86 only)
    const own = doc && a?.version ? archesFor(a) : undefined;
    const arch = (args.arch ?? (own && raceArchFor(sc, own.arches)) ?? sc.before.arch) as ArchId;
    let run: RaceRun = raceRun(sc, arch, version);
    let engine = `model ${version}`;
    /** the race cannot meet this code, and why (with the historical verdicts where a file was asked about) */
    const notApplicable = (message: string, by = engine): ExploreView => ({ scenario: sc.id, version, arch, verdict: 'n/a', message, states: 0, interleavings: 0, ms: 0, trace: [], engine: by, history: doc ? historyOf(sc) : undefined });
    if (own && !own.arches.includes(arch)) return notApplicable(`not for this arch: ${own.note ?? `this file's code is for ${own.arches.join(', ')}`}`, 'this file');
    // asked of a file with no GUP-fast code (and no model named): a model's verdict would read as the file's
    if (doc && !a?.version && !args.version) return notApplicable('this file has no GUP-fast function (get_user_pages_fast and its walkers): none of its code meets the race; "Explore a race scenario" runs it on a version model', 'this file');
    if (doc && a?.version) {
      // the file's own code, interleaved with the race's actors
      const fv = await fileVersion(doc.getText(), { arch, version: a.version.id, ...a.req }).catch((e: Error) => ({ unsupported: e, source: undefined }));
      if (fv.source) {
        try {
          checkApplicable(getArch(arch), fv.source, sc);
          run = { ...run, version: fv.source };
          engine = 'this file';
        } catch (e) {
          if (!(e instanceof NotApplicableError)) throw e;
          // the race cannot meet this file: say so rather than answer for a model
          return notApplicable(e.message, 'this file');
        }
      } else if (fv.unsupported) engine = `model ${version} (this file's code stopped: ${fv.unsupported.message})`;
    }
    let r;
    try {
      r = explore(sc, run);
    } catch (e) {
      if (e instanceof NotApplicableError) return notApplicable(e.message);
      if (!(e instanceof Unsupported)) throw e;
      // some interleaving reached code the interpreter cannot run: the model's verdict, saying so
      run = raceRun(sc, arch, version);
      engine = `model ${version} (this file's code stopped: ${e.message})`;
      try {
        r = explore(sc, run);
      } catch (e2) {
        // nor can the model meet the race: n/a, with both reasons
        if (!(e2 instanceof NotApplicableError)) throw e2;
        return notApplicable(e2.message);
      }
    }
    const ran = typeof run.version === 'string' ? getVersion(run.version) : run.version;
    // the release's layout: the counterexample's entries read as the machine built them
    const ar = archFor(getArch(arch), ran);
    const era = ran.era;
    const history = doc ? historyOf(sc) : undefined;
    let pictures: Pick<ExploreView, 'svg' | 'diagram'> = {};
    if (r.verdict === 'violation') {
      // the file's own lines where its code ran; the model's steps placed on the file by their anchors
      const source = doc?.getText().split(/\r\n|\r|\n/);
      const mapped = a?.file ? mapSteps(a.file, r.counterexample).places : [];
      const at = new Map(r.counterexample.map((s, i) => [s, i]));
      const lineOf = (s: Step) => (s.line !== undefined ? s.line - 1 : s.actor === 'gup' ? mapped[at.get(s) ?? -1]?.line : undefined);
      pictures = {
        svg: traceSvg({ title: `${sc.id} on ${engine} / ${arch}`, arch: ar, era, steps: r.counterexample, actors: r.actors, violation: r.message, lineOf }),
        diagram: raceDiagram(r.counterexample, r.actors, { source, violation: r.message }),
      };
    }
    return {
      scenario: sc.id, version, arch, verdict: r.verdict, invariant: r.invariant, message: r.message, states: r.states, interleavings: r.interleavings, ms: r.ms,
      trace: counterexampleLines(r, (s, n) => formatStep(describeStep(ar, era, s, n))), engine, history, ...pictures,
    };
  }

  documents.listen(connection);
  connection.listen();
}
