/**
 * Every era file the interpreter is checked on, with the version model of its era and the arches
 * both run on: the real texts in ../shared/corpus and fixtures in each era's shape.
 */
import { join } from 'node:path';
import type { ArchId } from '../../emulator/arch/types';

const CORPUS = join(__dirname, '../../../shared/corpus');
const FIX = join(__dirname, '../fixtures');
const ALL: ArchId[] = ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'];

/** file, the model of its era, the arches both run on */
/** `skip`: scenarios the file leaves to the slow path where the model takes the fast one (the fixtures send devmap huge pmds and puds there) */
export const PAIRS: { file: string; model: string; arches: ArchId[]; corpus?: boolean; options?: Record<string, boolean>; skip?: string[] }[] = [
  { file: join(CORPUS, 'arm-rfc-2013.arch-arm-mm-gup.c'), model: 'arm-rfc-2013', arches: ['arm-lpae'], corpus: true },
  // the V3 patch as quoted in the review: before the pte_numa/pmd_numa tests 3.18 merged
  { file: join(CORPUS, 'generic-2014.mm-gup-fast-part.c'), model: 'generic-2014', arches: ALL, corpus: true, options: { numaTests: false } },
  { file: join(FIX, 'eras/x86-2008-shape.c'), model: 'x86-2008', arches: ['x86-64', 'x86-pae'] },
  { file: join(FIX, 'eras/gup-5.10-shape.c'), model: 'wpseq-2021', arches: ALL, skip: ['devmap-thp', 'devmap-pud', 'devmap-pgmap-gone', 'devmap-pgmap-gone-get', 'devmap-thp-pgmap-gone', 'devmap-pud-pgmap-gone', 'devmap-thp-pin'] },
  { file: join(FIX, 'eras/gup-6.1-shape.c'), model: 'folio-6x@6.1', arches: ALL, skip: ['devmap-thp', 'devmap-pud', 'devmap-pgmap-gone', 'devmap-pgmap-gone-get', 'devmap-thp-pgmap-gone', 'devmap-pud-pgmap-gone', 'devmap-thp-pin'] },
  { file: join(FIX, 'eras/gup-6.10-shape.c'), model: 'folio-6x', arches: ALL, skip: ['devmap-thp', 'devmap-pud', 'devmap-pgmap-gone', 'devmap-pgmap-gone-get', 'devmap-thp-pgmap-gone', 'devmap-pud-pgmap-gone', 'devmap-thp-pin'] },
];

