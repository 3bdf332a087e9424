import type { Draft } from '../engine/pipeline.ts';
import type { DecisionObserver, StageContext } from '../engine/stages.ts';
import { JsonlAppender, repairTornTail } from '../fsx/jsonl.ts';
import { log } from '../log.ts';
import { validate } from '../schema/ajv.ts';
import type { ActionName } from '../schema/common.ts';
import type { Fill } from '../schema/decision.ts';
import {
  OUTCOME_HORIZONS,
  OUTCOME_SCHEMA_VERSION,
  OutcomeRecorderState,
  type TradeOutcome,
} from '../schema/outcome.ts';

const DEPTH = OUTCOME_HORIZONS[OUTCOME_HORIZONS.length - 1]!;

/** The last DEPTH decisions of one symbol, waiting for their forward returns. */
class PendingRing {
  readonly ids: string[] = new Array(DEPTH).fill('');
  readonly barTs: string[] = new Array(DEPTH).fill('');
  readonly actions: ActionName[] = new Array(DEPTH).fill('hold');
  readonly signalActions: (ActionName | null)[] = new Array(DEPTH).fill(null);
  readonly shadowActions: (string | null)[] = new Array(DEPTH).fill(null);
  readonly prices = new Float64Array(DEPTH);
  readonly r1 = new Float64Array(DEPTH);
  readonly r5 = new Float64Array(DEPTH);
  count = 0;
  lastBarTs = '';
  constructor(readonly symbolJson: string) {}
}

type OpenTrade = {
  decisionId: string;
  side: 'long' | 'short';
  entryTs: string;
  entryPrice: number;
  quantity: number;
  low: number;
  high: number;
  bars: number;
  partial: boolean;
};

/**
 * Records realised outcomes to `rl/decision_outcomes.jsonl`, linked by decision_id: each
 * decision's forward returns 1, 5 and 20 bars later (with the action taken and the shadow
 * advisor's), and each closed trade's P&L, MAE/MFE and holding time. Lines reach the file at
 * the engine's checkpoints, after the decisions they refer to; at the end of a run, decisions
 * whose horizons are still open are written with what is known (`complete: false`), and the
 * decisions and open trades still followed are kept in the ledger checkpoint, so the next run on
 * the data root completes them (a `complete: true` line once the horizon closes).
 */
export class OutcomeRecorder implements DecisionObserver {
  readonly stateKey = 'outcomes';
  private appender: JsonlAppender | null = null;
  private readonly pending = new Map<string, PendingRing>();
  private readonly trades = new Map<string, OpenTrade>();

  constructor(private readonly path: string) {}

  onDecision(draft: Draft, ctx: StageContext): void {
    const price = draft.market.price;
    if (price === null || !(price > 0)) return;
    this.recordForwardReturns(draft, price);
    this.trackTrade(draft, ctx);
  }

  /**
   * One line per decision once its 20-bar return is known. Built as text, once: it runs for every
   * decision of a replay, and every value in it is a number, a fixed word or an engine-made id.
   */
  private recordForwardReturns(draft: Draft, price: number): void {
    let ring = this.pending.get(draft.symbol);
    if (!ring) {
      ring = new PendingRing(JSON.stringify(draft.symbol));
      this.pending.set(draft.symbol, ring);
    }
    const n = ring.count;
    if (n >= 1) ring.r1[(n - 1) % DEPTH] = price / ring.prices[(n - 1) % DEPTH]! - 1;
    if (n >= 5) ring.r5[(n - 5) % DEPTH] = price / ring.prices[(n - 5) % DEPTH]! - 1;
    const k = n % DEPTH;
    if (n >= DEPTH) this.write(forwardLine(ring, k, price / ring.prices[k]! - 1, draft.bar_ts, true));
    // Only references are kept: the line is built once, when its 20-bar return is known.
    ring.ids[k] = draft.decision_id;
    ring.barTs[k] = draft.bar_ts;
    ring.actions[k] = draft.action;
    ring.signalActions[k] = draft.signal ? draft.signal.action : null;
    const shadow = draft.rl_recommendation?.action;
    ring.shadowActions[k] = typeof shadow === 'string' ? shadow : null;
    ring.prices[k] = price;
    ring.r1[k] = Number.NaN;
    ring.r5[k] = Number.NaN;
    ring.count = n + 1;
    ring.lastBarTs = draft.bar_ts;
  }

