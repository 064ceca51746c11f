import { describe, expect, it } from 'vitest';
import { releaseNumber } from '../../emulator/arch/release';
import { getArch } from '../../emulator/arch';
import { buildMachine } from '../../emulator/machine/builder';
import type { Machine } from '../../emulator/machine/machine';
import { makeKern, releaseAll, replay, type Replay } from '../../emulator/run/replay';
import type { ArchId } from '../../emulator/arch/types';
import { SCENARIOS } from '../../emulator/scenarios';
import { VERSIONS } from '../../emulator/versions';
import { F } from '../../emulator/machine/memory';
import { checkBalance, faultViolation } from '../../emulator/explore/invariants';

/** An independent software walk: the frame mapped at va, or undefined. */
function translate(m: Machine, va: number): number | undefined {
  let table = m.mm.pgd;
  for (const l of m.arch.levels) {
    const e = m.load(m.slot(table, l.level, va));
    if (m.arch.none(e) || !m.arch.present(e)) return undefined;
    if (l.level === 'pte' || m.arch.leaf(l.level, e)) return m.arch.pfn(e) + Math.floor((va % 2 ** l.shift) / 4096);
    table = m.arch.pfn(e);
  }
  return undefined;
}

const PAGE = 4096;

function combos() {
  const out: [string, string, string][] = [];
  for (const v of VERSIONS) {
    for (const a of v.arches) {
      for (const s of SCENARIOS) {
        if ((!s.arches || s.arches.includes(a)) && !(s.call.pin && v.year < 2020) && (!s.eras || s.eras.includes(v.era)) && !((s.sinceOn?.[a] ?? s.since) && releaseNumber(v.bits ?? v.since) < releaseNumber((s.sinceOn?.[a] ?? s.since)!))) out.push([v.id, a, s.id]);
      }
    }
  }
  return out;
}

