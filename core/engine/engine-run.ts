import { DEFAULT_BROKER, PaperBroker } from '../broker/paper.ts';
import { Portfolio } from '../broker/portfolio.ts';
import type { acquireEngineLock } from '../control/instance.ts';
import { refusedError } from '../errors.ts';
import { writeJsonAtomic, writeJsonLastGasp } from '../fsx/atomic.ts';
import { Ledger, ledgerOnDisk } from '../ledger/ledger.ts';
import { correlated, log } from '../log.ts';
import { logBytes } from '../records/segments.ts';
import type { EngineStatusName } from '../schema/heartbeat.ts';
import { type Checkpoint, portfolioCheckpoint, restorePortfolio } from './checkpoint.ts';
import { DecisionLog, decisionIdsPastCheckpoint } from './decision-log.ts';
import type { EngineOptions, EngineResult } from './engine.ts';
import type { Feed, FeedTick } from './feeds.ts';
import { OrderInbox } from './order-inbox.ts';
import { declaredStages, type PipelineConfig, SymbolPipeline, type TickContext } from './pipeline.ts';
import { RunAccount } from './run-account.ts';
import { removeOldArchives } from './run-files.ts';
import { buildHeartbeat, buildState, type SessionCounters } from './snapshots.ts';

const PAPER_MODES = new Set(['backtest', 'paper_synthetic', 'paper_live_data']);

/**
 * One run of the engine on a locked data root: what it restored from the ledger checkpoint, the
 * accounting of what it decides, and the writes that make it durable. `runLocked` (engine.ts)
 * drives it: `open`, `warm`, then `decideTick` for each tick with a `checkpoint` now and then,
 * and `finish`. Each method leaves the run in a state the next can start from, a failure included.
 */
export class EngineRun {
  readonly ledger: Ledger;
  readonly checkpointed: Checkpoint | null;
  readonly portfolio: Portfolio;
  private readonly account: RunAccount;
  readonly runTag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  readonly counters: SessionCounters = {
    seq: 0,
    decisions: 0,
    tickStartedAt: null,
    tickFinishedAt: null,
    lastBarTs: null,
    lastDecisionTs: null,
  };
  status: EngineStatusName = 'starting';
  statusReason: string | null = null;
  outcome: EngineResult['outcome'] = 'completed';
  private skipped = 0;
  /** Ticks this run decided (not replayed history): what `--max-bars` counts. */
  decidedBars = 0;
  // Set by `open`.
  private decisionLog!: DecisionLog;
  private alreadyLogged!: Set<string>;
  private cfg!: PipelineConfig;
  readonly inbox: OrderInbox | null = null;
  private pipelines: SymbolPipeline[] = [];
  private bySymbol = new Map<string, SymbolPipeline>();
  private broker!: PaperBroker;

  /** Restore from the ledger's checkpoint (or start afresh), every stage included. */
  constructor(
    private readonly opts: EngineOptions,
    private readonly feed: Feed,
    private readonly pidfile: ReturnType<typeof acquireEngineLock>['pidfile'],
  ) {
    const { paths, mode } = opts;
    // A log with decisions and no ledger beside it: the ledger was lost or replaced. Starting
    // over would reset positions, equity and capital preservation unseen.
    if (!ledgerOnDisk(paths.ledger) && logBytes(paths.decisions) > 0)
      throw refusedError(
        `data root ${paths.root} has a decision log but no ledger (${paths.ledger} is missing or empty)`,
        'restore the ledger from a backup, or pass --fresh to archive this run and start over',
      );
    this.ledger = new Ledger(paths.ledger);
    let checkpoint: Checkpoint | null;
    try {
      checkpoint = this.ledger.getMeta<Checkpoint>('checkpoint');
    } catch (err) {
      this.ledger.close();
      throw err;
    }
    this.checkpointed = checkpoint;
    if (checkpoint && checkpoint.mode !== mode) {
      this.ledger.close();
      throw refusedError(
        `data root ${paths.root} holds a ${checkpoint.mode} ledger; this run is ${mode}`,
        'use the data root of that mode, pass --fresh to archive it and start over, or give --data-dir',
      );
    }
    const nowIso = new Date().toISOString();
    this.portfolio = checkpoint
      ? restorePortfolio(checkpoint, this.ledger.positions())
      : new Portfolio(opts.capital);
    // The curve continues where the checkpoint left it, so a resumed run samples the bars an uninterrupted one would.
    this.account = new RunAccount(
      checkpoint,
      { equity: this.portfolio.equity(), nowIso, timeframeMs: feed.timeframeMs },
      checkpoint ? this.ledger.lastEquityTs() : 0,
    );
    if (!checkpoint)
      this.ledger.modeHistory({
        ts: nowIso,
        from_mode: null,
        to_mode: mode,
        reason: 'initial run',
        approver: null,
        stats_json: '{}',
      });
    try {
      opts.stages.entry.restore(checkpoint?.risk ?? null);
      opts.stages.signal.restore?.(checkpoint?.signal ?? null);
      for (const o of opts.stages.observers)
        if (o.stateKey) o.restore?.(checkpoint?.observers?.[o.stateKey] ?? null);
    } catch (err) {
      this.abandonObservers();
      this.ledger.close();
      throw err;
    }
    // Operator orders (`POST /api/orders`) reach paper engines only.
    if (PAPER_MODES.has(mode))
      this.inbox = new OrderInbox(paths.orderRequests, checkpoint?.order_inbox ?? null);
  }

