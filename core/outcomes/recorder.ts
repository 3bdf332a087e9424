import type { Bar } from '../engine/feeds.ts';
import type { Draft } from '../engine/pipeline.ts';
import type { DecisionObserver, StageContext } from '../engine/stages.ts';
import { repairTornTail } from '../fsx/jsonl.ts';
import { log } from '../log.ts';
import { compactForward } from '../records/outcome-codec.ts';
import { logBytes, NO_ROTATION, type RotationPolicy } from '../records/segments.ts';
import { validate } from '../schema/ajv.ts';
import type { ActionName } from '../schema/common.ts';
import { OUTCOME_HORIZONS, OutcomeRecorderState } from '../schema/outcome.ts';
import { isoUtc } from '../time/iso.ts';
import { RotatingAppender } from './appender.ts';
import { outcomeKey, reconcileTail } from './resume-tail.ts';
import { TradeFollower } from './trades.ts';

const [H1, H5, H20] = OUTCOME_HORIZONS;
/** Decisions kept per symbol while their horizons are open (a halt adds one more on the same bar). */
const MAX_PENDING = 64;

/** A decision waiting for the bars 1, 5 and 20 bars after its own (NaN: not seen yet, or missed). */
type Pending = {
  id: string;
  barTs: string;
  closeTs: number;
  price: number;
  action: ActionName;
  signalAction: ActionName | null;
  shadowAction: string | null;
  r1: number;
  r5: number;
};

/** One symbol's decisions with open horizons, oldest first. */
class SymbolOutcomes {
  readonly queue: Pending[] = [];
  /** Close time of the newest bar seen (decided or observed): older bars replayed after a restart are ignored. */
  lastCloseTs = Number.NEGATIVE_INFINITY;
  constructor(readonly symbol: string) {}
}

/**
 * Records realised outcomes to `rl/decision_outcomes.jsonl`, linked by decision_id: each
 * decision's forward returns 1, 5 and 20 bars later (with the action taken and the shadow
 * advisor's), and each closed trade's P&L, MAE/MFE and holding time. Lines reach the file at
 * the engine's checkpoints, after the decisions they refer to; at the end of a run, decisions
 * whose horizons are still open are written with what is known (`complete: false`), and the
 * decisions and open trades still followed are kept in the ledger checkpoint, so the next run on
 * the data root completes them: it replaces those provisional lines with the complete ones, and
 * skips outcomes a crash left on file past the checkpoint, so the file holds one line per outcome.
 */
export class OutcomeRecorder implements DecisionObserver {
  readonly stateKey = 'outcomes';
  private appender: RotatingAppender | null = null;
  private readonly pending = new Map<string, SymbolOutcomes>();
  private readonly trades = new TradeFollower();
  /** Outcomes on file past the resumed checkpoint (left by a crash): not written again. */
  private onFile = new Set<string>();

  constructor(
    private readonly path: string,
    private readonly rotation: RotationPolicy = NO_ROTATION,
  ) {}

  onDecision(draft: Draft, ctx: StageContext): void {
    const price = draft.market.price;
    if (price === null || !(price > 0)) return;
    const s = this.symbol(draft.symbol);
    this.resolve(s, ctx.bar, draft.bar_ts);
    s.queue.push({
      id: draft.decision_id,
      barTs: draft.bar_ts,
      closeTs: ctx.bar.closeTs,
      price,
      action: draft.action,
      signalAction: draft.signal ? draft.signal.action : null,
      shadowAction:
        typeof draft.rl_recommendation?.action === 'string' ? draft.rl_recommendation.action : null,
      r1: Number.NaN,
      r5: Number.NaN,
    });
    // Never more open than a 20-bar window holds, unless bars stop advancing: write the oldest as is.
    if (s.queue.length > MAX_PENDING)
      this.writeForward(s, s.queue.shift()!, Number.NaN, realisedMs(ctx.bar, draft.bar_ts), false);
    const closed = this.trades.follow(draft, ctx);
    if (closed && !this.isOnFile(closed.decision_id, closed.kind)) this.write(JSON.stringify(closed));
  }

