/**
 * B3: `atl health-daily` and `atl report-weekly` over a 1,000,000-line decision log written by a
 * real engine run (`atl run --mode backtest --replay-file` on 1,000,000 one-minute candles), in
 * both record formats side by side: the engine's record v2 log (run header + compact lines) and
 * the same decisions and outcomes as v1 (every line a full record; `copyAsV1`). Each verb runs as
 * its own process; wall time and the child's peak RSS are reported for each format, with the
 * ratio v1 / v2 (above 1: v2 is faster). Targets: ≤ 1.5 s and ≤ 150 MB peak RSS each, and v2 no
 * slower than v1. `B3_CACHE=DIR` keeps the generated logs between runs; `B3_CANDLES=N` sizes them
 * (default 1,000,000).
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Measured, measured } from './_measure.ts';
import { copyAsV1, REPLAY_START, replayLogOnce } from './_replay.ts';

const CANDLES = Number(process.env.B3_CANDLES ?? 1_000_000);
const START = REPLAY_START;
const RUNS = 5;
const dir = process.env.B3_CACHE ?? join(tmpdir(), `atl-b3-${process.pid}`);
const roots = { v1: join(dir, 'root-v1'), v2: join(dir, 'root') } as const;
const logOf = (root: string) => join(root, 'rl', 'shadow_decisions.jsonl');
const gib = (path: string) => (statSync(path).size / 2 ** 30).toFixed(2);

type Figure = { wall: number; rss: number; lines: number; window: number };

/** The verb over each root, runs interleaved (v1, v2, v1, …) so a busy spell on a shared machine hits both alike. */
async function figures(name: string, roots: string[], args: (root: string) => string[]): Promise<Figure[]> {
  const runs: Measured[][] = roots.map(() => []);
  for (let i = 0; i < RUNS; i++)
    for (const [k, root] of roots.entries()) runs[k]!.push(await measured(args(root)));
  return runs.map((list) => {
    const bad = list.find((r) => r.code > 2);
    if (bad) throw new Error(`${name} exited ${bad.code}`);
    const evidence = JSON.parse(list[0]!.stdout) as {
      details: { log: { lines: number; window_records: number } };
    };
    return {
      wall: list.map((r) => r.wallMs).sort((a, b) => a - b)[Math.floor(RUNS / 2)]! / 1000,
      rss: Math.max(...list.map((r) => r.maxRssMb)),
      lines: evidence.details.log.lines,
      window: evidence.details.log.window_records,
    };
  });
}

try {
  // The same replay as B1 (a lockdown is a time-boxed lock in a backtest, so the log covers every bar).
  const wallMs = await replayLogOnce(dir, CANDLES, roots.v2);
  if (wallMs !== null)
    console.log(
      `B3 log: ${CANDLES.toLocaleString()} decisions by a real backtest in ${(wallMs / 1000).toFixed(1)} s`,
    );
  const v1Ready = join(dir, 'v1-complete');
  if (!existsSync(v1Ready)) {
    const t0 = performance.now();
    copyAsV1(roots.v2, roots.v1);
    writeFileSync(v1Ready, '');
    console.log(`B3 v1 copy of the same records in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const lastDay = new Date(START + CANDLES * 60_000 - 86_400_000).toISOString().slice(0, 10);
  console.log(
    `B3 reports over a ${CANDLES.toLocaleString()}-decision log: v1 ${gib(logOf(roots.v1))} GiB, v2 ${gib(logOf(roots.v2))} GiB; day/week ending ${lastDay}; median of ${RUNS} runs`,
  );
  const verbs: Array<[string, (root: string) => string[]]> = [
    ['health-daily', (root) => ['health-daily', '--date', lastDay, '--data-dir', root, '--json']],
    [
      'report-weekly',
      (root) => ['report-weekly', '--week', '1', '--end', lastDay, '--data-dir', root, '--json'],
    ],
  ];
  const met = (ok: boolean) => (ok ? 'MET' : 'MISSED');
  for (const [name, args] of verbs) {
    const [v1, v2] = (await figures(name, [roots.v1, roots.v2], args)) as [Figure, Figure];
    if (v1.window !== v2.window)
      throw new Error(`${name}: v1 and v2 windows differ (${v1.window} vs ${v2.window})`);
    for (const [format, f] of [
      ['v1', v1],
      ['v2', v2],
    ] as const)
      console.log(
        `  ${name.padEnd(14)} ${format} ${f.wall.toFixed(2)} s (target ≤ 1.5 ${met(f.wall <= 1.5)})  peak RSS ${f.rss.toFixed(0)} MB (target ≤ 150 ${met(f.rss <= 150)})  ` +
          `${f.lines.toLocaleString()} lines scanned, ${f.window.toLocaleString()} in window`,
      );
    console.log(
      `  ${name.padEnd(14)} v1/v2 ${(v1.wall / v2.wall).toFixed(2)}x (v2 no slower than v1: ${met(v2.wall <= v1.wall)})`,
    );
  }
} finally {
  if (!process.env.B3_CACHE) rmSync(dir, { recursive: true, force: true });
}
