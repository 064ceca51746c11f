/**
 * The gup-lens view in the Explorer: the version models (oldest first, with what each changed)
 * and the race scenarios, each runnable from there (explore the version before and after its fix).
 */
import * as vscode from 'vscode';
import { RACES, type RaceScenario } from '../emulator/scenarios/races';
import { VERSIONS, type VersionModel } from '../emulator/versions';
import { CLIENT_COMMANDS } from '../server/protocol';
import type { GupContext } from './context';

type Node = { kind: 'group'; label: 'Versions' | 'Races' } | { kind: 'version'; v: VersionModel } | { kind: 'race'; r: RaceScenario } | { kind: 'run'; r: RaceScenario; which: 'before' | 'after' };

export function activateCatalog(ctx: GupContext): void {
  const provider: vscode.TreeDataProvider<Node> = {
    getChildren(n) {
      if (!n) return [{ kind: 'group', label: 'Versions' }, { kind: 'group', label: 'Races' }];
      if (n.kind === 'group') return n.label === 'Versions' ? VERSIONS.map((v) => ({ kind: 'version', v })) : RACES.map((r) => ({ kind: 'race', r }));
      if (n.kind === 'race') return [{ kind: 'run', r: n.r, which: 'before' }, { kind: 'run', r: n.r, which: 'after' }];
      return [];
    },
    getTreeItem(n) {
      const C = vscode.TreeItemCollapsibleState;
      switch (n.kind) {
        case 'group':
          return new vscode.TreeItem(n.label, C.Expanded);
        case 'version': {
          const t = new vscode.TreeItem(n.v.id, C.None);
          t.description = `${n.v.year} · ${n.v.kernels}`;
          t.tooltip = `${n.v.title}\n${n.v.files.join(', ')}\n\n${n.v.change}`;
          return t;
        }
        case 'race': {
          const t = new vscode.TreeItem(n.r.id, C.Collapsed);
          t.description = n.r.title;
          t.tooltip = n.r.story;
          return t;
        }
        case 'run': {
          const run = n.r[n.which];
          const t = new vscode.TreeItem(`${n.which === 'before' ? 'before the fix' : 'after the fix'}: ${run.version} on ${run.arch}`, C.None);
          t.command = { command: CLIENT_COMMANDS.explore, title: 'Explore', arguments: [{ scenario: n.r.id, version: run.version, arch: run.arch }] };
          t.iconPath = new vscode.ThemeIcon(n.which === 'before' ? 'bug' : 'pass');
          return t;
        }
      }
    },
  };
  ctx.ext.subscriptions.push(vscode.window.registerTreeDataProvider('gupLens.catalog', provider));
}