/** What each scenario must give, whatever the version and arch. */
type Want = { nr: number; slow: boolean; fastNr: number; ret?: number };
const expected: Record<string, Want | ((version: string, arch: string) => Want)> = {
  'pages-4k-16': { nr: 16, slow: false, fastNr: 16 },
  'thp-pmd': { nr: 512, slow: false, fastNr: 512 },
  'huge-pud-1g': { nr: 512, slow: false, fastNr: 512 },
  'cross-pmd': { nr: 16, slow: false, fastNr: 16 },
  'hole-middle': { nr: 16, slow: true, fastNr: 8 },
  'write-readonly': { nr: 8, slow: true, fastNr: 4 },
  // 32-bit ARM had no special bit in 2013: the RFC takes the VM_PFNMAP page like any other
  'special-pte': (v) => (v === 'arm-rfc-2013' ? { nr: 8, slow: false, fastNr: 8 } : { nr: 4, slow: true, fastNr: 4 }),
  'unaligned-start': { nr: 4, slow: false, fastNr: 4 },
  'unaligned-cross-pmd': { nr: 8, slow: false, fastNr: 8 },
  'pin-1g': { nr: 512, slow: false, fastNr: 512 },
  // the fast-only entry points stop at the hole and never fall back
  'fast-only-hole': { nr: 8, slow: false, fastNr: 8 },
  'pin-fast-only-hole': { nr: 8, slow: false, fastNr: 8 },
  'devmap-pte': { nr: 8, slow: false, fastNr: 8 },
  'numa-protnone': { nr: 8, slow: true, fastNr: 4 },
  'numa-protnone-thp': { nr: 512, slow: true, fastNr: 0 },
  'numa-protnone-honor': { nr: 8, slow: true, fastNr: 4 },
  // the fast path stops at the PAGE_NONE pte, the slow path refuses the VMA: the 4 pages before it;
  // 32-bit ARM's generic walker of 3.18-4.14 takes it (present, no protnone, no user test)
  'prot-none': (v, a) => (a === 'arm-lpae' && v === 'generic-2014' ? { nr: 8, slow: false, fastNr: 8 } : { nr: 4, slow: true, fastNr: 4 }),
  // the slow path waits for the move and takes the new page
  'migration-pte': { nr: 8, slow: true, fastNr: 2 },
  'migration-pmd': { nr: 512, slow: true, fastNr: 0 },
  // 5-level paging: user space reaches 2^56
  'la57-high': { nr: 4, slow: false, fastNr: 4 },
  'longterm-cma': { nr: 8, slow: true, fastNr: 0 },
  // 5.19+ (folio-6x) leaves a read-only pin of a page fork shared to the slow path, which unshares it
  'pin-shared-readonly': (v) => (v.startsWith('folio-6x') ? { nr: 4, slow: true, fastNr: 0 } : { nr: 4, slow: false, fastNr: 4 }),
  // refused before any walk: 5.x+ return -EFAULT themselves, older ones leave it to get_user_pages
  'devmap-thp': { nr: 512, slow: false, fastNr: 512 },
  // refused in both paths: FS-DAX pages cannot stay pinned
  'devmap-longterm': { nr: 0, ret: -95, slow: true, fastNr: 0 },
  'thp-readonly-write': { nr: 0, slow: false, fastNr: 0 },
  'secretmem': { nr: 0, ret: -14, slow: true, fastNr: 0 },
  // 6.5+ refuses it in both paths; 6.1 and earlier pin the file's pages
  'file-longterm-pin': (v) => (v === 'folio-6x' ? { nr: 0, ret: -14, slow: true, fastNr: 0 } : { nr: 4, slow: false, fastNr: 4 }),
  'hugetlb-pmd-longterm': { nr: 512, slow: false, fastNr: 512 },
  'devmap-thp-longterm': { nr: 0, ret: -95, slow: true, fastNr: 0 },
  // 6.2+ refuses them in both paths; 6.1 and earlier take them as devmap pages
  'p2pdma-pte': (v) => (v === 'folio-6x' ? { nr: 0, ret: -121, slow: true, fastNr: 0 } : { nr: 4, slow: false, fastNr: 4 }),
  'get-shared-readonly': { nr: 4, slow: false, fastNr: 4 },
  'devmap-pud': { nr: 512, slow: false, fastNr: 512 },
  'devmap-pgmap-gone': { nr: 4, slow: true, fastNr: 0 },
  // the first subpage of the huge leaf has no live pgmap: nothing fast, and the slow path refuses the device page
  'devmap-thp-pgmap-gone': { nr: 0, ret: -14, slow: true, fastNr: 0 },
  'devmap-thp-pin': { nr: 512, slow: false, fastNr: 512 },
  'devmap-pud-pgmap-gone': { nr: 0, ret: -14, slow: true, fastNr: 0 },
  'devmap-pgmap-gone-get': { nr: 4, slow: true, fastNr: 0 },
  'devmap-pud-longterm': { nr: 0, ret: -95, slow: true, fastNr: 0 },
  'file-thp-longterm-pin': (v) => (v === 'folio-6x' ? { nr: 0, ret: -14, slow: true, fastNr: 0 } : { nr: 512, slow: false, fastNr: 512 }),
  // 5.7-6.1 answer 0 pages, 6.10 -EOVERFLOW; the interrupts-off walkers leave it to the slow path (no VMA there)
  'range-wraps': (v) => (v === 'folio-6x' ? { nr: 0, ret: -75, slow: false, fastNr: 0 } : ['foll-pin-2020', 'wpseq-2021', 'folio-6x@6.1'].includes(v) ? { nr: 0, ret: 0, slow: false, fastNr: 0 } : { nr: 0, ret: -14, slow: true, fastNr: 0 }),
  'cross-pud': { nr: 8, slow: false, fastNr: 8 },
  'huge-pud-readonly-write': { nr: 0, slow: false, fastNr: 0 },
  // nothing mapped there: the fast path finds an empty entry above the ptes, the slow path faults all 4 in
  'unmapped-far': { nr: 4, slow: true, fastNr: 0 },
  'unmapped-pgd': { nr: 4, slow: true, fastNr: 0 },
  // the zero page's pte is special (the slow path hands it back), except on 3.12's LPAE, which has no special bit
  'zero-page-read': (v) => (v === 'arm-rfc-2013' ? { nr: 4, slow: false, fastNr: 4 } : { nr: 4, slow: true, fastNr: 0 }),
  'zero-page-pin': { nr: 4, slow: true, fastNr: 0 },
  'zero-page-write': { nr: 4, slow: true, fastNr: 0 },
  // 5.19+ refuse the shared huge leaf and the slow path unshares (a pmd is split, a hugetlb page copied); older pins take it
  'pin-shared-readonly-thp': (v) => (v.startsWith('folio-6x') ? { nr: 4, slow: true, fastNr: 0 } : { nr: 4, slow: false, fastNr: 4 }),
  'pin-shared-readonly-huge-pud': (v) => (v.startsWith('folio-6x') ? { nr: 4, slow: true, fastNr: 0 } : { nr: 4, slow: false, fastNr: 4 }),
  // 5.10+ refuse a long-term FOLL_GET at the entry point
  'get-longterm': (v) => (['wpseq-2021', 'folio-6x', 'folio-6x@6.1'].includes(v) ? { nr: 0, ret: -22, slow: false, fastNr: 0 } : { nr: 4, slow: false, fastNr: 4 }),
  // the first pte's key is one the PKRU denies: nothing from the fast path, -EFAULT from the slow one
  'pkey-denied': { nr: 0, ret: -14, slow: true, fastNr: 0 },
  // a count, never an error, from the fast-only entry point until 6.3
  'fast-only-past-task-size': (v) => ({ nr: 0, ret: v === 'folio-6x' ? -14 : 0, slow: false, fastNr: 0 }),
  'past-task-size': (v) => ({ nr: 0, ret: -14, slow: ['x86-2008', 'arm-rfc-2013', 'generic-2014'].includes(v), fastNr: 0 }),
  // nothing returned either way: 5.7-5.9 turn the empty range away, the others walk past pages[] (see below)
  'zero-pages': { nr: 0, slow: false, fastNr: 0 },
  // before 5.1 the fast path takes the reference (the count wraps to zero); 5.1+ refuse it in both paths, -ENOMEM
  'get-refcount-overflow': (v) => (['x86-2008', 'arm-rfc-2013', 'generic-2014'].includes(v) ? { nr: 1, slow: false, fastNr: 1 } : { nr: 0, ret: -12, slow: true, fastNr: 0 }),
};

