/**
 * Fixed-size rolling windows over typed arrays: O(1) amortised per push, no allocation after
 * construction. Running sums are resummed exactly once per `size` pushes (and when they nearly
 * cancel), so they do not drift over millions of bars; moments are taken around a pivot (the
 * window's mean at the last resummation) so high-priced series do not cancel catastrophically.
 */

/** The last `size` values, oldest first by `at(0)`. */
export class Ring {
  readonly size: number;
  private readonly buf: Float64Array;
  private head = 0;
  count = 0;
  constructor(size: number) {
    this.size = size;
    this.buf = new Float64Array(size);
  }
  /** Returns the value that fell out of the window (NaN while filling). */
  push(x: number): number {
    const evicted = this.count === this.size ? this.buf[this.head]! : Number.NaN;
    this.buf[this.head] = x;
    this.head = this.head + 1 === this.size ? 0 : this.head + 1;
    if (this.count < this.size) this.count++;
    return evicted;
  }
  get full(): boolean {
    return this.count === this.size;
  }
  /** i = 0 is the oldest value held, count − 1 the newest. */
  at(i: number): number {
    let k = this.head - this.count + i;
    if (k < 0) k += this.size;
    return this.buf[k]!;
  }
  /** The value `back` pushes ago (0 = newest); NaN when not held. */
  ago(back: number): number {
    return back < this.count ? this.at(this.count - 1 - back) : Number.NaN;
  }
}

/** Rolling sum and mean over the last `size` values. */
export class RollingSum {
  private readonly ring: Ring;
  private sum = 0;
  /** Largest magnitude that has entered the sum since it was last exact. */
  private peak = 0;
  /** Pushes left until the next exact resummation. */
  private untilResum: number;
  constructor(size: number) {
    this.ring = new Ring(size);
    this.untilResum = size;
  }
  push(x: number): void {
    const old = this.ring.push(x);
    this.sum += x;
    const size = x < 0 ? -x : x;
    if (size > this.peak) this.peak = size;
    if (!Number.isNaN(old)) this.sum -= old;
    // Resum exactly once per window, and whenever the sum is small next to values that passed
    // through it (their rounding residue would dominate; an all-zero window must read 0).
    if (--this.untilResum === 0) {
      this.untilResum = this.ring.size;
      this.resum();
    } else if (Math.abs(this.sum) < this.peak * 1e-5) this.resum();
  }
  private resum(): void {
    let s = 0;
    let peak = 0;
    for (let i = 0; i < this.ring.count; i++) {
      const x = this.ring.at(i);
      s += x;
      if ((x < 0 ? -x : x) > peak) peak = x < 0 ? -x : x;
    }
    this.sum = s;
    this.peak = peak;
  }
  get full(): boolean {
    return this.ring.full;
  }
  get total(): number {
    return this.sum;
  }
  get mean(): number {
    return this.ring.full ? this.sum / this.ring.count : Number.NaN;
  }
}

/**
 * Rolling population moments (mean, variance, skewness, excess kurtosis) over the last `size`
 * values; `order` 2 keeps only what mean and variance need.
 */
