import { Adx, Atr, Bollinger, Ema, Macd, ReturnVolatility, Ring, Rsi } from '../features/indicators.ts';

/** The indicators the rule-based gates read, updated once per closed bar. */
export class IndicatorSet {
  readonly ema12 = new Ema(12);
  readonly ema26 = new Ema(26);
  readonly ema50 = new Ema(50);
  readonly macd = new Macd(12, 26, 9);
  readonly rsi = new Rsi(14);
  readonly bb = new Bollinger(20, 2);
  readonly atr = new Atr(14);
  readonly adx = new Adx(14);
  readonly vol24 = new ReturnVolatility(24);
  private readonly closes = new Ring(11);
  bars = 0;
  close = Number.NaN;
  prevEma12 = Number.NaN;
  prevEma26 = Number.NaN;
  prevMacd = Number.NaN;
  prevSignal = Number.NaN;
  prevHistogram = Number.NaN;

  update(high: number, low: number, close: number): void {
    this.prevEma12 = this.ema12.value;
    this.prevEma26 = this.ema26.value;
    this.prevMacd = this.macd.macd;
    this.prevSignal = this.macd.signal;
    this.prevHistogram = this.macd.histogram;
    this.ema12.update(close);
    this.ema26.update(close);
    this.ema50.update(close);
    this.macd.update(close);
    this.rsi.update(close);
    this.bb.update(close);
    this.atr.update(high, low, close);
    this.adx.update(high, low, close);
    this.vol24.update(close);
    this.closes.push(close);
    this.close = close;
    this.bars++;
  }

  /** 10-bar momentum as a fraction (NaN until 11 closes). */
  get momentum10(): number {
    return this.closes.full ? this.close / this.closes.at(0) - 1 : Number.NaN;
  }

  /** (EMA12 − EMA26) / close: > 0.001 up, < −0.001 down. */
  get trend(): 'up' | 'down' | 'neutral' {
    const t = (this.ema12.value - this.ema26.value) / this.close;
    return t > 0.001 ? 'up' : t < -0.001 ? 'down' : 'neutral';
  }

  get volatilityLabel(): 'low' | 'normal' | 'high' {
    const v = this.vol24.value;
    return v >= 0.05 ? 'high' : v >= 0.02 ? 'normal' : 'low';
  }

  /** The slowest of the gate indicators (ADX 2×14, EMA50) is warm. */
  get warm(): boolean {
    return (
      !Number.isNaN(this.adx.value) && !Number.isNaN(this.ema50.value) && !Number.isNaN(this.macd.histogram)
    );
  }
}
