/**
 * B4: `atl status --json` cold start (a fresh process each time) against a real data root,
 * reported against the bare runtime start-up (`bun -e 0`) measured in the same run: the goal is
 * status ≤ 2× bare. The two are interleaved run by run, so a noisy neighbour slows both alike.
 * `bun -e "import 'citty'"` is measured alongside: what the CLI library alone costs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.B4_RUNS ?? 30);
const GOAL_RATIO = 2;
const main = join(import.meta.dir, '..', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'atl-b4-'));
const env = { ...process.env, ATL_LOG_LEVEL: 'warn' };

async function timeOnce(cmd: string[]): Promise<number> {
  const t0 = performance.now();
  const proc = Bun.spawn(cmd, { stdout: 'ignore', stderr: 'ignore', env, cwd: join(import.meta.dir, '..') });
  const code = await proc.exited;
  if (code !== 0) throw new Error(`${cmd.join(' ')} exited ${code}`);
  return performance.now() - t0;
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
  const run = Bun.spawnSync([process.execPath, main, 'run', '--max-bars', '200', '--data-dir', dir], { env });
  if (run.exitCode !== 0) throw new Error('could not prepare a data root');
  const cmds = {
    bare: [process.execPath, '-e', '0'],
    citty: [process.execPath, '-e', "import 'citty'"],
    status: [process.execPath, main, 'status', '--json', '--data-dir', dir],
  };
  const times: Record<keyof typeof cmds, number[]> = { bare: [], citty: [], status: [] };
  for (let i = 0; i < RUNS + 2; i++) {
    for (const [name, cmd] of Object.entries(cmds) as [keyof typeof cmds, string[]][]) {
      const t = await timeOnce(cmd);
      if (i >= 2) times[name].push(t); // the first two rounds warm the page cache
    }
  }
  const [bare, citty, status] = [stats(times.bare), stats(times.citty), stats(times.status)];
  const ratio = status.mean / bare.mean;
  const row = (label: string, s: ReturnType<typeof stats>) =>
    `  ${label.padEnd(22)} mean ${s.mean.toFixed(1)} ms, p50 ${s.p50.toFixed(1)} ms, p95 ${s.p95.toFixed(1)} ms  (${(s.mean / bare.mean).toFixed(2)}× bare)`;
  console.log(
    `B4 status cold start over ${RUNS} interleaved runs (heartbeat and state read and validated; the engine has stopped, so no pidfile or halt flag)`,
  );
  console.log(row('atl status --json', status));
  console.log(row('bun -e "import citty"', citty));
  console.log(row('bun -e 0 (bare)', bare));
  console.log(
    `  atl status / bare = ${ratio.toFixed(2)}×  goal ≤ ${GOAL_RATIO}×  ${ratio <= GOAL_RATIO ? 'MET' : 'MISSED'}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
