/**
 * API load on loopback: `atl serve` in its own process over a data root a short backtest filled,
 * driven by autocannon with 100 concurrent connections. Reports requests/s and p99 for /health and
 * /api/status, and shows that nothing but intended 429s fails.
 *
 * The measured phases run with the health and read rate limits raised through config/api.json
 * (a per-client limit would otherwise turn nearly every request of one benchmarking client into a
 * 429); the last phase restores the defaults and checks that the excess gets 429 and only 429.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';

const MAIN = resolve(import.meta.dir, '..', 'cli', 'main.ts');
const KEY = 'Bench-Load-Pass!7f3Q9zX2';
const CONNECTIONS = 100;
const SECONDS = Number(process.env.API_LOAD_SECONDS ?? 8);

async function cli(args: string[]): Promise<void> {
  const p = Bun.spawn([process.execPath, MAIN, ...args], {
    stdout: 'ignore',
    stderr: 'inherit',
    env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
  });
  if ((await p.exited) !== 0) throw new Error(`atl ${args.join(' ')} failed`);
}

async function startServe(root: string) {
  const proc = Bun.spawn([process.execPath, MAIN, 'serve', '--port', '0', '--json', '--data-dir', root], {
    stdout: 'pipe',
    stderr: 'inherit',
    env: { ...process.env, ATL_API_KEY: KEY, ATL_LOG_LEVEL: 'warn' },
  });
  let text = '';
  const reader = proc.stdout.getReader();
  while (!text.endsWith('}\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`atl serve did not start: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return { proc, url: (JSON.parse(text) as { url: string }).url };
}

type Phase = { name: string; path: string; auth: boolean; amount?: number };

async function load(url: string, phase: Phase) {
  const r = await autocannon({
    url: `${url}${phase.path}`,
    connections: CONNECTIONS,
    ...(phase.amount ? { amount: phase.amount } : { duration: SECONDS }),
    headers: phase.auth ? { 'x-api-key': KEY } : {},
  });
  const byStatus = Object.fromEntries(
    Object.entries(r.statusCodeStats ?? {}).map(([code, s]) => [code, (s as { count: number }).count]),
  );
  return {
    rps: r.requests.average,
    p99: r.latency.p99,
    p50: r.latency.p50,
    total: r.requests.sent,
    errors: r.errors,
    timeouts: r.timeouts,
    byStatus,
  };
}

const root = mkdtempSync(join(tmpdir(), 'atl-bench-api-'));
let failed = false;
try {
  await cli(['run', '--mode', 'backtest', '--max-bars', '500', '--data-dir', root]);
  mkdirSync(join(root, 'config'), { recursive: true });
  const raised = { health: { limit: 10_000_000, window_s: 60 }, read: { limit: 10_000_000, window_s: 60 } };
  writeFileSync(join(root, 'config', 'api.json'), JSON.stringify({ rate_limits: raised }), { mode: 0o600 });
  console.log(`rate limits RAISED for the measurement via config/api.json: ${JSON.stringify(raised)}`);
  let serve = await startServe(root);
  console.log(`atl serve at ${serve.url}; ${CONNECTIONS} connections, ${SECONDS} s per route\n`);
  for (const phase of [
    { name: 'GET /health', path: '/health', auth: false },
    { name: 'GET /api/status', path: '/api/status', auth: true },
  ]) {
    await load(serve.url, { ...phase, amount: 2_000 }); // warm-up
    const r = await load(serve.url, phase);
    const unexpected =
      r.errors +
      r.timeouts +
      Object.entries(r.byStatus)
        .filter(([c]) => c !== '200')
        .reduce((n, [, v]) => n + v, 0);
    if (unexpected > 0) failed = true;
    console.log(
      `${phase.name.padEnd(16)} ${Math.round(r.rps).toString().padStart(7)} req/s  p50 ${r.p50} ms  p99 ${r.p99} ms  (${r.total} requests; status ${JSON.stringify(r.byStatus)}; errors ${r.errors}, timeouts ${r.timeouts}; unexpected ${unexpected})`,
    );
  }
  serve.proc.kill('SIGTERM');
  await serve.proc.exited;

  rmSync(join(root, 'config', 'api.json'));
  serve = await startServe(root);
  const burst = await load(serve.url, { name: 'burst', path: '/api/status', auth: true, amount: 1_000 });
  const ok = burst.byStatus['200'] ?? 0;
  const limited = burst.byStatus['429'] ?? 0;
  const other = burst.total - ok - limited + burst.errors + burst.timeouts;
  if (other > 0 || ok < 120 || ok > 125) failed = true;
  console.log(
    `\ndefault limits, 1,000-request burst on /api/status: ${ok} × 200 (allowance 120/60 s), ${limited} × 429 (intended), ${other} other failures`,
  );
  serve.proc.kill('SIGTERM');
  await serve.proc.exited;
} finally {
  rmSync(root, { recursive: true, force: true });
}
process.exitCode = failed ? 1 : 0;
