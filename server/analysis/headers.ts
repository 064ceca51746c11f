/**
 * A file inside a kernel tree: the object-like macros it uses but neither defines nor finds among
 * the built-ins are read from the tree's own headers (mm/internal.h, include/linux/mm.h, …) before
 * they count as unknown. A vendor's flag set or a distribution's renamed constant then runs as
 * that tree defines it. Reading is by path, so this is the server's job, not the emulator's.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { codeNames } from '../../emulator/interp/era';
import { KAPI } from '../../emulator/interp/kapi';

/** Where GUP-fast's headers live, most specific first. */
const HEADERS = [
  'mm/internal.h', 'include/linux/mm.h', 'include/linux/mm_types.h', 'include/linux/huge_mm.h', 'include/linux/page-flags.h',
  'include/linux/pgtable.h', 'include/linux/page_ref.h', 'include/linux/memremap.h', 'include/linux/mmu_notifier.h', 'include/linux/sched/coredump.h',
  'include/linux/mm_inline.h', 'include/linux/hugetlb.h', 'include/linux/errno.h', 'include/uapi/asm-generic/errno-base.h', 'include/uapi/asm-generic/errno.h',
];

const BUILTIN_NAMES = new Set(KAPI.map((b) => b.name));

/** The kernel tree a file lies in: the nearest directory above it with mm/internal.h or include/linux/mm.h. */
export function treeRoot(file: string): string | undefined {
  let d = dirname(file);
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'mm/internal.h')) || existsSync(join(d, 'include/linux/mm.h'))) return d;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return undefined;
}

/** per header file: its object-like macros, read once (kept by path and modification time) */
const read = new Map<string, { mtime: number; macros: Map<string, string> }>();

function macrosOf(path: string): Map<string, string> {
  let st;
  try {
    st = statSync(path);
  } catch {
    return new Map();
  }
  const hit = read.get(path);
  if (hit && hit.mtime === st.mtimeMs) return hit.macros;
  const macros = new Map<string, string>();
  const text = readFileSync(path, 'utf8').replace(/\\\r?\n/g, ' ');
  for (const m of text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)(?![\w(])[ \t]*(.*)$/gm)) {
    if (!macros.has(m[1])) macros.set(m[1], m[2].replace(/\/\*.*?\*\//g, ' ').replace(/\/\/.*$/, '').trim());
  }
  if (read.size > 64) read.delete(read.keys().next().value!);
  read.set(path, { mtime: st.mtimeMs, macros });
  return macros;
}

/**
 * The header macros a file needs: each name it uses that it does not #define and no built-in
 * binds, with the body its tree gives it, following names those bodies use in turn. Empty
 * outside a kernel tree.
 */
export function headerMacrosFor(file: string | undefined, text: string): Record<string, string> {
  const root = file && treeRoot(file);
  if (!root) return {};
  const own = new Set([...text.matchAll(/^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)/gm)].map((m) => m[1]));
  const tables = HEADERS.map((h) => macrosOf(join(root, h)));
  const out: Record<string, string> = {};
  const todo = [...codeNames(text)];
  const seen = new Set<string>();
  while (todo.length) {
    const n = todo.pop()!;
    if (seen.has(n) || own.has(n) || BUILTIN_NAMES.has(n)) continue;
    seen.add(n);
    const body = tables.find((t) => t.has(n))?.get(n);
    if (body === undefined) continue;
    out[n] = body;
    for (const m of body.match(/[A-Za-z_]\w*/g) ?? []) todo.push(m);
  }
  return out;
}
