/**
 * What the concurrent actors share: waiting for other CPUs, the TLB flush of each arch and era,
 * finding an entry slot, and the mapping bookkeeping of zapping a pte.
 * Each actor is a script (script.ts) on its own CPU; its steps interleave with the GUP walker's.
 * Layer: pure emulator.
 */
import { NONE } from '../arch/bits';
import type { Ent, Level } from '../arch/types';
import type { QsToken, Slot } from '../machine/machine';
import { step, type Kern } from '../versions/kern';
import { F } from '../machine/memory';
import { Script } from './script';

/** Block until every CPU the token waits on has passed a quiescent point (interrupts on). */
export class WaitQs extends Script {
  constructor(
    k: Kern,
    readonly fn: string,
    readonly anchor: string,
    readonly t: QsToken,
    readonly note: string,
  ) {
    super(k);
  }

  resume(): boolean {
    const k = this.k;
    if (k.m.qsDone(this.t)) return true;
    if (!k.i) throw new Error(`${this.fn} would wait for another CPU, but nothing else runs`);
    step(k, this.fn, this.anchor, 'wait', { note: this.note, until: this.until() });
    return false;
  }

  override ready(): boolean {
    return this.k.m.qsDone(this.t);
  }
}

/**
 * Flush the TLB for a changed entry. On x86 that is an IPI the sender waits for, and a CPU
 * walking with interrupts off holds it back. On ARM it is a hardware broadcast (TLBI ...IS):
 * nothing waits for anybody.
 */
export class FlushTlb extends Script {
  constructor(
    k: Kern,
    readonly fn: string,
    readonly anchor: string,
  ) {
    super(k);
  }

  resume(): boolean {
    const k = this.k;
    switch (this.pc) {
      case 0: {
        if (k.arch.tlbShootdown !== 'ipi') {
          this.pc = 2;
          return !(k.y && step(k, this.fn, this.anchor, 'flush', { note: 'broadcast TLB invalidation: no IPI, nobody waits' }));
        }
        const t = k.m.waitOthers(k.cpu, 'ipi');
        this.sub = new WaitQs(k, this.fn, this.anchor, t, 'waiting for the flush IPI to be acknowledged');
        this.pc = 1;
        if (k.y && step(k, this.fn, this.anchor, 'flush', { note: `TLB-flush IPI to ${t.waits.length} CPU(s) with interrupts off` })) return false;
        return this.runSub();
      }
      case 1:
        return this.runSub();
      default:
        return true;
    }
  }
}

/** The slot of the entry at `level` mapping addr (the tables must exist). */
export function slotAt(k: Kern, addr: number, level: Level): Slot {
  let table = k.m.mm.pgd;
  for (const l of k.arch.levels) {
    const s = k.m.slot(table, l.level, addr);
    if (l.level === level) return s;
    const e = k.m.load(s);
    if (k.arch.none(e) || k.arch.leaf(l.level, e)) throw new RangeError(`no ${level} table for 0x${addr.toString(16)}`);
    table = k.arch.pfn(e);
  }
  throw new RangeError(`${k.arch.id} has no ${level} level`);
}

/** The mapping side of zapping a leaf: the entry is gone, its page loses a mapcount. */
export function unmapCount(k: Kern, e: Ent): number {
  const pfn = k.arch.pfn(e);
  k.m.mem.add(F.mapcount, k.m.mem.idx(pfn), -1);
  return pfn;
}

/**
 * munmap of one pte as zap_pte_range and tlb_finish_mmu order it: clear it, flush, then drop the
 * reference its mapping held. `page` is the page it mapped.
 */
export class ZapPte extends Script {
  page = 0;
  constructor(
    k: Kern,
    readonly ptep: Slot,
    readonly addr: number,
    readonly note?: string,
  ) {
    super(k);
  }

  resume(): boolean {
    const k = this.k;
    for (;;) {
      switch (this.pc) {
        case 0: {
          const old = k.m.load(this.ptep);
          k.m.store(this.ptep, NONE);
          this.page = unmapCount(k, old);
          this.sub = new FlushTlb(k, 'tlb_flush_mmu', 'tlb_flush_mmu_tlbonly');
          this.pc = 1;
          if (k.y && step(k, 'zap_pte_range', 'ptep_get_and_clear_full', 'write', { level: 'pte', lo: 0, hi: 0, addr: this.addr, note: this.note })) return false;
          continue;
        }
        case 1: {
          if (!this.runSub()) return false;
          const page = this.page;
          k.m.refSub(page, 1);
          const mem = k.m.mem;
          this.pc = 2;
          if (k.y && step(k, 'free_pages_and_swap_cache', 'put_page(page)', 'free', { pfn: page, ref: -1, note: mem.isFree(page) ? 'refcount 0: page freed' : `still referenced: refcount ${k.m.refcount(page)}, mapcount ${mem.at(F.mapcount, mem.idx(page))}` })) return false;
          return true;
        }
        default:
          return true;
      }
    }
  }
}

/** Somebody else allocates a frame (the page allocator hands a freed page to a new owner). */
export function allocForOther(k: Kern, as: 'data' | 'table' = 'data'): number {
  const pfn = k.m.mem.alloc(0, as);
  if (as === 'data') k.m.hold(pfn);
  return pfn;
}

/** Somebody else allocates a page at once, and the step says whether it got old's frame (`same` says what that means); true to pause. */
export function reallocStep(k: Kern, old: number, same: string): boolean {
  const again = allocForOther(k);
  return k.y && step(k, 'alloc_pages', 'alloc_page(GFP_KERNEL)', 'alloc', { pfn: again, note: again === old ? same : 'another frame' });
}
