import { type Static, Type } from '@sinclair/typebox';
import { Action, DataMode, Mode, Nullable, UtcTimestamp, Values } from './common.ts';

export const DECISION_SCHEMA_VERSION = '1.0.0';

export const GateVerdict = Type.Union([Type.Literal('pass'), Type.Literal('block'), Type.Literal('skip')]);

/**
 * Every stage a decision's gate trace can name, in pipeline order (SPEC §3): what the run header
 * declares for the signal chain and the entry guard, an operator's order from the inbox (before
 * the halt), the live guardrails and the exchange order in live modes.
 */
export const GATE_STAGES = [
  'operator_order',
  'halt',
  'control',
  'data_fetch',
  'features',
  'ensemble',
  'ml',
  'technical',
  'scalping',
  'htf_filter',
  'confidence',
  'position',
  'turnover',
  'risk_budget',
  'preservation',
  'safety',
  'sizing',
  'live_guardrails',
  'execution',
  'exchange_order',
] as const;

/** One pipeline stage's verdict: every stage is recorded, not only the last. */
export const GateStage = Type.Object(
  {
    stage: Type.String(),
    verdict: GateVerdict,
    reason: Nullable(Type.String()),
    observed: Nullable(Values),
    thresholds: Nullable(Values),
  },
  { additionalProperties: false },
);
export type GateStage = Static<typeof GateStage>;

export const ModelTraceEntry = Type.Object(
  {
    model_id: Type.String(),
    sha256: Nullable(Type.String()),
    status: Type.Union([Type.Literal('used'), Type.Literal('skipped')]),
    skip_reason: Nullable(Type.String()),
    output: Nullable(
      Type.Object({
        action: Action,
        confidence: Type.Number(),
        probabilities: Nullable(Type.Array(Type.Number())),
      }),
    ),
  },
  { additionalProperties: false },
);
export type ModelTraceEntry = Static<typeof ModelTraceEntry>;

export const Fill = Type.Object(
  {
    order_id: Type.String(),
    side: Type.Union([Type.Literal('buy'), Type.Literal('sell')]),
    intent: Type.Union([Type.Literal('open'), Type.Literal('close')]),
    reason: Type.String(),
    quantity: Type.Number({ exclusiveMinimum: 0 }),
    price: Type.Number({ exclusiveMinimum: 0 }),
    fee: Type.Number({ minimum: 0 }),
    slippage: Type.Number({ minimum: 0 }),
    realized_pnl: Nullable(Type.Number()),
  },
  { additionalProperties: false },
);
export type Fill = Static<typeof Fill>;

export const DecisionRecord = Type.Object(
  {
    schema_version: Type.Literal(DECISION_SCHEMA_VERSION),
    decision_id: Type.String({ minLength: 1 }),
    ts: UtcTimestamp,
    bar_ts: UtcTimestamp,
    data_mode: DataMode,
    mode: Mode,
    symbol: Type.String({ minLength: 1 }),
    timeframe: Type.String(),
    correlation_id: Type.String({ minLength: 1 }),
    source: Type.Object(
      { kind: Type.String(), ref: Nullable(Type.String()), synthetic: Type.Boolean() },
      { additionalProperties: false },
    ),
    market: Type.Object(
      {
        price: Nullable(Type.Number()),
        volatility: Nullable(Type.Number()),
        spread_bps: Nullable(Type.Number()),
        volume: Nullable(Type.Number()),
        data_age_s: Nullable(Type.Number()),
        regime: Nullable(Type.String()),
      },
      { additionalProperties: false },
    ),
    features_hash: Nullable(Type.String()),
    model_trace: Type.Array(ModelTraceEntry),
    gate_trace: Type.Array(GateStage, { minItems: 1 }),
    blocked_stage: Nullable(Type.String()),
    block_reason: Nullable(Type.String()),
    rl_recommendation: Nullable(Type.Record(Type.String(), Type.Unknown())),
    turnover: Nullable(Type.Record(Type.String(), Type.Unknown())),
    risk_budget: Nullable(Type.Record(Type.String(), Type.Unknown())),
    preservation_level: Nullable(Type.String()),
    signal: Nullable(Type.Object({ action: Action, confidence: Type.Number(), source: Type.String() })),
    action: Action,
    confidence: Type.Number({ minimum: 0, maximum: 1 }),
    execution: Nullable(
      Type.Object({ fills: Type.Array(Fill, { minItems: 1 }) }, { additionalProperties: false }),
    ),
    costs: Type.Object(
      { fees: Type.Number(), slippage: Type.Number(), spread: Type.Number(), total: Type.Number() },
      { additionalProperties: false },
    ),
    position: Nullable(
      Type.Object({
        side: Type.Union([Type.Literal('long'), Type.Literal('short')]),
        quantity: Type.Number(),
        entry_price: Type.Number(),
      }),
    ),
    config_hash: Type.String(),
    prev_hash: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  },
  { $id: 'DecisionRecord', additionalProperties: false },
);
export type DecisionRecord = Static<typeof DecisionRecord>;
