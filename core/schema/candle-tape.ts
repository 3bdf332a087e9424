import { type Static, Type } from '@sinclair/typebox';
import { Mode, Nullable, UtcTimestamp } from './common.ts';
import { RiskConfig } from './risk.ts';

/** A candle on the tape: `[symbol index in the run header, open time ms, open, high, low, close, volume]`. */
export const TapeCandle = Type.Tuple([
  Type.Integer({ minimum: 0 }),
  Type.Number(),
  Type.Number(),
  Type.Number(),
  Type.Number(),
  Type.Number(),
  Type.Number(),
]);
export type TapeCandle = Static<typeof TapeCandle>;

const Observed = Nullable(
  Type.Record(Type.String(), Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()])),
);

/** One engine start on a live feed: everything the replay needs to build the same pipeline. */
export const TapeRunHeader = Type.Object(
  {
    k: Type.Literal('run'),
    v: Type.Literal(1),
    started_at: UtcTimestamp,
    /** The data root already had a checkpoint: this run resumed. */
    resumed: Type.Boolean(),
    mode: Mode,
    symbols: Type.Array(Type.String({ minLength: 1 }), { minItems: 1 }),
    timeframe: Type.String({ minLength: 1 }),
    timeframe_ms: Type.Integer({ minimum: 1 }),
    source: Type.Object({ kind: Type.String(), ref: Nullable(Type.String()), synthetic: Type.Boolean() }),
    capital: Type.Number({ exclusiveMinimum: 0 }),
    max_bars: Nullable(Type.Integer({ minimum: 1 })),
    until_ms: Nullable(Type.Number()),
    config_hash: Type.String(),
    models_dir: Type.String(),
    voting: Type.String(),
    allow_shorting: Type.Boolean(),
    min_history_bars: Type.Integer({ minimum: 1 }),
    risk: RiskConfig,
  },
  { additionalProperties: false },
);
export type TapeRunHeader = Static<typeof TapeRunHeader>;

/** The history the run primed its indicators with (not decided on). */
export const TapeWarmup = Type.Object(
  { k: Type.Literal('w'), b: Type.Array(TapeCandle) },
  { additionalProperties: false },
);

/**
 * One tick the engine decided: the candles closing at `t` (`b`), older candles that arrived late
 * and only fed indicators (`h`), and symbols whose candle could not be delivered (`f`).
 */
export const TapeTick = Type.Object(
  {
    k: Type.Literal('t'),
    t: Type.Number(),
    b: Type.Array(TapeCandle),
    h: Type.Optional(Type.Array(TapeCandle)),
    f: Type.Optional(Type.Array(Type.Tuple([Type.Integer({ minimum: 0 }), Type.String(), Observed]))),
  },
  { additionalProperties: false },
);

export const TapeLine = Type.Union([TapeRunHeader, TapeWarmup, TapeTick]);
export type TapeLine = Static<typeof TapeLine>;
