/**
 * The debug adapter (dist/debugAdapter.js) driven over DAP by @vscode/debugadapter-testsupport.
 */
import { DebugClient } from '@vscode/debugadapter-testsupport';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const root = join(__dirname, '../..');
const adapter = join(root, 'dist/debugAdapter.js');
const program = join(root, 'test/fixtures/gup-2014-shape.c');
const text = readFileSync(program, 'utf8');
const line1 = (needle: string) => text.split('\n').findIndex((l) => l.includes(needle)) + 1;

let dc: DebugClient;

beforeEach(async () => {
  if (!existsSync(adapter)) throw new Error('dist/debugAdapter.js is missing: run `npm run build` first');
  dc = new DebugClient('node', adapter, 'gup');
  await dc.start();
});

afterEach(async () => {
  await dc.stop().catch(() => undefined);
});

async function until(f: () => boolean, ms = 5000): Promise<void> {
  const t0 = Date.now();
  while (!f()) {
    if (Date.now() - t0 > ms) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Launch a file's own code on x86-64 stopped on entry, continue, and wait for the next stop: both stops' bodies. */
async function entryThenNextStop(program: string, scenario: string, ms: number): Promise<{ reason: string; text?: string }[]> {
  const stops: { reason: string; text?: string }[] = [];
  dc.on('stopped', (e) => stops.push(e.body));
  await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'x86-64', scenario, stopOnEntry: true } as never), dc.waitForEvent('stopped')]);
  await dc.continueRequest({ threadId: 1 });
  await until(() => stops.length === 2, ms);
  return stops;
}

