import { RollingExtremes, RollingMoments, RollingSum } from './rolling.ts';

/**
 * Incremental indicators: O(1) per bar, NaN until warm, values equal to TA-Lib's (default
 * compatibility, no unstable period) from the first bar TA-Lib outputs. One deliberate
 * difference: where TA-Lib divides by a value it treats as zero (|x| < 1e-8, which real
 * sub-satoshi prices reach) we only treat an exact zero as zero, and a flat RSI or stochastic
 * window reads 50 (neutral) rather than TA-Lib's 0, which would read as maximally oversold.
 */

export { Ring } from './rolling.ts';

/** EMA seeded with the SMA of its first `period` inputs (TA-Lib EMA). */
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
    this.value = (x - this.value) * this.alpha + this.value;
    return this.value;
  }
}

/** Wilder's RSI, seeded with the simple average gain and loss of the first `period` changes. */
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
    const p = this.period;
    if (this.count < p) {
      if (change < 0) this.avgLoss -= change;
      else this.avgGain += change;
      if (++this.count < p) return this.value;
      this.avgGain /= p;
      this.avgLoss /= p;
    } else {
      this.avgLoss *= p - 1;
      this.avgGain *= p - 1;
      if (change < 0) this.avgLoss -= change;
      else this.avgGain += change;
      this.avgLoss /= p;
      this.avgGain /= p;
    }
    const total = this.avgGain + this.avgLoss;
    this.value = total === 0 ? 50 : 100 * (this.avgGain / total);
    return this.value;
  }
}

/**
 * TA-Lib MACD: both EMAs are seeded on the bar where the slow one is first defined, so the fast
 * EMA is the SMA of the `fast` closes ending there rather than a standalone EMA(fast).
 */
export class Macd {
  private readonly fast: Ema;
  private readonly slow: Ema;
  private readonly signalEma: Ema;
  private readonly fastStartsAt: number;
  private bars = 0;
  macd = Number.NaN;
  signal = Number.NaN;
  histogram = Number.NaN;
  constructor(fast = 12, slow = 26, signal = 9) {
    const [f, s] = fast <= slow ? [fast, slow] : [slow, fast];
    this.fast = new Ema(f);
    this.slow = new Ema(s);
    this.signalEma = new Ema(signal);
    this.fastStartsAt = s - f;
  }
  update(close: number): void {
    const f = this.bars++ >= this.fastStartsAt ? this.fast.update(close) : Number.NaN;
    const s = this.slow.update(close);
    if (Number.isNaN(s)) return;
    this.macd = f - s;
    this.signal = this.signalEma.update(this.macd);
    this.histogram = Number.isNaN(this.signal) ? Number.NaN : this.macd - this.signal;
  }
}

/** SMA middle band ± k population standard deviations (TA-Lib BBANDS with MA type SMA). */
export class Bollinger {
  private readonly window: RollingMoments;
  private readonly k: number;
  middle = Number.NaN;
  upper = Number.NaN;
  lower = Number.NaN;
  std = Number.NaN;
  constructor(period = 20, k = 2) {
    this.window = new RollingMoments(period, 2);
    this.k = k;
  }
  update(close: number): void {
    this.window.push(close);
    if (!this.window.full) return;
    this.middle = this.window.mean;
    this.std = this.window.std;
    this.upper = this.middle + this.k * this.std;
    this.lower = this.middle - this.k * this.std;
  }
}

/** Wilder's ATR: the SMA of the first `period` true ranges, then Wilder smoothing. */
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
    const tr = trueRange(high, low, pc);
    if (this.count < this.period) {
      this.sum += tr;
      if (++this.count === this.period) this.value = this.sum / this.period;
      return this.value;
    }
    this.value = (this.value * (this.period - 1) + tr) / this.period;
    return this.value;
  }
}

function trueRange(high: number, low: number, prevClose: number): number {
  const a = high - low;
  const b = Math.abs(high - prevClose);
  const c = Math.abs(low - prevClose);
  return a > b ? Math.max(a, c) : Math.max(b, c);
}

/**
 * TA-Lib ADX with +DI/−DI: the first `period − 1` directional moves and true ranges are summed,
 * every later bar applies Wilder smoothing (x − x/period + new), DI is defined from bar
 * `period` and ADX (the mean of the first `period` DX, then Wilder-smoothed) from `2·period − 1`.
 */
export class Adx {
  readonly period: number;
  private prevHigh = Number.NaN;
  private prevLow = Number.NaN;
  private prevClose = Number.NaN;
  private moves = 0;
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
    const minusDm = down > 0 && up < down ? down : 0;
    const plusDm = up > 0 && up > down ? up : 0;
    const tr = trueRange(high, low, this.prevClose);
    this.prevHigh = high;
    this.prevLow = low;
    this.prevClose = close;
    const p = this.period;
    if (++this.moves < p) {
      this.trS += tr;
      this.plusS += plusDm;
      this.minusS += minusDm;
      return this.value;
    }
    this.minusS = this.minusS - this.minusS / p + minusDm;
    this.plusS = this.plusS - this.plusS / p + plusDm;
    this.trS = this.trS - this.trS / p + tr;
    if (this.trS === 0) {
      this.plusDi = 0;
      this.minusDi = 0;
      if (this.dxCount < p && ++this.dxCount === p) this.value = this.dxSum / p;
      return this.value;
    }
    this.minusDi = 100 * (this.minusS / this.trS);
    this.plusDi = 100 * (this.plusS / this.trS);
    const diSum = this.minusDi + this.plusDi;
    const dx = diSum === 0 ? Number.NaN : 100 * (Math.abs(this.minusDi - this.plusDi) / diSum);
    if (this.dxCount < p) {
      if (!Number.isNaN(dx)) this.dxSum += dx;
      if (++this.dxCount === p) this.value = this.dxSum / p;
    } else if (!Number.isNaN(dx)) {
      this.value = (this.value * (p - 1) + dx) / p;
    }
    return this.value;
  }
}

/** TA-Lib STOCH with SMA slowing: fast %K over `kPeriod`, slow %K = SMA(fast %K), %D = SMA(slow %K). */
export class Stochastic {
  private readonly range: RollingExtremes;
  private readonly slowK: RollingSum;
  private readonly slowD: RollingSum;
  k = Number.NaN;
  d = Number.NaN;
  constructor(kPeriod = 14, kSlowing = 3, dPeriod = 3) {
    this.range = new RollingExtremes(kPeriod);
    this.slowK = new RollingSum(kSlowing);
    this.slowD = new RollingSum(dPeriod);
  }
  update(high: number, low: number, close: number): void {
    this.range.push(high, low);
    if (!this.range.full) return;
    const lo = this.range.lowest;
    const span = this.range.highest - lo;
    this.slowK.push(span === 0 ? 50 : (close - lo) / (span / 100));
    if (!this.slowK.full) return;
    this.k = this.slowK.mean;
    this.slowD.push(this.k);
    if (this.slowD.full) this.d = this.slowD.mean;
  }
}

/** Rolling population standard deviation of simple close-to-close returns over `period` bars. */
export class ReturnVolatility {
  private readonly window: RollingMoments;
  private prev = Number.NaN;
  value = Number.NaN;
  constructor(period = 24) {
    this.window = new RollingMoments(period, 2);
  }
  update(close: number): number {
    if (!Number.isNaN(this.prev)) {
      this.window.push(close / this.prev - 1);
      if (this.window.full) this.value = this.window.std;
    }
    this.prev = close;
    return this.value;
  }
}
