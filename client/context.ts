/**
 * One object that owns the extension's state: the language client, the output channel and
 * every Disposable. The server starts lazily: in a trusted workspace, when a C document that
 * contains GUP-fast code is opened (or when a gup-lens command needs it).
 */
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { LanguageClient, LanguageClientOptions, ServerOptions } from 'vscode-languageclient/node';
import { SERVER_EXEC_ARGV } from '../server/protocol';
import { isGupText } from './gup-doc';
import type { TraceView } from './trace';


export class GupContext implements vscode.Disposable {
  readonly output: vscode.OutputChannel;
  client: LanguageClient | undefined;
  /** the trace view (replays, counterexamples and debug stops feed it) */
  trace: TraceView | undefined;
  private starting: Promise<LanguageClient | undefined> | undefined;
  private readonly started: ((c: LanguageClient) => void)[] = [];

  /** Run `f` with the client once it has started (at once if it already has). */
  onClient(f: (c: LanguageClient) => void): void {
    if (this.client) f(this.client);
    this.started.push(f);
  }

  constructor(readonly ext: vscode.ExtensionContext) {
    this.output = vscode.window.createOutputChannel('gup-lens');
    ext.subscriptions.push(this.output, this);
  }

  log(s: string): void {
    this.output.appendLine(s);
  }

  /** Does this document look like GUP-fast code? (cheap: a regex, no parse) */
  static isGupDocument(doc: vscode.TextDocument): boolean {
    return isGupText(doc.languageId, doc.uri.scheme, doc.getText());
  }

  startWhenNeeded(): void {
    const check = (doc: vscode.TextDocument) => {
      if (GupContext.isGupDocument(doc)) void this.ensureClient();
    };
    vscode.workspace.textDocuments.forEach(check);
    this.ext.subscriptions.push(
      vscode.workspace.onDidOpenTextDocument(check),
      vscode.workspace.onDidGrantWorkspaceTrust(() => vscode.workspace.textDocuments.forEach(check)),
    );
  }

  /** The running language client; undefined in an untrusted workspace (no child processes there). */
  ensureClient(): Promise<LanguageClient | undefined> {
    if (!vscode.workspace.isTrusted) {
      this.log('workspace not trusted: the gup-lens server is not started');
      return Promise.resolve(undefined);
    }
    this.starting ??= this.start();
    return this.starting;
  }

  private async start(): Promise<LanguageClient> {
    // loaded here, from a bundle of its own, not at activation: the client library is most of what
    // activating would cost (compiling it included), and a window with no GUP-fast code never needs it
    const { LanguageClient, TransportKind } = require(this.ext.asAbsolutePath(path.join('dist', 'lsp-client.js'))) as typeof import('./lsp-client');
    const module = this.ext.asAbsolutePath(path.join('dist', 'server.js'));
    const serverOptions: ServerOptions = {
      run: { module, transport: TransportKind.ipc, options: { execArgv: SERVER_EXEC_ARGV } },
      debug: { module, transport: TransportKind.ipc, options: { execArgv: [...SERVER_EXEC_ARGV, '--nolazy', '--inspect=6019'] } },
    };
    const clientOptions: LanguageClientOptions = {
      documentSelector: [
        { scheme: 'file', language: 'c' },
        { scheme: 'untitled', language: 'c' },
        { scheme: 'gup-lens' },
        // patches under review (the server reviews only those with a diff that touches GUP-fast code)
        { scheme: 'file', language: 'diff' },
        { scheme: 'untitled', language: 'diff' },
        { scheme: 'file', pattern: '**/*.{patch,diff,eml,mbox,mbx}' },
      ],
      synchronize: { configurationSection: 'gupLens' },
    };
    const client = new LanguageClient('gupLens', 'gup-lens', serverOptions, clientOptions);
    await client.start();
    this.log('language server started');
    this.client = client;
    for (const f of this.started) f(client);
    return client;
  }

  async stop(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    this.starting = undefined;
    if (c) await c.stop().catch(() => undefined);
  }

  dispose(): void {
    void this.stop();
  }
}
