/**
 * Replay: run a function's default scenario on one arch model (the server does it), then show
 * it on the user's own lines: executed lines highlighted, what happened there as an inline
 * note at the end of the line, and the whole trace in the gup-lens output channel.
 */
import * as vscode from 'vscode';
import { CLIENT_COMMANDS, SERVER_COMMANDS, type ReplayArgs, type ReplayView } from '../server/protocol';
import type { GupContext } from './context';

/** Ask the server to run one of its commands; errors come back as { error }. */
export async function serverCommand<T>(ctx: GupContext, command: string, arg: unknown): Promise<T | { error: string }> {
  const client = await ctx.ensureClient();
  if (!client) return { error: 'gup-lens needs a trusted workspace to run its language server' };
  // the request by its method name (LSP's workspace/executeCommand): the client library's request types are not loaded until the server starts
  return client.sendRequest('workspace/executeCommand', { command, arguments: [arg] }) as Promise<T | { error: string }>;
}

export function activateReplay(ctx: GupContext): void {
  const executed = vscode.window.createTextEditorDecorationType({
    backgroundColor: new vscode.ThemeColor('editor.rangeHighlightBackground'),
    isWholeLine: true,
    overviewRulerColor: new vscode.ThemeColor('editorOverviewRuler.infoForeground'),
    overviewRulerLane: vscode.OverviewRulerLane.Left,
  });
  const note = vscode.window.createTextEditorDecorationType({
    after: { color: new vscode.ThemeColor('editorCodeLens.foreground'), margin: '0 0 0 2em', fontStyle: 'italic' },
  });
  const clear = () => vscode.window.visibleTextEditors.forEach((e) => (e.setDecorations(executed, []), e.setDecorations(note, [])));

  ctx.ext.subscriptions.push(
    executed,
    note,
    vscode.commands.registerCommand(CLIENT_COMMANDS.clearHighlights, clear),
    vscode.commands.registerCommand(CLIENT_COMMANDS.replay, async (args?: ReplayArgs) => {
      if (!args?.uri) {
        void vscode.window.showErrorMessage('gup-lens: run Replay from a CodeLens above a GUP-fast function');
        return;
      }
      // the picture is drawn only if the trace view is shown (a layout costs tens of ms)
      const v = await serverCommand<ReplayView>(ctx, SERVER_COMMANDS.replay, { ...args, picture: false });
      if ('error' in v) {
        void vscode.window.showErrorMessage(`gup-lens: ${v.error}`);
        return;
      }
      if (v.na) {
        void vscode.window.showInformationMessage(`gup-lens: ${v.fn} on ${v.arch}: ${v.na}`);
        return;
      }
      const editor = vscode.window.visibleTextEditors.find((e) => e.document.uri.toString() === args.uri);
      if (editor) {
        const range = (line: number) => editor.document.lineAt(Math.min(line, editor.document.lineCount - 1)).range;
        editor.setDecorations(executed, v.lines.map((l) => range(l.line)));
        editor.setDecorations(
          note,
          v.lines.map((l) => ({ range: range(l.line), renderOptions: { after: { contentText: `${l.text}${l.hits > 1 ? ` (×${l.hits})` : ''}` } } })),
        );
      }
      const r = v.result!;
      const draw = async () => {
        const p = await serverCommand<ReplayView>(ctx, SERVER_COMMANDS.replay, { ...args, picture: true });
        return 'error' in p ? undefined : p.svg;
      };
      ctx.trace?.update({ title: `${v.fn}: ${v.scenario} on ${v.arch}`, draw, uri: args.uri });
      ctx.output.appendLine(`── ${v.fn} on ${v.arch}: ${v.version}, scenario ${v.scenario} ──`);
      v.trace.forEach((t) => ctx.output.appendLine(t));
      ctx.output.appendLine(`result: nr=${r.nr} ret=${r.ret} ${r.slowPath ? `slow path ran (fast path got ${r.fastNr})` : 'fast path only'}`);
      if (v.missing.length) ctx.output.appendLine(`not found in this file: ${v.missing.join(' | ')}`);
      ctx.output.show(true);
      void vscode.window.setStatusBarMessage(`gup-lens: ${v.fn} on ${v.arch}: ${v.lines.length} lines executed, nr=${r.nr}${r.slowPath ? ', slow path' : ''}`, 8000);
    }),
  );
}
