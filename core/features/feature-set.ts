import { Adx, Atr, Bollinger, Ema, Macd, Rsi, Stochastic } from './indicators.ts';
import { Ring, RollingMoments, RollingSum } from './rolling.ts';

/**
 * The model feature set (original §5.4 families): named, versioned, dimensionless, computed per
 * closed bar in O(1) from that bar and earlier ones only. Training (batch) and inference
 * (streaming) both run this class, so a model never sees a feature computed another way.
 * Changing any definition or the order means a new FEATURE_SET_ID.
 */
export const FEATURE_SET_ID = 'atl-fs-1';

// biome-ignore format: one line per feature family
export const FEATURE_NAMES = [
  'ret_1', 'ret_3', 'ret_5', 'ret_10', 'ret_20',
  'log_ret_1', 'log_ret_3', 'log_ret_5', 'log_ret_10', 'log_ret_20',
  'price_position', 'gap', 'intraday_range', 'body', 'upper_shadow', 'lower_shadow',
  'ema_5_dist', 'ema_10_dist', 'ema_20_dist', 'ema_50_dist', 'ema_100_dist', 'ema_50_100_cross', 'macd_cross_signal',
  'rsi_norm', 'stoch_k', 'stoch_d', 'stoch_cross',
  'macd_norm', 'macd_signal_norm', 'macd_hist_norm',
  'adx', 'plus_di', 'minus_di', 'di_diff',
  'bb_width', 'bb_position', 'atr_norm',
  'vol_5', 'vol_10', 'vol_20',
  'volume_change', 'volume_ratio_5', 'volume_ratio_10', 'volume_ratio_20', 'obv_slope_20', 'vwap_dist_20',
  'ret_mean_20', 'ret_zscore_20', 'ret_skew_20', 'ret_kurt_20', 'ret_zscore_50', 'close_zscore_20',
  'hour_sin', 'hour_cos', 'dow_sin', 'dow_cos', 'is_weekend', 'is_asian_session', 'is_european_session', 'is_us_session',
  'ret_1_lag1', 'ret_1_lag2', 'rsi_norm_lag1', 'bb_position_lag1', 'volume_change_lag1',
] as const;

export type FeatureName = (typeof FEATURE_NAMES)[number];
export const FEATURE_COUNT = FEATURE_NAMES.length;
const I = Object.fromEntries(FEATURE_NAMES.map((n, i) => [n, i])) as Record<FeatureName, number>;

const FLAT_RETURN_STD = 1e-9;
const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const HOUR_SIN = Float64Array.from({ length: 24 }, (_, h) => Math.sin((2 * Math.PI * h) / 24));
const HOUR_COS = Float64Array.from({ length: 24 }, (_, h) => Math.cos((2 * Math.PI * h) / 24));
const DOW_SIN = Float64Array.from({ length: 7 }, (_, d) => Math.sin((2 * Math.PI * d) / 7));
const DOW_COS = Float64Array.from({ length: 7 }, (_, d) => Math.cos((2 * Math.PI * d) / 7));

/** `num / den`, or `fallback` when the denominator is exactly zero. */
const ratio = (num: number, den: number, fallback = 0) => (den === 0 ? fallback : num / den);

/** Streaming feature computation for one symbol; `row` holds the latest bar's features. */
export class FeatureEngine {
  readonly row = new Float64Array(FEATURE_COUNT).fill(Number.NaN);
  /** Bars seen. */
  bars = 0;
  /** Open time (epoch ms) of the last bar seen; bars at or before it are ignored. */
  lastOpenTs = Number.NEGATIVE_INFINITY;
  /** Every feature of `row` is finite. */
  ready = false;

  private readonly closes = new Ring(21);
  private readonly emas = [5, 10, 20, 50, 100].map((p) => new Ema(p));
  private readonly rsi = new Rsi(14);
  private readonly stoch = new Stochastic(14, 3, 3);
  private readonly macd = new Macd(12, 26, 9);
  private readonly adx = new Adx(14);
  private readonly bb = new Bollinger(20, 2);
  private readonly atr = new Atr(14);
  private readonly vol5 = new RollingMoments(5);
  private readonly vol10 = new RollingMoments(10);
  private readonly ret20 = new RollingMoments(20, 4);
  private readonly ret50 = new RollingMoments(50);
  private readonly volume5 = new RollingSum(5);
  private readonly volume10 = new RollingSum(10);
  private readonly volume20 = new RollingSum(20);
  private readonly priceVolume20 = new RollingSum(20);
  private readonly typical20 = new RollingSum(20);
  private readonly signedVolume20 = new RollingSum(20);
  private prevVolume = Number.NaN;
  private prevCrossSign = 0;