describe('gup debug adapter', () => {
  it('stops on a breakpoint in gup_pte_range with the walk as the call stack and decoded variables', async () => {
    const line = line1('pte_t seen = ACCESS_ONCE(*slot);');
    await dc.hitBreakpoint({ program, arch: 'x86-64', scenario: 'pages-4k-16', stopOnEntry: false, engine: 'model' } as never, { path: program, line });
    const st = await dc.stackTraceRequest({ threadId: 1 });
    const names = st.body.stackFrames.map((f) => f.name.replace(/ \[.*$/, ''));
    expect(names).toEqual(['gup_pte_range', 'gup_pmd_range', 'gup_pud_range', '__get_user_pages_fast', 'get_user_pages_fast']);
    expect(st.body.stackFrames[0].name).toMatch(/^gup_pte_range \[0x7f0000000000-0x7f0000010000\)$/);
    expect(st.body.stackFrames[0].line).toBe(line);
    expect(st.body.stackFrames[1].line).toBe(line1('} else if (!gup_pte_range(pmd, addr, next,'));

    const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
    expect(scopes.body.scopes.map((s) => s.name)).toEqual(['Locals', 'Entry', 'struct page', 'Machine']);
    const vars = async (name: string) =>
      Object.fromEntries((await dc.variablesRequest({ variablesReference: scopes.body.scopes.find((s) => s.name === name)!.variablesReference })).body.variables.map((v) => [v.name, v.value]));
    const entry = await vars('Entry');
    expect(entry.level).toBe('pte');
    expect(entry.raw).toMatch(/^0x8000000100[0-9a-f]{6}$/); // NX, a page above 4 GiB, present
    expect(entry['gup sees']).toBe('present|user|write');
    expect(entry.present).toBe('1');
    const locals = await vars('Locals');
    expect(locals).toMatchObject({ addr: '0x7f0000000000', end: '0x7f0000010000', write: 'true' });
    const machine = await vars('Machine');
    expect(machine['mm->write_protect_seq']).toBe('0');

    // one step on: the speculative ref, and the page's refcount shows it
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const st2 = await dc.stackTraceRequest({ threadId: 1 });
    expect(st2.body.stackFrames[0].line).toBe(line1('if (!page_cache_get_speculative(pg))'));
    const sc2 = await dc.scopesRequest({ frameId: st2.body.stackFrames[0].id });
    const page = Object.fromEntries((await dc.variablesRequest({ variablesReference: sc2.body.scopes[2].variablesReference })).body.variables.map((v) => [v.name, v.value]));
    expect(page._refcount).toBe('2');
    expect(page._mapcount).toBe('0 (mapped 1×)'); // the kernel's -1-based count

    // and back in time
    await Promise.all([dc.stepBackRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const st3 = await dc.stackTraceRequest({ threadId: 1 });
    expect(st3.body.stackFrames[0].line).not.toBe(line1('if (!page_cache_get_speculative(pg))'));
  });

  it('steps through the whole walk until it returns and the session ends', async () => {
    const events: string[] = [];
    dc.on('stopped', () => events.push('stopped'));
    dc.on('terminated', () => events.push('terminated'));
    await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'arm64', scenario: 'cross-pmd', stopOnEntry: true, engine: 'model' } as never)]);
    await until(() => events.length > 0);
    // step in through the whole walk: every stop is on a line of this file
    for (let i = 0; i < 2000 && events[events.length - 1] !== 'terminated'; i++) {
      const n = events.length;
      await dc.stepInRequest({ threadId: 1 });
      await until(() => events.length > n);
      if (events[events.length - 1] === 'stopped') {
        const st = await dc.stackTraceRequest({ threadId: 1 });
        expect(st.body.stackFrames[0].line).toBeGreaterThan(0);
      }
    }
    expect(events[events.length - 1]).toBe('terminated');
    expect(events.filter((e) => e === 'stopped').length).toBeGreaterThan(50);
  });

  it('unverified breakpoints say why', async () => {
    await dc.launch({ program, arch: 'x86-64', stopOnEntry: true, engine: 'model' } as never);
    const r = await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: 2 }, { line: line1('pud_t puv = ACCESS_ONCE(*pu_at);') }] });
    expect(r.body.breakpoints[0]).toMatchObject({ verified: false, message: expect.stringMatching(/no step/) });
    expect(r.body.breakpoints[1].verified).toBe(true);
  });

  it("a breakpoint on the file's own code on a line with no statement (a declaration without a value, a blank line) moves to the function's next statement, as a native debugger's does, and stops there; one outside any function stays unverified", async () => {
    await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'x86-64', scenario: 'pages-4k-16', stopOnEntry: true } as never), dc.waitForEvent('stopped')]);
    const decl = line1('\tpte_t *slot;');
    const blank = line1('int whole = 0;') + 1;
    expect(text.split('\n')[blank - 1].trim()).toBe('');
    const r = await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: decl }, { line: blank }, { line: 2 }] });
    expect(r.body.breakpoints[0]).toMatchObject({ verified: true, line: line1('int whole = 0;') });
    expect(r.body.breakpoints[1]).toMatchObject({ verified: true, line: line1('slot = pte_offset_map(&pmd, addr);') });
    expect(r.body.breakpoints[2]).toMatchObject({ verified: false, line: 2 });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', { path: program, line: line1('int whole = 0;') })]);
    // its locals: the pointer not set yet, not NULL
    const st = await dc.stackTraceRequest({ threadId: 1 });
    const scopes = await dc.scopesRequest({ frameId: st.body.stackFrames[0].id });
    const locals = Object.fromEntries((await dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference })).body.variables.map((v) => [v.name, v.value]));
    expect(locals.slot).toBe('not set yet');
  });

  it('breakpoints are per source: another file\'s, set and then disabled, never remove the program\'s', async () => {
    const other = join(root, 'test/fixtures/not-gup.c');
    await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'x86-64', scenario: 'pages-4k-16', stopOnEntry: true } as never), dc.waitForEvent('stopped')]);
    const line = line1('pte_t seen = ACCESS_ONCE(*slot);');
    const mine = await dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line }] });
    expect(mine.body.breakpoints[0].verified).toBe(true);
    // VS Code sends the other file's list, then (its breakpoint disabled) an empty list for it
    const theirs = await dc.setBreakpointsRequest({ source: { path: other }, breakpoints: [{ line: 3 }] });
    expect(theirs.body.breakpoints[0]).toMatchObject({ verified: false, message: expect.stringMatching(/steps gup-2014-shape\.c only/) });
    await dc.setBreakpointsRequest({ source: { path: other }, breakpoints: [] });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.assertStoppedLocation('breakpoint', { path: program, line })]);
  });

  it('a function breakpoint stops on entry to that kernel function', async () => {
    await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'x86-pae', scenario: 'thp-pmd', stopOnEntry: true, engine: 'model' } as never), dc.waitForEvent('stopped')]);
    const fb = await dc.setFunctionBreakpointsRequest({ breakpoints: [{ name: 'gup_huge_pmd' }, { name: 'no_such_fn' }] });
    expect(fb.body.breakpoints.map((b) => b.verified)).toEqual([true, false]);
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames[0].name).toMatch(/^gup_huge_pmd \[/);
    expect(st.body.stackFrames[0].line).toBe(line1('static int gup_huge_pmd('));
  });

  it('two threads: the explorer\'s counterexample replays as a session and stops on the violation', async () => {
    const stops: { reason: string; text?: string }[] = [];
    dc.on('stopped', (e) => stops.push(e.body));
    await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'arm-lpae', version: 'arm-rfc-2013', scenario: 'race-pte-changed', stopOnEntry: true, engine: 'model' } as never)]);
    await until(() => stops.length === 1);
    const th = await dc.threadsRequest();
    expect(th.body.threads.map((t) => t.name)).toEqual(['cpu0: GUP caller', 'cpu1: unmap-realloc']);
    const r = await dc.customRequest('exploreRaces');
    expect(r.body.verdict).toBe('violation');
    await until(() => stops.length === 2);
    await dc.continueRequest({ threadId: 1 });
    await until(() => stops.length === 3);
    expect(stops[2].reason).toBe('exception');
    expect(stops[2].text).toMatch(/no reference is taken on a freed page/);
  });

  it('stepping one thread then the other interleaves them by hand', async () => {
    const events: string[] = [];
    dc.on('stopped', (e) => events.push(e.body.reason));
    dc.on('terminated', () => events.push('terminated'));
    await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'x86-64', version: 'generic-2014', scenario: 'race-numa-protnone', stopOnEntry: true, engine: 'model' } as never)]);
    await until(() => events.length > 0);
    // let the NUMA-hinting actor mark the pte protnone first, then walk
    let n = events.length;
    await dc.stepInRequest({ threadId: 2 });
    await until(() => events.length > n);
    for (let i = 0; i < 200 && !['exception', 'terminated'].includes(events[events.length - 1]); i++) {
      n = events.length;
      await dc.stepInRequest({ threadId: 1 });
      await until(() => events.length > n);
    }
    expect(events[events.length - 1]).toBe('exception');
  });

  it.each([
    [{ program: '/nope/missing.c' }, /cannot read program \/nope\/missing.c: ENOENT/],
    [{ program, arch: 'sparc' }, /unknown arch 'sparc'/],
    [{ program, scenario: 'nope' }, /unknown scenario 'nope'/],
    [{ program, version: 'x86-2099' }, /unknown version 'x86-2099'/],
    [{ program, arch: 'arm64', version: 'x86-2008' }, /does not run on arm64/],
    [{ program: join(root, 'test/fixtures/not-gup.c') }, /has no GUP-fast functions/],
    [{}, /needs 'program'/],
  ])('a bad launch config %j fails with its message', async (cfg, msg) => {
    await expect(dc.launch(cfg as never)).rejects.toThrow(msg);
  });

  describe('the arch of an arch file (arch/<arch>/mm/gup.c)', () => {
    const tree = mkdtempSync(join(tmpdir(), 'gup-dap-arch-'));
    const put = (dir: string, name: string) => {
      mkdirSync(join(tree, 'arch', dir, 'mm'), { recursive: true });
      const p = join(tree, 'arch', dir, 'mm', 'gup.c');
      writeFileSync(p, readFileSync(join(root, 'test/fixtures', name), 'utf8'));
      return p;
    };
    const x86 = put('x86', 'eras/x86-2008-shape.c');
    const arm64 = put('arm64', 'gup-2014-shape.c');
    const launched = async (cfg: Record<string, unknown>) => {
      const said: string[] = [];
      dc.on('output', (e) => said.push(e.body.output));
      await Promise.all([dc.configurationSequence(), dc.launch({ stopOnEntry: true, ...cfg } as never), dc.waitForEvent('stopped')]);
      await until(() => said.some((o) => /^gup-lens: (your code|model)/.test(o)));
      return said.find((o) => /^gup-lens: (your code|model)/.test(o))!;
    };

    it('no arch named: the user\'s default where the file is built for it, else the file\'s own', async () => {
      expect(await launched({ program: arm64, defaultArch: 'x86-64', scenario: 'pages-4k-16' })).toMatch(/^gup-lens: your code on arm64, scenario pages-4k-16/);
    });

    it('the default kept where the file is for it (x86-pae for an x86 file)', async () => {
      expect(await launched({ program: x86, defaultArch: 'x86-pae', scenario: 'pages-4k-16' })).toMatch(/^gup-lens: your code on x86-pae/);
    });

    it('a race of other arches than the file\'s is refused as such', async () => {
      await expect(dc.launch({ program: x86, scenario: 'race-compound-head-split' } as never)).rejects.toThrow(/race-compound-head-split is a race of arm-lpae and arm64, and gup\.c runs on x86-64, x86-pae: it does not meet it there/);
    });

    it('a race the file\'s own era cannot meet says so of the file, not of the model it was matched to', async () => {
      const modern = join(root, 'test/fixtures/eras/gup-6.10-shape.c');
      await expect(dc.launch({ program: modern, arch: 'x86-64', scenario: 'race-thp-split-no-ipi' } as never)).rejects.toThrow(/cannot run on this file's code: .* and this file's code is of the 4\.5\+ refcounting era/);
    });

    it('an arch the file is not for is refused with the reason (not its x86 code stopped on ARM, then a model)', async () => {
      await expect(dc.launch({ program: x86, arch: 'arm64' } as never)).rejects.toThrow(/gup\.c does not run on arm64: its code is for x86-64, x86-pae\. Set "arch"/);
    });
  });

  it('a walk of millions of steps (nine 1 GiB pins, the file\'s own code) stops at the session\'s step budget with the reason, its call stack still there', async () => {
    const stops = await entryThenNextStop(join(root, 'test/fixtures/eras/gup-5.10-shape.c'), 'race-pin-overflow-1g', 60_000);
    expect(stops[1].reason).toBe('exception');
    expect(stops[1].text).toMatch(/the walk has made 1,000,000 steps and goes on: a debug session keeps every step .* stops at 1,000,000\. The explorer .* runs race-pin-overflow-1g to its end/);
    const st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames.length).toBeGreaterThan(1);
  }, 90_000);

  it('a page at 2^32 - 1 references on code from before 5.1: the session stops where the reference wraps the count, in the pte walker, as an exception that says so', async () => {
    const stops = await entryThenNextStop(join(root, 'test/fixtures/eras/gup-4.9-shape.c'), 'get-refcount-overflow', 20_000);
    expect(stops.map((x) => x.reason)).toEqual(['entry', 'exception']);
    expect(stops[1].text).toMatch(/^no reference wraps a refcount past zero .*: refcount of page 0x[0-9a-f]+ wrapped past zero: -1 \+ 1 is 0/);
    const st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames[0].name).toMatch(/^gup_pte_range\b/);
  }, 30_000);

  it('breakpoints sent before a launch that fails are answered (unverified)', async () => {
    const bp = dc.setBreakpointsRequest({ source: { path: program }, breakpoints: [{ line: 10 }] });
    await expect(dc.launch({ program: '/nope/missing.c' } as never)).rejects.toThrow(/cannot read program/);
    const r = await bp;
    expect(r.body.breakpoints[0]).toMatchObject({ verified: false, message: 'the launch failed' });
  });

  it('requests with missing arguments get a message, never a JavaScript stack', async () => {
    const raw = dc as unknown as { send(command: string, args?: unknown): Promise<{ success: boolean; message?: string; body?: { breakpoints?: unknown[] } }> };
    const fb = await raw.send('setFunctionBreakpoints');
    expect(fb.body?.breakpoints).toEqual([]);
    for (const cmd of ['scopes', 'variables', 'stackTrace']) {
      const r = await raw.send(cmd).catch((e: Error) => ({ success: false, message: e.message }));
      expect(r.message ?? '').not.toMatch(/\n\s+at /);
    }
  });

  it('after the session ends, a step is refused with a message and no second terminated', async () => {
    let terminated = 0;
    dc.on('terminated', () => terminated++);
    await Promise.all([dc.configurationSequence(), dc.launch({ program, arch: 'x86-64', scenario: 'pages-4k-16', stopOnEntry: false, engine: 'model' } as never)]);
    await until(() => terminated === 1);
    await expect(dc.nextRequest({ threadId: 1 })).rejects.toThrow(/the debug session has ended/);
    await new Promise((r) => setTimeout(r, 100));
    expect(terminated).toBe(1);
  });
});

