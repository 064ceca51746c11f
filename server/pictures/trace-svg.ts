/**
 * A trace as a picture, one SVG: the walk (each level a column: the entries read there with
 * their raw value and decoded bits, arrows down to the next table and to the pages taken, with
 * each page's refcount and pincount change; an actor's writes beside the slot they hit, in its
 * CPU's colour) and, under it, the timeline (a lane per CPU with its loads, checks, refs,
 * writes, flushes, frees along the step axis; the refcount and pincount of each page touched
 * over the same steps; the violation marked where it happens). dagre lays the walk out, a d3
 * scale places the steps. Colours come from the editor's theme variables, with fallbacks for a
 * file on its own; every mark has a text label (a <title>) for screen readers, and a step that
 * maps to a line carries it in data-line so a view can reveal it.
 * Layer: server (pure: no vscode, no I/O).
 */
import dagre from '@dagrejs/dagre';
import { scaleLinear } from 'd3-scale';
import type { ArchModel, Era, Level } from '../../emulator/arch/types';
import { describeStep } from '../../emulator/trace/describe';
import type { Step } from '../../emulator/trace/types';
import { esc } from './markup';

export interface TracePicture {
  title: string;
  arch: ArchModel;
  era: Era;
  steps: readonly Step[];
  /** actor names, in CPU order (cpu0 first) */
  actors: readonly string[];
  violation?: string;
  /** the 0-based line a step lands on in the open file, if any */
  lineOf?: (s: Step) => number | undefined;
}

const LEVELS: Level[] = ['pgd', 'p4d', 'pud', 'pmd', 'pte'];
const QUIET = new Set(['call', 'return', 'stmt']);
const MAX_SLOTS = 12;
const MAX_MARKS = 3000;
const CPU_COLOURS = ['var(--vscode-charts-blue, #1f77b4)', 'var(--vscode-charts-orange, #d9730d)', 'var(--vscode-charts-green, #2ca02c)', 'var(--vscode-charts-purple, #9467bd)'];
/** colours by class, never by style attribute (a webview's CSP allows the nonce'd sheet only) */
const cpu = (n: number) => `cpu${n % CPU_COLOURS.length}`;
const EVENT_SHAPE: Record<string, string> = { load: 'circle', recheck: 'circle', check: 'diamond', bail: 'diamond', ref: 'up', unref: 'down', write: 'square', flush: 'bar', free: 'cross', alloc: 'square', irq: 'bar', seq: 'circle', wait: 'bar', split: 'square' };

const hex = (n: number) => `0x${n.toString(16)}`;

interface Slot {
  key: string;
  level: Level;
  label: string;
  bits: string;
  cpu: number;
  line?: number;
  writes: { cpu: number; text: string; by: string }[];
}

/** The walk as nodes (entries read, pages taken) and edges, per column. */
function walkGraph(p: TracePicture) {
  const real = new Set(p.arch.levels.map((l) => l.level));
  const slots = new Map<string, Slot>();
  const pages = new Map<number, { ref: number; pin: number }>();
  const edges = new Set<string>();
  const perLevel = new Map<Level, number>();
  const foldedSeen = new Set<Level>();
  const skipped = new Set<string>();
  let prev: string | undefined;
  const keyOf = (level: Level, addr: number) => {
    const info = p.arch.levels.find((l) => l.level === level);
    return `${level}:${info ? Math.floor(addr / 2 ** info.shift) : addr}`;
  };
  p.steps.forEach((s, i) => {
    if (s.level && s.addr !== undefined && (s.event === 'load' || s.event === 'write')) {
      const key = keyOf(s.level, s.addr);
      const d = describeStep(p.arch, p.era, s, i).entry;
      if (s.event === 'write') {
        const slot = slots.get(key);
        if (slot) slot.writes.push({ cpu: s.cpu, text: `cpu${s.cpu} wrote ${d ? d.raw : ''}`, by: `${s.fn}: ${s.anchor}` });
        return;
      }
      if (s.actor !== p.actors[0]) return;
      // a folded level's load reads the entry above it again: it gets no column of its own
      if (!real.has(s.level)) {
        foldedSeen.add(s.level);
        return;
      }
      const known = slots.get(key);
      if (known && d && !d.half) {
        // the whole entry once both halves are in (PAE reads the low half first)
        known.label = `${known.label.split(' ')[0]} ${d.raw}`;
        known.bits = d.flags.join('|');
      }
      if (!known) {
        const n = perLevel.get(s.level) ?? 0;
        if (n >= MAX_SLOTS) {
          skipped.add(key);
          prev = undefined;
          return;
        }
        perLevel.set(s.level, n + 1);
        const idx = p.arch.levels.find((l) => l.level === s.level);
        const slotIdx = idx ? Math.floor(s.addr / 2 ** idx.shift) % idx.entries : 0;
        slots.set(key, { key, level: s.level, label: `${s.level}[${slotIdx}] ${d?.raw ?? ''}`, bits: d && !d.half ? d.flags.join('|') : 'low half', cpu: s.cpu, line: p.lineOf?.(s), writes: [] });
      }
      if (prev && prev !== key && LEVELS.indexOf(slots.get(prev)!.level) < LEVELS.indexOf(s.level)) edges.add(`${prev}>${key}`);
      prev = key;
    } else if ((s.event === 'ref' || s.event === 'unref') && s.pfn !== undefined && s.actor === p.actors[0]) {
      const x = pages.get(s.pfn) ?? { ref: 0, pin: 0 };
      x.ref += s.ref ?? 0;
      x.pin += s.pin ?? 0;
      pages.set(s.pfn, x);
      if (prev && pages.size <= MAX_SLOTS) edges.add(`${prev}>page:${s.pfn}`);
    }
  });
  return { slots, pages, edges, more: skipped.size, folded: LEVELS.filter((l) => foldedSeen.has(l)) };
}