  /** A bar that was not decided (history after an outage, warm-up): its price still closes horizons. */
  onBar(symbol: string, bar: Bar): void {
    const s = this.pending.get(symbol);
    if (s) this.resolve(s, bar, isoUtc(bar.closeTs));
  }

  private symbol(symbol: string): SymbolOutcomes {
    let s = this.pending.get(symbol);
    if (!s) {
      s = new SymbolOutcomes(symbol);
      this.pending.set(symbol, s);
    }
    return s;
  }

  /**
   * Forward returns are counted in bars of time, not in decisions: the bar exactly 1, 5 or 20 bars
   * after a decision gives that horizon's return; a horizon whose bar never arrived (an outage, the
   * engine down) stays null. A decision's line is written once its 20-bar horizon has passed.
   */
  private resolve(s: SymbolOutcomes, bar: Bar, barIso: string): void {
    const barMs = bar.closeTs - bar.openTs;
    if (bar.closeTs <= s.lastCloseTs || !(barMs > 0)) return;
    s.lastCloseTs = bar.closeTs;
    const q = s.queue;
    // Horizons 1 and 5 close on the newest decisions: walk back from the end.
    for (let i = q.length - 1; i >= 0; i--) {
      const e = q[i]!;
      const bars = Math.round((bar.closeTs - e.closeTs) / barMs);
      if (bars > H5) break;
      if (bars === H1) e.r1 = bar.close / e.price - 1;
      else if (bars === H5) e.r5 = bar.close / e.price - 1;
    }
    // Horizon 20 closes the oldest, which then leave the queue.
    let done = 0;
    while (done < q.length) {
      const e = q[done]!;
      const bars = Math.round((bar.closeTs - e.closeTs) / barMs);
      if (bars < H20) break;
      this.writeForward(
        s,
        e,
        bars === H20 ? bar.close / e.price - 1 : Number.NaN,
        realisedMs(bar, barIso),
        true,
      );
      done++;
    }
    if (done > 0) q.splice(0, done); // oldest first: the finished ones lead the queue
  }

  private writeForward(s: SymbolOutcomes, e: Pending, r20: number, realisedAt: number, complete: boolean) {
    if (!this.isOnFile(e.id, 'forward_return')) this.write(forwardLine(s, e, r20, realisedAt, complete));
  }

  /** Left on file past the resumed checkpoint by a crash; the key is built only when a resume left any (most runs have none). */
  private isOnFile(id: string, kind: string): boolean {
    return this.onFile.size > 0 && this.onFile.has(outcomeKey(id, kind));
  }

  private write(line: string): void {
    this.open();
    this.appender!.push(line);
  }

  private open(): void {
    if (!this.appender) {
      // Opened on first use: the engine holds the data-root lock by then.
      const repair = repairTornTail(this.path);
      if (repair)
        log.warn(
          `outcome log had a torn final line (${repair.fragmentBytes} bytes); moved to ${repair.sidecar}`,
        );
      this.appender = new RotatingAppender(this.path, this.rotation);
      this.appender.open();
    }
  }

  /** The log's size (every segment's bytes) as of the last flush: where the next resume's reconciliation starts. */
  private flushedBytes(): number {
    return this.appender ? this.appender.flushedBytes : logBytes(this.path);
  }

  pendingBytes(): number {
    return this.appender?.pendingBytes ?? 0;
  }

  checkpoint(): void {
    this.appender?.flush();
    for (const archive of this.appender?.takeRotated() ?? []) log.info(`outcome log rotated: ${archive}`);
  }

