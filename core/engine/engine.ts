import { DEFAULT_BROKER, PaperBroker } from '../broker/paper.ts';
import { Portfolio } from '../broker/portfolio.ts';
import { haltFileStamp, readHalt } from '../control/halt.ts';
import { acquireEngineLock } from '../control/instance.ts';
import { readPause } from '../control/pause.ts';
import { stopReason, watchStopRequest } from '../control/stop-request.ts';
import { refusedError } from '../errors.ts';
import { writeJsonAtomic, writeJsonLastGasp } from '../fsx/atomic.ts';
import { describeStorageFault, storageError, storageFault } from '../fsx/storage-fault.ts';
import { Ledger } from '../ledger/ledger.ts';
import { correlated, log } from '../log.ts';
import { EngineLogRotator, rotationPolicyFromEnv } from '../logs/engine-log.ts';
import type { DataPaths } from '../paths.ts';
import type { RunInfo } from '../records/header.ts';
import type { RotationPolicy } from '../records/segments.ts';
import type { ModeName } from '../schema/common.ts';
import type { EngineStatusName } from '../schema/heartbeat.ts';
import { isoUtc } from '../time/iso.ts';
import type { CandleTapeWriter } from './candle-tape.ts';
import { type Checkpoint, portfolioCheckpoint, restorePortfolio } from './checkpoint.ts';
import { DecisionLog, decisionIdsPastCheckpoint } from './decision-log.ts';
import type { Bar, Feed, FeedTick } from './feeds.ts';
import { OrderInbox } from './order-inbox.ts';
import {
  type Draft,
  declaredStages,
  type PipelineConfig,
  type PipelineStages,
  SymbolPipeline,
  type TickContext,
} from './pipeline.ts';
import { archivePreviousRun, removeOldArchives } from './run-files.ts';
import { buildHeartbeat, buildState, type DailyCounters, type SessionCounters } from './snapshots.ts';

export type EngineOptions = {
  paths: DataPaths;
  mode: ModeName;
  capital: number;
  intervalS: number;
  maxBars: number | null;
  untilMs: number | null;
  fresh: boolean;
  argv: string[];
  pipeline: Omit<PipelineConfig, 'mode' | 'dataMode' | 'timeframe' | 'source'>;
  stages: PipelineStages;
  /** Testnet and live modes: places each decision's fills on the exchange before the record is logged. */
  executor?: OrderExecutor;
  /** Runs on a live feed: records every candle the engine receives, for `atl parity`. */
  tape?: CandleTapeWriter;
  /** What the run header of the decision log lists beyond the feed and pipeline: models, risk config. */
  record?: Pick<RunInfo, 'models' | 'risk'>;
  /** When the decision log rotates (default: never rotates). */
  decisionRotation?: RotationPolicy;
  /** Archives kept per log (0: all), applied after each ledger commit. */
  keepArchives?: { decisions: number; outcomes: number };
};

/** Mirrors a decision's fills as exchange orders and notes their outcome in the draft (gate trace) and the ledger. */
export interface OrderExecutor {
  execute(draft: Draft, ledger: Ledger): Promise<void>;
}

export type EngineResult = {
  outcome: 'completed' | 'stopped' | 'halted';
  reason: string | null;
  decisions: number;
  ticks: number;
  skippedAlreadyDecided: number;
  /** Wall time of the engine loop (after the feed was loaded). */
  engineMs: number;
  equity: number;
  initialCapital: number;
  realizedPnl: number;
  trades: number;
  winningTrades: number;
  openPositions: number;
  maxDrawdownPct: number;
  tornTail: { bytes: number; sidecar: string } | null;
  resumed: boolean;
};

const PAPER_MODES = new Set<ModeName>(['backtest', 'paper_synthetic', 'paper_live_data']);
const UNPACED_BATCH = 2048;
/** Unpaced runs checkpoint this often at least, and never spend more than 1/CHECKPOINT_SHARE of their time on it. */
const UNPACED_CHECKPOINT_MS = 250;
const UNPACED_CHECKPOINT_MAX_MS = 2000;
const CHECKPOINT_SHARE = 20;
/** Unpaced runs also checkpoint once observers hold this much unwritten (their buffers stay bounded). */
const CHECKPOINT_PENDING_BYTES = 8 << 20;
const DAY_MS = 86_400_000;

