import type { Portfolio } from '../broker/portfolio.ts';
import type { Draft } from '../engine/pipeline.ts';
import type {
  DecisionObserver,
  EntryGuard,
  EntryVerdict,
  PreservationState,
  StageContext,
  StageDecl,
} from '../engine/stages.ts';
import { unknownError } from '../errors.ts';
import { correlated, log } from '../log.ts';
import { timeframeToMs } from '../market/candles.ts';
import { r2, r6 } from '../round.ts';
import { validate } from '../schema/ajv.ts';
import type { ModeName } from '../schema/common.ts';
import type { GateStage } from '../schema/decision.ts';
import { GuardSnapshot, type PreservationLevel, type RiskConfig } from '../schema/risk.ts';
import type { Signal } from '../signals/rules.ts';
import {
  autoHaltGate,
  blockedAt,
  budgetGate,
  preservationGate,
  regimeOf,
  sizingGate,
} from './entry-gates.ts';
import { CapitalPreservation, type LevelChange } from './preservation.ts';
import { ReturnBook } from './returns.ts';
import { RiskBudgetEngine } from './risk-budget.ts';
import { MODE_LIMITS, type ModeLimits, SafetyLimits } from './safety-limits.ts';
import { TradeStats } from './trade-stats.ts';
import { TurnoverGovernor } from './turnover.ts';

/** Persists a halt (the same flag `emergency-stop` sets); injected so tests can watch it. */
export type HaltSink = (reason: string, source: 'capital_preservation' | 'safety_limits') => void;

export type RiskGuardOptions = {
  mode: ModeName;
  config: RiskConfig;
  minNotional: number;
  halt: HaltSink;
  limits?: ModeLimits;
};

const DAY_MS = 86_400_000;
/** Modes that place real orders: a lockdown halts them until an operator clears it (elsewhere it is time-boxed). */
const HALTING_MODES = new Set<ModeName>(['testnet', 'live_limited', 'live_full']);
const RETURN_WINDOW = 48;
const VOL_WINDOW = 24;

/**
 * SPEC §3 steps 6–8 for a signal that would open a position: turnover governor, risk budget,
 * capital preservation and the mode's safety limits, each recorded in the gate trace; sizes the
 * entry from the risk budget. As an observer it learns every fill (turnover and daily counters,
 * closed-trade results) and raises the persistent halt when a limit is breached or, in the modes
 * that place real orders, when preservation reaches lockdown; in backtest and paper modes a
 * lockdown locks entries for `preservation.lock.stopDurationCandles` candles, then re-evaluates.
 * All clocks are bar close times, so replays and restarts are exact.
 */
export class RiskGuard implements EntryGuard, DecisionObserver {
  readonly budget: RiskBudgetEngine;
  readonly turnover: TurnoverGovernor;
  readonly preservation: CapitalPreservation;
  readonly safety: SafetyLimits;
  readonly trades: TradeStats;
  private readonly returns = new ReturnBook(RETURN_WINDOW, VOL_WINDOW);
  private raised: { reason: string } | null = null;
  // Equity and peak at the last preservation assessment: flat periods need no re-assessment.
  private assessedEquity = Number.NaN;
  private assessedPeak = Number.NaN;
  private peak = Number.NaN;
  private portfolioPeak = Number.NEGATIVE_INFINITY;
  private barMs = 0;

  /**
   * Turnover and sizing thresholds follow from the config; the risk budget's VaR limit, the
   * capital-preservation restrictions and the safety limits move with equity and level, so the
   * header takes their usual values from the run's decisions.
   */
  declareStages(symbols: string[]): StageDecl[] {
    return [
      { stage: 'turnover', thresholds: this.turnover.declaredThresholds(symbols) },
      { stage: 'risk_budget' },
      { stage: 'preservation' },
      { stage: 'safety' },
      { stage: 'sizing', thresholds: { min_notional: this.opts.minNotional } },
    ];
  }

