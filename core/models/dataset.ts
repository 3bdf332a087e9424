import type { CandleColumns, FeatureMatrix } from '../features/batch.ts';
import { FEATURE_COUNT, featureIndex } from '../features/feature-set.ts';
import type { LabeledRows } from './trainer.ts';

/** Class ids in probability order: 0 down, 1 flat, 2 up. */
export const DOWN = 0;
export const FLAT = 1;
export const UP = 2;

export type LabelSpec = { horizonBars: number; thresholdK: number };

export function describeLabel(spec: LabelSpec): string {
  return `forward return r = close[t+${spec.horizonBars}]/close[t] − 1; threshold = ${spec.thresholdK} × vol_20[t] × √${spec.horizonBars}; up if r > threshold, down if r < −threshold, else flat`;
}

/**
 * Candle indices usable for training (features complete, forward return known) and their 3-class
 * labels. The threshold scales with the volatility known at t, so labels never use the future
 * beyond the return being predicted.
 */
export function labelRows(
  candles: CandleColumns,
  features: FeatureMatrix,
  spec: LabelSpec,
): { index: Int32Array; label: Uint8Array } {
  const vol = featureIndex('vol_20');
  const index: number[] = [];
  const label: number[] = [];
  for (let t = 0; t + spec.horizonBars < candles.length; t++) {
    if (!features.ready[t]) continue;
    const r = candles.close[t + spec.horizonBars]! / candles.close[t]! - 1;
    const threshold =
      spec.thresholdK * features.values[t * FEATURE_COUNT + vol]! * Math.sqrt(spec.horizonBars);
    index.push(t);
    label.push(r > threshold ? UP : r < -threshold ? DOWN : FLAT);
  }
  return { index: Int32Array.from(index), label: Uint8Array.from(label) };
}

export type Split = { fit: Int32Array; validation: Int32Array; test: Int32Array };

/**
 * Time-ordered split of row positions: fit, then validation, then test, each separated by a gap
 * of `horizon` rows so no label window straddles two segments.
 */
export function timeOrderedSplit(
  rows: number,
  horizon: number,
  testShare = 0.2,
  validationShare = 0.15,
): Split {
  const testStart = Math.floor(rows * (1 - testShare));
  const trainEnd = testStart - horizon;
  const validationStart = Math.floor(trainEnd * (1 - validationShare));
  const fitEnd = validationStart - horizon;
  const range = (a: number, b: number) => Int32Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
  return {
    fit: range(0, fitEnd),
    validation: range(validationStart, trainEnd),
    test: range(testStart, rows),
  };
}

export type Standardizer = { mean: Float64Array; scale: Float64Array };

/** Mean and 1/std of each feature over the fit rows (scale 1 for a constant feature). */
export function fitStandardizer(features: FeatureMatrix, index: Int32Array, fit: Int32Array): Standardizer {
  const mean = new Float64Array(FEATURE_COUNT);
  const m2 = new Float64Array(FEATURE_COUNT);
  let n = 0;
  for (const pos of fit) {
    const base = index[pos]! * FEATURE_COUNT;
    n++;
    for (let k = 0; k < FEATURE_COUNT; k++) {
      const x = features.values[base + k]!;
      const d = x - mean[k]!;
      mean[k]! += d / n;
      m2[k]! += d * (x - mean[k]!);
    }
  }
  const scale = new Float64Array(FEATURE_COUNT);
  for (let k = 0; k < FEATURE_COUNT; k++) {
    const std = Math.sqrt(m2[k]! / Math.max(1, n));
    scale[k] = std > 0 ? 1 / std : 1;
  }
  return { mean, scale };
}

/** Standardised, clipped rows of one segment, as the exported graph will compute them (float32 inputs). */
export function segmentRows(
  features: FeatureMatrix,
  index: Int32Array,
  label: Uint8Array,
  segment: Int32Array,
  s: Standardizer,
  clip: number,
): LabeledRows {
  const x = new Float64Array(segment.length * FEATURE_COUNT);
  const y = new Uint8Array(segment.length);
  segment.forEach((pos, r) => {
    const base = index[pos]! * FEATURE_COUNT;
    y[r] = label[pos]!;
    for (let k = 0; k < FEATURE_COUNT; k++) {
      const z =
        (Math.fround(features.values[base + k]!) - Math.fround(s.mean[k]!)) * Math.fround(s.scale[k]!);
      x[r * FEATURE_COUNT + k] = z > clip ? clip : Math.max(z, -clip);
    }
  });
  return { x, y, rows: segment.length, cols: FEATURE_COUNT };
}

/** Raw feature rows of one segment (row-major), for running the exported model on. */
export function rawRows(features: FeatureMatrix, index: Int32Array, segment: Int32Array): Float64Array {
  const x = new Float64Array(segment.length * FEATURE_COUNT);
  segment.forEach((pos, r) => {
    x.set(
      features.values.subarray(index[pos]! * FEATURE_COUNT, (index[pos]! + 1) * FEATURE_COUNT),
      r * FEATURE_COUNT,
    );
  });
  return x;
}
