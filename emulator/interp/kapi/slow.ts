/**
 * The slow path and the FOLL_* flags. Whatever its name and argument order in a release
 * (get_user_pages with task and mm before 4.6, get_user_pages_unlocked, __gup_longterm_unlocked,
 * __gup_longterm_locked), the slow path is the emulator's one model of ordinary GUP under
 * mmap_lock: its start is the one address among the arguments, the page count follows it, and
 * it fills the pages[] it is given. It runs as data under the thread (it may wait for mmap_lock),
 * so the explorer copies a thread in the slow path as it copies one anywhere else.
 * Layer: pure emulator.
 */
import { slowBlocked, slowPass, slowWait, type SlowResult } from '../../versions/slow';
import { ArrPtr, DataSub, Dup, LocalRef, Unsupported, type Thread } from '../runtime';
import { N } from './pgtable';
import type { Builtin } from './types';

const F = 'slow';

/** FOLL_* values: distinct bits; only the names matter to the file's code. */
export const FOLL: Record<string, number> = {
  FOLL_WRITE: 0x01, FOLL_TOUCH: 0x02, FOLL_GET: 0x04, FOLL_DUMP: 0x08, FOLL_FORCE: 0x10, FOLL_NOWAIT: 0x20,
  FOLL_NOFAULT: 0x80, FOLL_HWPOISON: 0x100, FOLL_ANON: 0x8000, FOLL_LONGTERM: 0x10000, FOLL_SPLIT_PMD: 0x20000,
  FOLL_PIN: 0x40000, FOLL_FAST_ONLY: 0x80000, FOLL_PCI_P2PDMA: 0x100000, FOLL_INTERRUPTIBLE: 0x200000,
  FOLL_HONOR_NUMA_FAULT: 0x400000, FOLL_UNLOCKABLE: 0x800000, FOLL_MADV_POPULATE: 0x1000000, FOLL_REMOTE: 0x2000000,
  FOLL_COW: 0x4000, FOLL_MLOCK: 0x1000, FOLL_SPLIT: 0x200, FOLL_NUMA: 0x40, FOLL_TRIED: 0x800,
};

/**
 * The slow-path boundary: every name a release's fast path calls once the lockless walk gives up,
 * 2.6.27 to 7.x. A call to one is always the emulator's slow path, even where the file defines it
 * (its definition is neither compiled nor reached: VMAs, faults and migration are not modelled).
 */
export const SLOW_PATH: ReadonlySet<string> = new Set([
  'get_user_pages', 'get_user_pages_unlocked', '__get_user_pages_unlocked', 'get_user_pages_locked', '__get_user_pages_locked',
  '__get_user_pages', 'get_user_pages_remote', '__get_user_pages_remote', 'get_user_pages_longterm', '__gup_longterm_locked',
  '__gup_longterm_unlocked', 'pin_user_pages', 'pin_user_pages_unlocked', 'pin_user_pages_remote', 'pin_user_pages_locked', 'faultin_page',
]);

/** A call of the slow path as data: where it stands (its arguments read, waiting, its pass made) and what it has. */
class SlowPath extends DataSub {
  private pc = 0;
  private start = 0;
  private nr = 0;
  private pages: ArrPtr | undefined;
  private res: SlowResult | undefined;
  constructor(
    t: Thread,
    private a: unknown[] | undefined,
    private readonly name: string,
  ) {
    super(t);
  }

  step(): boolean {
    const t = this.t;
    if (this.pc === 0) {
      const a = this.a!;
      const { name } = this;
      const i = a.findIndex((v) => (typeof v === 'number' || typeof v === 'bigint') && N(v) >= 0x100000);
      const pages = a.find((v) => v instanceof ArrPtr) as ArrPtr | undefined;
      if (i < 0 || i + 1 >= a.length) throw new Unsupported(`${name}(): cannot tell its start address among the arguments`, t.top.line);
      const start = N(a[i]);
      const nr = N(a[i + 1]);
      // the rest of the caller's range at most: more would fault in (and write) past what it asked for
      const room = pages ? pages.len - pages.off : t.ctx.call.nrPages;
      if (!(nr >= 0 && nr <= room)) throw new Unsupported(`${name}() asked for ${nr} page(s), more than the ${room} left of the caller's nr_pages`, t.top.line);
      t.slowRan = true;
      t.fastNr = pages ? pages.off : 0;
      this.start = start;
      this.nr = nr;
      this.pages = pages;
      this.a = undefined;
      this.pc = 1;
    }
    if (this.pc === 1) {
      // only another actor can release what it waits for: it waits only when interleaved
      if (t.k.i && slowBlocked(t.k, this.start)) {
        slowWait(t.k, this.start);
        return false;
      }
      const { res, pause } = slowPass(t.k, t.ctx.self, t.ctx.call, this.start, this.nr);
      this.res = res;
      this.pc = 2;
      if (pause) return false;
    }
    const { pages, res } = this;
    if (pages) for (let j = 0; j < res!.pages.length; j++) pages.set(pages.off + j, res!.pages[j]);
    this.value = res!.ret;
    return true;
  }

  override ready(): boolean {
    return this.pc !== 1 || !slowBlocked(this.t.k, this.start);
  }

