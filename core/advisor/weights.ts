export const WEIGHT_MIN = 0.05;
export const WEIGHT_MAX = 0.5;
/** Largest change of any weight within one UTC day (absolute, in weight units: 0.10 = 10 points). */
export const DAILY_SHIFT_MAX = 0.1;

/** How precisely weights are logged (4 decimals): a shift read from the log may be off by this much. */
export const WEIGHT_LOG_PRECISION = 1e-4;

export type WeightShift = { agent: string | null; shift: number };

/**
 * The daily clamp's one definition, used by the advisor and by `health-daily`: how far weights
 * are from the day's reference (the weights when the advisor's UTC day began), as the largest
 * absolute change of any one weight, and whose. Keys are agent names (logged weights) or indices.
 */
export function dailyShift(
  reference: ArrayLike<number> | Record<string, number>,
  weights: ArrayLike<number> | Record<string, number>,
): WeightShift {
  const ref = reference as Record<string, number>;
  const now = weights as Record<string, number>;
  let out: WeightShift = { agent: null, shift: 0 };
  for (const key of Object.keys(now)) {
    const shift = Math.abs(now[key]! - (ref[key] ?? now[key]!));
    if (shift > out.shift) out = { agent: key, shift };
  }
  return out;
}

/** Whether a shift breaks the clamp; `precision` allows for weights read back rounded. */
export const breaksDailyClamp = (s: WeightShift, precision = 0) =>
  s.shift > DAILY_SHIFT_MAX + precision + 1e-9;

/**
 * Strategy weights that follow a target (from realised performance) but move at most
 * DAILY_SHIFT_MAX per UTC day from where the day started, each within [5%, 50%], summing to 1.
 */
export class ClampedWeights {
  readonly weights: Float64Array;
  readonly dayStart: Float64Array;
  day = -1;

  constructor(n: number) {
    this.weights = new Float64Array(n).fill(1 / n);
    this.dayStart = this.weights.slice();
  }

  /** Move toward `target` as far as today's clamp allows; `dayIndex` is the UTC day of the bar. */
  moveToward(target: Float64Array, dayIndex: number): void {
    if (dayIndex !== this.day) {
      this.day = dayIndex;
      this.dayStart.set(this.weights);
    }
    const n = this.weights.length;
    const lo = (i: number) => Math.max(WEIGHT_MIN, this.dayStart[i]! - DAILY_SHIFT_MAX);
    const hi = (i: number) => Math.min(WEIGHT_MAX, this.dayStart[i]! + DAILY_SHIFT_MAX);
    const total = (shift: number) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += Math.min(hi(i), Math.max(lo(i), target[i]! + shift));
      return s;
    };
    // Project onto {Σw = 1, lo ≤ w ≤ hi}: find the shift that makes the clipped target sum to 1.
    let a = -1;
    let b = 1;
    for (let k = 0; k < 50; k++) {
      const mid = (a + b) / 2;
      if (total(mid) < 1) a = mid;
      else b = mid;
    }
    const shift = (a + b) / 2;
    for (let i = 0; i < n; i++) this.weights[i] = Math.min(hi(i), Math.max(lo(i), target[i]! + shift));
  }
}
