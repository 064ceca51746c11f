import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const files = (dir: string): string[] =>
  readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });

describe('layers', () => {
  it('the emulator is pure: no vscode, no protocol library, no I/O', () => {
    const bad = files(join(__dirname, '../../emulator')).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/from '((?:node:)?(?:fs|child_process|net|http)|vscode[\w-]*|@vscode\/[\w-]+|web-tree-sitter)(?:\/[\w/]*)?'/g)].map((m) => `${f}: ${m[1]}`),
    );
    expect(bad).toEqual([]);
  });

  it('only the client imports vscode', () => {
    const bad = [...files(join(__dirname, '../../server')), ...files(join(__dirname, '../../emulator'))].filter((f) => /from 'vscode'/.test(readFileSync(f, 'utf8')));
    expect(bad).toEqual([]);
  });
});
