/**
 * The real language server binary (dist/server.js), driven over stdio by a real JSON-RPC client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createTwoFilesPatch } from 'diff';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { CodeLens, Hover } from 'vscode-languageserver-protocol';
import type { ExploreView, ReplayView } from '../../server/protocol';

const root = join(__dirname, '../..');
const serverJs = join(root, 'dist/server.js');
const corpus = join(root, '../shared/corpus');
const fixture = (name: string) => readFileSync(join(root, 'test/fixtures', name), 'utf8');

let proc: ChildProcess;
let conn: MessageConnection;
let version = 0;
let settings: Record<string, unknown> = { version: 'auto' };
const notes: { method: string; params: unknown }[] = [];
let refreshes = 0;
async function until(f: () => boolean, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function open(uri: string, text: string, languageId = 'c'): Promise<void> {
  await conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version: ++version, text } });
}
const lenses = (uri: string) => conn.sendRequest<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
const hover = (uri: string, line: number, character: number) => conn.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line, character } });
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle));
/** Open a document, wait for its lenses, and hover `word` on the line holding `needle`: the hover's markdown. */
async function hoverText(u: string, text: string, needle: string, word: string): Promise<string> {
  await open(u, text);
  await lenses(u);
  const line = lineOf(text, needle);
  return ((await hover(u, line, text.split('\n')[line].indexOf(word) + 2))!.contents as { value: string }).value;
}

