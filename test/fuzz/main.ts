/**
 * `npm run fuzz -- --minutes N`: the fuzz run for N minutes (default 1), its figures for people,
 * then one JSON line. Exit 1 if anything that must never happen did.
 */
import { runFuzz } from './fuzz';

const i = process.argv.indexOf('--minutes');
const minutes = i > 0 ? Number(process.argv[i + 1]) : 1;
if (!Number.isFinite(minutes) || minutes <= 0) {
  process.stderr.write('usage: npm run fuzz -- --minutes N\n');
  process.exit(2);
}
// the servers, adapters and workers the run talks to may all be unref'd: keep this process up until it ends
const alive = setInterval(() => undefined, 60_000);
// FUZZ_SEED replays a run's inputs (to compare two builds on the same documents)
void runFuzz(minutes * 60_000, Number(process.env.FUZZ_SEED) || Date.now() % 1_000_000, Math.max(1, Math.round(minutes))).then((f) => {
  clearInterval(alive);
  process.stdout.write(`fuzz: ${f.fuzz_documents} documents, ${f.fuzz_requests} requests, ${f.fuzz_dap_sessions} debug sessions, ${f.fuzz_cli_runs} CLI runs\n`);
  process.stdout.write(`crashes ${f.fuzz_crashes}, unanswered ${f.fuzz_unanswered}, slow (> 2 s, < 200 KB) ${f.fuzz_slow_requests}, server RSS at the end ${f.fuzz_rss_end_mb} MB\n`);
  process.stdout.write(JSON.stringify(f) + '\n');
  process.exit(f.fuzz_crashes + f.fuzz_unanswered + f.fuzz_slow_requests > 0 ? 1 : 0);
}, (e: Error) => {
  process.stderr.write(`fuzz: the run itself failed: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
