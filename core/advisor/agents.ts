import { featureIndex } from '../features/feature-set.ts';

export const AGENTS = [
  'trend_follower',
  'mean_reversion',
  'momentum_trader',
  'short_specialist',
  'scalper',
] as const;
export type AgentName = (typeof AGENTS)[number];

const F = {
  adx: featureIndex('adx'),
  diDiff: featureIndex('di_diff'),
  macd: featureIndex('macd_norm'),
  ema20: featureIndex('ema_20_dist'),
  bb: featureIndex('bb_position'),
  rsi: featureIndex('rsi_norm'),
  ret10: featureIndex('ret_10'),
  vol20: featureIndex('vol_20'),
  vol5: featureIndex('vol_5'),
  macdHist: featureIndex('macd_hist_norm'),
  z20: featureIndex('ret_zscore_20'),
};

const clamp1 = (x: number) => (x > 1 ? 1 : Math.max(x, -1));

/**
 * Each agent's stance on a feature row, written into `out` (one per agent): +1 fully long …
 * −1 fully short, 0 no trade.
 * - trend_follower: with ADX > 20, the MACD's side when price is on the same side of EMA20.
 * - mean_reversion: with ADX < 25, fade the Bollinger band edges.
 * - momentum_trader: the 10-bar return in volatility units, beyond one unit.
 * - short_specialist: only shorts — overbought RSI with a falling MACD histogram, or a strong downtrend.
 * - scalper: fade a one-bar return beyond two standard deviations.
 */
export function agentStances(r: Float64Array, o: number, out: Float64Array, at = 0): void {
  const adx = r[o + F.adx]!;
  const macd = r[o + F.macd]!;
  const sameSide = macd * r[o + F.ema20]! > 0;
  out[at] = adx > 0.2 && sameSide ? Math.sign(macd) * Math.min(1, 0.3 + (adx - 0.2) * 3.5) : 0;
  const bb = r[o + F.bb]!;
  out[at + 1] =
    adx < 0.25
      ? bb < 0.15
        ? Math.min(1, (0.15 - bb) * 5 + 0.3)
        : bb > 0.85
          ? -Math.min(1, (bb - 0.85) * 5 + 0.3)
          : 0
      : 0;
  const vol = r[o + F.vol20]!;
  const m = vol > 0 ? r[o + F.ret10]! / (vol * Math.sqrt(10)) : 0;
  out[at + 2] = Math.abs(m) > 1 ? clamp1(m / 3) : 0;
  const overbought = r[o + F.rsi]! > 0.4 && r[o + F.macdHist]! < 0;
  const downtrend = adx > 0.25 && r[o + F.diDiff]! < -0.1;
  out[at + 3] =
    overbought || downtrend
      ? -Math.min(1, 0.4 + Math.max(0, r[o + F.rsi]! - 0.4) + Math.max(0, -r[o + F.diDiff]!))
      : 0;
  const z = r[o + F.z20]!;
  out[at + 4] = Math.abs(z) > 2 ? -clamp1(z / 4) : 0;
}

/** The bandit's context: bias, trend direction, trend strength, volatility regime, RSI. */
export const CONTEXT_SIZE = 5;
export function contextOf(r: Float64Array, o: number, out: Float64Array, at = 0): void {
  const vol20 = r[o + F.vol20]!;
  out[at] = 1;
  out[at + 1] = clamp1(r[o + F.diDiff]! * 3);
  out[at + 2] = clamp1((r[o + F.adx]! - 0.25) * 4);
  out[at + 3] = vol20 > 0 ? clamp1(r[o + F.vol5]! / vol20 - 1) : 0;
  out[at + 4] = clamp1(r[o + F.rsi]!);
}
