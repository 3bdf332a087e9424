import { Portfolio } from '../broker/portfolio.ts';
import type { Ledger } from '../ledger/ledger.ts';
import type { ModeName } from '../schema/common.ts';
import type { PositionState } from '../schema/state.ts';
import type { InboxState } from './order-inbox.ts';
import type { DailyCounters } from './snapshots.ts';

/**
 * What the engine commits to the ledger's `checkpoint` meta row with the rows of the same
 * transaction, and resumes from: the portfolio's totals (its positions are ledger rows), the
 * last bar decided per symbol, the daily counters and each stage's own state.
 */
export type Checkpoint = PortfolioCheckpoint & {
  mode: ModeName;
  last_bar_ts: Record<string, string>;
  decisions_total: number;
  mode_started_at: string;
  daily: DailyCounters;
  /** The entry guard's own state (risk counters, preservation level); absent in ledgers from before it existed. */
  risk?: unknown;
  /** How far `order_requests.jsonl` has been read, and limit orders still waiting. */
  order_inbox?: InboxState;
  /** The signal stage's learned state (the shadow advisor). */
  signal?: unknown;
  /** Observers' own state by their `stateKey` (the outcome recorder's open horizons and trades). */
  observers?: Record<string, unknown>;
};

type PortfolioCheckpoint = {
  initial_capital: number;
  cash: number;
  peak_equity: number;
  max_drawdown_pct: number;
  realized_pnl: number;
  fees_paid: number;
  total_trades: number;
  winning_trades: number;
  losing_trades: number;
};

/** The portfolio's totals as the checkpoint keeps them. */
export function portfolioCheckpoint(p: Portfolio): PortfolioCheckpoint {
  return {
    initial_capital: p.initialCapital,
    cash: p.cash,
    peak_equity: p.peakEquity,
    max_drawdown_pct: p.maxDrawdownPct,
    realized_pnl: p.realizedPnl,
    fees_paid: p.feesPaid,
    total_trades: p.totalTrades,
    winning_trades: p.winningTrades,
    losing_trades: p.losingTrades,
  };
}

/** The portfolio a checkpoint and the ledger's position rows describe, marked at each position's last price. */
export function restorePortfolio(cp: Checkpoint, rows: ReturnType<Ledger['positions']>): Portfolio {
  const p = new Portfolio(cp.initial_capital, cp.cash, cp.peak_equity);
  p.maxDrawdownPct = cp.max_drawdown_pct;
  p.realizedPnl = cp.realized_pnl;
  p.feesPaid = cp.fees_paid;
  p.totalTrades = cp.total_trades;
  p.winningTrades = cp.winning_trades;
  p.losingTrades = cp.losing_trades;
  for (const r of rows) {
    const pos: PositionState = { ...r, unrealized_pnl: 0 };
    p.positions.set(r.symbol, pos);
    p.mark(r.symbol, r.last_price);
  }
  return p;
}
