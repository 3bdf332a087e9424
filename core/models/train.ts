import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { configError, usageError } from '../errors.ts';
import { computeFeatureMatrix } from '../features/batch.ts';
import { FEATURE_COUNT, FEATURE_NAMES, FEATURE_SET_ID } from '../features/feature-set.ts';
import { writeFileAtomic } from '../fsx/atomic.ts';
import { ensureBundledCandles, requireBundled } from '../market/bundled.ts';
import { type CandleSeries, loadCandleFile } from '../market/candles.ts';
import { validate } from '../schema/ajv.ts';
import {
  MODEL_CLASSES,
  MODEL_MANIFEST_SCHEMA_VERSION,
  type ModelKindName,
  ModelManifest,
} from '../schema/model-manifest.ts';
import {
  describeLabel,
  fitStandardizer,
  type LabelSpec,
  labelRows,
  rawRows,
  segmentRows,
  timeOrderedSplit,
} from './dataset.ts';
import { type ClassifierMetrics, classifierMetrics } from './metrics.ts';
import type { DenseNetwork } from './network.ts';
import { predictProbabilities } from './network.ts';
import { encodeOnnx, ONNX_INPUT, ONNX_OUTPUT } from './onnx-export.ts';
import { openOnnxSession } from './runtime.ts';
import { type TrainOptions, type TrainResult, trainClassifier } from './trainer.ts';

export const TRAINER_VERSION = 'atl-train-1';
const CLIP = 5;
const MIN_ROWS = 500;
/** ORT (float32) and the reference forward pass must agree this closely, or the export is broken. */
const PARITY_TOLERANCE = 1e-4;

export const MODEL_KIND_SPECS: Record<
  ModelKindName,
  { suffix: string; options: Omit<TrainOptions, 'seed'> }
> = {
  logistic_regression: {
    suffix: 'logreg',
    options: { hidden: [], l2: 1e-3, learningRate: 0.01, batchSize: 128, maxEpochs: 150, patience: 12 },
  },
  mlp: {
    suffix: 'mlp',
    options: { hidden: [24], l2: 1e-3, learningRate: 0.003, batchSize: 64, maxEpochs: 80, patience: 8 },
  },
};

export type TrainRequest = {
  symbols: string[];
  timeframe: string;
  /** One symbol's candle file; null trains on the bundled candles of each symbol. */
  candlesFile: string | null;
  /** Where bundled candles missing from the repository are generated (the data root's market/). */
  cacheDir: string;
  outDir: string;
  seed: number;
  kinds: ModelKindName[];
  label: LabelSpec;
  producerVersion?: string;
};

export type TrainedModel = {
  model_id: string;
  kind: ModelKindName;
  symbol: string;
  onnx_path: string;
  manifest_path: string;
  onnx_sha256: string;
  metrics: ClassifierMetrics;
  test_rows: number;
  epochs_run: number;
  runtime_max_abs_diff: number;
};

const KIND_ALIASES: Record<string, ModelKindName> = {
  logreg: 'logistic_regression',
  logistic_regression: 'logistic_regression',
  mlp: 'mlp',
};

/** `logreg,mlp` → the model kinds, each once; an unknown name is a usage error. */
export function parseModelKinds(list: string): ModelKindName[] {
  const kinds = list.split(',').map((k) => {
    const kind = KIND_ALIASES[k.trim().toLowerCase()];
    if (!kind) throw usageError(`unknown model kind "${k}"`, `use ${Object.keys(KIND_ALIASES).join(', ')}`);
    return kind;
  });
  return [...new Set(kinds)];
}

export function modelId(symbol: string, timeframe: string, kind: ModelKindName): string {
  return `${symbol.replace('/', '_')}-${timeframe}-${MODEL_KIND_SPECS[kind].suffix}`;
}

/**
 * `atl train`: for each symbol, features of its candles, volatility-scaled 3-class labels, a
 * time-ordered fit/validation/test split, each model kind trained, exported to ONNX, checked by
 * running the .onnx in onnxruntime against the reference forward pass, and written with its
 * manifest. Same candles and seed → byte-identical files.
 */
export async function trainModels(req: TrainRequest): Promise<TrainedModel[]> {
  if (req.candlesFile && req.symbols.length !== 1) {
    throw configError(
      `--candles holds one symbol's candles but ${req.symbols.length} symbols were named`,
      'name exactly one symbol with --symbols',
    );
  }
  if (!req.candlesFile) requireBundled(req.symbols, '--candles');
  const out: TrainedModel[] = [];
  for (const symbol of req.symbols) {
    const path = req.candlesFile ?? ensureBundledCandles(symbol, req.timeframe, req.cacheDir);
    const series = loadCandleFile(path, symbol, req.candlesFile ? undefined : req.timeframe, '--candles');
    for (const kind of req.kinds) out.push(await trainOne(req, series, readFileSync(path), kind));
  }
  return out;
}

