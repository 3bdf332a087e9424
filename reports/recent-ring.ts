/**
 * The last `limit` lines (file order) as offsets and lengths in typed arrays: O(1) per line and
 * no allocation, so a million-line scan keeps its "last N decisions" for free.
 */
export class RecentRing {
  private readonly offsets: Float64Array;
  private readonly lengths: Int32Array;
  private count = 0;

  constructor(private readonly limit: number) {
    this.offsets = new Float64Array(Math.max(1, limit));
    this.lengths = new Int32Array(Math.max(1, limit));
  }

  push(offset: number, length: number): void {
    if (this.limit <= 0) return;
    const slot = this.count % this.limit;
    this.offsets[slot] = offset;
    this.lengths[slot] = length;
    this.count++;
  }

  /** Oldest first. */
  entries(): Array<{ offset: number; length: number }> {
    const n = Math.min(this.count, this.limit);
    const first = this.count - n;
    return Array.from({ length: n }, (_, i) => {
      const slot = (first + i) % this.limit;
      return { offset: this.offsets[slot]!, length: this.lengths[slot]! };
    });
  }
}
