/**
 * A file inside a kernel tree: the object-like macros it uses but neither defines nor finds among
 * the built-ins are read from the tree's own headers (mm/internal.h, include/linux/mm.h, …) before
 * they count as unknown. A vendor's flag set or a distribution's renamed constant then runs as
 * that tree defines it. Reading is by path, so this is the server's job, not the emulator's.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
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

/** The kernel tree a file lies in: the nearest directory above it with mm/internal.h, include/linux/mm.h or a kernel's top Makefile. */
export function treeRoot(file: string): string | undefined {
  let d = dirname(file);
  for (let i = 0; i < 8; i++) {
    if (existsSync(join(d, 'mm/internal.h')) || existsSync(join(d, 'include/linux/mm.h')) || makefileRelease(join(d, 'Makefile'))) return d;
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  return undefined;
}

/** A file's first 4 KiB, or '' when it cannot be read. */
function readHead(path: string): string {
  try {
    const fd = openSync(path, 'r');
    try {
      const buf = Buffer.alloc(4096);
      return buf.toString('utf8', 0, readSync(fd, buf, 0, 4096, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

/** per Makefile: the release it names, read once (kept by path and modification time) */
const releases = new Map<string, { mtime: number; release: string | undefined }>();

/** The release a kernel's top Makefile names (VERSION.PATCHLEVEL.SUBLEVEL EXTRAVERSION), if the file is one. */
function makefileRelease(path: string): string | undefined {
  let st;
  try {
    st = statSync(path);
  } catch {
    return undefined;
  }
  if (!st.isFile()) return undefined;
  const hit = releases.get(path);
  if (hit && hit.mtime === st.mtimeMs) return hit.release;
  // its first 4 KiB name the release (a huge or unreadable file costs no more)
  const head = readHead(path);
  const release = releaseOfMakefile(head, readHead(join(dirname(path), 'Makefile.rhelver')));
  if (releases.size > 64) releases.delete(releases.keys().next().value!);
  releases.set(path, { mtime: st.mtimeMs, release });
  return release;
}

/**
 * The release a kernel Makefile's text names ("4.16.13", "6.0.0-rc1"), with a distribution's own
 * (RHEL_MAJOR/RHEL_MINOR in the Makefile, or in Makefile.rhelver beside it: "4.18.0 (RHEL 8.1)");
 * undefined for any other Makefile.
 */
export function releaseOfMakefile(text: string, rhelver = ''): string | undefined {
  const field = (n: string, t = text) => new RegExp(`^${n}\\s*=[ \\t]*(\\S*)`, 'm').exec(t)?.[1];
  const [v, p, s, x] = [field('VERSION'), field('PATCHLEVEL'), field('SUBLEVEL'), field('EXTRAVERSION')];
  // a kernel's Makefile names its release (NAME, in every release since 2.6): another project's VERSION is not a kernel's
  if (!v || !/^\d+$/.test(v) || Number(v) < 2 || !p || !/^\d+$/.test(p) || field('NAME') === undefined) return undefined;
  const [major, minor] = [field('RHEL_MAJOR') ?? field('RHEL_MAJOR', rhelver), field('RHEL_MINOR') ?? field('RHEL_MINOR', rhelver)];
  const distro = major && /^\d+$/.test(major) ? ` (RHEL ${major}${minor && /^\d+$/.test(minor) ? `.${minor}` : ''})` : '';
  return `${v}.${p}${s && /^\d+$/.test(s) ? `.${s}` : ''}${x ?? ''}${distro}`;
}

/** The release the file's kernel tree names in its top Makefile, if it lies in one. */
export function treeReleaseOf(file: string | undefined): string | undefined {
  const root = file && treeRoot(file);
  return root ? makefileRelease(join(root, 'Makefile')) : undefined;
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
  let text: string;
  try {
    // a header too big to be one, a directory, an unreadable file: no macros from it
    if (!st.isFile() || st.size > 8 << 20) return macros;
    text = readFileSync(path, 'utf8').replace(/\\\r?\n/g, ' ');
  } catch {
    return macros;
  }
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
