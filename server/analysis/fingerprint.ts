/**
 * Which version model is an open file closest to? Tell-tale identifiers of each era (a helper
 * that only that code had, a name it introduced, one it removed) score each version; the best
 * wins, with a confidence from how much of its evidence is there and how far ahead it is.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { dialectFor, getVersion, MODELS, VERSIONS } from '../../emulator/versions';
import type { ArchId } from '../../emulator/arch/types';
import type { CFile } from './parse';
import { tokenize } from './tokens';
import { codeNames, placeRelease } from '../../emulator/interp/era';
import { lastText } from '../../emulator/interp/memo';

/** identifier -> weight, per version id: positive evidence for, negative against */
const TELLS: Record<string, Record<string, number>> = {
  'x86-2008': { gup_get_pte: 2, pte_flags: 2, get_head_page_multiple: 2, _PAGE_SPECIAL: 1, pmd_large: 1, pud_large: 1, __VIRTUAL_MASK_SHIFT: 1, pte_present_user: -3, page_cache_get_speculative: -3, try_grab_compound_head: -3, try_get_compound_head: -3, gup_pgd_range: -2, FOLL_LONGTERM: -2 },
  'arm-rfc-2013': { pte_present_user: 3, get_head_page_multiple: 2, pmd_huge: 1, gup_get_pte: 1, pte_flags: -3, page_cache_get_speculative: -3, try_grab_compound_head: -3 },
  'generic-2014': { page_cache_get_speculative: 3, page_cache_add_speculative: 2, CONFIG_HAVE_GENERIC_RCU_GUP: 2, pmd_trans_splitting: 1, get_head_page_multiple: -2, try_grab_compound_head: -3, FOLL_PIN: -2 },
  'foll-pin-2020': { try_grab_compound_head: 3, FOLL_PIN: 2, internal_get_user_pages_fast: 1, record_subpages: 1, hpage_pincount_add: 1, write_protect_seq: -3, try_grab_folio: -3, lockless_pages_from_mm: -3 },
  'wpseq-2021': { write_protect_seq: 3, lockless_pages_from_mm: 3, try_grab_compound_head: 2, try_grab_folio: -3, gup_fast_pte_range: -3 },
  'folio-6x': { try_grab_folio: 3, try_grab_folio_fast: 2, gup_fast_pte_range: 3, gup_fast_fallback: 2, ptep_get_lockless: 1, pmdp_get_lockless: 1 },
};

export interface Fingerprint {
  id: string;
  /** the releases the file's own names place it in, and the names that say so */
  release?: { range: string; by: string[] };
  confidence: number;
  /** score of every version, best first */
  scores: { id: string; score: number }[];
  /** the tell-tales found for the winner */
  evidence: string[];
}

const FAST_NAMES = new Set(MODELS.flatMap((v) => v.functions));

/** A name some version's GUP-fast code defines. */
export function isGupName(name: string | undefined): boolean {
  return name !== undefined && FAST_NAMES.has(name);
}

const FAST_NAME_RE = new RegExp(`\\b(?:${[...FAST_NAMES].join('|')})\\b`);

/** Whether the text names any GUP-fast function at all: a file that does not cannot define one, and needs no parse. */
export function mentionsGup(text: string): boolean {
  return FAST_NAME_RE.test(text);
}

/** The GUP-fast functions (of any version) that a parsed file defines. */
export function gupFunctionsIn(file: CFile): string[] {
  return [...new Set(file.functions.map((f) => f.name).filter((n) => FAST_NAMES.has(n)))];
}

/**
 * Names that place a GUP-fast file among releases, newest first: the first rule whose names the
 * file has gives the range (the model is only the nearest oracle; the release is what the file is).
 */
