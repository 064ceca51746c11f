/**
 * Lenses on a patch document (a mailed patch, a format-patch series, a diff): on each mail, its
 * base and what flips; on each hunk that touches a GUP-fast function, the function before and
 * after, the races before -> after, and a reply to copy. The functions come first (a second or
 * less), the races after them (seconds: every race on both sides); the client is asked again as
 * each arrives. Reviews are kept per document version.
 */
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ArchId } from '../../emulator/arch/types';
import { raceDiagram } from '../../emulator/trace/diagram';
import { treeRoot } from '../analysis/headers';
import { looksLikePatch, NotAPatchError } from '../evolution/patch';
import { replyFor } from '../evolution/reply';
import { review, type FunctionReview, type PatchReview, type Review } from '../evolution/review';
import { CLIENT_COMMANDS } from '../protocol';
import type { Lens } from './views';
import type { Stubs } from '../../emulator/interp/kapi/stubs';

/** per document: its review without races (fast: the lenses), then with them (the flips) */
interface Entry {
  version: number;
  result?: Review | Error;
  /** the races are still being explored (the lenses say so) */
  racing: boolean;
}
const reviews = new Map<string, Entry>();

/** A document the patch lenses are for: a diff by language, or any text with a diff header and a hunk that is not C. */
export function isPatchDocument(languageId: string, text: string): boolean {
  return languageId === 'diff' || (languageId !== 'c' && looksLikePatch(text));
}

/**
 * The tree a patch is reviewed against: the git work tree above the file, else the kernel tree
 * it lies in without git (a source package's); the base is looked up there, nothing is written.
 */
