import type { IndicatorSet } from './indicator-set.ts';
import type { SignalAction } from './rules.ts';

export const REGIMES = [
  'strong_bull',
  'bull',
  'sideways',
  'bear',
  'strong_bear',
  'crash',
  'volatile',
  'unknown',
] as const;
export type Regime = (typeof REGIMES)[number];

/**
 * Market regime from the gate indicators: a 10-bar fall beyond 8% is a crash; 24-bar return
 * volatility ≥ 5% is volatile; ADX < 20 is sideways; ADX ≥ 25 with EMA12/EMA26 and the close vs
 * EMA50 agreeing is bull or bear (strong from ADX 40); anything else is unknown.
 */
export function classifyRegime(ind: IndicatorSet): Regime {
  if (ind.momentum10 < -0.08) return 'crash';
  if (ind.vol24.value >= 0.05) return 'volatile';
  const adx = ind.adx.value;
  if (adx < 20) return 'sideways';
  const up = ind.ema12.value > ind.ema26.value && ind.close > ind.ema50.value;
  const down = ind.ema12.value < ind.ema26.value && ind.close < ind.ema50.value;
  if (adx >= 25 && up) return adx >= 40 ? 'strong_bull' : 'bull';
  if (adx >= 25 && down) return adx >= 40 ? 'strong_bear' : 'bear';
  return 'unknown';
}

/** Threshold adjustments [long, short] per regime (original §4.4): easier with the trend, harder against it. */
const ADJUSTMENT: Record<Regime, [number, number]> = {
  strong_bull: [-0.08, 0.05],
  bull: [-0.05, 0.02],
  sideways: [0, 0],
  bear: [0.02, -0.05],
  strong_bear: [0.05, -0.08],
  crash: [0.1, -0.1],
  volatile: [0.05, 0.05],
  unknown: [0.02, 0.02],
};

export const THRESHOLD_FLOOR = 0.35;
export const THRESHOLD_CEILING = 0.7;

/** The regime-adaptive confidence threshold for a signal, clamped to [0.35, 0.70]. */
export function adaptiveThreshold(base: number, regime: Regime, action: SignalAction): number {
  const t = base + ADJUSTMENT[regime][action === 'buy' ? 0 : 1];
  return Math.min(THRESHOLD_CEILING, Math.max(THRESHOLD_FLOOR, t));
}
