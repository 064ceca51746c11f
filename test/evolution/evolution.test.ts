import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseC, getParser } from '../../server/analysis/parse';
import { behaviourDiff, modelChoices } from '../../server/evolution/bdiff';
import { cliGit } from '../../server/evolution/git';
import { cutFunction, functionHistory } from '../../server/evolution/history';
import { anchorAt, CorruptNotesError, noteReply, NotesStore, nodeNotesFs, notesMarkdown, placeNotes } from '../../server/evolution/notes';
import { main } from '../../server/cli/main';

/** A pte walker body in our own words; `extra` changes its text from one commit to the next. */
function walker(name: string, extra: string): string {
  return [
    `static int ${name}(pmd_t pmd, unsigned long addr, unsigned long end,`,
    '\t\tint write, struct page **pages, int *nr)',
    '{',
    '\tpte_t *ptep = pte_offset_map(&pmd, addr);',
    '',
    '\tdo {',
    '\t\tpte_t pte = ACCESS_ONCE(*ptep);',
    extra,
    '\t\tif (pte_val(pte) != pte_val(*ptep))',
    '\t\t\treturn 0;',
    '\t} while (ptep++, addr += PAGE_SIZE, addr != end);',
    '\treturn 1;',
    '}',
    '',
  ].join('\n');
}
const other = (n: number) => `static int unrelated_helper(void)\n{\n\treturn ${n};\n}\n`;

let repo: string;
const git = (...args: string[]) => execFileSync('git', args, { cwd: repo, encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_DATE: '2020-01-01T00:00:00Z', GIT_COMMITTER_DATE: '2020-01-01T00:00:00Z' } });
function commit(files: Record<string, string | null>, subject: string, tag?: string): string {
  for (const [p, text] of Object.entries(files)) {
    if (text === null) git('rm', '-q', p);
    else {
      mkdirSync(join(repo, p, '..'), { recursive: true });
      writeFileSync(join(repo, p), text);
      git('add', p);
    }
  }
  git('commit', '-q', '-m', subject);
  if (tag) git('tag', tag);
  return git('rev-parse', 'HEAD').trim();
}

