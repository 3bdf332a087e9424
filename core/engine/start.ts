import { DEFAULT_BROKER } from '../broker/paper.ts';
import { setHalt } from '../control/halt.ts';
import { refusedError, usageError } from '../errors.ts';
import { withOrderGuards } from '../exchange/guardrails.ts';
import type { ExchangeOrderParts } from '../exchange/live.ts';
import { log } from '../log.ts';
import { carryIntoEngineLog } from '../logs/engine-log.ts';
import { ensureBundledCandles, requireBundled } from '../market/bundled.ts';
import { type CandleSeries, loadCandleFile, symbolFromFileName, timeframeToMs } from '../market/candles.ts';
import { checkGaps, type GapPolicy } from '../market/gaps.ts';
import { parseTimerange, sliceSeries } from '../market/timerange.ts';
import { servedTimeframe } from '../models/registry.ts';
import { parseMode } from '../modes/modes.ts';
import { NotifyObserver } from '../notify/observer.ts';
import { WebhookNotifier } from '../notify/webhook.ts';
import { OutcomeRecorder } from '../outcomes/recorder.ts';
import type { DataPaths } from '../paths.ts';
import { NO_ROTATION, type RotationPolicy, rotationPolicy } from '../records/segments.ts';
import {
  loadRiskOverrides,
  paperLiveTurnoverOverrides,
  resolveRiskConfig,
  withTurnoverOverrides,
} from '../risk/config.ts';
import { RiskGuard } from '../risk/guard.ts';
import type { ModeName } from '../schema/common.ts';
import type { RiskConfig } from '../schema/risk.ts';
import { buildModelChain, runModelsDir } from '../signals/build.ts';
import { isoUtc } from '../time/iso.ts';
import { CandleTapeWriter } from './candle-tape.ts';
import { type EngineResult, runEngine } from './engine.ts';
import { type Feed, ReplayFeed, SyntheticFeed } from './feeds.ts';
import type { PipelineStages } from './pipeline.ts';
import type { SignalStage } from './stages.ts';

export const DEFAULT_SYMBOLS = ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'];

export type RunRequest = {
  paths: DataPaths;
  mode: string;
  symbols: string[] | null;
  timeframe: string | null;
  replayFile: string | null;
  /** `--on-gap`: missing candles in the replay are warned about (default) or refused. */
  onGap?: GapPolicy;
  /** `--models-dir`: ONNX models for the signal chain; null means the bundled data/models. */
  modelsDir?: string | null;
  /** `--voting`: how the ensemble combines models (majority, weighted, performance). */
  voting?: string;
  capital: number;
  intervalS: number | null;
  speed: number | null;
  maxBars: number | null;
  untilMs: number | null;
  /** `--notify-url`: POST halt, fill and preservation-level events there (background queue). */
  notifyUrl?: string | null;
  /** `--timerange` (backtest only): replay only candles that open inside it. */
  timerange?: string | null;
  fresh: boolean;
  confirm: boolean;
  /** A JSON file of risk overrides (`--risk-config`). */
  riskConfig?: string | null;
  seed: number;
  argv: string[];
  /** ccxt exchange id for the live modes (default binance). */
  exchange?: string;
  /** `--exchange-url`: another REST base for the exchange (tests, proxies); env ATL_EXCHANGE_URL otherwise. */
  exchangeUrl?: string | null;
  /** `--log-max-bytes` / `--log-keep`: rotation of the decision and outcome logs (else their env, else defaults). */
  logRotation?: { maxBytes?: number | null; keep?: number | null };
};

export type RunReport = EngineResult & {
  mode: ModeName;
  feed: Feed['source'];
  symbols: string[];
  timeframe: string;
  dataRoot: string;
  /** Time to load or connect the feed, and the process's peak resident memory. */
  loadMs: number;
  peakRssMb: number;
};

const LIVE_MODES: ModeName[] = ['live_limited', 'live_full'];

export { parseMode };

/** `--until` before the first candle closes: the replay would decide nothing and still exit 0. */
function refuseUntilBeforeReplay(series: CandleSeries[], untilMs: number | null): void {
  if (untilMs === null) return;
  const firstClose = Math.min(...series.map((s) => (s.ts.length > 0 ? s.ts[0]! + s.timeframeMs : Infinity)));
  if (Number.isFinite(firstClose) && untilMs < firstClose)
    throw usageError(
      `--until ${isoUtc(untilMs)} is before the replay's first candle closes (${isoUtc(firstClose)}): nothing would be decided`,
      'give a later --until, or drop it to replay the whole file',
    );
}