  /** Excursions while a position is open; a trade line when it closes. */
  private trackTrade(draft: Draft, ctx: StageContext): void {
    const { bar } = ctx;
    let open = this.trades.get(draft.symbol);
    for (const fill of draft.execution ? draft.execution.fills : NO_FILLS) {
      if (fill.intent === 'close' && open) {
        // The closing bar counts only up to the exit price.
        open.low = Math.min(open.low, fill.price);
        open.high = Math.max(open.high, fill.price);
        this.write(tradeLine(open, draft, fill.price, fill.realized_pnl ?? 0, fill.reason));
        this.trades.delete(draft.symbol);
        open = undefined;
      } else if (fill.intent === 'open') {
        open = {
          decisionId: draft.decision_id,
          side: fill.side === 'buy' ? 'long' : 'short',
          entryTs: draft.bar_ts,
          entryPrice: fill.price,
          quantity: fill.quantity,
          low: fill.price,
          high: fill.price,
          bars: 0,
          partial: false,
        };
        this.trades.set(draft.symbol, open);
      }
    }
    const pos = ctx.portfolio.positions.get(draft.symbol);
    if (open && !pos && open.decisionId !== draft.decision_id) {
      // Gone without a closing fill seen here (followed state the ledger no longer matches).
      this.trades.delete(draft.symbol);
    } else if (pos && (!open || open.decisionId !== pos.decision_id)) {
      // Opened by an earlier process this recorder did not follow: track from here on.
      open = {
        decisionId: pos.decision_id,
        side: pos.side,
        entryTs: pos.entry_ts,
        entryPrice: pos.entry_price,
        quantity: pos.quantity,
        low: bar.low,
        high: bar.high,
        bars: 0,
        partial: true,
      };
      this.trades.set(draft.symbol, open);
    } else if (open && open.decisionId !== draft.decision_id) {
      open.low = Math.min(open.low, bar.low);
      open.high = Math.max(open.high, bar.high);
      open.bars++;
    }
  }

  private write(line: string | TradeOutcome): void {
    if (!this.appender) {
      // Opened on first use: the engine holds the data-root lock by then.
      const repair = repairTornTail(this.path);
      if (repair)
        log.warn(
          `outcome log had a torn final line (${repair.fragmentBytes} bytes); moved to ${repair.sidecar}`,
        );
      this.appender = new JsonlAppender(this.path);
      this.appender.open();
    }
    this.appender.push(typeof line === 'string' ? line : JSON.stringify(line));
  }

  checkpoint(): void {
    this.appender?.flush();
  }

  snapshot(): OutcomeRecorderState {
    const pending: OutcomeRecorderState['pending'] = {};
    for (const [symbol, ring] of this.pending) {
      const open = [];
      for (let i = Math.max(0, ring.count - DEPTH); i < ring.count; i++) {
        const k = i % DEPTH;
        open.push({
          decision_id: ring.ids[k]!,
          bar_ts: ring.barTs[k]!,
          price: ring.prices[k]!,
          action: ring.actions[k]!,
          signal_action: ring.signalActions[k]!,
          shadow_action: ring.shadowActions[k]!,
          r1: finiteOrNull(ring.r1[k]!),
          r5: finiteOrNull(ring.r5[k]!),
        });
      }
      pending[symbol] = open;
    }
    const trades: OutcomeRecorderState['trades'] = {};
    for (const [symbol, t] of this.trades) {
      trades[symbol] = {
        decision_id: t.decisionId,
        side: t.side,
        entry_ts: t.entryTs,
        entry_price: t.entryPrice,
        quantity: t.quantity,
        low: t.low,
        high: t.high,
        bars: t.bars,
        partial: t.partial,
      };
    }
    return { pending, trades };
  }

