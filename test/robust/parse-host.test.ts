/**
 * Parsing in a worker that is retired and replaced: many documents, a worker that dies, and
 * results that stay the same whichever worker produced them (issue: the wasm heap only grows).
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ParseCancelled, ParserHost } from '../../server/analysis/parse-host';

const script = join(__dirname, '../../dist/parse-worker.js');
const text = readFileSync(join(__dirname, '../fixtures/eras/gup-6.10-shape.c'), 'utf8');
const hosts: ParserHost[] = [];
afterAll(async () => {
  for (const h of hosts) await h.close();
});

describe.skipIf(!existsSync(script))('the parse worker host (needs dist/: npm run build)', () => {
  it('retires a worker after its quota and gives the same outline from the next one', async () => {
    const h = new ParserHost(script, text.length * 2);
    hosts.push(h);
    const first = await h.file(text);
    for (let i = 0; i < 6; i++) expect(await h.file(text)).toEqual(first);
    expect(first.functions.map((f) => f.name)).toContain('gup_fast_pte_range');
    expect(h.started).toBeGreaterThanOrEqual(3);
  });

  it('a worker that dies under a request: the request is parsed once more on a new worker; the next request gets one too', async () => {
    const h = new ParserHost(script);
    hosts.push(h);
    await h.file('int a;');
    const w = (h as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots[0].worker;
    const lost = h.file(text);
    await w.terminate();
    expect((await lost).functions.length).toBeGreaterThan(5);
    const again = await h.file(text);
    expect(again.functions.length).toBeGreaterThan(5);
  });

  it('a trap in the parser (memory access out of bounds): that worker retires and the document is parsed again once on a fresh one', async () => {
    // a worker that traps on its first document and parses every one after (a fresh worker starts clean)
    const dir = mkdtempSync(join(tmpdir(), 'gup-trap-'));
    const flag = join(dir, 'trapped');
    const fake = join(dir, 'worker.js');
    writeFileSync(fake, `const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.on('message', (m) => {
  if (!fs.existsSync(${JSON.stringify(flag)})) {
    fs.writeFileSync(${JSON.stringify(flag)}, '1');
    parentPort.postMessage({ id: m.id, ok: false, error: 'memory access out of bounds' });
  } else parentPort.postMessage({ id: m.id, ok: true, value: { functions: [{ name: 'parsed_after_the_trap' }], errors: 0 } });
});`);
    const h = new ParserHost(fake);
    hosts.push(h);
    const r = await h.file('int a;');
    expect(r.functions.map((f) => f.name)).toEqual(['parsed_after_the_trap']);
    expect(h.started).toBe(2);
  });

  it('a request cancelled while it waits is never sent; one cancelled under way stops its worker; the next still parses', async () => {
    const h = new ParserHost(script);
    hosts.push(h);
    // seconds of parsing: junk the grammar must recover from, again and again
    const slow = Array.from({ length: 120_000 }, (_, i) => ['x(', '{', ';', ')', 'if', '*', '"a"', '}'][(i * 7) % 8]).join(' ');
    const first = new AbortController();
    const waiting = new AbortController();
    const busy = h.file(slow, first.signal);
    const queued = h.file(text, waiting.signal);
    const after = h.file(text);
    waiting.abort();
    await expect(queued).rejects.toBeInstanceOf(ParseCancelled);
    expect(h.sent).toBe(1); // only the slow one reached the worker
    const started = h.started;
    first.abort();
    await expect(busy).rejects.toBeInstanceOf(ParseCancelled);
    expect((await after).functions.map((f) => f.name)).toContain('gup_fast_pte_range');
    expect(h.started).toBe(started + 1); // the cancelled parse's worker was stopped, a new one answered
    expect(h.sent).toBe(2);
    // an abort after the answer changes nothing
    const done = new AbortController();
    const ok = await h.file('int a;', done.signal);
    done.abort();
    expect(ok.functions).toEqual([]);
  });

  it('a short parse cancelled under way finishes on the same worker (no restart per keystroke); its caller hears "cancelled" at once', async () => {
    const h = new ParserHost(script);
    hosts.push(h);
    await h.file('int a;');
    const started = h.started;
    const typing = new AbortController();
    const old = h.file(text, typing.signal);
    const next = h.file(text + '\n');
    typing.abort();
    await expect(old).rejects.toBeInstanceOf(ParseCancelled);
    expect((await next).functions.map((f) => f.name)).toContain('gup_fast_pte_range');
    expect(h.started).toBe(started);
    expect(h.sent).toBe(3);
  });

  it('a host of two workers parses two documents side by side, and queues the third', async () => {
    const h = new ParserHost(script, 8 * 1024 * 1024, 96, 2);
    hosts.push(h);
    const all = [h.file(text), h.file(text), h.file(text)];
    expect(h.sent).toBe(2); // two sent at once, the third waits for whichever is free first
    const outs = await Promise.all(all);
    expect(h.sent).toBe(3);
    expect(h.started).toBe(2);
    for (const o of outs) expect(o).toEqual(outs[0]);
  });

  it('a flattened tree reads back like tree-sitter\'s (types, fields, text, rows)', async () => {
    const h = new ParserHost(script);
    hosts.push(h);
    const t = await h.tree('static int f(int a)\n{\n\treturn a + 1;\n}\n');
    const fn = t.rootNode.namedChildren[0];
    expect(fn.type).toBe('function_definition');
    expect(fn.childForFieldName('declarator')!.childForFieldName('declarator')!.text).toBe('f');
    const ret = fn.childForFieldName('body')!.namedChildren[0];
    expect(ret.type).toBe('return_statement');
    expect(ret.startPosition.row).toBe(2);
    expect(ret.namedChildren[0].childForFieldName('operator')?.text ?? ret.namedChildren[0].children[1].text).toBe('+');
  });
});

describe('flatten', () => {
  it('rows and columns from the line table equal the parser\'s own, node for node', async () => {
    const { flatten } = await import('../../server/analysis/ast');
    const { getParser } = await import('../../server/analysis/parse');
    const text = readFileSync(join(__dirname, '../fixtures/eras/gup-6.10-shape.c'), 'utf8');
    const tree = (await getParser()).parse(text)!;
    try {
      const fast = flatten(tree.rootNode, text);
      const slow = flatten(tree.rootNode);
      expect(fast.nodes.length).toBeGreaterThan(1000);
      expect([...fast.nodes]).toEqual([...slow.nodes]);
      expect(fast.names).toEqual(slow.names);
    } finally {
      tree.delete();
    }
  });
});

describe('packaging', () => {
  it('the .vsix carries the parse worker (without it the server would parse in-process and keep every wasm heap)', () => {
    const allow = readFileSync(join(__dirname, '../../.vscodeignore'), 'utf8').split('\n');
    expect(allow).toContain('!dist/parse-worker.js');
    expect(allow).toContain('!dist/server.js');
  });

  it('the .vsix carries the language client bundle the extension loads when the server starts, and the build makes it', () => {
    const allow = readFileSync(join(__dirname, '../../.vscodeignore'), 'utf8').split('\n');
    expect(allow).toContain('!dist/lsp-client.js');
    expect(readFileSync(join(__dirname, '../../server/build.mjs'), 'utf8')).toMatch(/'lsp-client': 'client\/lsp-client\.ts'/);
    // and the extension does not bundle the library into itself
    expect(readFileSync(join(__dirname, '../../client/context.ts'), 'utf8')).not.toMatch(/^import \{[^}]*\bLanguageClient\b[^}]*\} from 'vscode-languageclient/m);
  });
});

describe.skipIf(!existsSync(script))('trees for the interpreter (needs dist/)', () => {
  it('a tree the worker made is plain data: the arches whose preprocessed text is the same share one parse', async () => {
    const { parseTree } = await import('../../server/analysis/parse');
    const { treeHost } = await import('../../server/analysis/parse-host');
    if (!treeHost().available) return console.warn('skipped: no tree worker in this run');
    const a = parseTree(text);
    const b = parseTree(text);
    expect(b).toBe(a);
    const t = await a;
    expect(t.rootNode.namedChildren.length).toBeGreaterThan(10);
    // another text is another parse
    expect(parseTree(text + '\n')).not.toBe(a);
  });
});
