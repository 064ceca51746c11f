/**
 * The language client library, bundled on its own (dist/lsp-client.js): the extension loads it
 * when the server starts, so activating never compiles its ~900 KB. Layer: client.
 */
export { LanguageClient, TransportKind } from 'vscode-languageclient/node';
