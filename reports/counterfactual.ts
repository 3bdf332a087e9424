import { DEFAULT_BROKER } from '../core/broker/paper.ts';
import type { DecisionBrief, OutcomeIndex } from './outcomes.ts';

/** Cost of changing exposure by one unit of notional: fee plus slippage, as the paper broker charges. */
const COST_PER_UNIT = DEFAULT_BROKER.feeRate + DEFAULT_BROKER.slippageRate;
export const SWEEP_THRESHOLDS = [0.5, 0.6, 0.7, 0.8, 0.9];
const MIN_SAMPLE = 30;

type Slice = { evaluated: number; delta_sum: number; advisor_hit_rate: number | null };

export type SweepRow = {
  threshold: number;
  decisions: number;
  advisor_mean_bps: number | null;
  delta_mean_bps: number | null;
  hit_rate: number | null;
  incremental_sharpe: number | null;
};

export type Counterfactual = {
  available: boolean;
  reason: string | null;
  horizon_bars: number | null;
  evaluated: number;
  agreement_rate: number | null;
  advisor_hit_rate: number | null;
  actual_hit_rate: number | null;
  /** Sums of per-decision returns (fractions of notional) after costs. */
  actual_return_sum: number;
  advisor_return_sum: number;
  delta_sum: number;
  delta_mean_bps: number | null;
  /** mean/std of the per-decision advantage, annualised by decisions per year. */
  incremental_sharpe: number | null;
  /** Deepest fall of the cumulative advantage from its peak (fraction of notional). */
  max_drawdown: number | null;
  by_symbol: Record<string, Slice>;
  by_regime: Record<string, Slice>;
  confidence_sweep: { rows: SweepRow[]; best_threshold: number | null; safe_threshold: number | null };
};

/** Full precision (text rounds when it shows them); a value that is not a number is null. */
const finite = (n: number | null) => (n === null || !Number.isFinite(n) ? null : n);

/** Exposure the advisor's action implies: hold keeps what was held before the decision. */
function advisorExposure(action: string, before: number): number {
  if (action === 'buy') return 1;
  if (action === 'short') return -1;
  if (action === 'sell' || action === 'cover') return 0;
  return before;
}

type Row = { b: DecisionBrief; actual: number; advisor: number; delta: number };

function sharpe(deltas: number[], perYear: number): number | null {
  if (deltas.length < 2) return null;
  const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
  const sd = Math.sqrt(deltas.reduce((a, b) => a + (b - mean) ** 2, 0) / (deltas.length - 1));
  return sd > 0 ? finite((mean / sd) * Math.sqrt(perYear)) : null;
}

function slice(rows: Row[]): Slice {
  const active = rows.filter((r) => r.advisor !== 0);
  return {
    evaluated: rows.length,
    delta_sum: finite(rows.reduce((a, r) => a + r.delta, 0)) ?? 0,
    advisor_hit_rate:
      active.length > 0 ? finite(active.filter((r) => r.advisor > 0).length / active.length) : null,
  };
}

function groupBy(rows: Row[], key: (r: Row) => string): Record<string, Slice> {
  const groups = new Map<string, Row[]>();
  for (const r of rows) {
    const list = groups.get(key(r)) ?? [];
    list.push(r);
    groups.set(key(r), list);
  }
  return Object.fromEntries(
    [...groups.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => [k, slice(v)]),
  );
}

/**
 * Actual vs shadow-advisor actions over recorded forward returns: for each decision with both
 * an advisor recommendation and an outcome at `horizon` bars, the return of the exposure each
 * would have held (minus the cost of getting there). The original compared action strings
 * case-sensitively and reused the actual P&L as the counterfactual, so its edge was always 0.
 */
