/**
 * The function builder: one C function's flat list of ops, its slots, scopes, labels and loops,
 * statement marks, and the JS bodies the generator inlines.
 * Layer: pure emulator.
 */
import { converter, type CType } from '../ctypes';
import type { CompiledFn, Frame, Op, Thread } from '../runtime';
import { type Body, type CNode, Env, field, type Label, line, type Local, named, ONCE, SPECIAL, type X } from './env';



export class FB {
  readonly ops: Op[] = [];
  nslots = 0;
  readonly scopes: Map<string, Local>[] = [new Map()];
  readonly labels = new Map<string, Label>();
  readonly loops: { brk: Label; cont?: Label }[] = [];
  readonly locals: CompiledFn['locals'] = [];
  readonly lines = new Set<number>();
  /** per decision (jumpIf), the line of the statement it belongs to */
  readonly branches: number[] = [];
  /** the line of the statement being compiled */
  curLine = 0;
  /** the file's functions this one calls */
  readonly calls = new Set<string>();
  /** each slot's value when a frame starts (a declared local without initializer: zero of its type) */
  readonly zeros: unknown[] = [];
  private readonly memo = new Map<number, boolean>();
  /** what generated code reads as K[i]: closures, built-ins, each call site's argument array */
  readonly consts: unknown[] = [];
  /**
   * per op: its body as JS, given how to go on to a pc (`go`); a thunk, as jump targets are
   * placed later. None: its closure runs.
   */
  readonly bodies: (Body | undefined)[] = [];
  /** per op: the statement whose mark rides on it */
  readonly marks: ({ l: number; anchor: string } | undefined)[] = [];
  constructor(
    readonly env: Env,
    readonly name: string,
    readonly ret: CType,
  ) {}

  /** a value generated code reads: its K[i] */
  k(v: unknown): string {
    this.consts.push(v);
    return `K[${this.consts.length - 1}]`;
  }
  /** an expression as JS: its own source, or a call of its closure */
  js(x: X): string {
    return x.js ?? `${this.k(x.ev)}(t, f)`;
  }
  /** x converted from type `from` to `to`, as JS */
  cv(from: CType, to: CType, js: string): string {
    const c = converter(from, to);
    return c ? `${this.k(c)}(${js})` : js;
  }