beforeAll(async () => {
  if (!existsSync(serverJs)) throw new Error('dist/server.js is missing: run `npm run build` first');
  proc = spawn(process.execPath, [serverJs, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  conn.onNotification((method, params) => void notes.push({ method, params }));
  // the client side of settings: the server pulls gupLens.* with workspace/configuration
  conn.onRequest('workspace/configuration', () => [settings]);
  conn.onRequest('client/registerCapability', () => null);
  conn.onRequest('workspace/codeLens/refresh', () => {
    refreshes++;
    return null;
  });
  conn.listen();
  const init = await conn.sendRequest<{ capabilities: Record<string, unknown> }>('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: { workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } } },
  });
  expect(init.capabilities).toMatchObject({ hoverProvider: true, codeLensProvider: expect.anything() });
  await conn.sendNotification('initialized', {});
});

afterAll(async () => {
  await conn?.sendRequest('shutdown').catch(() => undefined);
  await conn?.sendNotification('exit').catch(() => undefined);
  conn?.dispose();
  proc?.kill();
});

describe('the language server over stdio', () => {
  const uri = 'file:///fixtures/gup-2014-shape.c';
  const text = fixture('gup-2014-shape.c');

  it('puts Replay / Races lenses above every GUP-fast function, on its name line', async () => {
    await open(uri, text);
    // the first answer already has its final labels (the request waits for the file to compile)
    const ls = await lenses(uri);
    const titles = [...new Set(ls.map((l) => l.command!.title))];
    // the lens names whose code a replay runs: this file's own, on every arch
    expect(titles).toEqual(['Replay (your code): x86-64', 'PAE', 'ARM LPAE', 'arm64', 'Races', 'History']);
    const lines = [...new Set(ls.map((l) => l.range.start.line))];
    const want = ['static int gup_pte_range(', 'static int gup_huge_pmd(', 'static int gup_pmd_range(', 'static int gup_pud_range(', 'int __get_user_pages_fast(', 'int get_user_pages_fast('];
    expect(lines).toEqual(want.map((w) => lineOf(text, w)));
    // the #else stub: no arch's configuration keeps it, so it has no lens
    const stub = lineOf(text, 'static inline int gup_pte_range(');
    expect(ls.some((l) => l.range.start.line === stub)).toBe(false);
    expect(ls[0].command!.arguments![0]).toMatchObject({ uri, fn: 'gup_pte_range', arch: 'x86-64' });
  });

  it('announces the fingerprint for the status bar', async () => {
    await new Promise((r) => setTimeout(r, 400));
    const fp = notes.find((n) => n.method === 'gupLens/fingerprint' && (n.params as { uri: string }).uri === uri);
    expect(fp?.params).toMatchObject({ version: 'generic-2014', confidence: 1 });
  });

  it('hover on gup_huge_pmd: per-arch summary with +512 on the THP head', async () => {
    const line = lineOf(text, 'static int gup_huge_pmd(');
    const h = await hover(uri, line, text.split('\n')[line].indexOf('gup_huge_pmd') + 3);
    const md = (h!.contents as { value: string }).value;
    expect(md).toMatch(/### gup_huge_pmd — `generic-2014`/);
    for (const arch of ['x86-64', 'PAE', 'ARM LPAE', 'arm64']) expect(md).toMatch(new RegExp(`\\*\\*${arch}\\*\\* \\(your code\\): walked`));
    // the levels each arch really walks: the pud is folded on the 3-level arches
    expect(md).toMatch(/\*\*x86-64\*\* \(your code\): walked pgd → pud → pmd ·/);
    expect(md).toMatch(/\*\*PAE\*\* \(your code\): walked pgd → pmd \(pud folded\) ·/);
    expect(md).toMatch(/\*\*ARM LPAE\*\* \(your code\): walked pgd → pmd \(pud folded\) ·/);
    expect(md.match(/refs: 0x[0-9a-f]+ \+512/g)).toHaveLength(4);
    expect(md).toMatch(/pmd `0x[0-9a-f]{16}` present\|user\|write\|huge/);
    expect(md).toMatch(/nr=512, fast path only/);
    expect(md).toMatch(/known to have: \[race-pae-torn-pte\]\(command:gup-lens\.explore\?/);
    expect(md).toMatch(/fixes: .*race-thp-split-no-ipi/);
  });

  it('hover: your code where it runs; where it cannot, the model, why, and the anchors the file lacks', async () => {
    const line = lineOf(text, 'static int gup_pte_range(');
    const md = ((await hover(uri, line, 12))!.contents as { value: string }).value;
    expect(md).toMatch(/\*\*arm64\*\* \(your code\)/);
    expect(md).not.toMatch(/Not found in this file/);
    expect(await hover(uri, lineOf(text, 'pte_t *slot;'), 3)).toBeNull();
    // the same file with a call nothing defines on the pte path: the model runs, and says why
    const u2 = 'file:///fixtures/gup-2014-unknown.c';
    const patched = text.replace('if (!page_cache_get_speculative(pg))', 'if (!mystery_get(pg))');
    await open(u2, patched);
    const md2 = ((await hover(u2, line, 12))!.contents as { value: string }).value;
    expect(md2).toMatch(new RegExp(`\\*\\*arm64\\*\\* \\(model generic-2014 \\(your code stopped: call to mystery_get\\(\\) at line ${lineOf(patched, 'mystery_get') + 1}\\)\\)`));
    expect(md2).toMatch(/Not found in this file: .*`pages\[\*nr\] = page`/);
  });

  it('executeCommand replay: the executed lines with inline values, and the trace', async () => {
    const v = await conn.sendRequest<ReplayView>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ uri, fn: 'gup_huge_pmd', arch: 'arm64' }] });
    expect(v.result).toMatchObject({ nr: 512, slowPath: false });
    const addLine = lineOf(text, 'page_cache_add_speculative(hd, cnt)');
    expect(v.lines.find((l) => l.line === addLine)?.text).toMatch(/ref \+512/);
    const recheck = lineOf(text, 'pmd_val(was) != pmd_val(*pm_at)');
    expect(v.lines.some((l) => l.line === recheck)).toBe(true);
    expect(v.engine).toBe('your code');
    expect(v.trace.some((t) => /gup_huge_pmd:\d+: REF if \(!page_cache_add_speculative\(hd, cnt\)\)/.test(t))).toBe(true);
    const na = await conn.sendRequest<ReplayView>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ uri, fn: 'gup_pte_range', arch: 'x86-pae', scenario: 'huge-pud-1g' }] });
    expect(na.na).toMatch(/needs x86-64 or arm64/);
  });

  it('executeCommand replay with picture: false answers the same lines without the SVG (the trace view asks for it when shown)', async () => {
    const args = { uri, fn: 'gup_huge_pmd', arch: 'arm64' };
    const drawn = await conn.sendRequest<ReplayView>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [args] });
    const bare = await conn.sendRequest<ReplayView>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ ...args, picture: false }] });
    expect(drawn.svg).toMatch(/^<svg[\s\S]*pmd/);
    expect(bare.svg).toBeUndefined();
    expect(bare.lines).toEqual(drawn.lines);
    expect(bare.trace).toEqual(drawn.trace);
  });

  it('re-maps an edited buffer: lines inserted above move the lenses', async () => {
    const edited = '/* one */\n/* two */\n/* three */\n' + text;
    await conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [{ text: edited }] });
    const ls = await lenses(uri);
    expect(ls[0].range.start.line).toBe(lineOf(text, 'static int gup_pte_range(') + 3);
  });

  it('executeCommand explore: a counterexample from the race explorer', async () => {
    const r = await conn.sendRequest<{ verdict: string; trace: string[] }>('workspace/executeCommand', { command: 'gup-lens.server.explore', arguments: [{ scenario: 'race-pte-changed' }] });
    expect(r.verdict).toBe('violation');
    expect(r.trace.length).toBeGreaterThan(5);
  });

  it('executeCommand explore with a uri: the verdict is about this file, the versions\' verdicts beside it', async () => {
    const r = await conn.sendRequest<ExploreView>('workspace/executeCommand', { command: 'gup-lens.server.explore', arguments: [{ scenario: 'race-pte-changed', uri }] });
    // the fixture's slow path calls a helper it does not define: where an interleaving reaches it, the model answers
    expect(r.engine).toMatch(/^model generic-2014 \(this file's code stopped: unsupported: call to slow_path_rest\(\) at line \d+\)$/);
    expect(r.verdict).toBe('ok');
    expect(r.history).toEqual([
      { version: 'arm-rfc-2013', arch: 'arm-lpae', side: 'before', verdict: 'violation' },
      { version: 'generic-2014', arch: 'arm-lpae', side: 'after', verdict: 'ok' },
    ]);
    const arm = join(corpus, 'arm-rfc-2013.arch-arm-mm-gup.c');
    if (!existsSync(arm)) return;
    const u = 'file:///corpus-explore/arm.c';
    await open(u, readFileSync(arm, 'utf8'));
    const bad = await conn.sendRequest<ExploreView>('workspace/executeCommand', { command: 'gup-lens.server.explore', arguments: [{ scenario: 'race-pte-changed', uri: u }] });
    expect(bad).toMatchObject({ engine: 'this file', verdict: 'violation', invariant: 'ref-on-freed-page' });
  });

  it('a race whose actor cannot meet this file\'s era is answered "n/a" with the reason, never a false violation', async () => {
    const u = 'file:///eras/gup-6.10.c';
    await open(u, fixture('eras/gup-6.10-shape.c'));
    const r = await conn.sendRequest<ExploreView>('workspace/executeCommand', { command: 'gup-lens.server.explore', arguments: [{ scenario: 'race-thp-split-no-ipi', arch: 'arm64', uri: u }] });
    expect(r.verdict).toBe('n/a');
    expect(r.message).toMatch(/THP split of before 4\.5 .* only meets walkers of before 4\.5/);
    expect(r.history?.map((h) => h.verdict)).toEqual(['violation', 'ok']);
  });

  it("a race asked of a file with no GUP-fast code is n/a for that file, not a model's verdict read as its own", async () => {
    const u = 'file:///slow-only/mm/gup.c';
    // a tree's mm/gup.c of before the generic walker: the slow path only
    await open(u, 'long get_user_pages(unsigned long start, unsigned long nr_pages, unsigned int gup_flags, struct page **pages)\n{\n\treturn __get_user_pages(current, current->mm, start, nr_pages, gup_flags, pages, NULL, NULL);\n}\n');
    const r = await conn.sendRequest<ExploreView>('workspace/executeCommand', { command: 'gup-lens.server.explore', arguments: [{ scenario: 'race-pte-changed', uri: u }] });
    expect(r).toMatchObject({ verdict: 'n/a', engine: 'this file', states: 0 });
    expect(r.message).toMatch(/no GUP-fast function/);
    // a model named for it still runs, as that model
    const m = await conn.sendRequest<ExploreView>('workspace/executeCommand', { command: 'gup-lens.server.explore', arguments: [{ scenario: 'race-pte-changed', uri: u, version: 'arm-rfc-2013', arch: 'arm-lpae' }] });
    expect(m).toMatchObject({ verdict: 'violation', engine: 'model arm-rfc-2013' });
  });

  it('hover on a GUP-fast helper of the file that no model names (a release\'s or a vendor\'s own): its replay, like a model name\'s', async () => {
    const u = 'file:///eras/gup-6.10-hover.c';
    const text = fixture('eras/gup-6.10-shape.c');
    await open(u, text);
    await lenses(u);
    for (const fn of ['gup_fast_folio_allowed', 'pte_usable']) {
      const line = lineOf(text, `static int ${fn}(`);
      const h = await hover(u, line, text.split('\n')[line].indexOf(fn) + 2);
      const md = (h!.contents as { value: string }).value;
      expect(md).toMatch(new RegExp(`### ${fn} — \`folio-6x\``));
      expect(md).toMatch(/\*\*x86-64\*\* \(your code\): walked/);
    }
    // a replay no built-in scenario makes names no engine: nothing ran
    const un = await conn.sendRequest<ReplayView>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ uri: u, fn: 'gup_fast_unpin_user_pages', arch: 'x86-64', picture: false }] });
    expect(un.na).toMatch(/no built-in scenario executes gup_fast_unpin_user_pages\(\) on x86-64/);
    expect(un.engine).toBeUndefined();
  });

  it("hover's races: the model's claims that can meet this file's code (a 4.5+ file has no splitting bit for the pre-4.5 split race), each link exploring the file's own code", async () => {
    const u = 'file:///eras/gup-4.9-hover.c';
    const md = await hoverText(u, fixture('eras/gup-4.9-shape.c'), 'static int gup_huge_pmd(', 'gup_huge_pmd');
    expect(md).toMatch(/### gup_huge_pmd — `generic-2014`/);
    expect(md).toMatch(/\*\*Races\*\* \(`generic-2014`'s, those that can meet this file's code/);
    expect(md).toMatch(/fixes: .*race-table-free/);
    // generic-2014 (3.18-4.4) fixes race-thp-split-no-ipi, a race of the splitting protocol 4.5 removed
    expect(md).not.toMatch(/race-thp-split-no-ipi/);
    const links = [...md.matchAll(/command:gup-lens\.explore\?([^)]+)\)/g)].map((m) => JSON.parse(decodeURIComponent(m[1]))[0]);
    expect(links.length).toBeGreaterThan(3);
    for (const l of links) expect(l).toMatchObject({ uri: u, scenario: expect.stringMatching(/^race-/) });
  });

  it("hover on another arch's own walker (arch/s390/mm/gup.c): n/a on every arch, and no race of the model offered as if it were this file's", async () => {
    const md = await hoverText('file:///tree/arch/s390/mm/gup.c', fixture('eras/gup-4.9-shape.c'), 'static int gup_huge_pmd(', 'gup_huge_pmd');
    for (const arch of ['x86-64', 'PAE', 'ARM LPAE', 'arm64']) expect(md).toMatch(new RegExp(`- \\*\\*${arch}\\*\\*: n/a — this file is s390's own GUP-fast walker`));
    expect(md).not.toMatch(/Races|command:gup-lens\.explore/);
  });

  it('hover on a call into the slow path (or on a definition of one) says it is the built-in slow path, not the file\'s code; the same name in a file without GUP-fast code gets none', async () => {
    const md = await hoverText('file:///eras/gup-5.10-slow.c', fixture('eras/gup-5.10-shape.c'), 'slow = __gup_longterm_unlocked(', '__gup_longterm_unlocked');
    expect(md).toMatch(/^### __gup_longterm_unlocked — slow path: built-in/);
    expect(md).toMatch(/what it falls back to is the emulator's model of GUP under mmap_lock .* not this file's definition/);
    const other = 'file:///driver/pin.c';
    const drv = 'static long pin(unsigned long va, struct page **out)\n{\n\treturn __gup_longterm_unlocked(va, 1, out, 0);\n}\n';
    await open(other, drv);
    expect(await hover(other, 2, 10)).toBeNull();
  });

  it("hover on a file whose own release is older than its model's (a 5.10.y tree with 5.11's write_protect_seq backported): the model is said to be the nearest to its backports' code", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-tree-'));
    mkdirSync(join(dir, 'mm'));
    writeFileSync(join(dir, 'Makefile'), 'VERSION = 5\nPATCHLEVEL = 10\nSUBLEVEL = 44\nEXTRAVERSION =\nNAME = a release of the 5.10 line\n');
    const text = fixture('eras/gup-5.10-shape.c');
    const file = join(dir, 'mm/gup.c');
    writeFileSync(file, text);
    const md = await hoverText(pathToFileURL(file).toString(), text, 'static int gup_huge_pmd(', 'gup_huge_pmd');
    expect(md).toMatch(/This file: \*\*5\.10\.44 \(its tree's Makefile; the code of 5\.11–5\.17, backported to 5\.10\.y\)\*\*/);
    expect(md).toMatch(/· model \(the nearest to its backports' code; the file's own release is older\): /);
    // the same code with no tree to place it: its model is its release's
    const md2 = await hoverText('file:///eras/gup-5.10-bare.c', text, 'static int gup_huge_pmd(', 'gup_huge_pmd');
    expect(md2).toMatch(/\) · model: /);
  });

  it('a didOpen without text opens an empty document: no lenses, no error', async () => {
    const u = 'file:///robust/no-text.c';
    await conn.sendNotification('textDocument/didOpen', { textDocument: { uri: u, languageId: 'c', version: ++version } });
    await expect(lenses(u)).resolves.toEqual([]);
  });

  it('lone CR line ends count as lines (LSP): lenses land where they do with LF', async () => {
    const text = fixture('gup-2014-shape.c');
    await open('file:///robust/lf.c', text);
    await open('file:///robust/cr.c', text.replace(/\n/g, '\r'));
    const at = (ls: CodeLens[]) => ls.map((l) => `${l.range.start.line}:${l.command!.title.replace(/ \(.*\)/, '')}`).sort();
    // once both are compiled (the #else stub's lens goes), the lenses sit on the same lines
    const stub = lineOf(text, 'static inline int gup_pte_range(');
    const settled = async (u: string) => {
      for (let i = 0; i < 200; i++) {
        const ls = await lenses(u);
        if (ls.length && !ls.some((l) => l.range.start.line === stub)) return ls;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error(`${u}: lenses never settled`);
    };
    const lf = await settled('file:///robust/lf.c');
    expect(lf.length).toBeGreaterThan(0);
    expect(at(await settled('file:///robust/cr.c'))).toEqual(at(lf));
  });

  it("a tree's mm/gup.c without GUP-fast code (x86 walks with arch/x86/mm/gup.c): one label lens that says so and names the walker; the same text elsewhere stays quiet", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-tree-'));
    mkdirSync(join(dir, 'mm'));
    mkdirSync(join(dir, 'arch/x86/mm'), { recursive: true });
    writeFileSync(join(dir, 'arch/x86/mm/gup.c'), fixture('eras/x86-2008-shape.c'));
    const slow = 'long __get_user_pages(struct task_struct *tsk, struct mm_struct *mm, unsigned long start, unsigned long nr_pages)\n{\n\treturn 0;\n}\n';
    const file = join(dir, 'mm/gup.c');
    writeFileSync(file, slow);
    const u = pathToFileURL(file).toString();
    await open(u, slow);
    const said = await lenses(u);
    expect(said.map((l) => [l.range.start.line, l.command?.title, l.command?.command])).toEqual([
      [0, 'gup-lens: no GUP-fast code in this file (get_user_pages_fast and its walkers); arch/x86/mm/gup.c in this tree is the GUP-fast walker of x86', ''],
    ]);
    await open('file:///x/slow.c', slow);
    expect(await lenses('file:///x/slow.c')).toEqual([]);
  });

  it('no lenses, no crash: a non-gup file, an empty file, garbage; over 4 MB, a lens that says why', async () => {
    const cases: [string, string][] = [
      ['file:///x/not-gup.c', fixture('not-gup.c')],
      ['file:///x/empty.c', ''],
      ['file:///x/garbage.c', Array.from({ length: 20000 }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join('') + '\u0000\uffff{{{(((;;'],
    ];
    for (const [u, t] of cases) {
      await open(u, t);
      expect(await lenses(u), u).toEqual([]);
      expect(await hover(u, 0, 1)).toBeNull();
    }
    const big = 'file:///x/big.c';
    await open(big, fixture('gup-2014-shape.c') + 'int x;\n'.repeat(1_500_000));
    const said = await lenses(big);
    expect(said.map((l) => [l.range.start.line, l.command?.title, l.command?.command])).toEqual([[0, 'gup-lens: this file is 10.0 MB; lenses and hovers are for files up to 4 MB', '']]);
    expect(await hover(big, lineOf(fixture('gup-2014-shape.c'), 'gup_pte_range('), 12)).toBeNull();
    // still alive and answering
    expect((await lenses(uri)).length).toBeGreaterThan(0);
  }, 60_000);

  it('the version setting overrides the fingerprint (and back to auto)', async () => {
    const fpOf = () => notes.filter((n) => n.method === 'gupLens/fingerprint' && (n.params as { uri: string }).uri === uri).pop()?.params as { version: string; overridden: boolean };
    settings = { version: 'foll-pin-2020' };
    await conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await new Promise((r) => setTimeout(r, 400));
    expect(fpOf()).toMatchObject({ version: 'foll-pin-2020', overridden: true });
    // the model changes, the file's functions do not: a function get_user_pages_fast reaches keeps its lens
    // (__get_user_pages_fast is no foll-pin-2020 function, but this file's walk goes through it)
    const fns = new Set((await lenses(uri)).map((l) => (l.command!.arguments![0] as { fn: string }).fn));
    expect(fns.has('gup_pte_range')).toBe(true);
    expect(fns.has('__get_user_pages_fast')).toBe(true);
    settings = { version: 'auto' };
    await conn.sendNotification('workspace/didChangeConfiguration', { settings: {} });
    await new Promise((r) => setTimeout(r, 400));
    expect(fpOf()).toMatchObject({ version: 'generic-2014', overridden: false });
  });

  it('a file\'s own choice of model (from the status bar) applies to that file only, and the fingerprint\'s scores come with it', async () => {
    const other = 'file:///robust/other-2014.c';
    await open(other, text);
    const fpOf = (u: string) => notes.filter((n) => n.method === 'gupLens/fingerprint' && (n.params as { uri: string }).uri === u).pop()?.params as { version: string; overridden: boolean; chosenBy?: string; scores?: { id: string; score: number }[] };
    await until(() => !!fpOf(other));
    const scores = fpOf(other).scores!;
    expect(scores[0].id).toBe('generic-2014');
    expect(scores.map((x) => x.score)).toEqual([...scores.map((x) => x.score)].sort((a, b) => b - a));
    await conn.sendNotification('gupLens/setFileVersion', { uri, version: 'foll-pin-2020' });
    await until(() => fpOf(uri)?.version === 'foll-pin-2020');
    expect(fpOf(uri)).toMatchObject({ overridden: true, chosenBy: 'file' });
    const fns = new Set((await lenses(uri)).map((l) => (l.command!.arguments![0] as { fn: string }).fn));
    expect(fns.has('__get_user_pages_fast')).toBe(true);
    // the other file keeps its fingerprint
    expect(fpOf(other)).toMatchObject({ version: 'generic-2014', overridden: false });
    expect(new Set((await lenses(other)).map((l) => (l.command!.arguments![0] as { fn: string }).fn)).has('__get_user_pages_fast')).toBe(true);
    // an unknown id is ignored; auto gives the file back to its fingerprint
    await conn.sendNotification('gupLens/setFileVersion', { uri, version: 'linux-0.01' });
    await conn.sendNotification('gupLens/setFileVersion', { uri, version: 'auto' });
    await until(() => fpOf(uri)?.version === 'generic-2014');
    expect(fpOf(uri)).toMatchObject({ overridden: false });
  });

  it('bad command arguments answer with an error, not a crash', async () => {
    const r = await conn.sendRequest<{ error: string }>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ uri, fn: 'gup_pte_range', arch: 'vax' }] });
    expect(r.error).toMatch(/unknown arch 'vax'/);
    const r2 = await conn.sendRequest<{ error: string }>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [] });
    expect(r2.error).toMatch(/not open/);
  });
});

