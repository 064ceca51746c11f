/**
 * What the language server shows, computed from an Analysis: the hover's Markdown per arch,
 * the CodeLenses, and the replay view the client decorates the editor with. No protocol here;
 * server.ts only translates.
 */
import type { ArchId, ArchModel } from '../../emulator/arch/types';
import { getScenario } from '../../emulator/scenarios';
import { describeStep, formatStep, stoppedWhy, word32 } from '../../emulator/trace/describe';
import type { Step } from '../../emulator/trace/types';
import { archesFor, planFunctions, planStopsOf, racesOf, replayFunction, type Analysis, type ArchReplay, type RaceClaim } from '../analysis/analyze';
import { getArch } from '../../emulator/arch';
import { releaseNumber } from '../../emulator/arch/release';
import { checkApplicable, NotApplicableError } from '../../emulator/run/replay';
import { SLOW_PATH } from '../../emulator/interp/kapi/slow';
import { stubbable } from '../../emulator/interp/kapi/stubs';
import { fileVersion, peekFileVersion } from '../analysis/source';
import type { SourceVersion } from '../../emulator/interp/source-version';
import { CLIENT_COMMANDS, type LineValue, type ReplayView } from '../protocol';
import { traceSvg } from '../pictures/trace-svg';

export const ARCH_LABEL: Record<ArchId, string> = { 'x86-64': 'x86-64', 'x86-pae': 'PAE', 'arm-lpae': 'ARM LPAE', arm64: 'arm64' };
const ARCH_ORDER: ArchId[] = ['x86-64', 'x86-pae', 'arm-lpae', 'arm64'];

export interface Lens {
  line: number;
  title: string;
  command: string;
  args: unknown[];
}

/**
 * Replay / Races / History above every GUP-fast function. A function's Replay lens runs a
 * scenario that executes it (planFunctions), on the arches where one does, and says whose code
 * that is: "your code" only where the file's own code runs that function there. The plans take a
 * compile and a few replays; a request waits for them up to `waitMs`, else it answers with
 * lenses that name no engine and `compiled` asks the client for the final ones later.
 * A slow-path function the file defines gets a label: the emulator's slow path runs there.
 */
export async function lensesFor(a: Analysis, uri: string, compiled?: () => void, waitMs = 1500): Promise<Lens[]> {
  const out: Lens[] = [];
  if (!a.gupFunctions.length) {
    // a gup.c without GUP-fast code (a 3.x tree's mm/gup.c: x86 walks with arch/x86/mm/gup.c) says so once; any other C file stays quiet
    if (GUP_FILE.test(a.req.path ?? '')) {
      const note = archesFor(a).note;
      out.push({ line: 0, title: `gup-lens: no GUP-fast code in this file (get_user_pages_fast and its walkers)${note ? `; ${note}` : ''}`, command: '', args: [] });
    }
    return out;
  }
  const all = Promise.all(ARCH_ORDER.map((arch) => planFunctions(a, arch)));
  let timer: NodeJS.Timeout | undefined;
  const plans = await Promise.race([all, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), waitMs)))]);
  clearTimeout(timer);
  if (!plans && compiled) void all.then(() => compiled(), () => undefined);
  for (const f of a.gupFunctions) {
    // an #else stub that no arch's configuration compiles in gets no lens at all
    if (plans && !ARCH_ORDER.some((arch) => compiledIn(a, arch, f.nameLine))) continue;
    const on = plans ? ARCH_ORDER.filter((arch, i) => plans[i].has(f.name) && compiledIn(a, arch, f.nameLine)) : ARCH_ORDER;
    if (on.length) {
      const engine = (arch: ArchId) => {
        const p = plans![ARCH_ORDER.indexOf(arch)].get(f.name)!;
        return p.engine === 'source' ? 'your code' : `model ${a.version?.id}`;
      };
      const same = plans && new Set(on.map(engine)).size === 1;
      on.forEach((arch, i) => {
        const title = (i === 0 ? `Replay${same ? ` (${engine(arch)})` : ''}: ` : '') + ARCH_LABEL[arch] + (plans && !same ? ` (${engine(arch)})` : '');
        out.push({ line: f.nameLine, title, command: CLIENT_COMMANDS.replay, args: [{ uri, fn: f.name, arch }] });
      });
      out.push({ line: f.nameLine, title: 'Races', command: CLIENT_COMMANDS.races, args: [{ uri, fn: f.name, version: a.version?.id }] });
    }
    out.push({ line: f.nameLine, title: 'History', command: CLIENT_COMMANDS.history, args: [{ uri, fn: f.name }] });
  }
  if (a.version) {
    for (const f of a.file.functions) {
      if (SLOW_PATH.has(f.name)) out.push({ line: f.nameLine, title: `slow path: built-in (${SLOW_PATH_WHY})`, command: '', args: [] });
    }
  }
  return out;
}