const X86_FILE = ['get_head_page_multiple', '__VIRTUAL_MASK_SHIFT'];
/** First match wins; `also`, when given, must match too (it narrows an x86 file's era). */
const RELEASES: { range: string; model: string; any: string[]; also?: string[] }[] = [
  // the ARM RFC took its huge-page helper from x86: its own accessor names it first
  { range: 'the 2013 ARM RFC (3.12)', model: 'arm-rfc-2013', any: ['pte_present_user'] },
  // arch/x86/mm/gup.c, by what its huge-page refs look like: no THP, THP with tail pins, 4.5+ refcounting
  { range: '4.5–4.12 (arch/x86/mm/gup.c)', model: 'x86-2008', any: X86_FILE, also: ['page_ref_add', 'pte_allows_gup', 'pte_devmap'] },
  { range: '2.6.38–4.4 (arch/x86/mm/gup.c)', model: 'x86-2008', any: X86_FILE, also: ['get_huge_page_tail'] },
  { range: '2.6.27–2.6.37 (arch/x86/mm/gup.c)', model: 'x86-2008', any: X86_FILE },
  { range: '6.10 or later', model: 'folio-6x', any: ['gup_fast_pte_range', 'gup_fast_fallback', 'gup_fast_pmd_leaf'] },
  { range: '5.18–6.9', model: 'folio-6x', any: ['try_grab_folio', 'try_grab_folio_fast', 'folio_fast_pin_allowed', 'gup_must_unshare'] },
  { range: '5.11–5.17', model: 'wpseq-2021', any: ['lockless_pages_from_mm', 'write_protect_seq'] },
  { range: '5.7–5.10', model: 'foll-pin-2020', any: ['try_grab_compound_head', 'hpage_pincount_add'] },
  // no model of its own: the nearest walks the same gup_flags/p4d shape (its FOLL_GET path is 5.2's)
  { range: '5.2–5.6', model: 'foll-pin-2020', any: ['try_get_compound_head', '__gup_longterm_unlocked'] },
  { range: '4.13–5.1', model: 'generic-2014', any: ['CONFIG_HAVE_GENERIC_GUP', 'gup_pgd_range', 'undo_dev_pagemap'] },
  { range: '3.18–4.12', model: 'generic-2014', any: ['CONFIG_HAVE_GENERIC_RCU_GUP'] },
];

/** The first rule whose names the file has, and those names. */
function releaseRule(present: ReadonlySet<string>) {
  for (const rule of RELEASES) {
    const by = rule.any.filter((n) => present.has(n));
    const also = (rule.also ?? []).filter((n) => present.has(n));
    if (by.length && (!rule.also || also.length)) return { rule, by: [...by, ...also] };
  }
  return undefined;
}

/** undefined when the file defines no GUP-fast function at all. */
export function fingerprint(text: string, file: CFile, tree?: string): Fingerprint | undefined {
  const defined = gupFunctionsIn(file);
  if (!defined.length) return undefined;
  const present = namesIn(text);
  const scores = VERSIONS.map((v) => {
    const tells = TELLS[v.id] ?? {};
    let score = 0;
    for (const [name, w] of Object.entries(tells)) if (present.has(name)) score += w;
    // the functions it defines that the file has too, a little
    score += 0.1 * v.functions.filter((f) => defined.includes(f)).length;
    return { id: v.id, score };
  }).sort((a, b) => b.score - a.score);
  // a release the file's names place it in picks its era's model; the scores only where none does
  const placed = releaseRule(present);
  const best = scores.find((x) => x.id === placed?.rule.model) ?? scores[0];
  const tells = TELLS[best.id] ?? {};
  const possible = Object.values(tells).filter((w) => w > 0).reduce((a, b) => a + b, 0);
  const evidence = Object.keys(tells).filter((n) => tells[n] > 0 && present.has(n));
  const found = evidence.reduce((a, n) => a + tells[n], 0);
  const runnerUp = scores.find((x) => x !== best)!;
  const margin = Math.min(1, Math.max(0, (best.score - runnerUp.score) / 3));
  const scored = possible ? Math.round(Math.min(1, (found / possible) * 0.6 + margin * 0.4) * 100) / 100 : 0;
  // placed among releases by the file's own names: at least even odds, whatever the tells say
  const confidence = placed ? Math.max(0.5, scored) : scored;
  // the registry entry scored; the file is run in the dialect of it whose names it has
  // the range shown is the markers' (interp/era.ts); the rules above only pick the nearest model
  const where = placed?.rule.model === 'arm-rfc-2013' ? undefined : placeRelease(codeNames(text), text, tree);
  const x86 = placed?.rule.model === 'x86-2008' ? ' (arch/x86/mm/gup.c)' : '';
  const release = where ? { range: where.range + x86, by: where.by } : placed && { range: placed.rule.range, by: placed.by };
  return { id: dialectFor(getVersion(best.id), present).id, release, confidence, scores, evidence };
}

/** Every identifier in the text (what the fingerprint and the choice of a dialect look at). */
export const namesIn = lastText((text: string): ReadonlySet<string> => new Set(tokenize(text).filter((t) => /^[A-Za-z_]/.test(t))));

/** The arch a path under arch/ names, if any. */
function archDir(path: string | undefined): string | undefined {
  return path ? /(?:^|[\\/])arch[\\/]([a-z0-9]+)[\\/]/.exec(path)?.[1] : undefined;
}

