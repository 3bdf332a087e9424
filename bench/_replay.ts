import { cpSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { GENESIS_HASH, hashLine } from '../core/engine/decision-log.ts';
import { JsonlAppender } from '../core/fsx/jsonl.ts';
import { renderSyntheticCsv } from '../core/market/bundled.ts';
import { readDecisionLog, readOutcomeLog } from '../core/records/reader.ts';
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
  // One file, never rotated: the report and audit benchmarks measure a 1M-line log as such.
  const run = await runAtl([...prepareReplay(dir, candles, root), '--fresh', '--log-max-bytes', '0']);
  if (run.code !== 0) throw new Error(`atl run exited ${run.code}`);
  rmSync(join(dir, 'BTC_USDT-1m.csv'));
  writeFileSync(ready, '');
  return run.wallMs;
}

/**
 * A copy of the data root `from` at `to` whose decision and outcome logs hold the same records in
 * the v1 (full, one record per line) format: each line read through the one reader, expanded
 * and re-chained from genesis; every other file copied as it is. What a v1 engine would have
 * written for the same run, to measure readers against both formats in one benchmark.
 */
export function copyAsV1(from: string, to: string): void {
  rmSync(to, { recursive: true, force: true });
  cpSync(from, to, {
    recursive: true,
    filter: (src) => !src.endsWith('shadow_decisions.jsonl') && !src.endsWith('decision_outcomes.jsonl'),
  });
  const log = new JsonlAppender(join(to, 'rl', 'shadow_decisions.jsonl'));
  log.open();
  let prev = GENESIS_HASH;
  readDecisionLog(
    join(from, 'rl', 'shadow_decisions.jsonl'),
    (r) => {
      r.prev_hash = prev;
      const line = JSON.stringify(r);
      prev = hashLine(line);
      if (log.push(line) > 8 << 20) log.flush();
    },
    (f) => {
      throw new Error(`line ${f.line} of the v2 log does not read: ${f.problem}`);
    },
  );
  log.close();
  const outcomes = new JsonlAppender(join(to, 'rl', 'decision_outcomes.jsonl'));
  outcomes.open();
  readOutcomeLog(join(from, 'rl', 'decision_outcomes.jsonl'), (o) => {
    if (outcomes.push(JSON.stringify(o)) > 8 << 20) outcomes.flush();
  });
  outcomes.close();
}
