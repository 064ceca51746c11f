/**
 * The quick fix of an unknown call (a vendor hook): write what it does into the workspace's
 * gupLens.stubs; the language server reads the setting again and every replay, hover and verdict
 * names the stubs it used.
 */
import * as vscode from 'vscode';
import type { GupContext } from './context';
import { CLIENT_COMMANDS } from '../server/protocol';
import { STUB_VALUES } from '../emulator/interp/kapi/stubs';

export function activateStubs(ctx: GupContext): void {
  ctx.ext.subscriptions.push(
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
      ctx.log(`gupLens.stubs: ${name}() = ${value}`);
    }),
  );
}
