/**
 * Live feed cost against the loopback exchange: ccxt client start-up, the warm-up backfill
 * (300 closed candles per symbol), and per-poll latency and requests with 1-second candles for
 * 3 and 20 symbols. The poll must finish well inside its interval; every poll asks each symbol
 * for its few new candles only (one request each, never a history re-scan).
 */
import { CcxtFeed } from '../core/exchange/ccxt-feed.ts';
import { ExchangeClient } from '../core/exchange/client.ts';
import { FakeBinance } from '../tests/support/fake-binance.ts';

const POLLS = Number(process.env.LIVE_FEED_POLLS ?? 10);
const BASES = [
  'BTC',
  'ETH',
  'SOL',
  'BNB',
  'XRP',
  'ADA',
  'DOGE',
  'AVAX',
  'DOT',
  'LINK',
  'LTC',
  'ATOM',
  'UNI',
  'ETC',
  'XLM',
  'FIL',
  'APT',
  'ARB',
  'OP',
  'NEAR',
];

const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))]!;

async function measure(symbolCount: number): Promise<void> {
  const symbols = BASES.slice(0, symbolCount).map((b) => `${b}/USDT`);
  const fake = new FakeBinance({ symbols: Object.fromEntries(symbols.map((s) => [s, {}])) });
  try {
    const t0 = performance.now();
    const client = await ExchangeClient.create({
      exchangeId: 'binance',
      url: fake.url,
      sandbox: false,
      credentials: null,
      timeoutMs: 2_000,
      maxAttempts: 3,
      breaker: { failureThreshold: 3, cooldownMs: 1_000 },
    });
    const created = performance.now() - t0;
    const feed = new CcxtFeed({
      client,
      symbols,
      timeframe: '1s',
      timeframeMs: 1_000,
      intervalMs: 1_000,
      warmupBars: 300,
      dataMode: 'PAPER_LIVE',
    });
    const w0 = performance.now();
    const warm = await feed.warmup();
    const warmMs = performance.now() - w0;
    const abort = new AbortController().signal;
    const latencies: number[] = [];
    const before = fake.requestsTo('/api/v3/klines').length;
    let bars = 0;
    for (let i = 0; i < POLLS; i++) {
      const ticks = (await feed.next(1, abort)) ?? [];
      // The poll ran at the slot; its latency is what the newest bar's age says it took to arrive.
      for (const t of ticks) {
        bars += t.bars.length;
        for (const b of t.bars) latencies.push((b.ageS ?? 0) * 1000);
      }
    }
    const requests = fake.requestsTo('/api/v3/klines').length - before;
    console.log(
      `  ${String(symbolCount).padStart(2)} symbols: client ${created.toFixed(0)} ms (first one loads ccxt), warm-up ${warm.length} candles in ${warmMs.toFixed(0)} ms; ` +
        `${bars} bars in ${POLLS} polls, delivery age p50 ${pct(latencies, 0.5).toFixed(0)} ms p95 ${pct(latencies, 0.95).toFixed(0)} ms, ` +
        `${(requests / POLLS).toFixed(1)} kline requests per poll`,
    );
  } finally {
    fake.stop();
  }
}

console.log(
  `live feed against the loopback exchange (1s candles, --interval 1, ${POLLS} polls; age includes the 50 ms settle delay)`,
);
await measure(3);
await measure(20);
console.log(`  peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MB`);
