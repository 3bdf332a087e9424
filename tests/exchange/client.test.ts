import { afterEach, describe, expect, it } from 'bun:test';
import { backoffMs, ExchangeClient, type ExchangeConfig } from '../../core/exchange/client.ts';
import { ExchangeFailure, parseRetryAfter } from '../../core/exchange/errors.ts';
import { BINANCE_ERRORS, FakeBinance, type Fault } from '../support/fake-binance.ts';

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

function start(): FakeBinance {
  fake = new FakeBinance();
  return fake;
}

function client(url: string, over: Partial<ExchangeConfig> = {}): Promise<ExchangeClient> {
  return ExchangeClient.create({
    exchangeId: 'binance',
    url,
    sandbox: false,
    credentials: null,
    timeoutMs: 1_000,
    maxAttempts: 1,
    breaker: { failureThreshold: 100, cooldownMs: 1_000 },
    ...over,
  });
}

async function failureOf(p: Promise<unknown>): Promise<ExchangeFailure> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ExchangeFailure) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

const soon = () => Date.now() + 10_000;

describe('exchange client against the loopback exchange', () => {
  it('points every ccxt REST base at --exchange-url and reads markets, candles and the server clock from it', async () => {
    const ex = start();
    const c = await client(ex.url);
    expect(c.hosts).toEqual(['127.0.0.1']);
    expect(Object.keys(await c.loadMarkets(soon())).sort()).toEqual(['BTC/USDT', 'ETH/USDT', 'SOL/USDT']);
    const candles = await c.fetchCandles('ETH/USDT', '1m', null, 5, soon());
    expect(candles.length).toBe(5);
    expect(candles.every((k, i) => i === 0 || k.openTs - candles[i - 1]!.openTs === 60_000)).toBe(true);
    const clock = await c.serverClock(soon());
    expect(Math.abs(clock.offsetMs)).toBeLessThanOrEqual(clock.rttMs);
    expect(ex.requests.every((r) => r.path.startsWith('/api/v3/'))).toBe(true);
  });

  const faults: [string, Fault | 'down', string][] = [
    ['connection refused', 'down', 'connection_refused'],
    ['a response that never comes', { kind: 'hang' }, 'timeout'],
    ['a body dribbled at 20 bytes/s', { kind: 'slow-body', bytesPerSecond: 20 }, 'timeout'],
    ['malformed JSON', { kind: 'malformed' }, 'bad_response'],
    ['HTTP 503', BINANCE_ERRORS.internalError, 'exchange_unavailable'],
    [
      'HTTP 500 with an HTML page',
      { kind: 'status', status: 500, body: '<html>bad gateway</html>' },
      'exchange_unavailable',
    ],
    ['HTTP 418 (IP banned)', { kind: 'status', status: 418, retryAfterS: 0 }, 'rate_limited'],
  ];
  for (const [what, fault, reason] of faults) {
    it(`classifies ${what} as ${reason}`, async () => {
      const ex = start();
      const c = await client(ex.url);
      await c.loadMarkets(soon());
      if (fault === 'down') ex.down();
      else ex.inject('/api/v3/klines', fault);
      const started = Date.now();
      const f = await failureOf(c.fetchCandles('BTC/USDT', '1m', null, 5, soon()));
      expect(f.reason).toBe(reason);
      expect(Date.now() - started).toBeLessThan(2_500); // bounded by the 1 s request timeout
    });
  }

  it('names the host in dns_failure and sends nothing for a name under .invalid', async () => {
    const c = await client('http://exchange.invalid:9');
    const f = await failureOf(c.loadMarkets(soon()));
    expect(f.reason).toBe('dns_failure:exchange.invalid');
  });

  it('rejects a symbol the exchange does not list without retrying', async () => {
    const ex = start();
    const c = await client(ex.url, { maxAttempts: 3 });
    const f = await failureOf(c.fetchCandles('NOPE/USDT', '1m', null, 5, soon()));
    expect(f.kind).toBe('rejected');
    expect(ex.requestsTo('/api/v3/klines').length).toBe(0);
  });

  it('waits out a 429 with Retry-After: 2 instead of hammering, and never earns a 418 ban', async () => {
    const ex = start();
    const c = await client(ex.url, { maxAttempts: 3 });
    await c.loadMarkets(soon());
    ex.inject('/api/v3/klines', { kind: 'status', status: 429, retryAfterS: 2 });
    const candles = await c.fetchCandles('BTC/USDT', '1m', null, 3, soon());
    expect(candles.length).toBe(3);
    const hits = ex.requestsTo('/api/v3/klines');
    expect(hits.map((r) => r.status)).toEqual([429, 200]);
    expect(hits[1]!.at - hits[0]!.at).toBeGreaterThanOrEqual(2_000);
    expect(ex.requests.some((r) => r.status === 418)).toBe(false);
  });

  it('keeps every caller out during the Retry-After window, and fails fast when the window outlasts the deadline', async () => {
    const ex = start();
    const c = await client(ex.url, { maxAttempts: 3 });
    await c.loadMarkets(soon());
    ex.inject('/api/v3/klines', { kind: 'status', status: 429, retryAfterS: 30 });
    const f = await failureOf(c.fetchCandles('BTC/USDT', '1m', null, 3, Date.now() + 3_000));
    expect(f.reason).toBe('rate_limited');
    const other = await failureOf(c.fetchCandles('ETH/USDT', '1m', null, 3, Date.now() + 3_000));
    expect(other.reason).toBe('rate_limited');
    expect(ex.requestsTo('/api/v3/klines').length).toBe(1);
  });

  it('holds a request already queued in ccxt when a 429 arrives: the window is checked when it is sent', async () => {
    const ex = start();
    const c = await client(ex.url, { maxAttempts: 3 });
    await c.loadMarkets(soon());
    await Bun.sleep(100); // a full throttle bucket: the first klines call goes out at once
    ex.inject('/api/v3/klines', { kind: 'status', status: 429, retryAfterS: 2 });
    // ETH enters call() while the window is still open and waits in ccxt's throttler (~50 ms);
    // BTC's 429 lands in the meantime.
    const [btc, eth] = await Promise.all([
      c.fetchCandles('BTC/USDT', '1m', null, 3, soon()),
      c.fetchCandles('ETH/USDT', '1m', null, 3, soon()),
    ]);
    expect(btc.length).toBe(3);
    expect(eth.length).toBe(3);
    const hits = ex.requestsTo('/api/v3/klines');
    expect(hits[0]!.status).toBe(429);
    const early = hits.slice(1).filter((r) => r.at - hits[0]!.at < 2_000);
    expect(early.map((r) => `${r.query} +${r.at - hits[0]!.at} ms`)).toEqual([]);
    expect(hits.slice(1).map((r) => r.status)).toEqual([200, 200]);
  });

  it('retries a transient 503 with backoff and returns the data', async () => {
    const ex = start();
    const c = await client(ex.url, { maxAttempts: 3 });
    await c.loadMarkets(soon());
    ex.inject('/api/v3/klines', BINANCE_ERRORS.internalError, 2);
    expect((await c.fetchCandles('BTC/USDT', '1m', null, 3, soon())).length).toBe(3);
    expect(ex.requestsTo('/api/v3/klines').map((r) => r.status)).toEqual([503, 503, 200]);
  });

  it('opens the circuit after 3 consecutive failures, rejects without a request while open, then half-opens and closes', async () => {
    const ex = start();
    const c = await client(ex.url, { breaker: { failureThreshold: 3, cooldownMs: 500 } });
    await c.loadMarkets(soon());
    ex.inject('/api/v3/klines', BINANCE_ERRORS.internalError, 3);
    for (let i = 0; i < 3; i++) await failureOf(c.fetchCandles('BTC/USDT', '1m', null, 3, soon()));
    expect(c.breaker.state).toBe('open');
    const rejected = await failureOf(c.fetchCandles('BTC/USDT', '1m', null, 3, soon()));
    expect(rejected.opts.circuitOpen).toBe(true);
    expect(rejected.reason).toBe('exchange_unavailable');
    expect(ex.requestsTo('/api/v3/klines').length).toBe(3);
    await Bun.sleep(600);
    expect((await c.fetchCandles('BTC/USDT', '1m', null, 3, soon())).length).toBe(3);
    expect(c.breaker.state).toBe('closed');
    expect(ex.requestsTo('/api/v3/klines').length).toBe(4);
  });

  it('keeps the connection alive: twenty sequential calls arrive over one TCP connection', async () => {
    const ex = start();
    const c = await client(ex.url);
    await c.loadMarkets(soon());
    for (let i = 0; i < 20; i++) await c.fetchCandles('SOL/USDT', '1m', null, 2, soon());
    const hits = ex.requestsTo('/api/v3/klines');
    expect(hits.length).toBe(20);
    expect(new Set(hits.map((r) => r.clientPort)).size).toBe(1);
  });
});

describe('retry timing', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('2')).toBe(2_000);
    expect(
      parseRetryAfter(new Date(Date.UTC(2030, 0, 1, 0, 0, 10)).toUTCString(), Date.UTC(2030, 0, 1)),
    ).toBe(10_000);
    expect(parseRetryAfter(null)).toBeNull();
    expect(parseRetryAfter('soon')).toBeNull();
  });

  it('backs off with full jitter under a growing cap', () => {
    expect(backoffMs(1, () => 1)).toBe(250);
    expect(backoffMs(3, () => 1)).toBe(1_000);
    expect(backoffMs(10, () => 1)).toBe(5_000);
    expect(backoffMs(4, () => 0)).toBe(0);
  });
});