/** Build the feed a mode asks for; each mode differs only here. */
async function buildFeed(
  req: RunRequest,
  mode: ModeName,
): Promise<{ feed: Feed; intervalS: number; orders?: ExchangeOrderParts }> {
  if (mode === 'backtest') {
    const symbols =
      req.symbols ??
      (req.replayFile ? [symbolFromFileName(req.replayFile) ?? 'UNKNOWN/UNKNOWN'] : DEFAULT_SYMBOLS);
    if (req.replayFile && symbols.length !== 1) {
      throw usageError(
        `--replay-file holds one symbol's candles but --symbols names ${symbols.length}`,
        'name exactly one symbol with --symbols',
      );
    }
    const tf = req.timeframe ?? (req.replayFile ? undefined : '1h');
    if (!req.replayFile) requireBundled(symbols, '--replay-file');
    const range = req.timerange ? parseTimerange(req.timerange) : null;
    const series = (
      req.replayFile
        ? [loadCandleFile(req.replayFile, symbols[0]!, tf)]
        : symbols.map((s) => loadCandleFile(ensureBundledCandles(s, tf!, req.paths.marketCache), s, tf))
    ).map((s) => (range ? sliceSeries(s, range) : s));
    for (const s of series) checkGaps(s, req.onGap ?? 'warn');
    refuseUntilBeforeReplay(series, req.untilMs);
    const feed = new ReplayFeed(series, req.speed);
    return { feed, intervalS: 0 };
  }
  if (req.timerange)
    throw usageError(
      `--timerange applies to backtests only (mode ${mode} trades on candles as they arrive)`,
      'drop --timerange, or use --mode backtest',
    );
  if (mode === 'paper_synthetic') {
    const symbols = req.symbols ?? DEFAULT_SYMBOLS;
    const tf = req.timeframe ?? syntheticTimeframe(req, symbols);
    const tfMs = timeframeToMs(tf);
    const intervalS = req.intervalS ?? tfMs / 1000;
    const barEveryMs = (intervalS * 1000) / (req.speed ?? 1);
    // Faster than real time, the bars start in the past (the --max-bars, else a week) and catch up.
    const lead = barEveryMs < tfMs ? (req.maxBars ?? Math.ceil((7 * 86_400_000) / tfMs)) : 0;
    const feed = new SyntheticFeed(symbols, tf, tfMs, barEveryMs, 300, req.seed, {}, Date.now(), lead);
    return { feed, intervalS };
  }
  // paper_live_data, testnet and the live modes; loaded lazily: only they pay for ccxt.
  const { buildExchangeRun } = await import('../exchange/live.ts');
  return buildExchangeRun({
    mode,
    symbols: req.symbols ?? DEFAULT_SYMBOLS,
    timeframe: req.timeframe ?? '1m',
    intervalS: req.intervalS,
    exchange: req.exchange ?? 'binance',
    exchangeUrl: req.exchangeUrl ?? null,
    env: process.env,
    paths: req.paths,
    minNotional: ENGINE_DEFAULTS.minNotional,
  });
}

/** paper_synthetic's default timeframe: what the run's models serve (the bundled ones: 1h), else 1m. */
function syntheticTimeframe(req: RunRequest, symbols: string[]): string {
  return servedTimeframe(runModelsDir(req.modelsDir ?? null, req.paths.models), symbols) ?? '1m';
}

/** Defaults every tunable of the pipeline starts from; the config hash covers all of them. */
export const ENGINE_DEFAULTS = {
  minConfidence: 0.55,
  minNotional: 10,
  allowShorting: true,
  minHistoryBars: 50,
};

/** Risk defaults with the broker's own costs; paper_live_data takes the turnover overrides from env (logged once). */
export function riskConfigFor(mode: ModeName, file: string | null): RiskConfig {
  const costs = {
    turnover: { feeBps: DEFAULT_BROKER.feeRate * 10_000, slippageBps: DEFAULT_BROKER.slippageRate * 10_000 },
  };
  const config = resolveRiskConfig(file ? loadRiskOverrides(file) : {}, costs);
  if (mode !== 'paper_live_data') return config;
  const overrides = paperLiveTurnoverOverrides();
  log.info(overrides.line);
  carryIntoEngineLog(overrides.line);
  return withTurnoverOverrides(config, overrides);
}

/** The entry guard (turnover, risk budget, capital preservation, safety limits) of a run; it raises halts on the data root's flag. */
export function buildGuard(mode: ModeName, paths: DataPaths, risk: RiskConfig): RiskGuard {
  return new RiskGuard({
    mode,
    config: risk,
    minNotional: ENGINE_DEFAULTS.minNotional,
    halt: (reason, source) => setHalt(paths, { reason, source, by: 'atl-engine' }),
  });
}

