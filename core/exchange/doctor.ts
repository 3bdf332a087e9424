import { DEFAULT_SYMBOLS } from '../engine/start.ts';
import { buildEvidence, check, skippedCheck } from '../evidence/envelope.ts';
import type { Check, Evidence } from '../schema/evidence.ts';
import { type ExchangeClient, exchangeClient, parseBaseUrl } from './client.ts';
import { ExchangeFailure } from './errors.ts';
import { probeDns, probeSocket } from './net-probes.ts';
import { type Resolver, systemResolver } from './transport.ts';

export type DoctorRequest = {
  exchange: string;
  exchangeUrl: string | null;
  /** Symbols that must be listed; null means the engine's defaults. */
  symbols: string[] | null;
  timeframe: string;
  /** Bound on each probe (ms). */
  timeoutMs: number;
  resolver?: Resolver;
};

/** Host clock vs exchange clock: Binance rejects signed requests from a clock 1 s ahead. */
export const CLOCK_WARN_MS = 500;
export const CLOCK_FAIL_MS = 1_000;
const CLOCK_SAMPLES = 3;

const HINTS = {
  api: 'the exchange answered badly or not at all: check its status page; the engine records data_fetch holds meanwhile',
  skipped: 'fix the failing check above first',
};

/**
 * Data-source preflight (`atl doctor`): DNS for the exchange's REST hosts, TCP (and TLS) reach,
 * `loadMarkets` (count, the requested symbols present), a small `fetchOHLCV` and the server clock
 * offset. Each probe is bounded; a failed prerequisite makes the later ones `unknown`, not noise.
 */
export async function runDoctor(request: DoctorRequest): Promise<Evidence> {
  const startedAt = new Date();
  const req = { ...request, symbols: request.symbols ?? DEFAULT_SYMBOLS };
  const url = req.exchangeUrl ? parseBaseUrl(req.exchangeUrl) : null;
  const client = await exchangeClient({
    exchangeId: req.exchange,
    url: url?.href ?? null,
    sandbox: false,
    credentials: null,
    timeoutMs: req.timeoutMs,
    // A diagnosis reports the first answer; the engine's retries would hide what went wrong.
    maxAttempts: 1,
    breaker: { failureThreshold: Number.MAX_SAFE_INTEGER, cooldownMs: 1 },
    resolver: req.resolver,
  });
  const resolver = req.resolver ?? systemResolver;
  const checks: Check[] = [];
  let reachable = true;
  for (const host of client.hosts) {
    const port = portOf(client, host);
    const dns = await probeDns(resolver, host, req.timeoutMs);
    checks.push(dns.check);
    if (!dns.address) {
      reachable = false;
      continue;
    }
    const tcp = await probeSocket('tcp', host, dns.address, port, req.timeoutMs);
    checks.push(tcp);
    reachable &&= tcp.status === 'pass';
    if (!isHttps(client, host)) checks.push(skippedCheck(`tls:${host}`, 'plain HTTP base URL'));
    else if (tcp.status === 'pass') {
      const tls = await probeSocket('tls', host, dns.address, port, req.timeoutMs);
      checks.push(tls);
      reachable &&= tls.status === 'pass';
    }
  }
  if (!reachable) {
    for (const id of ['markets', 'symbols', 'ohlcv', 'clock'])
      checks.push(
        check({
          id,
          status: 'unknown',
          output: 'not attempted: the exchange is not reachable',
          hint: HINTS.skipped,
        }),
      );
  } else checks.push(...(await probeApi(client, req)));
  return buildEvidence({
    verb: 'doctor',
    startedAt,
    checks,
    details: {
      exchange: req.exchange,
      base_url: url?.href ?? null,
      hosts: client.hosts,
      symbols: req.symbols,
      timeframe: req.timeframe,
    },
  });
}

