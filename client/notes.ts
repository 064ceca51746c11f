/**
 * Review notes in the editor: add one to the function or statement under the cursor, see them
 * as CodeLenses on every version of the function where their statement exists (a virtual
 * historical document included), and export them all as Markdown review comments. The store
 * is .vscode/gup-lens-notes.json in the workspace; a broken one is reported and kept aside.
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import { parseC } from '../server/analysis/parse';
import { anchorAt, CorruptNotesError, noteReply, NotesStore, nodeNotesFs, notesMarkdown, placeNotes, type Note } from '../server/evolution/notes';
import type { GupContext } from './context';

export function activateNotes(ctx: GupContext): void {
  const changed = new vscode.EventEmitter<void>();
  const store = (): NotesStore | undefined => {
    const folder = vscode.workspace.workspaceFolders?.[0];
    return folder && new NotesStore(nodeNotesFs(), path.join(folder.uri.fsPath, '.vscode', 'gup-lens-notes.json'));
  };
  const load = async (): Promise<Note[]> => {
    try {
      return (await store()?.load()) ?? [];
    } catch (e) {
      if (e instanceof CorruptNotesError) void vscode.window.showWarningMessage(`gup-lens: ${e.message}`);
      else ctx.log(`notes: ${(e as Error).message}`);
      return [];
    }
  };

  const lenses: vscode.CodeLensProvider = {
    onDidChangeCodeLenses: changed.event,
    async provideCodeLenses(doc) {
      const notes = await load();
      if (!notes.length) return [];
      const file = await parseC(doc.getText());
      return placeNotes(notes, file)
        .filter((p) => p.line !== undefined)
        .flatMap((p) => [
          new vscode.CodeLens(doc.lineAt(p.line!).range, { title: `✎ ${p.note.text.split('\n')[0].slice(0, 80)}`, command: 'gup-lens.removeNote', arguments: [p.note.id], tooltip: 'gup-lens note (click to remove)' }),
          new vscode.CodeLens(doc.lineAt(p.line!).range, { title: 'copy as reply', command: 'gup-lens.copyNoteAsReply', arguments: [p.note.id, doc.uri.toString()], tooltip: 'the quoted lines and the note, as a reply on the mailing list' }),
        ]);
    },
  };

  ctx.ext.subscriptions.push(
    changed,
    vscode.languages.registerCodeLensProvider([{ language: 'c' }, { scheme: 'gup-lens' }], lenses),
    vscode.workspace.onDidSaveTextDocument((d) => d.fileName.endsWith('gup-lens-notes.json') && changed.fire()),
    vscode.commands.registerCommand('gup-lens.addNote', async () => {
      const ed = vscode.window.activeTextEditor;
      const s = store();
      if (!ed || !s) return;
      const at = anchorAt(await parseC(ed.document.getText()), ed.selection.active.line);
      if (!at) {
        void vscode.window.showInformationMessage('gup-lens: put the cursor inside a function to annotate it');
        return;
      }
      const text = await vscode.window.showInputBox({ prompt: `Note on ${at.fn}${at.statement ? `: ${at.statement}` : ''}` });
      if (!text) return;
      try {
        await load(); // a broken file is moved aside (and reported) before the first write
        await s.add(at.fn, at.statement, text);
        changed.fire();
      } catch (e) {
        void vscode.window.showErrorMessage(`gup-lens: ${(e as Error).message}`);
      }
    }),
    vscode.commands.registerCommand('gup-lens.removeNote', async (id: string) => {
      const pick = await vscode.window.showWarningMessage('Remove this gup-lens note?', 'Remove');
      if (pick !== 'Remove') return;
      await store()?.remove(id);
      changed.fire();
    }),
    vscode.commands.registerCommand('gup-lens.copyNoteAsReply', async (id?: string, uri?: string) => {
      const doc = uri ? await vscode.workspace.openTextDocument(vscode.Uri.parse(uri)) : vscode.window.activeTextEditor?.document;
      if (!doc) return;
      const placed = placeNotes(await load(), await parseC(doc.getText()), doc.getText()).filter((p) => p.line !== undefined);
      const p = id ? placed.find((x) => x.note.id === id) : placed.find((x) => x.line === vscode.window.activeTextEditor?.selection.active.line);
      if (!p) {
        void vscode.window.showInformationMessage('gup-lens: no note here to copy');
        return;
      }
      await vscode.env.clipboard.writeText(noteReply(p, vscode.workspace.asRelativePath(doc.uri)));
      void vscode.window.setStatusBarMessage('gup-lens: note copied as a reply', 4000);
    }),
    vscode.commands.registerCommand('gup-lens.exportNotes', async () => {
      const notes = await load();
      const docs = vscode.workspace.textDocuments.filter((d) => d.languageId === 'c');
      const placed = await Promise.all(docs.map(async (d) => ({ file: vscode.workspace.asRelativePath(d.uri), notes: placeNotes(notes, await parseC(d.getText()), d.getText()) })));
      const md = notesMarkdown(placed.length ? placed : [{ file: '(no open C file)', notes: notes.map((note) => ({ note, missing: 'not placed' })) }]);
      await vscode.window.showTextDocument(await vscode.workspace.openTextDocument({ language: 'markdown', content: md }));
    }),
  );
}