/** A tree's GUP file: mm/gup.c, or an arch's own arch/<arch>/mm/gup.c. */
const GUP_FILE = /(^|[\\/])(arch[\\/][\w-]+[\\/])?mm[\\/]gup\.c$/;

/** Whether the arch's configuration compiles this definition in (an #else stub of the same name does not run there). */
function compiledIn(a: Analysis, arch: ArchId, nameLine: number): boolean {
  const fv = a.version && peekFileVersion(a.text, { arch, version: a.version.id, ...a.req });
  return !fv?.source || !!fv.source.pre.active[nameLine + 1];
}

/** A document closed: nothing of its lenses is kept here (plans live with its analysis). */
export function forgetLenses(_uri: string): void {}

/**
 * What the file's own code lacks, as diagnostics: each name the compiled code reaches that nothing
 * binds, on its line, with the arches it stops; a call gets a quick fix (a stub) from the server.
 * Empty until the file is compiled.
 */
export function diagnosticsFor(a: Analysis): { line: number; message: string; name?: string; value?: true; warning?: true }[] {
  if (!a.version) return [];
  // the file's own outcome where C gives none: a finding about the file, not a gap of gup-lens
  const stops = planStopsOf(a).map((st) => ({ line: st.line - 1, message: `gup-lens: ${st.why}; the call stops there (${st.runs.slice(0, 3).join(', ')}${st.runs.length > 3 ? ` and ${st.runs.length - 3} more` : ''}).`, warning: true as const }));
  const at = new Map<string, { line: number; arches: ArchId[]; assumed?: boolean }>();
  const add = (what: string, line: number, arch: ArchId, assumed?: boolean) => {
    const x = at.get(what) ?? { line, arches: [], assumed };
    x.arches.push(arch);
    at.set(what, x);
  };
  for (const arch of ARCH_ORDER) {
    const fv = peekFileVersion(a.text, { arch, version: a.version.id, ...a.req });
    for (const [what, line] of fv?.source?.program.unknown ?? []) add(what, line, arch);
    for (const [name, line] of fv?.source?.program.assumed ?? []) add(`call to ${name}()`, line, arch, true);
    for (const [what, line] of fv?.source?.program.zeroFields ?? []) add(what, line, arch, true);
  }
  return [...stops, ...[...at].map(([what, x]) => {
    const s = stubbable(what);
    const name = s?.call ? s.name : undefined;
    // a name read as a value (a header's global or constant, a static key of another file): a stub gives it one
    const valued = s && !s.call ? s.name : undefined;
    const where = x.arches.map((y) => ARCH_LABEL[y]).join(', ');
    const message = !name && x.assumed
      ? `gup-lens: ${what} is ${what.startsWith('mm->context.') ? "the arch's own per-mm state" : 'a field this tree adds to mm_struct'}, which gup-lens does not model: runs that reach it on ${where} read it as 0, as in an mm that has not used it.`
      : name && x.assumed
      ? `gup-lens: ${name}() is not in the kernel-API census (a vendor hook?) and its value is unused: runs that reach it on ${where} take it as doing nothing. A quick fix can say what it does in this workspace.`
      : name
      ? `gup-lens: ${name}() is not in the kernel-API census (a vendor hook?): runs that reach it on ${where} stop here and the model runs instead. A quick fix can say what it does in this workspace.`
      : valued
      ? `gup-lens: ${what.replace(/^identifier /, '')} is not bound by the census or the tree's headers: runs that reach it on ${where} stop here and the model runs instead. A quick fix can give it a value in this workspace.`
      : `gup-lens: ${what} is not bound by the census or the tree's headers: runs that reach it on ${where} stop here and the model runs instead.`;
    return { line: x.line - 1, message, ...(name && { name }), ...(valued && { name: valued, value: true as const }) };
  })];
}