export function reviewTreeOf(path: string | undefined): string | undefined {
  let d = path && dirname(path);
  for (let i = 0; d && i < 40; i++) {
    if (existsSync(join(d, '.git'))) return d;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return path ? treeRoot(path) : undefined;
}

export function forgetPatch(uri: string): void {
  reviews.delete(uri);
}

const label = (arch: string) => ({ 'x86-64': 'x86-64', 'x86-pae': 'PAE', 'arm-lpae': 'ARM LPAE', arm64: 'arm64' })[arch] ?? arch;

function short(s: string | undefined): string {
  if (!s) return '-';
  const m = /nr=(\d+)(, slow path after (\d+))?/.exec(s);
  return m ? `nr=${m[1]}${m[2] ? ` (slow after ${m[3]})` : ''}` : s.startsWith('n/a') ? 'n/a' : s;
}

function functionText(p: PatchReview, f: FunctionReview): string {
  const arches = [...new Set([...Object.keys(f.before ?? {}), ...Object.keys(f.after ?? {})])] as ArchId[];
  return [`${f.name} (${f.file}) in "${p.subject}":`, ...arches.flatMap((a) => [`  ${a}:`, `    before: ${f.before?.[a] ?? '(new)'}`, `    after:  ${f.after?.[a] ?? '(removed)'}`])].join('\n');
}

function racesText(p: PatchReview, file?: string): string {
  const rs = p.races.filter((r) => !file || r.file === file);
  return [
    `races before -> after, "${p.subject}":`,
    ...rs.map((r) => `  ${r.scenario.padEnd(26)} ${r.arch.padEnd(9)} ${r.before} -> ${r.after}${r.flip ? `  (${r.flip})` : ''}${r.unsupported ? `  [could not run: ${r.unsupported}]` : ''}`),
    ...rs.filter((r) => r.flip && r.counterexample && r.actors).map((r) => `\n${r.scenario} on ${r.arch}, the side that violates it:\n${raceDiagram(r.counterexample!, r.actors!, { violation: r.message })}`),
    ...(p.behaviour.length ? ['', 'built-in scenarios whose outcome changes:', ...p.behaviour.filter((b) => !file || b.file === file).map((b) => `  ${b.scenario.padEnd(26)} ${b.arch.padEnd(9)} ${b.before} -> ${b.after}`)] : []),
  ].join('\n');
}

function flipsTitle(p: PatchReview, file?: string): string {
  const rs = p.races.filter((r) => !file || r.file === file);
  const fixed = [...new Set(rs.filter((r) => r.flip === 'fixed').map((r) => r.scenario))];
  const intro = [...new Set(rs.filter((r) => r.flip === 'introduced').map((r) => r.scenario))];
  const parts = [...fixed.map((x) => `fixes ${x}`), ...intro.map((x) => `introduces a violation of ${x}`)];
  const changed = new Set(p.behaviour.filter((b) => !file || b.file === file).map((b) => b.scenario)).size;
  const scen = changed ? `; ${changed} built-in scenario(s) change outcome` : '';
  return parts.length ? parts.join(', ') + scen : `no verdict changes (${rs.length} race runs)${scen}`;
}

function lensesOf(uri: string, r: Review, racing: boolean): Lens[] {
  const out: Lens[] = [];
  const show = (title: string, text: string): Lens => ({ line: 0, title, command: CLIENT_COMMANDS.showText, args: [{ title, text }] });
  const at = (l: Lens, line: number): Lens => ({ ...l, line });
  const mails = [...r.patches, ...(r.series ? [r.series] : [])];
  for (const p of mails) {
    const whole = p === r.series;
    const flips = racing ? 'exploring the races…' : flipsTitle(p);
    out.push(at(show(`gup-lens${whole ? ', the series as a whole' : ''}: base ${p.base.kind}${p.base.rev ? ` ${p.base.rev.slice(0, 12)}` : ''} · ${p.functions.length} GUP-fast function(s) · ${flips}`, racesText(p)), p.line));
    out.push({ line: p.line, title: 'Copy as reply', command: CLIENT_COMMANDS.copyReply, args: [{ text: replyFor(p) }] });
    for (const x of p.problems) out.push({ line: p.line, title: `⚠ ${x}`, command: '', args: [] });
    for (const x of p.notes) out.push({ line: p.line, title: `ℹ ${x}`, command: '', args: [] });
    if (whole) continue;
    for (const f of p.functions) {
      const arches = [...new Set([...Object.keys(f.before ?? {}), ...Object.keys(f.after ?? {})])];
      const a = arches[0];
      const ba = a ? `${short(f.before?.[a as ArchId])} → ${short(f.after?.[a as ArchId])} (${label(a)}${arches.length > 1 ? ` +${arches.length - 1}` : ''})` : 'no arch of gup-lens runs it';
      out.push(at(show(`${f.name}: Before | After: ${ba}`, functionText(p, f)), f.line));
      out.push(at(show(`Races: before → after: ${racing ? 'exploring…' : flipsTitle(p, f.file)}`, racesText(p, f.file)), f.line));
      if (f.bdiff) out.push(at(show('Behaviour diff', f.bdiff), f.line));
      out.push({ line: f.line, title: 'Copy as reply', command: CLIENT_COMMANDS.copyReply, args: [{ text: replyFor(p, f) }] });
    }
  }
  return out;
}

/**
 * The lenses of a patch document at this version: the review's, once it is done; until then one
 * lens that says it is under way (and `done` is called when it is, for the client to ask again).
 */
export function patchLenses(uri: string, version: number, text: string, path: string | undefined, stubs: Stubs, done: () => void): Lens[] {
  let entry = reviews.get(uri);
  if (!entry || entry.version !== version) {
    if (reviews.size > 8) reviews.delete(reviews.keys().next().value!);
    const e: Entry = { version, racing: true };
    const tree = reviewTreeOf(path);
    const mine = () => reviews.get(uri) === e;
    // first the functions before and after (the lenses), then every race on both sides
    void review(text, { tree, races: false, stubs }).then(
      (r) => {
        if (!mine()) return;
        e.result = r;
        done();
        return review(text, { tree, stubs }).then((full) => {
          if (!mine()) return;
          e.result = full;
          e.racing = false;
          done();
        });
      },
      (err: Error) => {
        e.result = err;
        e.racing = false;
        if (mine()) done();
      },
    ).catch((err: Error) => {
      e.racing = false;
      if (mine()) {
        e.result = err;
        done();
      }
    });
    reviews.set(uri, (entry = e));
  }
  const r = entry.result;
  if (!r) return [{ line: 0, title: 'gup-lens: reviewing this patch (each touched GUP-fast function and every race, before and after)…', command: '', args: [] }];
  if (r instanceof NotAPatchError) return [];
  if (r instanceof Error) return [{ line: 0, title: `gup-lens: this patch could not be reviewed (${r.message})`, command: '', args: [] }];
  return lensesOf(uri, r, entry.racing);
}
