/**
 * Parsing off the main thread: requests go to a worker (parse-worker.ts) and come back as plain
 * data. A host sends each of its workers one request at a time and keeps the rest in its own queue, so a
 * request can be cancelled before it starts (the document changed or closed) and a parse's time
 * limit counts from when it starts. A worker is retired once it has parsed its quota of text
 * (tree-sitter's wasm heap only grows), when a parse fails or takes too long, or when it dies;
 * the next request starts a new one. Documents over BIG_BYTES go to a host of their own whose
 * worker lives for one parse: a 3 MB file neither queues the others' outlines behind it nor
 * leaves a heap of its size behind. Where no built worker script exists (the tests run the
 * sources), parsing runs in-process.
 */
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { PlainTree, type FlatTree } from './ast';
import type { CFile } from './parse';
import type { ParseRequest } from './parse-worker';

const RETIRE_AFTER_BYTES = 8 * 1024 * 1024;
const TIMEOUT_MS = 20_000;
/** A cancelled parse of more than this stops its worker; a shorter one is left to finish. */
const STOP_ABOVE_BYTES = 128 * 1024;
/** Above this, a document is parsed on the big host (mm/gup.c is 100–250 KB). */
export const BIG_BYTES = 512 * 1024;

interface Job {
  id: number;
  kind: ParseRequest['kind'];
  text: string;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  /** parsed again once already, on a fresh worker, after the first one failed */
  retried?: boolean;
}

export class ParseError extends Error {}
/** The request was cancelled (its document changed or closed) before its answer came. */
export class ParseCancelled extends ParseError {}

function workerScript(): string | undefined {
  for (const p of [join(__dirname, 'parse-worker.js'), join(process.cwd(), 'dist', 'parse-worker.js')]) if (existsSync(p)) return p;
  return undefined;
}

/** One worker of a host: the text it has parsed (against its quota) and the job it has now. */
interface Slot {
  worker?: Worker;
  parsed: number;
  current?: { job: Job; w: Worker; timer: NodeJS.Timeout };
}

export class ParserHost {
  private next = 1;
  private readonly queue: Job[] = [];
  private readonly slots: Slot[];
  /** workers started so far (a test reads it) */
  started = 0;
  /** requests sent to a worker so far (the server reports it: a hover that needs no parse sends none) */
  sent = 0;

  constructor(
    private readonly script = workerScript(),
    private readonly retireAfter = RETIRE_AFTER_BYTES,
    /** the worker's JS heap: it holds one file's outline or flat tree at a time */
    private readonly heapMb = 96,
    /** workers working at once (documents opened together parse side by side) */
    size = 1,
  ) {
    this.slots = Array.from({ length: size }, () => ({ parsed: 0 }));
  }

  get available(): boolean {
    return !!this.script && !inProcess;
  }

