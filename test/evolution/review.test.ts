/**
 * Reviewing a patch: the 2013 ARM RFC as mailed (no tree: the new file runs from the patch alone),
 * and patches made here between era fixtures, applied in memory to a git tree the test builds:
 * base-commit, HEAD, or the newest tag the patch applies to. Verdicts flip where history says.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cmdReview, main } from '../../server/cli/main';
import { NotAPatchError, parseMails, parseQuotedMails, pathsInTree } from '../../server/evolution/patch';
import { replyFor } from '../../server/evolution/reply';
import { review } from '../../server/evolution/review';
import { isGupText } from '../../client/gup-doc';
import { parseStubs } from '../../emulator/interp/kapi/stubs';

const FIX = join(__dirname, '../fixtures');
const corpus = join(__dirname, '../../../shared/corpus');
const fixture = (p: string) => readFileSync(join(FIX, p), 'utf8');

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e' } });
}

/** A git tree with mm/gup.c at `text`, committed. */
function treeOf(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'gup-review-'));
  git(dir, 'init', '-q');
  mkdirSync(join(dir, 'mm'));
  writeFileSync(join(dir, 'mm/gup.c'), text);
  git(dir, 'add', '.');
  git(dir, 'commit', '-qm', 'base');
  return dir;
}

/** A kernel-shaped tree with mm/gup.c at `before`, committed and tagged; the patch to `after` as a mail. */
function treeWithPatch(before: string, after: string, subject: string): { dir: string; mail: string; base: string } {
  const dir = treeOf(before);
  git(dir, 'tag', 'v1.0');
  const base = git(dir, 'rev-parse', 'HEAD').trim();
  writeFileSync(join(dir, 'mm/gup.c'), after);
  const diff = git(dir, 'diff');
  git(dir, 'checkout', '-q', '--', 'mm/gup.c');
  const mail = `From ${'0'.repeat(40)} Mon Sep 17 00:00:00 2001\nFrom: A Reviewer <r@example.invalid>\nSubject: [PATCH] ${subject}\n\nWhy this is needed.\n\n---\n${diff}-- \n2.43.0\n`;
  return { dir, mail, base };
}

