import { afterEach, describe, expect, it } from 'bun:test';
import type { FeedTick } from '../../core/engine/feeds.ts';
import { OperatorError } from '../../core/errors.ts';
import { CcxtFeed } from '../../core/exchange/ccxt-feed.ts';
import { ExchangeClient } from '../../core/exchange/client.ts';
import { FakeBinance } from '../support/fake-binance.ts';

// Accelerated but real timing: 1-second candles polled every second (Binance serves 1s klines).
const TF = 1_000;
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

async function feedFor(ex: FakeBinance, symbols = SYMBOLS): Promise<CcxtFeed> {
  const client = await ExchangeClient.create({
    exchangeId: 'binance',
    url: ex.url,
    sandbox: false,
    credentials: null,
    timeoutMs: 800,
    maxAttempts: 2,
    breaker: { failureThreshold: 3, cooldownMs: 1_000 },
  });
  return new CcxtFeed({
    client,
    symbols,
    timeframe: '1s',
    timeframeMs: TF,
    intervalMs: TF,
    warmupBars: 60,
    dataMode: 'PAPER_LIVE',
  });
}

async function take(feed: CcxtFeed, n: number): Promise<FeedTick[]> {
  const out: FeedTick[] = [];
  const abort = new AbortController().signal;
  while (out.length < n) out.push(...((await feed.next(1, abort)) ?? []));
  return out;
}

/** Every close time a symbol got an outcome for (a bar or a failure), in order. */
function outcomes(ticks: FeedTick[], symbol: string): number[] {
  return ticks.flatMap((t) =>
    [...t.bars.filter((b) => b.symbol === symbol), ...t.failures.filter((f) => f.symbol === symbol)].map(
      () => t.closeTs,
    ),
  );
}

const contiguous = (closes: number[]) => closes.every((c, i) => i === 0 || c - closes[i - 1]! === TF);

describe('CcxtFeed: closed candles from the loopback exchange', () => {
  it('primes indicators with closed history, then delivers each new closed candle exactly once per symbol, never the forming one', async () => {
    fake = new FakeBinance();
    const feed = await feedFor(fake);
    const warm = await feed.warmup();
    const lastWarm = Math.max(...warm.map((b) => b.closeTs));
    expect(warm.filter((b) => b.symbol === 'BTC/USDT').length).toBe(60);
    expect(warm.every((b) => b.closeTs <= Date.now())).toBe(true);
    const ticks = await take(feed, 4);
    expect(ticks.every((t) => t.failures.length === 0 && t.bars.length === SYMBOLS.length)).toBe(true);
    for (const s of SYMBOLS) {
      const closes = outcomes(ticks, s);
      expect(closes[0]).toBe(lastWarm + TF);
      expect(contiguous(closes)).toBe(true);
    }
    for (const t of ticks) {
      for (const b of t.bars) {
        expect(b.closeTs - b.openTs).toBe(TF);
        expect(b.ageS!).toBeLessThan(2); // a poll may catch two closes when warm-up straddles a second
      }
    }
    expect(feed.circuitBreakers()).toEqual({ binance: 'closed' });
  }, 20_000);

  it('decides only on closed candles even when a slow uplink makes its estimate of the exchange clock run ahead', async () => {
    fake = new FakeBinance();
    // The clock probe reaches the exchange 400 ms late: the midpoint method puts the exchange
    // ~200 ms ahead, so polls "50 ms after a close" arrive ~150 ms before it.
    fake.inject('/api/v3/time', { kind: 'delay', ms: 400 });
    const feed = await feedFor(fake, ['BTC/USDT']);
    await feed.warmup();
    const ticks = await take(feed, 4);
    const bars = ticks.flatMap((t) => t.bars);
    expect(bars.length).toBeGreaterThanOrEqual(3);
    for (const b of bars) expect(b.close).toBeCloseTo(fake.priceAt('BTCUSDT', b.closeTs), 6);
  }, 20_000);

  it('turns an outage into one failure per symbol per missed close, then backfills the gap as history and resumes', async () => {
    fake = new FakeBinance();
    const feed = await feedFor(fake);
    await feed.warmup();
    await take(feed, 1);
    fake.down();
    const ticks = await take(feed, 3);
    fake.up();
    while (ticks.at(-1)!.bars.length === 0) ticks.push(...(await take(feed, 1)));
    const failed = ticks.slice(0, -1);
    const recovered = ticks.at(-1)!;
    expect(failed.length).toBeGreaterThanOrEqual(3);
    for (const t of failed) {
      expect(t.bars).toEqual([]);
      expect(t.history).toBeUndefined();
      expect(t.failures.map((f) => f.reason)).toEqual(['connection_refused', 'connection_refused']);
    }
    expect(recovered.failures).toEqual([]);
    for (const s of SYMBOLS) {
      expect(recovered.history!.filter((b) => b.symbol === s).map((b) => b.closeTs)).toEqual(
        failed.map((t) => t.closeTs),
      );
      expect(recovered.bars.filter((b) => b.symbol === s).length).toBe(1);
      expect(contiguous(outcomes(ticks, s))).toBe(true);
    }
  }, 20_000);

  it('reports stale_data with the age of the newest candle when the exchange stops publishing', async () => {
    fake = new FakeBinance();
    const feed = await feedFor(fake);
    await feed.warmup();
    fake.freezeCandles(Date.now());
    const ticks = await take(feed, 3);
    const reasons = ticks.flatMap((t) =>
      t.failures.filter((f) => f.symbol === 'BTC/USDT').map((f) => f.reason),
    );
    expect(reasons.length).toBe(3);
    const ages = reasons.map((r) => Number(/^stale_data:(\d+)$/.exec(r)?.[1]));
    expect(ages.every((a, i) => Number.isFinite(a) && (i === 0 || a >= ages[i - 1]!))).toBe(true);
    expect(ages.at(-1)!).toBeGreaterThanOrEqual(2);
  }, 20_000);

  it('refuses a symbol the exchange does not list as a usage error (64)', async () => {
    fake = new FakeBinance();
    const feed = await feedFor(fake, ['BTC/USDT', 'DOGE/EUR']);
    const err = await feed.checkListed(Date.now() + 5_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).exitCode).toBe(64);
    expect((err as Error).message).toContain('DOGE/EUR is not listed on binance');
  });
});
