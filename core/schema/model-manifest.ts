import { type Static, Type } from '@sinclair/typebox';
import { Nullable } from './common.ts';

export const MODEL_MANIFEST_SCHEMA_VERSION = '1.0.0';

export const MODEL_KINDS = ['logistic_regression', 'mlp'] as const;
export const ModelKind = Type.Union(MODEL_KINDS.map((k) => Type.Literal(k)));
export type ModelKindName = (typeof MODEL_KINDS)[number];

/** Output classes, in the order of the model's probability vector. */
export const MODEL_CLASSES = ['down', 'flat', 'up'] as const;

const Window = Type.Object(
  { from: Type.String(), to: Type.String(), rows: Type.Integer({ minimum: 0 }) },
  { additionalProperties: false },
);
const PerClass = Type.Object(
  { down: Nullable(Type.Number()), flat: Nullable(Type.Number()), up: Nullable(Type.Number()) },
  { additionalProperties: false },
);

/**
 * `<model_id>.manifest.json` beside `<model_id>.onnx`: what the model expects (feature names in
 * order, dtype, feature-set id, input shape), what it predicts (label definition), what it was
 * trained and tested on, how well it did, and the sha256 of the .onnx it describes.
 */
export const ModelManifest = Type.Object(
  {
    schema_version: Type.Literal(MODEL_MANIFEST_SCHEMA_VERSION),
    model_id: Type.String({ minLength: 1 }),
    kind: ModelKind,
    symbol: Type.String({ minLength: 1 }),
    timeframe: Type.String({ minLength: 1 }),
    onnx_file: Type.String({ minLength: 1 }),
    onnx_sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
    feature_set_id: Type.String({ minLength: 1 }),
    features: Type.Array(Type.String(), { minItems: 1 }),
    dtype: Type.Literal('float32'),
    input: Type.Object(
      { name: Type.String(), shape: Type.Tuple([Type.Null(), Type.Integer({ minimum: 1 })]) },
      { additionalProperties: false },
    ),
    output: Type.Object(
      { name: Type.String(), classes: Type.Array(Type.String(), { minItems: 3, maxItems: 3 }) },
      { additionalProperties: false },
    ),
    label: Type.Object(
      {
        horizon_bars: Type.Integer({ minimum: 1 }),
        threshold_k: Type.Number({ exclusiveMinimum: 0 }),
        definition: Type.String(),
      },
      { additionalProperties: false },
    ),
    train_window: Window,
    validation_window: Window,
    test_window: Window,
    metrics: Type.Object(
      {
        accuracy: Type.Number({ minimum: 0, maximum: 1 }),
        log_loss: Type.Number({ minimum: 0 }),
        precision: PerClass,
        recall: PerClass,
        baseline_accuracy: Type.Number({ minimum: 0, maximum: 1 }),
        test_class_share: PerClass,
      },
      { additionalProperties: false },
    ),
    training: Type.Object(
      {
        trainer: Type.String(),
        seed: Type.Integer(),
        hyperparameters: Type.Record(Type.String(), Type.Union([Type.Number(), Type.String()])),
        epochs_run: Type.Integer({ minimum: 0 }),
      },
      { additionalProperties: false },
    ),
    data: Type.Object(
      {
        source: Type.String(),
        sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
        candles: Type.Integer({ minimum: 1 }),
        synthetic: Type.Boolean(),
      },
      { additionalProperties: false },
    ),
  },
  { $id: 'ModelManifest', additionalProperties: false },
);
export type ModelManifest = Static<typeof ModelManifest>;