function deltaOf(rp: Replay, pfn: number): number {
  return rp.deltas.find((d) => d.pfn === pfn)?.refcount ?? 0;
}

describe('every built-in scenario on every version and arch it runs on', () => {
  it.each(combos())('%s on %s: %s', (version, arch, scenario) => {
    const rp = replay({ arch, version, scenario, trace: true });
    const w = expected[scenario];
    const want = typeof w === 'function' ? w(version, arch) : w;
    expect(rp.result.nr).toBe(want.nr);
    expect(rp.result.ret).toBe(want.ret ?? want.nr);
    expect(rp.result.slowPath).toBe(want.slow);
    expect(rp.result.fastNr).toBe(want.fastNr);
    // the pages are exactly what the addresses map now (after any fault-in or COW)
    const start = rp.call.start - (rp.call.start % PAGE);
    const mapped = rp.result.pages.map((_, i) => translate(rp.machine, start + i * PAGE));
    expect(rp.result.pages).toEqual(mapped);
    // every step names its function and statement
    for (const s of rp.steps) {
      expect(s.fn).toMatch(/^[_a-z]\w*$/);
      expect(s.anchor.length).toBeGreaterThan(0);
    }
    expect(rp.steps.some((s) => s.event === 'slowpath')).toBe(want.slow);
    // every function entered is left, innermost first, and each step's depth is the call stack's
    const stack: string[] = [];
    for (const s of rp.steps) {
      if (s.event === 'return') expect(stack.pop(), `return from ${s.fn}`).toBe(s.fn);
      expect(s.depth, `${s.fn}: ${s.anchor}`).toBe(stack.length);
      if (s.event === 'call') stack.push(s.fn);
    }
    expect(stack).toEqual([]);
    // the caller gives the pages back: every refcount returns to where it was
    releaseAll(rp);
    const mem = rp.machine.mem;
    for (const pfn of rp.result.pages) {
      const i = mem.idx(pfn);
      const was = i < rp.memBefore!.frames ? rp.memBefore!.at(F.refcount, i) : 0;
      const now = mem.at(F.refcount, i);
      const tail = mem.hasFlag(pfn, 'tail');
      const fresh = !tail && was === 0; // faulted in or a COW copy: one ref, for its mapping
      expect(now, `page 0x${pfn.toString(16)}`).toBe(fresh ? 1 : was);
      expect(mem.at(F.pincount, i)).toBe(0);
    }
  });
});

