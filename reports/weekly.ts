import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { timeframeToMs } from '../core/market/candles.ts';
import type { DataPaths } from '../core/paths.ts';
import { evaluateCounterfactual } from './counterfactual.ts';
import { DayObserver } from './daily.ts';
import { mergeTotals, roundTotals, topCounts } from './day-totals.ts';
import { scanDecisionLog } from './decision-scan.ts';
import { readPerformance } from './ledger-stats.ts';
import { briefOf, type DecisionBrief, readOutcomes } from './outcomes.ts';
import { addDays, daysOf, weekWindow, windowBounds } from './windows.ts';

export const PROMOTION_WEEKS_REQUIRED = 12;
const YEAR_MS = 365 * 86_400_000;

export const weeklyReportName = (endDay: string) => `weekly_shadow_report_${endDay}.json`;

type PreviousWeek = {
  end: string;
  sharpe: number | null;
  win_rate: number | null;
  net_pnl: number;
  delta_sum: number | null;
  block_rate: number | null;
};

/** The week that ended 7 days earlier, from its evidence file; null when there is none. */
function readPreviousWeek(reportsDir: string, endDay: string): PreviousWeek | null {
  const path = join(reportsDir, weeklyReportName(addDays(endDay, -7)));
  if (!existsSync(path)) return null;
  try {
    const d = (JSON.parse(readFileSync(path, 'utf8')) as { details: WeeklyReport }).details;
    return {
      end: d.week_ending,
      sharpe: d.performance.sharpe,
      win_rate: d.performance.trades.win_rate,
      net_pnl: d.performance.trades.net_pnl,
      delta_sum: d.counterfactual.available ? d.counterfactual.delta_sum : null,
      block_rate: d.data_collection.block_rate,
    };
  } catch {
    return null;
  }
}

/** Earlier weekly reports whose data was paper-live: the 12-week evidence requirement counts these. */
function paperLiveWeeksBefore(reportsDir: string, endDay: string): string[] {
  if (!existsSync(reportsDir)) return [];
  const weeks: string[] = [];
  for (const name of readdirSync(reportsDir)) {
    const m = /^weekly_shadow_report_(\d{4}-\d{2}-\d{2})\.json$/.exec(name);
    if (!m || m[1]! >= endDay) continue;
    try {
      const d = (
        JSON.parse(readFileSync(join(reportsDir, name), 'utf8')) as { details?: { data_mode?: string } }
      ).details;
      if (d?.data_mode === 'PAPER_LIVE') weeks.push(m[1]!);
    } catch {
      // an unreadable report does not count as evidence
    }
  }
  return weeks.sort();
}

function delta(now: number | null, before: number | null): number | null {
  return now === null || before === null ? null : now - before;
}

export type WeeklyReport = Awaited<ReturnType<typeof computeWeekly>>;

/**
 * One week of evidence, computed once: per-day totals (the week's totals are their merge, so
 * they always add up), paper-trading performance from the ledger, the advisor counterfactual
 * from recorded outcomes, edges per symbol and regime, costs, drift and promotion progress.
 */
