import { type Static, Type } from '@sinclair/typebox';
import { DataMode, Mode, UtcTimestamp, Values } from './common.ts';

/** The file format of `rl/shadow_decisions.jsonl` since record v2 (the full view keeps DECISION_SCHEMA_VERSION). */
export const RECORD_SCHEMA_VERSION = '2.0.0';

/**
 * How an object field is written on a v2 line: a positional array of the values of `keys` that are
 * not in `const` (the run's constants), with nested objects under `nested` written the same way.
 */
export type Shape = { keys: string[]; const?: Record<string, unknown>; nested?: Record<string, Shape> };
export const ShapeSchema = Type.Unsafe<Shape>(
  Type.Object(
    {
      keys: Type.Array(Type.String()),
      const: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      // Nested shapes have this same form (not expressed recursively: one Ajv compiles every contract).
      nested: Type.Optional(Type.Record(Type.String(), Type.Object({ keys: Type.Array(Type.String()) }))),
    },
    { additionalProperties: false },
  ),
);

/**
 * One stage of the run's ordered stage list, which the pipeline declares (core/engine/pipeline.ts
 * `declaredStages`): its name and static thresholds from the configuration; for a stage whose
 * limits move with the run's state (risk budget, capital preservation, safety) the usual ones of
 * the run's decisions. Also the verdicts it gives (a line names one by its index; the first is the
 * stage's usual one), the shape of its observed values and its usual observed values. A line
 * carries thresholds only where they differ from these (adaptive ones: the keys that differ).
 */
export const HeaderStage = Type.Object(
  {
    stage: Type.String({ minLength: 1 }),
    outcomes: Type.Array(
      Type.Tuple([
        Type.Union([Type.Literal('pass'), Type.Literal('block'), Type.Literal('skip')]),
        Type.Union([Type.String(), Type.Null()]),
      ]),
      { minItems: 1 },
    ),
    observed_shape: Type.Optional(ShapeSchema),
    observed: Type.Union([Values, Type.Null()]),
    thresholds: Type.Union([Values, Type.Null()]),
    /** How many following stages are usually skipped as not reached when a line ends at this one. */
    unreached: Type.Optional(Type.Integer({ minimum: 1 })),
  },
  { additionalProperties: false },
);
export type HeaderStage = Static<typeof HeaderStage>;

export const HeaderModel = Type.Object(
  {
    model_id: Type.String(),
    sha256: Type.Union([Type.String(), Type.Null()]),
    feature_set: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);
export type HeaderModel = Static<typeof HeaderModel>;

/**
 * The run header (`kind: "run"`): opens the log of each run (a start, a resume: the config and
 * model set are fixed for a process, so every change of them is a new run and a new header), in
 * the hash chain like any line. It holds what every decision of the run shares; decision lines
 * after it carry only what varies and are read under the latest header before them. A header
 * learnt from fewer than 4096 decisions (an early first flush) is followed, once that many are
 * in, by a second one for the same run learnt from them all.
 */
export const RunHeader = Type.Object(
  {
    kind: Type.Literal('run'),
    schema_version: Type.Literal(RECORD_SCHEMA_VERSION),
    run_id: Type.String({ minLength: 1 }),
    ts: UtcTimestamp,
    config_hash: Type.String(),
    mode: Mode,
    data_mode: DataMode,
    timeframe: Type.String(),
    symbols: Type.Array(Type.String()),
    /** The feed's source by symbol (each symbol may come from its own file). */
    source: Type.Record(
      Type.String(),
      Type.Object(
        { kind: Type.String(), ref: Type.Union([Type.String(), Type.Null()]), synthetic: Type.Boolean() },
        { additionalProperties: false },
      ),
    ),
    models: Type.Array(HeaderModel),
    /** `correlation_id` on a line is this prefix plus the line's number. */
    correlation_prefix: Type.String(),
    /** `features_hash` on a line is this prefix plus the line's string. */
    features_prefix: Type.String(),
    stages: Type.Array(HeaderStage),
    /** Field values the run's decisions share unless a line says otherwise (`null` included). */
    defaults: Type.Record(Type.String(), Type.Unknown()),
    shapes: Type.Record(Type.String(), ShapeSchema),
    risk: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()]),
    prev_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { $id: 'RunHeader', additionalProperties: false },
);
export type RunHeader = Static<typeof RunHeader>;

/**
 * A v2 decision line. `gates` lists the evaluated stages in order: a number is that header stage
 * with its usual verdict, observed values and thresholds; `[stage, verdict, observed?, thresholds?]`
 * names a verdict by index (or `[verdict, reason]`), observed values as a positional array (or an
 * object, or 0 for the usual ones) and thresholds as the keys that differ (or `[literal]`). A stage
 * the header does not know is written whole. `unreached` counts the header stages after the last
 * one listed that were skipped as `not_reached` (absent: the header stage's usual count). Fields absent take the header's defaults.
 */
export const DecisionLine = Type.Object(
  {
    decision_id: Type.String({ minLength: 1 }),
    /** Milliseconds after the header's `ts`, or the time itself. */
    ts: Type.Union([Type.Integer({ minimum: 0 }), UtcTimestamp]),
    bar_ts: UtcTimestamp,
    symbol: Type.String({ minLength: 1 }),
    /** The correlation id: the number after the header's `correlation_prefix`, or the id itself. */
    cid: Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })]),
    gates: Type.Array(Type.Unknown(), { minItems: 1 }),
    unreached: Type.Optional(Type.Integer({ minimum: 0 })),
    prev_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { additionalProperties: true },
);
export type DecisionLine = Static<typeof DecisionLine>;
