/**
 * The historical races as executable scenarios: a layout, the GUP call, the concurrent actors,
 * and the versions before and after the fix. The explorer must find a violation on `before`
 * and none on `after`; `alsoOk`/`alsoBad` pin down the other claims each story makes.
 * Layer: pure emulator.
 */
import type { ActorSpec } from '../actors';
import type { ArchId } from '../arch/types';
import type { InvariantId } from '../explore/invariants';
import type { MapSpec } from '../machine/builder';
import type { VersionModel, VersionOptions } from '../versions/kern';
import { UnknownNameError } from '../arch';
import type { CallSpec } from './types';

export interface RaceRun {
  arch: ArchId;
  /** a version model's id, or a model itself (a file's own code: emulator/interp) */
  version: string | VersionModel;
  options?: VersionOptions;
}

/** A run of a version model named by its id (what the race registry holds). */
export interface NamedRun extends RaceRun {
  version: string;
}

/**
 * race: a concurrent counterexample on shipped (or posted) code; review: caught in review
 * before merge; design-limit: a limit of the design, no concurrency needed.
 */
export type RaceKind = 'race' | 'review' | 'design-limit';

export interface RaceScenario {
  id: string;
  title: string;
  kind: RaceKind;
  /** the releases of its before and of its after, as text */
  kernels: string;
  story: string;
  /** where the story is told (seed documents, commits) */
  refs: string[];
  layout: MapSpec[];
  call: CallSpec & { repeat?: number };
  actors: ActorSpec[];
  /** arch models it can run on (default: all) */
  arches?: ArchId[];
  before: NamedRun;
  after: NamedRun;
  /** the invariant the before version breaks */
  invariant: InvariantId;
  alsoOk?: NamedRun[];
  alsoBad?: NamedRun[];
  bounds: { maxStates: number; maxSteps: number };
}

const GIB_PAGES = 262_144;
const B = { maxStates: 100_000, maxSteps: 200 };

