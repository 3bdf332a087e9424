import { repairTornTail } from '../fsx/jsonl.ts';
import { log } from '../log.ts';
import { compactForward } from '../records/outcome-codec.ts';
import { logBytes, NO_ROTATION, type RotationPolicy } from '../records/segments.ts';
import type { ActionName } from '../schema/common.ts';
import { OUTCOME_HORIZONS, type OutcomeRecorderState } from '../schema/outcome.ts';
import { compactUtc, isoUtc } from '../time/iso.ts';
import { RotatingAppender } from './appender.ts';
import { outcomeKey, reconcileTail } from './resume-tail.ts';

const [H1, H5, H20] = OUTCOME_HORIZONS;
/** Decisions kept per symbol while their horizons are open (a halt adds one more on the same bar). */
const MAX_PENDING = 64;

/** What the forward returns carry across a restart: the decisions still open, and the file's size. */
export type ForwardState = Pick<OutcomeRecorderState, 'pending' | 'file_bytes'>;

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
 * Where the outcome recorder's lines go, and the half of it that needs only numbers and names:
 * each decision's forward returns 1, 5 and 20 bars later, and the outcome file itself (closed
 * trades arrive as finished lines). It runs beside the engine (`ForwardReturns`) or on a thread
 * of its own (`ForwardThread`); either way the calls arrive in the engine's order.
 */
export interface ForwardSink {
  /**
   * A decision at a bar (`closeTs`, `openTs`, `close`) with a usable price; its id is
   * `${idPrefix}${compactUtc(closeTs)}${idSuffix}` and its bar time `isoUtc(closeTs)`, as the
   * pipeline makes them (passed in parts, so a thread is handed names and a number, not texts).
   */
  decided(
    symbol: string,
    idPrefix: string,
    idSuffix: string,
    closeTs: number,
    openTs: number,
    close: number,
    price: number,
    action: ActionName,
    signalAction: ActionName | null,
    shadowAction: string | null,
  ): void;
  /** A bar that was not decided: its price still closes horizons. */
  bar(symbol: string, closeTs: number, openTs: number, close: number): void;
  /** A finished line (a closed trade), unless a crash left it on file already. */
  line(id: string, kind: string, text: string): void;
  /** Before the first call: the checkpoint's state (validated), or null for a start without one. */
  restore(saved: ForwardState | null): void;
  /** Make what was recorded durable (the engine's checkpoint, after the decision log's flush). */
  checkpoint(): void | Promise<void>;
  /** The state to checkpoint: as of now beside the engine, as of the last `checkpoint()` on a thread. */
  state(): ForwardState;
  pendingBytes(): number;
  close(): void | Promise<void>;
  /** The run failed: write nothing more. */
  abandon?(): void;
  /** Wait while the sink is too far behind (a thread's queue is bounded). */
  backpressure?(): Promise<void>;
}

/**
 * Forward returns are counted in bars of time, not in decisions: the bar exactly 1, 5 or 20 bars
 * after a decision gives that horizon's return; a horizon whose bar never arrived (an outage, the
 * engine down) stays null. A decision's line is written once its 20-bar horizon has passed.
 * Lines reach the file at checkpoints; at `close`, decisions whose horizons are still open are
 * written with what is known (`complete: false`), and they stay in the state, so the next run
 * replaces those provisional lines with complete ones.
 */
export class ForwardReturns implements ForwardSink {
  private appender: RotatingAppender | null = null;
  private readonly pending = new Map<string, SymbolOutcomes>();
  /** Outcomes on file past the resumed checkpoint (left by a crash): not written again. */
  private onFile = new Set<string>();

  constructor(
    private readonly path: string,
    private readonly rotation: RotationPolicy = NO_ROTATION,
  ) {}

