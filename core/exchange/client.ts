import type { Exchange } from 'ccxt';
import { sleepUnlessAborted } from '../engine/feeds.ts';
import { configError, excerpt, usageError } from '../errors.ts';
import { log } from '../log.ts';
import { type BreakerOptions, ExchangeBreaker } from './breaker.ts';
import { classifyCallError, ExchangeFailure } from './errors.ts';
import { createTransport, observed, type Resolver, systemResolver } from './transport.ts';

export type ExchangeConfig = {
  exchangeId: string;
  /** Replaces the origin of every REST base URL (tests, proxies); null keeps ccxt's. */
  url: string | null;
  /** ccxt sandbox mode (the exchange's testnet URLs). */
  sandbox: boolean;
  credentials: { apiKey: string; secret: string } | null;
  /** Bound on one HTTP request: DNS, connect, headers and body together. */
  timeoutMs: number;
  breaker: BreakerOptions;
  /** Attempts per idempotent call (reads); orders are never retried blindly. */
  maxAttempts: number;
  resolver?: Resolver;
};

export const EXCHANGE_DEFAULTS = {
  timeoutMs: 10_000,
  maxAttempts: 3,
  breaker: { failureThreshold: 3, cooldownMs: 30_000 },
} as const;

/** A closed or open candle as the exchange returned it (epoch ms open time). */
export type Candle = {
  openTs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
};

const BACKOFF_BASE_MS = 250;
const BACKOFF_CAP_MS = 5_000;
// Binance's shortest IP ban; used when a 418 comes without Retry-After.
const BAN_WITHOUT_RETRY_AFTER_MS = 120_000;

/** Full-jitter exponential backoff: uniform in [0, min(cap, base·2^(attempt-1))]. */
export function backoffMs(attempt: number, random = Math.random): number {
  return Math.round(random() * Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1)));
}

/**
 * One ccxt client per exchange with the resilience around it: a bounded transport, retries with
 * jittered backoff for idempotent calls, a shared "not before" window after a 429/418 so no
 * caller hammers a rate-limited exchange, and the exchange's circuit breaker.
 */
export class ExchangeClient {
  readonly breaker: ExchangeBreaker;
  /** No request leaves before this (epoch ms): the transport enforces it at send time. */
  private notBefore = 0;

  private constructor(
    readonly cfg: ExchangeConfig,
    readonly ccxt: Exchange,
  ) {
    this.breaker = new ExchangeBreaker(cfg.breaker);
  }

  static async create(cfg: ExchangeConfig): Promise<ExchangeClient> {
    const ccxt = (await import('ccxt')).default;
    if (!(ccxt.exchanges as string[]).includes(cfg.exchangeId)) {
      throw configError(
        `unknown exchange "${cfg.exchangeId}"`,
        'use a ccxt exchange id such as binance, kraken, bybit, okx',
      );
    }
    const Ctor = (ccxt as unknown as Record<string, new (config: object) => Exchange>)[cfg.exchangeId]!;
    const ex = new Ctor({
      enableRateLimit: true,
      // ccxt's own timer only covers the headers; ours covers the body too and fires first.
      timeout: cfg.timeoutMs + 1_000,
      ...(cfg.credentials ?? {}),
      ...(cfg.exchangeId.startsWith('binance')
        ? {
            options: {
              fetchMarkets: { types: ['spot'] },
              fetchCurrencies: false,
              fetchMargins: false,
              defaultType: 'spot',
            },
          }
        : {}),
    });
    const client = new ExchangeClient(cfg, ex);
    ex.fetchImplementation = createTransport({
      resolver: cfg.resolver ?? systemResolver,
      timeoutMs: cfg.timeoutMs,
      notBefore: () => client.notBefore,
    });
    if (cfg.sandbox) {
      try {
        ex.setSandboxMode(true);
      } catch {
        throw configError(
          `${cfg.exchangeId} has no sandbox (testnet) in ccxt`,
          'choose an exchange with a testnet (binance, bybit, okx) or give its test server with --exchange-url',
        );
      }
    }
    if (cfg.url) ex.urls.api = rebase(ex.urls.api, parseBaseUrl(cfg.url)) as typeof ex.urls.api;
    return client;
  }

  /** The label records carry as their source: which exchange and, when overridden, where. */
  get label(): string {
    return `${this.cfg.exchangeId}${this.cfg.sandbox ? '-sandbox' : ''}${this.cfg.url ? `@${this.cfg.url}` : ''}`;
  }

  /** The hosts serving the REST API we call (public / private bases). */
  get hosts(): string[] {
    return [...new Set(this.baseUrls.map((u) => u.hostname))];
  }

  /** The REST base URLs we call (public / private), one per distinct origin. */
  get baseUrls(): URL[] {
    const api = this.ccxt.urls.api as unknown;
    const main =
      typeof api === 'object' && api !== null
        ? Object.entries(api)
            .filter(([k]) => /^(public|private|rest|spot)$/.test(k))
            .map(([, v]) => v)
        : [];
    const byOrigin = new Map<string, URL>();
    for (const u of leaves(main.length > 0 ? main : api)) {
      try {
        const url = new URL(u);
        if (!byOrigin.has(url.origin)) byOrigin.set(url.origin, url);
      } catch {
        // a template URL ({hostname}) that ccxt fills per request: not a host to check
      }
    }
    return [...byOrigin.values()];
  }

