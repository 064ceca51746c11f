/**
 * The behaviour diff as a view: two version models on one scenario (or one race), their traces
 * side by side, aligned by what each step does, differences highlighted, nothing collapsed (the
 * steps both share are shown too, dimmed, and can be hidden with a checkbox). A step, on either
 * side, that the open file has a statement for links to that line. Defaults come from the open file: its version model on one
 * side, and the first scenario of the function under the cursor at the top of the list.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { RACES } from '../emulator/scenarios/races';
import { SCENARIOS } from '../emulator/scenarios';
import type { Step } from '../emulator/trace/types';
import { mapSteps } from '../server/analysis/mapping';
import { parseC } from '../server/analysis/parse';
import { behaviourDiff, modelChoices, type BehaviourDiff } from '../server/evolution/bdiff';
import { bdiffHtml } from './bdiff-html';
import { SERVER_COMMANDS } from '../server/protocol';
import type { GupContext } from './context';
import { serverCommand } from './replay';

export function activateBehaviourDiff(ctx: GupContext): void {
  let panel: vscode.WebviewPanel | undefined;
  let target: vscode.Uri | undefined;

  async function pickAndShow(): Promise<void> {
    const ed = vscode.window.activeTextEditor;
    const uri = ed?.document.languageId === 'c' || ed?.document.uri.scheme === 'gup-lens' ? ed.document.uri : undefined;
    const a = uri ? await serverCommand<{ version?: string; functions: { name: string; startLine: number; endLine: number }[] } | null>(ctx, SERVER_COMMANDS.analysis, { uri: uri.toString() }) : undefined;
    const info = a && !('error' in a) ? a : undefined;
    const mine = info?.version;
    const fnHere = info?.functions.find((f) => ed && ed.selection.active.line >= f.startLine && ed.selection.active.line <= f.endLine)?.name;
    const versions = (placeHolder: string, first?: string) =>
      vscode.window.showQuickPick(modelChoices(first), { placeHolder });
    const from = (await versions(mine ? `Older version model (this file: ${mine})` : 'Older version model', mine))?.label;
    const to = from && (await versions(`Compare ${from} with…`))?.label;
    if (!from || !to) return;
    const showcase = SCENARIOS.filter((s) => fnHere && s.showcases?.includes(fnHere)).map((s) => s.id);
    const items = [
      ...SCENARIOS.map((s) => ({ label: s.id, description: s.title + (showcase.includes(s.id) ? ' · shows this function' : ''), arch: undefined as string | undefined })).sort((x, y) => Number(showcase.includes(y.label)) - Number(showcase.includes(x.label))),
      ...RACES.map((r) => ({ label: r.id, description: `race · ${r.title}`, arch: r.before.arch as string | undefined })),
    ];
    const sc = await vscode.window.showQuickPick(items, { placeHolder: 'Scenario or race' });
    if (!sc) return;
    const arch = await vscode.window.showQuickPick(['x86-64', 'x86-pae', 'arm-lpae', 'arm64'].sort((x, y) => Number(y === sc.arch) - Number(x === sc.arch)), { placeHolder: 'Arch model' });
    if (!arch) return;
    let d: BehaviourDiff;
    try {
      d = behaviourDiff(sc.label, arch, from, to);
    } catch (e) {
      void vscode.window.showErrorMessage(`gup-lens: ${(e as Error).message}`);
      return;
    }
    target = uri;
    await show(d, uri && ed ? ed.document.getText() : undefined);
  }

  async function show(d: BehaviourDiff, text: string | undefined): Promise<void> {
    // a step links to the open file's line where the file has that statement: on the side of the
    // file's own version nearly every step, on the other side the statements the two share
    const lines = async (side: 'from' | 'to') => {
      if (!text) return [] as (number | undefined)[];
      const steps = d.aligned.map((x) => x[side]).filter((s): s is NonNullable<typeof s> => !!s);
      const places = mapSteps(await parseC(text), steps as unknown as Step[]).places;
      const out: (number | undefined)[] = [];
      let k = 0;
      for (const x of d.aligned) out.push(x[side] ? places[k++]?.line : undefined);
      return out;
    };
    const [lf, lt] = await Promise.all([lines('from'), lines('to')]);
    if (!panel) {
      const p = vscode.window.createWebviewPanel('gupLens.bdiff', 'gup-lens behaviour diff', vscode.ViewColumn.Beside, { enableScripts: true, localResourceRoots: [] });
      p.onDidDispose(() => (panel = undefined));
      p.webview.onDidReceiveMessage(async (m: { reveal?: number }) => {
        if (m.reveal === undefined || !target) return;
        const doc = await vscode.workspace.openTextDocument(target);
        const e = await vscode.window.showTextDocument(doc, vscode.ViewColumn.One);
        e.selection = new vscode.Selection(m.reveal, 0, m.reveal, 0);
        e.revealRange(doc.lineAt(m.reveal).range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
      });
      panel = p;
    }
    panel.title = `gup-lens: ${d.from.version} ↔ ${d.to.version}, ${d.scenario}`;
    panel.webview.html = bdiffHtml(d, lf, lt, randomBytes(16).toString('base64'));
  }

  ctx.ext.subscriptions.push(vscode.commands.registerCommand('gup-lens.behaviourDiff', pickAndShow));
}
