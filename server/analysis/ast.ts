/**
 * A syntax tree as plain data: the parse worker flattens tree-sitter's tree into one Int32Array
 * (preorder, nine numbers a node) that crosses the thread boundary without a copy, and
 * `PlainNode` reads it back with the few Node accessors the interpreter's compiler uses. The
 * wasm tree itself never leaves the worker, so the server's heap never holds one.
 */
import type { Node } from 'web-tree-sitter';
import type { CNode } from '../../emulator/interp/compile';

const W = 9; // type, flags, startIndex, endIndex, startRow, startCol, endRow, field, subtree size
const NAMED = 1;
const ERROR = 2;

export interface FlatTree {
  nodes: Int32Array;
  /** node types and field names by id */
  names: string[];
}

/** Flatten a tree-sitter node (in the worker). */
/** Each line's first index in `text` (the parser counts a row at each LF). */
function lineStarts(text: string): Int32Array {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === 10) starts.push(i + 1);
  return Int32Array.from(starts);
}

/** The row of an index: the last line start at or before it. */
function rowOf(starts: Int32Array, index: number, hint: number): number {
  let lo = starts[hint] <= index ? hint : 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid] <= index) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * Walk the tree once with a cursor into a flat array. With the source `text`, rows and columns
 * come from a line table instead of the cursor's position objects (two fewer wasm calls and two
 * allocations a node: half the walk).
 */
export function flatten(root: Node, text?: string): FlatTree {
  const starts = text !== undefined && /^[\x00-\x7f]*$/.test(text) ? lineStarts(text) : undefined;
  let row = 0;
  const names: string[] = [''];
  const ids = new Map<string, number>([['', 0]]);
  const id = (s: string) => {
    let i = ids.get(s);
    if (i === undefined) {
      i = names.length;
      names.push(s);
      ids.set(s, i);
    }
    return i;
  };
  let cap = 4096;
  let buf = new Int32Array(cap * W);
  let n = 0;
  const cursor = root.walk();
  const stack: number[] = [];
  for (;;) {
    if (n === cap) {
      cap *= 2;
      const b = new Int32Array(cap * W);
      b.set(buf);
      buf = b;
    }
    const i = n++;
    const o = i * W;
    const type = cursor.nodeType;
    buf[o] = id(type);
    // (no Node object per node: reading one through the cursor costs more than the whole walk)
    buf[o + 1] = (cursor.nodeIsNamed ? NAMED : 0) | (type === 'ERROR' ? ERROR : 0);
    const si = cursor.startIndex;
    const ei = cursor.endIndex;
    buf[o + 2] = si;
    buf[o + 3] = ei;
    if (starts) {
      row = rowOf(starts, si, row);
      buf[o + 4] = row;
      buf[o + 5] = si - starts[row];
      buf[o + 6] = rowOf(starts, ei, row);
    } else {
      const sp = cursor.startPosition;
      buf[o + 4] = sp.row;
      buf[o + 5] = sp.column;
      buf[o + 6] = cursor.endPosition.row;
    }
    buf[o + 7] = id(cursor.currentFieldName ?? '');
    stack.push(i);
    if (cursor.gotoFirstChild()) continue;
    // a leaf: close it, and every ancestor whose last child this was
    for (;;) {
      const done = stack.pop()!;
      buf[done * W + 8] = n - done;
      if (cursor.gotoNextSibling()) break;
      if (!cursor.gotoParent()) {
        cursor.delete();
        return { nodes: buf.slice(0, n * W), names };
      }
    }
  }
}

/** A node of a flat tree, with the Node accessors the compiler reads. */
export class PlainNode implements CNode {
  private kids?: PlainNode[];
  constructor(
    private readonly t: PlainTree,
    readonly id: number,
  ) {}
  private get o(): number {
    return this.id * W;
  }
  get type(): string {
    return this.t.names[this.t.nodes[this.o]];
  }
  get isNamed(): boolean {
    return (this.t.nodes[this.o + 1] & NAMED) !== 0;
  }
  /** this node is an ERROR node (the flat tree keeps no subtree flag) */
  get hasError(): boolean {
    return (this.t.nodes[this.o + 1] & ERROR) !== 0;
  }
  get text(): string {
    return this.t.source.slice(this.t.nodes[this.o + 2], this.t.nodes[this.o + 3]);
  }
  get startPosition(): { row: number; column: number } {
    return { row: this.t.nodes[this.o + 4], column: this.t.nodes[this.o + 5] };
  }
  get endPosition(): { row: number; column: number } {
    return { row: this.t.nodes[this.o + 6], column: 0 };
  }
  get fieldName(): string {
    return this.t.names[this.t.nodes[this.o + 7]];
  }
  get children(): PlainNode[] {
    if (!this.kids) {
      const out: PlainNode[] = [];
      const end = this.id + this.t.nodes[this.o + 8];
      for (let j = this.id + 1; j < end; j += this.t.nodes[j * W + 8]) out.push(this.t.node(j));
      this.kids = out;
    }
    return this.kids;
  }
  get childCount(): number {
    return this.children.length;
  }
  get namedChildren(): PlainNode[] {
    return this.children.filter((c) => c.isNamed);
  }
  childForFieldName(name: string): PlainNode | null {
    return this.children.find((c) => c.fieldName === name) ?? null;
  }
  childrenForFieldName(name: string): PlainNode[] {
    return this.children.filter((c) => c.fieldName === name);
  }
}

/** A flat tree and the text it was parsed from. */
export class PlainTree {
  readonly nodes: Int32Array;
  readonly names: string[];
  private readonly cache = new Map<number, PlainNode>();
  constructor(
    readonly source: string,
    flat: FlatTree,
  ) {
    this.nodes = flat.nodes;
    this.names = flat.names;
  }
  node(i: number): PlainNode {
    let n = this.cache.get(i);
    if (!n) this.cache.set(i, (n = new PlainNode(this, i)));
    return n;
  }
  get rootNode(): PlainNode {
    return this.node(0);
  }
  /** nothing to free: the wasm tree stayed in the worker */
  delete(): void {}
}