/** The pte that maps va after the replay. */
function entry(rp: Replay, va: number) {
  const m = rp.machine;
  let table = m.mm.pgd;
  for (const l of m.arch.levels) {
    const e = m.load(m.slot(table, l.level, va));
    if (l.level === 'pte') return e;
    table = m.arch.pfn(e);
  }
  throw new Error('no pte');
}

describe('PROT_NONE and NUMA-hinting entries in the slow path', () => {
  it.each(['x86-64', 'arm64'])('%s: 6.5+ reads through a hinting entry unless FOLL_HONOR_NUMA_FAULT asks for the fault; 6.1 always faults', (arch) => {
    const plain = replay({ arch, version: 'folio-6x', scenario: 'numa-protnone', trace: true });
    const va = plain.call.start + 4 * PAGE;
    expect(plain.machine.arch.protnone(entry(plain, va))).toBe(true);
    expect(plain.steps.find((s) => s.event === 'slowpath')?.note).toMatch(/without a hinting fault/);
    const honor = replay({ arch, version: 'folio-6x', scenario: 'numa-protnone-honor', trace: true });
    expect(honor.machine.arch.protnone(entry(honor, va))).toBe(false);
    expect(honor.steps.find((s) => s.event === 'slowpath')?.note).toMatch(/NUMA hinting fault/);
    const old = replay({ arch, version: 'folio-6x@6.1', scenario: 'numa-protnone', trace: true });
    expect(old.machine.arch.protnone(entry(old, va))).toBe(false);
    expect(() => replay({ arch, version: 'folio-6x@6.1', scenario: 'numa-protnone-honor' })).toThrow(/6\.5/);
  });
  it.each(['x86-64', 'x86-pae', 'arm64'])('%s: a PROT_NONE pte is no user entry, stays as it was, and its page gets no reference', (arch) => {
    const rp = replay({ arch, version: 'folio-6x', scenario: 'prot-none', trace: true });
    const va = rp.call.start + 4 * PAGE;
    const e = entry(rp, va);
    expect(rp.machine.arch.user(e)).toBe(false);
    expect(rp.machine.arch.protnone(e)).toBe(true);
    expect(deltaOf(rp, rp.machine.arch.pfn(e))).toBe(0);
    expect(rp.steps.find((s) => s.event === 'slowpath')?.note).toMatch(/PROT_NONE VMA .*-EFAULT/);
  });
});

