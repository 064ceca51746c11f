/**
 * The status bar shows which version model the open file was fingerprinted as (and how sure);
 * clicking it lets the user override it (the gupLens.version setting).
 */
import * as vscode from 'vscode';
import { VERSIONS } from '../emulator/versions';
import { CLIENT_COMMANDS, FINGERPRINT_NOTIFICATION, type FingerprintParams } from '../server/protocol';
import type { GupContext } from './context';

export function activateStatus(ctx: GupContext): void {
  const item = vscode.window.createStatusBarItem('gupLens.version', vscode.StatusBarAlignment.Right, 100);
  item.name = 'gup-lens version';
  item.command = CLIENT_COMMANDS.selectVersion;
  const byUri = new Map<string, FingerprintParams>();
  const show = () => {
    const ed = vscode.window.activeTextEditor;
    const fp = ed && byUri.get(ed.document.uri.toString());
    if (!fp?.version) {
      item.hide();
      return;
    }
    item.text = `$(versions) gup: ${fp.version}${fp.overridden ? ' (set)' : fp.confidence !== undefined ? ` ${Math.round(fp.confidence * 100)}%` : ''}`;
    item.tooltip = `${fp.release ? `This file: ${fp.release}\n` : ''}Model (oracle and fallback): ${fp.title ?? fp.version}\nClick to choose the version model for this workspace`;
    item.show();
  };
  ctx.ext.subscriptions.push(
    item,
    vscode.window.onDidChangeActiveTextEditor(show),
    vscode.commands.registerCommand(CLIENT_COMMANDS.selectVersion, async () => {
      const picks = [
        { label: 'auto', description: 'fingerprint each file' },
        ...VERSIONS.map((v) => ({ label: v.id, description: `${v.year} · ${v.kernels}`, detail: v.title })),
      ];
      const got = await vscode.window.showQuickPick(picks, { placeHolder: 'Version model used for GUP-fast files' });
      if (got) await vscode.workspace.getConfiguration('gupLens').update('version', got.label, vscode.ConfigurationTarget.Workspace);
    }),
  );
  ctx.onClient((client) =>
    client.onNotification(FINGERPRINT_NOTIFICATION, (p: FingerprintParams) => {
      byUri.set(p.uri, p);
      show();
    }),
  );
}
