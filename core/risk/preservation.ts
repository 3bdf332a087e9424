import { Ring } from '../features/indicators.ts';
import {
  type GuardSnapshot,
  PRESERVATION_LEVELS,
  type PreservationConfig,
  type PreservationLevel,
} from '../schema/risk.ts';
import { profitFactor, type RollingStats } from './trade-stats.ts';

export type Restrictions = { size: number; leverage: number; minConfidence: number; cooldown: number };

/** What each level allows (original §6.4): size and leverage multipliers, minimum confidence, cooldown multiplier. */
export const RESTRICTIONS: Record<PreservationLevel, Restrictions> = {
  normal: { size: 1, leverage: 1, minConfidence: 0.5, cooldown: 1 },
  cautious: { size: 0.8, leverage: 0.75, minConfidence: 0.6, cooldown: 1.5 },
  defensive: { size: 0.5, leverage: 0.5, minConfidence: 0.7, cooldown: 2 },
  critical: { size: 0.25, leverage: 0.25, minConfidence: 0.85, cooldown: 3 },
  lockdown: { size: 0, leverage: 0, minConfidence: 1.1, cooldown: Number.POSITIVE_INFINITY },
};

type Metric = 'drawdown' | 'slope' | 'lossStreak' | 'profitFactor' | 'winRate';
type Trigger = {
  rank: number;
  level: PreservationLevel;
  metric: Metric;
  op: '>=' | '>' | '<';
  threshold: number;
};

// NaN (a statistic without enough trades) never fires.
const fires = (t: Trigger, v: number) =>
  t.op === '>=' ? v >= t.threshold : t.op === '>' ? v > t.threshold : v < t.threshold;

function describe(t: Trigger, v: number, trades: number): string {
  switch (t.metric) {
    case 'drawdown':
      return `drawdown ${pct(v)} ≥ ${pct(t.threshold)}`;
    case 'slope':
      return `drawdown rising ${pct(v)}/h > ${pct(t.threshold)}/h`;
    case 'lossStreak':
      return `${v} losses in a row ≥ ${t.threshold}`;
    case 'profitFactor':
      return `profit factor ${v.toFixed(2)} < ${t.threshold} over the last ${trades} trades`;
    case 'winRate':
      return `win rate ${pct(v)} < ${pct(t.threshold)} over the last ${trades} trades`;
  }
}

export type PreservationFacts = {
  nowMs: number;
  drawdown: number;
  rolling: RollingStats;
  lossStreak: number;
};
export type LevelChange = { from: PreservationLevel; to: PreservationLevel; reason: string };

const HOUR_MS = 3_600_000;
const SAMPLES = 128;
const rank = (l: PreservationLevel) => PRESERVATION_LEVELS.indexOf(l);
const pct = (x: number) => `${(x * 100).toFixed(2)}%`;

/**
 * Capital preservation (SPEC §3 step 8): normal < cautious < defensive < critical < lockdown,
 * compared by rank (the original compared level names as strings, so it could not escalate).
 * Triggers escalate at once to the worst level they call for; recovery steps down one level
 * after enough good trades. Lockdown is never left by recovery trades (it allows none): in live
 * modes only an operator clearing the halt it raises lifts it; in backtest and paper modes it is
 * a lock for a number of candles, then a re-evaluation (`endLock`), as freqtrade's protections do.
 * Not modelled: the original's slippage-error and regime-confidence triggers (paper slippage is
 * a fixed model, not a measurement, and the rule signals carry no regime confidence).
 */
export class CapitalPreservation {
  level: PreservationLevel = 'normal';
  since: number | null = null;
  reason: string | null = null;
  /** While a time-boxed lockdown holds: the bar close time (ms) from which entries are evaluated again. */
  lockedUntil: number | null = null;
  // Trades since the level last changed: count, wins, gross profit, gross loss.
  private recovery = [0, 0, 0, 0];
  private readonly sampleTs = new Ring(SAMPLES);
  private readonly sampleDd = new Ring(SAMPLES);

  private readonly triggers: Trigger[];
  private readonly values: Record<Metric, number> = {
    drawdown: 0,
    slope: 0,
    lossStreak: 0,
    profitFactor: 0,
    winRate: 0,
  };

  constructor(readonly config: PreservationConfig) {
    const c = config;
    const t = (level: PreservationLevel, metric: Metric, op: Trigger['op'], threshold: number): Trigger => ({
      rank: rank(level),
      level,
      metric,
      op,
      threshold,
    });
    this.triggers = [
      t('lockdown', 'drawdown', '>=', c.drawdown.lockdown),
      t('critical', 'drawdown', '>=', c.drawdown.critical),
      t('cautious', 'drawdown', '>=', c.drawdown.cautious),
      t('defensive', 'slope', '>', c.drawdownSlopePerHour.defensive),
      t('cautious', 'slope', '>', c.drawdownSlopePerHour.cautious),
      t('critical', 'lossStreak', '>=', c.lossStreak.critical),
      t('defensive', 'lossStreak', '>=', c.lossStreak.defensive),
      t('cautious', 'lossStreak', '>=', c.lossStreak.cautious),
      t('critical', 'profitFactor', '<', c.profitFactor.critical),
      t('defensive', 'profitFactor', '<', c.profitFactor.defensive),
      t('cautious', 'profitFactor', '<', c.profitFactor.cautious),
      t('defensive', 'winRate', '<', c.winRate.defensive),
      t('cautious', 'winRate', '<', c.winRate.cautious),
    ];
  }

  get restrictions(): Restrictions {
    return RESTRICTIONS[this.level];
  }

