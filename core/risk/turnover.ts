import { r6 } from '../round.ts';
import type { GateStage } from '../schema/decision.ts';
import type { GuardSnapshot, TurnoverConfig } from '../schema/risk.ts';
import type { Signal } from '../signals/rules.ts';

const DAY_MS = 86_400_000;

type Limits = { minIntervalMinutes: number; maxDecisionsPerDay: number; minEvRatio: number };
type SymbolCounter = { lastOpen: number | null; day: number; count: number };

/**
 * Expected value of a bracketed trade per unit of notional, against its round-trip cost.
 * The win probability is the signal's confidence; a win earns the model's expected move (when a
 * model supplies one) or the take-profit distance, a loss costs the stop distance. The original
 * scaled an arbitrary 0.5% by confidence twice, so EV/cost never exceeded ~1.5 and every trade
 * failed its default 2.0 ratio; this one passes exactly when the bracket pays for its costs.
 */
export function expectedValue(
  signal: Signal,
  costPct: number,
): { evPct: number; rewardPct: number; ratio: number } {
  const p = Math.min(1, Math.max(0, signal.confidence));
  const reward =
    signal.expectedReturn !== undefined && signal.expectedReturn > 0
      ? Math.min(signal.expectedReturn, signal.takeProfitPct)
      : signal.takeProfitPct;
  const evPct = p * reward - (1 - p) * signal.stopPct;
  return { evPct, rewardPct: reward, ratio: costPct > 0 ? evPct / costPct : Number.POSITIVE_INFINITY };
}

/**
 * Turnover governor (SPEC §3 step 6): per symbol a minimum interval between entries (stretched
 * by the preservation cooldown), a maximum of entries per UTC day, and EV ≥ ratio × round-trip
 * cost. Time is the bar's close, so a replay governs exactly as a live run would. Counters move
 * only when a position is actually opened.
 */
/** The gate's thresholds: the limits, the interval stretched by a capital-preservation cooldown. */
function thresholdsOf(l: Limits, minInterval: number) {
  return {
    min_interval_minutes: Number.isFinite(minInterval) ? r6(minInterval) : null,
    max_decisions_per_day: l.maxDecisionsPerDay,
    min_ev_ratio: l.minEvRatio,
  };
}

export class TurnoverGovernor {
  readonly roundTripCostPct: number;
  private readonly limits = new Map<string, Limits>();
  private readonly counters = new Map<string, SymbolCounter>();

  constructor(readonly config: TurnoverConfig) {
    this.roundTripCostPct = (2 * (config.feeBps + config.slippageBps)) / 10_000;
  }

  /**
   * What the run header declares: the thresholds (no cooldown) most of the run's symbols have —
   * their base asset's override or the defaults; the others' lines carry theirs.
   */
  declaredThresholds(symbols: string[]): ReturnType<typeof thresholdsOf> {
    const counts = new Map<Limits, number>();
    for (const s of symbols) {
      const l = this.limitsFor(s);
      counts.set(l, (counts.get(l) ?? 0) + 1);
    }
    let best: Limits = this.config;
    let most = 0;
    for (const [l, n] of counts) if (n > most) [best, most] = [l, n];
    return thresholdsOf(best, best.minIntervalMinutes);
  }

  /** Limits for a symbol: the override for its base asset (`BTC/USDT` → `BTC`), else the defaults. */
  limitsFor(symbol: string): Limits {
    let l = this.limits.get(symbol);
    if (!l) {
      const base = symbol
        .split(/[/_:-]/)[0]!
        .replace(/(USDT|USDC|USD|BUSD)$/, '')
        .toUpperCase();
      const c = this.config;
      l = c.symbolOverrides[base] ?? {
        minIntervalMinutes: c.minIntervalMinutes,
        maxDecisionsPerDay: c.maxDecisionsPerDay,
        minEvRatio: c.minEvRatio,
      };
      this.limits.set(symbol, l);
    }
    return l;
  }

  private counter(symbol: string): SymbolCounter {
    let c = this.counters.get(symbol);
    if (!c) {
      c = { lastOpen: null, day: -1, count: 0 };
      this.counters.set(symbol, c);
    }
    return c;
  }

  evaluate(
    symbol: string,
    signal: Signal,
    nowMs: number,
    cooldownMultiplier: number,
  ): { gate: GateStage; record: Record<string, unknown> } {
    const l = this.limitsFor(symbol);
    const c = this.counter(symbol);
    const today = Math.floor(nowMs / DAY_MS);
    const decisionsToday = c.day === today ? c.count : 0;
    const minutesSince = c.lastOpen === null ? null : (nowMs - c.lastOpen) / 60_000;
    const minInterval = Number.isFinite(cooldownMultiplier)
      ? l.minIntervalMinutes * cooldownMultiplier
      : Number.POSITIVE_INFINITY;
    const ev = expectedValue(signal, this.roundTripCostPct);
    let reason: string | null = null;
    if (minutesSince !== null && minutesSince < minInterval) reason = 'interval_too_short';
    else if (decisionsToday >= l.maxDecisionsPerDay) reason = 'daily_limit_reached';
    else if (ev.ratio < l.minEvRatio) reason = 'ev_ratio_below_threshold';
    const observed = {
      minutes_since_last: minutesSince === null ? null : r6(minutesSince),
      decisions_today: decisionsToday,
      ev_ratio: r6(ev.ratio),
    };
    const thresholds = thresholdsOf(l, minInterval);
    // The gate carries the limits; the record adds how the expected value was reached.
    const record = {
      allowed: reason === null,
      ev_pct: r6(ev.evPct),
      cost_pct: r6(this.roundTripCostPct),
      win_probability: r6(signal.confidence),
      reward_pct: r6(ev.rewardPct),
      stop_pct: r6(signal.stopPct),
    };
    return {
      gate: { stage: 'turnover', verdict: reason ? 'block' : 'pass', reason, observed, thresholds },
      record,
    };
  }

  recordOpen(symbol: string, nowMs: number): void {
    const c = this.counter(symbol);
    const today = Math.floor(nowMs / DAY_MS);
    if (c.day !== today) {
      c.day = today;
      c.count = 0;
    }
    c.count++;
    c.lastOpen = nowMs;
  }

  snapshot(): GuardSnapshot['turnover'] {
    return Object.fromEntries([...this.counters].map(([s, c]) => [s, { ...c }]));
  }

  restore(s: GuardSnapshot['turnover']): void {
    for (const [symbol, c] of Object.entries(s)) this.counters.set(symbol, { ...c });
  }
}
