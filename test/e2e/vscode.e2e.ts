/**
 * End to end in a real VS Code: code-server 4.100.3 in Debian's chromium, driven by
 * playwright-core. The packaged .vsix is installed into a fresh user-data and extensions folder,
 * a workspace with a gup.c is opened, and every feature is used the way a person would: the
 * CodeLenses, a replay, the hover, a debug session stopped on a breakpoint in gup_pte_range.
 * Assertions are on DOM text; a screenshot of each step goes to test-artifacts/e2e/.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withoutWriteProtectSeq } from '../fixtures/derive';

const root = join(__dirname, '../..');
const vsix = join(root, 'gup-lens.vsix');
const artifacts = join(root, 'test-artifacts/e2e');
const fixture = readFileSync(join(root, 'test/fixtures/gup-2014-shape.c'), 'utf8');
/** the pte re-check after the speculative ref, as the fixture writes it (the patch under review drops it) */
const RECHECK = '\t\t/* the entry may have moved on while the reference was taken */\n\t\tif (pte_val(seen) != pte_val(*slot)) {\n\t\t\tput_page(pg);\n\t\t\treturn whole;\n\t\t}\n';

let server: ChildProcess;
let ctx: BrowserContext;
let page: Page;
let D: string;

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });

async function shot(name: string): Promise<void> {
  await page.screenshot({ path: join(artifacts, `${name}.png`) });
}

/** Wait until some element matching `selector` has text matching `re`; returns that text. */
async function textOf(selector: string, re: RegExp, timeout = 30_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    // the editor renders spaces as no-break spaces
    const texts = (await page.locator(selector).allInnerTexts().catch(() => [] as string[])).map((t) => t.replace(/\u00a0/g, ' '));
    const hit = texts.find((t) => re.test(t));
    if (hit) return hit;
    if (Date.now() - t0 > timeout) {
      await shot(`failed-${Date.now()}`);
      throw new Error(`no ${selector} with text ${re} after ${timeout} ms; saw: ${texts.slice(0, 8).join(' | ').slice(0, 600)}`);
    }
    await page.waitForTimeout(150);
  }
}

/** The text of the webview (an iframe inside an iframe) that matches `re`. */
async function webviewText(re: RegExp, timeout = 30_000): Promise<string> {
  const t0 = Date.now();
  for (;;) {
    for (const f of page.frames()) {
      const text = await f.locator('body').innerText({ timeout: 1000 }).catch(() => '');
      if (re.test(text)) return text;
    }
    if (Date.now() - t0 > timeout) {
      await shot(`failed-webview-${Date.now()}`);
      throw new Error(`no webview with text ${re} after ${timeout} ms`);
    }
    await page.waitForTimeout(200);
  }
}

/** Put the cursor on a line of the active editor (Go to Line). */
async function goToLine(line: number): Promise<void> {
  await page.locator('.editor-instance .view-lines').first().click();
  await page.keyboard.press('Control+G');
  await page.locator('.quick-input-widget input').fill(`:${line}`);
  await page.keyboard.press('Enter');
  await page.waitForTimeout(300);
}

async function command(name: string): Promise<void> {
  await page.keyboard.press('F1');
  await page.locator('.quick-input-widget input').fill(`>${name}`);
  await textOf('.quick-input-list .monaco-list-row', new RegExp(name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'i'));
  await page.keyboard.press('Enter');
}

