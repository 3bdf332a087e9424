import type { EntryGuard, EntryVerdict, StageContext } from '../engine/stages.ts';
import type { GateStage } from '../schema/decision.ts';
import type { Signal } from '../signals/rules.ts';

export type BasicGuardConfig = { riskPerTrade: number; maxPositionPct: number; minNotional: number; maxOpenPositions: number };

const r6 = (x: number) => Math.round(x * 1e6) / 1e6;

/**
 * Fixed-fraction sizing (risk per trade over the stop distance, capped) and an open-position
 * cap. Turnover and the risk budget are not evaluated here, and the trace says so.
 */
export class BasicEntryGuard implements EntryGuard {
  constructor(private readonly cfg: BasicGuardConfig) {}

  preservationLevel(): string | null {
    return null;
  }

  evaluate(ctx: StageContext, signal: Signal): EntryVerdict {
    const { portfolio } = ctx;
    const gates: GateStage[] = [
      { stage: 'turnover', verdict: 'skip', reason: 'not_configured', observed: null, thresholds: null },
      { stage: 'risk_budget', verdict: 'skip', reason: 'not_configured', observed: null, thresholds: null },
    ];
    const verdict = (blocked: GateStage | null, notional: number | null): EntryVerdict => ({ gates, blocked, notional, turnover: null, riskBudget: null });
    const open = portfolio.positions.size;
    const limits = { max_open_positions: this.cfg.maxOpenPositions };
    if (open >= this.cfg.maxOpenPositions) {
      const g: GateStage = { stage: 'safety', verdict: 'block', reason: 'position_limit', observed: { open_positions: open }, thresholds: limits };
      gates.push(g);
      return verdict(g, null);
    }
    gates.push({ stage: 'safety', verdict: 'pass', reason: null, observed: { open_positions: open }, thresholds: limits });
    const equity = portfolio.equity();
    const byRisk = (equity * this.cfg.riskPerTrade) / signal.stopPct;
    const notional = Math.min(byRisk, equity * this.cfg.maxPositionPct, signal.action === 'buy' ? Math.max(0, portfolio.cash) : equity);
    if (notional < this.cfg.minNotional) {
      const g: GateStage = { stage: 'sizing', verdict: 'block', reason: 'size_below_minimum', observed: { notional: r6(notional) }, thresholds: { min_notional: this.cfg.minNotional } };
      gates.push(g);
      return verdict(g, null);
    }
    gates.push({ stage: 'sizing', verdict: 'pass', reason: null, observed: { notional: r6(notional) }, thresholds: { min_notional: this.cfg.minNotional } });
    return verdict(null, notional);
  }
}