function renderWalk(p: TracePicture, y0: number): { svg: string; height: number; width: number } {
  const { slots, pages, edges, more, folded } = walkGraph(p);
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: 'LR', nodesep: 10, ranksep: 46, marginx: 10, marginy: 30 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const s of slots.values()) g.setNode(s.key, { width: 220, height: 34 + 14 * Math.min(2, s.writes.length) });
  const shownPages = [...pages].slice(0, MAX_SLOTS);
  for (const [pfn] of shownPages) g.setNode(`page:${pfn}`, { width: 150, height: 34 });
  for (const e of edges) {
    const [a, b] = e.split('>');
    if (g.hasNode(a) && g.hasNode(b)) g.setEdge(a, b);
  }
  dagre.layout(g);
  const out: string[] = [];
  const width = (g.graph().width ?? 400) + 20;
  const height = (g.graph().height ?? 100) + 30;
  out.push(`<g class="walk" transform="translate(0,${y0})">`);
  out.push(`<text class="h" x="10" y="16">the walk${folded.length ? ` (${folded.join(', ')} folded on ${p.arch.id})` : ''}${more ? ` — ${more} more entries not drawn` : ''}</text>`);
  for (const e of g.edges()) {
    const pts = g.edge(e).points.map((q: { x: number; y: number }) => `${q.x.toFixed(1)},${q.y.toFixed(1)}`).join(' ');
    out.push(`<polyline class="edge" points="${pts}" marker-end="url(#arrow)"/>`);
  }
  for (const s of slots.values()) {
    const n = g.node(s.key);
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    const link = s.line !== undefined ? ` data-line="${s.line}"` : '';
    out.push(`<g class="node"${link}><title>${esc(`${s.label} ${s.bits}`)}</title>`);
    out.push(`<rect class="${cpu(s.cpu)}" x="${x}" y="${y}" width="${n.width}" height="${n.height}" rx="3"/>`);
    out.push(`<text x="${x + 6}" y="${y + 14}">${esc(s.label)}</text><text class="dim" x="${x + 6}" y="${y + 28}">${esc(s.bits.slice(0, 34))}</text>`);
    s.writes.slice(0, 2).forEach((w, i) => out.push(`<text class="${cpu(w.cpu)}" x="${x + 6}" y="${y + 42 + 14 * i}"><title>${esc(w.by)}</title>${esc(w.text)}</text>`));
    out.push('</g>');
  }
  for (const [pfn, d] of shownPages) {
    const n = g.node(`page:${pfn}`);
    const x = n.x - n.width / 2;
    const y = n.y - n.height / 2;
    const label = `page ${hex(pfn)}`;
    const change = `ref ${d.ref >= 0 ? '+' : ''}${d.ref}${d.pin ? `  pin ${d.pin >= 0 ? '+' : ''}${d.pin}` : ''}`;
    out.push(`<g class="node page"><title>${esc(`${label} ${change}`)}</title><rect x="${x}" y="${y}" width="${n.width}" height="${n.height}" rx="8"/>`);
    out.push(`<text x="${x + 6}" y="${y + 14}">${label}</text><text class="dim" x="${x + 6}" y="${y + 28}">${change}</text></g>`);
  }
  if (pages.size > shownPages.length) out.push(`<text class="dim" x="10" y="${height - 4}">… and ${pages.size - shownPages.length} more pages</text>`);
  out.push('</g>');
  return { svg: out.join('\n'), height, width };
}