beforeAll(async () => {
  mkdirSync(artifacts, { recursive: true });
  if (!existsSync(vsix)) execFileSync('npm', ['run', 'package'], { cwd: root, stdio: 'inherit' });
  const codeServer = execFileSync('bash', [join(root, 'test/e2e/setup.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
  D = mkdtempSync(join(tmpdir(), 'gup-e2e-'));
  const env = { ...process.env, XDG_CONFIG_HOME: join(D, 'cfg'), XDG_DATA_HOME: join(D, 'data'), XDG_CACHE_HOME: join(D, 'cache'), TMPDIR: join(D, 'tmp') };
  for (const d of ['ud/User', 'exts', 'ws/.vscode', 'cfg', 'data', 'cache', 'tmp', 'chrome']) mkdirSync(join(D, d), { recursive: true });
  writeFileSync(
    join(D, 'ud/User/settings.json'),
    JSON.stringify({
      'workbench.startupEditor': 'none',
      'telemetry.telemetryLevel': 'off',
      'extensions.autoCheckUpdates': false,
      'extensions.autoUpdate': false,
      'workbench.tips.enabled': false,
      'editor.minimap.enabled': false,
      'workbench.enableExperiments': false,
      'debug.openDebug': 'openOnDebugBreak',
      // VS Code hides CodeLenses in diff editors unless asked: the history diff's sides are lensed
      'diffEditor.codeLens': true,
      // the fixture's slow path is a name of its own: stubbed as a reviewer would (the quick fix writes the same)
      'gupLens.stubs': { slow_path_rest: '0' },
    }),
  );
  copyFileSync(join(root, 'test/fixtures/gup-2014-shape.c'), join(D, 'ws/gup.c'));
  copyFileSync(join(root, 'test/fixtures/eras/gup-6.10-shape.c'), join(D, 'ws/gup-6x.c'));
  writeFileSync(
    join(D, 'ws/.vscode/launch.json'),
    JSON.stringify({
      version: '0.2.0',
      configurations: [
        { type: 'gup', request: 'launch', name: 'Walk gup.c', program: '${workspaceFolder}/gup.c', arch: 'x86-64', scenario: 'pages-4k-16', stopOnEntry: false },
        { type: 'gup', request: 'launch', name: 'Race by hand', program: '${workspaceFolder}/gup.c', arch: 'x86-64', scenario: 'race-numa-protnone', stopOnEntry: true },
      ],
    }),
  );
  // the workspace is a small kernel tree: two tagged versions of gup.c
  const g = (...args: string[]) => execFileSync('git', args, { cwd: join(D, 'ws'), stdio: 'ignore' });
  g('init', '-q', '-b', 'master');
  g('config', 'user.email', 'e2e@example.invalid');
  g('config', 'user.name', 'gup-lens e2e');
  writeFileSync(join(D, 'ws/gup.c'), fixture.replace('\tif (write && !pmd_write(was))\n\t\treturn 0;\n', ''));
  g('add', 'gup.c');
  g('commit', '-q', '-m', 'gup: huge pmd without the write check');
  g('tag', 'v1.0');
  writeFileSync(join(D, 'ws/gup.c'), fixture);
  g('commit', '-q', '-am', 'gup: refuse read-only huge pmds for writes');
  g('tag', 'v2.0');
  // a patch under review: it drops the pte re-check after the speculative ref
  writeFileSync(join(D, 'ws/gup.c'), fixture.replace(RECHECK, ''));
  const diff = execFileSync('git', ['diff'], { cwd: join(D, 'ws'), encoding: 'utf8' });
  g('checkout', '-q', '--', 'gup.c');
  writeFileSync(join(D, 'ws/drop-recheck.patch'), `From ${'0'.repeat(40)} Mon Sep 17 00:00:00 2001\nSubject: [PATCH] gup: the ref is enough\n\n---\n${diff}`);
  // and, at the kernel's own path, a walker before and after write_protect_seq (the timeline's flip)
  const v510 = readFileSync(join(root, 'test/fixtures/eras/gup-5.10-shape.c'), 'utf8');
  mkdirSync(join(D, 'ws/mm'));
  writeFileSync(join(D, 'ws/mm/gup.c'), withoutWriteProtectSeq(v510));
  g('add', 'mm/gup.c');
  g('commit', '-q', '-m', 'mm/gup: a 5.10-shaped walker');
  writeFileSync(join(D, 'ws/mm/gup.c'), v510);
  g('commit', '-q', '-am', 'mm/gup: back off while fork copies (write_protect_seq)');
  execFileSync(codeServer, ['--install-extension', vsix, '--extensions-dir', join(D, 'exts'), '--user-data-dir', join(D, 'ud')], { env, stdio: 'inherit' });
  const port = await freePort();
  server = spawn(
    codeServer,
    ['--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust',
      '--user-data-dir', join(D, 'ud'), '--extensions-dir', join(D, 'exts'), join(D, 'ws')],
    { env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  server.stdout!.on('data', () => undefined);
  server.stderr!.on('data', () => undefined);
  for (let i = 0; ; i++) {
    const ok = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    if (ok) break;
    if (i > 300) throw new Error('code-server did not come up');
    await new Promise((r) => setTimeout(r, 100));
  }
  ctx = await chromium.launchPersistentContext(join(D, 'chrome'), {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1600, height: 1000 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    env,
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(join(D, 'ws'))}`);
  await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });
}, 400_000);

afterAll(async () => {
  await ctx?.close().catch(() => undefined);
  server?.kill();
});

describe('gup-lens in a real VS Code (code-server 4.100.3)', () => {
  it('shows the CodeLenses over the GUP-fast functions', async () => {
    await textOf('.explorer-folders-view .monaco-list-row', /gup\.c/, 60_000);
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gup.c' }).first().click();
    const lens = await textOf('.codelens-decoration', /Replay \(your code\): x86-64/, 60_000);
    expect(lens).toMatch(/Replay \(your code\): x86-64\s*\|\s*PAE\s*\|\s*ARM LPAE\s*\|\s*arm64\s*\|\s*Races/);
    // lenses render for the lines in view (the editor virtualizes); once the file is compiled, the
    // #else stub of gup_pte_range (the configuration compiles the real one) carries none
    const all = await page.locator('.codelens-decoration').allInnerTexts();
    expect(all.filter((t) => t.includes('Replay (your code): x86-64')).length).toBeGreaterThanOrEqual(1);
    await textOf('.statusbar-item', /gup: generic-2014/);
    await shot('1-codelens');
    // the Explorer's gup-lens view lists the version models (and, below them, the races)
    const header = page.locator('.pane-header', { hasText: /gup-lens: versions and races/i }).first();
    await header.click();
    await textOf('.pane-body .monaco-list-row', /generic-2014/, 20_000);
    await header.click();
  }, 120_000);

  it('Replay: arm64 highlights the executed lines and shows the trace', async () => {
    await page.locator('.codelens-decoration a', { hasText: 'arm64' }).first().click();
    await textOf('.statusbar-item', /gup-lens: gup_pte_range on arm64: \d+ lines executed, nr=16/);
    // the output channel scrolls to its end: the result line of the trace
    await textOf('.panel .view-lines', /result: nr=16 ret=16 fast path only/);
    await shot('2-replay-arm64');
  }, 60_000);

  it('the trace view shows the replay\'s walk and timeline, then a race\'s counterexample with a lane per CPU', async () => {
    await command('gup-lens: Show trace view');
    const walk = await webviewText(/the walk/);
    expect(walk).toMatch(/pgd\[\d+\] 0x[0-9a-f]{16}/);
    expect(walk).toMatch(/pte\[0\] 0x[0-9a-f]{16}/);
    expect(walk).toMatch(/page 0x[0-9a-f]+\s*ref \+1/);
    expect(walk).toMatch(/cpu0: gup/);
    expect(walk).toMatch(/Actual size/); // it fits the panel until asked for the actual size
    await shot('2b-trace-view-replay');
    // a race from the palette: the open view follows it
    await command('gup-lens: Explore a race scenario');
    await page.locator('.quick-input-widget input').fill('race-pte-changed');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'before the fix' }).first().click();
    const race = await webviewText(/cpu1: unmap-realloc/, 60_000);
    expect(race).toMatch(/violation: \+1 ref on page 0x[0-9a-f]+, which is free/);
    expect(race).toMatch(/Copy as text diagram/);
    expect(race).toMatch(/CPU 0 \(gup\)\s+CPU 1 \(unmap-realloc\)/);
    await shot('2c-trace-view-race');
  }, 120_000);

  it('a file in the 6.x shape replays its own code (the first Replay lens: try_get_folio, the file\'s own helper that takes the reference on each page)', async () => {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gup-6x.c' }).first().click();
    // the lenses render for the lines in view: go to try_get_folio, the file's first GUP-fast function
    // (get_user_pages_fast reaches it: a helper of the file's own, with a lens of its own)
    await textOf('.codelens-decoration', /History/, 60_000);
    await goToLine(readFileSync(join(root, 'test/fixtures/eras/gup-6.10-shape.c'), 'utf8').split('\n').findIndex((l) => /\btry_get_folio\(/.test(l) && !l.trim().endsWith(';')) + 1);
    await textOf('.codelens-decoration', /Replay \(your code\): x86-64/, 60_000);
    await page.locator('.codelens-decoration a', { hasText: 'x86-64' }).first().click();
    await textOf('.statusbar-item', /gup-lens: try_get_folio on x86-64: \d+ lines executed, nr=16/, 60_000);
    await textOf('.panel .view-lines', /get_user_pages_fast:\d+: RETURN .*= 16/);
    await shot('2a-replay-6x');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^gup\.c/ }).first().click();
  }, 120_000);

  it('the behaviour diff view shows both traces side by side, the differences highlighted, nothing collapsed', async () => {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gup.c' }).first().click();
    await command('gup-lens: Behaviour diff of two version models');
    // the open file's version is offered first
    await textOf('.quick-input-list .monaco-list-row', /generic-2014.*this file/, 30_000);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget input').fill('foll-pin-2020');
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget input').fill('thp-pmd');
    await textOf('.quick-input-list .monaco-list-row', /thp-pmd/);
    await page.keyboard.press('Enter');
    await page.locator('.quick-input-widget input').fill('arm64');
    await page.keyboard.press('Enter');
    const view = await webviewText(/generic-2014 ↔ foll-pin-2020 · thp-pmd on arm64/, 60_000);
    expect(view).toMatch(/\d+ steps the same, [1-9]\d* changed/);
    expect(view).toMatch(/hide the steps both share/);
    let changed = 0;
    for (const f of page.frames()) changed += await f.locator('tr.changed').count().catch(() => 0);
    expect(changed).toBeGreaterThan(0);
    // steps link to the open file's lines on both sides: foll-pin-2020's too, where gup.c has the statement
    let linkedTo = 0;
    for (const f of page.frames()) linkedTo += await f.locator('tr td:nth-child(3)[data-line]').count().catch(() => 0);
    expect(linkedTo).toBeGreaterThan(0);
    await shot('2d-behaviour-diff');
  }, 120_000);

  it('hovering gup_huge_pmd shows the per-arch summary', async () => {
    const line = fixture.split('\n').findIndex((l) => l.startsWith('static int gup_huge_pmd(')) + 1;
    await goToLine(line);
    const name = page.locator('.view-line span', { hasText: /^gup_huge_pmd$/ }).first();
    await name.hover();
    const hover = await textOf('.monaco-hover', /gup_huge_pmd — generic-2014/, 20_000);
    // the workspace settings stub the fixture's slow_path_rest(): the hover says so
    expect(hover).toMatch(/x86-64 \(your code, with stubs slow_path_rest\(\)=0\): walked/);
    expect(hover).toMatch(/arm64 \(your code, with stubs slow_path_rest\(\)=0\): walked/);
    expect(hover).toMatch(/\+512/);
    await shot('3-hover');
    await page.keyboard.press('Escape');
  }, 60_000);

  it('a gup debug session stops on a breakpoint in gup_pte_range with the call stack and variables', async () => {
    const line = fixture.split('\n').findIndex((l) => l.includes('pte_t seen = ACCESS_ONCE(*slot);')) + 1;
    await goToLine(line);
    await page.keyboard.press('F9');
    await shot('4a-breakpoint-set');
    await command('gup-lens: Show trace view'); // open, it follows the session's stops
    await page.keyboard.press('F5'); // the launch.json configuration
    const frames = await textOf('.debug-call-stack .monaco-list-row', /gup_pte_range \[0x7f/, 60_000);
    expect(frames).toMatch(/gup_pte_range/);
    const stack = (await page.locator('.debug-call-stack .monaco-list-row').allInnerTexts()).join('\n');
    expect(stack).toMatch(/gup_pmd_range/);
    expect(stack).toMatch(/get_user_pages_fast/);
    // the file's own code runs: Locals are its C locals, the pte pointer shown as the slot it points at
    await textOf('.debug-variables .monaco-list-row', /slot =\s*&pte table 0x[0-9a-f]+\[0\]/);
    await textOf('.debug-variables .monaco-list-row', /addr =\s*0x7f0000000000/);
    await shot('4-debug-breakpoint');
    await page.keyboard.press('Shift+F5');
    // the trace view followed the session; when it ends its picture goes with it
    await webviewText(/The session that drew this picture has ended/, 30_000);
  }, 120_000);

  it('two CPUs of a race stepped by hand: each thread steps alone, the other stays where it is', async () => {
    await command('Debug: Select and Start Debugging');
    await textOf('.quick-input-list .monaco-list-row', /Race by hand/);
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Race by hand' }).first().click();
    const rows = '.debug-call-stack .monaco-list-row';
    await textOf(rows, /cpu1: numa-hint/, 60_000);
    // each thread row has its own step buttons (every CPU is stopped, not only the one that stopped last)
    const thread = (name: string) => page.locator(rows, { hasText: name }).first();
    const stepOver = async (name: string) => {
      await thread(name).click();
      await thread(name).locator('.action-label.codicon-debug-step-over').click();
    };
    // a thread other than the one that stopped last stays collapsed: open both to read their frames
    const expand = async () => {
      for (const name of ['cpu0: GUP caller', 'cpu1: numa-hint']) {
        if ((await thread(name).getAttribute('aria-expanded')) === 'false') await thread(name).locator('.monaco-tl-twistie').click();
      }
    };
    // a loaded machine may redraw a row after its twistie was read: open both again until the frames show
    const frames = async (re: RegExp) => {
      for (let i = 0; ; i++) {
        await expand();
        try {
          return await textOf(rows, re, 5_000);
        } catch (e) {
          if (i >= 5) throw e;
        }
      }
    };
    // cpu1 (the NUMA-hinting actor) goes first
    await stepOver('cpu1: numa-hint');
    await page.waitForTimeout(500);
    await frames(/change_pte_range/);
    await textOf(rows, /get_user_pages_fast: not started/);
    await shot('7a-race-cpu1-stepped');
    // then cpu0: it enters get_user_pages_fast on the file's own line; cpu1 stays where it was
    await stepOver('cpu0: GUP caller');
    await page.waitForTimeout(500);
    await frames(/get_user_pages_fast\s+gup\.c\s+\d+/);
    await textOf(rows, /change_pte_range/);
    expect((await page.locator(rows).allInnerTexts()).join('\n')).not.toMatch(/get_user_pages_fast: not started/);
    await shot('7-race-by-hand');
    await page.keyboard.press('Shift+F5');
  }, 120_000);

  it('a review note: added on a statement, exported once under its function with the statement\'s own text, copied as a reply', async () => {
    await page.keyboard.press('Control+Shift+E'); // the debug session left the Run view in front
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: /^gup\.c/ }).first().click();
    const line = fixture.split('\n').findIndex((l) => l.includes('if (!page_cache_get_speculative(pg))')) + 1;
    await goToLine(line);
    await command('gup-lens: Add a review note here');
    await page.locator('.quick-input-widget input').fill('the ref is speculative: the pte is re-read after it');
    await page.keyboard.press('Enter');
    await textOf('.codelens-decoration', /✎ the ref is speculative/, 30_000);
    await goToLine(line);
    await command('gup-lens: Copy note as reply');
    await textOf('.statusbar-item', /note copied as a reply/);
    await command('gup-lens: Export review notes as Markdown');
    const md = await textOf('.editor-instance .view-lines', /# gup-lens review notes/, 30_000);
    expect(md).toMatch(new RegExp(`\\*\\*gup_pte_range\\*\\* · gup\\.c:${line}`));
    expect(md).toMatch(/if \(!page_cache_get_speculative\(pg\)\)/);
    expect(md.match(/the ref is speculative/g)).toHaveLength(1);
    await shot('6-notes-export');
  }, 120_000);

  it('a patch in the tree gets lenses on its hunk: Races before → after shows the flip, and Copy as reply', async () => {
    expect(fixture).toContain(RECHECK);
    await page.keyboard.press('Control+Shift+E');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'drop-recheck.patch' }).first().click();
    await textOf('.codelens-decoration', /gup_pte_range: Before \| After/, 90_000);
    const races = await textOf('.codelens-decoration', /Races: before → after: introduces a violation of race-pte-changed/, 90_000);
    expect(races).toMatch(/Copy as reply/);
    await shot('7-patch-review');
    await page.locator('.codelens-decoration a', { hasText: 'Copy as reply' }).last().click();
    await textOf('.notifications-toasts, .notification-toast', /the reply is on the clipboard/, 30_000);
  }, 180_000);

  it('History of gup_huge_pmd opens the two versions side by side', async () => {
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gup.c' }).first().click().catch(() => undefined);
    await page.keyboard.press('Control+Shift+E');
    await page.locator('.explorer-folders-view .monaco-list-row', { hasText: 'gup.c' }).first().click();
    const line = fixture.split('\n').findIndex((l) => l.startsWith('static int gup_huge_pmd(')) + 1;
    await page.locator('.editor-instance .view-lines').first().click();
    await page.keyboard.press('Control+G');
    await page.locator('.quick-input-widget input').fill(`:${line}:12`);
    await page.keyboard.press('Enter');
    await command('gup-lens: History of this function');
    await textOf('.quick-input-list .monaco-list-row', /v2\.0\s+gup_huge_pmd/, 60_000);
    await shot('5a-history-pick');
    // tick both versions, then OK
    const rows = page.locator('.quick-input-list .monaco-list-row');
    // (the tree's mm/gup.c carries the function on, in later commits: the two tags are picked by name)
    await rows.filter({ hasText: /v1\.0\s+gup_huge_pmd/ }).first().click();
    await rows.filter({ hasText: /v2\.0\s+gup_huge_pmd/ }).first().click();
    await textOf('.quick-input-widget', /2 Selected/, 10_000);
    await page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click();
    const tab = await textOf('.tabs-container .tab', /gup_huge_pmd: v1\.0\s+gup_huge_pmd ↔ v2\.0/, 30_000);
    expect(tab).toMatch(/↔/);
    expect(await page.locator('.monaco-diff-editor').count()).toBeGreaterThan(0);
    await textOf('.monaco-diff-editor .view-lines', /pmd_write\(was\)/);
    // each side whole, with the kernel's own line numbers: the function's header on its real line
    const header = fixture.split('\n').findIndex((l) => l.startsWith('static int gup_huge_pmd(')) + 1;
    const numbers = (await page.locator('.monaco-diff-editor .editor.modified .line-numbers').allInnerTexts()).map(Number);
    expect(numbers).toContain(header);
    // the historical versions are analysed like the real file: their walkers carry lenses
    await textOf('.monaco-diff-editor .codelens-decoration', /Replay/, 60_000);
    await shot('5-history-diff');
  }, 120_000);

  it('the behaviour timeline sweeps the tree\'s commits; a violation cell opens that commit\'s file and its counterexample', async () => {
    await command('gup-lens: Behaviour timeline');
    await page.locator('.quick-input-list .monaco-list-row', { hasText: 'every commit' }).first().click();
    const grid = await webviewText(/Behaviour timeline of ws/, 300_000);
    expect(grid).toMatch(/2 commits or tags that changed GUP-fast code/);
    // write_protect_seq closes race-fork-pin: the flip is on the second commit
    expect(grid).toMatch(/race-fork-pin on x86-64: fixed by [0-9a-f]{12} mm\/gup: back off while fork copies/);
    await shot('8-behaviour-timeline');
    let clicked = false;
    for (const f of page.frames()) {
      const cell = f.locator('td.violation');
      if (!clicked && (await cell.count().catch(() => 0)) > 0) {
        await cell.first().click();
        clicked = true;
      }
    }
    expect(clicked).toBe(true);
    // the commit's own file opens, and the race's counterexample fills the trace view
    await textOf('.tabs-container .tab', /gup\.c/, 30_000);
    await webviewText(/cpu1: /, 120_000);
  }, 420_000);
});
