import { RollingSum } from '../features/rolling.ts';

/** Higher-timeframe trend codes: +2 strong up … −2 strong down; NOT_READY before SMA200 exists. */
export const HTF_NOT_READY = -128;
export const HTF_LABELS: Record<number, string> = {
  2: 'strong_up',
  1: 'up',
  0: 'neutral',
  [-1]: 'down',
  [-2]: 'strong_down',
};

/**
 * The higher-timeframe trend (original §4.4 MTF filter): base candles aggregated into candles
 * `factor` times longer, aligned to multiples of that period; on each completed one, five votes —
 * close vs SMA20/50/200, SMA20 > SMA50, SMA50 > SMA200. Five bullish → strong up, four → up, the
 * same for bearish, else neutral. Only completed higher-timeframe candles count (no look-ahead).
 */
export class HtfTrend {
  private readonly periodMs: number;
  private readonly sma20 = new RollingSum(20);
  private readonly sma50 = new RollingSum(50);
  private readonly sma200 = new RollingSum(200);
  /** Completed higher-timeframe candles. */
  closes = 0;
  code = HTF_NOT_READY;

  constructor(baseTimeframeMs: number, factor = 4) {
    this.periodMs = baseTimeframeMs * factor;
  }

  /** Feed one base candle; the trend updates when it completes a higher-timeframe candle. */
  update(openTs: number, timeframeMs: number, close: number): void {
    if ((openTs + timeframeMs) % this.periodMs !== 0) return;
    this.closes++;
    this.sma20.push(close);
    this.sma50.push(close);
    this.sma200.push(close);
    if (!this.sma200.full) return;
    const s20 = this.sma20.mean;
    const s50 = this.sma50.mean;
    const s200 = this.sma200.mean;
    const bull = +(close > s20) + +(close > s50) + +(close > s200) + +(s20 > s50) + +(s50 > s200);
    const bear = +(close < s20) + +(close < s50) + +(close < s200) + +(s20 < s50) + +(s50 < s200);
    this.code = bull >= 5 ? 2 : bull >= 4 ? 1 : bear >= 5 ? -2 : bear >= 4 ? -1 : 0;
  }
}
