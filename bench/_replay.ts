import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSyntheticCsv } from '../core/market/bundled.ts';
import { runAtl } from './_measure.ts';

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

/**
 * Write the replay's decision log into `root` once (a `log-complete` marker lets a cached `dir`
 * be reused); the engine's wall time in ms when it ran, null when the cache was used.
 */
export async function replayLogOnce(dir: string, candles: number, root: string): Promise<number | null> {
  const ready = join(dir, 'log-complete');
  if (existsSync(ready)) return null;
  mkdirSync(dir, { recursive: true });
  const run = await runAtl([...prepareReplay(dir, candles, root), '--fresh']);
  if (run.code !== 0) throw new Error(`atl run exited ${run.code}`);
  rmSync(join(dir, 'BTC_USDT-1m.csv'));
  writeFileSync(ready, '');
  return run.wallMs;
}
