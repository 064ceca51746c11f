/**
 * "gup-lens: Behaviour timeline": the sweep of a kernel tree's history (server/evolution/sweep.ts)
 * as a grid. The sweep runs in the CLI as a child process (minutes of exploring must not block
 * the extension host): its progress lines go to a cancellable notification, its JSON to the view.
 * A violation cell opens that commit's file and explores the race on it (the counterexample in
 * the trace view); a commit heading opens its diff.
 */
import { execFile, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Sweep } from '../server/evolution/sweep';
import { CLIENT_COMMANDS } from '../server/protocol';
import { SCENARIOS } from '../emulator/scenarios';
import type { GupContext } from './context';
import { toplevelOf, versionUri } from './history';
import { timelineHtml } from './timeline-html';
import { needsTag, SWEEP_CHOICES, type SweepChoice, sweepArgs } from './sweep-args';

/** The sweep through the CLI; undefined when cancelled. */
function runSweep(ctx: GupContext, args: string[], progress: vscode.Progress<{ message?: string }>, token: vscode.CancellationToken): Promise<Sweep | undefined> {
  return new Promise((resolve, reject) => {
    const child = fork(path.join(ctx.ext.extensionPath, 'dist/cli.js'), args, { silent: true });
    let out = '';
    let err = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      const last = err.trimEnd().split('\n').pop();
      if (last) progress.report({ message: last.slice(0, 120) });
      if (err.length > 1 << 16) err = err.slice(-4096);
    });
    const cancel = token.onCancellationRequested(() => child.kill());
    child.on('error', reject);
    child.on('exit', (code) => {
      cancel.dispose();
      if (token.isCancellationRequested) return resolve(undefined);
      if (code !== 0) return reject(new Error(err.trim().split('\n').pop() || `sweep exited with ${code}`));
      try {
        resolve(JSON.parse(out) as Sweep);
      } catch {
        reject(new Error('the sweep did not answer with JSON'));
      }
    });
  });
}

/** The tree's tags, newest first (at most 500). */
function tagsOf(repo: string): Promise<string[]> {
  return new Promise((resolve) =>
    execFile('git', ['-C', repo, 'tag', '--sort=-creatordate'], { maxBuffer: 16 << 20 }, (err, out) => resolve(err ? [] : out.split('\n').filter(Boolean).slice(0, 500))),
  );
}

export function activateTimeline(ctx: GupContext): void {
  let panel: vscode.WebviewPanel | undefined;
  let repo = '';

  async function onMessage(m: { open?: { rev: string; file: string; scenario: string; arch: string }; diff?: { rev: string; file: string } }): Promise<void> {
    if (m.open?.file) {
      const uri = versionUri(repo, m.open.rev, m.open.file);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { viewColumn: vscode.ViewColumn.One, preview: true });
      // a race's counterexample, or a built-in scenario's replay (labelled with the entry point it calls)
      const sc = SCENARIOS.find((x) => x.id === m.open!.scenario);
      if (sc) await vscode.commands.executeCommand(CLIENT_COMMANDS.replay, { uri: uri.toString(), fn: sc.call.pin ? 'pin_user_pages_fast' : 'get_user_pages_fast', arch: m.open.arch, scenario: sc.id });
      else await vscode.commands.executeCommand(CLIENT_COMMANDS.explore, { scenario: m.open.scenario, arch: m.open.arch, uri: uri.toString() });
      await vscode.commands.executeCommand('gup-lens.showTrace');
    } else if (m.diff?.file) {
      const { rev, file } = m.diff;
      await vscode.commands.executeCommand('vscode.diff', versionUri(repo, `${rev}^`, file), versionUri(repo, rev, file), `${path.basename(file)} at ${rev.slice(0, 12)}`);
    }
  }

  ctx.ext.subscriptions.push(
    vscode.commands.registerCommand('gup-lens.timeline', async () => {
      if (!vscode.workspace.isTrusted) {
        void vscode.window.showInformationMessage('gup-lens: the behaviour timeline runs code from the tree; trust the workspace first');
        return;
      }
      const here = vscode.window.activeTextEditor?.document.uri;
      const dir = here?.scheme === 'file' ? path.dirname(here.fsPath) : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
      const top = dir && (await toplevelOf(dir));
      if (!top) {
        void vscode.window.showInformationMessage('gup-lens: the behaviour timeline needs a kernel tree (a git repository) open');
        return;
      }
      const by = (await vscode.window.showQuickPick([...SWEEP_CHOICES], { placeHolder: `Sweep ${top}` })) as SweepChoice | undefined;
      if (!by) return;
      let from: string | undefined;
      if (needsTag(by)) {
        const tags = await tagsOf(top);
        if (!tags.length) {
          void vscode.window.showInformationMessage(`gup-lens: ${top} has no tags to start from`);
          return;
        }
        from = await vscode.window.showQuickPick(tags, { placeHolder: by === 'tags from a tag on…' ? 'the first tag of the timeline' : 'the timeline starts after this tag' });
        if (!from) return;
      }
      let s: Sweep | undefined;
      try {
        s = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'gup-lens: behaviour timeline', cancellable: true }, (p, t) => runSweep(ctx, sweepArgs(top, by, from), p, t));
      } catch (e) {
        void vscode.window.showErrorMessage(`gup-lens: ${(e as Error).message}`);
        return;
      }
      if (!s) return;
      repo = top;
      // an open view is shown where it is: moving a webview to another group while its frame
      // loads could leave it blank (the frame is re-created)
      if (panel) panel.reveal(panel.viewColumn);
      else {
        panel = vscode.window.createWebviewPanel('gupLens.timeline', 'gup-lens behaviour timeline', vscode.ViewColumn.Beside, { enableScripts: true, localResourceRoots: [] });
        panel.onDidDispose(() => (panel = undefined));
        panel.webview.onDidReceiveMessage((m) => void onMessage(m).catch((e: Error) => vscode.window.showErrorMessage(`gup-lens: ${e.message}`)));
      }
      panel.webview.html = timelineHtml(s, path.basename(top), randomBytes(16).toString('base64'));
    }),
  );
}