const V510 = fixture('eras/gup-5.10-shape.c');
// the same walker before write_protect_seq: no seqcount around the interrupts-off walk
const V510_NO_SEQ = V510.replace(/\tif \(gf & FOLL_PIN\) \{\n\t\tstamp = raw_read_seqcount\([^\n]*\n[^\n]*\n[^\n]*\n\t\}\n/, '').replace(/\tif \(\(gf & FOLL_PIN\) && read_seqcount_retry\([^\n]*\n\t\tunpin_user_pages\(out, got\);\n\t\treturn 0;\n\t\}\n/, '');
const V61 = fixture('eras/gup-6.1-shape.c');
const V62 = V61.replace('pmd_t pmv = READ_ONCE(*pm_at);', 'pmd_t pmv = pmdp_get_lockless(pm_at);');

describe('patch review', () => {
  it('reads a format-patch mail: subject, files, hunks at their lines; a mail without a patch has none', () => {
    const { mail } = treeWithPatch(V510_NO_SEQ, V510, 'mm/gup: fast GUP backs off while fork copies');
    const [m] = parseMails(mail);
    expect(m.subject).toBe('mm/gup: fast GUP backs off while fork copies');
    expect(m.files.map((f) => f.newPath)).toEqual(['mm/gup.c']);
    expect(m.files[0].hunks.every((h) => mail.split('\n')[h.line].startsWith('@@ '))).toBe(true);
    expect(parseMails('From: someone\nSubject: hello\n\njust words\n')[0].files).toEqual([]);
    // the list's tag, however it is worded, is not part of the subject
    for (const tag of ['[PATCH v3 2/7]', '[RFC PATCH]', '[PATCH RESEND 6.1.y]', '[rfc patch v2 1/3]']) {
      expect(parseMails(mail.replace(/^Subject: .*$/m, `Subject: ${tag} mm/gup: a subject`))[0].subject, tag).toBe('mm/gup: a subject');
    }
  });

  it('a mail whose body is quoted-printable, base64 (in a multipart mail) or format=flowed is read decoded: the same patch, its hunks on the lines the reader sees, an encoded subject decoded', async () => {
    const { dir, mail } = treeWithPatch(V510_NO_SEQ, V510, 'mm/gup: fast GUP backs off while fork copies');
    const [head, body] = [mail.slice(0, mail.indexOf('\n\n')), mail.slice(mail.indexOf('\n\n') + 2)];
    // quoted-printable as a mail client writes it: '=' and tabs escaped, lines folded at 76 with a trailing '='
    const qpLine = (l: string) => {
      const esc = l.replace(/=/g, '=3D').replace(/\t/g, '=09').replace(/ $/, '=20');
      const out: string[] = [];
      let rest = esc;
      while (rest.length > 75) {
        let cut = 75;
        while (/=[0-9A-F]?$/.test(rest.slice(0, cut))) cut--;
        out.push(rest.slice(0, cut) + '=');
        rest = rest.slice(cut);
      }
      return [...out, rest].join('\n');
    };
    const qp = `${head.replace(/^Subject: .*$/m, 'Subject: =?UTF-8?q?=5BPATCH=5D_mm/gup=3A_fast_GUP_backs_off_while_fork_copies?=')}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n${body.split('\n').map(qpLine).join('\n')}`;
    expect(qp).toMatch(/=3D/);
    expect(qp).toMatch(/=\n/);
    const b64 = `${head}\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary="sep"\n\n--sep\nContent-Type: text/plain\n\nThe fix, attached.\n\n--sep\nContent-Type: text/x-patch; name="0001.patch"\nContent-Transfer-Encoding: base64\n\n${Buffer.from(body).toString('base64').replace(/(.{76})/g, '$1\n')}\n--sep--\n`;
    // a mail client's text and HTML alternatives: the HTML part (the patch again, in <pre>) is not read
    const html = body.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    const alt = `${head}\nMIME-Version: 1.0\nContent-Type: multipart/alternative; boundary="alt"\n\n--alt\nContent-Type: text/plain; charset=UTF-8\nContent-Transfer-Encoding: quoted-printable\n\n${body.split('\n').map(qpLine).join('\n')}\n--alt\nContent-Type: text/html; charset=UTF-8\n\n<html><body><pre>\n${html}\n</pre></body></html>\n--alt--\n`;
    // format=flowed (RFC 3676) as a mail client writes it: a leading space or '>' stuffed with a space, a long line wrapped after a space (DelSp=yes: after one it added)
    const flowedLine = (delSp: boolean) => (l: string) => {
      let rest = /^[ >]|^From /.test(l) ? ` ${l}` : l;
      const out: string[] = [];
      while (rest.length > 60) {
        const cut = delSp ? 60 : rest.lastIndexOf(' ', 60) + 1;
        if (cut <= 1) break;
        out.push(delSp ? `${rest.slice(0, cut)} ` : rest.slice(0, cut));
        rest = rest.slice(cut);
      }
      return [...out, rest].join('\n');
    };
    const flowed = (delSp: boolean) =>
      `${head}\nMIME-Version: 1.0\nContent-Type: text/plain; charset=UTF-8; format=flowed${delSp ? '; delsp=yes' : ''}\n\n${body.split('\n').map(flowedLine(delSp)).join('\n')}`;
    expect(flowed(false).split('\n').some((l) => /\S $/.test(l))).toBe(true);
    const plain = (await review(mail, { tree: dir, races: false })).patches[0];
    for (const text of [qp, b64, alt, flowed(false), flowed(true)]) {
      const [m] = parseMails(text);
      expect(m.subject).toBe('mm/gup: fast GUP backs off while fork copies');
      expect(m.files.map((f) => f.newPath)).toEqual(['mm/gup.c']);
      const p = (await review(text, { tree: dir, races: false })).patches[0];
      expect(p.problems).toEqual([]);
      expect(p.functions.map((f) => [f.name, f.before, f.after])).toEqual(plain.functions.map((f) => [f.name, f.before, f.after]));
    }
    // each starts the language server when VS Code opens it as plain text (the base64 one shows no diff to a regex)
    for (const text of [mail, qp, b64, alt, flowed(false)]) expect(isGupText('plaintext', 'file', text)).toBe(true);
    expect(isGupText('plaintext', 'file', 'From: x\nSubject: lunch\n\nnoon?\n')).toBe(false);
    expect(isGupText('diff', 'file', '--- a/README\n+++ b/README\n@@ -1 +1 @@\n-a\n+b\n')).toBe(false);
    // quoted-printable: each hunk on the document line its @@ header starts on
    const doc = qp.split('\n');
    expect(parseMails(qp)[0].files[0].hunks.every((h) => doc[h.line].startsWith('@@ '))).toBe(true);
    // format=flowed: the same, and a plain mail's line ending in a space is not joined to the next
    const fl = flowed(false);
    expect(parseMails(fl)[0].files[0].hunks.every((h) => fl.split('\n')[h.line].startsWith('@@ '))).toBe(true);
    expect(parseMails(mail.replace(/^(\+.*)$/m, '$1 '))[0].files[0].hunks.map((h) => h.line)).toEqual(parseMails(mail)[0].files[0].hunks.map((h) => h.line));
  }, 60_000);

  it('a mail that says it is encoded but is garbage, or a multipart mail with broken boundaries, is read without a throw (fast-check)', () => {
    const enc = fc.constantFrom('quoted-printable', 'base64', 'QUOTED-PRINTABLE', '8bit');
    const mp = fc.constantFrom('', 'Content-Type: multipart/mixed; boundary="b"\n', 'Content-Type: multipart/alternative; boundary=b\n', 'Content-Type: text/plain; format=flowed; delsp=yes\n');
    fc.assert(
      fc.property(enc, mp, fc.array(fc.oneof(fc.string(), fc.constantFrom('--b', '--b--', '=', '=3', '=ZZ', ' ', '>> ', '-- ', '@@ -1 +1 @@', `commit ${'a'.repeat(40)}`, 'Author: x', 'index 1234567..89abcde 100644', 'diff --cc mm/gup.c', '@@@ -1 -1 +1 @@@', '> > @@ -1 +1 @@', '--- a/mm/gup.c~x', '+++ a/mm/gup.c', '--- /dev/null', '+++ linux/mm/gup.c', '_', 'diff --git a/mm/gup.c b/mm/gup.c', '', 'Content-Transfer-Encoding: base64')), { maxLength: 40 }), (e, m, body) => {
        const text = `From: x <x@example.org>\nSubject: =?UTF-8?B?${Buffer.from('t').toString('base64')}?= =?bogus\n${m}Content-Transfer-Encoding: ${e}\n\n${body.join('\n')}\n`;
        const mails = parseMails(text);
        expect(mails.length).toBe(1);
        for (const f of mails[0].files) expect(f.line).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 300 },
    );
  });

  it('the 2013 ARM RFC as mailed, without a tree: the new file runs from the patch alone, and its races show on the after side', async () => {
    const file = join(corpus, 'arm-rfc-2013.patch');
    if (!existsSync(file)) return console.warn('skipped: ../shared/corpus is absent');
    const r = await review(readFileSync(file, 'utf8'));
    const p = r.patches[0];
    expect(p.base).toEqual({ kind: 'none' });
    const pte = p.functions.find((f) => f.name === 'gup_pte_range')!;
    expect(pte.before).toBeUndefined();
    expect(pte.after!['arm-lpae']).toMatch(/nr=16.*its own code/);
    for (const id of ['race-pte-changed', 'race-table-free', 'race-thp-split-no-ipi']) {
      expect(p.races.find((x) => x.scenario === id && x.arch === 'arm-lpae'), id).toMatchObject({ before: 'n/a', after: 'violation' });
    }
  }, 60_000);

  it('a quilt patch of 2008 that creates the x86 file (linux-2.6/arch/x86/mm/gup.c), signed with a bare "-- ": the file is arch/x86/mm/gup.c and runs from the patch alone', async () => {
    const x86 = fixture('eras/x86-2008-shape.c').replace(/\n$/, '');
    const body = x86.split('\n').map((l) => `+${l}`).join('\n');
    const mail = `From: A Developer <dev@example.invalid>\nSubject: [patch 1/2] x86: lockless get_user_pages_fast\n\nWords.\n---\nIndex: linux-2.6/arch/x86/mm/gup.c\n===================================================================\n--- /dev/null\n+++ linux-2.6/arch/x86/mm/gup.c\n@@ -0,0 +1,${x86.split('\n').length} @@\n${body}\n-- \nA Developer\n`;
    const [m] = parseMails(mail);
    expect(m.files.map((f) => [f.oldPath, f.newPath])).toEqual([[undefined, 'arch/x86/mm/gup.c']]);
    const p = (await review(mail, { races: false, arches: ['x86-64'] })).patches[0];
    expect(p.problems).toEqual([]);
    expect(p.functions.find((f) => f.name === 'get_user_pages_fast')?.after?.['x86-64']).toMatch(/nr=16.*its own code/);
  }, 60_000);

  it('5.10 without write_protect_seq -> with it, applied to HEAD of a tree: race-fork-pin fixed', async () => {
    expect(V510_NO_SEQ).not.toContain('write_protect_seq);');
    const { dir, mail } = treeWithPatch(V510_NO_SEQ, V510, 'mm/gup: fast GUP backs off while fork copies');
    const r = await review(mail, { tree: dir, arches: ['x86-64'] });
    const p = r.patches[0];
    expect(p.base).toEqual({ kind: 'head', rev: 'HEAD' });
    expect(p.functions.map((f) => f.name)).toContain('lockless_pages_from_mm');
    expect(p.races.find((x) => x.scenario === 'race-fork-pin')).toMatchObject({ arch: 'x86-64', before: 'violation', after: 'ok', flip: 'fixed' });
    expect(p.races.filter((x) => x.flip === 'introduced')).toEqual([]);
    // the tree is only read
    expect(git(dir, 'status', '--porcelain')).toBe('');
  }, 60_000);

  it('a fix that sets a local before its first read (the 4.4.y gup_huge_pud bug, in a 4.9-shaped file): each side says why it stopped, and the scenario it changes is listed', async () => {
    const G49 = fixture('eras/gup-4.9-shape.c');
    const early = G49.replace('\thd = pmd_page(seen);\n\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);', '\tpg = hd + ((va & ~PMD_MASK) >> PAGE_SHIFT);\n\thd = pmd_page(seen);');
    expect(early).not.toBe(G49);
    const { dir, mail } = treeWithPatch(early, G49, 'mm/gup: take the head before its first use in gup_huge_pmd');
    const p = (await review(mail, { tree: dir, arches: ['arm64'], races: true, maxStates: 2_000 })).patches[0];
    const at = early.split('\n').findIndex((l) => l.includes('pg = hd + ((va')) + 1;
    const huge = p.functions.find((f) => f.name === 'gup_huge_pmd')!;
    expect(huge.before?.arm64).toMatch(new RegExp(`^thp-pmd: nr=0, refs \\+0; line ${at} read hd before anything set it .*\\(its own code\\)$`));
    expect(huge.after?.arm64).toMatch(/^thp-pmd: nr=512, refs \+512 \(its own code\)$/);
    expect(p.behaviour).toContainEqual(expect.objectContaining({ scenario: 'thp-pmd', arch: 'arm64', before: expect.stringContaining(`uninit(hd@${at})`) }));
    // a race that walks the huge pmd met the same read before, and meets none after
    expect(p.races.find((x) => x.scenario === 'race-pmd-changed')).toMatchObject({ before: 'violation', after: 'ok', flip: 'fixed' });
  }, 60_000);

  it('6.1 READ_ONCE pmd -> pmdp_get_lockless, found by base-commit, then (HEAD moved on) by the newest tag: race-pae-torn-pmd fixed on x86-pae', async () => {
    const { dir, mail, base } = treeWithPatch(V61, V62, 'mm/gup: read pmds without tearing them');
    // HEAD moves on to a text the patch no longer applies to
    writeFileSync(join(dir, 'mm/gup.c'), V61.replace('pmd_t pmv = READ_ONCE(*pm_at);', 'pmd_t pmv = READ_ONCE(*pm_at); /* elsewhere */'));
    git(dir, 'commit', '-qam', 'unrelated');
    const withBase = mail.replace('-- \n', `\nbase-commit: ${base}\n-- \n`);
    const a = await review(withBase, { tree: dir, arches: ['x86-pae'] });
    expect(a.patches[0].base).toEqual({ kind: 'base-commit', rev: base });
    expect(a.patches[0].races.find((x) => x.scenario === 'race-pae-torn-pmd')).toMatchObject({ before: 'violation', after: 'ok', flip: 'fixed' });
    const b = await review(mail, { tree: dir, arches: ['x86-pae'], races: false });
    expect(b.patches[0].base).toEqual({ kind: 'tag', rev: 'v1.0' });
  }, 60_000);

  it('a tree without git, its file 40 lines further down than the mail says, and a file it lacks: the base is its files, the hunk lands where it applies', async () => {
    const { mail } = treeWithPatch(V61, V62, 'mm/gup: read pmds without tearing them');
    // the same mail also touches a file of another subsystem, which this tree does not hold
    const other = 'diff --git a/mm/khugepaged.c b/mm/khugepaged.c\nindex 1111111..2222222 100644\n--- a/mm/khugepaged.c\n+++ b/mm/khugepaged.c\n@@ -10,3 +10,3 @@ static void collapse(void)\n \ta();\n-\tb();\n+\tc();\n \td();\n';
    const plain = mkdtempSync(join(tmpdir(), 'gup-plain-'));
    mkdirSync(join(plain, 'mm'));
    const banner = Array.from({ length: 40 }, (_, i) => `/* a distribution's note, line ${i} */`).join('\n') + '\n';
    writeFileSync(join(plain, 'mm/gup.c'), banner + V61);
    const r = await review(mail.replace('-- \n', `${other}-- \n`), { tree: plain, arches: ['x86-pae'] });
    const p = r.patches[0];
    expect(p.base).toEqual({ kind: 'head' });
    expect(p.problems).toEqual([`mm/khugepaged.c: not in ${plain} at its base: not reviewed`]);
    // the pmd read is in gup_pmd_range where the hunk applied, not in whatever lies at the header's line
    expect(p.functions.map((f) => f.name)).toEqual(['gup_pmd_range']);
    expect(p.races.find((x) => x.scenario === 'race-pae-torn-pmd')).toMatchObject({ before: 'violation', after: 'ok', flip: 'fixed' });
    const err: string[] = [];
    expect(await main(['review', join(plain, 'mm/gup.c'), '--tree', join(plain, 'nowhere')], () => undefined, (s) => err.push(s))).toBe(2); // a usage error
    // without --tree, a patch inside a kernel tree (it has include/linux/mm.h) is reviewed against that tree
    mkdirSync(join(plain, 'include/linux'), { recursive: true });
    writeFileSync(join(plain, 'include/linux/mm.h'), '/* the tree\'s own header */\n');
    writeFileSync(join(plain, 'fix.patch'), mail);
    const out: string[] = [];
    expect(await main(['review', join(plain, 'fix.patch'), '--arch', 'x86-pae', '--no-races'], (s) => out.push(s), () => undefined)).toBe(0);
    expect(out.join('\n')).toMatch(new RegExp(`base: head \\(the files of ${plain}: not a git repository\\)`));
    expect(err.join('\n')).toMatch(/nowhere is not a directory/);
  }, 60_000);

  it('a patch whose tabs a mailer turned into spaces applies, ignoring blank space, and keeps the base\'s own context lines', async () => {
    const { dir, mail } = treeWithPatch(V61, V62, 'mm/gup: read pmds without tearing them');
    const mangled = mail.replace(/\t/g, '        ');
    expect(mangled).not.toContain('\t');
    const r = await review(mangled, { tree: dir, arches: ['x86-pae'] });
    const p = r.patches[0];
    expect(p.problems).toEqual([]);
    expect(p.notes).toEqual(['mm/gup.c: applied ignoring blank space (a mailer changed its indentation)']);
    expect(p.functions.map((f) => f.name)).toEqual(['gup_pmd_range']);
    expect(p.races.find((x) => x.scenario === 'race-pae-torn-pmd')).toMatchObject({ before: 'violation', after: 'ok', flip: 'fixed' });
    // a line the patch does not have in any spacing still does not apply
    const wrong = mangled.replace('READ_ONCE(*pm_at)', 'READ_ONCE(*elsewhere)');
    const n = await review(wrong, { tree: dir, arches: ['x86-pae'], races: false });
    expect(n.patches[0].base.kind).toBe('none');
  }, 60_000);

  it('a context line the tree has otherwise applies with fuzz, as patch(1) would, and says so; a side that could not run flips nothing', async () => {
    const { mail } = treeWithPatch(V61, V62, 'mm/gup: read pmds without tearing them');
    const vendor = treeOf(V61.replace('\n\n\tdo {\n\t\t/* 6.1 reads', "\n\t/* a vendor's note */\n\tdo {\n\t\t/* 6.1 reads"));
    const r = await review(mail, { tree: vendor, arches: ['x86-pae'] });
    const p = r.patches[0];
    expect(p.base).toEqual({ kind: 'head', rev: 'HEAD' });
    expect(p.problems).toEqual([]);
    expect(p.notes).toEqual(['mm/gup.c: applied with fuzz: some context lines differ from the base']);
    expect(p.functions.map((f) => f.name)).toEqual(['gup_pmd_range']);
    expect(p.races.find((x) => x.scenario === 'race-pae-torn-pmd')).toMatchObject({ before: 'violation', after: 'ok', flip: 'fixed' });
    // a helper of the file's own that the entry points reach is a GUP-fast function too (the census of the lenses)
    const helper = treeWithPatch(V61, V61.replace('\t\tif (likely(page_folio(pg) == f))', '\t\tsmp_mb();\n\t\tif (likely(page_folio(pg) == f))'), 'mm/gup: order the re-check');
    const h = await review(helper.mail, { tree: helper.dir, arches: ['arm64'], races: false });
    expect(h.patches[0].functions.map((f) => f.name)).toEqual(['folio_of_with_refs']);
    // the after side calls what nobody defines: it cannot run, so nothing is "fixed"
    const unknown = treeWithPatch(V61, V61.replace('pmd_t pmv = READ_ONCE(*pm_at);', 'pmd_t pmv = vendor_pmd_read(pm_at);'), 'mm/gup: a vendor read');
    const u = await review(unknown.mail, { tree: unknown.dir, arches: ['x86-pae'] });
    const torn = u.patches[0].races.find((x) => x.scenario === 'race-pae-torn-pmd')!;
    expect(torn).toMatchObject({ before: 'violation', after: 'n/a', flip: null });
    expect(torn.unsupported).toMatch(/after: .*vendor_pmd_read/);
  }, 60_000);

  it('a reply (or a reply to a reply) that carries the patch only as it quotes it: the quoted patch is reviewed, its hunks where the reply quotes them', async () => {
    const { dir, mail } = treeWithPatch(V61, V62, 'mm/gup: read pmds without tearing them');
    const reply = `From: A Reviewer <r@example.invalid>\nSubject: Re: [PATCH] mm/gup: read pmds without tearing them\n\nOn Monday the author wrote:\n${mail.split('\n').map((l) => `> ${l}`.trimEnd()).join('\n')}\n\nReviewed-by: A Reviewer <r@example.invalid>\n`;
    const r = await review(reply, { tree: dir, arches: ['x86-pae'] });
    const p = r.patches[0];
    expect(p.subject).toBe('mm/gup: read pmds without tearing them');
    expect(isGupText('plaintext', 'file', reply)).toBe(true);
    expect(p.notes).toEqual([expect.stringMatching(/the patch as a reply quotes it/)]);
    expect(replyFor(p)).toMatch(/\nNote: the patch as a reply quotes it/);
    expect(p.races.find((x) => x.scenario === 'race-pae-torn-pmd')).toMatchObject({ before: 'violation', after: 'ok', flip: 'fixed' });
    const [m] = parseQuotedMails(reply);
    expect(reply.split('\n')[m.files[0].hunks[0].line]).toMatch(/^> @@ -\d+,\d+ \+\d+,\d+ @@/);
    // a reply to the reply: the patch two or three levels deep ('>> ', '> > ', '>>> '), the replies' words at other depths left out
    const deeper = (prefix: string) =>
      `Subject: Re: Re: [PATCH] mm/gup: read pmds without tearing them\n\nOn Tuesday the reviewer wrote:\n> On Monday the author wrote:\n${mail
        .split('\n')
        .map((l) => `${prefix}${l}`.trimEnd())
        .join('\n')}\n>\n> Reviewed-by: A Reviewer\n\nThanks!\n`;
    for (const prefix of ['>> ', '> > ', '>>> ']) {
      const doc = deeper(prefix);
      const [d] = parseQuotedMails(doc);
      expect(d.files.map((f) => f.newPath)).toEqual(m.files.map((f) => f.newPath));
      expect(d.files[0].hunks.map((h) => doc.split('\n')[h.line].slice(prefix.length))).toEqual(m.files[0].hunks.map((h) => h.header));
      const dr = (await review(doc, { tree: dir, arches: ['x86-pae'] })).patches[0];
      expect(dr.races.find((x) => x.scenario === 'race-pae-torn-pmd')).toMatchObject({ before: 'violation', after: 'ok', flip: 'fixed' });
    }
    // a document with its own patch is read as it is, quoted lines or not
    expect(parseQuotedMails('> just words\n> more words\n')).toEqual([]);
    await expect(review('Subject: Re: hello\n\n> nothing quoted is a patch\n')).rejects.toThrow(NotAPatchError);
  }, 60_000);

  it('a mangled mail (lines cut, doubled, quoted, re-ended, hunk counts and junk changed) gets a review or "not a patch", never another error', async () => {
    const { dir, mail } = treeWithPatch(V61, V62, 'mm/gup: read pmds without tearing them');
    const lines = mail.split('\n');
    const op = fc.record({
      kind: fc.constantFrom('cut', 'dup', 'quote', 'crlf', 'count', 'junk', 'space'),
      at: fc.nat({ max: lines.length - 1 }),
      junk: fc.oneof(fc.string({ maxLength: 12 }), fc.constantFrom('@@ -1 +1 @@', '+++ b/mm/gup.c', '--- a/mm/gup.c', 'diff --git a/x b/x', '\\ No newline at end of file', '-- ', '>')),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 5 }), async (ops) => {
        const l = lines.slice();
        for (const o of ops) {
          const i = o.at % l.length;
          if (o.kind === 'cut') l.splice(i, 1);
          else if (o.kind === 'dup') l.splice(i, 0, l[i]);
          else if (o.kind === 'quote') l[i] = `> ${l[i]}`;
          else if (o.kind === 'crlf') l[i] += '\r';
          else if (o.kind === 'count') l[i] = l[i].replace(/\d+/, (d) => String(Number(d) + 3));
          else if (o.kind === 'space') l[i] = l[i].replace(/\t/g, '    ');
          else l.splice(i, 0, o.junk);
        }
        try {
          const r = await review(l.join('\n'), { tree: dir, arches: ['x86-64'], races: false });
          for (const p of r.patches) expect(Array.isArray(p.problems)).toBe(true);
        } catch (e) {
          expect(e).toBeInstanceOf(NotAPatchError);
        }
      }),
      { numRuns: 40 },
    );
  }, 120_000);

  it('a patch to the kernel API the walker calls (a header\'s pmdp_get_lockless) says that gup-lens runs its own built-in, not the patch\'s text', async () => {
    const mail = [
      'Subject: [PATCH] mm: read a PAE pmd whole',
      '',
      '---',
      'diff --git a/include/linux/pgtable.h b/include/linux/pgtable.h',
      '--- a/include/linux/pgtable.h',
      '+++ b/include/linux/pgtable.h',
      '@@ -10,5 +10,7 @@ static inline pmd_t pmdp_get_lockless(pmd_t *pmdp)',
      ' {',
      ' \tpmd_t pmd = READ_ONCE(*pmdp);',
      '+\t/* the halves again */',
      '+\tsmp_rmb();',
      ' \treturn pmd;',
      ' }',
      ' ',
      '@@ -40,3 +42,4 @@ static inline int unrelated_helper(void)',
      ' {',
      '+\tcpu_relax();',
      ' \treturn 0;',
      ' }',
      '',
    ].join('\n');
    const r = await review(mail);
    expect(r.patches[0].problems).toEqual([expect.stringMatching(/open the kernel tree this patch is for/), expect.stringMatching(/^include\/linux\/pgtable\.h: changes pmdp_get_lockless, which gup-lens runs as a built-in of its own .*: the patch's version is not run$/)]);
    expect(r.patches[0].functions).toEqual([]);
  }, 60_000);

  it('a series: each patch, and the series as a whole', async () => {
    const one = treeWithPatch(V510_NO_SEQ, V510, 'first');
    const dir = one.dir;
    // the second patch goes on from the first's result
    const second = V510.replace('unpin_user_pages(out, got);', 'unpin_user_pages(out, got); /* and back off */');
    const m2 = `From ${'1'.repeat(40)} Mon Sep 17 00:00:00 2001\nSubject: [PATCH 2/2] second\n\n---\n${diffOf(V510, second)}-- \n2.43.0\n`;
    const r = await review(one.mail + m2, { tree: dir, arches: ['x86-64'], races: false });
    expect(r.patches.map((p) => p.subject)).toEqual(['first', 'second']);
    expect(r.series?.subject).toMatch(/the series as a whole \(2 patches\)/);
    expect(r.series?.functions.map((f) => f.name)).toContain('lockless_pages_from_mm');
    // an archive's mbox in the order the mails arrived: 2/2 before 1/2 is reviewed as the tags number it
    const m1 = one.mail.replace('Subject: [PATCH] first', 'Subject: [PATCH v2 1/2] first');
    const late = await review(m2.replace('[PATCH 2/2]', '[PATCH v2 2/2]') + m1, { tree: dir, arches: ['x86-64'], races: false });
    expect(late.patches.map((p) => [p.subject, p.problems])).toEqual([['first', []], ['second', []]]);
    expect(parseMails(m1)[0].part).toEqual({ n: 1, of: 2 });
  }, 60_000);

  it('git log -p (--oneline too) and git show: each commit a change, its subject its message\'s first line, the commits in the order their blobs chain (git log shows the newest first)', async () => {
    const dir = treeOf(V510_NO_SEQ);
    const plainTree = mkdtempSync(join(tmpdir(), 'gup-log-'));
    mkdirSync(join(plainTree, 'mm'));
    writeFileSync(join(plainTree, 'mm/gup.c'), V510_NO_SEQ);
    writeFileSync(join(dir, 'mm/gup.c'), V510);
    git(dir, 'commit', '-qam', 'mm/gup: back off while fork copies\n\nThe body says why.');
    writeFileSync(join(dir, 'mm/gup.c'), V510.replace('unpin_user_pages(out, got);', 'unpin_user_pages(out, got); /* and back off */'));
    git(dir, 'commit', '-qam', 'mm/gup: say so');
    for (const order of [[], ['--reverse'], ['--oneline']]) {
      const log = git(dir, 'log', '-p', ...order, 'HEAD~2..HEAD');
      const r = await review(log, { tree: plainTree, arches: ['x86-64'] });
      expect(r.patches.map((p) => p.subject), order.join()).toEqual(['mm/gup: back off while fork copies', 'mm/gup: say so']);
      expect(r.patches.every((p) => p.problems.length === 0)).toBe(true);
      expect(r.series?.races.find((x) => x.scenario === 'race-fork-pin' && x.arch === 'x86-64')).toMatchObject({ flip: 'fixed' });
      // each commit's hunks on the lines the log shows them
      const lines = log.split('\n');
      expect(parseMails(log).flatMap((m) => m.files.flatMap((f) => f.hunks.map((h) => lines[h.line].slice(0, 3))))).toEqual(['@@ ', '@@ ']);
    }
    expect(parseMails(git(dir, 'show', 'HEAD~1')).map((m) => m.subject)).toEqual(['mm/gup: back off while fork copies']);
    // a stable mail's "commit <sha> upstream." is a line of its body, not a commit of a log
    const stable = `From ${'0'.repeat(40)} Mon Sep 17 00:00:00 2001\nSubject: [PATCH 5.10 1/2] mm/gup: x\n\ncommit ${'a'.repeat(40)} upstream.\n\n---\n${diffOf(V510_NO_SEQ, V510)}`;
    expect(parseMails(stable).map((m) => [m.subject, m.files.length])).toEqual([['mm/gup: x', 1]]);
    // and a mail that quotes a commit as git log prints it (a cover letter) is still one mail
    const cover = `From ${'0'.repeat(40)} Mon Sep 17 00:00:00 2001\nSubject: [PATCH 0/1] mm/gup: x\n\nOn top of:\n\ncommit ${'b'.repeat(40)}\nAuthor: A <a@example.invalid>\n\n    mm: y\n\n---\n${diffOf(V510_NO_SEQ, V510)}`;
    expect(parseMails(cover).map((m) => [m.subject, m.files.length])).toEqual([['mm/gup: x', 1]]);
  }, 60_000);

  it('bad input: no patch, a binary patch, a merge\'s combined diff, a patch that does not apply; nothing is written', async () => {
    await expect(review('From: x\nSubject: no diff here\n\nhello\n')).rejects.toThrow(NotAPatchError);
    const bin = 'diff --git a/x.bin b/x.bin\nindex 1..2 100644\nGIT binary patch\nliteral 3\nabc\n\n--- a/mm/gup.c\n+++ b/mm/gup.c\n@@ -1,1 +1,1 @@\n-a\n+b\n';
    const r = await review(bin);
    expect(r.patches[0].problems.join('\n')).toMatch(/binary patch, not applied/);
    expect(r.patches[0].problems.join('\n')).toMatch(/open the kernel tree this patch is for/);
    // git show of a merge: the combined diff is only the merge's resolution, one column per parent; it is said so, not applied or read as slow-path code
    const merge = "commit 1\nMerge: a b\n\n    Merge branch 'hotfixes'\n\ndiff --cc mm/gup.c\nindex 1,2..3\n--- a/mm/gup.c\n+++ b/mm/gup.c\n@@@ -10,3 -10,3 +10,3 @@@ static int gup_pte_range(pmd_t pmd\n  \tint x;\n- \told_a();\n -\told_b();\n++\tresolved();\n  \treturn 0;\n";
    const cc = (await review(merge, { races: false })).patches[0];
    expect(cc.problems).toEqual([expect.stringMatching(/^mm\/gup\.c: a merge's combined diff \(diff --cc.*not applied; review the merge against its first parent/)]);
    expect(cc.functions).toEqual([]);
    expect(cc.notes.join('\n')).not.toMatch(/no GUP-fast/);
    expect(merge.split('\n')[parseMails(merge)[0].files[0].hunks[0].line]).toMatch(/^@@@ -10,3/);
    const { dir, mail, base } = treeWithPatch(V510_NO_SEQ, V510, 'x');
    writeFileSync(join(dir, 'mm/gup.c'), 'int unrelated;\n');
    git(dir, 'commit', '-qam', 'replace it');
    git(dir, 'tag', '-d', 'v1.0');
    // HEAD and the tags moved on: the commit that holds the file as the patch's index line names it is the base (git am -3)
    const old = await review(mail.replace(/^From 0+ .*\n/, ''), { tree: dir, races: false });
    expect(old.patches[0].base).toEqual({ kind: 'base-commit', rev: base });
    // without an index line, or naming a blob the repository never had: no base
    const n = await review(mail.replace(/^From 0+ .*\n/, '').replace(/^index .*\n/m, ''), { tree: dir, races: false });
    expect(n.patches[0].base.kind).toBe('none');
    expect(n.patches[0].problems.join('\n')).toMatch(/no base in .* that this patch applies to/);
    const gone = await review(mail.replace(/^index [0-9a-f]+\.\./m, 'index 1234567..'), { tree: dir, races: false });
    expect(gone.patches[0].base.kind).toBe('none');
  }, 60_000);

  it('a patch that removes x86\'s own walker hands x86 to the generic one: its races compare the x86 file before with mm/gup.c after, and a note says so', async () => {
    const V49 = fixture('eras/gup-4.9-shape.c');
    const dir = treeOf(V49);
    mkdirSync(join(dir, 'arch/x86/mm'), { recursive: true });
    writeFileSync(join(dir, 'arch/x86/mm/gup.c'), fixture('eras/x86-2008-shape.c'));
    git(dir, 'add', '.');
    git(dir, 'commit', '-qm', 'x86 walks with its own file');
    git(dir, 'rm', '-q', 'arch/x86/mm/gup.c');
    writeFileSync(join(dir, 'mm/gup.c'), V510);
    git(dir, 'add', '.');
    const diff = git(dir, 'diff', '--cached');
    git(dir, 'reset', '-q', '--hard');
    expect(diff).toMatch(/deleted file mode/);
    const mail = `From ${'0'.repeat(40)} Mon Sep 17 00:00:00 2001\nFrom: A Reviewer <r@example.invalid>\nSubject: [PATCH] x86/mm/gup: walk with the generic GUP-fast\n\n---\n${diff}-- \n2.43.0\n`;
    const p = (await review(mail, { tree: dir, arches: ['x86-64'], maxStates: 20_000 })).patches[0];
    expect(p.notes).toContain('arch/x86/mm/gup.c: removed: x86-64 walk with the generic walker of mm/gup.c after it, and the races compare the two');
    const x86 = p.races.filter((r) => r.arch === 'x86-64');
    expect(x86.length).toBeGreaterThan(3);
    // the after side is the generic walker's own verdict on x86-64: the same as a patch to mm/gup.c alone gives
    const only = treeWithPatch(V49, V510, 'mm/gup: to 5.10');
    const alone = (await review(only.mail, { tree: only.dir, arches: ['x86-64'], maxStates: 20_000 })).patches[0];
    for (const r of x86) expect(r.after, r.scenario).toBe(alone.races.find((x) => x.scenario === r.scenario && x.arch === 'x86-64')?.after ?? 'n/a');
    expect(x86.some((r) => r.before !== 'n/a' && r.after !== 'n/a')).toBe(true);
  }, 120_000);

  it('what stopped a side\'s own code in the races is said once, with the --stub that gets past it; with the stub, every race runs', async () => {
    const after = V510.replace('\tlocal_irq_save(irq);', '\tif (vendor_gup_disabled)\n\t\treturn 0;\n\tlocal_irq_save(irq);');
    expect(after).not.toBe(V510);
    const { dir, mail } = treeWithPatch(V510, after, 'mm/gup: a vendor switch');
    const at = after.split('\n').findIndex((l) => l.includes('vendor_gup_disabled')) + 1;
    const p = (await review(mail, { tree: dir, arches: ['x86-64'], maxStates: 5_000 })).patches[0];
    expect(p.stops).toEqual([{ what: 'identifier vendor_gup_disabled', line: at }]);
    const patch = join(dir, 'vendor.patch');
    writeFileSync(patch, mail);
    const out: string[] = [];
    await cmdReview({ patch, tree: dir, json: false, races: true, arch: ['x86-64'], maxStates: '5000' }, (l) => out.push(l), () => undefined);
    expect(out).toContain(`  stops its own code: identifier vendor_gup_disabled at line ${at}; --stub vendor_gup_disabled=0|1 gives it a value`);
    const given = (await review(mail, { tree: dir, arches: ['x86-64'], maxStates: 5_000, stubs: parseStubs(['vendor_gup_disabled=0']) })).patches[0];
    expect(given.stops).toBeUndefined();
    expect(given.races.filter((r) => r.unsupported)).toEqual([]);
  }, 120_000);

  it('a patch to another arch\'s own walker (arch/sparc/mm/gup.c) names the functions it touches and says there is no machine here to run them on', async () => {
    const walker = (check: string) => `static int gup_pte_range(pmd_t pmd, unsigned long addr, unsigned long end, int write, struct page **pages, int *nr)\n{\n\tpte_t *ptep = pte_offset_kernel(&pmd, addr);\n\tdo {\n\t\tpte_t pte = *ptep;\n\t\tif (${check})\n\t\t\treturn 0;\n\t\tpages[(*nr)++] = pte_page(pte);\n\t} while (ptep++, addr += PAGE_SIZE, addr != end);\n\treturn 1;\n}\n\nint get_user_pages_fast(unsigned long start, int nr_pages, int write, struct page **pages)\n{\n\tint nr = 0;\n\treturn nr;\n}\n`;
    const dir = mkdtempSync(join(tmpdir(), 'gup-sparc-'));
    mkdirSync(join(dir, 'arch/sparc/mm'), { recursive: true });
    writeFileSync(join(dir, 'arch/sparc/mm/gup.c'), walker('!pte_present(pte)'));
    const diff = diffOf(walker('!pte_present(pte)'), walker('!pte_present(pte) || pte_special(pte)')).replace(/\bmm\/gup\.c/g, 'arch/sparc/mm/gup.c');
    const p = (await review(diff, { tree: dir })).patches[0];
    expect(p.functions.map((f) => [f.name, f.before, f.after])).toEqual([['gup_pte_range', {}, {}]]);
    expect(p.notes).toEqual([expect.stringMatching(/^arch\/sparc\/mm\/gup\.c: this file is sparc's own GUP-fast walker.*: its functions are named, not replayed$/)]);
    expect(p.races).toEqual([]);
  });

  it('a patch to mm/gup.c that touches no GUP-fast function (slow-path code) says so, in the reply and from the CLI', async () => {
    const { dir, mail } = treeWithPatch(V510, `${V510}\nstatic long slow_note(long x)\n{\n\treturn x + 1;\n}\n`, 'mm/gup: add a slow-path helper');
    const p = (await review(mail, { tree: dir })).patches[0];
    expect(p.functions).toEqual([]);
    expect(p.races).toEqual([]);
    expect(replyFor(p)).toMatch(/It touches no GUP-fast function: gup-lens has nothing to replay or explore in it\./);
    const patch = join(dir, 'slow.patch');
    writeFileSync(patch, mail);
    const out: string[] = [];
    await cmdReview({ patch, tree: dir, json: false, races: true }, (l) => out.push(l), () => undefined);
    expect(out).toContain('  touches no GUP-fast function: nothing to replay or explore');
    // and names what it does change, where no walk goes
    expect(p.notes).toContain('mm/gup.c: changes slow_note, which no GUP-fast walk reaches: nothing to replay');
    expect(out).toContain('  note: mm/gup.c: changes slow_note, which no GUP-fast walk reaches: nothing to replay');
  });

  it('plain diffs name files as patch(1) takes them: a backup\'s .orig (or ~name, as -mm mails have it), two trees diffed whole (-p1), a diff made above the tree; a kernel path is never shortened into another', async () => {
    const { dir, mail } = treeWithPatch(V510_NO_SEQ, V510, 'mm/gup: back off while fork copies');
    const hunks = mail.slice(mail.indexOf('@@ '), mail.indexOf('-- \n2.43.0'));
    const plain = (oldName: string, newName: string) => `--- ${oldName}\n+++ ${newName}\n${hunks}`;
    const fixes = async (text: string) => {
      const p = (await review(text, { tree: dir, arches: ['x86-64'] })).patches[0];
      return { problems: p.problems, flips: p.races.filter((r) => r.flip).map((r) => `${r.scenario} ${r.flip}`) };
    };
    for (const [o, n] of [['mm/gup.c.orig', 'mm/gup.c'], ['linux-5.10/mm/gup.c', 'linux-5.11/mm/gup.c'], ['linux.orig/mm/gup.c', 'linux/mm/gup.c'], ['linux/mm/gup.c', 'linux/mm/gup.c']]) {
      expect(await fixes(plain(o, n)), `${o} -> ${n}`).toEqual({ problems: [], flips: ['race-fork-pin fixed'] });
    }
    // Andrew Morton's -mm mail: a notice, then the patch's own From/Subject; the old name carries the patch's (`~name`), both under a/, a `_` after the diff
    const mm = `From: Andrew Morton <akpm@example.invalid>\nSubject: + mm-gup-back-off.patch added to mm-unstable branch\n\nThe patch titled\n     Subject: mm/gup: back off while fork copies\nhas been added to the -mm mm-unstable branch.\n\n------------------------------------------------------\nFrom: A Developer <dev@example.invalid>\nSubject: mm/gup: back off while fork copies\nDate: Mon, 1 Jan 2024 00:00:00 +0000\n\nWords.\n---\n\n${plain('a/mm/gup.c~mm-gup-back-off', 'a/mm/gup.c')}_\n\nPatches currently in -mm which might be from dev@example.invalid are\n\nmm-gup-back-off.patch\n`;
    expect(await fixes(mm)).toEqual({ problems: [], flips: ['race-fork-pin fixed'] });
    expect(parseMails(mm)[0].subject).toBe('mm/gup: back off while fork copies');
    // arch/x86/mm/gup.c, which this tree lacks, is not taken for its mm/gup.c
    const x86 = parseMails(plain('arch/x86/mm/gup.c', 'arch/x86/mm/gup.c'))[0].files[0];
    expect(pathsInTree(x86, (p) => p === 'mm/gup.c').oldPath).toBe('arch/x86/mm/gup.c');
  }, 60_000);

  it('a change that shows in no touched function\'s own replay is found by the built-in scenarios: rounding an unaligned start down (the 2.6.27-rc1 x86 fix)', async () => {
    const X86 = fixture('eras/x86-2008-shape.c');
    const unrounded = X86.replace('va = start & PAGE_MASK;', 'va = start;');
    const { dir, mail } = treeWithPatch(unrounded, X86, 'x86: round a non-page-aligned start down');
    const p = (await review(mail, { tree: dir, arches: ['x86-64'] })).patches[0];
    expect(p.behaviour).toEqual([{ scenario: 'unaligned-cross-pmd', arch: 'x86-64', file: 'mm/gup.c', before: 'nr=8 ret=8 overrun(pte table[512]) refs+8', after: 'nr=8 ret=8 refs+8' }]);
    expect(replyFor(p)).toMatch(/Built-in scenarios whose outcome changes:\n {2}unaligned-cross-pmd on x86-64: nr=8 ret=8 overrun\(pte table\[512\]\) refs\+8 -> nr=8 ret=8 refs\+8/);
    // without the races (the lenses' quick review) nothing is replayed beyond the touched functions
    expect((await review(mail, { tree: dir, arches: ['x86-64'], races: false })).patches[0].behaviour).toEqual([]);
  }, 60_000);

  it('a 5 MB series is read whole: every mail a patch, no GUP-fast code, no crash', async () => {
    const mails: string[] = [];
    for (let i = 0; mails.join('').length < 5 * 1024 * 1024; i++) {
      const body = Array.from({ length: 60 }, (_, j) => `+note ${i} line ${j}, long enough to weigh something`).join('\n');
      mails.push(`From ${i.toString(16).padStart(40, '0')} Mon Sep 17 00:00:00 2001\nSubject: [PATCH ${i}] docs: note ${i}\n\n---\ndiff --git a/Documentation/n${i}.txt b/Documentation/n${i}.txt\nnew file mode 100644\n--- /dev/null\n+++ b/Documentation/n${i}.txt\n@@ -0,0 +1,60 @@\n${body}\n-- \n2.43.0\n\n`);
    }
    const r = await review(mails.join(''));
    expect(r.patches).toHaveLength(mails.length);
    expect(r.patches.every((p) => p.functions.length === 0 && p.problems.length === 0)).toBe(true);
  }, 60_000);

  it('gup-lens review: JSON of the contract; exit 1 when nothing is a patch', async () => {
    const { dir, mail } = treeWithPatch(V61, V62, 'mm/gup: read pmds without tearing them');
    const patch = join(dir, 'fix.patch');
    writeFileSync(patch, mail);
    const out: string[] = [];
    const err: string[] = [];
    expect(await main(['review', patch, '--tree', dir, '--arch', 'x86-pae', '--json'], (s) => out.push(s), (s) => err.push(s))).toBe(0);
    const j = JSON.parse(out.join(''));
    expect(Object.keys(j.patches[0])).toEqual(expect.arrayContaining(['subject', 'base', 'functions', 'races']));
    expect(j.patches[0].base).toEqual({ kind: 'head', rev: 'HEAD' });
    expect(j.patches[0].races.find((x: { scenario: string }) => x.scenario === 'race-pae-torn-pmd')).toMatchObject({ arch: 'x86-pae', before: 'violation', after: 'ok', flip: 'fixed' });
    for (const f of j.patches[0].functions) expect(Object.keys(f).every((k) => ['name', 'file', 'before', 'after'].includes(k))).toBe(true);
    const words = join(dir, 'words.txt');
    writeFileSync(words, 'nothing to see\n');
    expect(await main(['review', words], () => undefined, (s) => err.push(s))).toBe(1);
    expect(err.join('\n')).toMatch(/nothing in this input is a patch/);
  }, 60_000);
});

function diffOf(a: string, b: string): string {
  const dir = treeOf(a);
  writeFileSync(join(dir, 'mm/gup.c'), b);
  return git(dir, 'diff');
}
