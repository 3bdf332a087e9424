import type { DecisionRecord } from '../schema/decision.ts';
import { isoUtc } from '../time/iso.ts';
import type { Checkpoint } from './checkpoint.ts';
import type { DailyCounters } from './snapshots.ts';

const DAY_MS = 86_400_000;

/** What a checkpoint carries of the account (the rest is the portfolio's and the stages'). */
export type AccountCheckpoint = Pick<
  Checkpoint,
  'last_bar_ts' | 'decisions_total' | 'mode_started_at' | 'daily'
>;

/**
 * The accounting of a run that the ledger checkpoint carries across restarts: the newest bar
 * decided per symbol (bars at or before it were decided before a restart), the decision count,
 * the UTC day's trades and P&L, and when the equity curve last got a point.
 */
export class RunAccount {
  daily: DailyCounters;
  readonly lastBarTs: Record<string, string>;
  /** `lastBarTs` as epoch ms: compared on every bar, parsed once. */
  private readonly lastBarMs: Map<string, number>;
  decisionsTotal: number;
  readonly modeStartedAt: string;
  /** One equity point per bar for hourly and slower candles, per hour for faster ones (plus every fill). */
  private readonly equityEveryMs: number;
  // The UTC date of the bars being decided, formatted once per day of bars.
  private tickDay = Number.NaN;
  private barDate = '';

  constructor(
    saved: AccountCheckpoint | null,
    opts: { equity: number; nowIso: string; timeframeMs: number },
    /** When the curve last got a point (the ledger's, on a resume: the same bars get points as in one run). */
    private lastEquityTs: number,
  ) {
    this.daily = saved?.daily ?? { date: '', trades: 0, pnl: 0, start_equity: opts.equity };
    this.lastBarTs = { ...(saved?.last_bar_ts ?? {}) };
    this.lastBarMs = new Map(
      Object.entries(this.lastBarTs).map(([symbol, iso]) => [symbol, Date.parse(iso)]),
    );
    this.decisionsTotal = saved?.decisions_total ?? 0;
    this.modeStartedAt = saved?.mode_started_at ?? opts.nowIso;
    this.equityEveryMs = Math.max(opts.timeframeMs, 3_600_000);
  }

  /**
   * Before a tick's first bar: the daily counters roll over on a new UTC day (never back to an
   * older one: bars replayed after a restart leave the checkpoint's day as it is).
   */
  startTick(closeTs: number, portfolio: { equity(): number }): void {
    const barDay = Math.floor(closeTs / DAY_MS);
    if (barDay !== this.tickDay) {
      this.tickDay = barDay;
      this.barDate = isoUtc(closeTs).slice(0, 10);
    }
    if (this.barDate > this.daily.date)
      this.daily = { date: this.barDate, trades: 0, pnl: 0, start_equity: portfolio.equity() };
  }

  /** Whether `symbol`'s bar closing at `closeTs` was decided before a restart. */
  decidedBefore(symbol: string, closeTs: number): boolean {
    const prev = this.lastBarMs.get(symbol);
    return prev !== undefined && closeTs <= prev;
  }

  decided(symbol: string, barIso: string, closeTs: number): void {
    this.lastBarTs[symbol] = barIso;
    this.lastBarMs.set(symbol, closeTs);
    this.decisionsTotal++;
  }

  /** A decision's fills on the day's counters; how many there were. */
  filled(execution: DecisionRecord['execution']): number {
    if (!execution) return 0;
    const daily = this.daily;
    for (const f of execution.fills) if (f.realized_pnl !== null) daily.pnl += f.realized_pnl;
    daily.trades += execution.fills.length;
    return execution.fills.length;
  }

  /** Whether the tick closing at `closeTs` gets a point on the equity curve (and, if so, it is counted as given). */
  equityPointDue(closeTs: number, fills: number): boolean {
    if (fills === 0 && closeTs - this.lastEquityTs < this.equityEveryMs) return false;
    this.lastEquityTs = closeTs;
    return true;
  }

  checkpoint(): AccountCheckpoint {
    return {
      last_bar_ts: this.lastBarTs,
      decisions_total: this.decisionsTotal,
      mode_started_at: this.modeStartedAt,
      daily: this.daily,
    };
  }
}
