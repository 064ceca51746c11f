/**
 * Races: from a lens, pick one of the races this version has or fixes and run the explorer on
 * it; the verdict and the counterexample go to the output channel.
 */
import * as vscode from 'vscode';
import type { ArchId } from '../emulator/arch/types';
import { raceArchFor, RACES } from '../emulator/scenarios/races';
import { CLIENT_COMMANDS, SERVER_COMMANDS, type ExploreArgs, type ExploreView } from '../server/protocol';
import { GupContext } from './context';
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
    if (r.svg) ctx.trace?.update({ title: `${r.scenario} on ${r.engine ?? r.version} / ${r.arch}`, svg: r.svg, uri: args.uri, diagram: r.diagram });
    ctx.output.appendLine(`── ${r.scenario} on ${r.engine ?? r.version} / ${r.arch}: ${r.verdict.toUpperCase()}${r.invariant ? ` (${r.invariant})` : ''} ──`);
    for (const h of r.history ?? []) ctx.output.appendLine(`   historically, ${h.side} the fix: ${h.version} on ${h.arch}: ${h.verdict}`);
    if (r.message) ctx.output.appendLine(r.message);
    r.trace.forEach((t) => ctx.output.appendLine(t));
    ctx.output.appendLine(`${r.states} states, ${r.interleavings} interleavings, ${r.ms} ms`);
    ctx.output.show(true);
    const say = r.verdict === 'violation' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    const verdict = r.verdict === 'violation' ? `violation — ${r.message}` : r.verdict === 'n/a' ? `does not apply — ${r.message}` : `ok (no violation in ${r.states} states)`;
    void say(`gup-lens: ${r.scenario} — ${r.engine ?? r.version}/${r.arch}: ${verdict}`);
  };
  ctx.ext.subscriptions.push(
    vscode.commands.registerCommand(CLIENT_COMMANDS.explore, (args?: ExploreArgs) => (args?.scenario ? run(args) : pickAndRun())),
    vscode.commands.registerCommand(CLIENT_COMMANDS.races, (args?: { version?: string; uri?: string }) => {
      // "races of this version" is about a GUP-fast file: from the palette on another file, say so
      const doc = vscode.window.activeTextEditor?.document;
      if (!args && (!doc || !GupContext.isGupDocument(doc))) {
        void vscode.window.showInformationMessage('gup-lens: open a file with GUP-fast code (mm/gup.c, arch/x86/mm/gup.c, arch/arm/mm/gup.c) to explore its races; "Explore a race scenario" runs any race on a version model');
        return;
      }
      return pickAndRun(args?.version, args?.uri ?? doc?.uri.toString());
    }),
  );

  /**
   * From a lens on a file: each race on this file's own code, on an arch the file is built for
   * (the race's own where it can); otherwise the versions' runs.
   */
  async function pickAndRun(version?: string, uri?: string) {
    const a = uri ? await serverCommand<{ arches?: ArchId[] } | null>(ctx, SERVER_COMMANDS.analysis, { uri }) : undefined;
    const arches = a && !('error' in a) ? a.arches : undefined;
    const onFile = (r: (typeof RACES)[number]) => {
      const arch = arches ? raceArchFor(r, arches) : r.before.arch;
      // a race the file's arches never meet is still listed: the server says why it does not apply
      return { label: r.id, description: arch ? `this file on ${arch}` : `not on this file's arches (${arches!.join(', ') || 'none'})`, detail: r.title, args: { scenario: r.id, arch, uri } as ExploreArgs };
    };
    const items = uri
      ? RACES.map(onFile)
      : RACES.flatMap((r) =>
          [r.before, r.after]
            .filter((x) => !version || x.version === version)
            .map((x) => ({ label: r.id, description: `${x.version} on ${x.arch} (${x === r.before ? 'before the fix' : 'after the fix'})`, detail: r.title, args: { scenario: r.id, version: x.version, arch: x.arch } as ExploreArgs })),
        );
    if (!items.length) {
      void vscode.window.showInformationMessage(`gup-lens: no race scenario runs ${version} before or after a fix`);
      return;
    }
    const got = await vscode.window.showQuickPick(items, { placeHolder: 'Race scenario to explore' });
    if (got) await run(got.args);
  }
}
