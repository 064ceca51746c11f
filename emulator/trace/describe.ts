/**
 * Readable forms of trace steps: JSON-friendly values (raw entries in hex and decoded) and one
 * line of text per step. Layer: pure emulator.
 */
import { toBig } from '../arch/bits';
import type { ArchModel, Decoded, Era } from '../arch/types';
import type { GupResult, RefDelta, Step } from './types';

export interface DescribedEntry {
  level: string;
  raw: string;
  kind: Decoded['kind'];
  pfn: string;
  flags: string[];
  /** only one half of the entry was read so far */
  half?: 'low';
}

export interface DescribedStep {
  i: number;
  actor: string;
  cpu: number;
  fn: string;
  anchor: string;
  event: Step['event'];
  depth: number;
  addr?: string;
  end?: string;
  entry?: DescribedEntry;
  page?: { pfn: string; ref?: number; pin?: number };
  nr?: number;
  ret?: number | boolean;
  note?: string;
  slow?: boolean;
  /** 1-based line in the file whose own code ran */
  line?: number;
}

export const addrHex = (n: number): string => '0x' + n.toString(16);

/** The flags GUP-fast cares about, by name, for a decoded entry. */
export function flagNames(d: Decoded): string[] {
  if (d.kind === 'none') return ['none'];
  // a swap-format entry (a migration entry names the page being moved): a type and an offset, no permissions
  if (d.swap) return ['swap', `type=${d.swap.type}`, `offset=0x${d.swap.offset.toString(16)}`];
  // a table descriptor points at the next table: its bits are table attributes, not a page's
  // permissions (x86 ANDs its U/S and R/W down the walk; arm64's table bits are APTable/PXNTable)
  if (d.kind === 'table') return ['table', ...(d.arch.startsWith('x86') ? [...(d.user ? ['user'] : []), ...(d.write ? ['rw'] : [])] : [])];
  const out: string[] = [];
  if (d.present) out.push('present');
  if (d.user) out.push('user');
  out.push(d.write ? 'write' : 'rdonly');
  if (d.huge) out.push('huge');
  if (d.special) out.push('special');
  if (d.devmap) out.push('devmap');
  if (d.protnone) out.push('protnone');
  if (d.splitting) out.push('splitting');
  return out;
}

/** A 32-bit word as the trace shows it (one half of a PAE entry). */
export const word32 = (x: number): string => '0x' + (x >>> 0).toString(16).padStart(8, '0');

export function describeEntry(arch: ArchModel, era: Era, s: Pick<Step, 'level' | 'lo' | 'hi'>): DescribedEntry | undefined {
  if (!s.level || s.lo === undefined) return undefined;
  if (s.hi === undefined) {
    return { level: s.level, raw: word32(s.lo), kind: 'not-present', pfn: '?', flags: [], half: 'low' };
  }
  const d = arch.decode(s.level, toBig({ lo: s.lo, hi: s.hi }), era);
  return { level: s.level, raw: d.raw, kind: d.kind, pfn: addrHex(d.pfn), flags: flagNames(d) };
}

export function describeStep(arch: ArchModel, era: Era, s: Step, i: number): DescribedStep {
  const out: DescribedStep = { i, actor: s.actor, cpu: s.cpu, fn: s.fn, anchor: s.anchor, event: s.event, depth: s.depth };
  if (s.addr !== undefined) out.addr = addrHex(s.addr);
  if (s.end !== undefined) out.end = addrHex(s.end);
  const e = describeEntry(arch, era, s);
  if (e) out.entry = e;
  if (s.pfn !== undefined) out.page = { pfn: addrHex(s.pfn), ...(s.ref !== undefined && { ref: s.ref }), ...(s.pin !== undefined && { pin: s.pin }) };
  if (s.nr !== undefined) out.nr = s.nr;
  if (s.ret !== undefined) out.ret = s.ret;
  if (s.note) out.note = s.note;
  if (s.slow) out.slow = true;
  if (s.line !== undefined) out.line = s.line;
  return out;
}

const signed = (n: number) => (n >= 0 ? '+' + n : String(n));

/** One line of text per step, indented by call depth. */
export function formatStep(d: DescribedStep): string {
  const pad = '  '.repeat(d.depth);
  const parts = [`${String(d.i).padStart(4)} ${d.actor}@cpu${d.cpu} ${pad}${d.fn}${d.line !== undefined ? `:${d.line}` : ''}: ${d.event.toUpperCase()} ${d.anchor}`];
  if (d.event === 'call' && d.addr && d.end) parts.push(`[${d.addr}..${d.end})`);
  if (d.entry) parts.push(`${d.entry.level}=${d.entry.raw}${d.entry.half ? ' (low half)' : ` pfn=${d.entry.pfn} ${d.entry.flags.join('|')}`}`);
  if (d.page) parts.push(`page ${d.page.pfn}${d.page.ref !== undefined ? ' ref ' + signed(d.page.ref) : ''}${d.page.pin !== undefined ? ' pin ' + signed(d.page.pin) : ''}`);
  if (d.nr !== undefined) parts.push(`nr=${d.nr}`);
  if (d.event === 'return' && d.ret !== undefined) parts.push(`= ${d.ret}`);
  if (d.note) parts.push(`— ${d.note}`);
  if (d.slow) parts.push('[slow path]');
  return parts.join('  ');
}

/** Where the call stopped because C gives the code no outcome there (a walk past its range, a read of an unset local), in words; undefined when it did not. */
export function stoppedWhy(r: Pick<GupResult, 'overrun' | 'uninit'>): string | undefined {
  if (r.uninit) return `line ${r.uninit.line} read ${r.uninit.name} before anything set it (an uninitialised local has no value in C)`;
  const o = r.overrun;
  if (!o) return undefined;
  const at = o.line ? ` (line ${o.line})` : '';
  return `the walk ran past its range: ${o.table ? `it read ${o.table.level} entry ${o.table.idx} of a 512-entry table${at}` : `a store to pages[${o.len}], past the caller's ${o.len} entries${at}`}`;
}

export function formatResult(r: GupResult, deltas: RefDelta[]): string[] {
  const lines = [
    `result: nr=${r.nr} ret=${r.ret} ${r.slowPath ? `slow path ran (fast path got ${r.fastNr})` : 'fast path only'}`,
    `pages: ${summarizePfns(r.pages)}`,
  ];
  const stopped = stoppedWhy(r);
  if (stopped) lines.splice(1, 0, `${stopped}; the call stopped there`);
  if (deltas.length) {
    lines.push('refcount deltas: ' + summarizeDeltas(deltas));
  }
  return lines;
}

/** Compress runs of consecutive frames: 0x100000..0x10000f (16). */
export function summarizePfns(pfns: number[]): string {
  if (!pfns.length) return '(none)';
  const runs: string[] = [];
  let a = pfns[0];
  let b = a;
  const flush = () => runs.push(a === b ? addrHex(a) : `${addrHex(a)}..${addrHex(b)} (${b - a + 1})`);
  for (const p of pfns.slice(1)) {
    if (p === b + 1) b = p;
    else {
      flush();
      a = b = p;
    }
  }
  flush();
  return runs.join(', ');
}

function summarizeDeltas(ds: RefDelta[]): string {
  const groups = new Map<string, number[]>();
  for (const d of ds) {
    const key = `refcount ${signed(d.refcount)}${d.pincount ? ` pincount ${signed(d.pincount)}` : ''}`;
    (groups.get(key) ?? groups.set(key, []).get(key)!).push(d.pfn);
  }
  return [...groups].map(([k, pfns]) => `${summarizePfns(pfns)}: ${k}`).join('; ');
}

