/**
 * The trace view: a webview beside the editor showing the walk and the timeline (an SVG the
 * server draws) of the last replay, explorer counterexample or debug stop. Clicking a step or an
 * entry reveals its line in the file; a counterexample can be copied as the CPU-column text
 * diagram. No remote resources; a nonce-based Content Security Policy; the picture takes its
 * colours from the theme's CSS variables.
 */
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { esc } from '../server/pictures/markup';
import type { GupContext } from './context';

export interface TraceShown {
  title: string;
  /** the picture; or, where it is not drawn yet, how to have it drawn (asked only once the view shows it) */
  svg?: string;
  draw?: () => Promise<string | undefined>;
  /** the document whose lines the steps' data-line attributes point at */
  uri?: string;
  /** the counterexample as a text diagram (offered as "Copy as text diagram") */
  diagram?: string;
  /** the debug session that drew it: its picture goes when the session ends */
  session?: string;
}

export class TraceView {
  private panel: vscode.WebviewPanel | undefined;
  private last: TraceShown | undefined;
  /** the picture fits the panel (the default) or shows at its actual size; kept across redraws */
  private fit = true;

  constructor(private readonly ctx: GupContext) {
    ctx.ext.subscriptions.push(
      vscode.commands.registerCommand('gup-lens.showTrace', () => {
        if (!this.last) {
          void vscode.window.showInformationMessage('gup-lens: nothing to show yet: run a Replay, explore a race or start a debug session first');
          return;
        }
        this.show();
      }),
    );
  }

  /** The view is open (a debug session draws its stops only then: a drawing costs a layout). */
  get open(): boolean {
    return this.panel !== undefined;
  }

  /** A debug session ended: a picture of its world is stale, so the view says so instead. */
  ended(session: string): void {
    if (this.last?.session !== session) return;
    this.last = { title: 'the debug session ended', svg: '<p>The session that drew this picture has ended. Replay a function, explore a race or start another session.</p>' };
    if (this.panel) this.render();
  }

  /** Remember the newest trace; redraw the view if it is open. */
  update(t: TraceShown): void {
    this.last = t;
    if (this.panel) this.render();
  }

  private show(): void {
    if (this.panel) {
      this.panel.reveal(this.panel.viewColumn, true); // where it is (a move re-creates its frame)
      this.render();
      return;
    }
    this.panel = vscode.window.createWebviewPanel('gupLens.trace', 'gup-lens trace', { viewColumn: vscode.ViewColumn.Beside, preserveFocus: true }, { enableScripts: true, localResourceRoots: [] });
    this.panel.onDidDispose(() => (this.panel = undefined), undefined, this.ctx.ext.subscriptions);
    this.panel.webview.onDidReceiveMessage((m: { reveal?: number; copy?: boolean; fit?: boolean }) => void this.onMessage(m), undefined, this.ctx.ext.subscriptions);
    this.render();
  }

  private async onMessage(m: { reveal?: number; copy?: boolean; fit?: boolean }): Promise<void> {
    if (m.fit !== undefined) this.fit = m.fit;
    const t = this.last;
    if (!t) return;
    if (m.copy && t.diagram) {
      await vscode.env.clipboard.writeText(t.diagram);
      void vscode.window.setStatusBarMessage('gup-lens: counterexample copied as a text diagram', 4000);
    }
    if (m.reveal !== undefined && t.uri) {
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(t.uri));
      const editor = await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, preserveFocus: false });
      const line = Math.min(m.reveal, doc.lineCount - 1);
      editor.selection = new vscode.Selection(line, 0, line, 0);
      editor.revealRange(doc.lineAt(line).range, vscode.TextEditorRevealType.InCenterIfOutsideViewport);
    }
  }

  private render(): void {
    const t = this.last;
    if (!this.panel || !t) return;
    if (t.svg === undefined && t.draw) {
      const draw = t.draw;
      t.draw = undefined;
      t.svg = '<p>drawing…</p>';
      void draw().then(
        (svg) => {
          t.svg = svg ?? '<p>no picture for this trace</p>';
          if (this.last === t) this.render();
        },
        (e: Error) => {
          t.svg = `<p>the picture could not be drawn: ${esc(e.message)}</p>`;
          if (this.last === t) this.render();
        },
      );
    }
    this.panel.title = `gup-lens trace: ${t.title}`;
    const nonce = randomBytes(16).toString('base64');
    const csp = `default-src 'none'; img-src data:; style-src 'nonce-${nonce}'; script-src 'nonce-${nonce}';`;
    // the picture's own sheet runs under the same nonce (it colours by class, never by style attribute)
    const svg = (t.svg ?? '').replace('<style>', `<style nonce="${nonce}">`);
    this.panel.webview.html = `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<style nonce="${nonce}">
body { color: var(--vscode-editor-foreground); background: var(--vscode-editor-background); font-family: var(--vscode-font-family); }
header { display: flex; gap: 1em; align-items: center; margin-bottom: .5em; }
button { color: var(--vscode-button-foreground); background: var(--vscode-button-background); border: none; padding: 4px 10px; cursor: pointer; }
.picture { overflow: auto; }
/* fit: the whole walk in the panel (the SVG scales by its viewBox); actual size scrolls */
.picture.fit svg { width: 100%; height: auto; max-height: 85vh; }
</style></head>
<body>
<header><h2 id="title">${esc(t.title)}</h2><button id="zoom" aria-pressed="true" aria-label="Toggle between fitting the picture to the panel and its actual size">Actual size</button>${t.diagram ? '<button id="copy" aria-label="Copy the counterexample as a text diagram">Copy as text diagram</button>' : ''}</header>
<div class="picture${this.fit ? ' fit' : ''}" id="picture" role="figure" aria-labelledby="title">${svg}</div>
${t.diagram ? `<details open><summary>text diagram</summary><pre id="diagram">${esc(t.diagram)}</pre></details>` : ''}
<script nonce="${nonce}">
const vscode = acquireVsCodeApi();
document.querySelectorAll('[data-line]').forEach((el) => el.addEventListener('click', () => vscode.postMessage({ reveal: Number(el.getAttribute('data-line')) })));
const zoom = document.getElementById('zoom');
const pic = document.getElementById('picture');
const label = () => { const fit = pic.classList.contains('fit'); zoom.textContent = fit ? 'Actual size' : 'Fit to panel'; zoom.setAttribute('aria-pressed', String(fit)); };
label();
zoom.addEventListener('click', () => { pic.classList.toggle('fit'); label(); vscode.postMessage({ fit: pic.classList.contains('fit') }); });
const copy = document.getElementById('copy');
if (copy) copy.addEventListener('click', () => vscode.postMessage({ copy: true }));
</script>
</body></html>`;
  }
}