async function trainOne(
  req: TrainRequest,
  series: CandleSeries,
  fileBytes: Uint8Array,
  kind: ModelKindName,
): Promise<TrainedModel> {
  const id = modelId(series.symbol, series.timeframe, kind);
  const features = computeFeatureMatrix(series);
  const { index, label } = labelRows(series, features, req.label);
  if (index.length < MIN_ROWS) {
    // A row needs its warm-up behind it and its label's horizon ahead: say which one ate the file.
    const candles = series.ts.length;
    const horizon = req.label.horizonBars;
    throw configError(
      `${basename(series.source.ref)}: only ${index.length} usable rows for ${series.symbol} (need ≥ ${MIN_ROWS})`,
      horizon >= candles / 2
        ? `--horizon ${horizon} is too long for ${candles.toLocaleString()} candles: give a shorter one (bars ahead of each row) or more candles`
        : 'give more candles (the feature set needs 100 bars of warm-up)',
    );
  }
  const split = timeOrderedSplit(index.length, req.label.horizonBars);
  const scaler = fitStandardizer(features, index, split.fit);
  const fit = segmentRows(features, index, label, split.fit, scaler, CLIP);
  const validation = segmentRows(features, index, label, split.validation, scaler, CLIP);
  const seed = (req.seed ^ hashString(id)) >>> 0;
  const spec = MODEL_KIND_SPECS[kind];
  const trained = trainClassifier(fit, validation, MODEL_CLASSES.length, { ...spec.options, seed });
  const net = toNetwork(trained, scaler.mean, scaler.scale);

  const testX = rawRows(features, index, split.test);
  const testY = label.subarray(split.test[0]!);
  const probs = predictProbabilities(net, testX, split.test.length);
  const metrics = classifierMetrics(probs, testY, majorityClass(fit.y));
  const bytes = encodeOnnx(net, {
    modelId: id,
    featureSetId: FEATURE_SET_ID,
    features: FEATURE_NAMES,
    producerVersion: req.producerVersion ?? TRAINER_VERSION,
  });
  const runtimeDiff = await runtimeParity(bytes, testX, split.test.length, probs);

  const sha = Bun.CryptoHasher.hash('sha256', bytes, 'hex') as string;
  const window = (seg: Int32Array) => windowOf(series, index, seg);
  const manifest: ModelManifest = {
    schema_version: MODEL_MANIFEST_SCHEMA_VERSION,
    model_id: id,
    kind,
    symbol: series.symbol,
    timeframe: series.timeframe,
    onnx_file: `${id}.onnx`,
    onnx_sha256: sha,
    feature_set_id: FEATURE_SET_ID,
    features: [...FEATURE_NAMES],
    dtype: 'float32',
    input: { name: ONNX_INPUT, shape: [null, FEATURE_COUNT] },
    output: { name: ONNX_OUTPUT, classes: [...MODEL_CLASSES] },
    label: {
      horizon_bars: req.label.horizonBars,
      threshold_k: req.label.thresholdK,
      definition: describeLabel(req.label),
    },
    train_window: window(split.fit),
    validation_window: window(split.validation),
    test_window: window(split.test),
    metrics,
    training: {
      trainer: TRAINER_VERSION,
      seed: req.seed,
      hyperparameters: { ...hyperparameters(spec.options), clip: CLIP, best_epoch: trained.bestEpoch },
      epochs_run: trained.epochsRun,
    },
    data: {
      source: basename(series.source.ref),
      sha256: Bun.CryptoHasher.hash('sha256', fileBytes, 'hex') as string,
      candles: series.length,
      synthetic: series.source.synthetic,
    },
  };
  const checked = validate(ModelManifest, manifest);
  if (!checked.ok)
    throw new Error(`manifest for ${id} does not match its schema: ${checked.errors.join('; ')}`);
  const onnxPath = join(req.outDir, manifest.onnx_file);
  const manifestPath = join(req.outDir, `${id}.manifest.json`);
  writeFileAtomic(onnxPath, bytes);
  writeFileAtomic(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`);
  return {
    model_id: id,
    kind,
    symbol: series.symbol,
    onnx_path: onnxPath,
    manifest_path: manifestPath,
    onnx_sha256: sha,
    metrics,
    test_rows: split.test.length,
    epochs_run: trained.epochsRun,
    runtime_max_abs_diff: runtimeDiff,
  };
}

function toNetwork(trained: TrainResult, mean: Float64Array, scale: Float64Array): DenseNetwork {
  return {
    inputs: FEATURE_COUNT,
    classes: MODEL_CLASSES.length,
    mean: Float32Array.from(mean),
    scale: Float32Array.from(scale),
    clip: CLIP,
    layers: trained.layers.map((l) => ({
      inputs: l.inputs,
      outputs: l.outputs,
      weights: Float32Array.from(l.weights),
      bias: Float32Array.from(l.bias),
    })),
  };
}

/** Largest |p_onnxruntime − p_reference| over the test rows; a larger gap than tolerated is a bug in the export. */
async function runtimeParity(
  bytes: Uint8Array,
  x: Float64Array,
  rows: number,
  reference: Float64Array,
): Promise<number> {
  const session = await openOnnxSession(bytes);
  const probs = await session.run(Float32Array.from(x), rows, FEATURE_COUNT);
  let max = 0;
  for (let i = 0; i < reference.length; i++) max = Math.max(max, Math.abs(probs[i]! - reference[i]!));
  if (!(max <= PARITY_TOLERANCE))
    throw new Error(
      `ONNX export disagrees with the trained network by ${max} (tolerance ${PARITY_TOLERANCE})`,
    );
  return max;
}

function windowOf(series: CandleSeries, index: Int32Array, segment: Int32Array) {
  const close = (pos: number) => new Date(series.ts[index[pos]!]! + series.timeframeMs).toISOString();
  return { from: close(segment[0]!), to: close(segment[segment.length - 1]!), rows: segment.length };
}

function hyperparameters(o: Omit<TrainOptions, 'seed'>): Record<string, number | string> {
  return {
    hidden: o.hidden.length ? o.hidden.join('x') : 'none',
    l2: o.l2,
    learning_rate: o.learningRate,
    batch_size: o.batchSize,
    max_epochs: o.maxEpochs,
    patience: o.patience,
  };
}

function majorityClass(y: Uint8Array): number {
  const counts = [0, 0, 0];
  for (const c of y) counts[c]!++;
  return counts.indexOf(Math.max(...counts));
}

function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}
