import { type Static, Type } from '@sinclair/typebox';
import { Nullable } from './common.ts';

const Fraction = (extra: { exclusiveMinimum?: number; minimum?: number; maximum?: number } = {}) =>
  Type.Number({ minimum: 0, maximum: 1, ...extra });
const Positive = Type.Number({ exclusiveMinimum: 0 });
const Count = Type.Integer({ minimum: 1 });

/** Per-trade risk budget (original §6.1); every percentage is a fraction of equity. */
export const RiskBudgetConfig = Type.Object(
  {
    baseRiskPct: Fraction({ exclusiveMinimum: 0 }),
    minRiskPct: Fraction({ exclusiveMinimum: 0 }),
    maxRiskPct: Fraction({ exclusiveMinimum: 0 }),
    maxPositionPct: Fraction({ exclusiveMinimum: 0 }),
    maxTotalExposurePct: Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
    maxCorrelatedExposurePct: Type.Number({ exclusiveMinimum: 0, maximum: 10 }),
    highCorrelation: Fraction({ exclusiveMinimum: 0 }),
    varConfidence: Type.Union([Type.Literal(0.95), Type.Literal(0.99)]),
    varHorizonHours: Positive,
    maxVarPct: Fraction({ exclusiveMinimum: 0 }),
    stopVolMultiple: Positive,
    minStopPct: Fraction({ exclusiveMinimum: 0 }),
    maxStopPct: Fraction({ exclusiveMinimum: 0 }),
    recommendedFraction: Fraction({ exclusiveMinimum: 0 }),
    kellyEnabled: Type.Boolean(),
    kellyFraction: Fraction({ exclusiveMinimum: 0 }),
    kellyMinTrades: Count,
    winBoostAfter: Count,
    winBoostStep: Fraction(),
    winBoostMaxSteps: Type.Integer({ minimum: 0 }),
    winBoostCap: Type.Number({ minimum: 1, maximum: 3 }),
    lossReduceAfter: Count,
    lossReduceFactor: Fraction({ exclusiveMinimum: 0 }),
    lossReduceFloor: Fraction({ exclusiveMinimum: 0 }),
  },
  { additionalProperties: false },
);
export type RiskBudgetConfig = Static<typeof RiskBudgetConfig>;

const TurnoverLimits = Type.Object(
  {
    minIntervalMinutes: Type.Number({ minimum: 0 }),
    maxDecisionsPerDay: Count,
    minEvRatio: Type.Number({ minimum: 0 }),
  },
  { additionalProperties: false },
);

/** Turnover governor (original §6.3); per-symbol overrides are keyed by base asset (`BTC`). */
export const TurnoverConfig = Type.Object(
  {
    ...TurnoverLimits.properties,
    feeBps: Type.Number({ minimum: 0 }),
    slippageBps: Type.Number({ minimum: 0 }),
    symbolOverrides: Type.Record(Type.String({ pattern: '^[A-Z0-9]+$' }), TurnoverLimits),
  },
  { additionalProperties: false },
);
export type TurnoverConfig = Static<typeof TurnoverConfig>;

/** Capital preservation triggers and recovery (original §6.4); levels are ordered by index. */
export const PreservationConfig = Type.Object(
  {
    windowTrades: Count,
    minTradesForStats: Count,
    profitFactor: Type.Object(
      { cautious: Positive, defensive: Positive, critical: Positive },
      { additionalProperties: false },
    ),
    winRate: Type.Object({ cautious: Fraction(), defensive: Fraction() }, { additionalProperties: false }),
    drawdown: Type.Object(
      { cautious: Fraction(), critical: Fraction(), lockdown: Fraction() },
      { additionalProperties: false },
    ),
    drawdownSlopePerHour: Type.Object(
      { cautious: Fraction(), defensive: Fraction() },
      { additionalProperties: false },
    ),
    lossStreak: Type.Object(
      { cautious: Count, defensive: Count, critical: Count },
      { additionalProperties: false },
    ),
    recovery: Type.Object(
      { minTrades: Count, minWinRate: Fraction(), minProfitFactor: Positive, maxDrawdown: Fraction() },
      { additionalProperties: false },
    ),
    /**
     * Lockdown in backtest and paper modes: a time-boxed lock, then re-evaluation (freqtrade's
     * protections: `stop_duration_candles`). Live modes halt instead, until an operator clears it.
     */
    lock: Type.Object({ stopDurationCandles: Count }, { additionalProperties: false }),
  },
  { additionalProperties: false },
);
export type PreservationConfig = Static<typeof PreservationConfig>;

export const RiskConfig = Type.Object(
  { budget: RiskBudgetConfig, turnover: TurnoverConfig, preservation: PreservationConfig },
  { $id: 'RiskConfig', additionalProperties: false },
);
export type RiskConfig = Static<typeof RiskConfig>;

export const PRESERVATION_LEVELS = ['normal', 'cautious', 'defensive', 'critical', 'lockdown'] as const;
export type PreservationLevel = (typeof PRESERVATION_LEVELS)[number];
export const PreservationLevelName = Type.Union(PRESERVATION_LEVELS.map((l) => Type.Literal(l)));

const Numbers = Type.Array(Type.Number());

/**
 * The guard's state kept across restarts inside the ledger `checkpoint` meta: daily counters,
 * streaks, rolling trades, preservation level and drawdown samples, turnover counters, return
 * histories. Bar timestamps (ms) throughout, so a replay resumes exactly where it stopped.
 */
export const GuardSnapshot = Type.Object(
  {
    version: Type.Literal(1),
    daily: Type.Object({
      day: Type.Integer(),
      realizedPnl: Type.Number(),
      startEquity: Type.Number(),
      opens: Type.Integer({ minimum: 0 }),
    }),
    recentOpens: Numbers,
    trades: Type.Object({
      recent: Numbers,
      winStreak: Type.Integer({ minimum: 0 }),
      lossStreak: Type.Integer({ minimum: 0 }),
      wins: Type.Integer({ minimum: 0 }),
      losses: Type.Integer({ minimum: 0 }),
      grossProfit: Type.Number({ minimum: 0 }),
      grossLoss: Type.Number({ minimum: 0 }),
    }),
    preservation: Type.Object({
      level: PreservationLevelName,
      since: Nullable(Type.Integer()),
      reason: Nullable(Type.String()),
      recovery: Numbers,
      drawdownSamples: Numbers,
      /** Bar close time (ms) from which a time-boxed lockdown lets entries through again; absent before it existed. */
      lockedUntil: Type.Optional(Nullable(Type.Integer())),
    }),
    turnover: Type.Record(
      Type.String(),
      Type.Object({
        lastOpen: Nullable(Type.Number()),
        day: Type.Integer(),
        count: Type.Integer({ minimum: 0 }),
      }),
    ),
    returns: Type.Record(
      Type.String(),
      Type.Object({ prevClose: Nullable(Type.Number()), lastTs: Nullable(Type.Number()), values: Numbers }),
    ),
    raisedHalt: Nullable(Type.String()),
    drawdownBase: Type.Object({
      peak: Nullable(Type.Number()),
      portfolioPeak: Nullable(Type.Number()),
      assessedEquity: Type.Optional(Nullable(Type.Number())),
      assessedPeak: Type.Optional(Nullable(Type.Number())),
    }),
  },
  { $id: 'GuardSnapshot', additionalProperties: false },
);
export type GuardSnapshot = Static<typeof GuardSnapshot>;
