import { type Static, Type } from '@sinclair/typebox';
import { Mode, Nullable, UtcTimestamp } from './common.ts';
import { EngineStatus } from './heartbeat.ts';

export const STATE_SCHEMA_VERSION = '1.0.0';

export const PositionState = Type.Object(
  {
    symbol: Type.String(),
    side: Type.Union([Type.Literal('long'), Type.Literal('short')]),
    quantity: Type.Number({ exclusiveMinimum: 0 }),
    entry_price: Type.Number({ exclusiveMinimum: 0 }),
    entry_ts: UtcTimestamp,
    stop_loss: Nullable(Type.Number()),
    take_profit: Nullable(Type.Number()),
    last_price: Type.Number(),
    unrealized_pnl: Type.Number(),
    entry_fee: Type.Number(),
    decision_id: Type.String(),
  },
  { additionalProperties: false },
);
export type PositionState = Static<typeof PositionState>;

export const EngineState = Type.Object(
  {
    schema_version: Type.Literal(STATE_SCHEMA_VERSION),
    ts: UtcTimestamp,
    mode: Mode,
    status: EngineStatus,
    mode_started_at: UtcTimestamp,
    initial_capital: Type.Number({ exclusiveMinimum: 0 }),
    cash: Type.Number(),
    equity: Type.Number(),
    peak_equity: Type.Number(),
    max_drawdown_pct: Type.Number({ minimum: 0 }),
    realized_pnl: Type.Number(),
    fees_paid: Type.Number({ minimum: 0 }),
    positions: Type.Record(Type.String(), PositionState),
    total_trades: Type.Integer({ minimum: 0 }),
    winning_trades: Type.Integer({ minimum: 0 }),
    losing_trades: Type.Integer({ minimum: 0 }),
    daily: Type.Object({
      date: Type.String(),
      trades: Type.Integer(),
      pnl: Type.Number(),
      start_equity: Type.Number(),
    }),
    last_bar_ts: Type.Record(Type.String(), UtcTimestamp),
    decisions_total: Type.Integer({ minimum: 0 }),
    config_hash: Type.String(),
    feed: Type.Object({ kind: Type.String(), ref: Nullable(Type.String()), synthetic: Type.Boolean() }),
    /** Capital preservation: the level, since when (bar time) and why; absent from older engines. */
    preservation: Type.Optional(
      Nullable(
        Type.Object(
          { level: Type.String(), since: Nullable(UtcTimestamp), reason: Nullable(Type.String()) },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { $id: 'EngineState', additionalProperties: false },
);
export type EngineState = Static<typeof EngineState>;

export const HaltEvent = Type.Object({
  action: Type.Union([Type.Literal('halt'), Type.Literal('clear')]),
  at: UtcTimestamp,
  by: Type.String(),
  reason: Nullable(Type.String()),
});

/** `safety_state.json`: the persistent halt flag; survives restarts, cleared only explicitly. */
export const SafetyState = Type.Object(
  {
    schema_version: Type.Literal('1.0.0'),
    halted: Type.Boolean(),
    reason: Nullable(Type.String()),
    source: Nullable(Type.String()),
    by: Nullable(Type.String()),
    at: Nullable(UtcTimestamp),
    history: Type.Array(HaltEvent),
  },
  { $id: 'SafetyState', additionalProperties: false },
);
export type SafetyState = Static<typeof SafetyState>;

export const Pidfile = Type.Object(
  {
    pid: Type.Integer({ minimum: 1 }),
    process_start: Nullable(Type.String()),
    boot_id: Nullable(Type.String()),
    host: Type.String(),
    mode: Mode,
    started_at: UtcTimestamp,
    argv: Type.Array(Type.String()),
  },
  { $id: 'Pidfile', additionalProperties: false },
);
export type Pidfile = Static<typeof Pidfile>;