  decided(
    symbol: string,
    idPrefix: string,
    idSuffix: string,
    closeTs: number,
    openTs: number,
    close: number,
    price: number,
    action: ActionName,
    signalAction: ActionName | null,
    shadowAction: string | null,
  ): void {
    const id = `${idPrefix}${compactUtc(closeTs)}${idSuffix}`;
    const barTs = isoUtc(closeTs);
    const s = this.symbol(symbol);
    this.resolve(s, closeTs, openTs, close, barTs);
    s.queue.push({
      id,
      barTs,
      closeTs,
      price,
      action,
      signalAction,
      shadowAction,
      r1: Number.NaN,
      r5: Number.NaN,
    });
    // Never more open than a 20-bar window holds, unless bars stop advancing: write the oldest as is.
    if (s.queue.length > MAX_PENDING)
      this.writeForward(s, s.queue.shift()!, Number.NaN, realisedMs(closeTs, barTs), false);
  }

  bar(symbol: string, closeTs: number, openTs: number, close: number): void {
    const s = this.pending.get(symbol);
    if (s) this.resolve(s, closeTs, openTs, close, isoUtc(closeTs));
  }

  line(id: string, kind: string, text: string): void {
    if (!this.isOnFile(id, kind)) this.write(text);
  }

  private symbol(symbol: string): SymbolOutcomes {
    let s = this.pending.get(symbol);
    if (!s) {
      s = new SymbolOutcomes(symbol);
      this.pending.set(symbol, s);
    }
    return s;
  }

  private resolve(s: SymbolOutcomes, closeTs: number, openTs: number, close: number, barIso: string): void {
    const barMs = closeTs - openTs;
    if (closeTs <= s.lastCloseTs || !(barMs > 0)) return;
    s.lastCloseTs = closeTs;
    const q = s.queue;
    // Horizons 1 and 5 close on the newest decisions: walk back from the end.
    for (let i = q.length - 1; i >= 0; i--) {
      const e = q[i]!;
      const bars = Math.round((closeTs - e.closeTs) / barMs);
      if (bars > H5) break;
      if (bars === H1) e.r1 = close / e.price - 1;
      else if (bars === H5) e.r5 = close / e.price - 1;
    }
    // Horizon 20 closes the oldest, which then leave the queue.
    let done = 0;
    while (done < q.length) {
      const e = q[done]!;
      const bars = Math.round((closeTs - e.closeTs) / barMs);
      if (bars < H20) break;
      this.writeForward(
        s,
        e,
        bars === H20 ? close / e.price - 1 : Number.NaN,
        realisedMs(closeTs, barIso),
        true,
      );
      done++;
    }
    if (done > 0) q.splice(0, done); // oldest first: the finished ones lead the queue
  }

  private writeForward(s: SymbolOutcomes, e: Pending, r20: number, realisedAt: number, complete: boolean) {
    if (this.isOnFile(e.id, 'forward_return')) return;
    this.write(
      compactForward(
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
      ),
    );
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

  restore(saved: ForwardState | null): void {
    // No checkpoint yet: whatever is on file came from a run that crashed before its first commit.
    if (saved === null) {
      this.reconcile(0, new Set());
      return;
    }
    // Checkpoints from before `file_bytes` existed: their provisional lines stay beside the complete ones (readers merge).
    if (saved.file_bytes !== undefined) {
      const open = new Set(Object.values(saved.pending).flatMap((q) => q.map((d) => d.decision_id)));
      this.reconcile(saved.file_bytes, open);
    }
    for (const [symbol, open] of Object.entries(saved.pending)) {
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

  checkpoint(): void {
    this.appender?.flush();
    for (const archive of this.appender?.takeRotated() ?? []) log.info(`outcome log rotated: ${archive}`);
  }

  state(): ForwardState {
    const pending: ForwardState['pending'] = {};
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
    // The log's size (every segment's bytes) as of the last flush: where the next resume's reconciliation starts.
    return { pending, file_bytes: this.appender ? this.appender.flushedBytes : logBytes(this.path) };
  }

  pendingBytes(): number {
    return this.appender?.pendingBytes ?? 0;
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

/** The epoch ms of the bar closing at `closeTs`, named `barIso` (the same instant, without parsing the text). */
const realisedMs = (closeTs: number, barIso: string) =>
  Number.isInteger(closeTs) ? closeTs : Date.parse(barIso);
const finiteOrNull = (x: number) => (Number.isFinite(x) ? x : null);