  snapshot(): OutcomeRecorderState {
    const pending: OutcomeRecorderState['pending'] = {};
    for (const [symbol, s] of this.pending) {
      pending[symbol] = s.queue.map((e) => ({
        decision_id: e.id,
        bar_ts: e.barTs,
        price: e.price,
        action: e.action,
        signal_action: e.signalAction,
        shadow_action: e.shadowAction,
        r1: finiteOrNull(e.r1),
        r5: finiteOrNull(e.r5),
      }));
    }
    return { pending, trades: this.trades.snapshot(), file_bytes: this.flushedBytes() };
  }

  /** Pick up where the last run's checkpoint left off; unreadable state costs only completeness. */
  restore(saved: unknown): void {
    // No checkpoint yet: whatever is on file came from a run that crashed before its first commit.
    if (saved === null || saved === undefined) {
      this.reconcile(0, new Set());
      return;
    }
    const checked = validate(OutcomeRecorderState, saved);
    if (!checked.ok) {
      log.warn(
        `outcome recorder state in the ledger checkpoint is unreadable (${checked.errors.join('; ')}); decisions still open at the last stop keep their complete:false lines`,
      );
      return;
    }
    // Checkpoints from before `file_bytes` existed: their provisional lines stay beside the complete ones (readers merge).
    if (checked.value.file_bytes !== undefined) {
      const open = new Set(Object.values(checked.value.pending).flatMap((q) => q.map((d) => d.decision_id)));
      this.reconcile(checked.value.file_bytes, open);
    }
    for (const [symbol, open] of Object.entries(checked.value.pending)) {
      const s = this.symbol(symbol);
      for (const d of open) {
        const closeTs = Date.parse(d.bar_ts);
        s.queue.push({
          id: d.decision_id,
          barTs: d.bar_ts,
          closeTs,
          price: d.price,
          action: d.action,
          signalAction: d.signal_action,
          shadowAction: d.shadow_action,
          r1: d.r1 ?? Number.NaN,
          r5: d.r5 ?? Number.NaN,
        });
        s.lastCloseTs = Math.max(s.lastCloseTs, closeTs);
      }
    }
    this.trades.restore(checked.value.trades);
  }

  private reconcile(fileBytes: number, open: Set<string>): void {
    const tail = reconcileTail(this.path, fileBytes, open);
    this.onFile = tail.written;
    if (fileBytes === 0 && tail.written.size === 0) return; // a fresh start: the file is opened on first use
    this.open(); // a torn fragment goes to its sidecar now, before a checkpoint counts its bytes
    if (tail.written.size > 0)
      log.info(
        `outcome log: ${tail.written.size} outcomes past the checkpoint (a crash) are kept, not written again`,
      );
  }

  close(): void {
    // Decisions of this run whose 20-bar horizon has not passed: what is known so far, marked
    // incomplete (they stay in the checkpoint, and the next run writes them complete).
    for (const s of this.pending.values()) {
      const newest = s.queue.at(-1);
      if (!newest) continue;
      const last = Number.isFinite(s.lastCloseTs) ? isoUtc(s.lastCloseTs) : newest.barTs;
      this.open();
      this.appender!.hold(); // provisional lines never rotate the file: the next run replaces them
      for (const e of s.queue) this.writeForward(s, e, Number.NaN, Date.parse(last), false);
    }
    this.pending.clear();
    this.appender?.close();
    this.appender = null;
  }
}

/** The epoch ms of the bar named `barIso` (its close time: the same instant, without parsing the text). */
const realisedMs = (bar: Bar, barIso: string) =>
  Number.isInteger(bar.closeTs) ? bar.closeTs : Date.parse(barIso);
const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);

/** One forward-return line in the compact (v2) form: core/records/outcome-codec.ts reads it back. */
function forwardLine(
  s: SymbolOutcomes,
  e: Pending,
  r20: number,
  realisedAt: number,
  complete: boolean,
): string {
  return compactForward(
    e.id,
    s.symbol,
    e.barTs,
    e.closeTs,
    e.price,
    [e.r1, e.r5, r20],
    realisedAt,
    complete,
    e.action,
    e.signalAction,
    e.shadowAction,
  );
}