export async function computeWeekly(paths: DataPaths, week: number, endDay: string, now: Date) {
  const w = weekWindow(endDay);
  const days = new Map(daysOf(w).map((d) => [d, new DayObserver()]));
  const briefs: DecisionBrief[] = [];
  const timeframes: Record<string, number> = {};
  let synthetic = 0;
  const { integrity } = await scanDecisionLog(
    paths.decisions,
    w,
    (r) => {
      days.get(r.bar_ts.slice(0, 10))?.add(r);
      briefs.push(briefOf(r));
      timeframes[r.timeframe] = (timeframes[r.timeframe] ?? 0) + 1;
      if (r.source.synthetic) synthetic++;
    },
    { recentLimit: 0 },
  );
  const dayTotals = [...days.values()].map((d) => d.totals);
  const totals = roundTotals(mergeTotals(dayTotals));
  const paperLive = totals.by_data_mode.PAPER_LIVE ?? 0;
  const dataMode = paperLive > 0 ? 'PAPER_LIVE' : (topCounts(totals.by_data_mode, 1)[0]?.key ?? 'NONE');
  const bounds = windowBounds(w);
  const startMs = Date.parse(bounds.start);
  const endMs = Date.parse(bounds.end);

  const tf = topCounts(timeframes, 1)[0]?.key;
  const outcomes = readOutcomes(
    paths.outcomes,
    new Set(briefs.filter((b) => b.advisor !== null).map((b) => b.id)),
    w,
  );
  const counterfactual = evaluateCounterfactual(briefs, outcomes, tf ? YEAR_MS / timeframeToMs(tf) : 8760);
  const { entries, ...performance } = readPerformance(paths.ledger, startMs, endMs);

  const regimeOf = new Map(briefs.map((b) => [b.id, b.regime]));
  const symbols = [
    ...new Set([...Object.keys(totals.by_symbol), ...Object.keys(performance.by_symbol)]),
  ].sort();
  const symbolEdge = symbols.map((symbol) => {
    const t = performance.by_symbol[symbol];
    return {
      symbol,
      decisions: totals.by_symbol[symbol] ?? 0,
      trades: t?.trades ?? 0,
      net_pnl: t?.net_pnl ?? 0,
      win_rate: t?.win_rate ?? null,
      profit_factor: t?.profit_factor ?? null,
      advisor_delta: counterfactual.by_symbol[symbol]?.delta_sum ?? null,
      edge_positive: (t?.net_pnl ?? 0) > 0,
    };
  });
  const regimePnl: Record<string, { trades: number; net_pnl: number }> = {};
  for (const e of entries) {
    const regime = regimeOf.get(e.entry_decision_id) ?? 'entered before the window';
    const acc = regimePnl[regime] ?? { trades: 0, net_pnl: 0 };
    acc.trades++;
    acc.net_pnl += e.pnl;
    regimePnl[regime] = acc;
  }
  const regimes = [...new Set([...Object.keys(totals.by_regime), ...Object.keys(regimePnl)])].sort();
  const regimeEdge = regimes.map((regime) => ({
    regime,
    decisions: totals.by_regime[regime] ?? 0,
    trades: regimePnl[regime]?.trades ?? 0,
    net_pnl: regimePnl[regime]?.net_pnl ?? 0,
    advisor_delta: counterfactual.by_regime[regime]?.delta_sum ?? null,
    edge_positive: (regimePnl[regime]?.net_pnl ?? 0) > 0,
  }));
  const traded = regimeEdge.filter((r) => r.trades > 0);

  const turnover = performance.turnover.gross;
  const grossProfit = performance.trades.gross_profit;
  const costs = {
    ...totals.costs,
    fills: totals.fills,
    avg_cost_per_fill: totals.fills > 0 ? totals.costs.total / totals.fills : null,
    ledger_fees: performance.trades.fees,
    /** Notional of every fill in the window (quote currency). */
    gross_turnover: turnover,
    /** Costs (fees + slippage + spread) / gross turnover, in percent: what trading costs per unit traded. */
    cost_pct_of_turnover: turnover > 0 ? (totals.costs.total / turnover) * 100 : null,
    /** Costs / gross profit of the winning closed trades, in percent: how much of the edge they ate. */
    cost_pct_of_gross_profit: grossProfit > 0 ? (totals.costs.total / grossProfit) * 100 : null,
  };

  const blockRate = totals.decisions > 0 ? totals.blocked / totals.decisions : null;
  const prev = readPreviousWeek(paths.reportsDir, endDay);
  const drift = prev
    ? {
        previous_week_ending: prev.end,
        sharpe_change: delta(performance.sharpe, prev.sharpe),
        win_rate_change: delta(performance.trades.win_rate, prev.win_rate),
        net_pnl_change: performance.trades.net_pnl - prev.net_pnl,
        advisor_delta_change: delta(
          counterfactual.available ? counterfactual.delta_sum : null,
          prev.delta_sum,
        ),
        block_rate_change: delta(blockRate, prev.block_rate),
      }
    : null;
  const degraded = drift
    ? [
        (drift.sharpe_change ?? 0) < -0.2 && 'Sharpe fell by more than 0.2',
        (drift.win_rate_change ?? 0) < -0.05 && 'win rate fell by more than 5 points',
        drift.net_pnl_change < -100 && 'net P&L fell by more than 100',
      ].filter((x): x is string => typeof x === 'string')
    : [];

  const earlier = paperLiveWeeksBefore(paths.reportsDir, endDay);
  const cf = counterfactual;
  const gate = (name: string, required: string, current: string | number | null, met: boolean) => ({
    gate: name,
    required,
    current,
    met,
  });
  const gates = [
    gate(
      'weeks_collected',
      `${PROMOTION_WEEKS_REQUIRED} weeks of PAPER_LIVE evidence`,
      earlier.length + (dataMode === 'PAPER_LIVE' ? 1 : 0),
      earlier.length + (dataMode === 'PAPER_LIVE' ? 1 : 0) >= PROMOTION_WEEKS_REQUIRED,
    ),
    gate(
      'positive_edge',
      'advisor advantage > 0',
      cf.available ? cf.delta_sum : 'no data',
      cf.available && cf.delta_sum > 0,
    ),
    gate(
      'hit_rate',
      'advisor hit rate ≥ 0.55',
      cf.advisor_hit_rate ?? 'no data',
      (cf.advisor_hit_rate ?? 0) >= 0.55,
    ),
    gate(
      'incremental_sharpe',
      'incremental Sharpe ≥ 0.3',
      cf.incremental_sharpe ?? 'no data',
      (cf.incremental_sharpe ?? 0) >= 0.3,
    ),
    gate(
      'max_drawdown',
      'counterfactual drawdown < 0.05',
      cf.max_drawdown ?? 'no data',
      cf.max_drawdown !== null && cf.max_drawdown < 0.05,
    ),
    gate(
      'paper_profit_factor',
      'paper profit factor ≥ 1.0',
      performance.trades.profit_factor ?? 'no data',
      (performance.trades.profit_factor ?? 0) >= 1,
    ),
    gate('human_signoff', 'recorded approval', 'manual: not recorded by this report', false),
  ];

  return {
    week_number: week,
    week_ending: endDay,
    window: { ...bounds, key: 'bar_ts' as const },
    generated_at: now.toISOString(),
    data_mode: dataMode,
    data_collection: {
      total_decisions: totals.decisions,
      decisions_by_mode: totals.by_data_mode,
      paper_live_decisions: paperLive,
      /** Decisions on generated candles (bundled synthetic files or paper_synthetic): charts say SYNTHETIC. */
      synthetic_decisions: synthetic,
      by_symbol: totals.by_symbol,
      by_regime: totals.by_regime,
      block_rate: blockRate,
      totals,
      daily: daysOf(w).map((d, i) => ({ date: d, totals: roundTotals(dayTotals[i]!) })),
    },
    performance,
    counterfactual,
    outcomes: {
      file: paths.outcomes,
      exists: outcomes.exists,
      lines: outcomes.lines,
      matched: outcomes.matched,
      unreadable: outcomes.unreadable,
      horizons: outcomes.horizons,
    },
    symbol_edge: symbolEdge,
    regime_edge: regimeEdge,
    edge_stable_across_regimes:
      traded.length > 0 ? traded.filter((r) => r.edge_positive).length / traded.length >= 0.6 : null,
    overall_edge_positive: performance.trades.net_pnl > 0,
    costs,
    drift: { previous: drift, degraded },
    promotion: {
      gates,
      met: gates.filter((g) => g.met).length,
      total: gates.length,
      earlier_paper_live_weeks: earlier,
    },
    log: integrity,
  };
}