  /** Open the decision log (its header is this run's) and build each symbol's pipeline. */
  open(): void {
    const { opts, feed } = this;
    const { paths, mode } = opts;
    this.decisionLog = new DecisionLog(
      paths.decisions,
      {
        run_id: this.runTag,
        config_hash: opts.pipeline.configHash,
        mode,
        data_mode: feed.dataMode,
        timeframe: feed.timeframe,
        symbols: feed.symbols,
        source: Object.fromEntries(feed.symbols.map((s) => [s, feed.sourceOf(s)])),
        correlation_prefix: `t${this.runTag}-`,
        stages: declaredStages(opts.pipeline, opts.stages, feed.symbols),
        ...opts.record,
      },
      opts.decisionRotation,
    );
    try {
      this.decisionLog.open();
    } catch (err) {
      this.abandonObservers();
      this.ledger.discard();
      throw err;
    }
    const repair = this.decisionLog.repair;
    if (repair)
      log.warn(
        `decision log had a torn final line (${repair.fragmentBytes} bytes from a crash); moved to ${repair.sidecar}`,
      );
    // Records a crash left past the ledger checkpoint are re-derived but not appended twice.
    this.alreadyLogged = decisionIdsPastCheckpoint(paths.decisions, feed.symbols, this.account.lastBarTs);
    this.cfg = {
      ...opts.pipeline,
      mode,
      dataMode: feed.dataMode,
      timeframe: feed.timeframe,
      source: feed.source,
    };
    const stages = this.inbox ? { ...opts.stages, orders: this.inbox } : opts.stages;
    this.pipelines = feed.symbols.map(
      (s) => new SymbolPipeline(s, { ...this.cfg, source: feed.sourceOf(s) }, stages),
    );
    this.bySymbol = new Map(this.pipelines.map((p) => [p.symbol, p]));
    this.broker = new PaperBroker(
      { ...DEFAULT_BROKER, mode },
      this.portfolio,
      this.ledger,
      `${mode}-${this.runTag}`,
    );
  }

  /** The first heartbeat, the candle tape, and the feed's warm-up bars through every pipeline. */
  async warm(): Promise<void> {
    const { opts } = this;
    try {
      this.writeHeartbeat();
      opts.tape?.open(this.checkpointed !== null);
      const warmup = await this.feed.warmup();
      opts.tape?.warmup(warmup);
      for (const bar of warmup) this.bySymbol.get(bar.symbol)?.observe(bar);
    } catch (err) {
      // Nothing decided yet: release the writer thread (it would keep the process alive) and the ledger.
      await this.decisionLog.close();
      this.abandonObservers();
      this.ledger.discard();
      tryQuietly(() => opts.tape?.close());
      throw err;
    }
    this.status = 'running';
  }

  heartbeat() {
    return buildHeartbeat({
      pidfile: this.pidfile,
      mode: this.opts.mode,
      feed: this.feed,
      status: this.status,
      statusReason: this.statusReason,
      counters: this.counters,
      pipelines: this.pipelines,
      intervalS: this.opts.intervalS,
      breakers: this.opts.stages.signal.circuitBreakers?.() ?? {},
    });
  }

  private writeHeartbeat(): void {
    writeJsonAtomic(this.opts.paths.heartbeat, this.heartbeat());
  }

  /** Bytes the observers hold in memory until the next checkpoint. */
  observersPending(): number {
    let bytes = 0;
    for (const o of this.opts.stages.observers) bytes += o.pendingBytes?.() ?? 0;
    return bytes;
  }

