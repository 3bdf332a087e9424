/**
 * B3: `atl health-daily` and `atl report-weekly` over a 1,000,000-line decision log written by a
 * real engine run (`atl run --mode backtest --replay-file` on 1,000,000 one-minute candles).
 * Each verb runs as its own process; wall time and the child's peak RSS are reported.
 * Targets: ≤ 1.5 s and ≤ 150 MB peak RSS each. `B3_CACHE=DIR` keeps the generated log between runs;
 * `B3_CANDLES=N` sizes it (default 1,000,000).
 */
import { rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measured } from './_measure.ts';
import { REPLAY_START, replayLogOnce } from './_replay.ts';

const CANDLES = Number(process.env.B3_CANDLES ?? 1_000_000);
const START = REPLAY_START;
const RUNS = 3;
const dir = process.env.B3_CACHE ?? join(tmpdir(), `atl-b3-${process.pid}`);
const root = join(dir, 'root');
const log = join(root, 'rl', 'shadow_decisions.jsonl');

try {
  // The same replay as B1 (a lockdown is a time-boxed lock in a backtest, so the log covers every bar).
  const wallMs = await replayLogOnce(dir, CANDLES, root);
  if (wallMs !== null)
    console.log(
      `B3 log: ${CANDLES.toLocaleString()} decisions by a real backtest in ${(wallMs / 1000).toFixed(1)} s`,
    );
  const lastDay = new Date(START + CANDLES * 60_000 - 86_400_000).toISOString().slice(0, 10);
  console.log(
    `B3 reports over ${(statSync(log).size / 2 ** 30).toFixed(2)} GiB, ${CANDLES.toLocaleString()}-line decision log; day/week ending ${lastDay}; median of ${RUNS} runs`,
  );
  const verbs: Array<[string, string[]]> = [
    ['health-daily', ['health-daily', '--date', lastDay, '--data-dir', root, '--json']],
    ['report-weekly', ['report-weekly', '--week', '1', '--end', lastDay, '--data-dir', root, '--json']],
  ];
  for (const [name, args] of verbs) {
    const runs = [];
    for (let i = 0; i < RUNS; i++) runs.push(await measured(args));
    const bad = runs.find((r) => r.code > 2);
    if (bad) throw new Error(`${name} exited ${bad.code}`);
    const evidence = JSON.parse(runs[0]!.stdout) as {
      details: { log: { lines: number; window_records: number } };
    };
    const wall = runs.map((r) => r.wallMs).sort((a, b) => a - b)[Math.floor(RUNS / 2)]! / 1000;
    const rss = Math.max(...runs.map((r) => r.maxRssMb));
    console.log(
      `  ${name.padEnd(14)} ${wall.toFixed(2)} s (target ≤ 1.5 ${wall <= 1.5 ? 'MET' : 'MISSED'})  peak RSS ${rss.toFixed(0)} MB (target ≤ 150 ${rss <= 150 ? 'MET' : 'MISSED'})  ` +
        `${evidence.details.log.lines.toLocaleString()} lines scanned, ${evidence.details.log.window_records.toLocaleString()} in window`,
    );
  }
} finally {
  if (!process.env.B3_CACHE) rmSync(dir, { recursive: true, force: true });
}