  /**
   * Run one exchange call. Idempotent calls are retried within `deadline` (epoch ms) with jittered
   * backoff, never sooner than the exchange's Retry-After; everything fails as an ExchangeFailure.
   */
  async call<T>(
    fn: (ex: Exchange) => Promise<T>,
    opts: { deadline: number; idempotent: boolean; abort?: AbortSignal },
  ): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const wait = this.notBefore - Date.now();
      if (wait > 0) {
        if (Date.now() + wait > opts.deadline)
          throw new ExchangeFailure('rate_limited', 'rate_limited', { retryable: false, retryAfterMs: wait });
        await sleepUnlessAborted(wait, opts.abort ?? neverAborted);
      }
      let failure: ExchangeFailure;
      try {
        return await this.breaker.run(async () => {
          const r = await observed(() => fn(this.ccxt));
          if ('value' in r) return r.value;
          throw classifyCallError(r.error, r.seen);
        });
      } catch (err) {
        failure = err instanceof ExchangeFailure ? err : classifyCallError(err, null);
      }
      if (failure.kind === 'rate_limited') {
        const window =
          failure.retryAfterMs ??
          (failure.opts.status === 418 ? BAN_WITHOUT_RETRY_AFTER_MS : backoffMs(attempt));
        this.notBefore = Math.max(this.notBefore, Date.now() + window);
        log.warn(
          `${this.cfg.exchangeId}: rate limited; no request before ${new Date(this.notBefore).toISOString()}`,
        );
      }
      const delay =
        failure.kind === 'rate_limited' ? Math.max(0, this.notBefore - Date.now()) : backoffMs(attempt);
      if (
        !failure.retryable ||
        !opts.idempotent ||
        attempt >= this.cfg.maxAttempts ||
        Date.now() + delay > opts.deadline ||
        opts.abort?.aborted
      )
        throw failure;
      await sleepUnlessAborted(delay, opts.abort ?? neverAborted);
    }
  }

  /** Candles for `symbol` (oldest first), validated: six finite numbers, sane ranges, rising times. */
  async fetchCandles(
    symbol: string,
    timeframe: string,
    sinceMs: number | null,
    limit: number,
    deadline: number,
    abort?: AbortSignal,
  ): Promise<Candle[]> {
    const rows = await this.call((ex) => ex.fetchOHLCV(symbol, timeframe, sinceMs ?? undefined, limit), {
      deadline,
      idempotent: true,
      abort,
    });
    const out: Candle[] = [];
    let prev = Number.NEGATIVE_INFINITY;
    for (const row of rows as unknown[]) {
      const r = row as number[];
      const ok =
        Array.isArray(r) &&
        r.length >= 6 &&
        r.slice(0, 6).every((v) => typeof v === 'number' && Number.isFinite(v)) &&
        r[0]! > prev &&
        r[1]! > 0 &&
        r[4]! > 0 &&
        r[2]! >= r[3]! &&
        r[5]! >= 0;
      if (!ok)
        throw new ExchangeFailure('bad_response', 'bad_response', {
          retryable: true,
          cause: new Error(`${symbol}: malformed candle ${JSON.stringify(row)}`),
        });
      prev = r[0]!;
      out.push({ openTs: r[0]!, open: r[1]!, high: r[2]!, low: r[3]!, close: r[4]!, volume: r[5]! });
    }
    return out;
  }

  /** Server clock offset by the midpoint method: server − (sent + received) / 2. */
  async serverClock(deadline: number): Promise<{ offsetMs: number; rttMs: number; serverTime: number }> {
    const t0 = Date.now();
    const serverTime = await this.call((ex) => ex.fetchTime(), { deadline, idempotent: true });
    const t1 = Date.now();
    if (typeof serverTime !== 'number' || !Number.isFinite(serverTime))
      throw new ExchangeFailure('bad_response', 'bad_response', { retryable: true });
    return { offsetMs: Math.round(serverTime - (t0 + t1) / 2), rttMs: t1 - t0, serverTime };
  }

  /** Markets (reloaded on demand: ccxt keeps a failed first load cached otherwise). */
  async loadMarkets(deadline: number): Promise<Record<string, unknown>> {
    return this.call((ex) => ex.loadMarkets(Object.keys(ex.markets ?? {}).length === 0), {
      deadline,
      idempotent: true,
    });
  }
}

const neverAborted = new AbortController().signal;

const clients = new Map<string, Promise<ExchangeClient>>();

/** The one client for an exchange (same id, URL, sandbox and keys → same connections and breaker). */
export function exchangeClient(cfg: ExchangeConfig): Promise<ExchangeClient> {
  const key = JSON.stringify([cfg.exchangeId, cfg.url, cfg.sandbox, cfg.credentials?.apiKey ?? null]);
  let client = clients.get(key);
  if (!client) {
    client = ExchangeClient.create(cfg);
    client.catch(() => clients.delete(key));
    clients.set(key, client);
  }
  return client;
}

/** `--exchange-url`: an absolute http(s) URL whose origin (and path prefix) replaces the exchange's. */
export function parseBaseUrl(value: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw usageError(
      `--exchange-url must be an absolute URL such as http://127.0.0.1:8899 (got "${excerpt(value)}")`,
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usageError(`--exchange-url must be http:// or https:// (got "${excerpt(value)}")`);
  return url;
}

function rebase(api: unknown, base: URL): unknown {
  if (typeof api === 'string') {
    try {
      const u = new URL(api);
      return `${base.origin}${base.pathname.replace(/\/$/, '')}${u.pathname}`;
    } catch {
      return api;
    }
  }
  if (typeof api === 'object' && api !== null)
    return Object.fromEntries(Object.entries(api).map(([k, v]) => [k, rebase(v, base)]));
  return api;
}

function leaves(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leaves);
  return [];
}
