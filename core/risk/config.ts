import { readFileSync } from 'node:fs';
import { configError } from '../errors.ts';
import { validate } from '../schema/ajv.ts';
import { RiskConfig } from '../schema/risk.ts';

/** The defaults every risk component starts from (original §6.1, §6.3, §6.4). */
export const RISK_DEFAULTS: RiskConfig = {
  budget: {
    baseRiskPct: 0.01,
    minRiskPct: 0.002,
    maxRiskPct: 0.02,
    maxPositionPct: 0.2,
    maxTotalExposurePct: 1,
    maxCorrelatedExposurePct: 0.5,
    highCorrelation: 0.7,
    varConfidence: 0.95,
    varHorizonHours: 24,
    maxVarPct: 0.05,
    stopVolMultiple: 2,
    minStopPct: 0.01,
    maxStopPct: 0.1,
    recommendedFraction: 0.7,
    kellyEnabled: false,
    kellyFraction: 0.25,
    kellyMinTrades: 30,
    winBoostAfter: 3,
    winBoostStep: 0.07,
    winBoostMaxSteps: 3,
    winBoostCap: 1.2,
    lossReduceAfter: 2,
    lossReduceFactor: 0.5,
    lossReduceFloor: 0.1,
  },
  turnover: {
    minIntervalMinutes: 15,
    maxDecisionsPerDay: 10,
    minEvRatio: 2,
    feeBps: 10,
    slippageBps: 5,
    symbolOverrides: { BTC: { minIntervalMinutes: 30, maxDecisionsPerDay: 6, minEvRatio: 2.5 } },
  },
  preservation: {
    windowTrades: 20,
    minTradesForStats: 10,
    profitFactor: { cautious: 1, defensive: 0.85, critical: 0.7 },
    winRate: { cautious: 0.45, defensive: 0.35 },
    drawdown: { cautious: 0.03, critical: 0.05, lockdown: 0.08 },
    drawdownSlopePerHour: { cautious: 0.01, defensive: 0.02 },
    lossStreak: { cautious: 3, defensive: 5, critical: 7 },
    recovery: { minTrades: 5, minWinRate: 0.6, minProfitFactor: 1.2, maxDrawdown: 0.03 },
    lock: { stopDurationCandles: 24 },
  },
};

type DeepPartial<T> = { [K in keyof T]?: T[K] extends Record<string, unknown> ? DeepPartial<T[K]> : T[K] };
export type RiskOverrides = DeepPartial<RiskConfig>;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Overrides laid over defaults, nested objects merged key by key (so one threshold can change alone). */
function mergeDeep(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeDeep(base[k], v);
  return out;
}

/**
 * Defaults plus layers of overrides (later layers win), checked: a wrong type, an out-of-range value, an unknown key or an
 * inconsistent pair (minimum above maximum, thresholds out of order) is a configuration error
 * (exit 78) naming the field, never a silent default.
 */
export function resolveRiskConfig(...layers: (RiskOverrides | Record<string, unknown>)[]): RiskConfig {
  const merged = layers.reduce<unknown>((acc, layer) => mergeDeep(acc, layer), RISK_DEFAULTS);
  const checked = validate(RiskConfig, merged);
  if (!checked.ok) {
    throw configError(
      `risk config is invalid: ${checked.errors.join('; ')}`,
      'fix the named field or drop it to use the default',
    );
  }
  const problem = inconsistency(checked.value);
  if (problem)
    throw configError(
      `risk config is inconsistent: ${problem}`,
      'fix the named fields or drop them to use the defaults',
    );
  return checked.value;
}

