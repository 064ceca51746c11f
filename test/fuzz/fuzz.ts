/**
 * The fuzz run: the real language server over stdio, the real debug adapter (DebugClient) and the
 * CLI, driven with generated input (mutated kernel text from ../shared and the fixtures, random
 * edits and positions, malformed launch configurations and arguments). It counts what must never
 * happen: a process that dies, a request never answered, a request slower than 2 s on a document
 * under 200 KB. Bounded by time and count; `npm run fuzz -- --minutes N` runs it long.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { DebugClient } from '@vscode/debugadapter-testsupport';
import fc from 'fast-check';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { main as cli } from '../../server/cli/main';
import { SERVER_EXEC_ARGV } from '../../server/protocol';

export interface FuzzFigures {
  fuzz_documents: number;
  fuzz_requests: number;
  fuzz_dap_sessions: number;
  fuzz_cli_runs: number;
  fuzz_crashes: number;
  fuzz_unanswered: number;
  fuzz_slow_requests: number;
  /** note writers killed at a random moment, and notes that were acknowledged but then missing or unreadable */
  fuzz_notes_kills: number;
  fuzz_notes_lost: number;
  fuzz_rss_end_mb: number;
}

/** The package folder, from the sources (test/fuzz) or from the bundle (dist/). */
const ROOT = ((): string => {
  for (let d = __dirname; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json')) && existsSync(join(d, 'server'))) return d;
    if (dirname(d) === d) return join(__dirname, '../..');
  }
})();
const SLOW_MS = 2000;
const UNANSWERED_MS = 15_000;

/** Kernel-shaped texts to mutate: the shared corpus and seeds when present, our fixtures always. */
function bases(): string[] {
  const out: string[] = [];
  for (const dir of [join(ROOT, '../shared/corpus'), join(ROOT, '../shared/seeds'), join(ROOT, 'test/fixtures'), join(ROOT, 'test/fixtures/eras')]) {
    if (!existsSync(dir)) continue;
    for (const f of readdirSync(dir)) if (/\.(c|txt|patch)$/.test(f)) out.push(readFileSync(join(dir, f), 'utf8'));
  }
  return out;
}

/** A mutated document: spans cut, repeated or replaced with junk, line ends changed. */
function documentArb(texts: string[]): fc.Arbitrary<string> {
  const junk = fc.oneof(fc.string(), fc.constantFrom('{', '}', '#if 1', '#endif', '\r', '\r\n', '\u0000', '/*', '"', 'goto x;', '((((', 'static int gup_pte_range('));
  const op = fc.record({ kind: fc.constantFrom('cut', 'dup', 'junk', 'cr'), at: fc.nat(), len: fc.nat({ max: 4000 }), junk });
  return fc.record({ base: fc.constantFrom(...texts), ops: fc.array(op, { maxLength: 6 }), big: fc.nat({ max: 30 }) }).map(({ base, ops, big }) => {
    let t = big === 0 ? base.repeat(8) : base;
    for (const o of ops) {
      const at = o.at % (t.length + 1);
      if (o.kind === 'cut') t = t.slice(0, at) + t.slice(at + o.len);
      else if (o.kind === 'dup') t = t.slice(0, at) + t.slice(at, at + o.len) + t.slice(at);
      else if (o.kind === 'junk') t = t.slice(0, at) + o.junk + t.slice(at);
      else t = t.replace(/\n/g, '\r');
    }
    return t;
  });
}

const position = fc.record({ line: fc.oneof(fc.nat({ max: 400 }), fc.constantFrom(2 ** 31 - 1, 2 ** 31 + 1, 1e8, -1)), character: fc.oneof(fc.nat({ max: 120 }), fc.constantFrom(2 ** 31 - 1, -5)) });

/** time per kind of request (FUZZ_DEBUG prints it) */
const spent = new Map<string, { n: number; ms: number }>();