  private spawn(slot: Slot): Worker {
    const w = new Worker(this.script!, { resourceLimits: { maxOldGenerationSizeMb: this.heapMb, maxYoungGenerationSizeMb: 16 } });
    this.started++;
    w.on('message', (m: { id: number; ok: boolean; value?: unknown; error?: string }) => {
      const c = slot.current;
      if (!c || c.w !== w || c.job.id !== m.id) return;
      this.finish(slot);
      if (m.ok) c.job.resolve(m.value);
      else {
        // a trap in the parser's WebAssembly (memory access out of bounds) can leave the worker
        // broken: retire it, and parse the document once more on a fresh one before giving up
        this.retire(slot);
        if (!c.job.retried) {
          c.job.retried = true;
          this.queue.unshift(c.job);
        } else c.job.reject(new ParseError(m.error ?? 'parse failed'));
      }
      if (slot.parsed > this.retireAfter) this.retire(slot);
      this.pump();
    });
    const fail = (e: Error) => {
      if (slot.worker === w) slot.worker = undefined;
      const c = slot.current;
      if (c?.w === w) {
        this.finish(slot);
        if (!c.job.retried) {
          c.job.retried = true;
          this.queue.unshift(c.job);
        } else c.job.reject(new ParseError(`the parser stopped: ${e.message}`));
      }
      this.pump();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`exit ${code}`)));
    // after the listeners: adding a 'message' listener refs the worker again
    w.unref();
    return w;
  }

  /** The slot's job is over: its timer goes, and an idle worker must not keep the process alive. */
  private finish(slot: Slot): void {
    clearTimeout(slot.current!.timer);
    slot.current!.w.unref();
    slot.current = undefined;
  }

  /** Stop using the slot's worker: it exits now (a job it still had has been answered or failed). */
  private retire(slot: Slot): void {
    const w = slot.worker;
    slot.worker = undefined;
    slot.parsed = 0;
    if (w) void w.terminate();
  }

  /** Send queued jobs to the free slots. */
  private pump(): void {
    for (const slot of this.slots) {
      if (slot.current) continue;
      const job = this.queue.shift();
      if (!job) return;
      const w = (slot.worker ??= this.spawn(slot));
      slot.parsed += job.text.length;
      this.sent++;
      const timer = setTimeout(() => {
        this.finish(slot);
        job.reject(new ParseError(`parsing took over ${TIMEOUT_MS / 1000} s`));
        this.retire(slot);
        this.pump();
      }, TIMEOUT_MS);
      timer.unref();
      slot.current = { job, w, timer };
      // a request under way holds the process open until its answer comes
      w.ref();
      w.postMessage({ id: job.id, kind: job.kind, text: job.text } satisfies ParseRequest);
    }
  }

  /**
   * A cancelled job: dropped if it waits. Under way, a long one's worker is stopped (it may parse
   * for seconds); a short one finishes, its answer going nowhere (a new worker would cost more:
   * every keystroke cancels the parse of the text before it).
   */
  private cancel(job: Job): void {
    const at = this.queue.indexOf(job);
    const slot = this.slots.find((x) => x.current?.job === job);
    if (at >= 0) this.queue.splice(at, 1);
    else if (slot) {
      if (job.text.length > STOP_ABOVE_BYTES) {
        this.finish(slot);
        this.retire(slot);
      }
    } else return; // answered already
    job.reject(new ParseCancelled('cancelled: the document changed or closed'));
    this.pump();
  }

  private request<T>(kind: ParseRequest['kind'], text: string, signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(new ParseCancelled('cancelled: the document changed or closed'));
    return new Promise<T>((resolve, reject) => {
      const job: Job = { id: this.next++, kind, text, resolve: resolve as (v: unknown) => void, reject };
      if (signal) {
        const onAbort = () => this.cancel(job);
        signal.addEventListener('abort', onAbort, { once: true });
        // the listener must not outlive the job (a signal may serve many requests)
        const done = () => signal.removeEventListener('abort', onAbort);
        job.resolve = (v) => (done(), resolve(v as T));
        job.reject = (e) => (done(), reject(e));
      }
      this.queue.push(job);
      this.pump();
    });
  }

  file(text: string, signal?: AbortSignal): Promise<CFile> {
    return this.request<CFile>('file', text, signal);
  }

  async tree(text: string, signal?: AbortSignal): Promise<PlainTree> {
    return new PlainTree(text, await this.request<FlatTree>('ast', text, signal));
  }

  async close(): Promise<void> {
    await Promise.all(this.slots.map((slot) => {
      const w = slot.worker;
      slot.worker = undefined;
      return w?.terminate();
    }));
  }
}

let shared: ParserHost | undefined;
let trees: ParserHost | undefined;
let big: ParserHost | undefined;

/** The process's parser host for file outlines (lenses, hovers, fingerprints): two workers where two cores are. */
export function parserHost(): ParserHost {
  return (shared ??= new ParserHost(undefined, RETIRE_AFTER_BYTES, 96, Math.min(2, availableParallelism())));
}

/** A second worker for the interpreter's trees: compiling a file never queues an outline behind it. */
let inProcess = false;

/** Parse on this thread from now on (a worker of its own, such as the sweep's, spawns no parse workers). */
export function parseInProcess(): void {
  inProcess = true;
}

export function treeHost(): ParserHost {
  return (trees ??= new ParserHost());
}

/** Documents over BIG_BYTES, outlines and trees alike: a fresh worker each, with room for their size. */
export function bigHost(): ParserHost {
  return (big ??= new ParserHost(undefined, 0, 512));
}

/** The host for a text of this size. */
export function hostFor(text: string, small: () => ParserHost): ParserHost {
  return text.length > BIG_BYTES ? bigHost() : small();
}