function inconsistency(c: RiskConfig): string | null {
  const b = c.budget;
  if (b.minRiskPct > b.baseRiskPct || b.baseRiskPct > b.maxRiskPct) {
    return `budget.minRiskPct ≤ budget.baseRiskPct ≤ budget.maxRiskPct must hold (got ${b.minRiskPct}, ${b.baseRiskPct}, ${b.maxRiskPct})`;
  }
  if (b.minStopPct > b.maxStopPct)
    return `budget.minStopPct (${b.minStopPct}) is above budget.maxStopPct (${b.maxStopPct})`;
  const p = c.preservation;
  if (p.minTradesForStats > p.windowTrades) {
    return `preservation.minTradesForStats (${p.minTradesForStats}) exceeds preservation.windowTrades (${p.windowTrades})`;
  }
  const pf = p.profitFactor;
  if (!(pf.cautious >= pf.defensive && pf.defensive >= pf.critical))
    return 'preservation.profitFactor must fall from cautious to defensive to critical';
  if (p.winRate.cautious < p.winRate.defensive)
    return 'preservation.winRate.cautious must be ≥ preservation.winRate.defensive';
  const dd = p.drawdown;
  if (!(dd.cautious <= dd.critical && dd.critical <= dd.lockdown))
    return 'preservation.drawdown must rise from cautious to critical to lockdown';
  if (p.drawdownSlopePerHour.cautious > p.drawdownSlopePerHour.defensive)
    return 'preservation.drawdownSlopePerHour.cautious must be ≤ its defensive value';
  const ls = p.lossStreak;
  if (!(ls.cautious <= ls.defensive && ls.defensive <= ls.critical))
    return 'preservation.lossStreak must rise from cautious to defensive to critical';
  return null;
}

/** `atl run --risk-config FILE`: a JSON object of overrides; a missing, unparsable or invalid file is a configuration error. */
export function loadRiskOverrides(path: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw configError(
      `cannot read risk config ${path}: ${(err as Error).message}`,
      'give a readable JSON file such as {"preservation": {"drawdown": {"lockdown": 0.1}}}',
      err,
    );
  }
  if (!isPlainObject(value))
    throw configError(
      `risk config ${path} must hold a JSON object`,
      'see the README section "Risk and promotion" for its keys',
    );
  return value;
}

export type TurnoverOverrides = { minRatio: number; maxDaily: number; line: string };

/**
 * `PAPER_LIVE_TURNOVER_MIN_RATIO` (default 2.0) and `PAPER_LIVE_TURNOVER_MAX_DAILY` (default 10),
 * which apply in paper_live_data. A value that is set but not valid is a configuration error.
 */
export function paperLiveTurnoverOverrides(env: NodeJS.ProcessEnv = process.env): TurnoverOverrides {
  const ratioText = env.PAPER_LIVE_TURNOVER_MIN_RATIO?.trim();
  const dailyText = env.PAPER_LIVE_TURNOVER_MAX_DAILY?.trim();
  const minRatio = ratioText ? Number(ratioText) : 2;
  const maxDaily = dailyText ? Number(dailyText) : 10;
  if (!Number.isFinite(minRatio) || minRatio <= 0) {
    throw configError(
      `PAPER_LIVE_TURNOVER_MIN_RATIO must be a number > 0 (got "${ratioText}")`,
      'set it to e.g. 2.0, or unset it for the default 2.0',
    );
  }
  if (!Number.isInteger(maxDaily) || maxDaily < 1) {
    throw configError(
      `PAPER_LIVE_TURNOVER_MAX_DAILY must be a whole number ≥ 1 (got "${dailyText}")`,
      'set it to e.g. 10, or unset it for the default 10',
    );
  }
  const shown = Number.isInteger(minRatio) ? minRatio.toFixed(1) : String(minRatio);
  return {
    minRatio,
    maxDaily,
    line: `Paper-live turnover overrides: min_ratio=${shown} max_daily=${maxDaily}`,
  };
}

/** The turnover config with the paper-live overrides applied to every symbol. */
export function withTurnoverOverrides(config: RiskConfig, o: TurnoverOverrides): RiskConfig {
  const symbolOverrides = Object.fromEntries(
    Object.entries(config.turnover.symbolOverrides).map(([k, v]) => [
      k,
      { ...v, minEvRatio: o.minRatio, maxDecisionsPerDay: o.maxDaily },
    ]),
  );
  return {
    ...config,
    turnover: { ...config.turnover, minEvRatio: o.minRatio, maxDecisionsPerDay: o.maxDaily, symbolOverrides },
  };
}
