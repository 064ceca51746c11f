/**
 * Parsing off the main thread: requests go to a worker (parse-worker.ts) and come back as plain
 * data. A worker is retired once it has parsed 16 MB of text (tree-sitter's wasm heap only
 * grows), when a parse fails or takes too long, or when it dies; the next request starts a new
 * one. Where no built worker script exists (the tests run the sources), parsing runs in-process.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PlainTree, type FlatTree } from './ast';
import type { CFile } from './parse';
import type { ParseRequest } from './parse-worker';

const RETIRE_AFTER_BYTES = 8 * 1024 * 1024;
const TIMEOUT_MS = 20_000;

interface Pending {
  /** the worker it was sent to (a retired worker's exit fails only its own requests) */
  w: Worker;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class ParseError extends Error {}

function workerScript(): string | undefined {
  for (const p of [join(__dirname, 'parse-worker.js'), join(process.cwd(), 'dist', 'parse-worker.js')]) if (existsSync(p)) return p;
  return undefined;
}

export class ParserHost {
  private worker: Worker | undefined;
  private parsed = 0;
  private next = 1;
  private readonly pending = new Map<number, Pending>();
  /** workers started so far (a test reads it) */
  started = 0;

  constructor(
    private readonly script = workerScript(),
    private readonly retireAfter = RETIRE_AFTER_BYTES,
  ) {}

  get available(): boolean {
    return !!this.script;
  }

  private spawn(): Worker {
    // a parse worker's JS heap holds one file's tree at a time: bounded (its wasm heap goes when it retires)
    const w = new Worker(this.script!, { resourceLimits: { maxOldGenerationSizeMb: 96, maxYoungGenerationSizeMb: 16 } });
    this.started++;
    w.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      clearTimeout(p.timer);
      this.idle(w);
      if (m.ok) p.resolve(m.value);
      else {
        p.reject(new ParseError(m.error ?? 'parse failed'));
        this.retire(w);
      }
    });
    const fail = (e: Error) => {
      if (this.worker === w) this.worker = undefined;
      for (const [id, p] of this.pending) {
        if (p.w !== w) continue;
        clearTimeout(p.timer);
        p.reject(new ParseError(`the parser stopped: ${e.message}`));
        this.pending.delete(id);
      }
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit ${code}`)));
    // after the listeners: adding a 'message' listener refs the worker again
    w.unref();
    return w;
  }

  /** An idle worker must not keep the process alive (a CLI run ends when its work does). */
  private idle(w: Worker): void {
    if (![...this.pending.values()].some((p) => p.w === w)) w.unref();
  }

  /** Stop using this worker: it finishes what it has and exits. */
  private retire(w: Worker): void {
    if (this.worker === w) this.worker = undefined;
    this.parsed = 0;
    if (![...this.pending.values()].some((p) => p.w === w)) void w.terminate();
    else setTimeout(() => void w.terminate(), TIMEOUT_MS).unref();
  }

  private request<T>(kind: ParseRequest['kind'], text: string): Promise<T> {
    if (this.parsed > this.retireAfter && this.worker) this.retire(this.worker);
    const w = (this.worker ??= this.spawn());
    this.parsed += text.length;
    const id = this.next++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        this.idle(w);
        reject(new ParseError(`parsing took over ${TIMEOUT_MS / 1000} s`));
        this.retire(w);
      }, TIMEOUT_MS);
      timer.unref();
      this.pending.set(id, { w, resolve: resolve as (v: unknown) => void, reject, timer });
      // a request under way holds the process open until its answer comes
      w.ref();
      w.postMessage({ id, kind, text } satisfies ParseRequest);
    });
  }

  file(text: string): Promise<CFile> {
    return this.request<CFile>('file', text);
  }

  async tree(text: string): Promise<PlainTree> {
    return new PlainTree(text, await this.request<FlatTree>('ast', text));
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await w.terminate();
  }
}

let shared: ParserHost | undefined;
let trees: ParserHost | undefined;

/** The process's parser host for file outlines (lenses, hovers, fingerprints). */
export function parserHost(): ParserHost {
  return (shared ??= new ParserHost());
}

/** A second worker for the interpreter's trees: compiling a file never queues an outline behind it. */
export function treeHost(): ParserHost {
  return (trees ??= new ParserHost());
}
