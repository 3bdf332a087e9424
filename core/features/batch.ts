import type { CandleSeries } from '../market/candles.ts';
import { FEATURE_COUNT, FeatureEngine } from './feature-set.ts';

/** Candles in typed arrays (timestamps are open times, epoch ms). */
export type CandleColumns = Pick<
  CandleSeries,
  'ts' | 'open' | 'high' | 'low' | 'close' | 'volume' | 'length'
>;

export type FeatureMatrix = {
  /** Row-major, `rows × FEATURE_COUNT`; row i holds the features of candle i. */
  values: Float64Array;
  /** 1 where row i is complete (every feature finite). */
  ready: Uint8Array;
  rows: number;
};

/**
 * Features of a whole series for training: the streaming engine run over every candle, so the
 * batch and live paths share one definition and row i depends on candles 0…i only.
 */
export function computeFeatureMatrix(candles: CandleColumns): FeatureMatrix {
  const rows = candles.length;
  const values = new Float64Array(rows * FEATURE_COUNT);
  const ready = new Uint8Array(rows);
  const engine = new FeatureEngine();
  for (let i = 0; i < rows; i++) {
    ready[i] = engine.update(
      candles.ts[i]!,
      candles.open[i]!,
      candles.high[i]!,
      candles.low[i]!,
      candles.close[i]!,
      candles.volume[i]!,
    )
      ? 1
      : 0;
    values.set(engine.row, i * FEATURE_COUNT);
  }
  return { values, ready, rows };
}
