/**
 * The parse worker: the only place a tree-sitter tree lives. It answers a file outline (CFile)
 * or a flattened tree (for the interpreter) per request. Its wasm heap grows with the largest
 * document it has parsed and never shrinks, so the host retires a worker after enough input
 * and starts a fresh one: memory is given back, and a failure cannot poison later requests.
 */
import { parentPort } from 'node:worker_threads';
import { flatten } from './ast';
import { getParser, parseWith, type LastParse } from './parse';

/** an edited document's next outline starts from its last tree */
const last: LastParse = {};

export interface ParseRequest {
  id: number;
  kind: 'file' | 'ast';
  text: string;
}

parentPort?.on('message', async (m: ParseRequest) => {
  try {
    const parser = await getParser();
    if (m.kind === 'file') {
      parentPort!.postMessage({ id: m.id, ok: true, value: parseWith(parser, m.text, last) });
      return;
    }
    const tree = parser.parse(m.text);
    if (!tree) throw new Error('the C parser returned no tree');
    try {
      const flat = flatten(tree.rootNode, m.text);
      parentPort!.postMessage({ id: m.id, ok: true, value: flat }, [flat.nodes.buffer as ArrayBuffer]);
    } finally {
      tree.delete();
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, ok: false, error: (e as Error).message });
  }
});