async function timed<T>(p: Promise<T>, f: FuzzFigures, small: boolean, kind = 'request'): Promise<void> {
  f.fuzz_requests++;
  const t0 = Date.now();
  p.then(() => {
    const k = spent.get(kind) ?? { n: 0, ms: 0 };
    spent.set(kind, { n: k.n + 1, ms: k.ms + Date.now() - t0 });
  }, () => undefined);
  let timer: NodeJS.Timeout | undefined;
  const answered = await Promise.race([
    p.then(() => true, () => true),
    new Promise<boolean>((r) => (timer = setTimeout(() => r(false), UNANSWERED_MS))),
  ]);
  clearTimeout(timer);
  if (!answered) f.fuzz_unanswered++;
  else if (small && Date.now() - t0 > SLOW_MS) f.fuzz_slow_requests++;
}

function rssMb(pid: number | undefined): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

async function fuzzServer(f: FuzzFigures, until: number, seed: number): Promise<void> {
  const proc = spawn(process.execPath, [...SERVER_EXEC_ARGV, ...(process.env.FUZZ_SERVER_ARGS?.split(' ') ?? []), join(ROOT, 'dist/server.js'), '--stdio'], { stdio: ['pipe', 'pipe', 'pipe'] });
  // what the server last said on stderr: a death says why (a fatal V8 error, a signal)
  let said = '';
  proc.stderr!.on('data', (b: Buffer) => {
    if (process.env.FUZZ_DEBUG) process.stderr.write(b);
    said = (said + b.toString()).slice(-4096);
  });
  let died = false;
  let shutting = false;
  proc.on('exit', (code, signal) => {
    died = true;
    if (!shutting) process.stderr.write(`fuzz: the server died (exit ${code}, signal ${signal}); its last words:\n${said}\n`);
  });
  const conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  conn.onRequest('workspace/codeLens/refresh', () => null);
  conn.onError(() => undefined);
  conn.listen();
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await conn.sendNotification('initialized', {});
  const arb = documentArb(bases());
  const edits = fc.sample(fc.record({ start: position, end: position, text: fc.string({ maxLength: 40 }) }), { seed: seed + 1, numRuns: 200 });
  const spots = fc.sample(position, { seed: seed + 2, numRuns: 300 });
  const fns = ['gup_pte_range', 'gup_huge_pmd', 'get_user_pages_fast', 'nope', ''];
  const arches = ['x86-64', 'x86-pae', 'arm-lpae', 'arm64', 'sparc'];
  // two editors at once, as a reviewer with two files open: each its own documents, one after another
  const editor = async (lane: number) => {
    let docs: string[] = [];
    for (let i = 0; Date.now() < until && !died; i++) {
      // documents in batches, so a long run never holds more than a few
      if (i % 20 === 0) docs = fc.sample(arb, { seed: seed + 100 + i + lane * 7919, numRuns: 20 });
      const uri = `file:///fuzz/${lane}/${i}.c`;
      const text = docs[i % 20];
      const small = text.length < 200_000;
      const j = i + lane * 101;
      f.fuzz_documents++;
      if (process.env.FUZZ_DUMP) writeFileSync(join(process.env.FUZZ_DUMP, `${lane}-${i}.c`), text);
      await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: 1, text } });
      await timed(conn.sendRequest('textDocument/codeLens', { textDocument: { uri } }), f, small, 'codeLens');
      await timed(conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: spots[(j * 3) % spots.length] }), f, small, 'hover');
      const e = edits[(j * 2) % edits.length];
      await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: 2 }, contentChanges: [{ range: { start: e.start, end: e.end }, text: e.text }] });
      await timed(conn.sendRequest('textDocument/hover', { textDocument: { uri }, position: spots[(j * 3 + 1) % spots.length] }), f, small, 'hover after an edit');
      if (i % 5 === 0) {
        await timed(conn.sendRequest('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ uri, fn: fns[j % fns.length], arch: arches[j % arches.length] }] }), f, small, 'replay');
      }
      await conn.sendNotification('textDocument/didClose', { textDocument: { uri } });
    }
  };
  // a server that dies mid-request closes the connection: counted as a crash (its stderr printed above), not thrown
  await Promise.all([editor(0), editor(1)].map((p) => p.catch((e: Error) => {
    if (!died) throw e;
  })));
  f.fuzz_rss_end_mb = rssMb(proc.pid);
  if (process.env.FUZZ_DEBUG) {
    const m = await conn.sendRequest<NodeJS.MemoryUsage>('gupLens/memory').catch(() => undefined);
    if (m) process.stderr.write(`fuzz: server memory: ${Object.entries(m).map(([k, v]) => (/Parses$/.test(k) ? `${k} ${v}` : `${k} ${Math.round(v / 1e6)} MB`)).join(', ')}\n`);
    for (const [k, v] of spent) process.stderr.write(`fuzz: ${k}: ${v.n} in ${v.ms} ms (${(v.ms / v.n).toFixed(1)} ms each)\n`);
  }
  if (died) f.fuzz_crashes++;
  shutting = true;
  await conn.sendRequest('shutdown').catch(() => undefined);
  // a clean exit first (a --cpu-prof given in FUZZ_SERVER_ARGS is written then), a kill if it hangs
  const exited = new Promise((r) => proc.once('exit', r));
  await conn.sendNotification('exit').catch(() => undefined);
  await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
  conn.dispose();
  proc.kill();
}