const c: Record<string, string> = {};
/** A fresh repository in a temporary folder (branch master), git run in it as one author, and a commit of files (null: deleted) that returns its id. */
function scratchRepo(prefix: string) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env = { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' };
  const g = (...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8', env });
  g('init', '-q', '-b', 'master');
  const put = (files: Record<string, string | null>, msg: string) => {
    for (const [p, text] of Object.entries(files)) {
      if (text === null) g('rm', '-q', p);
      else {
        mkdirSync(join(dir, p, '..'), { recursive: true });
        writeFileSync(join(dir, p), text);
      }
    }
    g('add', '-A');
    g('commit', '-qm', msg);
    return g('rev-parse', 'HEAD').trim();
  };
  return { dir, g, put };
}

beforeAll(() => {
  repo = mkdtempSync(join(tmpdir(), 'gup-hist-'));
  git('init', '-q', '-b', 'master');
  git('config', 'user.email', 't@example.invalid');
  git('config', 'user.name', 'gup-lens test');
  c.first = commit({ 'arch/x86/mm/gup.c': walker('gup_pte_range', '\t\t/* first */') + other(1) }, 'x86: lockless walker', 'v1.0');
  c.body = commit({ 'arch/x86/mm/gup.c': walker('gup_pte_range', '\t\tif (!pte_present(pte))\n\t\t\treturn 0;') + other(1) }, 'x86: check present', 'v1.1');
  c.unrelated = commit({ 'arch/x86/mm/gup.c': walker('gup_pte_range', '\t\tif (!pte_present(pte))\n\t\t\treturn 0;') + other(2) }, 'x86: unrelated change');
  c.move = commit({ 'arch/x86/mm/gup.c': null, 'mm/gup.c': '#include <linux/mm.h>\n\n' + walker('gup_pte_range', '\t\tif (!pte_present(pte))\n\t\t\treturn 0;') }, 'mm: move the walker to generic code', 'v2.0');
  c.rename = commit({ 'mm/gup.c': '#include <linux/mm.h>\n\n' + walker('gup_fast_pte_range', '\t\tif (!pte_present(pte))\n\t\t\treturn 0;') }, 'mm/gup: consistent naming', 'v3.0');
});

afterAll(() => rmSync(repo, { recursive: true, force: true }));

describe('function history from a kernel git tree', () => {
  it('lists every commit where the text changed, oldest first, across a move and a rename', async () => {
    const h = await functionHistory(cliGit(repo), 'gup_fast_pte_range');
    expect(h.map((e) => [e.commit, e.tag, e.path, e.name, e.subject])).toEqual([
      [c.first, 'v1.0', 'arch/x86/mm/gup.c', 'gup_pte_range', 'x86: lockless walker'],
      [c.body, 'v1.1', 'arch/x86/mm/gup.c', 'gup_pte_range', 'x86: check present'],
      [c.move, 'v2.0', 'mm/gup.c', 'gup_pte_range', 'mm: move the walker to generic code'],
      [c.rename, 'v3.0', 'mm/gup.c', 'gup_fast_pte_range', 'mm/gup: consistent naming'],
    ]);
    expect(h[0].date).toMatch(/^2020-01-01T00:00:00/);
    // asked by its old name, the same lineage
    expect((await functionHistory(cliGit(repo), 'gup_pte_range')).map((e) => e.commit)).toEqual(h.map((e) => e.commit));
  });

  it('on a history with a branch and a merge, a version is where a commit changed the function against its own parent: a main-line commit that left it alone, and the merge that brings the branch\'s version, add none', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gup-hist-merge-'));
    const at = (date: string) => ({ ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date });
    const g = (date: string, ...a: string[]) => execFileSync('git', ['-C', dir, ...a], { encoding: 'utf8', env: at(date) });
    const put = (date: string, text: string, msg: string) => {
      mkdirSync(join(dir, 'mm'), { recursive: true });
      writeFileSync(join(dir, 'mm/gup.c'), text);
      g(date, 'add', '.');
      g(date, 'commit', '-qm', msg);
      return g(date, 'rev-parse', 'HEAD').trim();
    };
    g('2021-01-01T00:00:00Z', 'init', '-q', '-b', 'master');
    const A = walker('gup_pte_range', '\t\t/* A */');
    const B = walker('gup_pte_range', '\t\tif (!pte_present(pte))\n\t\t\treturn 0;');
    const base = put('2021-01-01T00:00:00Z', A + other(1), 'mm/gup: the walker');
    g('2021-01-02T00:00:00Z', 'checkout', '-qb', 'fix');
    const fix = put('2021-01-02T00:00:00Z', B + other(1), 'mm/gup: check present');
    g('2021-01-03T00:00:00Z', 'checkout', '-q', 'master');
    put('2021-01-03T00:00:00Z', A + other(2), 'mm/gup: another function');
    g('2021-01-04T00:00:00Z', 'merge', '-q', '--no-edit', 'fix');
    expect(readFileSync(join(dir, 'mm/gup.c'), 'utf8')).toBe(B + other(2));
    const h = await functionHistory(cliGit(dir), 'gup_pte_range');
    expect(h.map((e) => [e.commit, e.subject])).toEqual([
      [base, 'mm/gup: the walker'],
      [fix, 'mm/gup: check present'],
    ]);
  });

  it("a kernel kept in a folder of a larger repository: its function's versions, found by the folder census, or with --repo naming the folder", async () => {
    const { dir, put } = scratchRepo('gup-hist-folder-');
    put({ README: 'a research project\n' }, 'docs');
    const first = put({ 'linux/mm/gup.c': walker('gup_pte_range', '\t\t/* A */') }, 'import the kernel');
    const second = put({ 'linux/mm/gup.c': walker('gup_pte_range', '\t\tif (!pte_present(pte))\n\t\t\treturn 0;') }, 'check present');
    const h = await functionHistory(cliGit(dir), 'gup_pte_range');
    expect(h.map((e) => [e.commit, e.path])).toEqual([
      [first, 'linux/mm/gup.c'],
      [second, 'linux/mm/gup.c'],
    ]);
    const out: string[] = [];
    expect(await main(['history', 'gup_pte_range', '--repo', join(dir, 'linux'), '--json'], (x) => out.push(x), () => undefined)).toBe(0);
    expect(JSON.parse(out.join('')).map((e: { commit: string }) => e.commit)).toEqual([first, second]);
  });

  it("another arch's copy of the walker changing is no version of the function: the history stays with its home (2.6 trees had powerpc's and x86's gup_pte_range side by side), and moves where the file it was in goes", async () => {
    const { dir, put } = scratchRepo('gup-hist-copies-');
    const ppc = put({ 'arch/powerpc/mm/gup.c': walker('gup_pte_range', '\t\t/* ppc 1 */') }, 'powerpc: fast gup');
    const x86 = put({ 'arch/x86/mm/gup.c': walker('gup_pte_range', '\t\t/* x86 1 */') }, 'x86: fast gup');
    put({ 'arch/powerpc/mm/gup.c': walker('gup_pte_range', '\t\t/* ppc 2 */') }, 'powerpc: a change of its own');
    const x86b = put({ 'arch/x86/mm/gup.c': walker('gup_pte_range', '\t\t/* x86 2 */') }, 'x86: a change');
    put({ 'arch/powerpc/mm/gup.c': walker('gup_pte_range', '\t\t/* ppc 3 */') }, 'powerpc: another');
    const moved = put({ 'arch/x86/mm/gup.c': null, 'mm/gup.c': walker('gup_pte_range', '\t\t/* generic */') }, 'x86: use the generic walker');
    const h = await functionHistory(cliGit(dir), 'gup_pte_range');
    expect(h.map((e) => [e.commit, e.path])).toEqual([
      [ppc, 'arch/powerpc/mm/gup.c'],
      [x86, 'arch/x86/mm/gup.c'],
      [x86b, 'arch/x86/mm/gup.c'],
      [moved, 'mm/gup.c'],
    ]);
  });

  it('a topic branch that merges the main line adds no version: the merge took the file as the main line had it (git\'s history of the file leaves it out)', async () => {
    const { dir, g, put } = scratchRepo('gup-hist-topic-');
    const base = put({ 'mm/gup.c': walker('gup_pte_range', '\t\t/* A */') }, 'mm/gup: the walker');
    g('checkout', '-qb', 'topic');
    put({ README: 'topic\n' }, 'docs: topic work');
    g('checkout', '-q', 'master');
    const body = put({ 'mm/gup.c': walker('gup_pte_range', '\t\tif (!pte_present(pte))\n\t\t\treturn 0;') }, 'mm/gup: check present');
    g('checkout', '-q', 'topic');
    g('merge', '-q', '--no-edit', 'master');
    const h = await functionHistory(cliGit(dir), 'gup_pte_range');
    expect(h.map((e) => [e.commit, e.subject])).toEqual([
      [base, 'mm/gup: the walker'],
      [body, 'mm/gup: check present'],
    ]);
  });

  it('reports progress and can be cancelled', async () => {
    const seen: number[] = [];
    await functionHistory(cliGit(repo), 'gup_pte_range', { progress: (d) => seen.push(d) });
    expect(seen[seen.length - 1]).toBe(5);
    const ac = new AbortController();
    ac.abort();
    await expect(functionHistory(cliGit(repo), 'gup_pte_range', { signal: ac.signal })).rejects.toThrow(/cancelled/);
  });

  it('virtual document content is the file at that tag; the diff cut is just the function', async () => {
    const files = await cliGit(repo).catFiles(['v1.0:arch/x86/mm/gup.c', 'v3.0:arch/x86/mm/gup.c', 'v3.0:mm/gup.c']);
    expect(files.get('v1.0:arch/x86/mm/gup.c')).toContain('/* first */');
    expect(files.get('v3.0:arch/x86/mm/gup.c')).toBeUndefined();
    const cut = cutFunction(await getParser(), files.get('v3.0:mm/gup.c')!, ['gup_pte_range', 'gup_fast_pte_range'])!;
    expect(cut.name).toBe('gup_fast_pte_range');
    expect(cut.text.split('\n')[0]).toBe('static int gup_fast_pte_range(pmd_t pmd, unsigned long addr, unsigned long end,');
    expect(cut.text.trim().endsWith('}')).toBe(true);
    expect(cut.text).not.toContain('#include');
  });

  it('gup-lens history --json prints the contract shape', async () => {
    const out: string[] = [];
    const code = await main(['history', 'gup_pte_range', '--repo', repo, '--json'], (s) => out.push(s), () => undefined);
    expect(code).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(Object.keys(j[0]).sort()).toEqual(['commit', 'date', 'name', 'path', 'subject', 'tag']);
    expect(j).toHaveLength(4);
    const bad = await main(['history', 'gup_pte_range', '--repo', tmpdir()], () => undefined, (s) => out.push(s));
    expect(bad).toBe(2);
  });
});

