/**
 * Incremental indicators: O(1) per bar, no history rescans, NaN until warm. Definitions follow
 * TA-Lib (SMA-seeded EMA, Wilder smoothing for RSI/ATR/ADX, population stddev for Bollinger).
 */

export class Ema {
  readonly period: number;
  private readonly alpha: number;
  private count = 0;
  private seedSum = 0;
  value = Number.NaN;
  constructor(period: number) {
    this.period = period;
    this.alpha = 2 / (period + 1);
  }
  update(x: number): number {
    if (this.count < this.period) {
      this.seedSum += x;
      this.count++;
      if (this.count === this.period) this.value = this.seedSum / this.period;
      return this.value;
    }
    this.value += this.alpha * (x - this.value);
    return this.value;
  }
}

/** Wilder's RSI. */
export class Rsi {
  readonly period: number;
  private prev = Number.NaN;
  private count = 0;
  private avgGain = 0;
  private avgLoss = 0;
  value = Number.NaN;
  constructor(period = 14) {
    this.period = period;
  }
  update(close: number): number {
    if (Number.isNaN(this.prev)) {
      this.prev = close;
      return this.value;
    }
    const change = close - this.prev;
    this.prev = close;
    const gain = change > 0 ? change : 0;
    const loss = change < 0 ? -change : 0;
    const p = this.period;
    if (this.count < p) {
      this.avgGain += gain / p;
      this.avgLoss += loss / p;
      this.count++;
      if (this.count < p) return this.value;
    } else {
      this.avgGain = (this.avgGain * (p - 1) + gain) / p;
      this.avgLoss = (this.avgLoss * (p - 1) + loss) / p;
    }
    const total = this.avgGain + this.avgLoss;
    this.value = total === 0 ? 50 : (100 * this.avgGain) / total;
    return this.value;
  }
}

export class Macd {
  private readonly fast: Ema;
  private readonly slow: Ema;
  private readonly signalEma: Ema;
  macd = Number.NaN;
  signal = Number.NaN;
  histogram = Number.NaN;
  constructor(fast = 12, slow = 26, signal = 9) {
    this.fast = new Ema(fast);
    this.slow = new Ema(slow);
    this.signalEma = new Ema(signal);
  }
  update(close: number): void {
    const f = this.fast.update(close);
    const s = this.slow.update(close);
    if (Number.isNaN(s)) return;
    this.macd = f - s;
    this.signal = this.signalEma.update(this.macd);
    this.histogram = Number.isNaN(this.signal) ? Number.NaN : this.macd - this.signal;
  }
}

/** Fixed-size ring of the last `size` values. */
export class Ring {
  readonly size: number;
  private readonly buf: Float64Array;
  private head = 0;
  count = 0;
  constructor(size: number) {
    this.size = size;
    this.buf = new Float64Array(size);
  }
  push(x: number): number {
    const evicted = this.count === this.size ? this.buf[this.head]! : Number.NaN;
    this.buf[this.head] = x;
    this.head = (this.head + 1) % this.size;
    if (this.count < this.size) this.count++;
    return evicted;
  }
  get full(): boolean {
    return this.count === this.size;
  }
  /** i = 0 is the oldest value held. */
  at(i: number): number {
    return this.buf[(this.head - this.count + i + this.size) % this.size]!;
  }
  mean(): number {
    let s = 0;
    for (let i = 0; i < this.count; i++) s += this.buf[i]!;
    return s / this.count;
  }
  /** Population standard deviation around the mean. */
  std(mean = this.mean()): number {
    let s = 0;
    for (let i = 0; i < this.count; i++) {
      const d = this.buf[i]! - mean;
      s += d * d;
    }
    return Math.sqrt(s / this.count);
  }
}