  /** Its pages[] is the copy's (the thread's arrays are copied through the same dup). */
  override copy(t: Thread, dup: Dup): DataSub {
    const c = super.copy(t, dup) as SlowPath;
    c.a = this.a?.map((x) => dup.value(x));
    c.pages = this.pages && (dup.value(this.pages) as ArrPtr);
    return c;
  }
}

export function slowBuiltins(): Builtin[] {
  const out: Builtin[] = [];
  for (const [name, v] of Object.entries(FOLL)) out.push({ name, doc: 'a gup_flags bit', family: F, kind: 'const', ret: 'uint', value: () => v });
  for (const name of SLOW_PATH) {
    out.push({ name, doc: 'ordinary GUP under mmap_lock: faults in what is missing, breaks COW, refuses what GUP refuses', family: F, kind: 'gen', ret: 'long', gen: (t, a) => new SlowPath(t, a, name) });
  }
  // mm/internal.h, 6.3+: the flags only GUP itself may pass (FOLL_MADV_POPULATE from 6.9; the callers here pass none of them)
  out.push({ name: 'INTERNAL_GUP_FLAGS', doc: '6.3+ (mm/internal.h): FOLL_TOUCH | FOLL_TRIED | FOLL_REMOTE | FOLL_PIN | FOLL_FAST_ONLY | FOLL_UNLOCKABLE (| FOLL_MADV_POPULATE from 6.9)', family: F, kind: 'const', ret: 'uint', value: () =>
    FOLL.FOLL_TOUCH | FOLL.FOLL_TRIED | FOLL.FOLL_REMOTE | FOLL.FOLL_PIN | FOLL.FOLL_FAST_ONLY | FOLL.FOLL_UNLOCKABLE | FOLL.FOLL_MADV_POPULATE });
  // mm/internal.h: may GUP follow a PROT_NONE (NUMA-hinting) entry? 6.0-6.4 took the flags, 6.5+ the vma too
  out.push({ name: 'gup_can_follow_protnone', doc: '6.0+: may GUP follow a protnone entry? (flags) until 6.4: only with FOLL_FORCE; (vma, flags) from 6.5: unless FOLL_HONOR_NUMA_FAULT asks to honour hinting faults', family: F, kind: 'pure', ret: 'bool', run: (_t, a) => {
    const flags = N(a[a.length - 1]);
    return a.length === 1 ? (flags & FOLL.FOLL_FORCE) !== 0 : (flags & FOLL.FOLL_HONOR_NUMA_FAULT) === 0;
  } });
  // defined in mm/gup.c of 6.0-6.3; a built-in for files or fragments that call it without it
  out.push({ name: 'is_valid_gup_flags', doc: 'the caller passed no internal-only flag (FOLL_PIN is for pin_user_pages*(), FOLL_LONGTERM only with a pin)', family: F, kind: 'pure', ret: 'bool', run: (t, [f]) => {
    const v = N(f);
    if (v & FOLL.FOLL_PIN) t.warnings.push(`is_valid_gup_flags: FOLL_PIN passed by the caller at line ${t.top.line}`);
    return !(v & FOLL.FOLL_PIN) && !(v & FOLL.FOLL_LONGTERM && !(v & FOLL.FOLL_PIN));
  } });
  // defined in mm/gup.c from 6.3: the same check, then the entry point's own flags are added
  out.push({ name: 'is_valid_gup_args', doc: 'reject internal-only flags from the caller, GET with PIN, LONGTERM without PIN, GET/PIN without pages[]; then *gup_flags |= to_set', family: F, kind: 'pure', ret: 'bool', lvalueArgs: [2], run: (t, [pages, , fp, toSet]) => {
    if (!(fp instanceof LocalRef)) throw new Unsupported('is_valid_gup_args(): gup_flags is not the address of a local', t.top.line);
    const internal = FOLL.FOLL_TOUCH | FOLL.FOLL_PIN | FOLL.FOLL_TRIED | FOLL.FOLL_UNLOCKABLE | FOLL.FOLL_REMOTE | FOLL.FOLL_FAST_ONLY;
    const given = N(fp.v[fp.i]);
    if (given & internal) return false;
    const f = given | N(toSet);
    if ((f & (FOLL.FOLL_PIN | FOLL.FOLL_GET)) === (FOLL.FOLL_PIN | FOLL.FOLL_GET)) return false;
    if (f & FOLL.FOLL_LONGTERM && !(f & FOLL.FOLL_PIN)) return false;
    if (f & (FOLL.FOLL_GET | FOLL.FOLL_PIN) && !pages) return false;
    fp.v[fp.i] = typeof fp.v[fp.i] === 'bigint' ? BigInt(f) : f;
    return true;
  } });
  out.push({ name: 'unpin_user_pages', doc: 'give back n pages taken with FOLL_PIN (or FOLL_GET)', family: F, kind: 'sched', ret: 'void', run: (t, [pp, n]) => {
    const p = pp as ArrPtr;
    for (let j = 0; j < N(n); j++) t.ctx.model.release(t.k, p.get(p.off + j) as number, t.ctx.call);
    t.sched('unref', { nr: N(n), note: `${N(n)} page(s) given back` });
  } });
  out.push({ name: 'unpin_user_page', doc: 'give back one page taken with FOLL_PIN', family: F, kind: 'sched', ret: 'void', run: (t, [pg]) => {
    t.ctx.model.release(t.k, pg as number, t.ctx.call);
    t.sched('unref', { pfn: t.k.m.headOf(pg as number) });
  } });
  return out;
}