describe('behaviour diff', () => {
  it('THP on generic-2014 → foll-pin-2020: the tail pins are gone, the grab comes through try_grab_compound_head', () => {
    const d = behaviourDiff('thp-pmd', 'arm64', 'generic-2014', 'foll-pin-2020');
    expect(d.from.result.nr).toBe(512);
    expect(d.to.result.nr).toBe(512);
    const ops = new Set(d.aligned.map((a) => a.op));
    expect([...ops].every((o) => ['same', 'added', 'removed', 'changed'].includes(o))).toBe(true);
    for (const a of d.aligned) {
      expect(a.from === null).toBe(a.op === 'added');
      expect(a.to === null).toBe(a.op === 'removed');
    }
    expect(d.aligned.some((a) => a.op === 'removed' && a.from!.anchor === 'get_huge_page_tail(tail)')).toBe(true);
    const grab = d.aligned.find((a) => a.to?.anchor === 'try_grab_compound_head' && a.to.event === 'ref')!;
    expect(grab.op).toBe('changed');
    expect(grab.from!.anchor).toBe('page_cache_add_speculative(head, refs)');
  });

  it('the pickers offer every dialect, the file\'s own first, and a dialect diffs like any model', () => {
    const c = modelChoices('folio-6x@6.1');
    expect(c[0]).toMatchObject({ label: 'folio-6x@6.1', picked: true });
    expect(c[0].description).toContain('this file');
    expect(c.map((x) => x.label)).toEqual(expect.arrayContaining(['x86-2008', 'folio-6x', 'folio-6x@6.1']));
    expect(c.filter((x) => x.picked)).toHaveLength(1);
    const d = behaviourDiff('thp-pmd', 'x86-64', 'folio-6x@6.1', 'folio-6x');
    expect(d.from.version).toBe('folio-6x@6.1');
    expect(d.from.result.nr).toBe(512);
    expect(d.to.version).toBe('folio-6x');
  });

  it('foll-pin-2020 → wpseq-2021 on a pin: the write_protect_seq checks are the added steps', () => {
    const d = behaviourDiff('pin-1g', 'x86-64', 'foll-pin-2020', 'wpseq-2021');
    const added = d.aligned.filter((a) => a.op === 'added').map((a) => a.to!.anchor);
    expect(added).toEqual(['raw_read_seqcount(&current->mm->write_protect_seq)', 'read_seqcount_retry(&current->mm->write_protect_seq, seq)']);
  });

  it('a race compares the two versions\' verdicts and counterexamples', () => {
    const d = behaviourDiff('race-pte-changed', 'arm-lpae', 'arm-rfc-2013', 'generic-2014');
    expect(d.from.result).toMatchObject({ verdict: 'violation' });
    expect(d.from.result.message).toMatch(/which is free/);
    expect(d.to.result).toMatchObject({ verdict: 'ok' });
    // the fixed version has no counterexample: every step of the old one stands alone
    expect(d.aligned.length).toBeGreaterThan(5);
    expect(d.aligned.every((x) => x.op === 'removed' && x.from && !x.to)).toBe(true);
    expect(() => behaviourDiff('race-pte-changed', 'arm64', 'arm-rfc-2013', 'generic-2014')).toThrow(/does not run on arm64/);
  });

  it('gup-lens bdiff --json prints the contract shape', () => {
    const out: string[] = [];
    expect(main(['bdiff', '--scenario', 'pin-1g', '--arch', 'x86-64', '--from', 'foll-pin-2020', '--to', 'folio-6x', '--json'], (s) => out.push(s), () => undefined)).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(j.from).toBe('foll-pin-2020');
    expect(j.to).toBe('folio-6x');
    expect(j.aligned[0]).toMatchObject({ op: expect.stringMatching(/same|added|removed|changed/) });
  });
});

