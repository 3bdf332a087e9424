import type { EntryVerdict } from '../engine/stages.ts';
import { r2, r6 } from '../round.ts';
import type { GateStage } from '../schema/decision.ts';
import type { PreservationLevel } from '../schema/risk.ts';
import type { IndicatorSet } from '../signals/indicator-set.ts';
import type { Restrictions } from './preservation.ts';
import type { Regime, RiskBudget } from './risk-budget.ts';

/** The entry stages in pipeline order (SPEC §3 steps 6–8, then sizing). */
export const ENTRY_STAGES = ['turnover', 'risk_budget', 'preservation', 'safety', 'sizing'] as const;
export type EntryStage = (typeof ENTRY_STAGES)[number];

const notEvaluated = (stage: EntryStage): GateStage =>
  Object.freeze({
    stage,
    verdict: 'skip',
    reason: 'not_reached',
    observed: null,
    thresholds: null,
  }) as GateStage;

/** The stages after a blocking one, recorded as skipped (shared frozen objects: no allocation per bar). */
export const SKIPPED_AFTER: Record<EntryStage, readonly GateStage[]> = Object.fromEntries(
  ENTRY_STAGES.map((s, i) => [s, Object.freeze(ENTRY_STAGES.slice(i + 1).map(notEvaluated))]),
) as Record<EntryStage, readonly GateStage[]>;

/** The verdict of an entry blocked at `stage` (its gate the last in `gates`): the stages after it are recorded as skipped. */
export function blockedAt(
  stage: EntryStage,
  gates: GateStage[],
  turnover: Record<string, unknown>,
  riskBudget: Record<string, unknown> | null,
): EntryVerdict {
  const blocked = gates[gates.length - 1]!;
  for (const g of SKIPPED_AFTER[stage]) gates.push(g);
  return { gates, blocked, notional: null, turnover, riskBudget };
}

/** Market regime from the indicators when the signal stage names none (leverage caps and tiers key on it). */
export function regimeOf(ind: IndicatorSet): Regime {
  if (!ind.warm) return 'unknown';
  if (ind.momentum10 < -0.1) return 'CRASH';
  if (ind.volatilityLabel === 'high') return 'HIGH_VOL';
  const adx = ind.adx.value;
  const trend = ind.trend;
  if (adx >= 25 && trend === 'up') return adx >= 40 ? 'STRONG_BULL' : 'BULL';
  if (adx >= 25 && trend === 'down') return adx >= 40 ? 'STRONG_BEAR' : 'BEAR';
  return ind.volatilityLabel === 'low' && adx < 20 ? 'LOW_VOL' : 'SIDEWAYS';
}

export function budgetGate(budget: RiskBudget, maxRiskPct: number): GateStage {
  const reason =
    budget.recommended_position_usd > 0
      ? null
      : budget.tier === 'ZERO'
        ? 'risk_tier_zero'
        : budget.adjustments.includes('var_cap')
          ? 'var_limit'
          : 'risk_budget_exhausted';
  return {
    stage: 'risk_budget',
    verdict: reason ? 'block' : 'pass',
    reason,
    observed: {
      tier: budget.tier,
      max_risk_usd: budget.max_risk_usd,
      recommended_position_usd: budget.recommended_position_usd,
      var_usd: budget.var_usd,
    },
    thresholds: { max_risk_pct: maxRiskPct, max_var_usd: budget.var_limit_usd },
  };
}

export function preservationGate(
  level: PreservationLevel,
  r: Restrictions,
  confidence: number,
  sinceMs: number | null,
  lockedUntilMs: number | null = null,
): GateStage {
  const reason =
    r.size === 0
      ? `preservation_${level}`
      : confidence < r.minConfidence
        ? 'preservation_min_confidence'
        : null;
  return {
    stage: 'preservation',
    verdict: reason ? 'block' : 'pass',
    reason,
    observed: {
      level,
      confidence: r6(confidence),
      since: sinceMs === null ? null : new Date(sinceMs).toISOString(),
      ...(lockedUntilMs === null ? {} : { locked_until: new Date(lockedUntilMs).toISOString() }),
    },
    thresholds: { min_confidence: r.minConfidence, size_multiplier: r.size, leverage_multiplier: r.leverage },
  };
}

export function autoHaltGate(reason: string): GateStage {
  return {
    stage: 'safety',
    verdict: 'block',
    reason: 'auto_halt',
    observed: { halt_reason: reason },
    thresholds: null,
  };
}

export function sizingGate(
  notional: number,
  budgetUsd: number,
  capUsd: number,
  minNotional: number,
): GateStage {
  const reason = notional < minNotional ? 'size_below_minimum' : null;
  return {
    stage: 'sizing',
    verdict: reason ? 'block' : 'pass',
    reason,
    observed: {
      notional: r2(notional),
      budget_usd: budgetUsd,
      limit_usd: Number.isFinite(capUsd) ? r2(capUsd) : null,
    },
    thresholds: { min_notional: minNotional },
  };
}