  /**
   * The log first, then what refers to it: the observers' lines, the ledger (its rows and the
   * checkpoint in one transaction), the learned state, retention, `state.json`, the heartbeat.
   */
  async checkpoint(): Promise<void> {
    const { opts, portfolio, ledger, inbox } = this;
    const { paths, stages } = opts;
    opts.tape?.sync(); // the candles of every logged decision are durable before it is
    this.counters.decisions += await this.decisionLog.flush();
    for (const o of stages.observers) await o.checkpoint?.();
    const observers: Record<string, unknown> = {};
    for (const o of stages.observers) if (o.stateKey && o.snapshot) observers[o.stateKey] = o.snapshot();
    ledger.setMeta('checkpoint', {
      mode: opts.mode,
      ...portfolioCheckpoint(portfolio),
      ...this.account.checkpoint(),
      risk: stages.entry.snapshot(),
      ...(inbox ? { order_inbox: inbox.state() } : {}),
      signal: stages.signal.snapshot?.() ?? null,
      observers,
    } satisfies Checkpoint);
    ledger.commit();
    // After the commit: the learned state on file is never ahead of the ledger. A resume replays
    // the bars past the checkpoint through the advisor, so a state file behind it catches up; one
    // ahead of it (a crash before the commit, the first above all, when there is no checkpoint to
    // restore from) would have learned bars the resumed run decides again, and recommend otherwise.
    stages.signal.checkpoint?.();
    removeOldArchives(paths, opts.keepArchives);
    writeJsonAtomic(
      paths.state,
      buildState({
        mode: opts.mode,
        status: this.status,
        modeStartedAt: this.account.modeStartedAt,
        portfolio,
        daily: this.account.daily,
        lastBarTs: this.account.lastBarTs,
        decisionsTotal: this.account.decisionsTotal,
        configHash: this.cfg.configHash,
        feed: this.feed,
        preservation: stages.entry.preservationState?.() ?? null,
      }),
    );
    this.writeHeartbeat();
  }

  /** Wait while the decision log's writer thread, or an observer's, is too far behind. */
  async backpressure(): Promise<void> {
    await this.decisionLog.backpressure();
    for (const o of this.opts.stages.observers) await o.backpressure?.();
  }

  /** Flatten every symbol at its last price, each as its own decision, and stop as halted. */
  async haltNow(halt: { reason: string }): Promise<void> {
    const ctx: TickContext = {
      correlationId: `t${this.runTag}-halt`,
      nowIso: new Date().toISOString(),
      halt,
      pause: null,
    };
    for (const p of this.pipelines) {
      const draft = p.decideHalt(ctx, this.portfolio, this.broker);
      if (!draft) continue;
      if (draft.execution && this.opts.executor) await this.opts.executor.execute(draft, this.ledger);
      this.account.decisionsTotal++;
      this.decisionLog.append(draft);
      this.counters.lastDecisionTs = draft.ts;
    }
    this.portfolio.updateDrawdown();
    this.halted(halt.reason);
  }

  halted(reason: string): void {
    this.outcome = 'halted';
    this.status = 'halted';
    this.statusReason = reason;
    log.warn(`halted: ${reason}; positions flattened, engine stopping`);
  }