  /** Feed one closed bar; returns whether the row is ready. Bars not newer than the last are ignored. */
  update(openTs: number, open: number, high: number, low: number, close: number, volume: number): boolean {
    if (openTs <= this.lastOpenTs) return this.ready;
    this.lastOpenTs = openTs;
    this.bars++;
    const r = this.row;
    const prevClose = this.closes.ago(0);
    // Lags shift before this bar overwrites them.
    r[I.ret_1_lag2] = r[I.ret_1_lag1]!;
    r[I.ret_1_lag1] = r[I.ret_1]!;
    r[I.rsi_norm_lag1] = r[I.rsi_norm]!;
    r[I.bb_position_lag1] = r[I.bb_position]!;
    r[I.volume_change_lag1] = r[I.volume_change]!;
    this.closes.push(close);

    const ret1 = close / prevClose - 1;
    for (let k = 0; k < RETURN_LOOKBACKS.length; k++) {
      const growth = close / this.closes.ago(RETURN_LOOKBACKS[k]!);
      r[RETURN_INDEX[k]!] = growth - 1;
      r[LOG_RETURN_INDEX[k]!] = Math.log(growth);
    }
    const span = high - low;
    r[I.price_position] = ratio(close - low, span, 0.5);
    r[I.gap] = open / prevClose - 1;
    r[I.intraday_range] = span / close;
    r[I.body] = (close - open) / close;
    r[I.upper_shadow] = (high - Math.max(open, close)) / close;
    r[I.lower_shadow] = (Math.min(open, close) - low) / close;

    for (let k = 0; k < EMA_DIST.length; k++) r[EMA_DIST[k]!] = close / this.emas[k]!.update(close) - 1;
    r[I.ema_50_100_cross] = (this.emas[3]!.value - this.emas[4]!.value) / close;

    r[I.rsi_norm] = (this.rsi.update(close) - 50) / 50;
    this.stoch.update(high, low, close);
    r[I.stoch_k] = this.stoch.k / 100;
    r[I.stoch_d] = this.stoch.d / 100;
    r[I.stoch_cross] = (this.stoch.k - this.stoch.d) / 100;
    this.macd.update(close);
    // +1 / −1 on the bar where the MACD line (EMA12 − EMA26) changes sign, else 0.
    const cross = this.macd.macd;
    const crossSign = cross > 0 ? 1 : cross < 0 ? -1 : 0;
    r[I.macd_cross_signal] = Number.isNaN(cross)
      ? Number.NaN
      : this.prevCrossSign !== 0 && crossSign !== this.prevCrossSign
        ? crossSign
        : 0;
    if (!Number.isNaN(cross)) this.prevCrossSign = crossSign;
    r[I.macd_norm] = this.macd.macd / close;
    r[I.macd_signal_norm] = this.macd.signal / close;
    r[I.macd_hist_norm] = this.macd.histogram / close;
    this.adx.update(high, low, close);
    r[I.adx] = this.adx.value / 100;
    r[I.plus_di] = this.adx.plusDi / 100;
    r[I.minus_di] = this.adx.minusDi / 100;
    r[I.di_diff] = (this.adx.plusDi - this.adx.minusDi) / 100;
    this.bb.update(close);
    r[I.bb_width] = (this.bb.upper - this.bb.lower) / this.bb.middle;
    r[I.bb_position] = ratio(close - this.bb.lower, this.bb.upper - this.bb.lower, 0.5);
    r[I.close_zscore_20] = ratio(close - this.bb.middle, this.bb.std);
    r[I.atr_norm] = this.atr.update(high, low, close) / close;

    if (!Number.isNaN(ret1)) {
      this.vol5.push(ret1);
      this.vol10.push(ret1);
      this.ret20.push(ret1);
      this.ret50.push(ret1);
    }
    r[I.vol_5] = this.vol5.std;
    r[I.vol_10] = this.vol10.std;
    const std20 = this.ret20.std;
    const std50 = this.ret50.std;
    r[I.vol_20] = std20;
    r[I.ret_mean_20] = this.ret20.mean;
    // Returns spread below FLAT_RETURN_STD are float noise of a flat price: their shape is undefined, read as 0.
    const flat20 = std20 < FLAT_RETURN_STD;
    r[I.ret_zscore_20] = flat20 ? 0 : (ret1 - this.ret20.mean) / std20;
    r[I.ret_skew_20] = flat20 ? 0 : this.ret20.skew;
    r[I.ret_kurt_20] = flat20 ? 0 : this.ret20.kurtosis;
    r[I.ret_zscore_50] = std50 < FLAT_RETURN_STD ? 0 : (ret1 - this.ret50.mean) / std50;

    this.updateVolume(high, low, close, volume, prevClose);
    this.updateCalendar(openTs);
    this.ready = allFinite(r);
    return this.ready;
  }

