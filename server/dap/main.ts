/**
 * The debug adapter as a standalone program over stdio (`node dist/debugAdapter.js`), the path
 * package.json names in contributes.debuggers[0].program; VS Code itself may run it inline.
 */
import { readFile } from 'node:fs/promises';
import { GupDebugSession } from './session';

process.on('uncaughtException', (e) => process.stderr.write(`gup-lens debug adapter: ${e.stack ?? e}\n`));
const session = new GupDebugSession({ readFile: (p) => readFile(p, 'utf8') });
process.on('SIGTERM', () => session.shutdown());
session.start(process.stdin, process.stdout);