async function fuzzAdapter(f: FuzzFigures, until: number, maxSessions: number, seed: number): Promise<void> {
  const program = join(ROOT, 'test/fixtures/gup-2014-shape.c');
  const cfg = fc.record(
    {
      program: fc.constantFrom(program, '/nope.c', join(ROOT, 'test/fixtures/not-gup.c'), 42 as unknown as string),
      arch: fc.constantFrom('x86-64', 'x86-pae', 'arm-lpae', 'arm64', 'sparc', null as unknown as string),
      scenario: fc.constantFrom('pages-4k-16', 'thp-pmd', 'race-pte-changed', 'race-fork-pin', 'nope'),
      actors: fc.oneof(fc.constant([]), fc.constant(['munmap']), fc.constant('thp-split' as unknown as string[])),
      engine: fc.constantFrom('auto', 'model', 'source'),
      stopOnEntry: fc.boolean(),
    },
    { requiredKeys: [] },
  );
  const steps = fc.array(fc.constantFrom('next', 'stepIn', 'stepOut', 'stepBack', 'stackTrace', 'variables', 'threads', 'continue'), { maxLength: 12 });
  const sessions = fc.sample(fc.record({ cfg, steps }), { seed, numRuns: maxSessions });
  for (const s of sessions) {
    if (Date.now() > until) break;
    const dc = new DebugClient('node', join(ROOT, 'dist/debugAdapter.js'), 'gup');
    if (process.env.FUZZ_DEBUG) process.stderr.write(`fuzz: session ${JSON.stringify(s.cfg)}\n`);
    await dc.start();
    f.fuzz_dap_sessions++;
    await timed(Promise.all([dc.configurationSequence(), dc.launch(s.cfg as never)]), f, true);
    for (const st of s.steps) {
      const req =
        st === 'stackTrace' ? dc.stackTraceRequest({ threadId: 1 })
        : st === 'variables' ? dc.variablesRequest({ variablesReference: 1 })
        : st === 'threads' ? dc.threadsRequest()
        : st === 'continue' ? dc.continueRequest({ threadId: 1 })
        : (dc as unknown as Record<string, (a: unknown) => Promise<unknown>>)[`${st}Request`]({ threadId: 1 });
      await timed(req, f, true);
    }
    await dc.stop().catch(() => undefined);
  }
}

