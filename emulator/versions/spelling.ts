/**
 * Actors speak the release of the code they race: the names the kernel later changed, in the
 * form that release wrote them (GUP-FACTS, row 27: mmap_sem became mmap_lock in 5.8). Only renames
 * the facts record are here; a step a release did not have at all is the actor's business.
 * Layer: pure emulator.
 */
import { releaseNumber } from '../arch/release';

interface Rename {
  /** the first release with today's form */
  since: string;
  now: RegExp;
  then: string;
}

/** Newest first, so a name renamed twice walks back through each form. */
const RENAMES: readonly Rename[] = [
  { since: '5.8', now: /\bmmap_write_lock\((\w+)\)/g, then: 'down_write(&$1->mmap_sem)' },
  { since: '5.8', now: /\bmmap_write_unlock\((\w+)\)/g, then: 'up_write(&$1->mmap_sem)' },
  { since: '5.8', now: /\bmmap_read_lock\((\w+)\)/g, then: 'down_read(&$1->mmap_sem)' },
  { since: '5.8', now: /\bmmap_read_unlock\((\w+)\)/g, then: 'up_read(&$1->mmap_sem)' },
  { since: '5.8', now: /\bmmap_lock\b/g, then: 'mmap_sem' },
];

/** one per release, made once */
const SPELLERS = new Map<string, ((s: string) => string) | undefined>();

/** How text of today reads in `release`; undefined when it reads as it is (no work on the hot path). */
export function speller(release: string | undefined): ((s: string) => string) | undefined {
  if (!release) return undefined;
  if (!SPELLERS.has(release)) SPELLERS.set(release, make(release));
  return SPELLERS.get(release);
}

function make(release: string): ((s: string) => string) | undefined {
  const n = releaseNumber(release);
  const old = RENAMES.filter((r) => n < releaseNumber(r.since));
  if (!old.length) return undefined;
  // the explorer asks for the same few anchors millions of times: each is rewritten once
  const memo = new Map<string, string>();
  return (s) => {
    let t = memo.get(s);
    if (t === undefined) {
      t = old.reduce((x, r) => x.replace(r.now, r.then), s);
      if (memo.size > 4096) memo.clear(); // notes carry numbers: keep the memo small
      memo.set(s, t);
    }
    return t;
  };
}