/** Whose code a replay ran, as the hover and the replay view say it. */
export function engineLabel(r: ArchReplay, version: string | undefined): string {
  if (r.engine === 'source') {
    const stubs = (r.replay?.version as SourceVersion | undefined)?.stubsUsed ?? [];
    return stubs.length ? `your code, with stubs ${stubs.join(', ')}` : 'your code';
  }
  return `model ${version ?? '?'}${r.unsupported ? ` (your code stopped: ${r.unsupported.what} at line ${r.unsupported.line})` : ''}`;
}

const hexPfn = (n: number) => '0x' + n.toString(16);

/** Markdown lines for one arch: levels walked, entries read, refs, result. */
function archSummary(fn: string, r: ArchReplay): string {
  const label = `**${ARCH_LABEL[r.arch]}**`;
  if (!r.replay) return `${label}: n/a — ${r.na}`;
  const rp = r.replay;
  const steps = rp.steps;
  // a folded level's load reads the entry above it: name the levels the arch really has
  const loaded = [...new Set(steps.filter((s) => s.event === 'load' && s.level).map((s) => s.level!))];
  const real = new Set(rp.arch.levels.map((l) => l.level));
  const levels = loaded.filter((l) => real.has(l));
  const folded = loaded.filter((l) => !real.has(l));
  const mine = steps.filter((s) => s.fn === fn);
  const entries = new Map<string, string>();
  for (const s of mine) {
    // a whole entry: a PAE half read alone (gup_get_pte's) is not one
    if ((s.event === 'load' || s.event === 'check') && s.level && s.lo !== undefined && s.hi !== undefined && entries.size < 2) {
      const d = describeStep(rp.arch, rp.version.era, s, 0).entry!;
      entries.set(d.raw, `${d.level} \`${d.raw}\` ${d.flags.join('|')}`);
    }
  }
  const refs = new Map<number, { ref: number; pin: number }>();
  for (const s of mine) {
    if ((s.event === 'ref' || s.event === 'unref') && s.pfn !== undefined && s.ref !== undefined) {
      const x = refs.get(s.pfn) ?? { ref: 0, pin: 0 };
      x.ref += s.ref;
      x.pin += s.pin ?? 0;
      refs.set(s.pfn, x);
    }
  }
  const refText = [...refs].slice(0, 3).map(([p, x]) => `${hexPfn(p)} ${x.ref >= 0 ? '+' : ''}${x.ref}${x.pin ? ` (pincount +${x.pin})` : ''}`);
  const more = refs.size > 3 ? ` … ${refs.size} pages` : '';
  const res = rp.result;
  const stopped = stoppedWhy(res);
  const result = `nr=${res.nr}${res.slowPath ? `, slow path ran (fast path got ${res.fastNr})` : ', fast path only'}${stopped ? `; ${stopped}` : ''}`;
  const parts = [
    `walked ${levels.join(' → ') || '—'}${folded.length ? ` (${folded.join(', ')} folded)` : ''}`,
    entries.size ? `read ${[...entries.values()].join('; ')}` : undefined,
    refs.size ? `refs: ${refText.join(', ')}${more}` : undefined,
    result,
  ].filter(Boolean);
  const mapped = r.mapping!.places.filter((p, i) => steps[i].fn === fn && p.line !== undefined).length;
  parts.push(`${mapped}/${mine.length} of its steps on this file's lines`);
  return `${label} (${engineLabel(r, rp.version.id)}): ${parts.join(' · ')}`;
}

const SLOW_PATH_WHY = "GUP-fast runs from this file; what it falls back to is the emulator's model of GUP under mmap_lock";

/** Hover on a slow-path function, defined or called: the lens's word for it, since no replay runs the file's own definition. */
export function slowPathHover(name: string): string | undefined {
  return SLOW_PATH.has(name) ? `### ${name} — slow path: built-in\n\n${SLOW_PATH_WHY} (faulting pages in, then taking each reference or pin), not this file's definition of \`${name}\`.` : undefined;
}

