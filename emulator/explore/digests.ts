/**
 * The set of state digests the explorer has seen. A digest has 52 bits, more than a small
 * integer: in a Set each would be boxed as a heap number. Here they sit in two typed arrays
 * (open addressing, linear probing), so recording a state allocates nothing.
 * Layer: pure emulator.
 */
const TWO32 = 2 ** 32;

export class DigestSet {
  /** low 32 bits of each digest */
  private lo = new Uint32Array(1024);
  /** high 20 bits plus one (0: empty slot) */
  private hi = new Uint32Array(1024);
  private mask = 1023;
  size = 0;

  /** Add a digest; false when it was already there. */
  add(d: number): boolean {
    const lo = d >>> 0;
    const hi = Math.floor(d / TWO32) + 1;
    let i = lo & this.mask;
    for (;;) {
      const h = this.hi[i];
      if (h === 0) break;
      if (h === hi && this.lo[i] === lo) return false;
      i = (i + 1) & this.mask;
    }
    this.lo[i] = lo;
    this.hi[i] = hi;
    if (++this.size * 2 > this.mask) this.grow();
    return true;
  }

  private grow(): void {
    const { lo, hi } = this;
    this.mask = this.mask * 2 + 1;
    this.lo = new Uint32Array(this.mask + 1);
    this.hi = new Uint32Array(this.mask + 1);
    for (let j = 0; j < lo.length; j++) {
      if (hi[j] === 0) continue;
      let i = lo[j] & this.mask;
      while (this.hi[i] !== 0) i = (i + 1) & this.mask;
      this.lo[i] = lo[j];
      this.hi[i] = hi[j];
    }
  }
}