  private updateVolume(high: number, low: number, close: number, volume: number, prevClose: number): void {
    const r = this.row;
    const pv = this.prevVolume;
    r[I.volume_change] = Number.isNaN(pv) ? Number.NaN : ratio(volume - pv, volume + pv);
    this.prevVolume = volume;
    this.volume5.push(volume);
    this.volume10.push(volume);
    this.volume20.push(volume);
    r[I.volume_ratio_5] = this.volume5.full ? ratio(volume, this.volume5.mean, 1) : Number.NaN;
    r[I.volume_ratio_10] = this.volume10.full ? ratio(volume, this.volume10.mean, 1) : Number.NaN;
    r[I.volume_ratio_20] = this.volume20.full ? ratio(volume, this.volume20.mean, 1) : Number.NaN;
    // On-balance volume: its 20-bar change as a share of the volume traded meanwhile, in [−1, 1].
    this.signedVolume20.push(close > prevClose ? volume : close < prevClose ? -volume : 0);
    r[I.obv_slope_20] = this.signedVolume20.full
      ? ratio(this.signedVolume20.total, this.volume20.total)
      : Number.NaN;
    const typical = (high + low + close) / 3;
    this.priceVolume20.push(typical * volume);
    this.typical20.push(typical);
    const vwap =
      this.volume20.total > 0 ? this.priceVolume20.total / this.volume20.total : this.typical20.mean;
    r[I.vwap_dist_20] = this.priceVolume20.full ? close / vwap - 1 : Number.NaN;
  }

  /** Calendar features of the bar's open time, in UTC. */
  private updateCalendar(openTs: number): void {
    const r = this.row;
    const days = Math.floor(openTs / DAY_MS);
    const hour = Math.floor((openTs - days * DAY_MS) / HOUR_MS);
    const dow = (days + 3) % 7; // 1970-01-01 was a Thursday; 0 = Monday
    r[I.hour_sin] = HOUR_SIN[hour]!;
    r[I.hour_cos] = HOUR_COS[hour]!;
    r[I.dow_sin] = DOW_SIN[dow]!;
    r[I.dow_cos] = DOW_COS[dow]!;
    r[I.is_weekend] = dow >= 5 ? 1 : 0;
    r[I.is_asian_session] = hour < 9 ? 1 : 0;
    r[I.is_european_session] = hour >= 7 && hour < 16 ? 1 : 0;
    r[I.is_us_session] = hour >= 13 && hour < 22 ? 1 : 0;
  }
}

const RETURN_LOOKBACKS = [1, 3, 5, 10, 20];
const RETURN_INDEX = RETURN_LOOKBACKS.map((k) => I[`ret_${k}` as FeatureName]);
const LOG_RETURN_INDEX = RETURN_LOOKBACKS.map((k) => I[`log_ret_${k}` as FeatureName]);
const EMA_DIST = [I.ema_5_dist, I.ema_10_dist, I.ema_20_dist, I.ema_50_dist, I.ema_100_dist];

function allFinite(row: Float64Array): boolean {
  for (let i = 0; i < row.length; i++) if (!Number.isFinite(row[i]!)) return false;
  return true;
}

/** Index of a named feature in a row. */
export function featureIndex(name: FeatureName): number {
  return I[name];
}