const ALL_ARCHES: ArchId[] = ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'];
/** markers of the generic walker (mm/gup.c), which every modelled arch builds */
const GENERIC = ['CONFIG_HAVE_GENERIC_RCU_GUP', 'CONFIG_HAVE_GENERIC_GUP', 'CONFIG_HAVE_FAST_GUP', 'CONFIG_HAVE_GUP_FAST', 'gup_pgd_range', 'gup_fast_pgd_range', 'lockless_pages_from_mm', 'internal_get_user_pages_fast', 'gup_fast'];
/** markers of an arch's own walker that tests its own bits (powerpc hugepd, sparc/mips/sh _PAGE_ bits) */
const OTHER_ARCH = ['is_hugepd', 'gup_hugepd', '_PAGE_VALID', '_PAGE_ACCESSED', 'pte_access_permitted_sparc', 'tlb_batch', '_PAGE_PROTECT'];
/** a config option only another arch has (CONFIG_CPU_MIPS32, CONFIG_SUPERH64, CONFIG_X2TLB, CONFIG_PPC64...): its own walker, built for it alone */
const OTHER_CONFIG = /^CONFIG_(?:PPC|SPARC|S390|MIPS|CPU_MIPS|SUPERH|CPU_SH|X2TLB|IA64|PARISC|RISCV|LOONGARCH|ALPHA|M68K|MICROBLAZE|XTENSA|OPENRISC|CSKY|HEXAGON|NIOS2|NDS32|ARC_)\w*$/;

/**
 * The arch models a file's GUP-fast code is for: arch/x86/mm/gup.c is x86's (64-bit and PAE),
 * arch/arm/mm/gup.c 32-bit ARM's, mm/gup.c every arch's; another arch's own walker (powerpc,
 * sparc, mips, s390, sh) is none of ours, and says so. By the path where there is one, else by
 * the names the file uses.
 */
export function archesOf(text: string, path?: string): { arches: ArchId[]; note?: string } {
  const dir = archDir(path);
  if (dir === 'x86') return { arches: ['x86-64', 'x86-pae'] };
  if (dir === 'arm') return { arches: ['arm-lpae'] };
  if (dir === 'arm64') return { arches: ['arm64'] };
  if (dir) return { arches: [], note: `this file is ${dir}'s own GUP-fast walker; gup-lens models x86-64, x86 PAE, ARM LPAE and arm64` };
  const names = namesIn(text);
  if (GENERIC.some((n) => names.has(n))) return genericIn(path);
  // before x86's names: MIPS and SuperH began as copies of x86's walker
  const config = [...names].find((n) => OTHER_CONFIG.test(n));
  if (names.has('pte_present_user')) return { arches: ['arm-lpae'] };
  if (!config && (X86_FILE.some((n) => names.has(n)) || names.has('CONFIG_X86_PAE'))) return { arches: ['x86-64', 'x86-pae'] };
  const other = config ? undefined : OTHER_ARCH.find((n) => names.has(n));
  if (other || config) return { arches: [], note: `this file's walker ${other ? `tests ${other}` : `is built under ${config}`}, which none of gup-lens's arches (x86-64, x86 PAE, ARM LPAE, arm64) has: it is another arch's own GUP-fast code` };
  return genericIn(path);
}

const OWN_DIRS: [string, ArchId[]][] = [
  ['x86', ['x86-64', 'x86-pae']],
  ['arm', ['arm-lpae']],
  ['arm64', ['arm64']],
];

/**
 * The arches the generic walker of a tree's mm/gup.c is built for: every one, but an arch whose
 * own arch/<arch>/mm/gup.c is in the same tree walks with that file instead (x86 until 4.13,
 * a vendor's ARM file), so that file answers for it.
 */
function genericIn(path: string | undefined): { arches: ArchId[]; note?: string } {
  const root = path && /^(.*[\\/])?mm[\\/]gup\.c$/.exec(path);
  if (!root || !root[1]) return { arches: ALL_ARCHES };
  const own = OWN_DIRS.filter(([dir]) => existsSync(join(root[1], 'arch', dir, 'mm', 'gup.c')));
  if (!own.length) return { arches: ALL_ARCHES };
  const gone = new Set(own.flatMap(([, a]) => a));
  const note = `${own.map(([dir]) => `arch/${dir}/mm/gup.c`).join(' and ')} in this tree ${own.length > 1 ? 'are' : 'is'} the GUP-fast walker of ${own.map(([dir]) => dir).join(' and ')}`;
  return { arches: ALL_ARCHES.filter((a) => !gone.has(a)), note };
}