async function probeApi(
  client: ExchangeClient,
  req: DoctorRequest & { symbols: string[] },
): Promise<Check[]> {
  const out: Check[] = [];
  const deadline = () => Date.now() + req.timeoutMs;
  const failed = (id: string, err: unknown) =>
    check({
      id,
      status: 'fail',
      output: err instanceof ExchangeFailure ? err.reason : String(err),
      hint: HINTS.api,
    });
  let markets: Record<string, unknown>;
  try {
    markets = await client.loadMarkets(deadline());
    const count = Object.keys(markets).length;
    out.push(
      check({
        id: 'markets',
        status: count > 0 ? 'pass' : 'fail',
        output: `loadMarkets: ${count} markets`,
        observed: count,
        unit: 'markets',
        hint: count > 0 ? null : HINTS.api,
      }),
    );
  } catch (err) {
    return [
      failed('markets', err),
      ...['symbols', 'ohlcv', 'clock'].map((id) =>
        check({ id, status: 'unknown', output: 'not attempted: loadMarkets failed', hint: HINTS.skipped }),
      ),
    ];
  }
  const missing = req.symbols.filter((s) => !(s in markets));
  out.push(
    missing.length === 0
      ? check({
          id: 'symbols',
          status: 'pass',
          output: `${req.symbols.join(', ')} listed`,
          observed: req.symbols,
        })
      : check({
          id: 'symbols',
          status: 'fail',
          output: `not listed: ${missing.join(', ')}`,
          observed: missing,
          hint: 'fix --symbols (ccxt form BASE/QUOTE, e.g. BTC/USDT)',
        }),
  );
  const symbol = req.symbols.find((s) => s in markets);
  if (!symbol)
    out.push(
      check({
        id: 'ohlcv',
        status: 'unknown',
        output: 'not attempted: no listed symbol',
        hint: HINTS.skipped,
      }),
    );
  else {
    try {
      const candles = await client.fetchCandles(symbol, req.timeframe, null, 5, deadline());
      const tfMs = client.ccxt.parseTimeframe(req.timeframe) * 1000;
      const newestClose = candles.length > 0 ? candles.at(-1)!.openTs + tfMs : null;
      const ageS = newestClose === null ? null : Math.max(0, Math.round((Date.now() - newestClose) / 1000));
      // The newest row is the forming candle; older than two candles means the exchange is stale.
      const stale = ageS === null || ageS * 1000 > 2 * tfMs;
      out.push(
        check({
          id: 'ohlcv',
          status: candles.length === 0 ? 'fail' : stale ? 'warn' : 'pass',
          output:
            candles.length === 0
              ? `fetchOHLCV ${symbol} ${req.timeframe}: insufficient_data:0`
              : `fetchOHLCV ${symbol} ${req.timeframe}: ${candles.length} candles, newest closes ${ageS} s ago${stale ? ` (stale_data:${ageS})` : ''}`,
          observed: { rows: candles.length, age_s: ageS },
          thresholds: { max_age_s: (2 * tfMs) / 1000 },
          hint: candles.length === 0 || stale ? HINTS.api : null,
        }),
      );
    } catch (err) {
      out.push(failed('ohlcv', err));
    }
  }
  out.push(await probeClock(client, req.timeoutMs));
  return out;
}

/** Midpoint offset from the sample with the shortest round trip (its error is at most RTT/2). */
async function probeClock(client: ExchangeClient, timeoutMs: number): Promise<Check> {
  try {
    let best: Awaited<ReturnType<ExchangeClient['serverClock']>> | null = null;
    for (let i = 0; i < CLOCK_SAMPLES; i++) {
      const s = await client.serverClock(Date.now() + timeoutMs);
      if (!best || s.rttMs < best.rttMs) best = s;
    }
    const { offsetMs, rttMs } = best!;
    const abs = Math.abs(offsetMs);
    const status = abs > CLOCK_FAIL_MS ? 'fail' : abs > CLOCK_WARN_MS ? 'warn' : 'pass';
    const side = offsetMs > 0 ? 'behind' : 'ahead of';
    return check({
      id: 'clock',
      status,
      output: `host clock is ${abs} ms ${side} the exchange (±${Math.ceil(rttMs / 2)} ms, round trip ${rttMs} ms)`,
      observed: { offset_ms: offsetMs, rtt_ms: rttMs },
      unit: 'ms',
      thresholds: { warn_ms: CLOCK_WARN_MS, fail_ms: CLOCK_FAIL_MS },
      hint:
        status === 'pass'
          ? null
          : 'sync the host clock (`timedatectl set-ntp true`, `chronyc tracking`; Windows `w32tm /resync`)',
    });
  } catch (err) {
    return check({
      id: 'clock',
      status: 'fail',
      output: err instanceof ExchangeFailure ? err.reason : String(err),
      hint: HINTS.api,
    });
  }
}

function portOf(client: ExchangeClient, host: string): number {
  const u = baseFor(client, host);
  return u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
}

function isHttps(client: ExchangeClient, host: string): boolean {
  return baseFor(client, host).protocol === 'https:';
}

function baseFor(client: ExchangeClient, host: string): URL {
  const found = client.baseUrls.find((u) => u.hostname === host);
  if (!found) throw new Error(`no REST base URL for host ${host}`);
  return found;
}
