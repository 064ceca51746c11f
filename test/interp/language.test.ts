/**
 * The interpreter's C: integer widths and wrap-around per arch, control flow (goto into a
 * block, switch, comma, do/while with side effects), pointers to locals and out-parameters, and
 * the preprocessor's configuration. Each function here is written for the test.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { getArch } from '../../emulator/arch';
import type { ArchId } from '../../emulator/arch/types';
import { configFor } from '../../emulator/interp/config';
import { parseStubs } from '../../emulator/interp/kapi/stubs';
import { preprocess } from '../../emulator/interp/preprocess';
import { callFunction, sourceVersion, type ParseC, type SourceVersion } from '../../emulator/interp/source-version';
import { buildMachine } from '../../emulator/machine/builder';
import { makeKern } from '../../emulator/run/replay';
import { getVersion } from '../../emulator/versions';
import { sourceParser } from '../../server/analysis/parse';

let parse: ParseC;
beforeAll(async () => {
  parse = await sourceParser();
});

const C = `
unsigned long dec(unsigned long a) { return a - 1; }
int inc(int a) { return a + 1; }
unsigned int shl(unsigned int a, int n) { return a << n; }
long neg_shift(long a) { return a >> 1; }
int size_of_long(void) { return sizeof(unsigned long); }
static void bump(int *p) { (*p)++; }
int out_param(void) { int x = 40; bump(&x); bump(&x); return x; }
int hooked(void) { bool stop = false; trace_android_vh_anything(1, &stop); if (stop) return -1; return 7; }
int err_value(long v) { return IS_ERR_VALUE(v) ? 1 : 0; }
int flags_checked(unsigned int f) { if (!is_valid_gup_args((void *)0, 0, &f, FOLL_GET)) return -1; return f & FOLL_GET ? 1 : 0; }
int jump_in(int a) {
	int r = 0;
	if (a)
		goto inner;
	r = 100;
	return r;
	{
		int k;
inner:
		k = a * 2;
		r = k + 1;
	}
	return r;
}
int sw(int a) {
	int r = 0;
	switch (a) {
	case 1: r = 10; break;
	case 2: r = 20;
	case 3: r += 3; break;
	default: r = -1;
	}
	return r;
}
int commas(int n) {
	int i = 0, s = 0;
	do { s += i; } while (i++, i < n);
	return s;
}
int loops(int n) {
	int s = 0, i;
	for (i = 0; i < n; i++) {
		if (i == 2) continue;
		if (i == 5) break;
		s += i;
	}
	while (s > 100) s -= 100;
	return s;
}
int cond(int a) { return a > 3 ? a * 2 : -a; }
unsigned long mask(unsigned long a) { return a & ~((1UL << 21) - 1); }
int cmp_unsigned(void) { unsigned int x = 1; return -1 > x; }
#define TWICE(x) ((x) + (x))
#define TEN 10
int macros(int a) { return TWICE(a) + TEN; }
#if CONFIG_PGTABLE_LEVELS > 3
int levels(void) { return 4; }
#elif defined(CONFIG_X86_PAE) || IS_ENABLED(CONFIG_ARM_LPAE)
int levels(void) { return 3; }
#else
int levels(void) { return 0; }
#endif
`;

function compiled(arch: ArchId): { v: SourceVersion; run: (name: string, ...args: unknown[]) => unknown } {
  const a = getArch(arch);
  const model = getVersion('generic-2014');
  const v = sourceVersion(C, parse, a, model);
  const m = buildMachine(a, model.era, { mappings: [] });
  const k = makeKern(m, model, undefined, 'test', 0, false);
  return { v, run: (name, ...args) => callFunction(v, k, name, args) };
}

describe('C semantics of the interpreter', () => {
  it('unsigned long is 64-bit on x86-64 and arm64, 32-bit on PAE and LPAE, and wraps', () => {
    expect(compiled('x86-64').run('dec', 0)).toBe(0xffffffffffffffffn);
    expect(compiled('arm64').run('size_of_long')).toBe(8);
    expect(compiled('x86-pae').run('dec', 0)).toBe(0xffffffff);
    expect(compiled('arm-lpae').run('size_of_long')).toBe(4);
  });

  it('int is 32-bit signed with wrap-around; shifts and comparisons follow the C conversions', () => {
    const { run } = compiled('x86-64');
    expect(run('inc', 0x7fffffff)).toBe(-0x80000000);
    expect(run('shl', 0x80000001, 1)).toBe(2);
    expect(run('neg_shift', -7)).toBe(-4n);
    expect(run('cmp_unsigned')).toBe(1); // -1 converts to UINT_MAX
    expect(run('mask', 0x40212345n)).toBe(0x40200000n);
  });

  it('control flow: goto into a block, switch fallthrough, comma and do/while, for with continue/break, ?:', () => {
    const { run } = compiled('arm64');
    expect(run('jump_in', 5)).toBe(11);
    expect(run('jump_in', 0)).toBe(100);
    expect([1, 2, 3, 9].map((a) => run('sw', a))).toEqual([10, 23, 3, -1]);
    expect(run('commas', 5)).toBe(10);
    expect(run('loops', 10)).toBe(0 + 1 + 3 + 4);
    expect([5, 2].map((a) => run('cond', a))).toEqual([10, -2]);
  });

  it('pointers to locals as out-parameters; the file\'s macros expanded', () => {
    const { run } = compiled('x86-pae');
    expect(run('out_param')).toBe(42);
    expect(run('macros', 4)).toBe(18);
  });

  it('a tracepoint or vendor hook does nothing (its out-argument keeps its value); IS_ERR_VALUE spots negated errnos; is_valid_gup_args adds the entry\'s flag or refuses', () => {
    const { run } = compiled('x86-64');
    expect(run('hooked')).toBe(7);
    expect([-14, -4095, -4096, 0, 5].map((v) => run('err_value', BigInt(v)))).toEqual([1, 1, 0, 0, 0]);
    expect(compiled('x86-pae').run('err_value', -22)).toBe(1);
    expect(run('flags_checked', 0)).toBe(-1); // FOLL_GET without pages[]
  });

  it('#if/#elif/defined()/IS_ENABLED() follow each arch\'s configuration', () => {
    expect((['x86-64', 'x86-pae', 'arm-lpae', 'arm64'] as ArchId[]).map((a) => compiled(a).run('levels'))).toEqual([4, 3, 3, 4]);
  });

  it('unsigned long arithmetic matches 64-bit wrap-around for any operands (fast-check)', () => {
    const src = 'unsigned long f(unsigned long a, unsigned long b) { return (a + b) * 3 - (a ^ b) + (b >> 7); }';
    const a = getArch('x86-64');
    const model = getVersion('generic-2014');
    const v = sourceVersion(src, parse, a, model);
    const k = makeKern(buildMachine(a, model.era, { mappings: [] }), model, undefined, 't', 0, false);
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (x, y) => {
        const want = BigInt.asUintN(64, BigInt.asUintN(64, BigInt.asUintN(64, x + y) * 3n) - (x ^ y) + (y >> 7n));
        expect(callFunction(v, k, 'f', [x, y])).toBe(want);
      }),
      { numRuns: 300 },
    );
  });
});

describe('names a vendor kernel adds', () => {
  // written for the test: what a distribution's gup.c adds inside a walker
  const VENDOR = `
DEFINE_STATIC_KEY_TRUE(gup_key_on);
DEFINE_STATIC_KEY_FALSE(gup_key_off);
int keys(void) { int r = 0; if (static_branch_likely(&gup_key_on)) r += 1; if (static_branch_unlikely(&gup_key_off)) r += 2; if (static_key_enabled(&gup_key_on.key)) r += 4; return r; }
int other_key(void) { return static_branch_unlikely(&vendor_key) ? 5 : 6; }
int header_global(void) { return vendor_limit ? 1 : 2; }
int counters(int a) { count_vm_event(AN_EVENT_OF_A_HEADER); this_cpu_inc(a_vendor_stat); vendor_account(a_vendor_stat, a++); return a; }
int histogram(int n) {
	int i, r = 0;
	for (i = 0; i < n; i++) {
		unsigned long seen[4] = { 0 };
		seen[i & 3] += 1;
		seen[(i + 1) & 3] += 2;
		asm volatile("" ::: "memory");
		r += seen[0] + seen[1] * 10;
	}
	return r;
}
int past_end(void) { int a[2]; a[2] = 1; return a[0]; }
static int vendor_calls;
static bool vendor_on = true;
static unsigned long vendor_limit_bytes = 4096 * 2;
extern int vendor_extern_flag;
int use_globals(void) { vendor_calls++; if (!vendor_on) return -1; return vendor_calls * 1000 + (int)(vendor_limit_bytes >> 12); }
int read_extern(void) { return vendor_extern_flag; }
enum vendor_mode { VENDOR_OFF, VENDOR_ON = 4, VENDOR_BOTH, VENDOR_LAST = VENDOR_BOTH + 10 };
#define VENDOR_CLAMP(x, hi) ({ typeof(x) __x = (x); __x > (hi) ? (hi) : __x; })
int modes(void) { return VENDOR_OFF + VENDOR_ON * 10 + VENDOR_BOTH * 100 + VENDOR_LAST * 1000; }
long clamp_twice(long a, int go) { long r = 0; if (go && VENDOR_CLAMP(a, 5) == 5) r = VENDOR_CLAMP(a * 2, 7); typeof(r) s = r + 1; return s; }
int guarded(int go) { int before = vendor_calls; if (go && ({ vendor_calls++; 1; })) return vendor_calls - before; return vendor_calls - before + 10; }
unsigned long rounding(unsigned long x) {
	unsigned long seen[3] = { 0 };
	unsigned long flag = 0;
	smp_store_release(&flag, 7);
	if (__builtin_expect(smp_load_acquire(&flag) != 7, 0))
		return 1;
	return ALIGN(x, 4096) + round_down(x, 16) * 2 + DIV_ROUND_UP(x, 100) * 3 + IS_ALIGNED(x, 8) * 5 + ARRAY_SIZE(seen) * 11 + PAGE_ALIGN(x) - round_up(x, 4096);
}
int count_calls(void) { static int calls; static int base = 100; int fresh = 0; calls++; fresh++; return base + calls * 10 + fresh; }
int asm_out(void) { int x; asm("mov %0, 1" : "=r"(x)); return x; }
`;
  const build = (stubs: string[] = []) => {
    const a = getArch('x86-64');
    const model = getVersion('generic-2014');
    const v = sourceVersion(VENDOR, parse, a, model, { stubs: parseStubs(stubs) });
    const k = makeKern(buildMachine(a, model.era, { mappings: [] }), model, undefined, 'test', 0, false);
    return { v, run: (name: string, ...args: unknown[]) => callFunction(v, k, name, name === 'counters' ? [3] : args) };
  };

  it('a static key the file defines reads as it was defined; one of another file stops the run until a stub gives it', () => {
    const { run } = build();
    expect(run('keys')).toBe(1 + 4);
    expect(() => run('other_key')).toThrow(/static key vendor_key/);
    const given = build(['vendor_key=1']);
    expect(given.run('other_key')).toBe(5);
    expect(given.v.stubsUsed).toContain('vendor_key=1');
  });

  it('a local array is made afresh and zeroed where it is declared, decays to a pointer, and a store outside it stops the run; an asm without outputs is a barrier, one with outputs stops', () => {
    const { run } = build();
    // i=0: seen = [1, 2, 0, 0] -> 1 + 20; i=1: [0, 1, 2, 0] -> 10; i=2: [0, 0, 1, 2] -> 0; i=3: [2, 0, 0, 1] -> 2
    expect(run('histogram', 4)).toBe(21 + 10 + 0 + 2);
    expect(() => run('past_end')).toThrow(/a store to a\[2\], outside the local array of 2/);
    expect(() => run('asm_out')).toThrow(/inline asm with outputs/);
  });

  it('the file\'s own globals and a function\'s statics start as initialized and keep what the actor\'s calls wrote; a fresh actor starts afresh; an extern one is a header\'s', () => {
    const { run } = build();
    expect(run('use_globals')).toBe(1002);
    expect(run('use_globals')).toBe(2002);
    expect(build().run('use_globals')).toBe(1002);
    expect(() => run('read_extern')).toThrow(/identifier vendor_extern_flag/);
    // a function's static variable lasts from call to call; its plain locals do not
    expect([run('count_calls'), run('count_calls')]).toEqual([111, 121]);
  });

  it('the file\'s own enums are constants; a statement expression (a kernel-style macro) runs its statements and gives its last value, only where the && around it gets to it; typeof names a variable\'s type', () => {
    const { run } = build();
    expect(run('modes')).toBe(0 + 40 + 500 + 15000);
    expect(run('clamp_twice', 9n, 1)).toBe(8n); // clamp(9, 5) == 5, then clamp(18, 7) = 7, plus one
    expect(run('clamp_twice', 3n, 1)).toBe(1n); // clamp(3, 5) = 3: r stays 0
    expect(run('clamp_twice', 9n, 0)).toBe(1n);
    // && stops before the statement expression: its statements do not run
    expect([run('guarded', 0), run('guarded', 1)]).toEqual([10, 1]);
  });

  it('the kernel\'s rounding helpers, __builtin_expect, an acquire load and a release store of a local, ARRAY_SIZE of a local array', () => {
    const { run } = build();
    // x = 4100: ALIGN 8192, round_down(,16) 4096 * 2, DIV_ROUND_UP(,100) 41 * 3, aligned to 8 (4100 % 8 = 4): 0, 3 * 11, PAGE_ALIGN - round_up = 0
    expect(run('rounding', 4100n)).toBe(8192n + 8192n + 123n + 0n + 33n);
    expect(run('rounding', 4096n)).toBe(4096n + 8192n + 41n * 3n + 5n + 33n);
  });

  it('a global of a header the tree does not give stops the run, and a stub gives it a value', () => {
    expect(() => build().run('header_global')).toThrow(/identifier vendor_limit/);
    const given = build(['vendor_limit=0']);
    expect(given.run('header_global')).toBe(2);
    expect(given.v.stubsUsed).toContain('vendor_limit=0');
  });

  it('a statistic or an unknown call made for its effect does not read names its value cannot use; an argument with an effect still runs', () => {
    const { run, v } = build();
    expect(run('counters')).toBe(4);
    expect(v.stubsUsed).toContain('vendor_account()=noop (assumed: unknown, its value unused)');
    expect(build(['vendor_account=noop']).run('counters')).toBe(4);
  });
});

describe('the preprocessor', () => {
  it('keeps every line where it was, and picks the arch header\'s gup_get_pte on PAE', () => {
    const src = ['#ifndef gup_get_pte', 'static int a;', '#else', 'static int b;', '#endif', 'int x;'].join('\n');
    const pae = preprocess(src, configFor(getArch('x86-pae')));
    const x64 = preprocess(src, configFor(getArch('x86-64')));
    expect(pae.text.split('\n')).toEqual(['', '', '', 'static int b;', '', 'int x;']);
    expect(x64.text.split('\n')).toEqual(['', 'static int a;', '', '', '', 'int x;']);
  });

  it('a user override wins, and a bad one is refused with a message', () => {
    const src = '#ifdef CONFIG_ARCH_HAS_PTE_SPECIAL\nyes\n#else\nno\n#endif';
    expect(preprocess(src, configFor(getArch('arm64'), { CONFIG_ARCH_HAS_PTE_SPECIAL: 'n' })).text.trim()).toBe('no');
    expect(() => configFor(getArch('arm64'), { CONFIG_X: 'maybe' })).toThrow(/must be y, n or a number/);
  });

  it('an unbalanced #if is reported with its line', () => {
    expect(() => preprocess('int a;\n#if 1\nint b;\n', configFor(getArch('arm64')))).toThrow(/#if without #endif at line 2/);
  });
});
