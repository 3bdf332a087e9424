/**
 * B1's ceiling: the replay's decisions made in this process with nothing recorded. Each bar goes
 * through the real pipeline (the replay feed, features, signal chain and advisor, risk guard,
 * paper broker), but no decision line, outcome line, ledger commit or checkpoint is written.
 * Whatever the record's design, atl on this machine cannot run B1 faster than this.
 *
 * Usage: bun bench/_decisions-alone.ts CANDLES.csv SCRATCH_DIR [MODELS_DIR] (the run's
 * `--models-dir`). Prints one JSON line: decisions; trades (closed) and actions (decisions by
 * action), the same as `atl run` makes on the file (tests/engine/ceiling.test.ts); load_seconds
 * (the CSV); loop_seconds (model chain built, then every bar decided); cpu_seconds (the whole
 * process, every thread). The caller times the whole process.
 */
import { DEFAULT_BROKER, PaperBroker } from '../core/broker/paper.ts';
import { Portfolio } from '../core/broker/portfolio.ts';
import { UNPACED_BATCH } from '../core/engine/engine.ts';
import { ReplayFeed } from '../core/engine/feeds.ts';
import { SymbolPipeline, type TickContext } from '../core/engine/pipeline.ts';
import { buildGuard, ENGINE_DEFAULTS, riskConfigFor } from '../core/engine/start.ts';
import { Ledger } from '../core/ledger/ledger.ts';
import { loadCandleFile } from '../core/market/candles.ts';
import { dataPaths } from '../core/paths.ts';
import { buildModelChain } from '../core/signals/build.ts';

const [csv, scratch, modelsDir] = process.argv.slice(2);
if (!csv || !scratch) {
  console.error('usage: bun bench/_decisions-alone.ts CANDLES.csv SCRATCH_DIR [MODELS_DIR]');
  process.exit(64);
}
const mode = 'backtest';
const paths = dataPaths(scratch);
const loadStarted = performance.now();
const feed = new ReplayFeed([loadCandleFile(csv, 'BTC/USDT')], null);
Bun.gc(true); // as `atl run` does after a large candle file
const loadMs = performance.now() - loadStarted;
const loopStarted = performance.now();
const risk = riskConfigFor(mode, null);
const signal = await buildModelChain({
  modelsDir: modelsDir ?? null,
  dataRootModelsDir: paths.models,
  voting: 'performance',
  timeframe: feed.timeframe,
  timeframeMs: feed.timeframeMs,
  minConfidence: ENGINE_DEFAULTS.minConfidence,
  advisorStatePath: null,
});
const guard = buildGuard(mode, paths, risk);
const portfolio = new Portfolio(10_000);
const ledger = new Ledger(paths.ledger); // the broker queues its rows here; nothing is committed
const broker = new PaperBroker({ ...DEFAULT_BROKER, mode }, portfolio, ledger, 'floor');
const pipeline = new SymbolPipeline(
  'BTC/USDT',
  {
    mode,
    dataMode: feed.dataMode,
    timeframe: feed.timeframe,
    allowShorting: ENGINE_DEFAULTS.allowShorting,
    minHistoryBars: ENGINE_DEFAULTS.minHistoryBars,
    configHash: 'floor',
    source: feed.sourceOf('BTC/USDT'),
  },
  { signal, entry: guard, observers: [guard] },
);
for (const bar of await feed.warmup()) pipeline.observe(bar);
let decisions = 0;
let seq = 0;
const actions: Record<string, number> = {};
for (;;) {
  const ticks = await feed.next(UNPACED_BATCH, new AbortController().signal);
  if (ticks === null) break;
  await signal.prepare?.(ticks);
  const nowIso = new Date().toISOString();
  for (const tick of ticks) {
    const ctx: TickContext = { correlationId: `floor-${++seq}`, nowIso, halt: null, pause: null };
    for (const bar of tick.bars) {
      const { action } = pipeline.decide(bar, ctx, portfolio, broker);
      actions[action] = (actions[action] ?? 0) + 1;
      decisions++;
    }
    portfolio.updateDrawdown();
  }
}
const loopMs = performance.now() - loopStarted;
ledger.discard();
console.log(
  JSON.stringify({
    decisions,
    trades: portfolio.totalTrades,
    actions,
    load_seconds: loadMs / 1000,
    loop_seconds: loopMs / 1000,
    cpu_seconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
  }),
);