describe('an empty request (zero-pages)', () => {
  it.each(VERSIONS.flatMap((v) => v.arches.map((a) => [v.id, a])))('%s on %s: turned away, or the walk runs past pages[] with a reference left on the first page', (version, arch) => {
    const rp = replay({ arch, version, scenario: 'zero-pages', trace: true });
    const first = translate(rp.machine, rp.call.start);
    if (version === 'foll-pin-2020') {
      // 5.3-5.9: end <= start
      expect(rp.result.overrun).toBeUndefined();
      expect(rp.deltas).toEqual([]);
      expect(rp.steps.some((s) => s.anchor === 'if (end <= start)')).toBe(true);
    } else {
      expect(rp.result.overrun).toEqual({ len: 0 });
      expect(rp.deltas).toEqual([{ pfn: first, refcount: 1, pincount: 0 }]);
      // the call ends with interrupts on, as a returning call would
      expect(rp.machine.cpus[0].irqsOff).toBe(false);
    }
  });
});

describe('a page whose refcount reached 2^32 - 1 (get-refcount-overflow, CVE-2019-11487)', () => {
  it.each(VERSIONS.flatMap((v) => v.arches.map((a) => [v.id, a])))('%s on %s: before 5.1 the reference wraps the count to zero; from 5.1 it is refused and every count balances', (version, arch) => {
    const rp = replay({ arch, version, scenario: 'get-refcount-overflow', trace: true });
    const page = translate(rp.machine, rp.call.start)!;
    const old = releaseNumber(VERSIONS.find((v) => v.id === version)!.since) < releaseNumber('5.1');
    if (old) {
      expect(rp.machine.refcount(page)).toBe(0);
      expect(faultViolation(rp.machine)).toEqual({ invariant: 'refcount-wrap', message: expect.stringMatching(/wrapped past zero: -1 \+ 1 is 0/) });
    } else {
      expect(rp.machine.refcount(page)).toBe(-1);
      expect(rp.machine.faults).toEqual([]);
      expect(rp.steps.find((s) => s.event === 'slowpath')?.note).toMatch(/refcount went past 2\^31, no reference taken \(try_get_page\): -ENOMEM/);
      releaseAll(rp);
      // the 2^32 - 2 references held outside plus the mapping's: -1 as a 32-bit count, and nothing else
      expect(checkBalance(rp.machine)).toBeUndefined();
    }
  });
});

describe("32-bit ARM's PAGE_NONE", () => {
  it('is what set_pte_ext stores: valid bit cleared, page-type bit kept, L_PTE_NONE, no user bit; present to pte_present', () => {
    const rp = replay({ arch: 'arm-lpae', version: 'folio-6x', scenario: 'prot-none', trace: true });
    const e = entry(rp, rp.call.start + 4 * PAGE);
    expect(e.lo & 3).toBe(2);
    expect((e.hi >>> (57 - 32)) & 1).toBe(1);
    expect(rp.machine.arch.user(e)).toBe(false);
    expect(rp.machine.arch.present(e)).toBe(true);
    expect(rp.machine.arch.protnone(e)).toBe(false);
    // 4.15+: pte_access_permitted refuses it; the slow path refuses the VMA
    expect(deltaOf(rp, rp.machine.arch.pfn(e))).toBe(0);
    expect(rp.steps.find((s) => s.event === 'slowpath')?.note).toMatch(/PROT_NONE VMA .*-EFAULT/);
  });
  it('is taken for a read by the generic walker of 3.18-4.14 (a reference on the page, no slow path)', () => {
    const rp = replay({ arch: 'arm-lpae', version: 'generic-2014', scenario: 'prot-none' });
    const e = entry(rp, rp.call.start + 4 * PAGE);
    expect(rp.result.pages).toContain(rp.machine.arch.pfn(e));
    expect(deltaOf(rp, rp.machine.arch.pfn(e))).toBe(1);
  });
  it('has no huge-pmd form in the model, and says so', () => {
    expect(() => getArch('arm-lpae').mkLeaf('pmd', 0x200, { write: false, user: true, noAccess: true }, 'modern')).toThrow(/PROT_NONE huge pmd on 32-bit ARM .* not modelled/);
  });
});