const cmdLink = (title: string, command: string, args: unknown) => `[${title}](command:${command}?${encodeURIComponent(JSON.stringify([args]))})`;

/**
 * The model's race claims that concern this file: on an arch its code is for and, where its own
 * code compiles there, a race that can meet that code (a 4.4 file matched to a FOLL_PIN model has
 * no pins for race-fork-pin to break). Each link explores the file's own code.
 */
async function racesHere(a: Analysis, uri: string | undefined): Promise<{ has: RaceClaim[]; fixes: RaceClaim[]; own: boolean }> {
  const { has, fixes } = racesOf(a.version!.id);
  const arches = archesFor(a).arches;
  const own = new Map<ArchId, SourceVersion | undefined>();
  for (const arch of arches) own.set(arch, await fileVersion(a.text, { arch, version: a.version!.id, ...a.req }).then((fv) => fv.source, () => undefined));
  // a claim on an arch this file's code is not for (another arch's own walker: none) is nothing to show here
  const onArch = (c: RaceClaim) => arches.includes(c.run.arch);
  if (![...own.values()].some(Boolean)) return { has: has.filter(onArch), fixes: fixes.filter(onArch), own: false };
  const fits = (c: RaceClaim) => {
    if (!onArch(c)) return false;
    const v = own.get(c.run.arch);
    if (!v) return true;
    try {
      checkApplicable(getArch(c.run.arch), v, c.race);
      return true;
    } catch (e) {
      if (e instanceof NotApplicableError) return false;
      throw e;
    }
  };
  return { has: has.filter(fits), fixes: fixes.filter(fits), own: !!uri };
}

/** "model", or, where the file's own release is older than its model's (a 4.4.y file with 5.2's code backported), what the model is to it. */
function modelLabel(v: { since: string }, replays: ArchReplay[]): string {
  const own = replays.map((r) => (r.engine === 'source' ? (r.replay?.version as SourceVersion | undefined)?.placement?.since : undefined)).find(Boolean);
  return own && releaseNumber(own) < releaseNumber(v.since) ? `model (the nearest to its backports' code; the file's own release is older)` : 'model';
}

export async function hoverFor(a: Analysis, fn: string, uri?: string): Promise<string | undefined> {
  if (!a.version || !a.gupFunctions.some((f) => f.name === fn)) return undefined;
  const v = a.version;
  const replays = await Promise.all(ARCH_ORDER.map((arch) => replayFunction(a, fn, arch)));
  const scenario = replays[0].scenario;
  const lines = [
    `### ${fn} — \`${v.id}\`${a.fingerprint ? ` (confidence ${a.fingerprint.confidence.toFixed(2)})` : ''}`,
    `${a.fingerprint?.release ? `This file: **${a.fingerprint.release.range}** (by ${a.fingerprint.release.by.map((n) => '`' + n + '`').join(', ')}) · ` : ''}${modelLabel(v, replays)}: ${v.title} · ${v.kernels} · ${v.files.join(', ')}`,
    '',
    `Default replay: **${scenario.id}** — ${scenario.title}`,
    '',
    ...replays.map((r) => '- ' + archSummary(fn, r)),
  ];
  const { has, fixes, own } = await racesHere(a, uri);
  const link = (c: RaceClaim) => cmdLink(c.race.id, CLIENT_COMMANDS.explore, own ? { scenario: c.race.id, arch: c.run.arch, uri } : { scenario: c.race.id, version: v.id, arch: c.run.arch });
  if (has.length || fixes.length) {
    lines.push('', own ? `**Races** (\`${v.id}\`'s, those that can meet this file's code; a link explores the file's own code)` : `**Races** (the \`${v.id}\` model's; a link explores the model)`);
    if (has.length) lines.push(`- known to have: ${has.map(link).join(', ')}`);
    if (fixes.length) lines.push(`- fixes: ${fixes.map(link).join(', ')}`);
  }
  // a return has no statement of its own to find (a call the walk left by an outcome such as an overrun is unwound without one)
  const missing = [...new Set(replays.flatMap((r) => (r.mapping ? r.replay!.steps.map((s, i) => (s.fn === fn && s.event !== 'return' && r.mapping!.places[i].line === undefined ? s.anchor : '')) : [])).filter(Boolean))];
  if (missing.length) lines.push('', `Not found in this file: ${missing.map((m) => '`' + m + '`').join(', ')}`);
  return lines.join('\n');
}

