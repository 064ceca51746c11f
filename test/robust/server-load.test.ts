/**
 * The language server under the loads issue 13 lists, over stdio: edits far past the end, hovers
 * that need no parse, a document of megabytes beside a small one, a change that cancels a parse
 * under way, and a function nested thousands of blocks deep.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import type { CodeLens, Hover } from 'vscode-languageserver-protocol';
import { SERVER_EXEC_ARGV } from '../../server/protocol';

const root = join(__dirname, '../..');
const serverJs = join(root, 'dist/server.js');
const fixture = readFileSync(join(root, 'test/fixtures/gup-2014-shape.c'), 'utf8');
const lineOf = (text: string, needle: string) => text.split('\n').findIndex((l) => l.includes(needle));

let proc: ChildProcess;
let conn: MessageConnection;
let version = 0;

const open = (uri: string, text: string) => conn.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'c', version: ++version, text } });
const change = (uri: string, range: unknown, text: string) => conn.sendNotification('textDocument/didChange', { textDocument: { uri, version: ++version }, contentChanges: [{ range, text }] });
const lenses = (uri: string) => conn.sendRequest<CodeLens[]>('textDocument/codeLens', { textDocument: { uri } });
const hover = (uri: string, line: number, character: number) => conn.sendRequest<Hover | null>('textDocument/hover', { textDocument: { uri }, position: { line, character } });
const parses = async () => (await conn.sendRequest<{ outlineParses: number; bigParses: number }>('gupLens/memory'));
const functionsOf = async (uri: string) =>
  (await conn.sendRequest<{ functions: { name: string; startLine: number }[] } | null>('workspace/executeCommand', { command: 'gup-lens.server.analysis', arguments: [{ uri }] }))?.functions ?? [];

beforeAll(async () => {
  if (!existsSync(serverJs)) throw new Error('dist/server.js is missing: run `npm run build` first');
  proc = spawn(process.execPath, [...SERVER_EXEC_ARGV, serverJs, '--stdio'], { stdio: ['pipe', 'pipe', 'inherit'] });
  conn = createMessageConnection(new StreamMessageReader(proc.stdout!), new StreamMessageWriter(proc.stdin!));
  conn.onRequest('workspace/codeLens/refresh', () => null);
  conn.listen();
  await conn.sendRequest('initialize', { processId: process.pid, rootUri: null, capabilities: {} });
  await conn.sendNotification('initialized', {});
});

afterAll(async () => {
  await conn?.sendRequest('shutdown').catch(() => undefined);
  conn?.dispose();
  proc?.kill();
});

describe('the language server under load (issue 13)', () => {
  it('an edit whose range starts far past the end (line 2³¹−1, 10⁸) is applied at the end, and the server goes on answering', async () => {
    const u = 'file:///load/far.c';
    await open(u, fixture);
    const before = await functionsOf(u);
    for (const line of [2 ** 31 - 1, 1e8]) await change(u, { start: { line, character: 2 ** 31 - 1 }, end: { line, character: 5 } }, '\nint tail;\n');
    const after = await functionsOf(u);
    expect(after).toEqual(before); // nothing moved: both edits landed after the last line
    expect(after.map((f) => f.name)).toContain('gup_pte_range');
    expect((await lenses(u)).length).toBeGreaterThan(0);
  });

  it('an edit from line 2³¹−1 to 2³¹+1 with two newlines is clamped: the server lives, its memory stays under 400 MB', async () => {
    const u = 'file:///load/far2.c';
    await open(u, fixture);
    await change(u, { start: { line: 2 ** 31 - 1, character: 0 }, end: { line: 2 ** 31 + 1, character: 0 } }, '\n\n');
    expect((await functionsOf(u)).map((f) => f.name)).toContain('gup_pte_range');
    const mem = (await conn.sendRequest('gupLens/memory')) as { rss: number };
    expect(mem.rss).toBeLessThan(400 * 1024 * 1024);
  });

  it('a hover on a word no version defines needs no parse, even right after an edit; one on a GUP-fast name parses the new text', async () => {
    const u = 'file:///load/hover.c';
    await open(u, fixture);
    expect((await lenses(u)).length).toBeGreaterThan(0);
    const n0 = (await parses()).outlineParses;
    await change(u, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, '\n');
    const at = lineOf(fixture, 'pte_t *slot;') + 1;
    expect(await hover(u, at, 2)).toBeNull(); // on `pte_t`
    expect((await parses()).outlineParses).toBe(n0);
    const name = lineOf(fixture, 'static int gup_huge_pmd(') + 1;
    const h = await hover(u, name, 'static int gup_huge_pmd('.indexOf('gup_huge_pmd') + 2);
    expect(JSON.stringify(h)).toMatch(/gup_huge_pmd/);
    expect((await parses()).outlineParses).toBe(n0 + 1);
  });

  it('a C file that names no GUP-fast function is not parsed at all: no lenses', async () => {
    const n0 = (await parses()).outlineParses;
    const u = 'file:///load/other.c';
    await open(u, 'static int add(int a, int b)\n{\n\treturn a + b;\n}\n'.repeat(200));
    expect(await lenses(u)).toEqual([]);
    expect(await hover(u, 0, 12)).toBeNull();
    expect((await parses()).outlineParses).toBe(n0);
  });

  it('a document of megabytes is parsed apart: a small document\'s lenses and hover answer before its lenses do', async () => {
    // about 3 MB that the grammar must recover from all along
    const junk = Array.from({ length: 400_000 }, (_, i) => ['x(', '{', ';', ')', 'if', '*', '"a"', '}'][(i * 7) % 8]).join(' ');
    const big = 'file:///load/big.c';
    await open(big, fixture + junk + '\n' + junk + '\n');
    const order: string[] = [];
    const bigLenses = lenses(big).then((l) => (order.push('big'), l));
    const small = 'file:///load/small.c';
    await open(small, fixture);
    const smallLenses = await lenses(small);
    order.push('small lenses');
    expect(smallLenses.length).toBeGreaterThan(0);
    const h = await hover(small, lineOf(fixture, 'static int gup_huge_pmd('), 14);
    order.push('small hover');
    expect(JSON.stringify(h)).toMatch(/gup_huge_pmd/);
    expect((await bigLenses).length).toBeGreaterThan(0);
    expect(order).toEqual(['small lenses', 'small hover', 'big']);
    expect((await parses()).bigParses).toBeGreaterThan(0);
  }, 60_000);

  it('a change while a long parse is under way cancels it: the old version\'s lenses come back empty, the new version\'s come', async () => {
    const junk = Array.from({ length: 400_000 }, (_, i) => ['x(', '{', ';', ')', 'if', '*', '"a"', '}'][(i * 5) % 8]).join(' ');
    const u = 'file:///load/cancel.c';
    await open(u, fixture + junk + '\n');
    const old = lenses(u);
    await new Promise((r) => setTimeout(r, 200)); // the parse has started
    await change(u, { start: { line: 0, character: 0 }, end: { line: 1e6, character: 0 } }, fixture);
    expect(await old).toEqual([]);
    const now = await lenses(u);
    expect(now.map((l) => l.range.start.line)).toContain(lineOf(fixture, 'static int gup_huge_pmd('));
  }, 60_000);

  it('a GUP-fast function nested 5,000 blocks deep: the file keeps its lenses, and the hover says why the model ran', async () => {
    const at = fixture.indexOf('{\n', fixture.indexOf('static int gup_huge_pmd(')) + 2;
    const deep = fixture.slice(0, at) + '\tif (orig) {\n'.repeat(5000) + '\t}\n'.repeat(5000) + fixture.slice(at);
    const u = 'file:///load/deep.c';
    await open(u, deep);
    const ls = await lenses(u);
    expect(ls.map((l) => l.range.start.line)).toContain(lineOf(deep, 'static int gup_huge_pmd('));
    expect(ls.map((l) => l.range.start.line)).toContain(lineOf(deep, 'static int gup_pmd_range('));
    const h = await hover(u, lineOf(deep, 'static int gup_huge_pmd('), 14);
    expect(JSON.stringify(h)).toMatch(/gup_huge_pmd\(\) nests its blocks or expressions too deep to compile/);
  }, 60_000);
});
