import { type TSchema, Type } from '@sinclair/typebox';

export const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);

/** UTC instant, ISO-8601 with `Z` (never a naive local time); a pattern, so validators need no format plugin. */
export const UtcTimestamp = Type.String({
  pattern: '^\\d{4}-[01]\\d-[0-3]\\dT[0-2]\\d:[0-5]\\d:[0-6]\\d(\\.\\d{1,9})?Z$',
});

export const MODES = [
  'backtest',
  'paper_synthetic',
  'paper_live_data',
  'testnet',
  'live_limited',
  'live_full',
] as const;
export const Mode = Type.Union(MODES.map((m) => Type.Literal(m)));
export type ModeName = (typeof MODES)[number];

export const DATA_MODES = ['REPLAY', 'SYNTHETIC', 'PAPER_LIVE', 'TESTNET', 'LIVE'] as const;
export const DataMode = Type.Union(DATA_MODES.map((m) => Type.Literal(m)));
export type DataModeName = (typeof DATA_MODES)[number];

export const DATA_MODE_BY_MODE: Record<ModeName, DataModeName> = {
  backtest: 'REPLAY',
  paper_synthetic: 'SYNTHETIC',
  paper_live_data: 'PAPER_LIVE',
  testnet: 'TESTNET',
  live_limited: 'LIVE',
  live_full: 'LIVE',
};

export const ACTIONS = ['buy', 'sell', 'short', 'cover', 'hold'] as const;
export const Action = Type.Union(ACTIONS.map((a) => Type.Literal(a)));
export type ActionName = (typeof ACTIONS)[number];

/** Loose bag of observed values or thresholds named by the stage that produced them. */
export const Values = Type.Record(
  Type.String(),
  Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]),
);
