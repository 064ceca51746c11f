/**
 * Coverage through VS Code's own test-coverage API: a test controller with one item per open
 * GUP-fast file, and a Coverage run profile whose run asks the server for the file's coverage by
 * the whole catalog (every scenario and race, every arch the code is for) and reports statement
 * and branch coverage, so the gutter, the coverage toggle and the explorer's percentages are VS
 * Code's. Each statement names the scenarios that ran it.
 */
import * as vscode from 'vscode';
import { GupContext } from './context';
import { serverCommand } from './replay';
import { SERVER_COMMANDS } from '../server/protocol';
import type { FileCoverage } from '../server/analysis/coverage';

export function activateCoverage(ctx: GupContext): void {
  // a host without the testing API (older than VS Code 1.88) gets no coverage view, nothing else changes
  if (!vscode.tests?.createTestController) return;
  const ctrl = vscode.tests.createTestController('gupLens.coverage', 'gup-lens: GUP-fast coverage');
  ctx.ext.subscriptions.push(ctrl);
  const details = new WeakMap<vscode.FileCoverage, vscode.FileCoverageDetail[]>();

  /** one item per open C file with GUP-fast code */
  const track = (doc: vscode.TextDocument) => {
    if (doc.languageId !== 'c' || doc.uri.scheme !== 'file' || !GupContext.isGupDocument(doc)) return;
    const id = doc.uri.toString();
    if (!ctrl.items.get(id)) ctrl.items.add(ctrl.createTestItem(id, vscode.workspace.asRelativePath(doc.uri), doc.uri));
  };
  vscode.workspace.textDocuments.forEach(track);
  ctx.ext.subscriptions.push(vscode.workspace.onDidOpenTextDocument(track));

  const run = async (request: vscode.TestRunRequest, token: vscode.CancellationToken) => {
    const r = ctrl.createTestRun(request, 'gup-lens coverage', false);
    const items: vscode.TestItem[] = [];
    if (request.include) items.push(...request.include);
    else ctrl.items.forEach((i) => items.push(i));
    for (const item of items) {
      if (token.isCancellationRequested || !item.uri) break;
      r.started(item);
      const t0 = Date.now();
      // the server covers the document as open (the text a reviewer sees)
      await vscode.workspace.openTextDocument(item.uri);
      const c = await serverCommand<FileCoverage | null>(ctx, SERVER_COMMANDS.coverage, { uri: item.uri.toString() });
      if (!c || 'error' in c) {
        r.errored(item, new vscode.TestMessage(c && 'error' in c ? c.error : 'no coverage'), Date.now() - t0);
        continue;
      }
      const detail: vscode.FileCoverageDetail[] = [];
      for (const f of c.functions) {
        if (f.unreachable) continue;
        const byLine = new Map<number, vscode.BranchCoverage[]>();
        for (const d of f.decisions) {
          const list = byLine.get(d.line) ?? [];
          list.push(new vscode.BranchCoverage(d.run, undefined, `${d.outcome === 'true' ? 'taken' : 'not taken'}`));
          byLine.set(d.line, list);
        }
        for (const l of f.statements) {
          const by = f.ranBy[l] ?? [];
          detail.push(new vscode.StatementCoverage(by.length, new vscode.Position(l - 1, 0), byLine.get(l) ?? []));
        }
      }
      const fc = vscode.FileCoverage.fromDetails(item.uri, detail);
      details.set(fc, detail);
      r.addCoverage(fc);
      r.passed(item, Date.now() - t0);
      ctx.log(`coverage of ${item.label}: ${c.summary.branches.run} of ${c.summary.branches.total} decision outcomes (${c.summary.percent}%)`);
    }
    r.end();
  };
  const profile = ctrl.createRunProfile('Coverage: every scenario and race, every arch', vscode.TestRunProfileKind.Coverage, run, true);
  profile.loadDetailedCoverage = async (_run, fc) => details.get(fc) ?? [];
}