export class Bollinger {
  private readonly ring: Ring;
  private readonly k: number;
  middle = Number.NaN;
  upper = Number.NaN;
  lower = Number.NaN;
  constructor(period = 20, k = 2) {
    this.ring = new Ring(period);
    this.k = k;
  }
  update(close: number): void {
    this.ring.push(close);
    if (!this.ring.full) return;
    this.middle = this.ring.mean();
    const sd = this.ring.std(this.middle);
    this.upper = this.middle + this.k * sd;
    this.lower = this.middle - this.k * sd;
  }
}

/** Wilder's ATR (true range needs the previous close, so the first bar only primes it). */
export class Atr {
  readonly period: number;
  private prevClose = Number.NaN;
  private count = 0;
  private sum = 0;
  value = Number.NaN;
  constructor(period = 14) {
    this.period = period;
  }
  update(high: number, low: number, close: number): number {
    const pc = this.prevClose;
    this.prevClose = close;
    if (Number.isNaN(pc)) return this.value;
    const tr = Math.max(high - low, Math.abs(high - pc), Math.abs(low - pc));
    if (this.count < this.period) {
      this.sum += tr;
      this.count++;
      if (this.count === this.period) this.value = this.sum / this.period;
      return this.value;
    }
    this.value = (this.value * (this.period - 1) + tr) / this.period;
    return this.value;
  }
}

/** Wilder's ADX with +DI/−DI. */
export class Adx {
  readonly period: number;
  private prevHigh = Number.NaN;
  private prevLow = Number.NaN;
  private prevClose = Number.NaN;
  private count = 0;
  private trS = 0;
  private plusS = 0;
  private minusS = 0;
  private dxCount = 0;
  private dxSum = 0;
  value = Number.NaN;
  plusDi = Number.NaN;
  minusDi = Number.NaN;
  constructor(period = 14) {
    this.period = period;
  }
  update(high: number, low: number, close: number): number {
    if (Number.isNaN(this.prevClose)) {
      this.prevHigh = high;
      this.prevLow = low;
      this.prevClose = close;
      return this.value;
    }
    const up = high - this.prevHigh;
    const down = this.prevLow - low;
    const plusDm = up > down && up > 0 ? up : 0;
    const minusDm = down > up && down > 0 ? down : 0;
    const tr = Math.max(high - low, Math.abs(high - this.prevClose), Math.abs(low - this.prevClose));
    this.prevHigh = high;
    this.prevLow = low;
    this.prevClose = close;
    const p = this.period;
    if (this.count < p - 1) {
      this.trS += tr;
      this.plusS += plusDm;
      this.minusS += minusDm;
      this.count++;
      return this.value;
    }
    if (this.count === p - 1) {
      this.trS += tr;
      this.plusS += plusDm;
      this.minusS += minusDm;
      this.count++;
    } else {
      this.trS = this.trS - this.trS / p + tr;
      this.plusS = this.plusS - this.plusS / p + plusDm;
      this.minusS = this.minusS - this.minusS / p + minusDm;
    }
    this.plusDi = this.trS === 0 ? 0 : (100 * this.plusS) / this.trS;
    this.minusDi = this.trS === 0 ? 0 : (100 * this.minusS) / this.trS;
    const diSum = this.plusDi + this.minusDi;
    const dx = diSum === 0 ? 0 : (100 * Math.abs(this.plusDi - this.minusDi)) / diSum;
    if (this.dxCount < p) {
      this.dxSum += dx;
      this.dxCount++;
      if (this.dxCount === p) this.value = this.dxSum / p;
    } else {
      this.value = (this.value * (p - 1) + dx) / p;
    }
    return this.value;
  }
}

/** Rolling standard deviation of simple returns over `period` bars. */
export class ReturnVolatility {
  private readonly ring: Ring;
  private prev = Number.NaN;
  value = Number.NaN;
  constructor(period = 24) {
    this.ring = new Ring(period);
  }
  update(close: number): number {
    if (!Number.isNaN(this.prev)) {
      this.ring.push(close / this.prev - 1);
      if (this.ring.full) this.value = this.ring.std();
    }
    this.prev = close;
    return this.value;
  }
}
