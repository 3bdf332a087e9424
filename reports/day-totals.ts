import type { DecisionRecord } from '../core/schema/decision.ts';

/** Counts and sums over a set of decisions; additive, so a week is exactly the merge of its days. */
export type Totals = {
  decisions: number;
  by_data_mode: Record<string, number>;
  by_symbol: Record<string, number>;
  by_action: Record<string, number>;
  by_regime: Record<string, number>;
  /** Each decision once: `executed`, `blocked: <stage>` (not executed), or `held` (neither). */
  by_outcome: Record<string, number>;
  /** Decisions that produced at least one paper fill, and the fills. */
  executed: number;
  fills: number;
  /** Decisions a stage blocked (the first blocking stage; one record per decision, so no double counts). */
  blocked: number;
  blocks_by_stage: Record<string, number>;
  block_reasons: Record<string, number>;
  costs: { fees: number; slippage: number; spread: number; total: number };
  realized_pnl: number;
  /** Decisions carrying a shadow-advisor recommendation, and how many of those the engine's action matched. */
  advisor: { recommendations: number; agreements: number };
};

export function emptyTotals(): Totals {
  return {
    decisions: 0,
    by_data_mode: {},
    by_symbol: {},
    by_action: {},
    by_regime: {},
    by_outcome: {},
    executed: 0,
    fills: 0,
    blocked: 0,
    blocks_by_stage: {},
    block_reasons: {},
    costs: { fees: 0, slippage: 0, spread: 0, total: 0 },
    realized_pnl: 0,
    advisor: { recommendations: 0, agreements: 0 },
  };
}

const bump = (m: Record<string, number>, key: string, n = 1) => {
  m[key] = (m[key] ?? 0) + n;
};

/** The advisor's action in the engine's vocabulary (the original compared `hold` with `BUY` case-sensitively). */
export function advisorAction(r: DecisionRecord): string | null {
  const a = r.rl_recommendation?.action;
  return typeof a === 'string' ? a.toLowerCase() : null;
}

export function addDecision(t: Totals, r: DecisionRecord): void {
  t.decisions++;
  bump(t.by_data_mode, r.data_mode);
  bump(t.by_symbol, r.symbol);
  bump(t.by_action, r.action);
  bump(t.by_regime, r.market.regime ?? 'unknown');
  if (r.execution) {
    t.executed++;
    t.fills += r.execution.fills.length;
    for (const f of r.execution.fills) t.realized_pnl += f.realized_pnl ?? 0;
  }
  bump(t.by_outcome, r.execution ? 'executed' : r.blocked_stage ? `blocked: ${r.blocked_stage}` : 'held');
  if (r.blocked_stage) {
    t.blocked++;
    bump(t.blocks_by_stage, r.blocked_stage);
    bump(t.block_reasons, `${r.blocked_stage}: ${reasonFamily(r.block_reason)}`);
  }
  t.costs.fees += r.costs.fees;
  t.costs.slippage += r.costs.slippage;
  t.costs.spread += r.costs.spread;
  t.costs.total += r.costs.total;
  const advised = advisorAction(r);
  if (advised !== null) {
    t.advisor.recommendations++;
    if (advised === r.action) t.advisor.agreements++;
  }
}

/** `insufficient_data:37` and `insufficient_data:38` are one reason; the number is an observation. */
export function reasonFamily(reason: string | null): string {
  if (!reason) return 'unspecified';
  const colon = reason.indexOf(':');
  return colon > 0 && /^[\d.]+$/.test(reason.slice(colon + 1)) ? reason.slice(0, colon) : reason;
}

function mergeCounts(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) bump(into, k, v);
}

export function mergeTotals(parts: Totals[]): Totals {
  const t = emptyTotals();
  for (const p of parts) {
    t.decisions += p.decisions;
    mergeCounts(t.by_data_mode, p.by_data_mode);
    mergeCounts(t.by_symbol, p.by_symbol);
    mergeCounts(t.by_action, p.by_action);
    mergeCounts(t.by_regime, p.by_regime);
    mergeCounts(t.by_outcome, p.by_outcome);
    t.executed += p.executed;
    t.fills += p.fills;
    t.blocked += p.blocked;
    mergeCounts(t.blocks_by_stage, p.blocks_by_stage);
    mergeCounts(t.block_reasons, p.block_reasons);
    t.costs.fees += p.costs.fees;
    t.costs.slippage += p.costs.slippage;
    t.costs.spread += p.costs.spread;
    t.costs.total += p.costs.total;
    t.realized_pnl += p.realized_pnl;
    t.advisor.recommendations += p.advisor.recommendations;
    t.advisor.agreements += p.advisor.agreements;
  }
  return t;
}

/** Money rounded for the report (sums of floats differ in the last bits with order), keys sorted. */
export function roundTotals(t: Totals): Totals {
  const r = (n: number) => Math.round(n * 1e6) / 1e6;
  const sorted = (m: Record<string, number>) =>
    Object.fromEntries(Object.entries(m).sort(([a], [b]) => a.localeCompare(b)));
  return {
    ...t,
    by_data_mode: sorted(t.by_data_mode),
    by_symbol: sorted(t.by_symbol),
    by_action: sorted(t.by_action),
    by_regime: sorted(t.by_regime),
    by_outcome: sorted(t.by_outcome),
    blocks_by_stage: sorted(t.blocks_by_stage),
    block_reasons: sorted(t.block_reasons),
    costs: {
      fees: r(t.costs.fees),
      slippage: r(t.costs.slippage),
      spread: r(t.costs.spread),
      total: r(t.costs.total),
    },
    realized_pnl: r(t.realized_pnl),
  };
}

/** The `n` largest entries of a count map, ties broken by name so the list is stable. */
export function topCounts(m: Record<string, number>, n: number): Array<{ key: string; count: number }> {
  return Object.entries(m)
    .sort(([ka, a], [kb, b]) => b - a || ka.localeCompare(kb))
    .slice(0, n)
    .map(([key, count]) => ({ key, count }));
}