describe('gup debug adapter on the program\'s own code', () => {
  const arm = join(__dirname, '../../../shared/corpus/arm-rfc-2013.arch-arm-mm-gup.c');
  const armLine = (needle: string) => readFileSync(arm, 'utf8').split('\n').findIndex((l) => l.includes(needle)) + 1;

  it.skipIf(!existsSync(arm))('a breakpoint on the pte read of the 2013 ARM file stops there; the C locals show pte decoded; step in enters gup_get_pte', async () => {
    const line = armLine('pte_t pte = gup_get_pte(ptep);');
    await dc.hitBreakpoint({ program: arm, arch: 'arm-lpae', scenario: 'pages-4k-16', stopOnEntry: false } as never, { path: arm, line });
    const st = await dc.stackTraceRequest({ threadId: 1 });
    expect(st.body.stackFrames[0].name).toMatch(/^gup_pte_range \[/);
    expect(st.body.stackFrames[0].line).toBe(line);
    // the caller stands on its call site, not on its header
    expect(st.body.stackFrames[1].line).toBe(armLine('if (!gup_pte_range(pmd, addr, next, write, pages, nr))'));
    // into gup_get_pte, which the file defines
    await Promise.all([dc.stepInRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const inner = await dc.stackTraceRequest({ threadId: 1 });
    expect(inner.body.stackFrames[0].name).toBe('gup_get_pte');
    await Promise.all([dc.stepOutRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    await Promise.all([dc.nextRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    const st2 = await dc.stackTraceRequest({ threadId: 1 });
    expect(st2.body.stackFrames[0].name).toMatch(/^gup_pte_range/);
    const scopes = await dc.scopesRequest({ frameId: st2.body.stackFrames[0].id });
    const locals = Object.fromEntries((await dc.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference })).body.variables.map((v) => [v.name, v.value]));
    expect(Object.keys(locals)).toEqual(expect.arrayContaining(['pmd', 'addr', 'end', 'write', 'pages', 'nr', 'ptep', 'pte', 'page']));
    expect(locals.pte).toMatch(/^0x[0-9a-f]{16} present\|user\|write pfn=0x100/);
    expect(locals.ptep).toMatch(/^&pte table 0x[0-9a-f]+\[0\]$/);
    expect(locals.nr).toBe('&nr');
    // `struct page *page;` has no value before pte_page() sets it: not NULL, which C does not promise
    expect(locals.page).toBe('not set yet');
  });

  it.skipIf(!existsSync(arm))('thread 2 stepped by hand between two steps of thread 1 reaches the violation on the 2013 ARM file', async () => {
    const events: { reason: string; threadId?: number; allThreadsStopped?: boolean }[] = [];
    dc.on('stopped', (e) => events.push(e.body));
    dc.on('terminated', () => events.push({ reason: 'terminated' }));
    await Promise.all([dc.configurationSequence(), dc.launch({ program: arm, arch: 'arm-lpae', scenario: 'race-pte-changed', stopOnEntry: true } as never)]);
    await until(() => events.length === 1);
    const go = async (threadId: number, req: 'next' | 'stepIn' = 'next') => {
      const n = events.length;
      await (req === 'next' ? dc.nextRequest({ threadId }) : dc.stepInRequest({ threadId }));
      await until(() => events.length > n);
      return events[events.length - 1];
    };
    // the walker stops before its pte read, steps into gup_get_pte and does the load
    await dc.setBreakpointsRequest({ source: { path: arm }, breakpoints: [{ line: armLine('pte_t pte = gup_get_pte(ptep);') }] });
    await Promise.all([dc.continueRequest({ threadId: 1 }), dc.waitForEvent('stopped')]);
    await go(1, 'stepIn');
    await go(1);
    await go(1);
    // cpu1 unmaps, frees and reuses the page while cpu0 holds the old pte value
    for (let i = 0; i < 20; i++) {
      await go(2);
      const th = await dc.threadsRequest();
      if (th.body.threads[1].name.endsWith('(done)')) break;
    }
    // cpu0 goes on: it takes a reference on the freed page
    let last = events[events.length - 1];
    for (let i = 0; i < 40 && last.reason !== 'exception' && last.reason !== 'terminated'; i++) last = await go(1);
    expect(last.reason).toBe('exception');
    expect(last.threadId).toBe(1);
    // every stop holds every CPU: a client shows them all paused, each one steppable
    expect(events.filter((e) => e.reason !== 'terminated').every((e) => e.allThreadsStopped === true)).toBe(true);
    expect(events.some((e) => e.threadId === 2)).toBe(true);
  }, 30_000);
});
