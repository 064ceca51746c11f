/**
 * Scenarios are data: an address-space layout, the GUP call, and (for races) concurrent actors.
 * Layer: pure emulator.
 */
import type { ArchId, Era } from '../arch/types';
import type { MapSpec } from '../machine/builder';

export interface CallSpec {
  /** bytes from the arch's userBase */
  offset: number;
  nrPages: number;
  write: boolean;
  /** pin_user_pages_fast (FOLL_PIN) instead of get_user_pages_fast (FOLL_GET) */
  pin?: boolean;
  /**
   * The pin is a reference held for DMA, the race's subject whatever its flavour: on code from
   * before FOLL_PIN (5.6) the call takes the FOLL_GET reference that drivers held for DMA then,
   * and the invariants about pinned pages hold it to the same promise.
   */
  dmaRef?: boolean;
  longterm?: boolean;
  /** FOLL_FAST_ONLY / __get_user_pages_fast: never fall back */
  fastOnly?: boolean;
  /** FOLL_HONOR_NUMA_FAULT (6.5+, KVM's): the slow path takes NUMA hinting faults rather than following protnone entries */
  honorNumaFault?: boolean;
  /** the call starts this many bytes below the end of user space (TASK_SIZE), whatever `offset` says */
  fromTop?: number;
  /** the call starts this many bytes below the top of the address space (2^BITS_PER_LONG): a longer range wraps */
  fromEnd?: number;
}

export interface Scenario {
  id: string;
  title: string;
  description: string;
  layout: MapSpec[];
  call: CallSpec;
  /** arch models it can run on (default: all) */
  arches?: ArchId[];
  /** the THP/refcount eras whose code has the feature (default: every era) */
  eras?: Era[];
  /** the releases it concerns, as text (list --json shows it) */
  releases?: string;
  /** the first release with the feature: older code cannot meet it (not applicable there) */
  since?: string;
  /** where an arch got the feature later than `since`: its first release there */
  sinceOn?: Partial<Record<ArchId, string>>;
  /** runs on 5-level x86-64 paging (LA57), whatever the request says: its addresses exist only there */
  la57?: boolean;
  /** kernel functions this scenario is the default replay for (CodeLens, hover) */
  showcases?: string[];
}
