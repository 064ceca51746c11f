/**
 * Interrupts, RCU, barriers, locks and seqcounts. The machine is sequentially consistent, so
 * barriers do nothing; interrupts on and off and seqcount reads are scheduling points (an
 * interrupts-off CPU holds back TLB-flush IPIs and RCU-sched grace periods in the model).
 * Layer: pure emulator.
 */
import { FieldRef, LocalRef, MmRef, type Thread } from '../runtime';
import { N } from './pgtable';
import type { Builtin } from './types';

const F = 'sync';

function irqOff(t: Thread): number {
  const was = t.k.m.cpus[t.k.cpu].irqsOff;
  t.k.m.irqDisable(t.k.cpu);
  t.sched('irq', { note: 'interrupts off' });
  return was ? 0 : 0x200; // X86_EFLAGS_IF-like: "were on"
}

function irqOn(t: Thread): void {
  t.k.m.irqEnable(t.k.cpu);
  t.sched('irq', { note: 'interrupts on' });
}

function seqOf(t: Thread, r: unknown): number {
  if (r instanceof FieldRef && r.obj instanceof MmRef && r.field === 'write_protect_seq') return t.k.m.mm.write_protect_seq;
  throw new Error('a seqcount the model does not keep (only mm->write_protect_seq)');
}

export function syncBuiltins(): Builtin[] {
  const out: Builtin[] = [];
  const p = (name: string, ret: Builtin['ret'], doc: string, run: (t: Thread, x: any[]) => unknown = () => undefined) => out.push({ name, doc, family: F, kind: 'pure', ret, run });
  const s = (name: string, ret: Builtin['ret'], doc: string, run: (t: Thread, x: any[]) => unknown, lvalueArgs?: number[]) => out.push({ name, doc, family: F, kind: 'sched', ret, run, lvalueArgs });
  s('local_irq_disable', 'void', 'interrupts off on this CPU (TLB-flush IPIs and RCU-sched wait)', (t) => void irqOff(t));
  s('local_irq_enable', 'void', 'interrupts on again (pending IPIs are taken)', (t) => irqOn(t));
  s('local_irq_save', 'void', 'interrupts off, the previous state saved in flags', (t, [flags]) => {
    const v = irqOff(t);
    if (flags instanceof LocalRef) flags.v[flags.i] = typeof flags.v[flags.i] === 'bigint' ? BigInt(v) : v;
  }, [0]);
  s('local_irq_restore', 'void', 'interrupts back as flags saved them', (t, [flags]) => {
    if (N(flags) !== 0) irqOn(t);
    else t.sched('irq', { note: 'interrupts stay off (they were off before)' });
  });
  p('irqs_disabled', 'int', 'interrupts are off on this CPU', (t) => t.k.m.cpus[t.k.cpu].irqsOff);
  for (const n of ['smp_rmb', 'smp_wmb', 'smp_mb', 'barrier', 'smp_mb__after_atomic', 'smp_mb__before_atomic', 'cpu_relax']) p(n, 'void', 'a barrier: nothing to do on the sequentially consistent model');
  for (const n of ['rcu_read_lock', 'rcu_read_unlock', 'rcu_read_lock_sched', 'rcu_read_unlock_sched']) p(n, 'void', 'RCU read side: the walk is already inside the interrupts-off section that holds grace periods back');
  for (const n of ['down_read', 'up_read', 'mmap_read_lock', 'mmap_read_unlock', 'mmap_assert_locked', 'lockdep_assert_irqs_disabled', 'might_sleep', 'might_lock_read', 'lru_add_drain']) {
    p(n, 'void', 'a lock or assertion around the slow path, which the slow-path built-in models itself');
  }
  s('raw_read_seqcount', 'uint', 'read mm->write_protect_seq (odd while fork copies page tables)', (t, [r]) => {
    const v = seqOf(t, r);
    t.sched('seq', { nr: v });
    return v;
  });
  s('read_seqcount_retry', 'int', 'the seqcount moved since start: fork ran meanwhile', (t, [r, start]) => {
    const v = seqOf(t, r);
    const moved = v !== N(start);
    t.sched('seq', { nr: v, note: moved ? 'write_protect_seq moved: fork ran meanwhile' : 'no fork meanwhile' });
    return moved;
  });
  s('raw_seqcount_try_begin', 'int', '6.x: read the seqcount into start; false while a writer is inside', (t, [r, start]) => {
    const v = seqOf(t, r);
    if (start instanceof LocalRef) start.v[start.i] = v;
    t.sched('seq', { nr: v });
    return (v & 1) === 0;
  }, [1]);
  out.push({ name: 'MMF_HAS_PINNED', doc: 'mm->flags bit: this mm has had pages pinned', family: F, kind: 'const', ret: 'int', value: () => 27 });
  const pinnedFlag = (t: Thread, r: unknown) => {
    if (r instanceof FieldRef && r.field === 'flags') t.k.m.mm.has_pinned = true;
    else throw new Error('set_bit on a field the model does not keep');
  };
  p('mm_set_has_pinned_flag', 'void', 'record that this mm has pinned pages (MMF_HAS_PINNED)', (t, [r]) => pinnedFlag(t, r));
  p('set_bit', 'void', 'set a bit of mm->flags (MMF_HAS_PINNED)', (t, [, r]) => pinnedFlag(t, r));
  p('test_bit', 'int', 'test a bit of mm->flags (MMF_HAS_PINNED)', (t, [, r]) => {
    if (r instanceof FieldRef && r.field === 'flags') return t.k.m.mm.has_pinned;
    throw new Error('test_bit on a field the model does not keep');
  });
  // 6.18+: mm->flags became a bitmap with accessors of its own
  p('mm_flags_test', 'int', '6.18+: test a bit of mm->flags (MMF_HAS_PINNED)', (t) => t.k.m.mm.has_pinned);
  p('mm_flags_set', 'void', '6.18+: set a bit of mm->flags (MMF_HAS_PINNED)', (t) => {
    t.k.m.mm.has_pinned = true;
  });
  return out;
}