  constructor(private readonly opts: RiskGuardOptions) {
    this.budget = new RiskBudgetEngine(opts.config.budget);
    this.turnover = new TurnoverGovernor(opts.config.turnover);
    this.preservation = new CapitalPreservation(opts.config.preservation);
    this.safety = new SafetyLimits(opts.limits ?? MODE_LIMITS[opts.mode]);
    this.trades = new TradeStats(opts.config.preservation.windowTrades);
  }

  preservationLevel(): PreservationLevel {
    return this.preservation.level;
  }

  preservationState(): PreservationState {
    const p = this.preservation;
    return { level: p.level, since: p.since, reason: p.reason };
  }

  raisedHalt(): { reason: string } | null {
    return this.raised;
  }

  onDecision(draft: Draft, ctx: StageContext): void {
    const ts = ctx.bar.closeTs;
    this.returns.history(ctx.symbol).pushBar(ts, ctx.bar.close);
    if (Math.floor(ts / DAY_MS) !== this.safety.day) this.safety.rollDay(ts, ctx.portfolio.equity());
    // A bar without an entry signal never reaches `evaluate`: the lock's end is seen here too.
    const until = this.preservation.lockedUntil;
    if (until !== null && ts >= until) this.endLock(ctx, ctx.portfolio.equity());
    const fills = draft.execution?.fills;
    if (!fills) return;
    let closed = false;
    for (const f of fills) {
      if (f.intent === 'open') {
        this.turnover.recordOpen(ctx.symbol, ts);
        this.safety.onOpen(ts);
      } else if (f.realized_pnl !== null) {
        this.trades.record(f.realized_pnl);
        this.preservation.onTrade(f.realized_pnl);
        this.safety.onClose(f.realized_pnl);
        closed = true;
      }
    }
    if (closed) this.reassess(ctx, ctx.portfolio.equity());
  }

  /**
   * Drawdown from the guard's own peak: the portfolio's peak as it grows, plus equity seen at
   * assessments. It restarts from current equity when an operator clears an auto-halt, so the
   * loss that was accepted does not re-trigger the lockdown at once.
   */
  private drawdown(p: Portfolio, equity: number): number {
    if (p.peakEquity > this.portfolioPeak) {
      this.portfolioPeak = p.peakEquity;
      if (!(this.peak >= p.peakEquity)) this.peak = p.peakEquity;
    }
    if (!(this.peak >= equity)) this.peak = equity; // also replaces NaN after a release
    return this.peak > 0 ? Math.max(0, (this.peak - equity) / this.peak) : 0;
  }

  /** Move the preservation level on the latest facts, and halt on lockdown or a safety breach. */
  private reassess(ctx: StageContext, equity: number): void {
    const p = ctx.portfolio;
    this.assessedEquity = equity;
    this.assessedPeak = p.peakEquity;
    const nowMs = ctx.bar.closeTs;
    const change = this.preservation.update({
      nowMs,
      drawdown: this.drawdown(p, equity),
      rolling: this.trades.rolling(),
      lossStreak: this.trades.lossStreak,
    });
    if (change) this.onChange(change, ctx, equity);
    const breach = this.safety.breach(this.safetyFacts(p, nowMs, equity));
    if (breach) this.raise(breach, 'safety_limits', ctx);
  }

  /** The time-boxed lock ran out: re-evaluate from the drawdown since it began. */
  private endLock(ctx: StageContext, equity: number): void {
    const p = ctx.portfolio;
    this.assessedEquity = equity;
    this.assessedPeak = p.peakEquity;
    const change = this.preservation.endLock({
      nowMs: ctx.bar.closeTs,
      drawdown: this.drawdown(p, equity),
      rolling: this.trades.rolling(),
      lossStreak: this.trades.lossStreak,
    });
    this.onChange(change, ctx, equity);
  }

