import { setHalt } from '../control/halt.ts';
import type { EntryGuard } from '../engine/stages.ts';
import { configError, oneOf } from '../errors.ts';
import { log } from '../log.ts';
import { timeframeToMs } from '../market/candles.ts';
import type { DataPaths } from '../paths.ts';
import { DATA_MODE_BY_MODE, type ModeName } from '../schema/common.ts';
import { CcxtFeed } from './ccxt-feed.ts';
import { EXCHANGE_DEFAULTS, type ExchangeClient, exchangeClient, parseBaseUrl } from './client.ts';
import { ExchangeFailure } from './errors.ts';
import { ExchangeExecutor } from './executor.ts';
import { DailyOrderCount, LiveGuardrails, liveLimitsFromEnv } from './guardrails.ts';
import { ExchangeOrders } from './orders.ts';

export type ExchangeRunRequest = {
  mode: ModeName;
  symbols: string[];
  timeframe: string;
  intervalS: number | null;
  exchange: string;
  /** `--exchange-url`, else env ATL_EXCHANGE_URL, else ccxt's own URLs. */
  exchangeUrl: string | null;
  env: NodeJS.ProcessEnv;
};

/** Modes whose orders go to the exchange (sandbox for testnet); paper_live_data only reads from it. */
export const EXCHANGE_ORDER_MODES: readonly ModeName[] = ['testnet', 'live_limited', 'live_full'];

/** Enough closed candles to warm every indicator (the slowest needs ~200) with margin. */
export const LIVE_WARMUP_BARS = 300;

/**
 * Timeouts and the breaker's cooldown follow the poll interval, so an accelerated run (1s candles)
 * recovers as quickly in wall time as a 1-minute run does in minutes; both are capped at the
 * production values (10 s per request, 30 s open circuit).
 */
export function resilienceFor(intervalMs: number) {
  return {
    timeoutMs: Math.min(EXCHANGE_DEFAULTS.timeoutMs, Math.max(2_000, intervalMs / 2)),
    maxAttempts: EXCHANGE_DEFAULTS.maxAttempts,
    breaker: {
      failureThreshold: EXCHANGE_DEFAULTS.breaker.failureThreshold,
      cooldownMs: Math.min(EXCHANGE_DEFAULTS.breaker.cooldownMs, Math.max(1_000, intervalMs)),
    },
  };
}

/** API keys from env: `<EXCHANGE>_TESTNET_API_KEY/SECRET` for testnet, `<EXCHANGE>_API_KEY/SECRET` for live. */
export function credentialsFor(
  exchange: string,
  mode: ModeName,
  env: NodeJS.ProcessEnv,
): { apiKey: string; secret: string } | null {
  if (!EXCHANGE_ORDER_MODES.includes(mode)) return null;
  const prefix = `${exchange.toUpperCase()}${mode === 'testnet' ? '_TESTNET' : ''}`;
  const apiKey = env[`${prefix}_API_KEY`];
  const secret = env[`${prefix}_API_SECRET`];
  if (!apiKey || !secret) {
    throw configError(
      `mode ${mode} places orders and needs ${prefix}_API_KEY and ${prefix}_API_SECRET`,
      `export both (keys from the ${mode === 'testnet' ? "exchange's testnet" : "exchange's API management"} page), or run --mode paper_live_data`,
    );
  }
  return { apiKey, secret };
}

/** The shared client for a run or a doctor check. */
export async function clientFor(
  r: Pick<ExchangeRunRequest, 'exchange' | 'exchangeUrl' | 'mode' | 'env'>,
  intervalMs: number,
): Promise<ExchangeClient> {
  const url = r.exchangeUrl ?? r.env.ATL_EXCHANGE_URL ?? null;
  if (url) parseBaseUrl(url);
  return exchangeClient({
    exchangeId: r.exchange,
    url,
    sandbox: r.mode === 'testnet',
    credentials: credentialsFor(r.exchange, r.mode, r.env),
    ...resilienceFor(intervalMs),
  });
}

/** The live feed of paper_live_data, testnet and the live modes (default interval: one candle). */
export async function buildExchangeFeed(
  r: ExchangeRunRequest,
): Promise<{ feed: CcxtFeed; intervalS: number; client: ExchangeClient }> {
  const timeframeMs = timeframeToMs(r.timeframe);
  const intervalS = r.intervalS ?? timeframeMs / 1000;
  const client = await clientFor(r, intervalS * 1000);
  oneOf(
    r.timeframe,
    Object.keys(client.ccxt.timeframes ?? {}),
    `${r.exchange} has no ${r.timeframe} candles`,
    configError,
  );
  const feed = new CcxtFeed({
    client,
    symbols: r.symbols,
    timeframe: r.timeframe,
    timeframeMs,
    intervalMs: intervalS * 1000,
    warmupBars: LIVE_WARMUP_BARS,
    dataMode: DATA_MODE_BY_MODE[r.mode],
  });
  // A misspelt symbol is refused before the engine starts; an unreachable exchange is not an
  // error here (the engine starts and records data_fetch holds until it answers).
  await feed.checkListed(Date.now() + client.cfg.timeoutMs).catch((err: unknown) => {
    if (!(err instanceof ExchangeFailure)) throw err;
  });
  return { feed, intervalS, client };
}

/** What an order mode adds to a run: the executor for exchange orders and the guardrails around entries. */
export type ExchangeOrderParts = { executor: ExchangeExecutor; guard(entry: EntryGuard): EntryGuard };

/**
 * An exchange-mode run: the live feed, and for testnet / live modes the order path (sandbox URLs
 * for testnet) behind the guardrails from env. paper_live_data keeps the paper broker.
 */
export async function buildExchangeRun(
  r: ExchangeRunRequest & { paths: DataPaths; minNotional: number },
): Promise<{ feed: CcxtFeed; intervalS: number; orders?: ExchangeOrderParts }> {
  const limits = EXCHANGE_ORDER_MODES.includes(r.mode) ? liveLimitsFromEnv(r.env) : null;
  const { feed, intervalS, client } = await buildExchangeFeed(r);
  if (!limits) return { feed, intervalS };
  const counter = new DailyOrderCount();
  const halt = (reason: string) => setHalt(r.paths, { reason, source: 'exchange', by: 'atl-engine' });
  const executor = new ExchangeExecutor(
    r.exchange,
    new ExchangeOrders(client, client.cfg.timeoutMs),
    counter,
    halt,
  );
  log.info(
    `${r.mode}: orders go to ${client.label} behind guardrails: allowlist=${limits.symbolAllowlist.join(',')} max_position=${limits.maxPositionPct}% max_capital=${limits.maxCapitalPct}% max_leverage=${limits.maxLeverage} max_orders_per_day=${limits.maxOrdersPerDay}`,
  );
  return {
    feed,
    intervalS,
    orders: { executor, guard: (entry) => new LiveGuardrails(entry, limits, counter, r.minNotional) },
  };
}
