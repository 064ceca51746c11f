/**
 * Entry point of the language server process (stdio with --stdio, or IPC when the VS Code
 * client starts it). Unexpected errors are logged, never allowed to kill the process.
 */
import { createConnection, ProposedFeatures } from 'vscode-languageserver/node';
import { startServer } from './server';

const connection = createConnection(ProposedFeatures.all);
process.on('uncaughtException', (e) => connection.console.error(`gup-lens server: ${e.stack ?? e}`));
process.on('unhandledRejection', (e) => connection.console.error(`gup-lens server: ${(e as Error)?.stack ?? e}`));
startServer(connection);
