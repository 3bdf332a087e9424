import { Ring } from '../features/indicators.ts';
import type { GuardSnapshot } from '../schema/risk.ts';

export type RollingStats = {
  trades: number;
  winRate: number;
  profitFactor: number;
  grossProfit: number;
  grossLoss: number;
};

/** Profit factor = gross profit / gross loss; Infinity with profit and no loss, 0 with neither. */
export function profitFactor(grossProfit: number, grossLoss: number): number {
  if (grossLoss > 0) return grossProfit / grossLoss;
  return grossProfit > 0 ? Number.POSITIVE_INFINITY : 0;
}

/** Win rate, profit factor and gross figures over a list of trade P&Ls. */
export function statsOf(pnls: ArrayLike<number>, count = pnls.length): RollingStats {
  let wins = 0;
  let gp = 0;
  let gl = 0;
  for (let i = 0; i < count; i++) {
    const p = pnls[i]!;
    if (p > 0) {
      wins++;
      gp += p;
    } else gl -= p;
  }
  return {
    trades: count,
    winRate: count > 0 ? wins / count : 0,
    profitFactor: profitFactor(gp, gl),
    grossProfit: gp,
    grossLoss: gl,
  };
}

/** Closed-trade results the risk components learn from: rolling window, streaks and totals. */
export class TradeStats {
  private readonly recent: Ring;
  winStreak = 0;
  lossStreak = 0;
  wins = 0;
  losses = 0;
  grossProfit = 0;
  grossLoss = 0;
  private readonly scratch: Float64Array;
  private cached: RollingStats | null = null;

  constructor(window: number) {
    this.recent = new Ring(window);
    this.scratch = new Float64Array(window);
  }

  /** A trade counts as a win only when it made money after fees. */
  record(pnl: number): void {
    this.cached = null;
    this.recent.push(pnl);
    if (pnl > 0) {
      this.wins++;
      this.grossProfit += pnl;
      this.winStreak++;
      this.lossStreak = 0;
    } else {
      this.losses++;
      this.grossLoss -= pnl;
      this.lossStreak++;
      this.winStreak = 0;
    }
  }

  get total(): number {
    return this.wins + this.losses;
  }

  /** Statistics of the rolling window; recomputed only after a new trade. */
  rolling(): RollingStats {
    if (!this.cached) {
      const n = this.recent.count;
      for (let i = 0; i < n; i++) this.scratch[i] = this.recent.at(i);
      this.cached = statsOf(this.scratch, n);
    }
    return this.cached;
  }

  /** Kelly inputs over every trade in the mode: win rate and average win / average loss. */
  kellyInputs(): { trades: number; winRate: number; payoff: number } {
    const n = this.total;
    const avgWin = this.wins > 0 ? this.grossProfit / this.wins : 0;
    const avgLoss = this.losses > 0 ? this.grossLoss / this.losses : 0;
    return {
      trades: n,
      winRate: n > 0 ? this.wins / n : 0,
      payoff: avgLoss > 0 ? avgWin / avgLoss : Number.POSITIVE_INFINITY,
    };
  }

  snapshot(): GuardSnapshot['trades'] {
    const recent: number[] = [];
    for (let i = 0; i < this.recent.count; i++) recent.push(this.recent.at(i));
    const { winStreak, lossStreak, wins, losses, grossProfit, grossLoss } = this;
    return { recent, winStreak, lossStreak, wins, losses, grossProfit, grossLoss };
  }

  restore(s: GuardSnapshot['trades']): void {
    this.cached = null;
    for (const p of s.recent.slice(-this.recent.size)) this.recent.push(p);
    this.winStreak = s.winStreak;
    this.lossStreak = s.lossStreak;
    this.wins = s.wins;
    this.losses = s.losses;
    this.grossProfit = s.grossProfit;
    this.grossLoss = s.grossLoss;
  }
}
