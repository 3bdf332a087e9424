import type { Draft } from '../engine/pipeline.ts';
import type { StageContext } from '../engine/stages.ts';
import type { Fill } from '../schema/decision.ts';
import { OUTCOME_SCHEMA_VERSION, type OutcomeRecorderState, type TradeOutcome } from '../schema/outcome.ts';

/** A position being followed, with its excursions so far (the checkpoint's shape, kept as is). */
type FollowedTrade = OutcomeRecorderState['trades'][string];

const NO_FILLS: readonly Fill[] = [];

/**
 * Follows each symbol's open position bar by bar — lowest and highest price while open, bars
 * held — and turns it into a trade outcome when it closes: P&L net of fees, MAE/MFE as fractions
 * of the entry price, holding time, linked to the opening and closing decisions.
 */
export class TradeFollower {
  private readonly open = new Map<string, FollowedTrade>();

  /** After a decision: the closed trade's outcome when this decision closed one, else null. */
  follow(draft: Draft, ctx: StageContext): TradeOutcome | null {
    const { bar } = ctx;
    let closed: TradeOutcome | null = null;
    let t = this.open.get(draft.symbol);
    for (const fill of draft.execution ? draft.execution.fills : NO_FILLS) {
      if (fill.intent === 'close' && t) {
        // The closing bar counts only up to the exit price.
        t.low = Math.min(t.low, fill.price);
        t.high = Math.max(t.high, fill.price);
        closed = tradeOutcome(t, draft, fill.price, fill.realized_pnl ?? 0, fill.reason);
        this.open.delete(draft.symbol);
        t = undefined;
      } else if (fill.intent === 'open') {
        t = {
          decision_id: draft.decision_id,
          side: fill.side === 'buy' ? 'long' : 'short',
          entry_ts: draft.bar_ts,
          entry_price: fill.price,
          quantity: fill.quantity,
          low: fill.price,
          high: fill.price,
          bars: 0,
          partial: false,
        };
        this.open.set(draft.symbol, t);
      }
    }
    const pos = ctx.portfolio.positions.get(draft.symbol);
    if (t && !pos && t.decision_id !== draft.decision_id) {
      // Gone without a closing fill seen here (followed state the ledger no longer matches).
      this.open.delete(draft.symbol);
    } else if (pos && (!t || t.decision_id !== pos.decision_id)) {
      // Opened by an earlier process that nobody followed: track from here on.
      this.open.set(draft.symbol, {
        decision_id: pos.decision_id,
        side: pos.side,
        entry_ts: pos.entry_ts,
        entry_price: pos.entry_price,
        quantity: pos.quantity,
        low: bar.low,
        high: bar.high,
        bars: 0,
        partial: true,
      });
    } else if (t && t.decision_id !== draft.decision_id) {
      t.low = Math.min(t.low, bar.low);
      t.high = Math.max(t.high, bar.high);
      t.bars++;
    }
    return closed;
  }

  snapshot(): OutcomeRecorderState['trades'] {
    const saved: OutcomeRecorderState['trades'] = {};
    for (const [symbol, t] of this.open) saved[symbol] = { ...t };
    return saved;
  }

  restore(saved: OutcomeRecorderState['trades']): void {
    for (const [symbol, t] of Object.entries(saved)) this.open.set(symbol, { ...t });
  }
}

function tradeOutcome(
  t: FollowedTrade,
  draft: Draft,
  exitPrice: number,
  pnl: number,
  reason: string,
): TradeOutcome {
  const long = t.side === 'long';
  const entry = t.entry_price;
  const adverse = long ? (entry - t.low) / entry : (t.high - entry) / entry;
  const favourable = long ? (t.high - entry) / entry : (entry - t.low) / entry;
  return {
    schema_version: OUTCOME_SCHEMA_VERSION,
    kind: 'trade',
    decision_id: t.decision_id,
    exit_decision_id: draft.decision_id,
    symbol: draft.symbol,
    side: t.side,
    entry_ts: t.entry_ts,
    exit_ts: draft.bar_ts,
    entry_price: entry,
    exit_price: exitPrice,
    quantity: t.quantity,
    pnl,
    pnl_pct: pnl / (entry * t.quantity),
    mae_pct: Math.max(0, adverse),
    mfe_pct: Math.max(0, favourable),
    holding_bars: t.bars,
    holding_s: Math.max(0, (Date.parse(draft.bar_ts) - Date.parse(t.entry_ts)) / 1000),
    exit_reason: reason,
    partial: t.partial,
  };
}
