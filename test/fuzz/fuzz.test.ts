/**
 * A short fuzz run as part of `npm test` (the long one is `npm run fuzz -- --minutes N`).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFuzz } from './fuzz';

describe.skipIf(!existsSync(join(__dirname, '../../dist/server.js')))('fuzz (short run; needs dist/)', () => {
  it('no process dies, every request is answered, none is slow', async () => {
    const f = await runFuzz(25_000, 7, 1);
    console.log(JSON.stringify(f));
    expect(f.fuzz_documents).toBeGreaterThan(5);
    expect(f.fuzz_dap_sessions).toBeGreaterThan(3);
    expect(f.fuzz_notes_kills).toBeGreaterThan(2); // a notes writer killed mid-write, again and again
    expect({ crashes: f.fuzz_crashes, unanswered: f.fuzz_unanswered, slow: f.fuzz_slow_requests, notesLost: f.fuzz_notes_lost }).toEqual({ crashes: 0, unanswered: 0, slow: 0, notesLost: 0 });
  }, 120_000);
});