  /** Pick up where the last run's checkpoint left off; unreadable state costs only completeness. */
  restore(saved: unknown): void {
    if (saved === null || saved === undefined) return;
    const checked = validate(OutcomeRecorderState, saved);
    if (!checked.ok) {
      log.warn(
        `outcome recorder state in the ledger checkpoint is unreadable (${checked.errors.join('; ')}); decisions still open at the last stop keep their complete:false lines`,
      );
      return;
    }
    for (const [symbol, open] of Object.entries(checked.value.pending)) {
      const ring = new PendingRing(JSON.stringify(symbol));
      open.forEach((d, k) => {
        ring.ids[k] = d.decision_id;
        ring.barTs[k] = d.bar_ts;
        ring.prices[k] = d.price;
        ring.actions[k] = d.action;
        ring.signalActions[k] = d.signal_action;
        ring.shadowActions[k] = d.shadow_action;
        ring.r1[k] = d.r1 ?? Number.NaN;
        ring.r5[k] = d.r5 ?? Number.NaN;
      });
      ring.count = open.length;
      ring.lastBarTs = open.at(-1)?.bar_ts ?? '';
      this.pending.set(symbol, ring);
    }
    for (const [symbol, t] of Object.entries(checked.value.trades)) {
      this.trades.set(symbol, {
        decisionId: t.decision_id,
        side: t.side,
        entryTs: t.entry_ts,
        entryPrice: t.entry_price,
        quantity: t.quantity,
        low: t.low,
        high: t.high,
        bars: t.bars,
        partial: t.partial,
      });
    }
  }

  close(): void {
    // Decisions whose 20-bar horizon has not closed: what is known so far, marked incomplete.
    for (const ring of this.pending.values()) {
      for (let i = Math.max(0, ring.count - DEPTH); i < ring.count; i++)
        this.write(forwardLine(ring, i % DEPTH, Number.NaN, ring.lastBarTs, false));
    }
    this.pending.clear();
    this.appender?.close();
    this.appender = null;
  }
}

const NO_FILLS: readonly Fill[] = [];
const json = (x: number) => (Number.isFinite(x) ? String(x) : 'null');
const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);
// Decision ids, times and action words the engine makes need no JSON escaping; anything else gets it.
const PLAIN = /^[\w.:/+-]*$/;
const quote = (s: string) => (PLAIN.test(s) ? `"${s}"` : JSON.stringify(s));
const quoteOrNull = (s: string | null) => (s === null ? 'null' : quote(s));

function forwardLine(
  ring: PendingRing,
  k: number,
  r20: number,
  realisedBarTs: string,
  complete: boolean,
): string {
  return `{"schema_version":"${OUTCOME_SCHEMA_VERSION}","kind":"forward_return","decision_id":${quote(ring.ids[k]!)},"symbol":${ring.symbolJson},"bar_ts":${quote(ring.barTs[k]!)},"entry_price":${ring.prices[k]},"forward_returns":{"1":${json(ring.r1[k]!)},"5":${json(ring.r5[k]!)},"20":${json(r20)}},"realised_bar_ts":${quote(realisedBarTs)},"complete":${complete},"action":${quote(ring.actions[k]!)},"signal_action":${quoteOrNull(ring.signalActions[k]!)},"shadow_action":${quoteOrNull(ring.shadowActions[k]!)}}`;
}

function tradeLine(t: OpenTrade, draft: Draft, exitPrice: number, pnl: number, reason: string): TradeOutcome {
  const long = t.side === 'long';
  const adverse = long ? (t.entryPrice - t.low) / t.entryPrice : (t.high - t.entryPrice) / t.entryPrice;
  const favourable = long ? (t.high - t.entryPrice) / t.entryPrice : (t.entryPrice - t.low) / t.entryPrice;
  return {
    schema_version: OUTCOME_SCHEMA_VERSION,
    kind: 'trade',
    decision_id: t.decisionId,
    exit_decision_id: draft.decision_id,
    symbol: draft.symbol,
    side: t.side,
    entry_ts: t.entryTs,
    exit_ts: draft.bar_ts,
    entry_price: t.entryPrice,
    exit_price: exitPrice,
    quantity: t.quantity,
    pnl,
    pnl_pct: pnl / (t.entryPrice * t.quantity),
    mae_pct: Math.max(0, adverse),
    mfe_pct: Math.max(0, favourable),
    holding_bars: t.bars,
    holding_s: Math.max(0, (Date.parse(draft.bar_ts) - Date.parse(t.entryTs)) / 1000),
    exit_reason: reason,
    partial: t.partial,
  };
}