  slot(): number {
    return this.nslots++;
  }
  local(name: string, t: CType, l: number): Local {
    const x = { slot: this.slot(), t };
    this.scopes[this.scopes.length - 1].set(name, x);
    this.locals.push({ name, type: t, slot: x.slot, line: l });
    return x;
  }
  lookup(name: string): Local | undefined {
    for (let i = this.scopes.length - 1; i >= 0; i--) {
      const x = this.scopes[i].get(name);
      if (x) return x;
    }
    return undefined;
  }
  label(): Label {
    return { pc: -1 };
  }
  place(l: Label): void {
    l.pc = this.ops.length;
  }
  /**
   * Append an op. A statement's mark (its line, its text, its 'stmt' step) rides on the
   * statement's first op instead of being an op of its own: half the dispatches of a walk.
   */
  push(op: Op, body?: Body): void {
    const p = this.pending;
    this.marks.push(p);
    this.bodies.push(body);
    if (p) {
      this.pending = undefined;
      const { l, anchor } = p;
      const inner = op;
      const pc = this.ops.length;
      op = (t, f) => {
        if (f.marked !== pc) {
          f.line = l;
          f.anchor = anchor;
          if (t.cov) t.cov.line(f.fn.name, l);
          if (t.rec) t.note(f, 'stmt');
          // a debugger stops on the statement before any of it runs: come back here, unmarked
          if (t.stop) {
            f.marked = pc;
            return pc;
          }
        }
        f.marked = -1;
        return inner(t, f);
      };
    }
    this.ops.push(op);
  }
  /**
   * an op that does something and goes on (js: the same as a JS statement; `leaves`: it pushes
   * a frame, so the run loop must take over)
   */
  op(run: (t: Thread, f: Frame) => void, js?: string, leaves = false): void {
    const next = this.ops.length + 1;
    this.push((t, f) => {
      run(t, f);
      return next;
    }, js === undefined ? undefined : (go) => `${js};\n ${leaves ? `return ${next};` : go(String(next))}`);
  }
  jump(l: Label): void {
    this.push(() => l.pc, (go) => go(String(l.pc)));
  }
  jumpIf(x: X, l: Label, when: boolean, decision = true): void {
    const next = this.ops.length + 1;
    const ev = x.ev;
    const c = this.js(x);
    if (!decision) {
      this.push(when ? (t, f) => (ev(t, f) ? l.pc : next) : (t, f) => (ev(t, f) ? next : l.pc), (go) => `if (${c}) ${go(String(when ? l.pc : next))}\n else ${go(String(when ? next : l.pc))}`);
      return;
    }
    // a decision: its outcome goes to coverage when a coverage run asks (one test of t.cov otherwise)
    const id = this.branches.length;
    this.branches.push(this.curLine);
    const name = this.name;
    const taken = (t: Thread, v: unknown) => {
      if (t.cov) t.cov.branch(name, id, !!v);
      return v;
    };
    this.push(when ? (t, f) => (taken(t, ev(t, f)) ? l.pc : next) : (t, f) => (taken(t, ev(t, f)) ? next : l.pc), (go) => `if (${this.k(taken)}(t, ${c})) ${go(String(when ? l.pc : next))}\n else ${go(String(when ? next : l.pc))}`);
  }
  /** keep a value in a temporary now (before a later operand's ops run) */
  spill(x: X): X {
    const s = this.slot();
    const ev = x.ev;
    this.op((t, f) => {
      f.v[s] = ev(t, f);
    }, `V[${s}] = ${this.js(x)}`);
    return { t: x.t, ev: (_t, f) => f.v[s], js: `V[${s}]` };
  }
  /** a statement starts: its line, its text as the step anchor, a 'stmt' step (on its first op) */
  mark(n: CNode, text = n.text): void {
    if (this.pending) this.op(() => undefined, ''); // a statement that made no op still shows
    const l = line(n);
    this.curLine = l;
    this.lines.add(l);
    this.pending = { l, anchor: text.split('\n')[0].trim().slice(0, 120) };
  }
  private pending: { l: number; anchor: string } | undefined;

  /** where the op list stands, to take back what an expression compiled (an assertion left unevaluated) */
  checkpoint(): { n: number; pending: FB['pending'] } {
    return { n: this.ops.length, pending: this.pending };
  }
  rollback(c: { n: number; pending: FB['pending'] }): void {
    this.ops.length = this.bodies.length = this.marks.length = c.n;
    this.pending = c.pending;
  }

  /** Can evaluating this expression stop the thread (so it must be linearised)? Conservative. */
  suspends(n: CNode): boolean {
    const m = this.memo.get(n.id);
    if (m !== undefined) return m;
    let r = false;
    if (n.type === 'call_expression') {
      const fnode = field(n, 'function');
      const name = fnode?.type === 'identifier' ? fnode.text : '';
      const b = this.env.builtin(name);
      r = this.env.cfg.stubs[name] !== undefined ? false : this.env.sigs.has(name) || (!!b && (b.kind === 'sched' || b.kind === 'gen')) || (!b && !ONCE.has(name) && !SPECIAL.has(name));
    } else if (n.type === 'pointer_expression' && n.children[0]?.text === '*') r = true;
    else if (n.type === 'compound_statement') r = true; // a statement expression runs as statements
    else if (n.type === 'field_expression' && n.children.some((c) => c?.text === '->')) r = true;
    if (!r) for (const c of named(n)) if (this.suspends(c)) r = true;
    this.memo.set(n.id, r);
    return r;
  }
}
