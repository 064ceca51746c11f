/**
 * The gup-lens VS Code extension: starts the language server (only in a trusted workspace, and
 * only once a C file with GUP-fast code is open), and registers the client-side features, one
 * module each. Every registration goes into the context's subscriptions.
 */
import * as vscode from 'vscode';
import { GupContext } from './context';
import { activateBehaviourDiff } from './bdiff-view';
import { activateCatalog } from './catalog';
import { activateCoverage } from './coverage';
import { activateDebug } from './debug';
import { activateHistory } from './history';
import { activateNotes } from './notes';
import { activateRaces } from './races';
import { activateReplay } from './replay';
import { activateStatus } from './status';
import { activateCommands } from './commands';
import { activateTimeline } from './timeline';
import { TraceView } from './trace';

let ctx: GupContext | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<{ ctx: GupContext }> {
  const t0 = Date.now();
  ctx = new GupContext(context);
  activateStatus(ctx);
  ctx.trace = new TraceView(ctx);
  activateReplay(ctx);
  activateRaces(ctx);
  activateDebug(ctx);
  activateHistory(ctx);
  activateBehaviourDiff(ctx);
  activateNotes(ctx);
  activateCatalog(ctx);
  activateCommands(ctx);
  activateCoverage(ctx);
  activateTimeline(ctx);
  ctx.startWhenNeeded();
  ctx.log(`activated in ${Date.now() - t0} ms`);
  return { ctx };
}

export async function deactivate(): Promise<void> {
  await ctx?.stop();
}
