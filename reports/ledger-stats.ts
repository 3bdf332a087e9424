import type { Database } from 'bun:sqlite';
import { existsSync } from 'node:fs';
import { EQUITY_CURVE, openForReading } from '../core/ledger/ledger.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
const HOURS_PER_YEAR = 24 * 365; // crypto trades every hour of the year
/** Annualised ratios from fewer days of equity are noise (a week of hourly returns × √8760 reads as ±40). */
export const MIN_RATIO_DAYS = 30;

export type TradeStats = {
  trades: number;
  wins: number;
  losses: number;
  win_rate: number | null;
  gross_profit: number;
  gross_loss: number;
  /** gross profit / gross loss; null without a losing trade (infinite is not a number a report can hold). */
  profit_factor: number | null;
  net_pnl: number;
  fees: number;
  avg_pnl: number | null;
};

export type EquityPoint = { ts: number; equity: number; drawdown: number };

export type Performance = {
  available: boolean;
  reason: string | null;
  trades: TradeStats;
  by_symbol: Record<string, TradeStats>;
  /** Trade P&L keyed by the entry decision, for per-regime attribution. */
  entries: Array<{ entry_decision_id: string; symbol: string; pnl: number }>;
  equity: { start: number | null; end: number | null; return_pct: number | null; points: number };
  /** Gross turnover: the notional of every fill in the window (quote currency), and their count. */
  turnover: { gross: number; fills: number };
  /** Days the equity curve spans; annualised ratios need MIN_RATIO_DAYS (people see "insufficient" below it). */
  ratio_sample_days: number;
  ratios_sufficient: boolean;
  /** From hourly equity returns, annualised over 8,760 hours. */
  sharpe: number | null;
  sortino: number | null;
  calmar: number | null;
  max_drawdown_pct: number | null;
  /** Hourly equity and drawdown (fraction below the running peak) for the chart. */
  curve: EquityPoint[];
};

type TradeRow = { symbol: string; pnl: number; fees: number; entry_decision_id: string };

export function tradeStats(rows: Array<{ pnl: number; fees: number }>): TradeStats {
  let wins = 0;
  let losses = 0;
  let gp = 0;
  let gl = 0;
  let fees = 0;
  for (const t of rows) {
    if (t.pnl > 0) {
      wins++;
      gp += t.pnl;
    } else if (t.pnl < 0) {
      losses++;
      gl -= t.pnl;
    }
    fees += t.fees;
  }
  const n = rows.length;
  return {
    trades: n,
    wins,
    losses,
    win_rate: n > 0 ? wins / n : null,
    gross_profit: gp,
    gross_loss: gl,
    profit_factor: gl > 0 ? gp / gl : null,
    net_pnl: gp - gl,
    fees: fees,
    avg_pnl: n > 0 ? (gp - gl) / n : null,
  };
}

function meanStd(xs: number[]): { mean: number; std: number; downside: number } {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const variance = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, xs.length - 1);
  const downside = Math.sqrt(xs.reduce((a, b) => a + Math.min(0, b) ** 2, 0) / xs.length);
  return { mean, std: Math.sqrt(variance), downside };
}

/** Last equity of each UTC hour, so Sharpe does not depend on how often the engine sampled. */
function hourly(rows: Array<{ ts: number; equity: number }>): Array<{ ts: number; equity: number }> {
  const out: Array<{ ts: number; equity: number }> = [];
  for (const r of rows) {
    const hour = Math.floor(r.ts / HOUR_MS) * HOUR_MS;
    if (out.at(-1)?.ts === hour) out[out.length - 1]!.equity = r.equity;
    else out.push({ ts: hour, equity: r.equity });
  }
  return out;
}

/**
 * Paper-trading performance in `[startMs, endMs)` from the ledger, opened read-only: closed
 * trades (by exit time) and the equity curve. Ratios are null when the data cannot support them.
 */
