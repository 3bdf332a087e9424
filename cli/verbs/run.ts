import { defineCommand } from 'citty';
import { type RunReport, startRun } from '../../core/engine/start.ts';
import { usageError } from '../../core/errors.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { parseGapPolicy } from '../../core/market/gaps.ts';
import { parseSymbolList } from '../../core/market/symbols.ts';
import {
  dataDirArg,
  exchangeArgs,
  jsonArg,
  numberFlag,
  pathsFromArgs,
  print,
  printError,
  printJson,
  timeFlag,
} from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'run',
    description: 'Run the engine: one decision per closed bar per symbol, every decision logged',
  },
  args: {
    mode: {
      type: 'string',
      description: 'backtest | paper_synthetic | paper_live_data | testnet | live_limited | live_full',
      default: 'backtest',
    },
    symbols: { type: 'string', description: 'comma list (default BTC/USDT,ETH/USDT,SOL/USDT)' },
    timeframe: { type: 'string', description: 'candle timeframe (default 1h for backtest, 1m otherwise)' },
    'replay-file': {
      type: 'string',
      description: 'backtest candles: CSV or ccxt JSON [[ts,o,h,l,c,v],…]',
      valueHint: 'FILE',
    },
    'on-gap': {
      type: 'string',
      description: 'missing candles in the replay: warn (name each gap, go on) | fail (refuse the file)',
      default: 'warn',
    },
    capital: { type: 'string', description: 'starting paper capital in quote currency', default: '10000' },
    interval: { type: 'string', description: 'seconds between ticks (paced modes; default: the timeframe)' },
    speed: { type: 'string', description: 'time multiplier (backtest default: as fast as possible)' },
    'max-bars': { type: 'string', description: 'stop after this many ticks' },
    until: { type: 'string', description: 'stop at this bar close time (ISO-8601)' },
    'notify-url': {
      type: 'string',
      description:
        'POST JSON events (halt, fill, capital-preservation level change) to this http(s) URL; queued, retried, never blocking a tick',
      valueHint: 'URL',
    },
    timerange: {
      type: 'string',
      description:
        'backtest only: replay candles opening in [START, END), UTC days (20240101-20240301, 20240101-, -20240301)',
      valueHint: 'START-END',
    },
    seed: { type: 'string', description: 'synthetic market seed', default: '42' },
    'log-max-bytes': {
      type: 'string',
      description:
        'rotate the decision and outcome logs at this size (0: never; default 268435456, env ATL_DECISION_LOG_MAX_BYTES / ATL_OUTCOME_LOG_MAX_BYTES)',
      valueHint: 'BYTES',
    },
    'log-keep': {
      type: 'string',
      description:
        'rotated archives kept per log (0: all, the default; env ATL_DECISION_LOG_KEEP / ATL_OUTCOME_LOG_KEEP)',
      valueHint: 'N',
    },
    fresh: { type: 'boolean', description: 'archive the previous run under this data root and start over' },
    confirm: { type: 'boolean', description: 'required for live_limited and live_full' },
    'risk-config': {
      type: 'string',
      description: 'JSON file of risk overrides (budget, turnover, preservation); see the README',
      valueHint: 'FILE',
    },
    'models-dir': {
      type: 'string',
      description:
        "ONNX models + manifests for the signal chain (default: the data root's models/ when it holds any, else the bundled data/models)",
      valueHint: 'DIR',
    },
    voting: {
      type: 'string',
      description: 'ensemble voting: majority | weighted | performance',
      default: 'performance',
    },
    ...exchangeArgs,
    ...dataDirArg,
    ...jsonArg,
  },
  async run({ args, rawArgs }) {
    const untilMs = args.until ? timeFlag('--until', args.until) : null;
    const stop = new AbortController();
    let signalExit: number | null = null;
    const onSignal = (sig: NodeJS.Signals) => {
      signalExit = EXIT.pass; // finish the current tick, then exit 0
      printError(`atl run: ${sig} received, finishing the current tick\n`);
      stop.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      const report = await startRun(
        {
          paths: pathsFromArgs(args),
          mode: args.mode,
          symbols: parseSymbolList(args.symbols),
          timeframe: args.timeframe ?? null,
          replayFile: args['replay-file'] ?? null,
          onGap: parseGapPolicy(args['on-gap']),
          modelsDir: args['models-dir'] ?? null,
          voting: args.voting,
          capital: numberFlag('capital', args.capital, { min: 1 }) ?? 10_000,
          intervalS: numberFlag('interval', args.interval, { min: 0.01 }),
          speed: numberFlag('speed', args.speed, { min: 0 }) || null,
          maxBars: numberFlag('max-bars', args['max-bars'], { min: 1, integer: true }),
          untilMs,
          timerange: args.timerange ?? null,
          notifyUrl: notifyUrlFlag(args['notify-url']),
          fresh: Boolean(args.fresh),
          confirm: Boolean(args.confirm),
          riskConfig: args['risk-config'] ?? null,
          seed: numberFlag('seed', args.seed, { integer: true }) ?? 42,
          argv: ['run', ...rawArgs],
          exchange: args.exchange,
          exchangeUrl: args['exchange-url'] ?? null,
          logRotation: {
            maxBytes: numberFlag('log-max-bytes', args['log-max-bytes'], { min: 0, integer: true }),
            keep: numberFlag('log-keep', args['log-keep'], { min: 0, integer: true }),
          },
        },
        stop.signal,
      );
      if (args.json) printJson(report);
      else print(summarize(report));
      process.exitCode = report.outcome === 'halted' && signalExit === null ? EXIT.fail : EXIT.pass;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  },
});

function notifyUrlFlag(value: string | undefined): string | null {
  if (value === undefined) return null;
  let url: URL | null = null;
  try {
    url = new URL(value);
  } catch {}
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:'))
    throw usageError(
      `--notify-url must be an http(s) URL (got "${value}")`,
      'e.g. --notify-url https://hooks.example.com/atl',
    );
  return url.href;
}

function summarize(r: RunReport): string {
  const pnl = r.equity - r.initialCapital;
  const rate = r.engineMs > 0 ? Math.round((r.decisions / r.engineMs) * 1000) : 0;
  return [
    `atl run ${r.mode} — ${r.outcome}${r.reason && r.outcome !== 'completed' ? ` (${r.reason})` : ''}`,
    `  data        ${r.feed.kind}${r.feed.synthetic ? ' (SYNTHETIC candles, not real market data)' : ''}: ${r.symbols.join(', ')} ${r.timeframe}`,
    `  decisions   ${r.decisions} written this run (${r.ticks} ticks, ${(r.engineMs / 1000).toFixed(2)} s, ${rate}/s)${r.skippedAlreadyDecided ? `; ${r.skippedAlreadyDecided} bars already decided before a restart` : ''}`,
    `  equity      ${r.equity.toFixed(2)} (start ${r.initialCapital.toFixed(2)}, P&L ${pnl >= 0 ? '+' : ''}${pnl.toFixed(2)}, max drawdown ${(r.maxDrawdownPct * 100).toFixed(2)}%)`,
    `  trades      ${r.trades} closed (${r.winningTrades} won), ${r.openPositions} open`,
    `  files       ${r.dataRoot}/rl/shadow_decisions.jsonl, rl/paper_live_heartbeat.json, unified_trading/state.json, unified_trading/ledger.sqlite`,
    ...(r.tornTail
      ? [`  repaired    a torn final log line (${r.tornTail.bytes} bytes) moved to ${r.tornTail.sidecar}`]
      : []),
  ].join('\n');
}
