import { dirname } from 'node:path';
import { defineCommand } from 'citty';
import { usageError } from '../../core/errors.ts';
import { BUNDLED_SYMBOLS } from '../../core/market/bundled.ts';
import { symbolFromFileName } from '../../core/market/candles.ts';
import { parseSymbolList } from '../../core/market/symbols.ts';
import { parseModelKinds, type TrainedModel, trainModels } from '../../core/models/train.ts';
import { dataDirArg, jsonArg, numberFlag, pathsFromArgs, print, printJson } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'train',
    description: 'Train the bundled model family on candles and export ONNX models with manifests',
  },
  args: {
    symbols: { type: 'string', description: 'comma list (default BTC/USDT,ETH/USDT,SOL/USDT)' },
    timeframe: { type: 'string', description: 'candle timeframe of the bundled candles', default: '1h' },
    candles: {
      type: 'string',
      description: "one symbol's candle file (CSV or ccxt JSON) instead of the bundled candles",
      valueHint: 'FILE',
    },
    'models-dir': {
      type: 'string',
      description:
        "where to write <model>.onnx and <model>.manifest.json (default: the data root's models/, which `npx atl run` on that root reads)",
      valueHint: 'DIR',
    },
    kinds: { type: 'string', description: 'model kinds: logreg, mlp', default: 'logreg,mlp' },
    seed: {
      type: 'string',
      description: 'training seed (same candles + seed → byte-identical files)',
      default: '42',
    },
    horizon: { type: 'string', description: 'label horizon in bars', default: '4' },
    'threshold-k': {
      type: 'string',
      description: 'label threshold in units of vol_20 × √horizon',
      default: '0.5',
    },
    ...dataDirArg,
    ...jsonArg,
  },
  async run({ args }) {
    const kinds = parseModelKinds(args.kinds);
    const symbols =
      parseSymbolList(args.symbols) ??
      (args.candles
        ? [symbolFromFileName(args.candles) ?? missingSymbol(args.candles)]
        : [...BUNDLED_SYMBOLS]);
    const models = await trainModels({
      symbols,
      timeframe: args.timeframe,
      candlesFile: args.candles ?? null,
      cacheDir: pathsFromArgs(args).marketCache,
      outDir: args['models-dir'] ?? pathsFromArgs(args).models,
      seed: numberFlag('seed', args.seed, { integer: true }) ?? 42,
      kinds,
      label: {
        horizonBars: numberFlag('horizon', args.horizon, { integer: true, min: 1 }) ?? 4,
        thresholdK: numberFlag('threshold-k', args['threshold-k'], { min: 0.01 }) ?? 0.5,
      },
    });
    if (args.json) printJson({ models });
    else print(summarize(models));
  },
});

function missingSymbol(file: string): never {
  throw usageError(`cannot tell the symbol from the file name ${file}`, 'name it with --symbols BASE/QUOTE');
}

const pct = (x: number | null) => (x === null ? '  n/a' : `${(x * 100).toFixed(1).padStart(5)}`);

function summarize(models: TrainedModel[]): string {
  const width = Math.max(...models.map((m) => m.model_id.length));
  return [
    `atl train — ${models.length} models written (test = the last 20% of the candles, time-ordered)`,
    `  ${'model'.padEnd(width)}  test rows  accuracy  baseline  log loss  precision down/flat/up`,
    ...models.map(
      (m) =>
        `  ${m.model_id.padEnd(width)}  ${String(m.test_rows).padStart(9)}  ${pct(m.metrics.accuracy)}%   ${pct(m.metrics.baseline_accuracy)}%   ${m.metrics.log_loss.toFixed(4)}  ${pct(m.metrics.precision.down)} ${pct(m.metrics.precision.flat)} ${pct(m.metrics.precision.up)}`,
    ),
    `  files       ${[...new Set(models.map((m) => dirname(m.onnx_path)))].join(', ')}/<model>.onnx + <model>.manifest.json`,
    '  baseline = always predicting the training majority class; onnxruntime output checked against the trained network',
  ].join('\n');
}
