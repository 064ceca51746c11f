/**
 * User stubs: what a reviewer says a name the census cannot know does or holds (a vendor hook, a
 * distribution's own helper, a global or a static key its headers define), so the file's code
 * runs on past it. Set per workspace
 * (`gupLens.stubs`) or per run (`--stub NAME=noop|0|1|true|false`); every result that used one
 * names it.
 * Layer: pure emulator.
 */
export const STUB_VALUES = ['noop', '0', '1', 'true', 'false'] as const;
export type StubValue = (typeof STUB_VALUES)[number];
export type Stubs = Readonly<Record<string, StubValue>>;

export class StubError extends Error {}

/** NAME=VALUE pairs (the CLI's --stub) or a settings object, checked. */
export function parseStubs(v: readonly string[] | Record<string, unknown> | undefined): Stubs {
  const out: Record<string, StubValue> = {};
  const put = (name: string, value: unknown) => {
    if (!/^[A-Za-z_]\w*$/.test(name)) throw new StubError(`stub '${name}': not a C name`);
    if (typeof value !== 'string' || !(STUB_VALUES as readonly string[]).includes(value)) throw new StubError(`stub ${name}: the value must be one of ${STUB_VALUES.join(', ')}, not '${String(value)}'`);
    out[name] = value as StubValue;
  };
  if (Array.isArray(v)) {
    for (const s of v) {
      const m = /^([^=]*)=(.*)$/.exec(s);
      if (!m) throw new StubError(`--stub takes NAME=noop|0|1|true|false, not '${s}'`);
      put(m[1], m[2]);
    }
  } else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) put(k, x);
  return out;
}

/** The value a stubbed call returns (noop: nothing, read as 0). */
export function stubResult(v: StubValue): number {
  return v === '1' || v === 'true' ? 1 : 0;
}

/** How a stub reads in a result: "vendor_hook()=noop" for a call, "vendor_flag=0" for a name read as a value. */
export function stubLabel(name: string, v: StubValue, call = true): string {
  return call ? `${name}()=${v}` : `${name}=${v}`;
}

/**
 * The name a stub can bind in what stopped a run: a call (`call to f()`), or a name read as a
 * value (`identifier x`, `static key k`); undefined for anything else.
 */
export function stubbable(what: string): { name: string; call: boolean } | undefined {
  const call = /^call to (\w+)\(\)$/.exec(what)?.[1];
  if (call) return { name: call, call: true };
  const valued = /^(?:identifier|static key) (\w+)$/.exec(what)?.[1];
  return valued ? { name: valued, call: false } : undefined;
}

/** What stopped a run, where a stub can get past it: the --stub that would. */
export function stubHint(what: string): string | undefined {
  const s = stubbable(what);
  return !s ? undefined : s.call ? `--stub ${s.name}=noop|0|1 says what it does` : `--stub ${s.name}=0|1 gives it a value`;
}