describe('exact reference counting', () => {
  it.each(VERSIONS.flatMap((v) => v.arches.map((a) => [v.id, a])))('%s on %s: 4K pages get +1 each', (version, arch) => {
    const rp = replay({ arch, version, scenario: 'pages-4k-16' });
    expect(new Set(rp.result.pages).size).toBe(16);
    for (const p of rp.result.pages) expect(deltaOf(rp, p)).toBe(1);
    expect(rp.deltas).toHaveLength(16);
  });

  it.each(VERSIONS.flatMap((v) => v.arches.map((a) => [v.id, a])))('%s on %s: a 2 MiB THP gives +512 on the head', (version, arch) => {
    const rp = replay({ arch, version, scenario: 'thp-pmd' });
    const head = rp.result.pages[0];
    expect(rp.result.pages).toEqual(Array.from({ length: 512 }, (_, i) => head + i));
    expect(deltaOf(rp, head)).toBe(512);
    expect(rp.machine.refcount(head)).toBe(513);
  });

  it('x86-2008 pins each THP tail on its own _count; generic-2014 on its _mapcount', () => {
    const a = replay({ arch: 'x86-64', version: 'x86-2008', scenario: 'thp-pmd' });
    const tail = a.result.pages[5];
    expect(deltaOf(a, tail)).toBe(1);
    const b = replay({ arch: 'x86-64', version: 'generic-2014', scenario: 'thp-pmd' });
    const t2 = b.result.pages[5];
    expect(deltaOf(b, t2)).toBe(0);
    expect(b.machine.mem.at(F.mapcount, b.machine.mem.idx(t2))).toBe(1);
    releaseAll(b);
    expect(b.machine.mem.at(F.mapcount, b.machine.mem.idx(t2))).toBe(0);
    expect(b.machine.refcount(b.result.pages[0])).toBe(1);
  });

  it.each(['x86-64', 'arm64'])('%s: the 1 GiB pud head gets +512', (arch) => {
    const rp = replay({ arch, version: 'generic-2014', scenario: 'huge-pud-1g' });
    const head = rp.result.pages[0];
    expect(rp.machine.mem.at(F.order, rp.machine.mem.idx(head))).toBe(18);
    expect(deltaOf(rp, head)).toBe(512);
  });

  it.each(['x86-pae', 'arm-lpae'])('%s has no pud leaves: the 1 GiB scenario is refused with a reason', (arch) => {
    expect(() => replay({ arch, version: 'generic-2014', scenario: 'huge-pud-1g' })).toThrow(/needs x86-64 or arm64/);
  });

  it('hole-middle: the fast path stops at the hole, the slow path faults it in', () => {
    const rp = replay({ arch: 'x86-64', version: 'x86-2008', scenario: 'hole-middle', trace: true });
    const faulted = rp.result.pages[8];
    expect(deltaOf(rp, faulted)).toBe(2); // new page: 1 for the mapping, 1 for GUP
    const bail = rp.steps.find((s) => s.event === 'bail');
    expect(bail?.fn).toBe('gup_pte_range');
    expect(bail?.addr).toBe(rp.call.start + 8 * PAGE);
  });

  it('write-readonly: the slow path breaks COW and returns the copy', () => {
    const rp = replay({ arch: 'arm64', version: 'generic-2014', scenario: 'write-readonly', trace: true });
    const copy = rp.result.pages[4];
    expect(deltaOf(rp, copy)).toBe(2);
    const slow = rp.steps.find((s) => s.event === 'slowpath');
    expect(slow?.note).toMatch(/COW copy/);
  });

  it('special-pte: refused by the fast path and the slow path alike', () => {
    const rp = replay({ arch: 'x86-pae', version: 'generic-2014', scenario: 'special-pte', trace: true });
    expect(rp.steps.find((s) => s.event === 'bail')?.anchor).toMatch(/pte_special/);
    expect(rp.steps.find((s) => s.event === 'slowpath')?.note).toMatch(/VM_PFNMAP/);
  });

  it('generic-2014 without pte_special: gup_pte_range is a stub, huge pages still go fast', () => {
    const small = replay({ arch: 'arm-lpae', version: 'generic-2014', scenario: 'pages-4k-16', options: { pteSpecial: false }, trace: true });
    expect(small.result).toMatchObject({ nr: 16, slowPath: true, fastNr: 0 });
    expect(small.steps.find((s) => s.event === 'bail')?.anchor).toBe('return 0');
    const huge = replay({ arch: 'arm-lpae', version: 'generic-2014', scenario: 'thp-pmd', options: { pteSpecial: false } });
    expect(huge.result).toMatchObject({ nr: 512, slowPath: false });
  });

  it('x86-2008 reads PAE ptes low, high, low; x86-64 in one load', () => {
    const pae = replay({ arch: 'x86-pae', version: 'x86-2008', scenario: 'pages-4k-16', trace: true });
    const firstPte = pae.steps.filter((s) => s.fn === 'gup_get_pte').slice(0, 3);
    expect(firstPte.map((s) => s.anchor)).toEqual(['pte.pte_low = ptep->pte_low', 'pte.pte_high = ptep->pte_high', 'pte.pte_low != ptep->pte_low']);
    const x64 = replay({ arch: 'x86-64', version: 'x86-2008', scenario: 'pages-4k-16', trace: true });
    expect(x64.steps.filter((s) => s.fn === 'gup_get_pte')).toHaveLength(16);
  });

  it('x86-2008 does not run on ARM and says why', () => {
    expect(() => replay({ arch: 'arm64', version: 'x86-2008', scenario: 'pages-4k-16' })).toThrow(/arch\/x86\/mm\/gup.c.*does not run on arm64/);
  });

  it('the trace has no steps when tracing is off, and the same result', () => {
    const on = replay({ arch: 'x86-64', version: 'generic-2014', scenario: 'cross-pmd', trace: true });
    const off = replay({ arch: 'x86-64', version: 'generic-2014', scenario: 'cross-pmd' });
    expect(off.steps).toHaveLength(0);
    expect(off.result).toEqual(on.result);
    expect(on.steps.filter((s) => s.event === 'call' && s.fn === 'gup_pte_range')).toHaveLength(2);
  });

  it('FOLL_PIN on a 1 GiB page: exact pincount (+512 refs, +512 pins), or 512 x 1024 refs without it', () => {
    const exact = replay({ arch: 'x86-64', version: 'foll-pin-2020', scenario: 'pin-1g' });
    const head = exact.result.pages[0];
    expect(exact.deltas.find((d) => d.pfn === head)).toEqual({ pfn: head, refcount: 512, pincount: 512 });
    const biased = replay({ arch: 'x86-64', version: 'foll-pin-2020', scenario: 'pin-1g', options: { hpagePincount: false } });
    expect(biased.deltas.find((d) => d.pfn === head)).toEqual({ pfn: head, refcount: 512 * 1024, pincount: 0 });
    releaseAll(biased); // unpinned with the same switch: back to the mapping's one reference
    expect(biased.machine.refcount(head)).toBe(1);
    releaseAll(exact);
    expect(exact.machine.mem.info(head)).toMatchObject({ refcount: 1, pincount: 0 });
    const folio = replay({ arch: 'arm64', version: 'folio-6x', scenario: 'pin-1g' });
    expect(folio.deltas.find((d) => d.pfn === folio.result.pages[0])).toMatchObject({ refcount: 512, pincount: 512 });
    const small = replay({ arch: 'x86-64', version: 'folio-6x', scenario: 'pages-4k-16' });
    expect(small.deltas.every((d) => d.refcount === 1)).toBe(true); // FOLL_GET: plain refs
    expect(() => replay({ arch: 'x86-64', version: 'generic-2014', scenario: 'pin-1g' })).toThrow(/predates FOLL_PIN/);
  });

  it('a 1 GiB page is allocated before the page tables: its machine holds a quarter million frames, not half a million of alignment', () => {
    const m = buildMachine(getArch('x86-64'), 'modern', { mappings: [{ kind: 'huge-pud', offset: 0 }, { kind: '4k', offset: 2 ** 31, count: 4 }] });
    expect(m.mem.frames).toBeGreaterThanOrEqual(2 ** 18);
    expect(m.mem.frames).toBeLessThan(2 ** 18 + 64);
    const r = replay({ arch: 'x86-64', version: 'foll-pin-2020', scenario: 'pin-1g' });
    // the gigabyte starts at the first frame of memory; the tables come after it
    expect(r.result.pages[0]).toBe(r.machine.mem.basePfn);
    expect(r.machine.mm.pgd).toBeGreaterThanOrEqual(r.machine.mem.basePfn + 2 ** 18);
    expect(r.deltas.find((d) => d.pfn === r.result.pages[0])).toEqual({ pfn: r.result.pages[0], refcount: 512, pincount: 512 });
  });

  it('the caller gives pages back in runs of one compound page (releasePages) as one release a page would', () => {
    const cases: [ArchId, string, string, Record<string, boolean>][] = [
      ['x86-64', 'foll-pin-2020', 'pin-1g', {}],
      ['x86-64', 'foll-pin-2020', 'pin-1g', { hpagePincount: false }],
      ['x86-pae', 'x86-2008', 'thp-pmd', {}],
      ['arm-lpae', 'generic-2014', 'cross-pmd', {}],
      ['arm64', 'folio-6x', 'thp-pmd', {}],
      ['x86-64', 'folio-6x', 'pages-4k-16', {}],
    ];
    for (const [arch, version, scenario, options] of cases) {
      const batched = replay({ arch, version, scenario, options });
      const single = replay({ arch, version, scenario, options });
      releaseAll(batched);
      const k = makeKern(single.machine, single.version, options, 'gup', 0, false);
      for (const pfn of single.result.pages) single.version.release(k, pfn, single.call);
      const memmap = (m: Machine) => [F.refcount, F.pincount, F.flags].map((f) => Array.from({ length: m.mem.frames }, (_, i) => m.mem.at(f, i)));
      expect(memmap(batched.machine), `${version} ${scenario} on ${arch}`).toEqual(memmap(single.machine));
      // and every reference GUP took went back: the head holds only its mapping's
      expect(batched.machine.refcount(batched.result.pages[0]), `${version} ${scenario}`).toBe(single.memBefore!.at(F.refcount, batched.machine.mem.idx(batched.machine.headOf(batched.result.pages[0]))));
    }
  });

  it('FOLL_LONGTERM pins of a CMA page go the slow way (which migrates it) in 5.7-5.10 as in 6.x', () => {
    const sc = { id: 'pin-longterm-cma', title: '', description: '', layout: [{ kind: '4k' as const, offset: 0, count: 2, cma: true }], call: { offset: 0, nrPages: 2, write: true, pin: true, longterm: true } };
    for (const version of ['foll-pin-2020', 'wpseq-2021', 'folio-6x']) {
      const r = replay({ arch: 'x86-64', version, scenario: sc, trace: true });
      expect(r.result.slowPath, version).toBe(true);
      expect(r.result.fastNr, version).toBe(0);
      expect(r.steps.some((s) => s.slow && /migrated/.test(s.note ?? '')), version).toBe(true);
    }
  });

  it('versions older than the p4d level refuse 5-level paging, later ones walk a p4d', () => {
    const rp = replay({ arch: 'x86-64', la57: true, version: 'wpseq-2021', scenario: 'pages-4k-16', trace: true });
    expect(rp.result.nr).toBe(16);
    expect(rp.steps.some((s) => s.event === 'load' && s.level === 'p4d')).toBe(true);
    expect(() => replay({ arch: 'x86-64', la57: true, version: 'generic-2014', scenario: 'pages-4k-16' })).toThrow(/predates the p4d level/);
  });
});