  /** Log a level change; a lockdown halts a mode that places real orders and locks entries in the others. */
  private onChange(c: LevelChange, ctx: StageContext, equity: number): void {
    if (c.to === 'lockdown') {
      if (HALTING_MODES.has(this.opts.mode)) {
        this.logChange(c, ctx.tick.correlationId);
        this.raise(`capital_preservation_lockdown: ${this.preservation.reason}`, 'capital_preservation', ctx);
        return;
      }
      const candles = this.opts.config.preservation.lock.stopDurationCandles;
      this.preservation.lock(ctx.bar.closeTs + candles * this.barMsOf(ctx), candles);
      this.peak = equity; // the re-evaluation measures the drawdown from the equity at the lock
    }
    this.logChange(c, ctx.tick.correlationId);
  }

  private logChange(c: LevelChange, cid: string): void {
    const line = `capital preservation ${c.from} → ${c.to}: ${this.preservation.reason ?? c.reason}`;
    if (c.to === 'normal' || c.to === 'cautious') correlated(cid).info(line);
    else correlated(cid).warn(line);
  }

  private barMsOf(ctx: StageContext): number {
    if (this.barMs === 0) this.barMs = timeframeToMs(ctx.cfg.timeframe);
    return this.barMs;
  }

  private raise(reason: string, source: Parameters<HaltSink>[1], ctx: StageContext): void {
    if (this.raised) return;
    this.raised = { reason };
    this.opts.halt(reason, source);
    correlated(ctx.tick.correlationId).warn(
      `auto-halt: ${reason}; trading halted until an operator clears it`,
    );
  }

  private safetyFacts(p: Portfolio, nowMs: number, equity: number) {
    return {
      nowMs,
      equity,
      initialCapital: p.initialCapital,
      openPositions: p.positions.size,
      exposure: p.exposure(),
      lossStreak: this.trades.lossStreak,
    };
  }

  /**
   * Stages run in pipeline order and stop at the first block; the rest are recorded as skipped.
   * Most bars of a long replay end at the turnover governor, so that path allocates little.
   */
  evaluate(ctx: StageContext, signal: Signal): EntryVerdict {
    const { portfolio: p, symbol, bar } = ctx;
    const nowMs = bar.closeTs;
    const equityAll = p.equity();
    if (Math.floor(nowMs / DAY_MS) !== this.safety.day) this.safety.rollDay(nowMs, equityAll);
    const until = this.preservation.lockedUntil;
    if (until !== null && nowMs >= until) this.endLock(ctx, equityAll);
    else if (equityAll !== this.assessedEquity || p.peakEquity !== this.assessedPeak)
      this.reassess(ctx, equityAll);
    const restrictions = this.preservation.restrictions;

    const turnover = this.turnover.evaluate(symbol, signal, nowMs, restrictions.cooldown);
    const gates: GateStage[] = [turnover.gate];
    if (turnover.gate.reason) return blockedAt('turnover', gates, turnover.record, null);

    const equity = this.safety.tradingEquity(equityAll);
    const exposure = p.exposure();
    const side = signal.action === 'buy' ? 'long' : 'short';
    // Before the correlations: the bar length is known from the first bar a process evaluates
    // (a resumed engine's first entry signal may come with positions held).
    const barMs = this.barMsOf(ctx);
    const held = this.returns.held(p, symbol, nowMs, bar.close, barMs);
    const budget = this.budget.compute({
      symbol,
      side,
      confidence: signal.confidence,
      equity,
      drawdown: this.drawdown(p, equityAll),
      exposure,
      volatility: ctx.ind.vol24.value,
      barMs,
      signalStopPct: signal.stopPct,
      regime: regimeOf(ctx.ind),
      winStreak: this.trades.winStreak,
      lossStreak: this.trades.lossStreak,
      kelly: this.trades.kellyInputs(),
      positions: held.positions,
      positionCorrelations: held.matrix,
    });
    const riskBudget = {
      ...budget,
      recommended_leverage: r6(budget.recommended_leverage * restrictions.leverage),
      preservation_size_multiplier: restrictions.size,
    };
    gates.push(budgetGate(budget, this.budget.config.maxRiskPct));
    if (gates[1]!.reason) return blockedAt('risk_budget', gates, turnover.record, riskBudget);

    gates.push(
      preservationGate(
        this.preservation.level,
        restrictions,
        signal.confidence,
        this.preservation.since,
        this.preservation.lockedUntil,
      ),
    );
    if (gates[2]!.reason) return blockedAt('preservation', gates, turnover.record, riskBudget);

    gates.push(
      this.raised
        ? autoHaltGate(this.raised.reason)
        : this.safety.preTrade(this.safetyFacts(p, nowMs, equityAll)),
    );
    if (gates[3]!.reason) return blockedAt('safety', gates, turnover.record, riskBudget);

    const costFactor = 1 + (this.turnover.config.feeBps + this.turnover.config.slippageBps) / 10_000;
    const cashRoom = side === 'long' ? Math.max(0, p.cash) / costFactor : Number.POSITIVE_INFINITY;
    const cap = Math.min(this.safety.maxNotional(equity, exposure), cashRoom);
    const notional = Math.min(budget.recommended_position_usd * restrictions.size, cap);
    gates.push(sizingGate(notional, budget.recommended_position_usd, cap, this.opts.minNotional));
    const sized = {
      ...riskBudget,
      safety_cap_usd: Number.isFinite(cap) ? r2(cap) : null,
      applied_notional_usd: r2(notional),
    };
    if (gates[4]!.reason)
      return blockedAt('sizing', gates, turnover.record, { ...sized, applied_notional_usd: 0 });
    return { gates, blocked: null, notional, turnover: turnover.record, riskBudget: sized };
  }