  /**
   * Decide a batch of ticks: each tick's bars (and a hold for each symbol whose fetch failed),
   * logged, with the accounting kept: daily counters, the equity curve, bars already decided
   * before a restart. Returns whether the run goes on after it (not past `--until`, a halt, a
   * limit the guard raised, `--max-bars`). One call a batch: a replay's ticks cost no await each.
   */
  async decideBatch(
    ticks: FeedTick[],
    flags: Pick<TickContext, 'halt' | 'pause' | 'nowIso'>,
  ): Promise<boolean> {
    const { opts, portfolio, counters, bySymbol, account, alreadyLogged, decisionLog } = this;
    const { halt, pause, nowIso } = flags;
    for (const tick of ticks) {
      opts.tape?.tick(tick);
      if (opts.untilMs !== null && tick.closeTs > opts.untilMs) return false;
      counters.seq++;
      counters.tickStartedAt = nowIso;
      const ctx: TickContext = { correlationId: `t${this.runTag}-${counters.seq}`, nowIso, halt, pause };
      account.startTick(tick.closeTs, portfolio);
      let tickFills = 0;
      let decidedInTick = 0;
      let skippedInTick = 0;
      // Candles that arrived late after an outage: their decision was the data_fetch hold.
      for (const bar of tick.history ?? []) bySymbol.get(bar.symbol)?.observe(bar);
      for (const bar of tick.bars) {
        const p = bySymbol.get(bar.symbol);
        if (!p) continue;
        if (!halt && account.decidedBefore(bar.symbol, bar.closeTs)) {
          p.observe(bar); // already decided before a restart: only rebuild indicator state
          portfolio.mark(bar.symbol, bar.close);
          this.skipped++;
          skippedInTick++;
          continue;
        }
        const draft = p.decide(bar, ctx, portfolio, this.broker);
        if (draft.execution && opts.executor) await opts.executor.execute(draft, this.ledger);
        account.decided(bar.symbol, draft.bar_ts, bar.closeTs);
        decidedInTick++;
        tickFills += account.filled(draft.execution);
        if (alreadyLogged.size === 0 || !alreadyLogged.has(draft.decision_id)) decisionLog.append(draft);
        else this.skipped++; // in the log since before the crash: already decided, as the summary says
        counters.lastDecisionTs = draft.ts;
        counters.lastBarTs = draft.bar_ts;
        if (!this.feed.unpaced) {
          correlated(ctx.correlationId).info(
            `${draft.symbol} ${draft.action}${draft.block_reason ? ` (${draft.blocked_stage}: ${draft.block_reason})` : ''} price=${draft.market.price}`,
          );
        }
      }
      for (const failure of tick.failures) {
        const p = bySymbol.get(failure.symbol);
        if (!p) continue;
        if (account.decidedBefore(failure.symbol, tick.closeTs)) {
          this.skipped++;
          skippedInTick++;
          continue;
        }
        const draft = p.decideFailure(failure, tick.closeTs, ctx, portfolio);
        account.decided(failure.symbol, draft.bar_ts, tick.closeTs);
        decidedInTick++;
        if (!alreadyLogged.has(draft.decision_id)) decisionLog.append(draft);
        else this.skipped++;
        counters.lastDecisionTs = draft.ts;
        counters.lastBarTs = draft.bar_ts;
        correlated(ctx.correlationId).warn(`${failure.symbol} hold (data_fetch: ${failure.reason})`);
      }
      // A tick replayed only to rebuild state is on the curve already, and its marks mix old
      // prices with today's positions: it neither moves the drawdown nor adds an equity row.
      const replayedOnly = decidedInTick === 0 && skippedInTick > 0;
      const dd = replayedOnly ? 0 : portfolio.updateDrawdown();
      if (!replayedOnly && account.equityPointDue(tick.closeTs, tickFills)) {
        const posValue = portfolio.positionsValue();
        this.ledger.equity({
          ts: tick.closeTs,
          equity: portfolio.cash + posValue,
          cash: portfolio.cash,
          positions_value: posValue,
          drawdown_pct: dd,
          mode: opts.mode,
        });
      }
      counters.tickFinishedAt = ctx.nowIso;
      if (decidedInTick > 0) this.decidedBars++;
      if (halt) {
        this.halted(halt.reason);
        return false;
      }
      // A limit breach or lockdown the entry guard raised this tick (already on the halt flag).
      const raised = opts.stages.entry.raisedHalt();
      if (raised) {
        await this.haltNow(raised);
        return false;
      }
      if (opts.maxBars !== null && this.decidedBars >= opts.maxBars) return false;
    }
    return true;
  }

  /** After a storage fault: the heartbeat says why, if it still fits on the disk. */
  lastGasp(reason: string): void {
    this.statusReason = reason;
    writeJsonLastGasp(this.opts.paths.heartbeat, this.heartbeat());
  }

  /**
   * Close everything. After a fault, nothing more is written: the observers and the advisor would
   * write (outcome lines, learned state) about decisions the log never acknowledged; they stay
   * unwritten, like the ledger rows, and the resume redoes them.
   */
  async finish(fault: unknown, engineMs: () => number): Promise<EngineResult> {
    const { opts, portfolio } = this;
    await this.decisionLog.close();
    if (fault) {
      this.ledger.discard();
      this.abandonObservers();
      this.feed.close();
      tryQuietly(() => opts.tape?.close());
      throw fault;
    }
    for (const o of opts.stages.observers) await o.close?.();
    opts.stages.signal.close?.();
    this.ledger.close();
    this.feed.close();
    opts.tape?.close();
    const repair = this.decisionLog.repair;
    return {
      outcome: this.outcome,
      reason: this.statusReason,
      decisions: this.counters.decisions,
      ticks: this.counters.seq,
      skippedAlreadyDecided: this.skipped,
      engineMs: engineMs(),
      equity: portfolio.equity(),
      initialCapital: portfolio.initialCapital,
      realizedPnl: portfolio.realizedPnl,
      trades: portfolio.totalTrades,
      winningTrades: portfolio.winningTrades,
      openPositions: portfolio.positions.size,
      maxDrawdownPct: portfolio.maxDrawdownPct,
      tornTail: repair ? { bytes: repair.fragmentBytes, sidecar: repair.sidecar } : null,
      resumed: this.checkpointed !== null,
    };
  }

  private abandonObservers(): void {
    for (const o of this.opts.stages.observers) tryQuietly(() => o.abandon?.());
  }
}

export function tryQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // best effort while already failing: the first error is the one reported
  }
}
