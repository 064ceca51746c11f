/**
 * The `gup` debug type inside VS Code: an inline adapter (no extra process) reading files via
 * workspace.fs, and a configuration provider that fills a launch config from the open file.
 * Standalone, the same adapter runs as dist/debugAdapter.js over stdio.
 */
import * as vscode from 'vscode';
import type { GupContext } from './context';

export function activateDebug(ctx: GupContext): void {
  const factory: vscode.DebugAdapterDescriptorFactory = {
    // the adapter (and the emulator under it) is loaded when the first session starts, not at activation
    createDebugAdapterDescriptor: async () => {
      const { GupDebugSession } = await import('../server/dap/session');
      return new vscode.DebugAdapterInlineImplementation(
        new GupDebugSession({
          readFile: async (p) => new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.file(p))),
        }) as unknown as vscode.DebugAdapter,
      );
    },
  };
  const provider: vscode.DebugConfigurationProvider = {
    resolveDebugConfiguration(_folder, config) {
      if (!config.type && !config.request && !config.name) {
        const ed = vscode.window.activeTextEditor;
        if (ed?.document.languageId !== 'c') return config;
        Object.assign(config, { type: 'gup', request: 'launch', name: 'Debug GUP-fast walk', program: ed.document.uri.fsPath, stopOnEntry: true });
      }
      // the user's default arch model, where the launch config names none and the program is built for it (the adapter knows)
      config.defaultArch ??= vscode.workspace.getConfiguration('gupLens').get<string>('defaultArch', 'x86-64');
      // and the workspace's stubs for names the census does not know
      config.stubs ??= vscode.workspace.getConfiguration('gupLens').get<Record<string, string>>('stubs', {});
      if (!config.program) {
        const ed = vscode.window.activeTextEditor;
        if (ed) config.program = ed.document.uri.fsPath;
        else {
          void vscode.window.showErrorMessage("gup-lens: set 'program' to the gup.c file to debug");
          return undefined;
        }
      }
      return config;
    },
  };
  // the trace view follows the session: at each stop, the adapter draws the world so far
  const tracker: vscode.DebugAdapterTrackerFactory = {
    createDebugAdapterTracker: (session) => ({
      onDidSendMessage: (m: { type?: string; event?: string }) => {
        if (m.type !== 'event' || m.event !== 'stopped' || !ctx.trace?.open) return;
        session.customRequest('gupTrace').then(
          (t: { title: string; svg: string; diagram?: string }) => ctx.trace?.update({ ...t, uri: vscode.Uri.file(session.configuration.program).toString(), session: session.id }),
          () => undefined,
        );
      },
    }),
  };
  ctx.ext.subscriptions.push(
    vscode.debug.registerDebugAdapterTrackerFactory('gup', tracker),
    vscode.debug.onDidTerminateDebugSession((s) => ctx.trace?.ended(s.id)),
    vscode.debug.registerDebugAdapterDescriptorFactory('gup', factory),
    vscode.debug.registerDebugConfigurationProvider('gup', provider),
    vscode.commands.registerCommand('gup-lens.debug.exploreRaces', async () => {
      const s = vscode.debug.activeDebugSession;
      if (s?.type !== 'gup') {
        void vscode.window.showInformationMessage('gup-lens: start a gup debug session on a race scenario first');
        return;
      }
      try {
        const r = await s.customRequest('exploreRaces');
        void vscode.window.showInformationMessage(r.verdict === 'violation' ? `gup-lens: counterexample loaded (${r.steps} steps): ${r.message}` : 'gup-lens: no violation within bounds');
      } catch (e) {
        void vscode.window.showErrorMessage(`gup-lens: ${(e as Error).message}`);
      }
    }),
  );
}
