/**
 * The sweep's workers: each (file blob, arch) is explored on a worker thread of its own
 * (sweep-worker.ts), as many at once as the machine has cores. Where no built worker script exists
 * (the tests run the sources), the work runs here, one job at a time.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ArchId } from '../../emulator/arch/types';
import { fileVerdicts, type SweepVerdicts } from './sweep-verdicts';

export interface VerdictJob {
  text: string;
  path: string;
  arch: ArchId;
  maxStates?: number;
  /** the release the commit's top Makefile names */
  release?: string;
}

function workerScript(): string | undefined {
  for (const p of [join(__dirname, 'sweep-worker.js'), join(process.cwd(), 'dist', 'sweep-worker.js')]) if (existsSync(p)) return p;
  return undefined;
}

let engine: string | undefined;

/**
 * What computes the verdicts, as a cache key: the built worker's own digest, so a build that
 * explores differently (a model, an actor, an invariant changed) never reuses verdicts an older
 * one kept; the sources' run (no built worker) has only the fixed part.
 */
export function verdictEngine(): string {
  if (engine) return engine;
  const script = workerScript();
  engine = `sweep-5${script ? `-${createHash('sha1').update(readFileSync(script)).digest('hex').slice(0, 12)}` : ''}`;
  return engine;
}

interface Pending {
  job: VerdictJob;
  resolve: (v: SweepVerdicts) => void;
  reject: (e: Error) => void;
}

export class SweepPool {
  private readonly queue: Pending[] = [];
  private readonly idle: Worker[] = [];
  private readonly busy = new Map<Worker, Pending>();
  private readonly workers: Worker[] = [];
  private closed = false;

  constructor(
    private readonly size = Math.max(1, availableParallelism()),
    private readonly script = workerScript(),
  ) {}

  /** The verdicts of one file on one arch, on the next free worker. */
  run(job: VerdictJob): Promise<SweepVerdicts> {
    if (this.closed) return Promise.reject(new Error('cancelled'));
    if (!this.script) return fileVerdicts(job.text, job.path, job.arch, job.maxStates, job.release);
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.pump();
    });
  }

  private pump(): void {
    while (!this.closed && this.queue.length) {
      const w = this.idle.pop() ?? (this.workers.length < this.size ? this.spawn() : undefined);
      if (!w) return;
      const p = this.queue.shift()!;
      this.busy.set(w, p);
      w.postMessage(p.job);
    }
  }

  private spawn(): Worker {
    const w = new Worker(this.script!);
    this.workers.push(w);
    w.on('message', (m: { ok: boolean; value?: SweepVerdicts; error?: string }) => {
      const p = this.busy.get(w);
      this.busy.delete(w);
      this.idle.push(w);
      if (p) (m.ok ? p.resolve(m.value!) : p.reject(new Error(m.error ?? 'the sweep worker failed')));
      this.pump();
    });
    const fail = (e: Error) => {
      const p = this.busy.get(w);
      this.busy.delete(w);
      this.workers.splice(this.workers.indexOf(w), 1);
      const i = this.idle.indexOf(w);
      if (i >= 0) this.idle.splice(i, 1);
      // the job that was running is reported, not retried: a worker that died on it would die again
      p?.reject(e);
      this.pump();
    };
    w.on('error', fail);
    w.on('exit', (code) => {
      if (!this.closed && this.workers.includes(w)) fail(new Error(`the sweep worker exited (${code})`));
    });
    return w;
  }

  /** Stop every worker; what is queued or running is rejected. */
  async close(): Promise<void> {
    this.closed = true;
    for (const p of [...this.queue.splice(0), ...this.busy.values()]) p.reject(new Error('cancelled'));
    this.busy.clear();
    await Promise.all(this.workers.splice(0).map((w) => w.terminate()));
  }
}
