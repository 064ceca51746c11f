/**
 * The status bar shows which version model the open file was fingerprinted as (and how sure);
 * clicking it chooses the model for that file only (kept in the workspace's state for that file,
 * not written into the settings every file shares). The picker marks the current choice and shows
 * what the fingerprint scored each model; a last entry sets the workspace-wide gupLens.version.
 */
import * as vscode from 'vscode';
import { VERSIONS } from '../emulator/versions';
import { CLIENT_COMMANDS, FILE_VERSION_NOTIFICATION, FINGERPRINT_NOTIFICATION, type FileVersionParams, type FingerprintParams } from '../server/protocol';
import type { GupContext } from './context';

const STATE_KEY = 'gupLens.fileVersions';

export function activateStatus(ctx: GupContext): void {
  const item = vscode.window.createStatusBarItem('gupLens.version', vscode.StatusBarAlignment.Right, 100);
  item.name = 'gup-lens version';
  item.command = CLIENT_COMMANDS.selectVersion;
  const byUri = new Map<string, FingerprintParams>();
  const chosen = () => ctx.ext.workspaceState.get<Record<string, string>>(STATE_KEY, {});
  const show = () => {
    const ed = vscode.window.activeTextEditor;
    const fp = ed && byUri.get(ed.document.uri.toString());
    if (!fp?.version) {
      item.hide();
      return;
    }
    const by = fp.chosenBy === 'file' ? ' (this file)' : fp.chosenBy === 'workspace' ? ' (workspace)' : '';
    item.text = `$(versions) gup: ${fp.version}${by || (fp.confidence !== undefined ? ` ${Math.round(fp.confidence * 100)}%` : '')}`;
    item.tooltip = `${fp.release ? `This file: ${fp.release}\n` : ''}Model (oracle and fallback): ${fp.title ?? fp.version}\nClick to choose the version model for this file`;
    item.show();
  };

  const tell = (p: FileVersionParams) => void ctx.client?.sendNotification(FILE_VERSION_NOTIFICATION, p);

  async function pick(): Promise<void> {
    const ed = vscode.window.activeTextEditor;
    const uri = ed?.document.uri.toString();
    const fp = uri ? byUri.get(uri) : undefined;
    if (!uri || !fp) {
      void vscode.window.showInformationMessage('gup-lens: open a GUP-fast file to choose its version model');
      return;
    }
    const own = chosen()[uri];
    const score = new Map((fp.scores ?? []).map((s) => [s.id, s.score]));
    const best = fp.scores?.[0]?.id;
    type Item = vscode.QuickPickItem & { id: string };
    const items: Item[] = [
      { id: 'auto', label: `${own ? '' : '$(check) '}auto`, description: `the fingerprint decides${best ? `: ${best}` : ''}` },
      ...VERSIONS.map((v) => ({
        id: v.id,
        label: `${own === v.id ? '$(check) ' : ''}${v.id}`,
        description: `score ${score.get(v.id)?.toFixed(2) ?? '—'} · ${v.kernels}${v.id === fp.version ? ' · in use' : ''}`,
        detail: v.title,
      })),
      { id: 'workspace', label: '$(settings) for every file of this workspace…', description: 'the gupLens.version setting' },
    ];
    const got = await vscode.window.showQuickPick(items, { placeHolder: `Version model for ${vscode.workspace.asRelativePath(ed!.document.uri)}` });
    if (!got) return;
    if (got.id === 'workspace') {
      const all = await vscode.window.showQuickPick(['auto', ...VERSIONS.map((v) => v.id)], { placeHolder: 'Version model for every GUP-fast file of this workspace' });
      if (all) await vscode.workspace.getConfiguration('gupLens').update('version', all, vscode.ConfigurationTarget.Workspace);
      return;
    }
    const map = { ...chosen() };
    if (got.id === 'auto') delete map[uri];
    else map[uri] = got.id;
    await ctx.ext.workspaceState.update(STATE_KEY, map);
    tell({ uri, version: got.id });
  }

  ctx.ext.subscriptions.push(item, vscode.window.onDidChangeActiveTextEditor(show), vscode.commands.registerCommand(CLIENT_COMMANDS.selectVersion, pick));
  ctx.onClient((client) => {
    // the server starts without the files' own choices: hand them over
    for (const [uri, version] of Object.entries(chosen())) void client.sendNotification(FILE_VERSION_NOTIFICATION, { uri, version } satisfies FileVersionParams);
    client.onNotification(FINGERPRINT_NOTIFICATION, (p: FingerprintParams) => {
      byUri.set(p.uri, p);
      show();
    });
  });
}
