/**
 * The JS generator: a compiled function's ops as one generated function (the closures stay the
 * reference).
 * Layer: pure emulator.
 */
import type { Op } from '../runtime';
import { FB } from './builder';

/** Generate JS for the ops (off: the closures run, as written; tests compare both). */
let generate = true;
export function setCodegen(on: boolean): void {
  generate = on;
}
/** Whether functions compile to generated JS now (part of what a kept program was made from). */
export const codegenOn = (): boolean => generate;

/**
 * The function as generated JS: one `new Function` per C function, its ops the cases of a
 * switch in a loop, each op's expression inlined and its built-in calls direct. It goes from op
 * to op without the run loop until something stops the thread (a scheduling point, a sub-
 * generator, a debugger) or the frame changes (a call, a return); every entry of `ops` is that
 * one function, which starts at f.pc. The closures were one generic body per kind of node, so
 * every call inside them saw every callee (megamorphic, never inlined) and every op was a
 * dispatch. Ops the compiler has no JS for stay closures (a case that returns to the run loop),
 * and a function whose source fails to build keeps its closures: they are the reference.
 */
export function emit(b: FB): Op[] {
  if (!generate) return b.ops;
  const anchors = b.marks.map((m) => m?.anchor);
  const cases = b.ops.map((_, i) => {
    // on to the next op: fall through into its case; anywhere else: through the switch
    const go = (pc: string) => (pc === String(i + 1) ? `{ if (t.stop) return ${pc}; }` : `{ pc = ${pc}; if (t.stop) return pc; continue; }`);
    const body = b.bodies[i];
    if (!body) return `case ${i}: return O[${i}](t, f);`;
    const m = b.marks[i];
    // the statement's mark, as push() wraps it: a debugger stops here before any of it runs
    const mark = m ? `if (f.marked !== ${i}) { f.line = ${m.l}; f.anchor = A[${i}]; if (t.cov) t.cov.line(f.fn.name, ${m.l}); if (t.rec) t.note(f, 'stmt'); if (t.stop) { f.marked = ${i}; return ${i}; } }\n f.marked = -1;\n ` : '';
    return `case ${i}: {\n ${mark}${body(go)}\n}`; // a body ends in a go or a return
  });
  const src = `'use strict';\nreturn (t, f) => {\n const V = f.v;\n let pc = f.pc;\n for (;;) switch (pc) {\n${cases.join('\n')}\n default: return O[pc](t, f);\n }\n};`;
  try {
    const run = new Function('K', 'O', 'A', src)(b.consts, b.ops, anchors) as Op;
    return b.ops.map(() => run);
  } catch {
    return b.ops;
  }
}
