/**
 * Straightforward full-history implementations of the TA-Lib formulas (default compatibility,
 * no unstable period), written independently of core/features to check it against. Arrays in,
 * arrays out, NaN where TA-Lib outputs nothing. Degenerate windows follow the product's stated
 * convention: an exact-zero denominator, and 50 for a flat RSI or stochastic window.
 */

const nan = (n: number) => new Array<number>(n).fill(Number.NaN);

/** EMA whose seed is the SMA of x[start … start+period−1]. */
export function ema(x: number[], period: number, start = 0): number[] {
  const out = nan(x.length);
  const k = 2 / (period + 1);
  const seedEnd = start + period - 1;
  if (seedEnd >= x.length) return out;
  let sum = 0;
  for (let i = start; i <= seedEnd; i++) sum += x[i]!;
  let prev = sum / period;
  out[seedEnd] = prev;
  for (let i = seedEnd + 1; i < x.length; i++) {
    prev = (x[i]! - prev) * k + prev;
    out[i] = prev;
  }
  return out;
}

export function rsi(x: number[], period: number): number[] {
  const out = nan(x.length);
  if (x.length <= period) return out;
  let gain = 0;
  let loss = 0;
  for (let i = 1; i <= period; i++) {
    const d = x[i]! - x[i - 1]!;
    if (d < 0) loss -= d;
    else gain += d;
  }
  gain /= period;
  loss /= period;
  const value = () => (gain + loss === 0 ? 50 : (100 * gain) / (gain + loss));
  out[period] = value();
  for (let i = period + 1; i < x.length; i++) {
    const d = x[i]! - x[i - 1]!;
    gain = (gain * (period - 1) + Math.max(d, 0)) / period;
    loss = (loss * (period - 1) + (d < 0 ? -d : 0)) / period;
    out[i] = value();
  }
  return out;
}

/** TA-Lib MACD: fast and slow EMAs both start on index slow−1, the signal EMA runs on the MACD line. */
export function macd(x: number[], fast: number, slow: number, signal: number) {
  const first = slow - 1;
  const f = ema(x, fast, first - fast + 1);
  const s = ema(x, slow, 0);
  const line = x.map((_, i) => (i >= first ? f[i]! - s[i]! : Number.NaN));
  const sig = nan(x.length);
  const tail = ema(line.slice(first), signal, 0);
  tail.forEach((v, j) => {
    sig[first + j] = v;
  });
  const lineOut = line.map((v, i) => (Number.isNaN(sig[i]!) ? Number.NaN : v));
  return { macd: lineOut, signal: sig, hist: lineOut.map((v, i) => v - sig[i]!) };
}

export function bbands(x: number[], period: number, k: number) {
  const middle = nan(x.length);
  const upper = nan(x.length);
  const lower = nan(x.length);
  for (let i = period - 1; i < x.length; i++) {
    const w = x.slice(i - period + 1, i + 1);
    const m = w.reduce((a, b) => a + b, 0) / period;
    const sd = Math.sqrt(w.reduce((a, b) => a + (b - m) ** 2, 0) / period);
    middle[i] = m;
    upper[i] = m + k * sd;
    lower[i] = m - k * sd;
  }
  return { middle, upper, lower };
}

const trueRange = (h: number[], l: number[], c: number[], i: number) =>
  Math.max(h[i]! - l[i]!, Math.abs(h[i]! - c[i - 1]!), Math.abs(l[i]! - c[i - 1]!));

export function atr(h: number[], l: number[], c: number[], period: number): number[] {
  const out = nan(c.length);
  if (c.length <= period) return out;
  let sum = 0;
  for (let i = 1; i <= period; i++) sum += trueRange(h, l, c, i);
  let prev = sum / period;
  out[period] = prev;
  for (let i = period + 1; i < c.length; i++) {
    prev = (prev * (period - 1) + trueRange(h, l, c, i)) / period;
    out[i] = prev;
  }
  return out;
}

/** TA-Lib ADX / PLUS_DI / MINUS_DI, transcribed loop for loop. */
export function adx(h: number[], l: number[], c: number[], period: number) {
  const n = c.length;
  const out = { adx: nan(n), plusDi: nan(n), minusDi: nan(n) };
  let plusDm = 0;
  let minusDm = 0;
  let tr = 0;
  const moves = (i: number) => {
    const diffP = h[i]! - h[i - 1]!;
    const diffM = l[i - 1]! - l[i]!;
    if (diffM > 0 && diffP < diffM) return [0, diffM];
    if (diffP > 0 && diffP > diffM) return [diffP, 0];
    return [0, 0];
  };
  let i = 1;
  for (; i < period && i < n; i++) {
    const [p, m] = moves(i);
    plusDm += p!;
    minusDm += m!;
    tr += trueRange(h, l, c, i);
  }
  let sumDx = 0;
  let dxSeen = 0;
  let adxValue = Number.NaN;
  for (; i < n; i++) {
    const [p, m] = moves(i);
    plusDm = plusDm - plusDm / period + p!;
    minusDm = minusDm - minusDm / period + m!;
    tr = tr - tr / period + trueRange(h, l, c, i);
    let dx = Number.NaN;
    if (tr !== 0) {
      const pdi = (100 * plusDm) / tr;
      const mdi = (100 * minusDm) / tr;
      out.plusDi[i] = pdi;
      out.minusDi[i] = mdi;
      if (pdi + mdi !== 0) dx = (100 * Math.abs(mdi - pdi)) / (pdi + mdi);
    } else {
      out.plusDi[i] = 0;
      out.minusDi[i] = 0;
    }
    if (dxSeen < period) {
      if (!Number.isNaN(dx)) sumDx += dx;
      dxSeen++;
      if (dxSeen === period) adxValue = sumDx / period;
    } else if (!Number.isNaN(dx)) {
      adxValue = (adxValue * (period - 1) + dx) / period;
    }
    out.adx[i] = adxValue;
  }
  return out;
}

/** TA-Lib STOCH with SMA slowing for %K and %D (%K is also given on the two bars before %D exists). */
export function stoch(
  h: number[],
  l: number[],
  c: number[],
  kPeriod: number,
  kSlow: number,
  dPeriod: number,
) {
  const n = c.length;
  const fastK = nan(n);
  for (let i = kPeriod - 1; i < n; i++) {
    const hh = Math.max(...h.slice(i - kPeriod + 1, i + 1));
    const ll = Math.min(...l.slice(i - kPeriod + 1, i + 1));
    fastK[i] = hh === ll ? 50 : (100 * (c[i]! - ll)) / (hh - ll);
  }
  const sma = (x: number[], p: number) =>
    x.map((_, i) => {
      const w = x.slice(Math.max(0, i - p + 1), i + 1);
      return w.length === p && w.every((v) => !Number.isNaN(v))
        ? w.reduce((a, b) => a + b, 0) / p
        : Number.NaN;
    });
  const k = sma(fastK, kSlow);
  const d = sma(k, dPeriod);
  return { k, d };
}

/** Population moments of a window. */
export function moments(w: number[]) {
  const n = w.length;
  const m = w.reduce((a, b) => a + b, 0) / n;
  const m2 = w.reduce((a, b) => a + (b - m) ** 2, 0) / n;
  const m3 = w.reduce((a, b) => a + (b - m) ** 3, 0) / n;
  const m4 = w.reduce((a, b) => a + (b - m) ** 4, 0) / n;
  return {
    mean: m,
    std: Math.sqrt(m2),
    skew: m2 > 0 ? m3 / m2 ** 1.5 : 0,
    kurt: m2 > 0 ? m4 / m2 ** 2 - 3 : 0,
  };
}