/** The text shown at the end of an executed line: what happened there (the last time). */
function inlineValue(s: Step, arch: ArchModel, era: Parameters<typeof describeStep>[1], sameLineBefore: boolean): string {
  // a 32-bit half of a PAE entry shows that half; a line that read both halves shows the entry
  if (s.level && s.event === 'load') {
    if (s.lo !== undefined && s.hi === undefined) return `${s.level} low half=${word32(s.lo)}`;
    if (s.hi !== undefined && (s.lo === undefined || (s.note?.startsWith('high half') && !sameLineBefore))) return `${s.level} high half=${word32(s.hi)}`;
  }
  const d = describeStep(arch, era, s, 0);
  if (d.entry && !d.entry.half) return `${d.entry.level}=${d.entry.raw} ${d.entry.flags.join('|')}`;
  if (d.page?.ref !== undefined) return `page ${d.page.pfn} ref ${d.page.ref >= 0 ? '+' : ''}${d.page.ref}${d.page.pin ? ` pin +${d.page.pin}` : ''}`;
  if (d.event === 'record' && d.nr !== undefined) return `nr=${d.nr}`;
  if (d.event === 'return' && d.ret !== undefined) return `returns ${d.ret}`;
  if (d.event === 'bail') return `bail${d.note ? ': ' + d.note : ''}`;
  if (d.event === 'stmt') return 'executed';
  return d.note ?? d.event;
}

export async function replayView(a: Analysis, fn: string, arch: ArchId, scenarioId?: string, picture = true): Promise<ReplayView> {
  const scenario = scenarioId && scenarioId !== 'auto' ? getScenario(scenarioId) : undefined;
  const r = await replayFunction(a, fn, arch, scenario);
  // nothing ran where the replay is n/a: no engine to name
  const base = { fn, arch, version: a.version?.id, engine: r.replay ? engineLabel(r, a.version?.id) : undefined, scenario: r.scenario.id, lines: [] as LineValue[], trace: [] as string[], missing: [] as string[] };
  if (!r.replay || !r.mapping) return { ...base, na: r.na };
  const rp = r.replay;
  const byLine = new Map<number, LineValue>();
  let prev: number | undefined;
  const trace = rp.steps.map((s, i) => {
    const line = r.mapping!.places[i].line;
    if (line !== undefined) {
      // what happened there the last time, and how often: a statement's 'stmt' step counts a hit; a
      // model has none, so a run of its steps on one line is one execution (both PAE halves, once)
      const lv = byLine.get(line);
      const hit = s.event === 'stmt' || (r.engine === 'model' && prev !== line);
      const informative = s.event !== 'stmt';
      const text = () => inlineValue(s, rp.arch, rp.version.era, prev === line);
      if (!lv) byLine.set(line, { line, text: text(), hits: hit ? 1 : 0 });
      else {
        if (hit) lv.hits++;
        if (informative) lv.text = text();
      }
    }
    prev = line;
    return `${line === undefined ? '   -' : String(line + 1).padStart(4)} ${formatStep(describeStep(rp.arch, rp.version.era, s, i))}`;
  });
  const { nr, ret, slowPath, fastNr } = rp.result;
  const places = r.mapping.places;
  const index = new Map(rp.steps.map((s, i) => [s, i]));
  // the picture is a layout (tens of ms on a long walk): drawn only for a view that shows it
  const svg = picture ? traceSvg({ title: `${fn}: ${r.scenario.id} on ${arch} (${base.engine ?? base.version})`, arch: rp.arch, era: rp.version.era, steps: rp.steps, actors: ['gup'], lineOf: (s) => places[index.get(s) ?? -1]?.line }) : undefined;
  return { ...base, result: { nr, ret, slowPath, fastNr }, lines: [...byLine.values()].sort((x, y) => x.line - y.line), trace, missing: r.mapping.missing, ...(svg && { svg }) };
}

/** The identifier at `character` of a line, if any. */
export function wordAt(lineText: string, character: number): string | undefined {
  const re = /[A-Za-z_]\w*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(lineText))) if (character >= m.index && character <= m.index + m[0].length) return m[0];
  return undefined;
}
