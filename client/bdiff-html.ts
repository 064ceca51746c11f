/**
 * The behaviour diff view's page (no vscode here, so it can be rendered and tested on its own):
 * the two traces as a table, a row per aligned step, the op as its class; a cell whose step the
 * open file has a line for carries it in data-line.
 */
import type { Aligned, BehaviourDiff } from '../server/evolution/bdiff';
import { esc } from '../server/pictures/markup';


function cell(s: Aligned['from'], line: number | undefined): string {
  if (!s) return '<td class="none"></td>';
  const what = `${s.fn}: ${s.event} ${s.anchor}${s.page?.ref !== undefined ? ` ref ${s.page.ref > 0 ? '+' : ''}${s.page.ref}` : ''}${s.page?.pin ? ` pin +${s.page.pin}` : ''}${s.entry ? ` ${s.entry.level}=${s.entry.raw}` : ''}${s.note ? ` — ${s.note}` : ''}`;
  return `<td${line !== undefined ? ` data-line="${line}" title="line ${line + 1}"` : ''}>${esc(what)}</td>`;
}

/** The page, under a nonce-based Content Security Policy. */
export function bdiffHtml(d: BehaviourDiff, lf: (number | undefined)[], lt: (number | undefined)[], nonce: string): string {
  const result = (r: BehaviourDiff['from']['result']) => (r.verdict ? `${r.verdict}${r.message ? `: ${r.message}` : ''}` : `nr ${r.nr}${r.slowPath ? `, slow path (fast ${r.fastNr})` : ', fast path only'}`);
  const rows = d.aligned.map((x, i) => `<tr class="${x.op}"><td class="op">${x.op}</td>${cell(x.from, lf[i])}${cell(x.to, lt[i])}</tr>`).join('\n');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body { color: var(--vscode-editor-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-editor-font-family); font-size: 12px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; vertical-align: top; padding: 2px 6px; border-bottom: 1px solid var(--vscode-editorWidget-border, #8884); }
tr.same td { opacity: 0.6; }
tr.changed td { background: var(--vscode-diffEditor-insertedTextBackground, #ff03); }
tr.added td:nth-child(3), tr.removed td:nth-child(2) { background: var(--vscode-diffEditor-insertedLineBackground, #0f03); }
tr.removed td:nth-child(2) { background: var(--vscode-diffEditor-removedLineBackground, #f003); }
body.hide-same tr.same { display: none; }
td[data-line] { cursor: pointer; text-decoration: underline dotted; }
td.op { opacity: 0.7; }
</style></head><body>
<h2 id="t">${esc(d.from.version)} ↔ ${esc(d.to.version)} · ${esc(d.scenario)} on ${esc(d.arch)}</h2>
<p>${esc(d.from.version)}: ${esc(result(d.from.result))}<br>${esc(d.to.version)}: ${esc(result(d.to.result))}</p>
<p>${d.summary.same} steps the same, ${d.summary.changed} changed, ${d.summary.added} added, ${d.summary.removed} removed.
<label><input type="checkbox" id="hide"> hide the steps both share</label></p>
<table aria-labelledby="t"><thead><tr><th></th><th>${esc(d.from.version)}</th><th>${esc(d.to.version)}</th></tr></thead>
<tbody>${rows}</tbody></table>
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.querySelectorAll('[data-line]').forEach((el) => el.addEventListener('click', () => vscode.postMessage({ reveal: Number(el.getAttribute('data-line')) })));
document.getElementById('hide').addEventListener('change', (e) => document.body.classList.toggle('hide-same', e.target.checked));
</script></body></html>`;
}

