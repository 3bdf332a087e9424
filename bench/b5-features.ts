/**
 * B5: EMA12 + EMA26 + RSI14 + ATR14 streaming over 1,000,000 candles (target ≥ 20M candles/s),
 * plus the whole model feature set over the same candles for scale. Exits 1 below target.
 */
import { FEATURE_COUNT, FeatureEngine } from '../core/features/feature-set.ts';
import { Atr, Ema, Rsi } from '../core/features/indicators.ts';

const N = 1_000_000;
const TARGET_PER_S = 20_000_000;

function randomWalk(n: number, seed: number) {
  let s = seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
  const c = {
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  let price = 30_000;
  for (let i = 0; i < n; i++) {
    const open = price;
    price *= 1 + (rand() - 0.5) * 0.004;
    c.ts[i] = 1_700_000_000_000 + i * 60_000;
    c.open[i] = open;
    c.close[i] = price;
    c.high[i] = Math.max(open, price) * (1 + rand() * 0.001);
    c.low[i] = Math.min(open, price) * (1 - rand() * 0.001);
    c.volume[i] = 10 + rand() * 90;
  }
  return c;
}

const c = randomWalk(N, 7);

function indicatorsPass(): { ms: number; checksum: number } {
  const ema12 = new Ema(12);
  const ema26 = new Ema(26);
  const rsi = new Rsi(14);
  const atr = new Atr(14);
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    const close = c.close[i]!;
    ema12.update(close);
    ema26.update(close);
    rsi.update(close);
    atr.update(c.high[i]!, c.low[i]!, close);
  }
  return { ms: performance.now() - t0, checksum: ema12.value + ema26.value + rsi.value + atr.value };
}

function featureSetPass(): number {
  const engine = new FeatureEngine();
  const t0 = performance.now();
  for (let i = 0; i < N; i++)
    engine.update(c.ts[i]!, c.open[i]!, c.high[i]!, c.low[i]!, c.close[i]!, c.volume[i]!);
  return performance.now() - t0;
}

indicatorsPass(); // warm the JIT
const runs = [indicatorsPass(), indicatorsPass(), indicatorsPass()];
const best = Math.min(...runs.map((r) => r.ms));
const rate = N / (best / 1000);
featureSetPass();
const featuresMs = featureSetPass();
console.log(
  `B5 EMA12+EMA26+RSI14+ATR14 streaming: ${N.toLocaleString('en')} candles in ${best.toFixed(1)} ms = ${(rate / 1e6).toFixed(1)}M candles/s (target ≥ ${TARGET_PER_S / 1e6}M) — ${rate >= TARGET_PER_S ? 'PASS' : 'FAIL'}`,
);
console.log(
  `    full feature set (${FEATURE_COUNT} features): ${(N / (featuresMs / 1000) / 1e6).toFixed(2)}M candles/s (${((featuresMs * 1e6) / N).toFixed(0)} ns/candle)`,
);
console.log(`    checksum ${runs[0]!.checksum.toFixed(6)}`);
process.exitCode = rate >= TARGET_PER_S ? 0 : 1;