export const RACES: RaceScenario[] = [
  {
    id: 'race-pae-torn-pte',
    title: 'PAE torn pte read',
    kind: 'race',
    kernels: 'before: the generic walker (mm/gup.c, 3.18-4.12) configured for x86 PAE, which breaks its own stated assumption that a pte loads atomically; after: x86\'s gup_get_pte (arch/x86/mm/gup.c from 2.6.27, mm/gup.c from 4.13)',
    story:
      "The generic walker states as an assumption that a pte loads atomically, and no release ran it on x86 PAE before 4.13: built for PAE it breaks that assumption, which is what this before shows. There a 64-bit pte is two 32-bit halves, loaded plainly, low then high. A pte cleared in between (low first, then high) reads as a value that never existed: the old low half with a zero high half, a frame below 4 GiB. The harm is a short-lived reference on that wrong frame (or a bad pte_page on an invalid pfn): the re-check after the ref sees the pte changed and drops it, so no wrong page is returned. When x86 moved to the generic walker in 4.13 it brought gup_get_pte along: low, high, low again until the low half holds still, with the flush IPI that interrupts-off holds back keeping another present page from appearing meanwhile. On ARM LPAE an aligned 64-bit load is single-copy atomic.",
    refs: ['seed 001 (Hugh Dickins on ACCESS_ONCE of a PAE pte)', 'seed 000 (gup_get_pte)', 'commit 8174c430e445'],
    layout: [{ kind: '4k', offset: 0, count: 1 }],
    call: { offset: 0, nrPages: 1, write: false },
    actors: [{ kind: 'pte-writer', offset: 0 }],
    before: { arch: 'x86-pae', version: 'generic-2014' },
    after: { arch: 'x86-pae', version: 'generic-2014', options: { pteLowHigh: true } },
    invariant: 'torn-read',
    alsoOk: [{ arch: 'arm-lpae', version: 'generic-2014' }, { arch: 'x86-pae', version: 'x86-2008' }],
    bounds: B,
  },
  {
    id: 'race-pae-torn-pmd',
    title: 'PAE torn pmd read',
    kind: 'race',
    kernels: 'before: 6.1 (and every walker before it) on x86 PAE, the pmd read with READ_ONCE (two 32-bit loads), when page tables sit above 4 GiB; after: 6.2, pmdp_get_lockless',
    story:
      "The pte fix of 2.6.27 left the pmd: every walker until 6.2 read it with a plain load, which on x86-32 PAE is two 32-bit halves. A pmd cleared by munmap between the halves reads as the old low half with a zero high half: the table it names is a frame below 4 GiB that never was this pmd's table, and the walk goes on through it. It takes page tables above 4 GiB (HIGHPTE) to tell. Peter Zijlstra's fix reads pmds with pmdp_get_lockless, the low/high/low read the pte got long before.",
    refs: ['GUP-FACTS §9 (torn PAE pmd read, 6.2)'],
    layout: [{ kind: '4k', offset: 0, count: 1, shared: true }],
    call: { offset: 0, nrPages: 1, write: false },
    actors: [{ kind: 'munmap', offset: 0, count: 1, reuseTable: true }],
    arches: ['x86-pae'],
    // the fix on the code it landed on: 6.1 as it was, then 6.2
    before: { arch: 'x86-pae', version: 'folio-6x@6.1', options: { pmdLockless: false } },
    after: { arch: 'x86-pae', version: 'folio-6x@6.1', options: { pmdLockless: true } },
    alsoOk: [{ arch: 'x86-pae', version: 'folio-6x' }],
    invariant: 'torn-read',
    alsoBad: [
      { arch: 'x86-pae', version: 'wpseq-2021' },
      { arch: 'x86-pae', version: 'x86-2008' },
      { arch: 'x86-pae', version: 'generic-2014' },
      { arch: 'x86-pae', version: 'foll-pin-2020' },
    ],
    bounds: B,
  },
  {
    id: 'race-thp-split-no-ipi',
    title: 'THP split without an IPI on ARM',
    kind: 'race',
    kernels: 'before: the 2013 ARM RFC (posted for 3.12, not merged); after: 3.18, where arm and arm64 pmdp_splitting_flush send a dummy IPI',
    story:
      "Before 4.5, split_huge_page hands the pins GUP left on tail pages over to the tails, so it needs every GUP-fast that saw the huge pmd to be finished. x86's split flush is an IPI the interrupts-off walker holds back. ARM's TLB flush is a hardware broadcast: the 2013 ARM copy of the x86 walker keeps adding head refs after the split, the tails end up short and are freed while still mapped. The 2014 generic series sends a dummy IPI after setting the splitting bit.",
    refs: ['seed 004 (Will Deacon on the ARM RFC)', 'seed 001', 'commit 2667f50e8b81 series (kick_all_cpus_sync in pmdp_splitting_flush)'],
    layout: [{ kind: 'thp', offset: 0 }],
    call: { offset: 0, nrPages: 2, write: false },
    actors: [{ kind: 'thp-split', offset: 0 }],
    before: { arch: 'arm-lpae', version: 'arm-rfc-2013' },
    after: { arch: 'arm-lpae', version: 'generic-2014', options: { splitIpi: true } },
    invariant: 'refcount-imbalance',
    alsoOk: [
      { arch: 'x86-64', version: 'x86-2008' },
      { arch: 'arm-lpae', version: 'generic-2014', options: { splitIpi: true } },
    ],
    alsoBad: [
      { arch: 'arm-lpae', version: 'arm-rfc-2013' },
      { arch: 'arm64', version: 'generic-2014', options: { splitIpi: false } },
    ],
    bounds: B,
  },
  {
    id: 'race-table-free',
    title: 'page table freed under the lockless walker',
    kind: 'race',
    kernels: 'before: the 2013 ARM RFC (posted for 3.12, not merged); after: 3.18, with HAVE_RCU_TABLE_FREE on arm and arm64',
    story:
      "munmap frees the pte table after clearing the pmd. On x86 the free waits for a TLB-flush IPI that an interrupts-off walker holds back. With ARM's broadcast flush nothing waits: the 2013 RFC walker that already read the pmd goes on to read a page table that was freed and reused by somebody else, and takes a reference on whatever page that table now maps. The generic walker relies on RCU table freeing: the interrupts-off section holds back the grace period.",
    refs: ['seed 004', 'seed 001 (HAVE_RCU_TABLE_FREE)', 'GUP-FACTS R2'],
    // the page is shared with another process, so unmapping it here does not free it: what is
    // left to go wrong is the page table itself
    layout: [{ kind: '4k', offset: 0, count: 1, shared: true }],
    call: { offset: 0, nrPages: 1, write: false },
    actors: [{ kind: 'munmap', offset: 0, count: 1, reuseTable: true }],
    before: { arch: 'arm-lpae', version: 'arm-rfc-2013' },
    after: { arch: 'arm-lpae', version: 'generic-2014' },
    invariant: 'use-after-free-table',
    alsoOk: [{ arch: 'x86-64', version: 'x86-2008' }],
    alsoBad: [{ arch: 'arm64', version: 'generic-2014', options: { rcuTableFree: false } }],
    bounds: B,
  },
  {
    id: 'race-pte-changed',
    title: 'pte changed after the walker read it',
    kind: 'race',
    kernels: 'before: the 2013 ARM RFC (posted for 3.12, not merged); after: 3.18, which re-checks the pte after taking the reference',
    story:
      'Page tables are RCU-protected on ARM, pages are not. The 2013 walker reads a pte, the page is unmapped, freed and handed to another owner, and the walker then takes a plain get_page on it: a reference on a freed page, or on one that is no longer this address\'s. The generic walker takes the reference only if the count is not zero, then re-reads the pte and drops the reference when it changed.',
    refs: ['seed 001 (page_cache_get_speculative + pte re-check)', 'GUP-FACTS R3'],
    layout: [{ kind: '4k', offset: 0, count: 1 }],
    call: { offset: 0, nrPages: 1, write: false },
    actors: [{ kind: 'unmap-realloc', offset: 0 }],
    before: { arch: 'arm-lpae', version: 'arm-rfc-2013' },
    after: { arch: 'arm-lpae', version: 'generic-2014' },
    invariant: 'ref-on-freed-page',
    alsoOk: [{ arch: 'x86-64', version: 'x86-2008' }],
    bounds: B,
  },
  {
    id: 'race-pmd-changed',
    title: 'huge pmd changed after the walker read it',
    kind: 'race',
    kernels: 'before: the 2013 ARM RFC (posted for 3.12, not merged); after: 3.18, which takes the head references only if its count is not zero and re-checks the pmd',
    story:
      "The huge-page form of race-pte-changed. The 2013 walker reads a huge pmd; the THP is unmapped, freed and its head frame handed to another owner; the walker then adds its references to that head with a plain atomic add: references on a freed page, or on somebody else's. x86 never met it, because the unmap's flush IPI waits for the interrupts-off walker. The generic walker's gup_huge_pmd takes the references only if the head's count is not zero (page_cache_add_speculative), re-reads the pmd and drops them when it changed; every later release keeps both.",
    refs: ['seed 001 (page_cache_add_speculative + pmd re-check)', 'GUP-FACTS R3 (huge levels compare the pmd)'],
    layout: [{ kind: 'thp', offset: 0 }],
    call: { offset: 0, nrPages: 2, write: false },
    actors: [{ kind: 'unmap-realloc-thp', offset: 0 }],
    before: { arch: 'arm-lpae', version: 'arm-rfc-2013' },
    after: { arch: 'arm-lpae', version: 'generic-2014' },
    invariant: 'unmapped-page-returned',
    alsoOk: [
      { arch: 'x86-64', version: 'x86-2008' },
      { arch: 'arm64', version: 'folio-6x' },
    ],
    bounds: B,
  },
  {
    id: 'race-fork-pin',
    title: 'pin_user_pages_fast racing fork',
    kind: 'race',
    kernels: 'before: 5.9 to 5.10.y before the backport (has_pinned, no write_protect_seq); after: 5.11 (write_protect_seq), backported to 5.10.y',
    story:
      "fork write-protects the parent's anon ptes unless the page looks pinned. pin_user_pages_fast can read the pte while it is still writable, after fork decided the page was not pinned, and pin it just before fork write-protects it. The page is now shared with the child: the parent's next write copies it, and the DMA lands in the old page. 5.11 brackets copy_page_range with mm->write_protect_seq; FOLL_PIN GUP-fast checks it and backs off to the slow path, which waits for mmap_lock.",
    refs: ['seed 002', 'commit 57efa1fe5957 (mm/gup: prevent gup_fast from racing with COW during fork)'],
    layout: [{ kind: '4k', offset: 0, count: 1 }],
    call: { offset: 0, nrPages: 1, write: true, pin: true },
    actors: [{ kind: 'fork', offset: 0 }],
    before: { arch: 'x86-64', version: 'foll-pin-2020' },
    after: { arch: 'x86-64', version: 'wpseq-2021' },
    invariant: 'fork-pin-cow',
    alsoOk: [{ arch: 'arm64', version: 'wpseq-2021' }],
    bounds: B,
  },
  {
    id: 'race-fork-get',
    title: 'a FOLL_GET reference on a page fork shared, reused by the other process',
    kind: 'race',
    kernels: "before: every release before 5.8, and stable trees without the backport; after: 5.8 (17839856fd58: GUP breaks COW even for a read; stable 4.14.y-5.7.y), then 5.9's do_wp_page, which copies a page anybody else holds (09854ba94c6a)",
    story:
      "fork leaves an anon page shared and write-protected in both processes. One of them (a vmsplice caller, in the CVE) takes a FOLL_GET reference on it for reading: GUP-fast takes a read-only pte as it is. Then it unmaps the page. The other process writes: before 5.9 do_wp_page reused in place a page mapped only once (reuse_swap_page looked at the mapcount, not at the references), so it writes into the very page the reference names, and the first process reads the other's data through it (CVE-2020-29374, \"COW can break either way\"). 5.8 (17839856fd58) made GUP break COW for a read too: the fast walk takes only writable ptes and the slow path gives the caller a copy of its own; stable trees took it back to 4.14.y. 5.9 (09854ba94c6a) made do_wp_page copy any page somebody else holds, and dropped the early break. FOLL_PIN and PageAnonExclusive (5.19) later settled it for pins.",
    refs: ['GUP-FACTS §10 (the fork/COW problem before FOLL_PIN)', 'CVE-2020-29374', 'commit 17839856fd58', 'commit 09854ba94c6a'],
    // fork shared the page: read-only in this process, the other one maps it too (one more ref)
    layout: [{ kind: '4k', offset: 0, count: 1, write: false, vmaWrite: true, shared: true }],
    call: { offset: 0, nrPages: 1, write: false },
    actors: [{ kind: 'cow-write', offset: 0 }],
    before: { arch: 'x86-64', version: 'foll-pin-2020' },
    after: { arch: 'x86-64', version: 'foll-pin-2020', options: { cowBreakReads: true } },
    invariant: 'cow-reuse-leak',
    alsoOk: [{ arch: 'x86-64', version: 'wpseq-2021' }, { arch: 'arm64', version: 'folio-6x' }],
    alsoBad: [{ arch: 'x86-64', version: 'x86-2008' }, { arch: 'arm64', version: 'generic-2014' }],
    bounds: B,
  },
  {
    id: 'race-pin-overflow-1g',
    title: '1 GiB page pin count overflow',
    kind: 'design-limit',
    kernels: 'before: never released, the intermediate state of the 5.7 series (the bias 3faa52c03f44 without the exact count 47e29d32afba; 5.6 counted a pin as +1 like FOLL_GET); after: 5.7, where both landed together',
    story:
      'A design limit, not a shipped race. With the pin bias alone (3faa52c03f44), FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) to the refcount per pinned subpage: a 1 GiB page has 2^18 subpages, so pinning all of it adds 2^28 to the head, and the 8th pin wraps the 32-bit refcount negative. The same series kept an exact pin count for compound pages of order > 1 (47e29d32afba, hpage_pinned_refcount), adding only the number of subpages to the refcount; both landed in 5.7, so no release had the bias without the count (5.6 counted a pin as +1, like FOLL_GET).',
    refs: ['seed 003 (FOLL_PIN)', 'commit 3faa52c03f44', 'commit 47e29d32afba', 'GUP-FACTS §10 (pin-overflow before never shipped)'],
    arches: ['x86-64', 'arm64'], // a 1 GiB leaf needs a pud level that maps pages
    layout: [{ kind: 'huge-pud', offset: 0 }],
    call: { offset: 0, nrPages: GIB_PAGES, write: true, pin: true, repeat: 9 },
    actors: [],
    before: { arch: 'x86-64', version: 'foll-pin-2020', options: { hpagePincount: false } },
    after: { arch: 'x86-64', version: 'foll-pin-2020', options: { hpagePincount: true } },
    invariant: 'pin-overflow',
    // the step bound is one call's: nine calls get nine times it (the 8th is the one that wraps)
    bounds: { ...B, maxSteps: 9 * B.maxSteps },
  },
  {
    id: 'race-compound-head-split',
    title: 'compound head found, then the THP split under the ref',
    kind: 'race',
    kernels: 'before: 4.5-5.13 and stable trees without the backport (the ref is taken on the head looked up before it); after: 5.14-rc1 (c24d37322548, Fixes: 7aef4172c795 of 4.5), which re-checks that the page still belongs to that head: 5.14-5.17 drop the ref and bail, try_get_folio retries',
    story:
      "GUP-fast on a page of a THP mapped by ptes looks up its compound head (reading page->compound_head), then takes a reference on that head: two steps in every release since 4.5's THP refcounting (7aef4172c795). Jann Horn saw (2021) that between them the THP can be split and its old head page freed and reused, when nothing holds the split back: on arm64 the TLB invalidation is a broadcast that waits for nobody. The walker then takes a reference on somebody else's page and returns the subpage without one. c24d37322548 (5.14-rc1, and stable) re-checks, once the ref is held, that the page still belongs to that head: 5.14-5.17 drop the ref and bail out to the slow path, and the retry came with try_get_folio. Bare-metal x86 cannot hit it: the unmap's flush IPI waits for the interrupts-off walker, so the split cannot finish in between. Virtualized x86, whose paravirtual TLB flush sends no IPI to a preempted vCPU, and arm64 can.",
    refs: ['GUP-FACTS §10 (compound head vs split, 5.14-rc1)', 'commit c24d37322548', 'commit 7aef4172c795'],
    layout: [{ kind: 'thp-pte', offset: 0 }],
    call: { offset: 5 * 4096, nrPages: 1, write: false },
    actors: [{ kind: 'thp-split-freeze', offset: 0 }],
    // the arches whose split waits for nobody (bare-metal x86 waits for the IPI; virtualized x86 is not modelled)
    arches: ['arm-lpae', 'arm64'],
    before: { arch: 'arm64', version: 'foll-pin-2020' },
    after: { arch: 'arm64', version: 'wpseq-2021' },
    invariant: 'refcount-imbalance',
    alsoOk: [{ arch: 'arm64', version: 'folio-6x' }],
    bounds: B,
  },
  {
    id: 'race-khugepaged-collapse',
    title: 'khugepaged collapses the pte table under the walker',
    kind: 'race',
    kernels: 'before: 3.18-5.19 (the generic walker re-checks only the pte; before FOLL_PIN, 5.6, the reference held for DMA is a FOLL_GET one) and stable trees without the backport; after: 6.0 (70cbc3cc78a99: the pmd is re-checked after the ref), also in 5.15.y',
    story:
      "khugepaged collapses 512 small pages into a THP: it clears the pmd, flushes, checks that no page holds more than its mapping's reference, copies them into a huge page and maps that instead. A GUP-fast walker that read the pmd before it was cleared still walks the old pte table; if it takes its pin after the check, the collapse goes on and the pinned page is no longer the one the process maps: the device writes to a page the process will never read. The pte it re-checks never changed, so only a re-check of the pmd notices: Yang Shi's 70cbc3cc78a99 (6.0, queued for 5.15.y) re-reads the pmd after the ref. The race dates from the generic walker (3.18). On x86 the flush IPI waits for the interrupts-off walker; on arm64 nothing waits (2ba99c5e0881 added an IPI before the old table is freed or reused).",
    refs: ['GUP-FACTS §10 (khugepaged collapse fix in 6.0)', 'commit 70cbc3cc78a99', 'commit 2ba99c5e0881'],
    layout: [{ kind: '4k', offset: 0, count: 512 }],
    // a reference held for DMA: a pin from 5.6, the FOLL_GET reference drivers held before (the race is as old as the 3.18 walker)
    call: { offset: 0, nrPages: 1, write: true, pin: true, dmaRef: true },
    actors: [{ kind: 'khugepaged', offset: 0 }],
    before: { arch: 'arm64', version: 'wpseq-2021' },
    after: { arch: 'arm64', version: 'folio-6x' },
    invariant: 'pinned-page-replaced',
    alsoBad: [{ arch: 'arm64', version: 'foll-pin-2020' }, { arch: 'arm64', version: 'generic-2014' }],
    alsoOk: [{ arch: 'x86-64', version: 'wpseq-2021' }],
    bounds: B,
  },
  {
    id: 'race-numa-protnone',
    title: 'NUMA hinting entry taken by GUP-fast',
    kind: 'review',
    kernels: 'before: the v3 generic walker patch (2014), without the pte_numa/pmd_numa tests; after: 3.18 as merged (pte_numa/pmd_numa), pte_protnone/pmd_protnone from 4.0',
    story:
      "Automatic NUMA balancing makes ptes protnone so the next access takes a hinting fault (and THP migration can serialise on it). On x86 pte_present() is true for a protnone pte, and the v3 generic walker patch of 2014 had no test for it: it would take the page and the hinting fault would never happen. Hugh Dickins asked for one in review, and 3.18 merged the walker with pte_numa/pmd_numa tests (pte_protnone/pmd_protnone from 4.0); no release shipped without them.",
    refs: ['seed 001', 'commit 2b4847e73004', 'GUP-FACTS R6'],
    // NUMA balancing is x86-64's and arm64's (ARCH_SUPPORTS_NUMA_BALANCING): not 32-bit x86, not 32-bit ARM
    arches: ['x86-64', 'arm64'],
    layout: [{ kind: '4k', offset: 0, count: 1 }],
    call: { offset: 0, nrPages: 1, write: false },
    actors: [{ kind: 'numa-hint', offset: 0 }],
    before: { arch: 'x86-64', version: 'generic-2014', options: { numaTests: false } },
    after: { arch: 'x86-64', version: 'generic-2014' },
    invariant: 'numa-hint-skipped',
    alsoOk: [{ arch: 'x86-64', version: 'x86-2008' }, { arch: 'x86-64', version: 'foll-pin-2020' }],
    bounds: B,
  },
];

export const RACE_IDS = RACES.map((r) => r.id);

/**
 * The arch to explore a race on for code built for `arches` (a file's own): the race's own
 * arch (its before side's) where the code is for it, else the first the race allows; none
 * where the race meets none of them (PAE tearing on an ARM file).
 */
export function raceArchFor(race: RaceScenario, arches: readonly ArchId[]): ArchId | undefined {
  const allowed = arches.filter((a) => !race.arches || race.arches.includes(a));
  return allowed.includes(race.before.arch) ? race.before.arch : allowed[0];
}

/** The race's own run for this version and arch (with its switches), else a plain run of them. */
export function raceRun(race: RaceScenario | undefined, arch: ArchId, version: string): NamedRun {
  return [race?.before, race?.after].find((r) => r && r.version === version && r.arch === arch) ?? { arch, version };
}

export function getRace(id: string): RaceScenario {
  const r = RACES.find((x) => x.id === id);
  if (!r) throw new UnknownNameError('race scenario', id, RACE_IDS);
  return r;
}