export function readPerformance(ledgerPath: string, startMs: number, endMs: number): Performance {
  const empty: Performance = {
    available: false,
    reason: null,
    trades: tradeStats([]),
    by_symbol: {},
    entries: [],
    equity: { start: null, end: null, return_pct: null, points: 0 },
    turnover: { gross: 0, fills: 0 },
    ratio_sample_days: 0,
    ratios_sufficient: false,
    sharpe: null,
    sortino: null,
    calmar: null,
    max_drawdown_pct: null,
    curve: [],
  };
  if (!existsSync(ledgerPath)) return { ...empty, reason: `no ledger at ${ledgerPath}` };
  let db: Database;
  try {
    db = openForReading(ledgerPath, { snapshot: true });
  } catch (err) {
    return { ...empty, reason: `cannot open the ledger read-only: ${(err as Error).message}` };
  }
  try {
    const startIso = new Date(startMs).toISOString();
    const endIso = new Date(endMs).toISOString();
    const trades = db
      .query<TradeRow, [string, string]>(
        'SELECT symbol, pnl, fees, entry_decision_id FROM trades WHERE exit_ts >= ? AND exit_ts < ? ORDER BY id',
      )
      .all(startIso, endIso);
    const eq = db
      .query<{ ts: number; equity: number }, [number, number]>(
        `SELECT ts, equity FROM ${EQUITY_CURVE} WHERE ts >= ? AND ts < ? ORDER BY ts`,
      )
      .all(startMs, endMs);
    const turnover = db
      .query<{ gross: number; n: number }, [string, string]>(
        'SELECT coalesce(sum(abs(quantity * price)), 0) AS gross, count(*) AS n FROM fills WHERE ts >= ? AND ts < ?',
      )
      .get(startIso, endIso) ?? { gross: 0, n: 0 };
    const bySymbol: Record<string, TradeRow[]> = {};
    for (const t of trades) {
      const list = bySymbol[t.symbol] ?? [];
      list.push(t);
      bySymbol[t.symbol] = list;
    }
    const hours = hourly(eq);
    let peak = Number.NEGATIVE_INFINITY;
    let maxDd = 0;
    const curve = hours.map((h) => {
      peak = Math.max(peak, h.equity);
      const dd = peak > 0 ? (peak - h.equity) / peak : 0;
      maxDd = Math.max(maxDd, dd);
      return { ts: h.ts, equity: h.equity, drawdown: dd };
    });
    const returns = hours.slice(1).map((h, i) => h.equity / hours[i]!.equity - 1);
    const first = hours[0]?.equity ?? null;
    const last = hours.at(-1)?.equity ?? null;
    const totalReturn = first && last ? last / first - 1 : null;
    const sampleDays = hours.length > 1 ? (hours.at(-1)!.ts - hours[0]!.ts) / DAY_MS : 0;
    let sharpe: number | null = null;
    let sortino: number | null = null;
    let calmar: number | null = null;
    if (returns.length >= 2) {
      const { mean, std, downside } = meanStd(returns);
      const annual = Math.sqrt(HOURS_PER_YEAR);
      sharpe = std > 0 ? (mean / std) * annual : null;
      sortino = downside > 0 ? (mean / downside) * annual : null;
      const annualReturn = (1 + mean) ** HOURS_PER_YEAR - 1;
      calmar = maxDd > 0 && Number.isFinite(annualReturn) ? annualReturn / maxDd : null;
    }
    return {
      available: true,
      reason: null,
      trades: tradeStats(trades),
      by_symbol: Object.fromEntries(Object.entries(bySymbol).map(([s, rows]) => [s, tradeStats(rows)])),
      entries: trades.map((t) => ({ entry_decision_id: t.entry_decision_id, symbol: t.symbol, pnl: t.pnl })),
      equity: {
        start: first,
        end: last,
        return_pct: totalReturn === null ? null : totalReturn * 100,
        points: eq.length,
      },
      turnover: { gross: turnover.gross, fills: turnover.n },
      ratio_sample_days: sampleDays,
      ratios_sufficient: sampleDays >= MIN_RATIO_DAYS,
      sharpe,
      sortino,
      calmar,
      max_drawdown_pct: hours.length > 0 ? maxDd * 100 : null,
      curve,
    };
  } catch (err) {
    return { ...empty, reason: `cannot read the ledger: ${(err as Error).message}` };
  } finally {
    db.close();
  }
}
