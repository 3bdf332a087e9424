import { type Static, Type } from '@sinclair/typebox';
import { Action, Nullable, UtcTimestamp } from './common.ts';

export const OUTCOME_SCHEMA_VERSION = '1.0.0';
export const OUTCOME_HORIZONS = [1, 5, 20] as const;

/**
 * A decision's realised forward returns 1, 5 and 20 bars later (`exit_price / entry_price − 1`),
 * written once the 20-bar horizon has closed, beside what was done and what the shadow advisor
 * said. A run that ends first writes what it knows with `complete: false` (unknown horizons null);
 * the run that resumes it replaces that line with the complete one (one line per decision).
 */
export const ForwardReturnOutcome = Type.Object(
  {
    schema_version: Type.Literal(OUTCOME_SCHEMA_VERSION),
    kind: Type.Literal('forward_return'),
    decision_id: Type.String({ minLength: 1 }),
    symbol: Type.String(),
    bar_ts: UtcTimestamp,
    entry_price: Type.Number({ exclusiveMinimum: 0 }),
    /** By horizon in bars; null while unknown. */
    forward_returns: Type.Object(
      { '1': Nullable(Type.Number()), '5': Nullable(Type.Number()), '20': Nullable(Type.Number()) },
      { additionalProperties: false },
    ),
    realised_bar_ts: UtcTimestamp,
    complete: Type.Boolean(),
    action: Action,
    signal_action: Nullable(Action),
    shadow_action: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

/** An executed trade, closed: linked to the decision that opened it and the one that closed it. */
export const TradeOutcome = Type.Object(
  {
    schema_version: Type.Literal(OUTCOME_SCHEMA_VERSION),
    kind: Type.Literal('trade'),
    decision_id: Type.String({ minLength: 1 }),
    exit_decision_id: Type.String({ minLength: 1 }),
    symbol: Type.String(),
    side: Type.Union([Type.Literal('long'), Type.Literal('short')]),
    entry_ts: UtcTimestamp,
    exit_ts: UtcTimestamp,
    entry_price: Type.Number({ exclusiveMinimum: 0 }),
    exit_price: Type.Number({ exclusiveMinimum: 0 }),
    quantity: Type.Number({ exclusiveMinimum: 0 }),
    /** Net of fees on both legs. */
    pnl: Type.Number(),
    pnl_pct: Type.Number(),
    /** Maximum adverse and favourable excursion while open, as fractions of the entry price (≥ 0). */
    mae_pct: Type.Number({ minimum: 0 }),
    mfe_pct: Type.Number({ minimum: 0 }),
    holding_bars: Type.Integer({ minimum: 0 }),
    holding_s: Type.Number({ minimum: 0 }),
    exit_reason: Type.String(),
    /** Excursions tracked only since a restart (the position was opened by an earlier process). */
    partial: Type.Boolean(),
  },
  { additionalProperties: false },
);

/** A decision whose forward returns are not all known yet (`r1`, `r5`: null until known). */
const PendingDecision = Type.Object(
  {
    decision_id: Type.String({ minLength: 1 }),
    bar_ts: UtcTimestamp,
    price: Type.Number({ exclusiveMinimum: 0 }),
    action: Action,
    signal_action: Nullable(Action),
    shadow_action: Nullable(Type.String()),
    r1: Nullable(Type.Number()),
    r5: Nullable(Type.Number()),
  },
  { additionalProperties: false },
);

/** A position the recorder is following, with its excursions so far. */
const FollowedTrade = Type.Object(
  {
    decision_id: Type.String({ minLength: 1 }),
    side: Type.Union([Type.Literal('long'), Type.Literal('short')]),
    entry_ts: UtcTimestamp,
    entry_price: Type.Number({ exclusiveMinimum: 0 }),
    quantity: Type.Number({ exclusiveMinimum: 0 }),
    low: Type.Number(),
    high: Type.Number(),
    bars: Type.Integer({ minimum: 0 }),
    partial: Type.Boolean(),
  },
  { additionalProperties: false },
);

/**
 * What the outcome recorder carries across a restart in the ledger checkpoint: per symbol, the
 * decisions whose 20-bar horizon has not passed (oldest first), and the open trade.
 */
export const OutcomeRecorderState = Type.Object(
  {
    pending: Type.Record(Type.String(), Type.Array(PendingDecision, { maxItems: 64 })),
    trades: Type.Record(Type.String(), FollowedTrade),
    /** Size of the outcome file when this checkpoint was taken: later lines are reconciled on resume. */
    file_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
  },
  { $id: 'OutcomeRecorderState', additionalProperties: false },
);
export type OutcomeRecorderState = Static<typeof OutcomeRecorderState>;

/** One line of `rl/decision_outcomes.jsonl`. */
export const DecisionOutcome = Type.Union([ForwardReturnOutcome, TradeOutcome], { $id: 'DecisionOutcome' });
export type ForwardReturnOutcome = Static<typeof ForwardReturnOutcome>;
export type TradeOutcome = Static<typeof TradeOutcome>;
export type DecisionOutcome = Static<typeof DecisionOutcome>;