describe('inline values on x86 PAE', () => {
  it('each 32-bit half shows its own value, and a statement counts once per execution (16 ptes: x16)', async () => {
    const text = fixture('eras/x86-2008-shape.c');
    const u = 'file:///inline/x86-2008.c';
    await open(u, text);
    const v = await conn.sendRequest<ReplayView>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ uri: u, fn: 'gup_pte_range', arch: 'x86-pae', scenario: 'pages-4k-16' }] });
    const at = (needle: string) => v.lines.find((l) => l.line === lineOf(text, needle))!;
    expect(at('v.pte_low = at->pte_low;').text).toMatch(/^pte low half=0x[0-9a-f]{8}$/);
    expect(at('v.pte_high = at->pte_high;').text).toMatch(/^pte high half=0x[0-9a-f]{8}$/);
    expect(at('v.pte_high = at->pte_high;').hits).toBe(16);
    expect(at('if (likely(at->pte_low == v.pte_low))').hits).toBe(16);
    // a 64-bit pmd read as two halves on one line shows the whole entry
    expect(at('pmd_t pmv = *at;').text).toMatch(/^pmd=0x[0-9a-f]{16} /);
  });
});

describe('races on an arch file (arch/x86/mm/gup.c)', () => {
  const text = fixture('eras/x86-2008-shape.c');
  const u = 'file:///tree/arch/x86/mm/gup.c';
  const exploreOn = (args: Record<string, unknown>) => conn.sendRequest<ExploreView>('workspace/executeCommand', { command: 'gup-lens.server.explore', arguments: [{ uri: u, ...args }] });

  it('hover on gup_get_pte, whose PAE reads are halves: both arches summed up', async () => {
    await open(u, text);
    const line = lineOf(text, 'gup_get_pte(pte_t');
    const md = ((await hover(u, line, text.split('\n')[line].indexOf('gup_get_pte') + 2))!.contents as { value: string }).value;
    expect(md).toMatch(/### gup_get_pte — `x86-2008`/);
    expect(md).toMatch(/\*\*PAE\*\* \(your code\): walked/);
    expect(md).toMatch(/\*\*x86-64\*\* \(your code\): walked/);
    expect(md).toMatch(/\*\*arm64\*\*: n\/a/);
  });

  it('the analysis names the arches the file is built for', async () => {
    await open(u, text);
    const a = await conn.sendRequest<{ arches: string[] }>('workspace/executeCommand', { command: 'gup-lens.server.analysis', arguments: [{ uri: u }] });
    expect(a.arches).toEqual(['x86-64', 'x86-pae']);
  });

  it('a race found on ARM runs on the file\'s own x86 code when no arch is asked; asked for an ARM arch, it does not apply (never the x86 code on ARM, nor a model)', async () => {
    const r = await exploreOn({ scenario: 'race-table-free' });
    expect(r).toMatchObject({ arch: 'x86-64', engine: 'this file' });
    expect(['ok', 'violation']).toContain(r.verdict);
    const arm = await exploreOn({ scenario: 'race-table-free', arch: 'arm-lpae' });
    expect(arm).toMatchObject({ verdict: 'n/a', engine: 'this file' });
    expect(arm.message).toMatch(/not for this arch: this file's code is for x86-64, x86-pae/);
    // a race that meets none of the file's arches
    expect(await exploreOn({ scenario: 'race-compound-head-split' })).toMatchObject({ verdict: 'n/a', arch: 'arm64' });
  });
});

describe('coverage of an open file by the whole catalog', () => {
  it('the coverage command answers per function; then each function has a Coverage lens and a statement\'s hover names its scenarios', async () => {
    const text = fixture('eras/gup-6.10-shape.c');
    const u = 'file:///coverage/gup-6x.c';
    await open(u, text);
    const c = await conn.sendRequest<{ functions: { name: string; branches: { run: number; total: number }; statements: number[]; ranBy: Record<number, string[]> }[]; summary: { percent: number } }>('workspace/executeCommand', { command: 'gup-lens.server.coverage', arguments: [{ uri: u }] });
    expect(c.summary.percent).toBeGreaterThan(50);
    const pte = c.functions.find((f) => f.name === 'gup_fast_pte_range')!;
    expect(pte.branches.run).toBeGreaterThan(0);
    const ls = await lenses(u);
    const at = lineOf(text, 'static int gup_fast_pte_range(');
    expect(ls.filter((l) => l.range.start.line === at).map((l) => l.command!.title)).toContainEqual(expect.stringMatching(/^Coverage: \d+ of \d+ decision outcomes, \d+ of \d+ lines$/));
    const ran = Number(Object.keys(pte.ranBy)[0]);
    const h = await hover(u, ran - 1, 1);
    expect((h!.contents as { value: string }).value).toMatch(/^\*\*gup-lens coverage\*\*: run by `[a-z0-9-]+ on (x86-64|x86-pae|arm-lpae|arm64)`/);
  }, 60_000);

  it("a function runs stop in (a read of a local nothing set): its Coverage lens's text says where and why, beside what was never reached", async () => {
    const g49 = fixture('eras/gup-4.9-shape.c');
    const early = g49.replace('\thd = pmd_page(seen);\n\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);', '\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);\n\thd = pmd_page(seen);');
    expect(early).not.toBe(g49);
    const u = 'file:///coverage/early/gup.c';
    await open(u, early);
    await conn.sendRequest('workspace/executeCommand', { command: 'gup-lens.server.coverage', arguments: [{ uri: u }] });
    const at = lineOf(early, 'static int gup_huge_pmd(');
    const lens = (await lenses(u)).find((l) => l.range.start.line === at && /^Coverage: /.test(l.command!.title))!;
    const shown = (lens.command!.arguments![0] as { text: string }).text;
    expect(shown).toMatch(new RegExp(`; runs stop: line ${lineOf(early, 'pg = hd + ((va') + 1} read hd before anything set it \\(an uninitialised local has no value in C\\) \\(\\d+ runs?\\)$`));
  }, 60_000);
});

describe.skipIf(!existsSync(corpus))('a patch under review (the 2013 ARM RFC as mailed)', () => {
  it('says the review is under way, then puts its lenses on the mail and on each touched function\'s hunk, with a reply to copy', async () => {
    const text = readFileSync(join(corpus, 'arm-rfc-2013.patch'), 'utf8');
    const u = 'file:///review/arm-rfc-2013.patch';
    const before = refreshes;
    await open(u, text, 'diff');
    const first = await lenses(u);
    expect(first.map((l) => l.command!.title)).toEqual([expect.stringMatching(/reviewing this patch/)]);
    // the functions come first, the races after them: the client is asked again for each
    await until(() => refreshes > before, 60_000);
    const quick = (await lenses(u)).map((l) => l.command!.title);
    expect(quick[0]).toMatch(/GUP-fast function\(s\) · (exploring the races…|introduces)/);
    await until(() => refreshes > before + 1, 60_000);
    const ls = await lenses(u);
    const titles = ls.map((l) => l.command!.title);
    expect(titles[0]).toMatch(/^gup-lens: base none · \d+ GUP-fast function\(s\) · introduces a violation of .*race-pte-changed/);
    const hunk = lineOf(text, '@@ -0,0 +1,330 @@');
    const at = ls.filter((l) => l.range.start.line === hunk).map((l) => l.command!.title);
    expect(at).toEqual(expect.arrayContaining([expect.stringMatching(/^gup_get_pte: Before \| After: - → nr=16 \(ARM LPAE\)$/), expect.stringMatching(/^Races: before → after: introduces a violation of .*race-table-free/), 'Copy as reply']));
    const reply = ls.find((l) => l.range.start.line === hunk && l.command!.title === 'Copy as reply')!.command!.arguments![0] as { text: string };
    expect(reply.text).toMatch(/^On the patch ".*", in arch\/arm\/mm\/gup\.c:\n\n> @@ -0,0 \+1,330 @@/);
    expect(reply.text).toMatch(/\n> \+static inline pte_t gup_get_pte\(pte_t \*ptep\)\n/);
    expect(reply.text).toMatch(/This introduces a violation of race-pte-changed on arm-lpae/);
    expect(reply.text).toMatch(/CPU 0 \(gup\)/);
  }, 90_000);
});

describe('a patch inside a kernel tree that is not a git repository (a source package)', () => {
  /** A tree without git holding `path` at `before` (and a header that marks its root), the patch to `after` opened from inside it: its lenses once the races are explored. */
  async function reviewedInTree(path: string, before: string, after: string, subject: string, saved?: { as: string; wrap: (mail: string) => string }): Promise<CodeLens[]> {
    const tree = mkdtempSync(join(tmpdir(), 'gup-lsp-plain-'));
    mkdirSync(join(tree, 'include/linux'), { recursive: true });
    mkdirSync(join(tree, dirname(path)), { recursive: true });
    writeFileSync(join(tree, 'include/linux/mm.h'), '/* the tree\'s own header */\n');
    writeFileSync(join(tree, path), before);
    const mail = `Subject: [PATCH] ${subject}\n\n---\n${createTwoFilesPatch(`a/${path}`, `b/${path}`, before, after)}`;
    const text = saved ? saved.wrap(mail) : mail;
    const file = join(tree, saved ? saved.as : 'fix.patch');
    writeFileSync(file, text);
    const u = pathToFileURL(file).href;
    const start = refreshes;
    await open(u, text, saved ? 'plaintext' : 'diff');
    await lenses(u);
    await until(() => refreshes > start + 1, 90_000);
    return lenses(u);
  }

  it('is reviewed against the tree\'s files as they stand', async () => {
    const before = fixture('eras/gup-6.1-shape.c');
    const after = before.replace('pmd_t pmv = READ_ONCE(*pm_at);', 'pmd_t pmv = pmdp_get_lockless(pm_at);');
    const titles = (await reviewedInTree('mm/gup.c', before, after, 'mm/gup: read pmds whole')).map((l) => l.command!.title);
    expect(titles[0]).toMatch(/^gup-lens: base head · 1 GUP-fast function\(s\) · fixes .*race-pae-torn-pmd/);
  }, 120_000);

  it('a mail saved with its body in base64 (VS Code opens an .eml as plain text) is reviewed as the patch it carries', async () => {
    const before = fixture('eras/gup-6.1-shape.c');
    const after = before.replace('pmd_t pmv = READ_ONCE(*pm_at);', 'pmd_t pmv = pmdp_get_lockless(pm_at);');
    const wrap = (mail: string) => {
      const at = mail.indexOf('\n\n');
      return `${mail.slice(0, at)}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: base64\n\n${Buffer.from(mail.slice(at + 2)).toString('base64').replace(/(.{76})/g, '$1\n')}\n`;
    };
    const titles = (await reviewedInTree('mm/gup.c', before, after, 'mm/gup: read pmds whole', { as: 'fix.eml', wrap })).map((l) => l.command!.title);
    expect(titles[0]).toMatch(/^gup-lens: base head · 1 GUP-fast function\(s\) · fixes .*race-pae-torn-pmd/);
  }, 120_000);

  it('a patch whose change only a built-in scenario shows (rounding an unaligned start down): the mail\'s lens counts it, its text lists it', async () => {
    const after = fixture('eras/x86-2008-shape.c');
    const before = after.replace('va = start & PAGE_MASK;', 'va = start;');
    const mailLens = (await reviewedInTree('arch/x86/mm/gup.c', before, after, 'x86: round a non-page-aligned start down'))[0].command!;
    expect(mailLens.title).toMatch(/; 1 built-in scenario\(s\) change outcome$/);
    expect((mailLens.arguments![0] as { text: string }).text).toMatch(/built-in scenarios whose outcome changes:\n {2}unaligned-cross-pmd +x86-64 +nr=8 ret=8 overrun\(pte table\[512\]\) refs\+8 -> nr=8 ret=8 refs\+8/);
  }, 120_000);
});

describe.skipIf(!existsSync(corpus))('on the real kernel text rebuilt in ../shared/corpus', () => {
  for (const [file, version, fns] of [
    ['arm-rfc-2013.arch-arm-mm-gup.c', 'arm-rfc-2013', ['gup_get_pte', 'gup_pte_range', 'gup_huge_pmd', 'gup_pmd_range', 'gup_huge_pud', 'gup_pud_range', 'get_user_pages_fast']],
    ['generic-2014.mm-gup-fast-part.c', 'generic-2014', ['gup_pte_range', 'gup_huge_pmd', 'gup_huge_pud', 'gup_pmd_range', 'gup_pud_range', '__get_user_pages_fast', 'get_user_pages_fast']],
  ] as const) {
    it(`${file}: fingerprinted ${version}, lenses on every GUP-fast function, traces on its lines`, async () => {
      const text = readFileSync(join(corpus, file), 'utf8');
      const u = `file:///corpus/${file}`;
      await open(u, text);
      const ls = await lenses(u);
      const named = new Set(ls.map((l) => (l.command!.arguments![0] as { fn: string }).fn));
      for (const fn of fns) expect(named.has(fn), fn).toBe(true);
      const info = await conn.sendRequest<{ version: string; functions: { name: string; startLine: number; endLine: number }[] }>('workspace/executeCommand', { command: 'gup-lens.server.analysis', arguments: [{ uri: u }] });
      expect(info.version).toBe(version);
      const nLines = text.split('\n').length;
      for (const fn of fns) {
        // the 2013 RFC was for 32-bit ARM only (never arm64): its own arch
        const arch = version === 'arm-rfc-2013' ? 'arm-lpae' : 'arm64';
        const v = await conn.sendRequest<ReplayView>('workspace/executeCommand', { command: 'gup-lens.server.replay', arguments: [{ uri: u, fn, arch }] });
        expect(v.version).toBe(version);
        if (version === 'arm-rfc-2013' && fn === 'gup_huge_pud') {
          // 32-bit ARM has no pud level that maps pages: nothing can run it, and the replay says so
          expect(v.na).toMatch(/no built-in scenario executes gup_huge_pud\(\) on arm-lpae/);
          continue;
        }
        const range = info.functions.find((f) => f.name === fn)!;
        // the replay's steps of this function land on lines of this function
        const own = v.lines.filter((l) => l.line >= range.startLine && l.line <= range.endLine);
        expect(own.length, fn).toBeGreaterThan(0);
        for (const l of v.lines) expect(l.line).toBeLessThan(nLines);
      }
    });
  }
});

describe('unknown names as diagnostics, with a quick fix', () => {
  type Diag = { range: { start: { line: number } }; message: string; code?: string; data?: { name: string } };
  const latest = (u: string) => {
    const all = notes.filter((n) => n.method === 'textDocument/publishDiagnostics' && (n.params as { uri: string }).uri === u);
    return all.length ? ((all[all.length - 1].params as { diagnostics: Diag[] }).diagnostics) : undefined;
  };
  const text = fixture('eras/gup-4.9-shape.c');
  const at = lineOf(text, 'vendor_gup_account(current');

  it('a vendor call made for its effect: taken as doing nothing, said on its line, with a stub to say otherwise', async () => {
    const u = 'file:///fixtures/eras/assumed/gup.c';
    await open(u, text);
    await lenses(u);
    await until(() => !!latest(u)?.some((d) => d.range.start.line === at), 20_000);
    const d = latest(u)!.find((x) => x.range.start.line === at)!;
    expect(d.message).toMatch(/vendor_gup_account\(\) is not in the kernel-API census .* its value is unused: runs that reach it on .* take it as doing nothing/);
    expect(d).toMatchObject({ code: 'gup-lens.unknown-call', data: { name: 'vendor_gup_account' } });
    const fixes = await conn.sendRequest<{ title: string }[]>('textDocument/codeAction', { textDocument: { uri: u }, range: d.range, context: { diagnostics: [d] } });
    expect(fixes.map((f) => f.title).join('\n')).toMatch(/vendor_gup_account/);
  }, 30_000);

  it('one whose value the walk needs: runs reaching it stop there and the model runs instead', async () => {
    const u = 'file:///fixtures/eras/needed/gup.c';
    await open(u, text.replace('vendor_gup_account(current, nr_pages);', 'if (vendor_gup_account(current, nr_pages)) return 0;'));
    await lenses(u);
    await until(() => !!latest(u)?.some((d) => d.range.start.line === at), 20_000);
    expect(latest(u)!.find((x) => x.range.start.line === at)!.message).toMatch(/runs that reach it on .* stop here and the model runs instead/);
  }, 30_000);

  it("a local the file's own code reads before anything set it: a warning on that line, naming the local and the runs that met it (a bug whatever the caller passes)", async () => {
    const u = 'file:///fixtures/eras/uninit/gup.c';
    const early = text.replace('\thd = pmd_page(seen);\n\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);', '\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);\n\thd = pmd_page(seen);');
    expect(early).not.toBe(text);
    const at = lineOf(early, 'pg = hd + ((va');
    await open(u, early);
    await lenses(u);
    await until(() => !!latest(u)?.some((d) => d.range.start.line === at), 20_000);
    const d = latest(u)!.find((x) => x.range.start.line === at)! as Diag & { severity?: number };
    expect(d.message).toMatch(new RegExp(`^gup-lens: line ${at + 1} read hd before anything set it \\(an uninitialised local has no value in C\\); the call stops there \\(thp-pmd on `));
    expect(d.severity).toBe(2);
    // the file as written has none
    const ok = 'file:///fixtures/eras/uninit-ok/gup.c';
    await open(ok, text);
    await lenses(ok);
    await until(() => latest(ok) !== undefined, 20_000);
    expect(latest(ok)!.some((x) => /before anything set it/.test(x.message))).toBe(false);
  }, 30_000);

  it('a global of a header the tree does not give: runs stop there, and the quick fix gives it 0 or 1', async () => {
    const u = 'file:///fixtures/eras/global/gup.c';
    await open(u, text.replace('vendor_gup_account(current, nr_pages);', 'if (vendor_gup_disabled)\n\t\treturn 0;'));
    await lenses(u);
    await until(() => !!latest(u)?.some((d) => d.range.start.line === at), 20_000);
    const d = latest(u)!.find((x) => x.range.start.line === at)!;
    expect(d.message).toMatch(/vendor_gup_disabled is not bound by the census .* stop here .* A quick fix can give it a value/);
    expect(d).toMatchObject({ code: 'gup-lens.unknown-call', data: { name: 'vendor_gup_disabled', value: true } });
    const fixes = await conn.sendRequest<{ title: string; command: { arguments: { value: string }[] } }[]>('textDocument/codeAction', { textDocument: { uri: u }, range: d.range, context: { diagnostics: [d] } });
    expect(fixes.map((f) => f.title)).toEqual(['gup-lens: take vendor_gup_disabled as 0 in this workspace', 'gup-lens: take vendor_gup_disabled as 1 in this workspace']);
    expect(fixes.map((f) => f.command.arguments[0].value)).toEqual(['0', '1']);
  }, 30_000);

  it('a field of the arch\'s per-mm state (a vendor\'s mm->context flag), or one the tree adds to mm_struct: read as 0, said on its line, no quick fix to offer', async () => {
    const u = 'file:///fixtures/eras/context/arch/x86/mm/gup.c';
    const x86 = fixture('eras/x86-2008-shape.c').replace('\t/* with interrupts off, no TLB-flush IPI can finish', '\tif (unlikely(mm->context.foreign_maps))\n\t\tgoto slow_irqon;\n\n\t/* with interrupts off, no TLB-flush IPI can finish');
    const where = lineOf(x86, 'mm->context.foreign_maps');
    await open(u, x86);
    await lenses(u);
    await until(() => !!latest(u)?.some((d) => d.range.start.line === where), 20_000);
    const d = latest(u)!.find((x) => x.range.start.line === where)!;
    expect(d.message).toMatch(/mm->context\.foreign_maps is the arch's own per-mm state, which gup-lens does not model: runs that reach it on x86-64, PAE read it as 0/);
    expect(d.code).toBeUndefined();
    // a field the tree adds to mm_struct itself is said as such
    const u2 = 'file:///fixtures/eras/mmfield/arch/x86/mm/gup.c';
    const added = x86.replace('mm->context.foreign_maps', 'mm->lazy_repl_enabled');
    const at = lineOf(added, 'mm->lazy_repl_enabled');
    await open(u2, added);
    await lenses(u2);
    await until(() => !!latest(u2)?.some((x) => x.range.start.line === at), 20_000);
    expect(latest(u2)!.find((x) => x.range.start.line === at)!.message).toMatch(/mm->lazy_repl_enabled is a field this tree adds to mm_struct, which gup-lens does not model: runs that reach it on x86-64, PAE read it as 0/);
  }, 30_000);
});
