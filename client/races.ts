/**
 * Races: from a lens, pick one of the races this version has or fixes and run the explorer on
 * it; the verdict and the counterexample go to the output channel.
 */
import * as vscode from 'vscode';
import { RACES } from '../emulator/scenarios/races';
import { CLIENT_COMMANDS, SERVER_COMMANDS, type ExploreArgs, type ExploreView } from '../server/protocol';
import type { GupContext } from './context';
import { serverCommand } from './replay';

export function activateRaces(ctx: GupContext): void {
  const run = async (args: ExploreArgs) => {
    const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `gup-lens: exploring ${args.scenario}…` }, () =>
      serverCommand<ExploreView>(ctx, SERVER_COMMANDS.explore, args),
    );
    if ('error' in r) {
      void vscode.window.showErrorMessage(`gup-lens: ${r.error}`);
      return;
    }
    ctx.output.appendLine(`── ${r.scenario} on ${r.version} / ${r.arch}: ${r.verdict.toUpperCase()}${r.invariant ? ` (${r.invariant})` : ''} ──`);
    if (r.message) ctx.output.appendLine(r.message);
    r.trace.forEach((t) => ctx.output.appendLine(t));
    ctx.output.appendLine(`${r.states} states, ${r.interleavings} interleavings, ${r.ms} ms`);
    ctx.output.show(true);
    const say = r.verdict === 'violation' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    void say(`gup-lens: ${r.scenario} on ${r.version}/${r.arch}: ${r.verdict === 'violation' ? `violation — ${r.message}` : `no violation in ${r.states} states`}`);
  };
  ctx.ext.subscriptions.push(
    vscode.commands.registerCommand(CLIENT_COMMANDS.explore, (args?: ExploreArgs) => (args?.scenario ? run(args) : pickAndRun())),
    vscode.commands.registerCommand(CLIENT_COMMANDS.races, (args?: { version?: string }) => pickAndRun(args?.version)),
  );

  async function pickAndRun(version?: string) {
    const items = RACES.flatMap((r) =>
      [r.before, r.after]
        .filter((x) => !version || x.version === version)
        .map((x) => ({ label: r.id, description: `${x.version} on ${x.arch} (${x === r.before ? 'before the fix' : 'after the fix'})`, detail: r.title, args: { scenario: r.id, version: x.version, arch: x.arch } })),
    );
    if (!items.length) {
      void vscode.window.showInformationMessage(`gup-lens: no race scenario runs ${version} before or after a fix`);
      return;
    }
    const got = await vscode.window.showQuickPick(items, { placeHolder: 'Race scenario to explore' });
    if (got) await run(got.args);
  }
}
