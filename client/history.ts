/**
 * Evolution views: a function's history from the workspace's kernel git tree, read-only virtual
 * documents for any version (gup-lens:/path?repo=…&ref=…[&fn=…], fingerprinted and lensed like a
 * real file), and a side-by-side diff of one function between two versions (the behaviour
 * diff of two version models is bdiff-view.ts).
 */
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { getParser } from '../server/analysis/parse';
import { CancelledError, cliGit, type GitAccessor } from '../server/evolution/git';
import { cutFunction, functionHistory, type HistoryEntry } from '../server/evolution/history';
import { aliases } from '../server/evolution/names';
import type { GupContext } from './context';

export const SCHEME = 'gup-lens';

export function versionUri(repo: string, ref: string, file: string, fn?: string): vscode.Uri {
  const q = new URLSearchParams({ repo, ref, ...(fn ? { fn } : {}) });
  return vscode.Uri.from({ scheme: SCHEME, path: '/' + file, query: q.toString() });
}

/** The git work tree a directory is in, if any. */
export function toplevelOf(dir: string): Promise<string | undefined> {
  return new Promise((resolve) =>
    execFile('git', ['-C', dir, 'rev-parse', '--show-toplevel'], (err, out) => resolve(err ? undefined : out.trim())),
  );
}

export function activateHistory(ctx: GupContext): void {
  const gits = new Map<string, GitAccessor>();
  const gitFor = (repo: string) => gits.get(repo) ?? gits.set(repo, cliGit(repo)).get(repo)!;
  // per repo, function and HEAD: histories are cached per commit by the history module itself
  const histories = new Map<string, (HistoryEntry & { text: string })[]>();

  const provider: vscode.TextDocumentContentProvider = {
    async provideTextDocumentContent(uri) {
      const q = new URLSearchParams(uri.query);
      const repo = q.get('repo')!;
      const ref = q.get('ref')!;
      const file = uri.path.replace(/^\//, '');
      const text = (await gitFor(repo).catFiles([`${ref}:${file}`])).get(`${ref}:${file}`);
      if (text === undefined) return `/* ${file} does not exist at ${ref} */\n`;
      const fn = q.get('fn');
      if (!fn) return text;
      const cut = cutFunction(await getParser(), text, aliases(fn));
      return cut ? cut.text + '\n' : `/* ${fn} is not in ${file} at ${ref} */\n`;
    },
  };

  async function historyOf(uri: vscode.Uri, fn: string): Promise<{ repo: string; entries: (HistoryEntry & { text: string })[] } | undefined> {
    const file = uri.scheme === 'file' ? uri.fsPath : undefined;
    const repo = file ? await toplevelOf(path.dirname(file)) : new URLSearchParams(uri.query).get('repo') ?? undefined;
    if (!repo) {
      void vscode.window.showInformationMessage('gup-lens: history needs the file to be in a git repository (a kernel tree)');
      return undefined;
    }
    const rel = file ? path.relative(repo, file) : uri.path.replace(/^\//, '');
    const key = `${repo}\u0000${fn}`;
    const cached = histories.get(key);
    if (cached) return { repo, entries: cached };
    try {
      const entries = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `gup-lens: history of ${fn}`, cancellable: true },
        (progress, token) => {
          const ac = new AbortController();
          token.onCancellationRequested(() => ac.abort());
          let last = 0;
          return functionHistory(gitFor(repo), fn, {
            paths: [rel],
            signal: ac.signal,
            progress: (done, total) => {
              progress.report({ message: `${done}/${total} commits`, increment: ((done - last) / total) * 100 });
              last = done;
            },
          });
        },
      );
      histories.set(key, entries);
      return { repo, entries };
    } catch (e) {
      if (!(e instanceof CancelledError)) void vscode.window.showErrorMessage(`gup-lens: ${(e as Error).message}`);
      return undefined;
    }
  }

  const label = (e: HistoryEntry) => `${e.tag ?? e.commit.slice(0, 12)}  ${e.name}`;

  ctx.ext.subscriptions.push(
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, provider),
    vscode.commands.registerCommand('gup-lens.history', async (args?: { uri?: string; fn?: string }) => {
      const ed = vscode.window.activeTextEditor;
      const uri = args?.uri ? vscode.Uri.parse(args.uri) : ed?.document.uri;
      const fn = args?.fn ?? (ed ? ed.document.getText(ed.document.getWordRangeAtPosition(ed.selection.active)) : undefined);
      if (!uri || !fn) return;
      const h = await historyOf(uri, fn);
      if (!h) return;
      if (h.entries.length === 0) {
        void vscode.window.showInformationMessage(`gup-lens: ${fn} is in no commit of ${h.repo}`);
        return;
      }
      ctx.output.appendLine(`── history of ${fn} in ${h.repo} (${h.entries.length} versions) ──`);
      for (const e of h.entries) ctx.output.appendLine(`${e.commit.slice(0, 12)} ${(e.tag ?? '-').padEnd(10)} ${e.date.slice(0, 10)} ${e.path}:${e.name}  ${e.subject}`);
      const items = h.entries.map((e) => ({ label: label(e), description: `${e.commit.slice(0, 12)} · ${e.date.slice(0, 10)} ${e.path}`, detail: e.subject, e })).reverse();
      const picked = await vscode.window.showQuickPick(items, { canPickMany: true, placeHolder: `Pick two versions of ${fn} to compare (one: compare with the latest)` });
      if (!picked?.length) return;
      const [newer, older] = picked.length >= 2 ? [picked[0].e, picked[1].e] : [h.entries[h.entries.length - 1], picked[0].e];
      // each version whole, so the kernel's own line numbers (and the lenses) stay; revealed at the function
      const left = versionUri(h.repo, older.commit, older.path);
      const right = versionUri(h.repo, newer.commit, newer.path);
      await vscode.commands.executeCommand('vscode.diff', left, right, `${fn}: ${label(older)} ↔ ${label(newer)}`);
      const text = (await gitFor(h.repo).catFiles([`${newer.commit}:${newer.path}`])).get(`${newer.commit}:${newer.path}`);
      const at = text !== undefined ? cutFunction(await getParser(), text, aliases(newer.name)) : undefined;
      const shown = vscode.window.activeTextEditor;
      if (at && shown) {
        shown.selection = new vscode.Selection(at.startLine, 0, at.startLine, 0);
        shown.revealRange(new vscode.Range(at.startLine, 0, at.startLine, 0), vscode.TextEditorRevealType.AtTop);
      }
    }),
    vscode.commands.registerCommand('gup-lens.openVersion', async (args?: { repo: string; ref: string; path: string }) => {
      if (!args) return;
      await vscode.window.showTextDocument(versionUri(args.repo, args.ref, args.path));
    }),
  );
}
