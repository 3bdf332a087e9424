import type { Bar } from '../engine/feeds.ts';
import type { Draft } from '../engine/pipeline.ts';
import type { DecisionObserver, StageContext } from '../engine/stages.ts';
import { log } from '../log.ts';
import { NO_ROTATION, type RotationPolicy } from '../records/segments.ts';
import { validate } from '../schema/ajv.ts';
import { OutcomeRecorderState } from '../schema/outcome.ts';
import { ForwardReturns, type ForwardSink } from './forward.ts';
import { ForwardThread } from './forward-thread.ts';
import { TradeFollower } from './trades.ts';

/**
 * Records realised outcomes to `rl/decision_outcomes.jsonl`, linked by decision_id: each
 * decision's forward returns 1, 5 and 20 bars later (with the action taken and the shadow
 * advisor's), and each closed trade's P&L, MAE/MFE and holding time. Lines reach the file at
 * the engine's checkpoints, after the decisions they refer to; at the end of a run, decisions
 * whose horizons are still open are written with what is known (`complete: false`), and the
 * decisions and open trades still followed are kept in the ledger checkpoint, so the next run on
 * the data root completes them: it replaces those provisional lines with the complete ones, and
 * skips outcomes a crash left on file past the checkpoint, so the file holds one line per outcome.
 *
 * Trades are followed here (they need the portfolio); the forward returns and the file are the
 * sink's, beside the engine or, with `thread`, on a thread of their own (`ForwardThread`), which
 * then snapshots as of the last checkpoint — the only time the engine asks.
 */
export class OutcomeRecorder implements DecisionObserver {
  readonly stateKey = 'outcomes';
  private readonly trades = new TradeFollower();
  private readonly sink: ForwardSink;

  constructor(path: string, rotation: RotationPolicy = NO_ROTATION, opts: { thread?: boolean } = {}) {
    this.sink = opts.thread ? new ForwardThread(path, rotation) : new ForwardReturns(path, rotation);
  }

  onDecision(draft: Draft, ctx: StageContext): void {
    const price = draft.market.price;
    if (price === null || !(price > 0)) return;
    const { bar } = ctx;
    const shadow = draft.rl_recommendation?.action;
    // The sink rebuilds the id from the context's parts: they must name this decision.
    if (draft.decision_id !== ctx.decisionId)
      throw new Error(
        `outcome recorder: decision ${draft.decision_id} came with the context of ${ctx.decisionId}`,
      );
    this.sink.decided(
      draft.symbol,
      ctx.idPrefix,
      ctx.idSuffix,
      bar.closeTs,
      bar.openTs,
      bar.close,
      price,
      draft.action,
      draft.signal ? draft.signal.action : null,
      typeof shadow === 'string' ? shadow : null,
    );
    const closed = this.trades.follow(draft, ctx);
    if (closed) this.sink.line(closed.decision_id, closed.kind, JSON.stringify(closed));
  }

  /** A bar that was not decided (history after an outage, warm-up): its price still closes horizons. */
  onBar(symbol: string, bar: Bar): void {
    this.sink.bar(symbol, bar.closeTs, bar.openTs, bar.close);
  }

  pendingBytes(): number {
    return this.sink.pendingBytes();
  }

  checkpoint(): void | Promise<void> {
    return this.sink.checkpoint();
  }

  snapshot(): OutcomeRecorderState {
    const { pending, file_bytes } = this.sink.state();
    return { pending, trades: this.trades.snapshot(), file_bytes };
  }

  /** Pick up where the last run's checkpoint left off; unreadable state costs only completeness. */
  restore(saved: unknown): void {
    if (saved === null || saved === undefined) {
      this.sink.restore(null);
      return;
    }
    const checked = validate(OutcomeRecorderState, saved);
    if (!checked.ok) {
      log.warn(
        `outcome recorder state in the ledger checkpoint is unreadable (${checked.errors.join('; ')}); decisions still open at the last stop keep their complete:false lines`,
      );
      return;
    }
    this.sink.restore({ pending: checked.value.pending, file_bytes: checked.value.file_bytes });
    this.trades.restore(checked.value.trades);
  }

  close(): void | Promise<void> {
    return this.sink.close();
  }

  backpressure(): Promise<void> | undefined {
    return this.sink.backpressure?.();
  }

  /** The run failed: nothing more is written (what the log never acknowledged stays unwritten). */
  abandon(): void {
    this.sink.abandon?.();
  }
}
