/**
 * B1: replay 1,000,000 one-minute candles through the full pipeline (`atl run --mode backtest`
 * as a real process), every decision logged in the product's record format.
 * Target: ≥ 250,000 candles/s and peak RSS ≤ 512 MB.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SyntheticMarket } from '../core/market/synthetic.ts';

const CANDLES = Number(process.env.B1_CANDLES ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'atl-b1-'));
try {
  const csv = join(dir, 'BTC_USDT-1m.csv');
  const market = new SyntheticMarket({
    seed: 7,
    timeframeMs: 60_000,
    startTs: Date.UTC(2024, 0, 1),
    startPrice: 42_000,
    annualVol: 0.6,
  });
  const lines = ['# SYNTHETIC candles for B1', 'timestamp,open,high,low,close,volume'];
  for (let i = 0; i < CANDLES; i++) lines.push(market.next().join(','));
  writeFileSync(csv, `${lines.join('\n')}\n`);
  // A random walk makes any strategy lose; capital preservation would reach lockdown (8% drawdown)
  // and halt the replay part-way. The benchmark times every candle, so only the lockdown is moved.
  const riskConfig = join(dir, 'risk.json');
  writeFileSync(riskConfig, JSON.stringify({ preservation: { drawdown: { lockdown: 1 } } }));
  const main = join(import.meta.dir, '..', 'cli', 'main.ts');
  const t0 = performance.now();
  const proc = Bun.spawn(
    [
      process.execPath,
      main,
      'run',
      '--mode',
      'backtest',
      '--replay-file',
      csv,
      '--symbols',
      'BTC/USDT',
      '--data-dir',
      join(dir, 'root'),
      '--risk-config',
      riskConfig,
      '--json',
    ],
    {
      stdout: 'pipe',
      stderr: 'inherit',
      env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
    },
  );
  const out = await new Response(proc.stdout).text();
  const code = await proc.exited;
  const wallMs = performance.now() - t0;
  if (code !== 0) throw new Error(`atl run exited ${code}`);
  const report = JSON.parse(out) as {
    decisions: number;
    engineMs: number;
    loadMs: number;
    peakRssMb: number;
  };
  const logBytes = statSync(join(dir, 'root', 'rl', 'shadow_decisions.jsonl')).size;
  const pipelineRate = Math.round(report.decisions / (report.engineMs / 1000));
  const endToEnd = Math.round(CANDLES / (wallMs / 1000));
  console.log(
    `B1 replay: ${CANDLES.toLocaleString()} candles, ${report.decisions.toLocaleString()} decisions logged (${(logBytes / 2 ** 20).toFixed(0)} MiB log)`,
  );
  console.log(
    `  pipeline     ${pipelineRate.toLocaleString()} candles/s (engine loop ${(report.engineMs / 1000).toFixed(2)} s)  target ≥ 250,000  ${pipelineRate >= 250_000 ? 'MET' : 'MISSED'}`,
  );
  console.log(
    `  end to end   ${endToEnd.toLocaleString()} candles/s (process ${(wallMs / 1000).toFixed(2)} s incl. start-up and CSV load ${(report.loadMs / 1000).toFixed(2)} s)`,
  );
  console.log(
    `  peak RSS     ${report.peakRssMb.toFixed(0)} MB  target ≤ 512  ${report.peakRssMb <= 512 ? 'MET' : 'MISSED'}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
