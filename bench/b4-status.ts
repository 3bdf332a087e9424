/**
 * B4: `atl status --json` cold start (a fresh process each time) against a real data root.
 * Target: ≤ 30 ms mean. The bare runtime start-up is measured alongside for reference.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.B4_RUNS ?? 30);
const main = join(import.meta.dir, '..', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'atl-b4-'));

async function timeSpawn(cmd: string[]): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < RUNS + 2; i++) {
    const t0 = performance.now();
    const proc = Bun.spawn(cmd, {
      stdout: 'ignore',
      stderr: 'ignore',
      env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
    });
    const code = await proc.exited;
    if (code !== 0) throw new Error(`${cmd.join(' ')} exited ${code}`);
    if (i >= 2) times.push(performance.now() - t0); // the first two warm the page cache
  }
  return times;
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return {
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    p50: sorted[Math.floor(xs.length / 2)]!,
    p95: sorted[Math.floor(xs.length * 0.95)]!,
  };
};

try {
  const run = Bun.spawnSync([process.execPath, main, 'run', '--max-bars', '200', '--data-dir', dir], {
    env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
  });
  if (run.exitCode !== 0) throw new Error('could not prepare a data root');
  const bare = stats(await timeSpawn([process.execPath, '-e', '0']));
  const status = stats(await timeSpawn([process.execPath, main, 'status', '--json', '--data-dir', dir]));
  console.log(`B4 status cold start over ${RUNS} runs (heartbeat, state and pidfile read and validated)`);
  console.log(
    `  atl status --json  mean ${status.mean.toFixed(1)} ms, p50 ${status.p50.toFixed(1)} ms, p95 ${status.p95.toFixed(1)} ms  target ≤ 30 ms mean  ${status.mean <= 30 ? 'MET' : 'MISSED'}`,
  );
  console.log(`  bare bun -e 0      mean ${bare.mean.toFixed(1)} ms (runtime start-up alone)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