function mark(shape: string, x: number, y: number): string {
  switch (shape) {
    case 'diamond': return `<path d="M${x} ${y - 5}L${x + 5} ${y}L${x} ${y + 5}L${x - 5} ${y}Z"/>`;
    case 'up': return `<path d="M${x} ${y - 6}L${x + 5} ${y + 4}L${x - 5} ${y + 4}Z"/>`;
    case 'down': return `<path d="M${x} ${y + 6}L${x + 5} ${y - 4}L${x - 5} ${y - 4}Z"/>`;
    case 'square': return `<rect x="${x - 4}" y="${y - 4}" width="8" height="8"/>`;
    case 'bar': return `<rect x="${x - 1.5}" y="${y - 7}" width="3" height="14"/>`;
    case 'cross': return `<path d="M${x - 5} ${y - 5}L${x + 5} ${y + 5}M${x + 5} ${y - 5}L${x - 5} ${y + 5}" class="x"/>`;
    default: return `<circle cx="${x}" cy="${y}" r="4"/>`;
  }
}

/** Width of a character of the picture's 12 px monospace (no layout engine here to measure text). */
const CHAR_PX = 7.2;

function renderTimeline(p: TracePicture, y0: number, width: number): { svg: string; height: number } {
  // the lanes start right of their longest label ("cpu1: unmap-realloc"), never under it
  const left = Math.max(130, Math.ceil(10 + CHAR_PX * Math.max(0, ...p.actors.map((a, c) => `cpu${c}: ${a}`.length)) + 12));
  const shown = p.steps.map((s, i) => ({ s, i })).filter(({ s }) => !QUIET.has(s.event)).slice(0, MAX_MARKS);
  const last = Math.max(1, p.steps.length - 1);
  // room on the right for each page's final change
  const x = scaleLinear().domain([0, last]).range([left, Math.max(left + 200, width - 140)]);
  const lane = 30;
  const out: string[] = [`<g class="timeline" transform="translate(0,${y0})">`, `<text class="h" x="10" y="14">the timeline (steps 0-${last})</text>`];
  p.actors.forEach((a, c) => {
    const y = 36 + c * lane;
    out.push(`<text class="lane ${cpu(c)}" x="10" y="${y + 4}">cpu${c}: ${esc(a)}</text><line class="axis" x1="${left}" x2="${x(last)}" y1="${y}" y2="${y}"/>`);
  });
  for (const { s, i } of shown) {
    const c = Math.max(0, p.actors.indexOf(s.actor));
    const y = 36 + c * lane;
    const line = p.lineOf?.(s);
    const text = `step ${i}, cpu${c} ${s.actor}: ${s.event} ${s.fn}: ${s.anchor}${s.note ? ` — ${s.note}` : ''}`;
    out.push(`<g class="mark ev-${s.event} ${cpu(c)}"${line !== undefined ? ` data-line="${line}"` : ''}><title>${esc(text)}</title>${mark(EVENT_SHAPE[s.event] ?? 'circle', x(i), y)}</g>`);
  }
  // refcount and pincount of each page touched, over the same steps
  let y = 36 + p.actors.length * lane + 10;
  const series = new Map<number, { i: number; ref: number; pin: number }[]>();
  p.steps.forEach((s, i) => {
    if (s.pfn === undefined || (s.ref === undefined && s.pin === undefined)) return;
    const list = series.get(s.pfn) ?? [{ i: 0, ref: 0, pin: 0 }];
    const prev = list[list.length - 1];
    list.push({ i, ref: prev.ref + (s.ref ?? 0), pin: prev.pin + (s.pin ?? 0) });
    series.set(s.pfn, list);
  });
  for (const [pfn, list] of [...series].slice(0, 6)) {
    const max = Math.max(1, ...list.map((q) => Math.max(Math.abs(q.ref), Math.abs(q.pin))));
    const h = 26;
    const yv = scaleLinear().domain([0, max]).range([y + h, y]);
    const path = (k: 'ref' | 'pin') => list.map((q, j) => `${j ? 'H' : 'M'}${x(q.i).toFixed(1)}${j ? `V${yv(Math.max(0, q[k])).toFixed(1)}` : ` ${yv(Math.max(0, q[k])).toFixed(1)}`}`).join('') + `H${x(last).toFixed(1)}`;
    const end = list[list.length - 1];
    out.push(`<g class="series"><title>${esc(`page ${hex(pfn)}: refcount change ${end.ref}, pincount change ${end.pin}`)}</title>`);
    out.push(`<text class="lane" x="10" y="${y + 16}">page ${hex(pfn)}</text><path class="ref" d="${path('ref')}"/>${list.some((q) => q.pin) ? `<path class="pin" d="${path('pin')}"/>` : ''}`);
    out.push(`<text class="dim" x="${x(last) + 4}" y="${y + 10}">ref ${end.ref >= 0 ? '+' : ''}${end.ref}${end.pin ? ` pin ${end.pin >= 0 ? '+' : ''}${end.pin}` : ''}</text></g>`);
    y += h + 10;
  }
  if (p.violation) {
    const vx = x(last);
    out.push(`<g class="violation"><title>${esc(`violation: ${p.violation}`)}</title><line x1="${vx}" x2="${vx}" y1="24" y2="${y}"/><text x="10" y="${y + 16}">violation: ${esc(p.violation.slice(0, Math.floor((width - 100) / 7.2)))}</text></g>`);
    y += 24;
  }
  out.push('</g>');
  return { svg: out.join('\n'), height: y + 10 };
}