export class RollingMoments {
  private readonly ring: Ring;
  private readonly order: 2 | 4;
  private pivot = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  private s4 = 0;
  /** Largest squared deviation that has entered the sums since they were last exact. */
  private peak2 = 0;
  /** Pushes left until the next exact resummation. */
  private untilResum: number;
  constructor(size: number, order: 2 | 4 = 2) {
    this.ring = new Ring(size);
    this.order = order;
    this.untilResum = size;
  }
  push(x: number): void {
    const old = this.ring.push(x);
    this.add(x - this.pivot, 1);
    if (!Number.isNaN(old)) this.add(old - this.pivot, -1);
    if (--this.untilResum === 0) {
      this.untilResum = this.ring.size;
      this.resum();
    } else if (this.cancelling()) this.resum();
  }
  /**
   * The window's mean has moved far from the pivot relative to its spread, so the central moments
   * would be small differences of large sums: resum around the exact mean. Rare: it takes a
   * near-flat window (e.g. after an outlier leaves it); the fourth moment needs a tighter bound.
   */
  private cancelling(): boolean {
    if (!this.ring.full) return false;
    const n = this.ring.size;
    const m = this.s1 / n;
    if (this.s2 / n - m * m <= (this.s2 / n) * (this.order === 4 ? 1e-2 : 1e-6)) return true;
    // A large value that has left the window leaves rounding residue the size of its power in the sums.
    const residue = this.order === 4 ? this.peak2 * this.peak2 : this.peak2;
    return (this.order === 4 ? this.s4 : this.s2) < residue * 1e-5;
  }
  private add(d: number, sign: 1 | -1): void {
    const d2 = d * d;
    if (d2 > this.peak2) this.peak2 = d2;
    this.s1 += sign * d;
    this.s2 += sign * d2;
    if (this.order === 4) {
      this.s3 += sign * d2 * d;
      this.s4 += sign * d2 * d2;
    }
  }
  private resum(): void {
    const r = this.ring;
    let raw = 0;
    for (let i = 0; i < r.count; i++) raw += r.at(i);
    this.pivot = raw / r.count;
    this.s1 = this.s2 = this.s3 = this.s4 = 0;
    this.peak2 = 0;
    for (let i = 0; i < r.count; i++) this.add(r.at(i) - this.pivot, 1);
  }
  get full(): boolean {
    return this.ring.full;
  }
  get mean(): number {
    return this.ring.full ? this.pivot + this.s1 / this.ring.size : Number.NaN;
  }
  /** Population variance (divides by n, as TA-Lib's STDDEV/BBANDS do). */
  get variance(): number {
    if (!this.ring.full) return Number.NaN;
    const n = this.ring.size;
    const m = this.s1 / n;
    const v = this.s2 / n - m * m;
    return Math.max(v, 0);
  }
  get std(): number {
    return Math.sqrt(this.variance);
  }
  /** Population skewness m3 / m2^1.5 (0 for a constant window). */
  get skew(): number {
    if (!this.ring.full) return Number.NaN;
    const n = this.ring.size;
    const m = this.s1 / n;
    const m2 = this.s2 / n - m * m;
    if (!(m2 > 0)) return 0;
    const m3 = this.s3 / n - 3 * m * (this.s2 / n) + 2 * m * m * m;
    return m3 / (m2 * Math.sqrt(m2));
  }
  /** Population excess kurtosis m4 / m2² − 3 (0 for a constant window). */
  get kurtosis(): number {
    if (!this.ring.full) return Number.NaN;
    const n = this.ring.size;
    const m = this.s1 / n;
    const e2 = this.s2 / n;
    const m2 = e2 - m * m;
    if (!(m2 > 0)) return 0;
    const m4 = this.s4 / n - 4 * m * (this.s3 / n) + 6 * m * m * e2 - 3 * m * m * m * m;
    return m4 / (m2 * m2) - 3;
  }
}

/**
 * Highest and lowest of the last `size` values with monotonic deques held in typed arrays
 * (each value enters and leaves each deque once: O(1) amortised).
 */
export class RollingExtremes {
  private readonly size: number;
  private readonly cap: number;
  private readonly maxIdx: Float64Array;
  private readonly maxVal: Float64Array;
  private readonly minIdx: Float64Array;
  private readonly minVal: Float64Array;
  private maxHead = 0;
  private maxTail = 0;
  private minHead = 0;
  private minTail = 0;
  private n = 0;
  constructor(size: number) {
    this.size = size;
    this.cap = size + 1;
    this.maxIdx = new Float64Array(this.cap);
    this.maxVal = new Float64Array(this.cap);
    this.minIdx = new Float64Array(this.cap);
    this.minVal = new Float64Array(this.cap);
  }
  push(high: number, low: number): void {
    const i = this.n++;
    const cap = this.cap;
    while (this.maxTail !== this.maxHead && this.maxVal[(this.maxTail - 1 + cap) % cap]! <= high)
      this.maxTail = (this.maxTail - 1 + cap) % cap;
    this.maxIdx[this.maxTail] = i;
    this.maxVal[this.maxTail] = high;
    this.maxTail = (this.maxTail + 1) % cap;
    while (this.maxIdx[this.maxHead]! <= i - this.size) this.maxHead = (this.maxHead + 1) % cap;
    while (this.minTail !== this.minHead && this.minVal[(this.minTail - 1 + cap) % cap]! >= low)
      this.minTail = (this.minTail - 1 + cap) % cap;
    this.minIdx[this.minTail] = i;
    this.minVal[this.minTail] = low;
    this.minTail = (this.minTail + 1) % cap;
    while (this.minIdx[this.minHead]! <= i - this.size) this.minHead = (this.minHead + 1) % cap;
  }
  get full(): boolean {
    return this.n >= this.size;
  }
  get highest(): number {
    return this.maxVal[this.maxHead]!;
  }
  get lowest(): number {
    return this.minVal[this.minHead]!;
  }
}