export function evaluateCounterfactual(
  briefs: DecisionBrief[],
  outcomes: OutcomeIndex,
  decisionsPerYear: number,
): Counterfactual {
  const none = (reason: string): Counterfactual => ({
    available: false,
    reason,
    horizon_bars: null,
    evaluated: 0,
    agreement_rate: null,
    advisor_hit_rate: null,
    actual_hit_rate: null,
    actual_return_sum: 0,
    advisor_return_sum: 0,
    delta_sum: 0,
    delta_mean_bps: null,
    incremental_sharpe: null,
    max_drawdown: null,
    by_symbol: {},
    by_regime: {},
    confidence_sweep: { rows: [], best_threshold: null, safe_threshold: null },
  });
  const advised = briefs.filter((b) => b.advisor !== null);
  if (advised.length === 0) return none('no shadow-advisor recommendations in the window');
  if (!outcomes.exists) return none('no recorded outcomes (rl/decision_outcomes.jsonl is missing)');
  const horizon = outcomes.horizons[0];
  if (horizon === undefined) return none('no outcome in the file names a decision of this window');
  const rows: Row[] = [];
  for (const b of [...advised].sort((x, y) => x.bar_ts.localeCompare(y.bar_ts) || x.id.localeCompare(y.id))) {
    const r = outcomes.returns.get(b.id)?.get(horizon);
    if (r === undefined) continue;
    const before = b.action === 'hold' ? b.exposure : 0;
    const adv = advisorExposure(b.advisor!, before);
    const actual = b.exposure * r - Math.abs(b.exposure - before) * COST_PER_UNIT;
    const advisor = adv * r - Math.abs(adv - before) * COST_PER_UNIT;
    rows.push({ b, actual, advisor, delta: advisor - actual });
  }
  if (rows.length === 0) return none(`no outcome at ${horizon} bars for the advised decisions`);
  let cum = 0;
  let peak = 0;
  let maxDd = 0;
  for (const r of rows) {
    cum += r.delta;
    peak = Math.max(peak, cum);
    maxDd = Math.max(maxDd, peak - cum);
  }
  const hit = (xs: number[]) => (xs.length > 0 ? finite(xs.filter((x) => x > 0).length / xs.length) : null);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const sweep: SweepRow[] = SWEEP_THRESHOLDS.map((threshold) => {
    const sel = rows.filter((r) => (r.b.advisor_confidence ?? 0) >= threshold);
    const n = sel.length;
    return {
      threshold,
      decisions: n,
      advisor_mean_bps: n > 0 ? finite((sum(sel.map((r) => r.advisor)) / n) * 1e4) : null,
      delta_mean_bps: n > 0 ? finite((sum(sel.map((r) => r.delta)) / n) * 1e4) : null,
      hit_rate: hit(sel.filter((r) => r.advisor !== 0).map((r) => r.advisor)),
      incremental_sharpe: sharpe(
        sel.map((r) => r.delta),
        decisionsPerYear,
      ),
    };
  });
  const eligible = sweep.filter((s) => s.decisions >= MIN_SAMPLE && s.incremental_sharpe !== null);
  const best = eligible.sort((a, b) => (b.incremental_sharpe ?? 0) - (a.incremental_sharpe ?? 0))[0];
  const safe = [...sweep]
    .reverse()
    .find((s) => s.decisions >= MIN_SAMPLE && (s.incremental_sharpe ?? 0) > 0 && (s.hit_rate ?? 0) > 0.55);
  const deltas = rows.map((r) => r.delta);
  return {
    available: true,
    reason: null,
    horizon_bars: horizon,
    evaluated: rows.length,
    agreement_rate: finite(rows.filter((r) => r.b.advisor === r.b.action).length / rows.length),
    advisor_hit_rate: hit(rows.filter((r) => r.advisor !== 0).map((r) => r.advisor)),
    actual_hit_rate: hit(rows.filter((r) => r.actual !== 0).map((r) => r.actual)),
    actual_return_sum: finite(sum(rows.map((r) => r.actual))) ?? 0,
    advisor_return_sum: finite(sum(rows.map((r) => r.advisor))) ?? 0,
    delta_sum: finite(sum(deltas)) ?? 0,
    delta_mean_bps: finite((sum(deltas) / rows.length) * 1e4),
    incremental_sharpe: sharpe(deltas, decisionsPerYear),
    max_drawdown: finite(maxDd),
    by_symbol: groupBy(rows, (r) => r.b.symbol),
    by_regime: groupBy(rows, (r) => r.b.regime),
    confidence_sweep: {
      rows: sweep,
      best_threshold: best?.threshold ?? null,
      safe_threshold: safe?.threshold ?? null,
    },
  };
}
