import { existsSync } from 'node:fs';
import { unknownError } from '../errors.ts';
import { EQUITY_CURVE, equityRepeats, Ledger } from '../ledger/ledger.ts';
import { profitFactor } from '../risk/trade-stats.ts';
import { MODES, type ModeName } from '../schema/common.ts';
import { PRESERVATION_LEVELS, type PreservationLevel } from '../schema/risk.ts';

/** The record a promotion is judged on, computed from the ledger (never from a placeholder). */
export type ModeStats = {
  mode: ModeName;
  modeStartedAt: string;
  daysInMode: number;
  trades: number;
  wins: number;
  losses: number;
  winRate: number;
  grossProfit: number;
  grossLoss: number;
  /** Gross profit / gross loss; Infinity with profits and no losses, 0 without trades. */
  profitFactor: number;
  totalPnl: number;
  /** Mean net P&L per closed trade as a share of its entry notional, in basis points (0 without trades). */
  expectancyBps: number;
  maxDrawdown: number;
  /** The entry guard's level at the last checkpoint (null in ledgers from before it existed). */
  preservationLevel: PreservationLevel | null;
};

export type Approval = {
  ts: string;
  from_mode: string | null;
  to_mode: string;
  approver: string;
  stats_json: string;
};

type CheckpointView = {
  mode?: string;
  mode_started_at?: string;
  max_drawdown_pct?: number;
  risk?: { preservation?: { level?: string } };
};

const DAY_MS = 86_400_000;

/** Open the ledger read-only; a missing or unreadable ledger is "could not evaluate" (exit 3). */
export function openLedgerReadOnly(path: string): Ledger {
  if (!existsSync(path)) {
    throw unknownError(
      `no ledger at ${path}`,
      'run the engine on this data root first (`npx atl run`), or point --data-dir at the data root of the mode to judge',
    );
  }
  try {
    const ledger = new Ledger(path, { readonly: true });
    ledger.db.query('SELECT count(*) FROM trades').get();
    return ledger;
  } catch (err) {
    throw unknownError(
      `ledger ${path} is unreadable: ${(err as Error).message}`,
      'check the file is the engine’s SQLite ledger (not truncated or overwritten)',
      err,
    );
  }
}

export function readModeStats(ledger: Ledger, now = Date.now()): ModeStats {
  const checkpoint = ledger.getMeta<CheckpointView>('checkpoint');
  const lastEntry = ledger.db
    .query<{ ts: string; to_mode: string }, []>(
      "SELECT ts, to_mode FROM mode_history WHERE reason != 'approval' ORDER BY id DESC LIMIT 1",
    )
    .get();
  const modeName = checkpoint?.mode ?? lastEntry?.to_mode;
  if (!modeName || !(MODES as readonly string[]).includes(modeName)) {
    throw unknownError(
      'the ledger records no run (no checkpoint, no mode history)',
      'run the engine on this data root first',
    );
  }
  const mode = modeName as ModeName;
  const modeStartedAt = checkpoint?.mode_started_at ?? lastEntry?.ts ?? new Date(now).toISOString();
  const t = ledger.db
    .query<{ n: number; wins: number; gp: number; gl: number; pnl: number; avg_pct: number }, [string]>(
      'SELECT count(*) AS n, coalesce(sum(pnl > 0), 0) AS wins, coalesce(sum(CASE WHEN pnl > 0 THEN pnl END), 0) AS gp, coalesce(-sum(CASE WHEN pnl <= 0 THEN pnl END), 0) AS gl, coalesce(sum(pnl), 0) AS pnl, coalesce(avg(pnl_pct), 0) AS avg_pct FROM trades WHERE mode = ?',
    )
    .get(mode)!;
  const maxDrawdown =
    equityRepeats(ledger.db) > 0
      ? repeatedCurveDrawdown(ledger, mode)
      : Math.max(
          checkpoint?.max_drawdown_pct ?? 0,
          ledger.db
            .query<{ dd: number | null }, [string]>(
              'SELECT max(drawdown_pct) AS dd FROM equity WHERE mode = ?',
            )
            .get(mode)?.dd ?? 0,
        );
  const level = checkpoint?.risk?.preservation?.level;
  return {
    mode,
    modeStartedAt,
    daysInMode: Math.max(0, (now - Date.parse(modeStartedAt)) / DAY_MS),
    trades: t.n,
    wins: t.wins,
    losses: t.n - t.wins,
    winRate: t.n > 0 ? t.wins / t.n : 0,
    grossProfit: t.gp,
    grossLoss: t.gl,
    profitFactor: profitFactor(t.gp, t.gl),
    totalPnl: t.pnl,
    expectancyBps: t.avg_pct * 10_000,
    maxDrawdown,
    preservationLevel: (PRESERVATION_LEVELS as readonly string[]).includes(level ?? '')
      ? (level as PreservationLevel)
      : null,
  };
}

/**
 * A ledger whose resumes re-added replayed bars: its drawdowns (rows and checkpoint) were taken
 * against a peak that stale marks could raise, so the drawdown is recomputed from the equity of
 * each bar's own row, against the running peak.
 */
function repeatedCurveDrawdown(ledger: Ledger, mode: ModeName): number {
  let peak = Number.NEGATIVE_INFINITY;
  let max = 0;
  for (const { equity } of ledger.db
    .query<{ equity: number }, [string]>(`SELECT equity FROM ${EQUITY_CURVE} WHERE mode = ? ORDER BY ts`)
    .iterate(mode)) {
    if (equity > peak) peak = equity;
    if (peak > 0) max = Math.max(max, (peak - equity) / peak);
  }
  return max;
}

/** Approvals for this step recorded since the mode started. */
export function approvalsFor(ledger: Ledger, from: ModeName, to: ModeName, since: string): Approval[] {
  return ledger.db
    .query<Approval, [string, string, string]>(
      "SELECT ts, from_mode, to_mode, approver, stats_json FROM mode_history WHERE reason = 'approval' AND from_mode = ? AND to_mode = ? AND approver IS NOT NULL AND ts >= ? ORDER BY id",
    )
    .all(from, to, since);
}

/** Record an approval (approver and the stats it was given on) in the ledger's mode history. */
export function recordApproval(
  ledgerPath: string,
  from: ModeName,
  to: ModeName,
  approver: string,
  stats: ModeStats,
): Approval {
  const row = {
    ts: new Date().toISOString(),
    from_mode: from,
    to_mode: to,
    reason: 'approval',
    approver,
    stats_json: JSON.stringify(statsForHistory(stats)),
  };
  const ledger = new Ledger(ledgerPath);
  try {
    ledger.modeHistory(row);
    ledger.commit();
  } finally {
    ledger.close();
  }
  return row;
}

/**
 * The stats as the mode history keeps them (original: total_trades, win_rate, total_pnl,
 * max_drawdown, days_in_mode), at full precision: evidence is rounded only where people read it.
 */
export function statsForHistory(s: ModeStats): Record<string, number | string | null> {
  return {
    total_trades: s.trades,
    win_rate: s.winRate,
    total_pnl: s.totalPnl,
    gross_profit: s.grossProfit,
    gross_loss: s.grossLoss,
    profit_factor: Number.isFinite(s.profitFactor) ? s.profitFactor : null,
    expectancy_bps: s.expectancyBps,
    max_drawdown: s.maxDrawdown,
    days_in_mode: s.daysInMode,
    preservation_level: s.preservationLevel,
  };
}
