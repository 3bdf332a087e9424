/**
 * B3: `atl health-daily` and `atl report-weekly` over a 1,000,000-line decision log written by a
 * real engine run (`atl run --mode backtest --replay-file` on 1,000,000 one-minute candles).
 * Each verb runs as its own process; wall time and the child's peak RSS are reported.
 * Targets: ≤ 1.5 s and ≤ 150 MB peak RSS each. `B3_CACHE=DIR` keeps the generated log between runs;
 * `B3_CANDLES=N` sizes it (default 1,000,000).
 */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareReplay, REPLAY_START } from './_replay.ts';

const CANDLES = Number(process.env.B3_CANDLES ?? 1_000_000);
const START = REPLAY_START;
const RUNS = 3;
const main = join(import.meta.dir, '..', 'cli', 'main.ts');
const dir = process.env.B3_CACHE ?? join(tmpdir(), `atl-b3-${process.pid}`);
const root = join(dir, 'root');
const log = join(root, 'rl', 'shadow_decisions.jsonl');
const ready = join(dir, 'log-complete');

/** Run `atl` as a child; its peak RSS is only its own when it is this process's only descendant. */
async function atl(
  args: string[],
): Promise<{ code: number; wallMs: number; maxRssMb: number; stdout: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, main, ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
    env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
  });
  const stdout = await new Response(proc.stdout).text();
  const code = await proc.exited;
  const wallMs = performance.now() - t0;
  return { code, wallMs, maxRssMb: (proc.resourceUsage()?.maxRSS ?? 0) / 2 ** 20, stdout };
}

/**
 * The maximum RSS the kernel reports for children covers every descendant ever waited for, so a
 * report run from the process that also ran the engine would carry the engine's peak. Each
 * measured run therefore goes through a fresh process whose only child is the verb.
 */
async function measured(
  args: string[],
): Promise<{ code: number; wallMs: number; maxRssMb: number; stdout: string }> {
  const proc = Bun.spawn([process.execPath, import.meta.path, MEASURE, ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
    env: process.env,
  });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`measuring ${args[0]} failed`);
  return JSON.parse(out);
}

const MEASURE = '--measure-one';
if (process.argv[2] === MEASURE) {
  process.stdout.write(JSON.stringify(await atl(process.argv.slice(3))));
  process.exit(0);
}

try {
  if (!existsSync(ready)) {
    mkdirSync(dir, { recursive: true });
    // The same replay as B1 (a lockdown is a time-boxed lock in a backtest, so the log covers every bar).
    const run = await atl([...prepareReplay(dir, CANDLES, root), '--fresh']);
    if (run.code !== 0) throw new Error(`atl run exited ${run.code}`);
    rmSync(join(dir, 'BTC_USDT-1m.csv'));
    writeFileSync(ready, '');
    console.log(
      `B3 log: ${CANDLES.toLocaleString()} decisions by a real backtest in ${(run.wallMs / 1000).toFixed(1)} s`,
    );
  }
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
