import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSyntheticCsv } from '../core/market/bundled.ts';

/** First candle of the benchmark replays (their report windows are counted from it). */
export const REPLAY_START = Date.UTC(2024, 0, 1);

/**
 * The replay the throughput benchmarks share: `candles` synthetic one-minute BTC/USDT candles and
 * the `atl run` arguments that replay them into `root`, with the default risk config. A random
 * walk makes any strategy lose, so capital preservation reaches lockdown on the way; in a backtest
 * that is a time-boxed lock, so the replay still decides every candle.
 */
export function prepareReplay(dir: string, candles: number, root: string): string[] {
  const csv = join(dir, 'BTC_USDT-1m.csv');
  writeFileSync(csv, renderSyntheticCsv('BTC/USDT', '1m', candles, REPLAY_START));
  return ['run', '--mode', 'backtest', '--replay-file', csv, '--symbols', 'BTC/USDT', '--data-dir', root];
}
