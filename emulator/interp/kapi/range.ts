/**
 * Range checks and checks that only report: access_ok and TASK_SIZE against the arch's user
 * space, likely/unlikely, the rounding helpers (ALIGN, round_down, DIV_ROUND_UP), and the BUG/WARN family, which evaluate their condition and record
 * it when it fires instead of stopping the machine.
 * Layer: pure emulator.
 */
import { LocalRef, type Thread, Unsupported } from '../runtime';
import { N } from './pgtable';
import { widthsOf, type Builtin } from './types';

const F = 'range';

/** An assertion's condition: when true, recorded as fired (the run goes on). */
export function report(t: Thread, what: string, c: unknown): unknown {
  if (c && c !== 0n) {
    t.warnings.push(`${what} fired at line ${t.top.line}`);
    t.note(t.top, 'note', { note: `${what} fired` });
  }
  return c;
}

export function rangeBuiltins(): Builtin[] {
  const out: Builtin[] = [];
  const p = (name: string, ret: Builtin['ret'], doc: string, run: (t: Thread, x: any[]) => unknown, lvalueArgs?: number[]) => out.push({ name, doc, family: F, kind: 'pure', ret, run, lvalueArgs });
  const c = (name: string, ret: Builtin['ret'], doc: string, value: (a: import('../../arch/types').ArchModel) => number, boot?: boolean) => out.push({ name, doc, family: F, kind: 'const', ret, value, ...(boot && { boot }) });
  // x86-64 sets these at boot, by 4- or 5-level paging (pgtable_l5_enabled)
  c('TASK_SIZE', 'ulong', 'the end of user space on this arch', (a) => a.taskSize, true);
  c('TASK_SIZE_MAX', 'ulong', 'the end of user space on this arch', (a) => a.taskSize, true);
  c('VERIFY_READ', 'int', 'access_ok type (before 5.0)', () => 0);
  c('VERIFY_WRITE', 'int', 'access_ok type (before 5.0)', () => 1);
  c('__VIRTUAL_MASK_SHIFT', 'int', 'x86: bits of user virtual address space - 1 (47, or 56 with 5-level paging)', (a) => Math.log2(a.taskSize + 4096), true);
  for (const [n, v] of Object.entries({ EFAULT: 14, EINVAL: 22, ENOMEM: 12, EAGAIN: 11, EOVERFLOW: 75, EOPNOTSUPP: 95, EBUSY: 16, EIO: 5, EINTR: 4, EREMOTEIO: 121, ENOENT: 2, EPERM: 1, EHWPOISON: 133 })) c(n, 'int', 'an errno value (the code returns it negated)', () => v);
  for (const n of ['NR_FOLL_PIN_ACQUIRED', 'NR_FOLL_PIN_RELEASED']) c(n, 'int', 'a vmstat item (only passed to counters the model does not keep)', () => 0);
  // the last two arguments: (type, addr, len) before 5.0, (addr, len) after; __access_ok is the check without the might_fault
  const inUserSpace = (t: Thread, x: any[]) => {
    const addr = N(x[x.length - 2]);
    const len = N(x[x.length - 1]);
    return addr + len <= t.k.arch.taskSize && addr + len >= addr;
  };
  p('access_ok', 'int', 'the range lies in user space (the type argument before 5.0 is ignored)', inUserSpace);
  p('__access_ok', 'int', 'the range lies in user space (access_ok without its checks of the caller: 5.18 generic, and vendors before)', inUserSpace);
  p('untagged_addr', 'ulong', 'the address without a tag (no tags here)', (_t, [a]) => a);
  p('check_add_overflow', 'int', 'res = a + b; true when it wrapped', (t, [a, b, res]) => {
    const bits = widthsOf(t.k.arch).long;
    const sum = BigInt(a) + BigInt(b);
    const wrapped = BigInt.asUintN(bits, sum);
    if (res instanceof LocalRef) res.v[res.i] = typeof res.v[res.i] === 'number' || bits === 32 ? Number(wrapped) : wrapped;
    return wrapped !== sum;
  }, [2]);
  p('IS_ERR_VALUE', 'int', 'the value, as an unsigned long, is one of the last 4095 (a negated errno)', (t, [v]) => {
    const bits = widthsOf(t.k.arch).long;
    return BigInt.asUintN(bits, BigInt(v)) >= BigInt.asUintN(bits, -4095n);
  });
  p('likely', 'int', 'a branch hint: the value itself', (_t, [v]) => v);
  p('__builtin_expect', 'long', 'a branch hint: the value itself (what likely and unlikely expand to)', (_t, [v]) => v);
  // rounding to a power of two, as the kernel's macros do on addresses and sizes
  const mask = (a: unknown) => BigInt(a as bigint) - 1n;
  const up = (x: unknown, a: unknown) => (BigInt(x as bigint) + mask(a)) & ~mask(a);
  const down = (x: unknown, a: unknown) => BigInt(x as bigint) & ~mask(a);
  p('ALIGN', 'ulong', 'x rounded up to a multiple of a (a power of two)', (_t, [x, a]) => up(x, a));
  p('round_up', 'ulong', 'x rounded up to a multiple of y (a power of two)', (_t, [x, y]) => up(x, y));
  p('ALIGN_DOWN', 'ulong', 'x rounded down to a multiple of a (a power of two)', (_t, [x, a]) => down(x, a));
  p('round_down', 'ulong', 'x rounded down to a multiple of y (a power of two)', (_t, [x, y]) => down(x, y));
  p('PAGE_ALIGN', 'ulong', 'x rounded up to a page boundary', (_t, [x]) => up(x, 4096n));
  p('PAGE_ALIGN_DOWN', 'ulong', 'x rounded down to a page boundary', (_t, [x]) => down(x, 4096n));
  p('IS_ALIGNED', 'int', 'x is a multiple of a (a power of two)', (_t, [x, a]) => (BigInt(x) & mask(a)) === 0n);
  p('DIV_ROUND_UP', 'ulong', 'n divided by d, rounded up', (t, [n, d]) => {
    if (BigInt(d) === 0n) throw new Unsupported('DIV_ROUND_UP by zero', t.top.line);
    return (BigInt(n) + BigInt(d) - 1n) / BigInt(d);
  });
  p('unlikely', 'int', 'a branch hint: the value itself', (_t, [v]) => v);
  for (const n of ['VM_BUG_ON', 'BUG_ON', 'WARN_ON', 'WARN_ON_ONCE', 'VM_WARN_ON', 'VM_WARN_ON_ONCE']) {
    p(n, 'int', 'evaluate the condition; when true, report it (the run goes on)', (t, [v]) => report(t, n, v));
  }
  for (const n of ['VM_BUG_ON_PAGE', 'VM_BUG_ON_FOLIO', 'VM_WARN_ON_ONCE_PAGE', 'VM_WARN_ON_ONCE_FOLIO', 'VM_WARN_ON_FOLIO', 'WARN_ON_ONCE_PAGE']) {
    p(n, 'int', 'evaluate the condition; when true, report it with the page (the run goes on)', (t, [v]) => report(t, n, v));
  }
  p('BUILD_BUG', 'void', 'a compile-time check (only in code the configuration keeps unused)', () => undefined);
  p('BUILD_BUG_ON', 'void', 'a compile-time check: nothing at run time', () => undefined);
  p('in_atomic', 'int', 'atomic context (never, for the GUP caller)', () => 0);
  // the GUP caller of every scenario is a task (a syscall or a driver), never an interrupt handler
  for (const n of ['in_interrupt', 'in_irq', 'in_hardirq', 'in_softirq', 'in_serving_softirq', 'in_nmi', 'irq_count']) p(n, 'int', 'interrupt context (never: the GUP caller is a task)', () => 0);
  p('in_task', 'int', 'task context (always: the GUP caller is a task)', () => 1);
  return out;
}
