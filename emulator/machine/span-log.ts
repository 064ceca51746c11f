/**
 * Every leaf mapping the ghost has seen, as spans of four numbers (address, 4K pages, first pfn,
 * allocation gen), in blocks of BLOCK numbers. A copy shares every block; either side copies only
 * what it appends to (the block list and its last block). A khugepaged layout notes a span per
 * small page, hundreds of them, and the explorer copies the machine for each state it keeps: a
 * flat array was copied whole at a state's first mapping.
 * Layer: pure emulator.
 */
const BLOCK = 64;

export class SpanLog {
  private blocks: number[][];
  /** this copy may write the block list in place, and its last block */
  private listMine: boolean;
  private lastMine: boolean;

  constructor(from?: SpanLog) {
    this.blocks = from ? from.blocks : [];
    this.listMine = this.lastMine = !from;
  }

  /** A copy: both sides share everything from now on, and copy what they change. */
  copy(): SpanLog {
    this.listMine = this.lastMine = false;
    return new SpanLog(this);
  }

  /** n pages from addr map frames from pfn on, of generation g: extends the last span, or is already inside a recent one, or is a new one. */
  note(addr: number, n: number, pfn: number, g: number): void {
    const last = this.blocks.length ? this.blocks[this.blocks.length - 1] : undefined;
    if (last) {
      const l = last.length - 4;
      if (last[l + 3] === g && last[l + 2] + last[l + 1] === pfn && last[l] + last[l + 1] * 4096 === addr) {
        this.ownLast()[l + 1] += n; // the next leaf of a run (a split writing 512 ptes) extends the last span
        return;
      }
      for (let i = l; i >= 0; i -= 4) {
        const k = (addr - last[i]) / 4096;
        if (last[i + 3] === g && k >= 0 && k + n <= last[i + 1] && last[i + 2] + k === pfn) return; // reach() answers it already
      }
    }
    if (!last || last.length >= BLOCK) {
      this.ownList().push([addr, n, pfn, g]);
      this.lastMine = true;
    } else this.ownLast().push(addr, n, pfn, g);
  }

  /** How many pages from address a on some span maps, as frames from pfn on of generation gen (0: none maps a so). */
  reach(a: number, pfn: number, gen: number): number {
    let reach = 0;
    for (const v of this.blocks) {
      for (let i = 0; i < v.length; i += 4) {
        const k = (a - v[i]) / 4096;
        if (k >= 0 && k < v[i + 1] && v[i + 2] + k === pfn && v[i + 3] === gen) reach = Math.max(reach, v[i + 1] - k);
      }
    }
    return reach;
  }

  private ownList(): number[][] {
    if (!this.listMine) {
      this.blocks = this.blocks.slice();
      this.listMine = true;
    }
    return this.blocks;
  }

  private ownLast(): number[] {
    const list = this.ownList();
    if (!this.lastMine) {
      list[list.length - 1] = list[list.length - 1].slice();
      this.lastMine = true;
    }
    return list[list.length - 1];
  }
}
