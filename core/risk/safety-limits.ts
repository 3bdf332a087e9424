import { Ring } from '../features/indicators.ts';
import { r2, r6 } from '../round.ts';
import type { ModeName } from '../schema/common.ts';
import type { GateStage } from '../schema/decision.ts';
import type { GuardSnapshot } from '../schema/risk.ts';

/** Per-mode hard limits; null means "no limit in this mode". Percentages are fractions of equity. */
export type ModeLimits = {
  maxPositionUsd: number | null;
  maxPositionPct: number;
  maxOpenPositions: number;
  maxDailyLossPct: number;
  maxDailyLossUsd: number | null;
  maxTradesPerDay: number;
  maxTradesPerHour: number | null;
  maxConsecutiveLosses: number | null;
  minReservePct: number;
  /** Loss from the starting capital that halts trading (the original's "emergency stop loss"). */
  maxTotalLossPct: number | null;
  /** Equity above this is not put at risk (live_limited trades at most $100 of its account). */
  capitalLimitUsd: number | null;
};

const PAPER: ModeLimits = {
  maxPositionUsd: null,
  maxPositionPct: 1,
  maxOpenPositions: 100,
  maxDailyLossPct: 1,
  maxDailyLossUsd: null,
  maxTradesPerDay: 1000,
  maxTradesPerHour: null,
  maxConsecutiveLosses: null,
  minReservePct: 0.2,
  maxTotalLossPct: null,
  capitalLimitUsd: null,
};
const REAL_ORDERS = {
  maxTradesPerHour: 5,
  maxConsecutiveLosses: 5,
  minReservePct: 0.2,
  maxTotalLossPct: 0.05,
};

/**
 * The per-mode table (original §1.6 and §6.5). Paper modes are bounded by capital preservation
 * rather than by hard caps; modes that place real orders get the safety controller's limits.
 */
export const MODE_LIMITS: Record<ModeName, ModeLimits> = {
  backtest: PAPER,
  paper_synthetic: PAPER,
  paper_live_data: { ...PAPER, maxOpenPositions: 10, maxTradesPerDay: 100 },
  testnet: {
    ...REAL_ORDERS,
    maxPositionUsd: 1000,
    maxPositionPct: 0.25,
    maxOpenPositions: 5,
    maxDailyLossPct: 0.1,
    maxDailyLossUsd: 1000,
    maxTradesPerDay: 50,
    capitalLimitUsd: 10_000,
  },
  live_limited: {
    ...REAL_ORDERS,
    maxPositionUsd: 20,
    maxPositionPct: 0.05,
    maxOpenPositions: 3,
    maxDailyLossPct: 0.02,
    maxDailyLossUsd: 2,
    maxTradesPerDay: 10,
    capitalLimitUsd: 100,
  },
  live_full: {
    ...REAL_ORDERS,
    maxPositionUsd: 5000,
    maxPositionPct: 0.2,
    maxOpenPositions: 10,
    maxDailyLossPct: 0.05,
    maxDailyLossUsd: 500,
    maxTradesPerDay: 50,
    capitalLimitUsd: null,
  },
};

const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;

export type SafetyFacts = {
  nowMs: number;
  equity: number;
  initialCapital: number;
  openPositions: number;
  exposure: number;
  lossStreak: number;
};

/**
 * Safety limits for one mode: daily counters (UTC day of the bar), entries per day and per
 * rolling hour, open positions, reserve, and the breaches that must halt trading (daily loss,
 * consecutive losses, total loss). The counters persist in the ledger checkpoint.
 */
export class SafetyLimits {
  day = -1;
  realizedPnl = 0;
  startEquity = 0;
  opens = 0;
  private readonly recentOpens: Ring;

  constructor(readonly limits: ModeLimits) {
    this.recentOpens = new Ring(Math.max(1, limits.maxTradesPerHour ?? 1));
  }

  /** Start a new UTC day when the bar crosses midnight; returns true when it did. */
  rollDay(nowMs: number, equity: number): boolean {
    const day = Math.floor(nowMs / DAY_MS);
    if (day === this.day) return false;
    this.day = day;
    this.realizedPnl = 0;
    this.opens = 0;
    this.startEquity = equity;
    return true;
  }

  dailyLossLimit(): number {
    return Math.min(
      this.limits.maxDailyLossPct * this.startEquity,
      this.limits.maxDailyLossUsd ?? Number.POSITIVE_INFINITY,
    );
  }

  get dailyLoss(): number {
    return Math.max(0, -this.realizedPnl);
  }

  /** Equity that may be put at risk: capped by the mode's capital limit. */
  tradingEquity(equity: number): number {
    return Math.min(equity, this.limits.capitalLimitUsd ?? Number.POSITIVE_INFINITY);
  }