export function buildStages(
  mode: ModeName,
  paths: DataPaths,
  risk: RiskConfig,
  signal: SignalStage,
  notifier: WebhookNotifier | null,
  outcomeRotation: RotationPolicy = NO_ROTATION,
): PipelineStages {
  const guard = buildGuard(mode, paths, risk);
  return {
    signal,
    entry: guard,
    observers: [
      guard,
      new OutcomeRecorder(paths.outcomes, outcomeRotation, { thread: true }),
      ...(notifier ? [new NotifyObserver(notifier)] : []),
    ],
  };
}

/** Everything that shapes a decision, the models included: a changed model is a changed config. */
export function runConfigHash(
  mode: ModeName,
  symbols: string[],
  timeframe: string,
  risk: RiskConfig,
  modelFingerprint: string[],
): string {
  const hashed = JSON.stringify({
    mode,
    symbols,
    timeframe,
    ENGINE_DEFAULTS,
    broker: DEFAULT_BROKER,
    risk,
    models: modelFingerprint,
  });
  return (Bun.CryptoHasher.hash('sha256', hashed, 'hex') as string).slice(0, 16);
}

/** Runs on a live feed keep a candle tape (`atl parity` replays it). */
const TAPED_MODES = new Set<ModeName>(['paper_live_data', 'testnet', 'live_limited', 'live_full']);

export async function startRun(req: RunRequest, stop: AbortSignal): Promise<RunReport> {
  const mode = parseMode(req.mode);
  if (LIVE_MODES.includes(mode) && !req.confirm) {
    throw refusedError(
      `mode ${mode} trades real money and needs --confirm`,
      `re-run with --confirm once check-transition allows ${mode}`,
    );
  }
  const risk = riskConfigFor(mode, req.riskConfig ?? null);
  const rotation = {
    decisions: rotationPolicy('ATL_DECISION_LOG', req.logRotation),
    outcomes: rotationPolicy('ATL_OUTCOME_LOG', req.logRotation),
  };
  const loadStarted = performance.now();
  const { feed, intervalS, orders } = await buildFeed(req, mode);
  // Parsing a large candle file leaves millions of short-lived strings; collect them before the
  // engine starts rather than carrying them into its peak memory.
  if (feed.unpaced) Bun.gc(true);
  const loadMs = performance.now() - loadStarted;
  const modelChain = await buildModelChain({
    modelsDir: req.modelsDir ?? null,
    dataRootModelsDir: req.paths.models,
    voting: req.voting ?? 'performance',
    timeframe: feed.timeframe,
    timeframeMs: feed.timeframeMs,
    minConfidence: ENGINE_DEFAULTS.minConfidence,
    advisorStatePath: req.paths.advisorState,
  });
  const configHash = runConfigHash(mode, feed.symbols, feed.timeframe, risk, modelChain.modelFingerprint);
  const allowShorting = ENGINE_DEFAULTS.allowShorting && !orders;
  const notifier = req.notifyUrl ? new WebhookNotifier(req.notifyUrl) : null;
  if (notifier) log.info(`notify: POSTing halt, fill and preservation-level events to ${notifier.url}`);
  const result = await runEngine(
    {
      paths: req.paths,
      mode,
      capital: req.capital,
      intervalS,
      maxBars: req.maxBars,
      untilMs: req.untilMs,
      fresh: req.fresh,
      argv: req.argv,
      executor: orders?.executor,
      record: { models: modelChain.modelList, risk: risk as unknown as Record<string, unknown> },
      decisionRotation: rotation.decisions,
      keepArchives: { decisions: rotation.decisions.keep, outcomes: rotation.outcomes.keep },
      // Exchange orders are spot: nothing to short.
      pipeline: { allowShorting, minHistoryBars: ENGINE_DEFAULTS.minHistoryBars, configHash },
      tape: TAPED_MODES.has(mode)
        ? new CandleTapeWriter(req.paths.candleTape, {
            mode,
            symbols: feed.symbols,
            timeframe: feed.timeframe,
            timeframe_ms: feed.timeframeMs,
            source: feed.source,
            capital: req.capital,
            max_bars: req.maxBars,
            until_ms: req.untilMs,
            config_hash: configHash,
            models_dir: runModelsDir(req.modelsDir ?? null, req.paths.models),
            voting: req.voting ?? 'performance',
            allow_shorting: allowShorting,
            min_history_bars: ENGINE_DEFAULTS.minHistoryBars,
            risk,
          })
        : undefined,
      stages: withOrderGuards(
        buildStages(mode, req.paths, risk, modelChain, notifier, rotation.outcomes),
        orders,
      ),
    },
    feed,
    stop,
  );
  await notifier?.close(); // bounded: what is still queued gets a few seconds, then is dropped and logged
  const peakRssMb = process.resourceUsage().maxRSS / 1024; // kB on Linux and macOS
  return {
    ...result,
    mode,
    feed: feed.source,
    symbols: feed.symbols,
    timeframe: feed.timeframe,
    dataRoot: req.paths.root,
    loadMs,
    peakRssMb,
  };
}
