/**
 * Commands the server's lenses and quick fixes run: stubbing an unknown call (a vendor hook) in
 * the workspace's gupLens.stubs, so every replay, hover and verdict names the stubs it used; and
 * a patch review's details and its reply for the list.
 */
import * as vscode from 'vscode';
import type { GupContext } from './context';
import { CLIENT_COMMANDS } from '../server/protocol';
import { STUB_VALUES } from '../emulator/interp/kapi/stubs';

export function activateCommands(ctx: GupContext): void {
  ctx.ext.subscriptions.push(
    // a patch review's details, and its reply for the list
    vscode.commands.registerCommand(CLIENT_COMMANDS.showText, (args?: { title?: string; text?: string }) => {
      if (!args?.text) return;
      ctx.output.appendLine(args.text);
      ctx.output.show(true);
    }),
    vscode.commands.registerCommand(CLIENT_COMMANDS.copyReply, async (args?: { text?: string }) => {
      if (!args?.text) return;
      await vscode.env.clipboard.writeText(args.text);
      void vscode.window.showInformationMessage('gup-lens: the reply is on the clipboard (the hunk quoted, then the verdicts)');
    }),
    vscode.commands.registerCommand(CLIENT_COMMANDS.setStub, async (args?: { name?: string; value?: string }) => {
      const name = args?.name;
      const value = args?.value;
      if (!name || !/^[A-Za-z_]\w*$/.test(name) || !value || !(STUB_VALUES as readonly string[]).includes(value)) {
        void vscode.window.showErrorMessage(`gup-lens: a stub needs a C name and one of ${STUB_VALUES.join(', ')}`);
        return;
      }
      const cfg = vscode.workspace.getConfiguration('gupLens');
      const now = { ...(cfg.get<Record<string, string>>('stubs') ?? {}), [name]: value };
      const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
      await cfg.update('stubs', now, target);
      ctx.log(`gupLens.stubs: ${name} = ${value}`);
    }),
  );
}