/**
 * The engine: one loop for every mode. The feed delivers closed candles; each symbol's pipeline
 * decides once per bar; the log, ledger, state and heartbeat are written at checkpoints, in that
 * order, so the heartbeat never counts a decision that is not on disk.
 */
export async function runEngine(opts: EngineOptions, feed: Feed, stop: AbortSignal): Promise<EngineResult> {
  try {
    return await runEngineUnchecked(opts, feed, stop);
  } catch (err) {
    // A full or read-only disk is the operator's to fix: one line naming it, not a stack.
    throw storageError(err, opts.paths.root) ?? err;
  }
}

async function runEngineUnchecked(opts: EngineOptions, feed: Feed, stop: AbortSignal): Promise<EngineResult> {
  const started = performance.now();
  const { paths, mode } = opts;
  const lock = acquireEngineLock(paths, mode, opts.argv);
  // Windows has no SIGTERM: a stop-request file ends the run the same way.
  const stopWatch = watchStopRequest(paths, stop);
  try {
    const halt = readHalt(paths);
    if (halt.halted) {
      throw refusedError(
        `trading is halted: ${halt.reason}${halt.by ? ` (by ${halt.by} at ${halt.at})` : ''}; refusing to trade`,
        'after investigating, clear it with `npx atl emergency-stop --clear --approver NAME`',
      );
    }
    if (opts.fresh) archivePreviousRun(paths);
    return await runLocked(opts, feed, stopWatch.signal, lock.pidfile, started, stopWatch.poll);
  } finally {
    stopWatch.close();
    lock.release();
  }
}

