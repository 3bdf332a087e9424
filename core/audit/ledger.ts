import { existsSync } from 'node:fs';
import { unknownError } from '../errors.ts';
import { openLedgerReadOnly } from '../modes/ledger-stats.ts';

/** What the ledger's own tables and its last checkpoint say, for comparison with the decision log. */
export type LedgerFacts = {
  path: string;
  exists: boolean;
  checkpoint: {
    initial_capital: number;
    cash: number;
    realized_pnl: number;
    fees_paid: number;
    total_trades: number;
    decisions_total: number;
    last_bar_ts: Record<string, string>;
  } | null;
  fills: { count: number; fees: number; realized: number; closes: number; cashflow: number };
  trades: { count: number; pnl: number };
  /** Fills whose order the orders table does not hold. */
  orphan_fills: number;
  /** Per decision id: how many fills, and their quantity and fees. */
  byDecision: Map<string, { symbol: string; fills: number; quantity: number; fee: number }>;
};

/** Read the ledger's totals (read-only); a missing or unreadable ledger throws an exit-3 error. */
export function readLedgerFacts(path: string): LedgerFacts {
  if (!existsSync(path))
    return {
      path,
      exists: false,
      checkpoint: null,
      fills: { count: 0, fees: 0, realized: 0, closes: 0, cashflow: 0 },
      trades: { count: 0, pnl: 0 },
      orphan_fills: 0,
      byDecision: new Map(),
    };
  const ledger = openLedgerReadOnly(path);
  try {
    const db = ledger.db;
    const fills = db
      .query<LedgerFacts['fills'], []>(
        `SELECT count(*) AS count, coalesce(sum(fee), 0) AS fees, coalesce(sum(realized_pnl), 0) AS realized,
           count(realized_pnl) AS closes,
           coalesce(sum(CASE WHEN side = 'buy' THEN -price * quantity - fee ELSE price * quantity - fee END), 0) AS cashflow
         FROM fills`,
      )
      .get()!;
    const trades = db
      .query<LedgerFacts['trades'], []>('SELECT count(*) AS count, coalesce(sum(pnl), 0) AS pnl FROM trades')
      .get()!;
    const orphan = db
      .query<{ n: number }, []>(
        'SELECT count(*) AS n FROM fills WHERE order_id NOT IN (SELECT id FROM orders)',
      )
      .get()!;
    const byDecision = new Map<string, { symbol: string; fills: number; quantity: number; fee: number }>();
    const rows = db.query<
      { decision_id: string; symbol: string; fills: number; quantity: number; fee: number },
      []
    >(
      'SELECT decision_id, symbol, count(*) AS fills, sum(quantity) AS quantity, sum(fee) AS fee FROM fills GROUP BY decision_id',
    );
    for (const r of rows.iterate()) byDecision.set(r.decision_id, r);
    return {
      path,
      exists: true,
      checkpoint: ledger.getMeta<NonNullable<LedgerFacts['checkpoint']>>('checkpoint'),
      fills,
      trades,
      orphan_fills: orphan.n,
      byDecision,
    };
  } catch (err) {
    throw unknownError(
      `ledger ${path} could not be read: ${(err as Error).message}`,
      'check the file is the engine’s SQLite ledger (not truncated or overwritten)',
      err,
    );
  } finally {
    ledger.db.close();
  }
}