const STYLE = `
svg.gup-trace { font: 12px var(--vscode-editor-font-family, monospace); color: var(--vscode-editor-foreground, #222); background: var(--vscode-editor-background, #fff); }
svg.gup-trace text { fill: currentColor; }
svg.gup-trace .h { font-weight: bold; }
svg.gup-trace .dim { opacity: 0.75; }
svg.gup-trace .node rect { fill: var(--vscode-editorWidget-background, #f4f4f4); stroke-width: 1.5; }
svg.gup-trace .page rect { stroke: currentColor; }
svg.gup-trace .edge { fill: none; stroke: currentColor; opacity: 0.6; }
svg.gup-trace .axis { stroke: currentColor; opacity: 0.25; }
svg.gup-trace .x { stroke-width: 2; fill: none; }
svg.gup-trace .ref { fill: none; stroke: var(--vscode-charts-blue, #1f77b4); stroke-width: 1.5; }
svg.gup-trace .pin { fill: none; stroke: var(--vscode-charts-purple, #9467bd); stroke-width: 1.5; stroke-dasharray: 3 2; }
svg.gup-trace .violation line { stroke: var(--vscode-errorForeground, #c00); stroke-width: 2; }
svg.gup-trace .violation text { fill: var(--vscode-errorForeground, #c00); font-weight: bold; }
svg.gup-trace [data-line] { cursor: pointer; }
${CPU_COLOURS.map((c, i) => `svg.gup-trace .cpu${i} { --c: ${c}; } svg.gup-trace rect.cpu${i} { stroke: var(--c); } svg.gup-trace text.cpu${i} { fill: var(--c); } svg.gup-trace .mark.cpu${i} { fill: var(--c); stroke: var(--c); }`).join('\n')}
`;

/** Words into lines of at most `max` characters (a word longer than a line is cut into lines of its own). */
function wrap(text: string, max: number): string[] {
  const out: string[] = [];
  const words = text.split(/\s+/).filter(Boolean).flatMap((w) => (w.length <= max ? [w] : (w.match(new RegExp(`.{1,${max}}`, 'g')) ?? [w])));
  for (const word of words) {
    const last = out.length ? out[out.length - 1] : undefined;
    if (last !== undefined && last.length + 1 + word.length <= max) out[out.length - 1] = `${last} ${word}`;
    else out.push(word);
  }
  return out.length ? out : [''];
}

/** The walk and the timeline of a trace, as one SVG document. */
export function traceSvg(p: TracePicture): string {
  let walk = renderWalk(p, 30);
  const width = Math.max(760, walk.width);
  // a title wider than the picture wraps, and the walk starts below its last line
  const head = wrap(p.title, Math.floor((width - 20) / 7.6));
  const top = 14 + 16 * head.length;
  if (top !== 30) walk = renderWalk(p, top);
  const tl = renderTimeline(p, top + walk.height, width);
  const height = top + walk.height + tl.height;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" class="gup-trace" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" aria-labelledby="t">`,
    `<title id="t">${esc(p.title)}</title>`,
    `<style>${STYLE}</style>`,
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0 0L10 5L0 10z" fill="currentColor"/></marker></defs>',
    ...head.map((line, i) => `<text class="h" x="10" y="${18 + 16 * i}">${esc(line)}</text>`),
    walk.svg,
    tl.svg,
    '</svg>',
  ].join('\n');
}