  onTrade(pnl: number): void {
    const r = this.recovery;
    r[0]!++;
    if (pnl > 0) {
      r[1]!++;
      r[2]! += pnl;
    } else r[3]! -= pnl;
  }

  /** Drawdown growth per hour: against the newest sample at least an hour old, else the oldest (over one hour). */
  drawdownSlope(nowMs: number, drawdown: number): number {
    const n = this.sampleTs.count;
    if (n === 0) return 0;
    let i = n - 1;
    while (i > 0 && this.sampleTs.at(i) > nowMs - HOUR_MS) i--;
    const hours = Math.max(1, (nowMs - this.sampleTs.at(i)) / HOUR_MS);
    return (drawdown - this.sampleDd.at(i)) / hours;
  }

  /** The level the facts call for (no allocation unless `reasons` is given to collect the worst triggers' reasons). */
  assess(f: PreservationFacts, reasons: string[] | null = null): PreservationLevel {
    const enough = f.rolling.trades >= this.config.minTradesForStats;
    const values: Record<Metric, number> = this.values;
    values.drawdown = f.drawdown;
    values.slope = this.drawdownSlope(f.nowMs, f.drawdown);
    values.lossStreak = f.lossStreak;
    values.profitFactor = enough ? f.rolling.profitFactor : Number.NaN;
    values.winRate = enough ? f.rolling.winRate : Number.NaN;
    let target = 0;
    for (const t of this.triggers) if (fires(t, values[t.metric]) && t.rank > target) target = t.rank;
    if (reasons) {
      for (const t of this.triggers)
        if (t.rank === target && fires(t, values[t.metric]))
          reasons.push(describe(t, values[t.metric], f.rolling.trades));
    }
    return PRESERVATION_LEVELS[target]!;
  }

  /** Re-assess and move the level: escalate at once, recover one step at a time. */
  update(f: PreservationFacts): LevelChange | null {
    const target = this.assess(f);
    const from = this.level;
    if (rank(target) > rank(from)) {
      const reasons: string[] = [];
      this.assess(f, reasons);
      this.sample(f);
      return this.move(target, reasons.join('; '), f.nowMs);
    }
    this.sample(f);
    if (from === 'lockdown' || rank(target) >= rank(from)) return null;
    const [n, wins, gp, gl] = this.recovery as [number, number, number, number];
    const r = this.config.recovery;
    if (
      n >= r.minTrades &&
      wins / n >= r.minWinRate &&
      profitFactor(gp, gl) >= r.minProfitFactor &&
      f.drawdown < r.maxDrawdown
    ) {
      const to = PRESERVATION_LEVELS[rank(from) - 1]!;
      return this.move(
        to,
        `recovered: ${wins}/${n} trades won, profit factor ${profitFactor(gp, gl).toFixed(2)}, drawdown ${pct(f.drawdown)}`,
        f.nowMs,
      );
    }
    return null;
  }

  /** An operator cleared the halt a lockdown raised: resume one level below, under its restrictions. */
  releaseLockdown(nowMs: number): LevelChange | null {
    return this.level === 'lockdown'
      ? this.move('critical', 'operator cleared the lockdown halt', nowMs)
      : null;
  }

  /** Time-box the lockdown just reached: no entries before `untilMs` (a bar close time). */
  lock(untilMs: number, candles: number): void {
    this.lockedUntil = untilMs;
    this.reason = `${this.reason}; entries locked for ${candles} candles, until ${new Date(untilMs).toISOString()}`;
  }

  /**
   * The lock has run out: re-evaluate on facts measured since it began (the caller restarts the
   * drawdown baseline at the lock, as freqtrade's lookback drops the trades that set it off).
   * Still at the lockdown drawdown: lockdown again (the caller locks anew); otherwise one level
   * down, to critical, and the usual recovery steps from there.
   */
  endLock(f: PreservationFacts): LevelChange {
    this.lockedUntil = null;
    const reasons: string[] = [];
    const target = this.assess(f, reasons);
    this.sample(f);
    if (target === 'lockdown')
      return this.move('lockdown', `still ${reasons.join('; ')} after the lock`, f.nowMs);
    return this.move('critical', `lock ended; drawdown since the lock ${pct(f.drawdown)}`, f.nowMs);
  }

  private sample(f: PreservationFacts): void {
    this.sampleTs.push(f.nowMs);
    this.sampleDd.push(f.drawdown);
  }

  private move(to: PreservationLevel, reason: string, nowMs: number): LevelChange {
    const from = this.level;
    this.level = to;
    this.since = nowMs;
    this.reason = reason;
    this.lockedUntil = null;
    this.recovery = [0, 0, 0, 0];
    return { from, to, reason };
  }

  snapshot(): GuardSnapshot['preservation'] {
    const samples: number[] = [];
    for (let i = 0; i < this.sampleTs.count; i++) samples.push(this.sampleTs.at(i), this.sampleDd.at(i));
    return {
      level: this.level,
      since: this.since,
      reason: this.reason,
      recovery: [...this.recovery],
      drawdownSamples: samples,
      lockedUntil: this.lockedUntil,
    };
  }

  restore(s: GuardSnapshot['preservation']): void {
    this.level = s.level;
    this.since = s.since;
    this.reason = s.reason;
    this.lockedUntil = s.lockedUntil ?? null;
    this.recovery = [0, 1, 2, 3].map((i) => s.recovery[i] ?? 0);
    for (let i = 0; i + 1 < s.drawdownSamples.length; i += 2) {
      this.sampleTs.push(s.drawdownSamples[i]!);
      this.sampleDd.push(s.drawdownSamples[i + 1]!);
    }
  }
}
