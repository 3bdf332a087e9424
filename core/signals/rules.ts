import type { GateStage } from '../schema/decision.ts';
import type { IndicatorSet } from './indicator-set.ts';

export type SignalAction = 'buy' | 'short';
export type Signal = {
  action: SignalAction;
  confidence: number;
  source: string;
  stopPct: number;
  takeProfitPct: number;
  /** A model's expected move in the signal's direction (fraction); the turnover EV model prefers it to the target. */
  expectedReturn?: number;
};
export type SignalVerdict = { gate: GateStage; signal: Signal | null };

const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The technical score a side needs (and must beat the other side by). */
export const TECHNICAL_THRESHOLDS = { min_score: 1.5 } as const;
/** Mean-reversion scalping: ranging markets only, entries at the Bollinger-band edges with RSI agreeing. */
export const SCALPING_THRESHOLDS = {
  adx_max: 25,
  bb_long_below: 0.25,
  bb_short_above: 0.75,
  rsi_long_below: 40,
  rsi_short_above: 60,
} as const;
const T = TECHNICAL_THRESHOLDS;
const S = SCALPING_THRESHOLDS;

/** TA scoring (EMA/MACD crosses, RSI, Bollinger, momentum, trend alignment): original §4.4. */
export function technicalSignal(ind: IndicatorSet): SignalVerdict {
  let buy = 0;
  let sell = 0;
  const e12 = ind.ema12.value;
  const e26 = ind.ema26.value;
  if (ind.prevEma12 <= ind.prevEma26 && e12 > e26) buy += 2;
  else if (ind.prevEma12 >= ind.prevEma26 && e12 < e26) sell += 2;
  else if (e12 > e26) buy += 0.5;
  else sell += 0.5;
  const { macd, signal, histogram } = ind.macd;
  if (ind.prevMacd <= ind.prevSignal && macd > signal) buy += 2;
  else if (ind.prevMacd >= ind.prevSignal && macd < signal) sell += 2;
  if (histogram > 0 && histogram > ind.prevHistogram) buy += 1;
  else if (histogram < 0 && histogram < ind.prevHistogram) sell += 1;
  const rsi = ind.rsi.value;
  if (rsi < 30) buy += 1.5;
  else if (rsi > 70) sell += 1.5;
  else if (rsi < 45) buy += 0.5;
  else if (rsi > 55) sell += 0.5;
  const close = ind.close;
  if (close <= ind.bb.lower) buy += 1.5;
  else if (close >= ind.bb.upper) sell += 1.5;
  else if (close > ind.bb.middle) buy += 0.3;
  else sell += 0.3;
  const mom = ind.momentum10;
  if (mom > 0.02) buy += 1;
  else if (mom < -0.02) sell += 1;
  const e50 = ind.ema50.value;
  if (e12 > e26 && close > e50) {
    buy += 3;
    sell = 0;
  } else if (e12 < e26 && close < e50) {
    sell += 3;
    buy = 0;
  }
  const observed = { buy_score: r4(buy), sell_score: r4(sell), rsi: r4(rsi), trend: ind.trend };
  const thresholds = { ...TECHNICAL_THRESHOLDS };
  const action: SignalAction | null =
    buy >= T.min_score && buy > sell ? 'buy' : sell >= T.min_score && sell > buy ? 'short' : null;
  if (!action) {
    return {
      gate: {
        stage: 'technical',
        verdict: 'block',
        reason: 'technical_no_clear_signal',
        observed,
        thresholds,
      },
      signal: null,
    };
  }
  const score = action === 'buy' ? buy : sell;
  const confidence = Math.min(0.5 + score / 10, 0.85);
  return {
    gate: { stage: 'technical', verdict: 'pass', reason: `technical_${action}`, observed, thresholds },
    signal: { action, confidence, source: 'technical', stopPct: 0.015, takeProfitPct: 0.03 },
  };
}

/** Mean reversion for sideways markets, behind an ADX trend filter: original §4.4. */
export function scalpingSignal(ind: IndicatorSet): SignalVerdict {
  const adx = ind.adx.value;
  const width = ind.bb.upper - ind.bb.lower;
  const bbPos = width > 0 ? (ind.close - ind.bb.lower) / width : 0.5;
  const rsi = ind.rsi.value;
  const observed = { adx: r4(adx), bb_position: r4(bbPos), rsi: r4(rsi) };
  const thresholds = { ...SCALPING_THRESHOLDS };
  if (adx >= S.adx_max) {
    return {
      gate: {
        stage: 'scalping',
        verdict: 'block',
        reason: 'scalping_trend_too_strong',
        observed,
        thresholds,
      },
      signal: null,
    };
  }
  let action: SignalAction | null = null;
  let confidence = 0;
  if (bbPos < S.bb_long_below && rsi < S.rsi_long_below) {
    action = 'buy';
    confidence = 0.65 + (S.bb_long_below - bbPos) * 0.4 + (S.rsi_long_below - rsi) / 100;
  } else if (bbPos > S.bb_short_above && rsi > S.rsi_short_above) {
    action = 'short';
    confidence = 0.65 + (bbPos - S.bb_short_above) * 0.4 + (rsi - S.rsi_short_above) / 100;
  }
  if (!action) {
    return {
      gate: { stage: 'scalping', verdict: 'block', reason: 'scalping_no_setup', observed, thresholds },
      signal: null,
    };
  }
  return {
    gate: { stage: 'scalping', verdict: 'pass', reason: `scalping_${action}`, observed, thresholds },
    signal: {
      action,
      confidence: Math.min(confidence, 0.9),
      source: 'scalping',
      stopPct: 0.003,
      takeProfitPct: 0.005,
    },
  };
}