describe('annotations', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'gup-notes-'))));

  it('a note follows its statement when lines are inserted above, and shows on an older version', async () => {
    const store = new NotesStore(nodeNotesFs(), join(dir, '.vscode/gup-lens-notes.json'));
    const src = walker('gup_pte_range', '');
    const anchor = anchorAt(await parseC(src), src.split('\n').findIndex((l) => l.includes('pte_val(pte) != pte_val(*ptep)')))!;
    // the prompt shows the statement as written; the store keeps its tokens
    expect(anchor).toEqual({ fn: 'gup_pte_range', statement: '(pte_val(pte) != pte_val(*ptep))' });
    await store.add(anchor.fn, anchor.statement, 'the re-check that makes the speculative ref safe');
    const notes = await store.load();
    expect(notes[0].statement).toBe('( pte_val ( pte ) != pte_val ( * ptep ) )');
    const at = placeNotes(notes, await parseC(src))[0];
    expect(src.split('\n')[at.line!]).toContain('pte_val(pte) != pte_val(*ptep)');
    const edited = '/* a */\n/* b */\n/* c */\n' + src;
    expect(placeNotes(notes, await parseC(edited))[0].line).toBe(at.line! + 3);
    // the renamed function of a later version still carries it
    expect(placeNotes(notes, await parseC(walker('gup_fast_pte_range', '')))[0].line).toBe(at.line);
    // a version without that statement says so
    const without = walker('gup_pte_range', '').replace('\t\tif (pte_val(pte) != pte_val(*ptep))\n\t\t\treturn 0;\n', '');
    expect(placeNotes(notes, await parseC(without))[0].missing).toMatch(/is not in gup_pte_range here/);
    // exported once, under the name the first file that has it uses, with the statement as written
    const later = walker('gup_fast_pte_range', '');
    const md = notesMarkdown([
      { file: 'mm/gup.c', notes: placeNotes(notes, await parseC(later), later) },
      { file: 'old/gup.c', notes: placeNotes(notes, await parseC(src), src) },
      { file: 'gone/gup.c', notes: placeNotes(notes, await parseC(without), without) },
    ]);
    expect(md.match(/the re-check that makes the speculative ref safe/g)).toHaveLength(1);
    expect(md).toContain(`**gup_fast_pte_range** · mm/gup.c:${at.line! + 1}`);
    expect(md).toMatch(/```c\n\t\tif \(pte_val\(pte\) != pte_val\(\*ptep\)\)\n\t\t\treturn 0;\n```/);
    expect(md).not.toMatch(/\( pte_val \( pte \)/); // never the spaced-out tokens
    // and as a reply on the list: the quoted lines, then the note
    const reply = noteReply(placeNotes(notes, await parseC(src), src)[0], 'mm/gup.c');
    expect(reply).toBe(`On mm/gup.c:${at.line! + 1}, in gup_pte_range():\n\n> \t\tif (pte_val(pte) != pte_val(*ptep))\n> \t\t\treturn 0;\n\nthe re-check that makes the speculative ref safe\n`);
  });

  it('a corrupt notes file is reported and kept aside, not overwritten', async () => {
    const path = join(dir, 'broken/.vscode/gup-lens-notes.json');
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, '{ "version": 1, "notes": [ {"id": 3 ');
    const store = new NotesStore(nodeNotesFs(), path);
    await expect(store.load()).rejects.toBeInstanceOf(CorruptNotesError);
    const aside = readdirSync(join(path, '..')).filter((f) => f.includes('.corrupt-'));
    expect(aside).toHaveLength(1);
    expect(readFileSync(join(path, '..', aside[0]), 'utf8')).toBe('{ "version": 1, "notes": [ {"id": 3 ');
    await store.add('gup_huge_pmd', null, 'fresh start');
    expect((await store.load()).map((n) => n.text)).toEqual(['fresh start']);
  });

  it('a writer killed between write and rename never leaves a truncated notes file', async () => {
    const path = join(dir, 'atomic/gup-lens-notes.json');
    const store = new NotesStore(nodeNotesFs(), path);
    await store.add('gup_pte_range', null, 'before the crash');
    const before = readFileSync(path, 'utf8');
    // a child process writes a large update and is killed before its rename
    const script = `
      const { NotesStore, nodeNotesFs } = require(${JSON.stringify(join(__dirname, '../../dist/notes-test-helper.js'))});
      const fs = nodeNotesFs();
      const store = new NotesStore({ ...fs, rename: async () => process.kill(process.pid, 'SIGKILL') }, ${JSON.stringify(path)});
      store.save(Array.from({ length: 5000 }, (_, i) => ({ id: String(i), fn: 'gup_pte_range', statement: null, text: 'x'.repeat(200), created: '' })));
    `;
    const r = spawnSync(process.execPath, ['-e', script]);
    expect(r.signal).toBe('SIGKILL');
    expect(readFileSync(path, 'utf8')).toBe(before);
    expect((await store.load()).map((n) => n.text)).toEqual(['before the crash']);
    expect(existsSync(path)).toBe(true);
  });
});
