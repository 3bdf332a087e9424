import { haltFileStamp, readHalt } from '../control/halt.ts';
import { acquireEngineLock } from '../control/instance.ts';
import { readPause } from '../control/pause.ts';
import { stopReason, watchStopRequest } from '../control/stop-request.ts';
import { refusedError } from '../errors.ts';
import { describeStorageFault, storageError, storageFault } from '../fsx/storage-fault.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { log } from '../log.ts';
import { EngineLogRotator, rotationPolicyFromEnv } from '../logs/engine-log.ts';
import type { DataPaths } from '../paths.ts';
import type { RunInfo } from '../records/header.ts';
import type { RotationPolicy } from '../records/segments.ts';
import type { ModeName } from '../schema/common.ts';
import type { CandleTapeWriter } from './candle-tape.ts';
import { EngineRun } from './engine-run.ts';
import type { Bar, Feed, FeedTick } from './feeds.ts';
import type { Draft, PipelineConfig, PipelineStages, TickContext } from './pipeline.ts';
import { archivePreviousRun } from './run-files.ts';

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

/** Ticks an unpaced run (a replay) takes from its feed at a time, with one `prepare` of the signal stage each. */
export const UNPACED_BATCH = 2048;
/** Unpaced runs checkpoint this often at least, and never spend more than 1/CHECKPOINT_SHARE of their time on it. */
const UNPACED_CHECKPOINT_MS = 250;
const UNPACED_CHECKPOINT_MAX_MS = 2000;
const CHECKPOINT_SHARE = 20;
/** Unpaced runs also checkpoint once observers hold this much unwritten (their buffers stay bounded). */
const CHECKPOINT_PENDING_BYTES = 8 << 20;

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
  const run = new EngineRun(opts, feed, pidfile);
  run.open();
  await run.warm();
  log.info(
    `engine running: mode=${mode} data_mode=${feed.dataMode} symbols=${feed.symbols.join(',')} timeframe=${feed.timeframe} source=${feed.source.kind}${feed.source.synthetic ? ' (SYNTHETIC data)' : ''}${run.checkpointed ? ' (resumed)' : ''}`,
  );

  const { counters } = run;
  let lastCheckpoint = performance.now();
  let checkpointGap = UNPACED_CHECKPOINT_MS;
  let lastYield = lastCheckpoint;
  const abortLoop = new AbortController();
  const onStop = () => abortLoop.abort();
  stop.addEventListener('abort', onStop, { once: true });
  let fault: unknown = null;

  try {
    while (!stop.aborted) {
      const ticks = await feed.next(feed.unpaced ? UNPACED_BATCH : 1, abortLoop.signal);
      if (ticks === null) break;
      await opts.stages.signal.prepare?.(ticks);
      // Control flags are read once per batch (a tick when paced), never per bar.
      const halt = currentHalt(paths);
      const pause = readPause(paths);
      run.inbox?.poll();
      pollStopRequest();
      engineLog.maybeRotate(); // between ticks: the engine is the one writer of its engine.log
      if (stop.aborted && !halt) break;
      if (!(await run.decideBatch(ticks, { halt, pause, nowIso: new Date().toISOString() }))) break;
      await run.backpressure();
      const now = performance.now();
      if (
        !feed.unpaced ||
        now - lastCheckpoint >= checkpointGap ||
        run.observersPending() >= CHECKPOINT_PENDING_BYTES
      ) {
        if (!feed.unpaced) counters.tickFinishedAt = new Date().toISOString();
        await run.checkpoint();
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
    if (stop.aborted && run.outcome !== 'halted') {
      run.outcome = 'stopped';
      // A stop request that follows an emergency stop: flatten now rather than at the next bar.
      const halt = currentHalt(paths);
      if (halt) await run.haltNow(halt);
    }
  } catch (err) {
    fault = err;
  }
  // Every exit from the loop, an error included, ends here: checkpoint (unless a write failed), then close.
  stop.removeEventListener('abort', onStop);
  if (run.status !== 'halted') {
    run.status = 'stopped';
    run.statusReason = run.outcome === 'stopped' ? stopReason(stop) : run.outcome;
  }
  if (!fault) {
    try {
      await run.checkpoint();
    } catch (err) {
      fault = err;
    }
  }
  // A write failed: no checkpoint past what is on disk; say why in the heartbeat if it still fits.
  const storage = fault ? storageFault(fault) : null;
  if (storage) run.lastGasp(describeStorageFault(storage, paths.root));
  return run.finish(fault, () => performance.now() - started);
}

function currentHalt(paths: DataPaths): TickContext['halt'] {
  if (haltFileStamp(paths) === 0) return null;
  const view = readHalt(paths);
  return view.halted ? { reason: view.reason } : null;
}

export type { Bar, FeedTick };
