import { type Static, Type } from '@sinclair/typebox';
import { DataMode, Mode, Nullable, UtcTimestamp } from './common.ts';

export const HEARTBEAT_SCHEMA_VERSION = '1.0.0';

export const EngineStatus = Type.Union([
  Type.Literal('starting'),
  Type.Literal('running'),
  Type.Literal('halted'),
  Type.Literal('stopping'),
  Type.Literal('stopped'),
]);
export type EngineStatusName = Static<typeof EngineStatus>;

export const SymbolCounters = Type.Object(
  {
    decisions: Type.Integer({ minimum: 0 }),
    holds: Type.Integer({ minimum: 0 }),
    fills: Type.Integer({ minimum: 0 }),
    last_bar_ts: Nullable(UtcTimestamp),
    last_action: Nullable(Type.String()),
  },
  { additionalProperties: false },
);

export const Heartbeat = Type.Object(
  {
    schema_version: Type.Literal(HEARTBEAT_SCHEMA_VERSION),
    ts: UtcTimestamp,
    pid: Type.Integer({ minimum: 1 }),
    process_start: Nullable(Type.String()),
    boot_id: Nullable(Type.String()),
    host: Type.String(),
    mode: Mode,
    data_mode: DataMode,
    symbols: Type.Array(Type.String()),
    timeframe: Type.String(),
    status: EngineStatus,
    status_reason: Nullable(Type.String()),
    seq: Type.Integer({ minimum: 0 }),
    last_tick_started_at: Nullable(UtcTimestamp),
    last_tick_finished_at: Nullable(UtcTimestamp),
    last_bar_ts: Nullable(UtcTimestamp),
    last_decision_ts: Nullable(UtcTimestamp),
    total_decisions_session: Type.Integer({ minimum: 0 }),
    paper_live_decisions_session: Type.Integer({ minimum: 0 }),
    per_symbol: Type.Record(Type.String(), SymbolCounters),
    interval_s: Type.Number({ minimum: 0 }),
    circuit_breakers: Type.Record(Type.String(), Type.String()),
    version: Type.String(),
  },
  { $id: 'Heartbeat', additionalProperties: false },
);
export type Heartbeat = Static<typeof Heartbeat>;
