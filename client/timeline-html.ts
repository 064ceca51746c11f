/**
 * The behaviour timeline's page (no vscode here, so it renders and tests on its own): commits or
 * tags along, (race, arch) rows down, then the built-in scenarios' rows where something happens;
 * each cell its verdict as a class, a flip marked on the
 * commit where it happens. A cell carries its rev, race and arch; a commit heading its rev (for
 * its diff).
 */
import type { Sweep, SweepCell } from '../server/evolution/sweep';
import { esc } from '../server/pictures/markup';
import { RACES } from '../emulator/scenarios/races';

const MARK: Record<SweepCell['verdict'], string> = { violation: '✗', ok: '✓', 'n/a': '·', unsupported: '?' };
const SAY: Record<SweepCell['verdict'], string> = { violation: 'violation', ok: 'ok', 'n/a': 'does not apply', unsupported: 'could not run' };

const RACE_IDS = new Set(RACES.map((r) => r.id));

export function timelineHtml(s: Sweep, repo: string, nonce: string): string {
  const at = new Map(s.cells.map((c) => [`${c.scenario} ${c.arch} ${c.rev}`, c]));
  const flips = new Map(s.flips.map((f) => [`${f.scenario} ${f.arch} ${f.rev}`, f.flip]));
  const all = [...new Set(s.cells.map((c) => `${c.scenario} ${c.arch}`))].sort();
  // every race row; a built-in scenario's row where something happens in it (a violation, code that could not run, a flip)
  const eventful = (row: string) => s.commits.some((c) => flips.has(`${row} ${c.rev}`) || ['violation', 'unsupported'].includes(at.get(`${row} ${c.rev}`)?.verdict ?? ''));
  const races = all.filter((row) => RACE_IDS.has(row.split(' ')[0]));
  const scenarios = all.filter((row) => !RACE_IDS.has(row.split(' ')[0]));
  const shown = scenarios.filter(eventful);
  const rows = [...races, ...shown];
  const head = s.commits
    .map((c) => `<th scope="col" data-diff="${esc(c.rev)}" data-file="${esc(c.files[0] ?? '')}" title="${esc(`${c.rev.slice(0, 12)} ${c.date}: ${c.subject}${c.files.length ? ' (click: its diff)' : ' (no GUP-fast file at a kernel path: mm/gup.c, arch/*/mm/gup.c)'}`)}"><span>${esc(c.subject.slice(0, 40))}</span></th>`)
    .join('');
  const body = rows
    .map((row) => {
      const [scenario, arch] = row.split(' ');
      const cells = s.commits
        .map((c) => {
          const x = at.get(`${row} ${c.rev}`);
          if (!x) return '<td class="none"></td>';
          const flip = flips.get(`${row} ${c.rev}`);
          const why = `${scenario} on ${arch} at ${c.rev.slice(0, 12)}: ${SAY[x.verdict]}${x.by ? ` (through ${x.by})` : ''}${flip ? ` — ${flip} here` : ''}`;
          return `<td class="${x.verdict.replace('/', '')}${flip ? ` flip ${flip}` : ''}" data-rev="${esc(c.rev)}" data-file="${esc(c.files[0] ?? '')}" data-scenario="${esc(scenario)}" data-arch="${esc(arch)}" title="${esc(why)}" aria-label="${esc(why)}">${MARK[x.verdict]}${flip ? (flip === 'fixed' ? ' fixed' : ' broke') : ''}</td>`;
        })
        .join('');
      return `<tr><th scope="row">${esc(scenario)} <span class="arch">${esc(arch)}</span></th>${cells}</tr>`;
    })
    .join('\n');
  const flipList = s.flips.map((f) => `<li>${esc(f.scenario)} on ${esc(f.arch)}: <b>${f.flip}</b> by ${esc(f.rev.slice(0, 12))} ${esc(f.subject)}</li>`).join('');
  return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<style nonce="${nonce}">
body { color: var(--vscode-editor-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); font-size: 12px; }
table { border-collapse: collapse; }
th, td { padding: 2px 6px; border: 1px solid var(--vscode-editorWidget-border, #8884); text-align: center; }
thead th { vertical-align: bottom; height: 9em; white-space: nowrap; cursor: pointer; }
thead th span { writing-mode: vertical-rl; transform: rotate(180deg); }
th[scope=row] { text-align: left; white-space: nowrap; }
.arch { opacity: 0.7; }
td.violation { background: var(--vscode-inputValidation-errorBackground, #f003); cursor: pointer; }
td.ok { background: var(--vscode-diffEditor-insertedTextBackground, #0f02); }
td.na, td.none { opacity: 0.5; }
td.unsupported { background: var(--vscode-inputValidation-warningBackground, #fa02); }
td.flip { outline: 2px solid var(--vscode-focusBorder, #07f); font-weight: bold; }
</style></head><body>
<h2 id="t">Behaviour timeline of ${esc(repo)}</h2>
<p>${s.commits.length} commits or tags that changed GUP-fast code, ${races.length} (race, arch) rows${scenarios.length ? `, ${shown.length} (built-in scenario, arch) rows with a violation, code that could not run or a flip (${scenarios.length - shown.length} more ok or not applying throughout)` : ''}. ✗ violation · ✓ ok · · does not apply · ? could not run. Click a violation for its counterexample or replay, a commit for its diff.</p>
<table aria-labelledby="t"><thead><tr><th></th>${head}</tr></thead><tbody>
${body}
</tbody></table>
${flipList ? `<h3>Flips</h3><ul>${flipList}</ul>` : '<p>No verdict flips in this range.</p>'}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.querySelectorAll('td.violation').forEach((el) => el.addEventListener('click', () => vscode.postMessage({ open: { rev: el.dataset.rev, file: el.dataset.file, scenario: el.dataset.scenario, arch: el.dataset.arch } })));
document.querySelectorAll('th[data-diff]').forEach((el) => el.addEventListener('click', () => vscode.postMessage({ diff: { rev: el.dataset.diff, file: el.dataset.file } })));
</script></body></html>`;
}
