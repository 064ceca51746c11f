/**
 * A sweep worker: explores every applicable race on one file's own code for one arch and answers
 * the verdicts as plain data. It parses on its own thread (no parse workers of its own).
 */
import { parentPort } from 'node:worker_threads';
import { parseInProcess } from '../analysis/parse-host';
import type { VerdictJob } from './sweep-pool';
import { fileVerdicts } from './sweep-verdicts';

parseInProcess();
parentPort?.on('message', async (job: VerdictJob) => {
  try {
    parentPort!.postMessage({ ok: true, value: await fileVerdicts(job.text, job.path, job.arch, job.maxStates, job.release) });
  } catch (e) {
    parentPort!.postMessage({ ok: false, error: (e as Error).message });
  }
});