function fuzzCli(f: FuzzFigures, until: number, maxRuns: number, seed: number): void {
  const word = fc.constantFrom('replay', 'explore', 'inspect', 'decode', 'list', 'kapi', '--arch', 'x86-64', 'sparc', '--scenario', 'pages-4k-16', 'race-pte-changed', '--file', join(ROOT, 'test/fixtures/not-gup.c'), join(ROOT, 'test/fixtures/eras/gup-6.10-shape.c'), '--config', 'X=y', 'X=maybe', '--json', '--level', 'pte', '0x1', '--version', 'x86-2008', '');
  for (const argv of fc.sample(fc.array(word, { maxLength: 8 }), { seed, numRuns: maxRuns })) {
    if (Date.now() > until) break;
    f.fuzz_cli_runs++;
    try {
      const r = cli(argv, () => undefined, () => undefined);
      if (r instanceof Promise) void r.catch(() => f.fuzz_crashes++);
    } catch {
      f.fuzz_crashes++;
    }
  }
}

/**
 * A notes writer (the store the extension uses, from the built bundle) adding notes one after
 * another, killed at a random moment: every note it had acknowledged must still be there, and the
 * file must read back.
 */
async function fuzzNotes(f: FuzzFigures, until: number, maxKills: number, seed: number): Promise<void> {
  const helper = join(ROOT, 'dist/notes-test-helper.js');
  if (!existsSync(helper)) return;
  const { NotesStore, nodeNotesFs } = require(helper) as typeof import('../../server/evolution/notes');
  const dir = mkdtempSync(join(tmpdir(), 'gup-fuzz-notes-'));
  try {
    for (const delay of fc.sample(fc.integer({ min: 5, max: 400 }), { seed, numRuns: maxKills })) {
      if (Date.now() > until) break;
      const path = join(dir, `n${f.fuzz_notes_kills}.json`);
      const script = `const { NotesStore, nodeNotesFs } = require(${JSON.stringify(helper)});
        const s = new NotesStore(nodeNotesFs(), ${JSON.stringify(path)});
        (async () => { for (let i = 0; ; i++) { await s.add('gup_pte_range', null, 'note ' + i); process.stdout.write('ok ' + i + '\\n'); } })();`;
      const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'ignore'] });
      let acked = -1;
      child.stdout.on('data', (d: Buffer) => {
        for (const m of d.toString().matchAll(/ok (\d+)/g)) acked = Math.max(acked, Number(m[1]));
      });
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      f.fuzz_notes_kills++;
      try {
        const texts = (await new NotesStore(nodeNotesFs(), path).load()).map((n) => n.text);
        for (let i = 0; i <= acked; i++) if (!texts.includes(`note ${i}`)) f.fuzz_notes_lost++;
      } catch {
        f.fuzz_notes_lost++;
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** One fuzz run of about `ms` milliseconds (shared between the three targets). */
export async function runFuzz(ms: number, seed = 20261201, scale = 1): Promise<FuzzFigures> {
  const f: FuzzFigures = { fuzz_documents: 0, fuzz_requests: 0, fuzz_dap_sessions: 0, fuzz_cli_runs: 0, fuzz_crashes: 0, fuzz_unanswered: 0, fuzz_slow_requests: 0, fuzz_notes_kills: 0, fuzz_notes_lost: 0, fuzz_rss_end_mb: 0 };
  const t0 = Date.now();
  const say = (s: string) => process.env.FUZZ_DEBUG && process.stderr.write(`fuzz: ${s} at ${Date.now() - t0} ms\n`);
  fuzzCli(f, t0 + ms * 0.1, 200 * scale, seed);
  say('cli done');
  await fuzzNotes(f, t0 + ms * 0.15, 6 * scale, seed);
  say('notes done');
  await fuzzAdapter(f, t0 + ms * 0.35, 8 * scale, seed);
  say('adapter done');
  await fuzzServer(f, t0 + ms, seed);
  say('server done');
  return f;
}
