/**
 * The git CLI behind a small interface (the GitAccessor of the design): the real git has what
 * history needs (pickaxe, name-rev, cat-file --batch); nothing here parses git objects itself.
 * Every call can be cancelled.
 */
import { execFile, spawn } from 'node:child_process';

export interface GitAccessor {
  run(args: string[], signal?: AbortSignal): Promise<string>;
  /** contents of many objects (`rev:path` or blob ids) in one process; undefined for a missing one */
  catFiles(specs: string[], signal?: AbortSignal): Promise<Map<string, string | undefined>>;
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

export function cliGit(repo: string, git = 'git'): GitAccessor {
  return {
    run(args, signal) {
      return new Promise((resolve, reject) => {
        execFile(git, ['-C', repo, ...args], { maxBuffer: 256 * 1024 * 1024, signal, encoding: 'utf8' }, (err, out, stderr) => {
          if (signal?.aborted) reject(new CancelledError());
          else if (err) reject(new Error(`git ${args[0]}: ${(stderr || err.message).trim()}`));
          else resolve(out);
        });
      });
    },
    catFiles(specs, signal) {
      return new Promise((resolve, reject) => {
        const out = new Map<string, string | undefined>();
        if (!specs.length) return resolve(out);
        const p = spawn(git, ['-C', repo, 'cat-file', '--batch'], { signal });
        const chunks: Buffer[] = [];
        p.stdout.on('data', (c: Buffer) => chunks.push(c));
        p.on('error', (e) => reject(signal?.aborted ? new CancelledError() : e));
        p.on('close', () => {
          if (signal?.aborted) return reject(new CancelledError());
          const buf = Buffer.concat(chunks);
          let at = 0;
          for (const spec of specs) {
            const nl = buf.indexOf(10, at);
            const header = buf.subarray(at, nl).toString('utf8');
            at = nl + 1;
            if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
              out.set(spec, undefined);
              continue;
            }
            const size = Number(header.split(' ')[2]);
            out.set(spec, buf.subarray(at, at + size).toString('utf8'));
            at += size + 1;
          }
          resolve(out);
        });
        p.stdin.end(specs.join('\n') + '\n');
      });
    },
  };
}

/**
 * The folder of the repository the kernel is in: '' when its top holds one of `files` at `rev`,
 * else the one top-level folder that does ('linux-5.0.1/': a research or vendor repository that
 * keeps a kernel beside its own files); '' when none or several do.
 */
export async function kernelDir(git: GitAccessor, rev: string, files: string[]): Promise<string> {
  const held = async (paths: string[]) => (await git.run(['ls-tree', '-r', '--name-only', rev, '--', ...paths]).catch(() => '')).split('\n').filter(Boolean);
  if ((await held(files)).length) return '';
  const dirs = (await git.run(['ls-tree', '-d', '--name-only', rev]).catch(() => '')).split('\n').filter(Boolean);
  if (!dirs.length) return '';
  const found = new Set((await held(dirs.flatMap((d) => files.map((f) => `${d}/${f}`)))).map((p) => p.split('/')[0]));
  return found.size === 1 ? `${[...found][0]}/` : '';
}
