/**
 * A review as a plain-text mail reply, the way the lists quote: the hunk as `> ` lines, then what
 * gup-lens found on both sides, and for a verdict that flips the CPU0/CPU1 diagram of the side
 * that violates it.
 */
import { raceDiagram } from '../../emulator/trace/diagram';
import type { FunctionReview, PatchReview } from './review';

export function replyFor(p: PatchReview, f?: FunctionReview): string {
  const out: string[] = [];
  if (f) {
    out.push(`On the patch "${p.subject}", in ${f.file}:`, '', ...f.hunk.map((l) => `> ${l}`.trimEnd()), '');
    const arches = [...new Set([...Object.keys(f.before ?? {}), ...Object.keys(f.after ?? {})])] as (keyof NonNullable<FunctionReview['before']>)[];
    out.push(`gup-lens ran ${f.name}() on both sides of this change (base: ${p.base.kind}${p.base.rev ? ` ${p.base.rev}` : ''}):`);
    for (const a of arches) {
      out.push(`  ${a}:`, `    before: ${f.before?.[a] ?? '(the function is new)'}`, `    after:  ${f.after?.[a] ?? '(the function is gone)'}`);
    }
  } else out.push(`On the patch "${p.subject}" (base: ${p.base.kind}${p.base.rev ? ` ${p.base.rev}` : ''}):`);
  const flips = p.races.filter((r) => r.flip);
  const same = p.races.filter((r) => !r.flip);
  out.push('');
  if (!f && !p.functions.length && !p.problems.length) out.push('It touches no GUP-fast function: gup-lens has nothing to replay or explore in it.');
  else if (!p.races.length) out.push('No race scenario applies to the code it changes.');
  for (const r of flips) {
    out.push(r.flip === 'fixed' ? `This fixes ${r.scenario} on ${r.arch}: before, ${r.message ?? 'a violation'}; after, none within the explorer's bounds.` : `This introduces a violation of ${r.scenario} on ${r.arch}: ${r.message ?? ''}`);
    if (r.counterexample && r.actors) out.push('', ...raceDiagram(r.counterexample, r.actors, { violation: r.message }).split('\n').map((l) => `    ${l}`.trimEnd()), '');
  }
  if (same.length) out.push(`Unchanged: ${same.map((r) => `${r.scenario} on ${r.arch} (${r.before === r.after ? r.after : `${r.before} -> ${r.after}`})`).join(', ')}.`);
  if (!f && p.behaviour.length) out.push('', 'Built-in scenarios whose outcome changes:', ...p.behaviour.map((b) => `  ${b.scenario} on ${b.arch}: ${b.before} -> ${b.after}`));
  for (const x of p.problems) out.push(`Not reviewed: ${x}.`);
  for (const x of p.notes) out.push(`Note: ${x}.`);
  return out.join('\n').replace(/\n{3,}/g, '\n\n') + '\n';
}