  snapshot(): GuardSnapshot {
    return {
      version: 1,
      ...this.safety.snapshot(),
      trades: this.trades.snapshot(),
      preservation: this.preservation.snapshot(),
      turnover: this.turnover.snapshot(),
      returns: this.returns.snapshot(),
      raisedHalt: this.raised?.reason ?? null,
      drawdownBase: {
        peak: Number.isNaN(this.peak) ? null : this.peak,
        portfolioPeak: Number.isFinite(this.portfolioPeak) ? this.portfolioPeak : null,
        // What the level was last assessed on: a resumed guard re-assesses exactly when an uninterrupted one would.
        assessedEquity: Number.isFinite(this.assessedEquity) ? this.assessedEquity : null,
        assessedPeak: Number.isFinite(this.assessedPeak) ? this.assessedPeak : null,
      },
    };
  }

  /**
   * Resume from the ledger checkpoint. The engine only starts with the halt flag clear, so a halt
   * this guard raised before has been cleared by an operator: that approval lifts a lockdown to
   * critical and restarts the loss streak and the drawdown baseline.
   */
  restore(saved: unknown): void {
    if (saved === null || saved === undefined) return;
    const checked = validate(GuardSnapshot, saved);
    if (!checked.ok) {
      throw unknownError(
        `the ledger checkpoint holds risk state this version cannot read (${checked.errors.join('; ')})`,
        'start over with `npx atl run --fresh` (the old run is archived, not deleted)',
      );
    }
    const s = checked.value;
    this.safety.restore(s);
    this.trades.restore(s.trades);
    this.preservation.restore(s.preservation);
    this.turnover.restore(s.turnover);
    this.returns.restore(s.returns);
    this.peak = s.drawdownBase.peak ?? Number.NaN;
    this.portfolioPeak = s.drawdownBase.portfolioPeak ?? Number.NEGATIVE_INFINITY;
    this.assessedEquity = s.drawdownBase.assessedEquity ?? Number.NaN;
    this.assessedPeak = s.drawdownBase.assessedPeak ?? Number.NaN;
    if (s.raisedHalt !== null) {
      this.assessedEquity = Number.NaN; // re-assessed at the first bar, from the restarted baseline
      this.trades.lossStreak = 0;
      this.peak = Number.NaN;
      const change = this.preservation.releaseLockdown(this.returns.lastTs());
      log.warn(
        `resuming after an operator cleared the auto-halt (${s.raisedHalt})${change ? `; capital preservation ${change.from} → ${change.to}` : ''}`,
      );
    }
  }
}