  /** The largest entry the limits allow (position caps and the reserve). */
  maxNotional(equity: number, exposure: number): number {
    const l = this.limits;
    const reserveRoom = Math.max(0, equity * (1 - l.minReservePct) - exposure);
    return Math.max(
      0,
      Math.min(l.maxPositionUsd ?? Number.POSITIVE_INFINITY, equity * l.maxPositionPct, reserveRoom),
    );
  }

  private opensInLastHour(nowMs: number): number {
    let n = 0;
    for (let i = 0; i < this.recentOpens.count; i++) if (this.recentOpens.at(i) > nowMs - HOUR_MS) n++;
    return n;
  }

  /** Pre-trade checks in the original's order; the first failing one blocks. */
  preTrade(f: SafetyFacts): GateStage {
    const l = this.limits;
    const perHour = l.maxTradesPerHour === null ? null : this.opensInLastHour(f.nowMs);
    const reserveUsed = f.equity > 0 ? f.exposure / f.equity : 1;
    const observed = {
      daily_loss_usd: r2(this.dailyLoss),
      trades_today: this.opens,
      trades_last_hour: perHour,
      open_positions: f.openPositions,
      exposure_pct: r6(reserveUsed),
      loss_streak: f.lossStreak,
    };
    const thresholds = {
      daily_loss_limit_usd: r2(this.dailyLossLimit()),
      max_trades_per_day: l.maxTradesPerDay,
      max_trades_per_hour: l.maxTradesPerHour,
      max_open_positions: l.maxOpenPositions,
      max_exposure_pct: r6(1 - l.minReservePct),
      max_consecutive_losses: l.maxConsecutiveLosses,
    };
    let reason: string | null = null;
    if (this.dailyLoss >= this.dailyLossLimit()) reason = 'daily_loss_limit';
    else if (this.opens >= l.maxTradesPerDay) reason = 'daily_trade_limit';
    else if (perHour !== null && l.maxTradesPerHour !== null && perHour >= l.maxTradesPerHour)
      reason = 'hourly_trade_limit';
    else if (f.openPositions >= l.maxOpenPositions) reason = 'position_limit';
    else if (reserveUsed >= 1 - l.minReservePct) reason = 'reserve_limit';
    else if (l.maxConsecutiveLosses !== null && f.lossStreak >= l.maxConsecutiveLosses)
      reason = 'consecutive_loss_limit';
    return { stage: 'safety', verdict: reason ? 'block' : 'pass', reason, observed, thresholds };
  }

  onOpen(nowMs: number): void {
    this.opens++;
    this.recentOpens.push(nowMs);
  }

  onClose(pnl: number): void {
    this.realizedPnl += pnl;
  }

  /** A breach that must halt trading (the reason), or null. */
  breach(f: SafetyFacts): string | null {
    const l = this.limits;
    const limit = this.dailyLossLimit();
    if (this.dailyLoss >= limit && Number.isFinite(limit)) {
      return `daily_loss_limit: lost ${r2(this.dailyLoss)} today ≥ limit ${r2(limit)}`;
    }
    if (l.maxConsecutiveLosses !== null && f.lossStreak >= l.maxConsecutiveLosses) {
      return `consecutive_loss_limit: ${f.lossStreak} losing trades in a row ≥ ${l.maxConsecutiveLosses}`;
    }
    const totalLoss = f.initialCapital > 0 ? (f.initialCapital - f.equity) / f.initialCapital : 0;
    if (l.maxTotalLossPct !== null && totalLoss >= l.maxTotalLossPct) {
      return `total_loss_limit: equity ${r2(f.equity)} is ${(totalLoss * 100).toFixed(2)}% below the starting ${r2(f.initialCapital)}`;
    }
    return null;
  }

  snapshot(): Pick<GuardSnapshot, 'daily' | 'recentOpens'> {
    const recentOpens: number[] = [];
    for (let i = 0; i < this.recentOpens.count; i++) recentOpens.push(this.recentOpens.at(i));
    return {
      daily: {
        day: this.day,
        realizedPnl: this.realizedPnl,
        startEquity: this.startEquity,
        opens: this.opens,
      },
      recentOpens,
    };
  }

  restore(s: Pick<GuardSnapshot, 'daily' | 'recentOpens'>): void {
    this.day = s.daily.day;
    this.realizedPnl = s.daily.realizedPnl;
    this.startEquity = s.daily.startEquity;
    this.opens = s.daily.opens;
    for (const t of s.recentOpens.slice(-this.recentOpens.size)) this.recentOpens.push(t);
  }
}