async function runLocked(
  opts: EngineOptions,
  feed: Feed,
  stop: AbortSignal,
  pidfile: ReturnType<typeof acquireEngineLock>['pidfile'],
  started: number,
  pollStopRequest: () => boolean,
): Promise<EngineResult> {
  const { paths, mode } = opts;
  // First: a bad rotation policy is a config error (78) with nothing opened yet to close.
  const engineLog = new EngineLogRotator(paths.engineLog, rotationPolicyFromEnv());
  const ledger = new Ledger(paths.ledger);
  const checkpoint = ledger.getMeta<Checkpoint>('checkpoint');
  if (checkpoint && checkpoint.mode !== mode) {
    ledger.close();
    throw refusedError(
      `data root ${paths.root} holds a ${checkpoint.mode} ledger; this run is ${mode}`,
      'use the data root of that mode, pass --fresh to archive it and start over, or give --data-dir',
    );
  }
  const nowIso = new Date().toISOString();
  const portfolio = checkpoint
    ? restorePortfolio(checkpoint, ledger.positions())
    : new Portfolio(opts.capital);
  const modeStartedAt = checkpoint?.mode_started_at ?? nowIso;
  if (!checkpoint)
    ledger.modeHistory({
      ts: nowIso,
      from_mode: null,
      to_mode: mode,
      reason: 'initial run',
      approver: null,
      stats_json: '{}',
    });
  let daily: DailyCounters = checkpoint?.daily ?? {
    date: '',
    trades: 0,
    pnl: 0,
    start_equity: portfolio.equity(),
  };
  const lastBarTs: Record<string, string> = { ...(checkpoint?.last_bar_ts ?? {}) };
  // The same, as epoch ms: compared on every bar, parsed once.
  const lastBarMs = new Map(Object.entries(lastBarTs).map(([symbol, iso]) => [symbol, Date.parse(iso)]));
  const markDecided = (symbol: string, barIso: string, closeTs: number) => {
    lastBarTs[symbol] = barIso;
    lastBarMs.set(symbol, closeTs);
  };
  let decisionsTotal = checkpoint?.decisions_total ?? 0;
  try {
    opts.stages.entry.restore(checkpoint?.risk ?? null);
    opts.stages.signal.restore?.(checkpoint?.signal ?? null);
    for (const o of opts.stages.observers)
      if (o.stateKey) o.restore?.(checkpoint?.observers?.[o.stateKey] ?? null);
  } catch (err) {
    for (const o of opts.stages.observers) tryQuietly(() => o.abandon?.());
    ledger.close();
    throw err;
  }

  const runTag = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const decisionLog = new DecisionLog(
    paths.decisions,
    {
      run_id: runTag,
      config_hash: opts.pipeline.configHash,
      mode,
      data_mode: feed.dataMode,
      timeframe: feed.timeframe,
      symbols: feed.symbols,
      source: Object.fromEntries(feed.symbols.map((s) => [s, feed.sourceOf(s)])),
      correlation_prefix: `t${runTag}-`,
      stages: declaredStages(opts.pipeline, opts.stages, feed.symbols),
      ...opts.record,
    },
    opts.decisionRotation,
  );
  decisionLog.open();
  if (decisionLog.repair) {
    log.warn(
      `decision log had a torn final line (${decisionLog.repair.fragmentBytes} bytes from a crash); moved to ${decisionLog.repair.sidecar}`,
    );
  }
  // Records a crash left past the ledger checkpoint are re-derived but not appended twice.
  const alreadyLogged = decisionIdsPastCheckpoint(paths.decisions, feed.symbols, lastBarTs);

  const cfg: PipelineConfig = {
    ...opts.pipeline,
    mode,
    dataMode: feed.dataMode,
    timeframe: feed.timeframe,
    source: feed.source,
  };
  // Operator orders (`POST /api/orders`) reach paper engines only.
  const inbox = PAPER_MODES.has(mode)
    ? new OrderInbox(paths.orderRequests, checkpoint?.order_inbox ?? null)
    : null;
  const stages: PipelineStages = inbox ? { ...opts.stages, orders: inbox } : opts.stages;
  const pipelines = feed.symbols.map(
    (s) => new SymbolPipeline(s, { ...cfg, source: feed.sourceOf(s) }, stages),
  );
  const bySymbol = new Map(pipelines.map((p) => [p.symbol, p]));
  const broker = new PaperBroker({ ...DEFAULT_BROKER, mode }, portfolio, ledger, `${mode}-${runTag}`);
  const counters: SessionCounters = {
    seq: 0,
    decisions: 0,
    tickStartedAt: null,
    tickFinishedAt: null,
    lastBarTs: null,
    lastDecisionTs: null,
  };
  let status: EngineStatusName = 'starting';
  let statusReason: string | null = null;
  let skipped = 0;
  // Continues the curve where the checkpoint left it, so a resumed run samples the bars an uninterrupted one would.
  let lastEquityTs = checkpoint ? ledger.lastEquityTs() : 0;
  // One equity point per bar for hourly and slower candles, per hour for faster ones (plus every fill).
  const equityEveryMs = Math.max(feed.timeframeMs, 3_600_000);

  const heartbeatNow = () =>
    buildHeartbeat({
      pidfile,
      mode,
      feed,
      status,
      statusReason,
      counters,
      pipelines,
      intervalS: opts.intervalS,
      breakers: opts.stages.signal.circuitBreakers?.() ?? {},
    });
  const writeHeartbeat = () => writeJsonAtomic(paths.heartbeat, heartbeatNow());
  const observerState = () => {
    const saved: Record<string, unknown> = {};
    for (const o of opts.stages.observers) if (o.stateKey && o.snapshot) saved[o.stateKey] = o.snapshot();
    return saved;
  };
  const observersPending = () => {
    let bytes = 0;
    for (const o of opts.stages.observers) bytes += o.pendingBytes?.() ?? 0;
    return bytes;
  };
  const checkpointNow = async () => {
    opts.tape?.sync(); // the candles of every logged decision are durable before it is
    counters.decisions += await decisionLog.flush();
    for (const o of opts.stages.observers) await o.checkpoint?.();
    ledger.setMeta('checkpoint', {
      mode,
      ...portfolioCheckpoint(portfolio),
      last_bar_ts: lastBarTs,
      decisions_total: decisionsTotal,
      mode_started_at: modeStartedAt,
      daily,
      risk: opts.stages.entry.snapshot(),
      ...(inbox ? { order_inbox: inbox.state() } : {}),
      signal: opts.stages.signal.snapshot?.() ?? null,
      observers: observerState(),
    } satisfies Checkpoint);
    ledger.commit();
    // After the commit: the learned state on file is never ahead of the ledger. A resume replays
    // the bars past the checkpoint through the advisor, so a state file behind it catches up; one
    // ahead of it (a crash before the commit, the first above all, when there is no checkpoint to
    // restore from) would have learned bars the resumed run decides again, and recommend otherwise.
    opts.stages.signal.checkpoint?.();
    removeOldArchives(paths, opts.keepArchives);
    writeJsonAtomic(
      paths.state,
      buildState({
        mode,
        status,
        modeStartedAt,
        portfolio,
        daily,
        lastBarTs,
        decisionsTotal,
        configHash: cfg.configHash,
        feed,
        preservation: opts.stages.entry.preservationState?.() ?? null,
      }),
    );
    writeHeartbeat();
  };

  try {
    writeHeartbeat();
    opts.tape?.open(checkpoint !== null);
    const warmup = await feed.warmup();
    opts.tape?.warmup(warmup);
    for (const bar of warmup) bySymbol.get(bar.symbol)?.observe(bar);
  } catch (err) {
    // Nothing decided yet: release the writer thread (it would keep the process alive) and the ledger.
    await decisionLog.close();
    for (const o of opts.stages.observers) tryQuietly(() => o.abandon?.());
    ledger.discard();
    tryQuietly(() => opts.tape?.close());
    throw err;
  }
  status = 'running';
  log.info(
    `engine running: mode=${mode} data_mode=${feed.dataMode} symbols=${feed.symbols.join(',')} timeframe=${feed.timeframe} source=${feed.source.kind}${feed.source.synthetic ? ' (SYNTHETIC data)' : ''}${checkpoint ? ' (resumed)' : ''}`,
  );

  let outcome: EngineResult['outcome'] = 'completed';
  // Flatten every symbol at its last price, each as its own decision, and stop as halted.
  const haltNow = async (halt: { reason: string }) => {
    const ctx: TickContext = {
      correlationId: `t${runTag}-halt`,
      nowIso: new Date().toISOString(),
      halt,
      pause: null,
    };
    for (const p of pipelines) {
      const draft = p.decideHalt(ctx, portfolio, broker);
      if (!draft) continue;
      if (draft.execution && opts.executor) await opts.executor.execute(draft, ledger);
      decisionsTotal++;
      decisionLog.append(draft);
      counters.lastDecisionTs = draft.ts;
    }
    portfolio.updateDrawdown();
    outcome = 'halted';
    status = 'halted';
    statusReason = halt.reason;
    log.warn(`halted: ${halt.reason}; positions flattened, engine stopping`);
  };
  let decidedBars = 0;
  let lastCheckpoint = performance.now();
  let checkpointGap = UNPACED_CHECKPOINT_MS;
  let lastYield = lastCheckpoint;
  // The UTC date of the bars being decided, formatted once per day of bars.
  let tickDay = Number.NaN;
  let barDate = '';
  const abortLoop = new AbortController();
  const onStop = () => abortLoop.abort();
  stop.addEventListener('abort', onStop, { once: true });
  let fault: unknown = null;

  try {
    loop: while (!stop.aborted) {
      const ticks = await feed.next(feed.unpaced ? UNPACED_BATCH : 1, abortLoop.signal);
      if (ticks === null) break;
      await opts.stages.signal.prepare?.(ticks);
      // Control flags are read once per batch (a tick when paced), never per bar.
      const halt = currentHalt(paths);
      const pause = readPause(paths);
      inbox?.poll();
      pollStopRequest();
      engineLog.maybeRotate(); // between ticks: the engine is the one writer of its engine.log
      if (stop.aborted && !halt) break;
      const nowIso = new Date().toISOString();
      for (const tick of ticks) {
        opts.tape?.tick(tick);
        if (opts.untilMs !== null && tick.closeTs > opts.untilMs) break loop;
        counters.seq++;
        counters.tickStartedAt = nowIso;
        const cid = `t${runTag}-${counters.seq}`;
        const ctx: TickContext = { correlationId: cid, nowIso, halt, pause };
        // Daily counters roll over before the first bar of a new UTC day is decided (never back
        // to an older day: bars replayed after a restart leave the checkpoint's day as it is).
        const barDay = Math.floor(tick.closeTs / DAY_MS);
        if (barDay !== tickDay) {
          tickDay = barDay;
          barDate = isoUtc(tick.closeTs).slice(0, 10);
        }
        if (barDate > daily.date)
          daily = { date: barDate, trades: 0, pnl: 0, start_equity: portfolio.equity() };
        let tickFills = 0;
        let decidedInTick = 0;
        let skippedInTick = 0;
        // Candles that arrived late after an outage: their decision was the data_fetch hold.
        for (const bar of tick.history ?? []) bySymbol.get(bar.symbol)?.observe(bar);
        for (const bar of tick.bars) {
          const p = bySymbol.get(bar.symbol);
          if (!p) continue;
          const prev = lastBarMs.get(bar.symbol);
          if (!halt && prev !== undefined && bar.closeTs <= prev) {
            p.observe(bar); // already decided before a restart: only rebuild indicator state
            portfolio.mark(bar.symbol, bar.close);
            skipped++;
            skippedInTick++;
            continue;
          }
          const draft = p.decide(bar, ctx, portfolio, broker);
          if (draft.execution && opts.executor) await opts.executor.execute(draft, ledger);
          markDecided(bar.symbol, draft.bar_ts, bar.closeTs);
          decisionsTotal++;
          decidedInTick++;
          if (draft.execution) {
            tickFills += draft.execution.fills.length;
            for (const f of draft.execution.fills) if (f.realized_pnl !== null) daily.pnl += f.realized_pnl;
            daily.trades += draft.execution.fills.length;
          }
          if (alreadyLogged.size === 0 || !alreadyLogged.has(draft.decision_id)) decisionLog.append(draft);
          else skipped++; // in the log since before the crash: already decided, as the summary says
          counters.lastDecisionTs = draft.ts;
          counters.lastBarTs = draft.bar_ts;
          if (!feed.unpaced) {
            correlated(cid).info(
              `${draft.symbol} ${draft.action}${draft.block_reason ? ` (${draft.blocked_stage}: ${draft.block_reason})` : ''} price=${draft.market.price}`,
            );
          }
        }
        for (const failure of tick.failures) {
          const p = bySymbol.get(failure.symbol);
          const prev = lastBarMs.get(failure.symbol);
          if (!p) continue;
          if (prev !== undefined && tick.closeTs <= prev) {
            skipped++;
            skippedInTick++;
            continue;
          }
          const draft = p.decideFailure(failure, tick.closeTs, ctx, portfolio);
          markDecided(failure.symbol, draft.bar_ts, tick.closeTs);
          decisionsTotal++;
          decidedInTick++;
          if (!alreadyLogged.has(draft.decision_id)) decisionLog.append(draft);
          else skipped++;
          counters.lastDecisionTs = draft.ts;
          counters.lastBarTs = draft.bar_ts;
          correlated(cid).warn(`${failure.symbol} hold (data_fetch: ${failure.reason})`);
        }
        // A tick replayed only to rebuild state is on the curve already, and its marks mix old
        // prices with today's positions: it neither moves the drawdown nor adds an equity row.
        const replayedOnly = decidedInTick === 0 && skippedInTick > 0;
        const dd = replayedOnly ? 0 : portfolio.updateDrawdown();
        if (!replayedOnly && (tickFills > 0 || tick.closeTs - lastEquityTs >= equityEveryMs)) {
          lastEquityTs = tick.closeTs;
          const posValue = portfolio.positionsValue();
          ledger.equity({
            ts: tick.closeTs,
            equity: portfolio.cash + posValue,
            cash: portfolio.cash,
            positions_value: posValue,
            drawdown_pct: dd,
            mode,
          });
        }
        counters.tickFinishedAt = nowIso;
        if (decidedInTick > 0) decidedBars++; // --max-bars counts ticks decided by this run, not replayed history
        if (halt) {
          outcome = 'halted';
          status = 'halted';
          statusReason = halt.reason;
          log.warn(`halted: ${halt.reason}; positions flattened, engine stopping`);
          break loop;
        }
        // A limit breach or lockdown the entry guard raised this tick (already on the halt flag).
        const raised = opts.stages.entry.raisedHalt();
        if (raised) {
          await haltNow(raised);
          break loop;
        }
        if (opts.maxBars !== null && decidedBars >= opts.maxBars) break loop;
      }
      await decisionLog.backpressure();
      const now = performance.now();
      if (
        !feed.unpaced ||
        now - lastCheckpoint >= checkpointGap ||
        observersPending() >= CHECKPOINT_PENDING_BYTES
      ) {
        if (!feed.unpaced) counters.tickFinishedAt = new Date().toISOString();
        await checkpointNow();
        lastCheckpoint = performance.now();
        // Each checkpoint fsyncs the state, heartbeat and ledger: on a slow disk a replay spaces them out.
        checkpointGap = Math.min(
          UNPACED_CHECKPOINT_MAX_MS,
          Math.max(UNPACED_CHECKPOINT_MS, (lastCheckpoint - now) * CHECKPOINT_SHARE),
        );
        lastYield = lastCheckpoint;
      } else if (now - lastYield >= UNPACED_CHECKPOINT_MS) {
        // Between spaced checkpoints the event loop still turns as often as before: the writer's
        // replies (returned chunks) and the runtime's deferred memory work run there.
        await new Promise((resolve) => setImmediate(resolve));
        lastYield = performance.now();
      }
    }
    if (stop.aborted && outcome !== 'halted') {
      outcome = 'stopped';
      // A stop request that follows an emergency stop: flatten now rather than at the next bar.
      const halt = currentHalt(paths);
      if (halt) await haltNow(halt);
    }
  } catch (err) {
    fault = err;
  }
  // Every exit from the loop, an error included, ends here: checkpoint (unless a write failed), then close.
  stop.removeEventListener('abort', onStop);
  if (status !== 'halted') {
    status = 'stopped';
    statusReason = outcome === 'stopped' ? stopReason(stop) : outcome;
  }
  if (!fault) {
    try {
      await checkpointNow();
    } catch (err) {
      fault = err;
    }
  }
  // A write failed: no checkpoint past what is on disk; say why in the heartbeat if it still fits.
  const storage = fault ? storageFault(fault) : null;
  if (storage) {
    statusReason = describeStorageFault(storage, paths.root);
    writeJsonLastGasp(paths.heartbeat, heartbeatNow());
  }
  await decisionLog.close();
  if (fault) {
    // Observers and the advisor write on close (outcome lines, learned state) about decisions the
    // log never acknowledged: they stay unwritten, like the ledger rows, and resume redoes them.
    ledger.discard();
    for (const o of opts.stages.observers) tryQuietly(() => o.abandon?.());
    feed.close();
    tryQuietly(() => opts.tape?.close());
    throw fault;
  }
  for (const o of opts.stages.observers) await o.close?.();
  opts.stages.signal.close?.();
  ledger.close();
  feed.close();
  opts.tape?.close();
  return {
    outcome,
    reason: statusReason,
    decisions: counters.decisions,
    ticks: counters.seq,
    skippedAlreadyDecided: skipped,
    engineMs: performance.now() - started,
    equity: portfolio.equity(),
    initialCapital: portfolio.initialCapital,
    realizedPnl: portfolio.realizedPnl,
    trades: portfolio.totalTrades,
    winningTrades: portfolio.winningTrades,
    openPositions: portfolio.positions.size,
    maxDrawdownPct: portfolio.maxDrawdownPct,
    tornTail: decisionLog.repair
      ? { bytes: decisionLog.repair.fragmentBytes, sidecar: decisionLog.repair.sidecar }
      : null,
    resumed: checkpoint !== null,
  };
}

function tryQuietly(fn: () => void): void {
  try {
    fn();
  } catch {
    // best effort while already failing: the first error is the one reported
  }
}

function currentHalt(paths: DataPaths): TickContext['halt'] {
  if (haltFileStamp(paths) === 0) return null;
  const view = readHalt(paths);
  return view.halted ? { reason: view.reason } : null;
}

export type { Bar, FeedTick };
