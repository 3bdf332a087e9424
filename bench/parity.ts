/**
 * Parity: `atl parity` over a month of one-minute candles (the bundled BTC/USDT 1m file, 44,640
 * candles) written as a candle tape, against `atl run --mode backtest` over the same candles in
 * the same session. The tape is replayed one tick per batch, as the live feed delivered it, and
 * both decision logs are read and compared; the live log is an earlier replay's, so every
 * decision is compared in full. `PARITY_CANDLES` shortens it.
 */
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_BROKER } from '../core/broker/paper.ts';
import { ENGINE_DEFAULTS, runConfigHash } from '../core/engine/start.ts';
import { BUNDLED_MARKET_DIR, BUNDLED_MODELS_DIR } from '../core/paths.ts';
import { resolveRiskConfig } from '../core/risk/config.ts';
import type { TapeRunHeader } from '../core/schema/candle-tape.ts';
import { buildModelChain } from '../core/signals/build.ts';

const CANDLES = Number(process.env.PARITY_CANDLES ?? 44_640);
const WARMUP = 300;
const main = join(import.meta.dir, '..', 'cli', 'main.ts');
const dir = mkdtempSync(join(tmpdir(), 'atl-parity-bench-'));

async function atl(args: string[]): Promise<{ code: number; ms: number; out: string }> {
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, main, ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
    env: { ...process.env, ATL_LOG_LEVEL: 'error' },
  });
  const out = await new Response(proc.stdout).text();
  return { code: await proc.exited, ms: performance.now() - t0, out };
}

try {
  const csv = join(BUNDLED_MARKET_DIR, 'BTC_USDT-1m.synthetic.csv');
  const rows = readFileSync(csv, 'utf8')
    .split('\n')
    .filter((l) => /^\d/.test(l))
    .slice(0, CANDLES)
    .map((l) => l.split(',').map(Number));
  const risk = resolveRiskConfig(
    {},
    {
      turnover: {
        feeBps: DEFAULT_BROKER.feeRate * 10_000,
        slippageBps: DEFAULT_BROKER.slippageRate * 10_000,
      },
    },
  );
  const chain = await buildModelChain({
    modelsDir: BUNDLED_MODELS_DIR,
    dataRootModelsDir: BUNDLED_MODELS_DIR,
    voting: 'performance',
    timeframe: '1m',
    timeframeMs: 60_000,
    minConfidence: ENGINE_DEFAULTS.minConfidence,
    advisorStatePath: null,
  });
  const header: TapeRunHeader = {
    k: 'run',
    v: 1,
    started_at: new Date().toISOString(),
    resumed: false,
    mode: 'paper_live_data',
    symbols: ['BTC/USDT'],
    timeframe: '1m',
    timeframe_ms: 60_000,
    source: { kind: 'ccxt', ref: 'bench', synthetic: true },
    capital: 10_000,
    max_bars: null,
    until_ms: null,
    // The bundled models serve 1h (on 1m the technical rules decide), but they are the config.
    config_hash: runConfigHash('paper_live_data', ['BTC/USDT'], '1m', risk, chain.modelFingerprint),
    models_dir: BUNDLED_MODELS_DIR,
    voting: 'performance',
    allow_shorting: true,
    min_history_bars: 50,
    risk,
  };
  const candle = (r: number[]) => [0, ...r.slice(0, 6)];
  const lines = [
    JSON.stringify(header),
    JSON.stringify({ k: 'w', b: rows.slice(0, WARMUP).map(candle) }),
    ...rows.slice(WARMUP).map((r) => JSON.stringify({ k: 't', t: r[0]! + 60_000, b: [candle(r)] })),
  ];
  const root = join(dir, 'root');
  mkdirSync(join(root, 'rl'), { recursive: true });
  writeFileSync(join(root, 'rl', 'candle_tape.jsonl'), `${lines.join('\n')}\n`);

  const first = await atl(['parity', '--json', '--scratch-dir', join(dir, 'first'), '--data-dir', root]);
  copyFileSync(
    join(dir, 'first', 'rl', 'shadow_decisions.jsonl'),
    join(root, 'rl', 'shadow_decisions.jsonl'),
  );
  const parity = await atl(['parity', '--json', '--data-dir', root]);
  const evidence = JSON.parse(parity.out) as { details: { compared: { live: number; identical: number } } };
  if (first.code === 3 || parity.code !== 0) throw new Error(`atl parity exited ${parity.code}`);
  const backtest = await atl([
    'run',
    '--mode',
    'backtest',
    '--replay-file',
    csv,
    '--symbols',
    'BTC/USDT',
    '--timeframe',
    '1m',
    '--max-bars',
    String(CANDLES),
    '--data-dir',
    join(dir, 'backtest'),
  ]);
  if (backtest.code !== 0) throw new Error(`atl run exited ${backtest.code}`);
  const c = evidence.details.compared;
  console.log(
    `parity: ${c.live} decisions replayed and compared (${c.identical} identical) in ${(parity.ms / 1000).toFixed(2)} s wall` +
      ` = ${Math.round((c.live / parity.ms) * 1000)} decisions/s`,
  );
  console.log(
    `backtest of the same ${CANDLES} candles: ${(backtest.ms / 1000).toFixed(2)} s wall; parity / backtest = ${(parity.ms / backtest.ms).toFixed(2)}x`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
