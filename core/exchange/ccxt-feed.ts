import type { BreakerStateName } from '../breaker-state.ts';
import type { Bar, Feed, FeedFailure, FeedSource, FeedTick } from '../engine/feeds.ts';
import { sleepUnlessAborted } from '../engine/feeds.ts';
import { usageError } from '../errors.ts';
import { log } from '../log.ts';
import type { DataModeName } from '../schema/common.ts';
import type { Candle, ExchangeClient } from './client.ts';
import { ExchangeFailure } from './errors.ts';

export type CcxtFeedOptions = {
  client: ExchangeClient;
  symbols: string[];
  timeframe: string;
  timeframeMs: number;
  /** How often the exchange is polled (`--interval`); decisions still happen once per closed candle. */
  intervalMs: number;
  /** Closed candles fetched at start (and after an outage) to prime the indicators. */
  warmupBars: number;
  dataMode: DataModeName;
};

// Binance serves at most this many candles per request; a longer outage leaves an older gap.
const MAX_CANDLES_PER_REQUEST = 1000;
const CLOCK_RESYNC_MS = 600_000;

type Cursor = {
  /** Close time of the newest candle that has a decision record (a real decision or a data_fetch hold). */
  decidedThrough: number;
  /** Close time of the newest candle fed to the indicators; null before any history arrived. */
  observedThrough: number | null;
};

type SymbolPoll = { bars: Bar[]; history: Bar[]; failures: (FeedFailure & { closeTs: number })[] };

/**
 * Live closed candles through ccxt. Every candle close after the start gets exactly one outcome
 * per symbol: a bar to decide on, or a failure (DNS, refused, timeout, rate limit, stale…) that
 * becomes a `data_fetch` hold. Candles missed during an outage are fetched when data returns and
 * fed to the indicators as history (their decision was the hold), so features have no gap.
 */
export class CcxtFeed implements Feed {
  readonly source: FeedSource;
  readonly dataMode: DataModeName;
  readonly symbols: string[];
  readonly timeframe: string;
  readonly timeframeMs: number;
  readonly unpaced = false;
  private readonly client: ExchangeClient;
  private readonly cursors = new Map<string, Cursor>();
  private readonly queue: FeedTick[] = [];
  /** Server clock − local clock (ms), from the midpoint method. */
  private offsetMs = 0;
  private clockSyncedAt = 0;
  private marketsChecked = false;
  private nextPollAt = 0;
  private readonly settleMs: number;
  /** How long after a close (by our clock) a candle counts as closed without its successor. */
  private readonly closeGraceMs: number;
  private readonly staleAfterMs: number;

  constructor(private readonly opts: CcxtFeedOptions) {
    this.client = opts.client;
    this.symbols = opts.symbols;
    this.timeframe = opts.timeframe;
    this.timeframeMs = opts.timeframeMs;
    this.dataMode = opts.dataMode;
    this.source = { kind: 'ccxt', ref: opts.client.label, synthetic: false };
    // Exchanges publish a closed candle within moments; polling a little after the close avoids
    // asking for it before it exists.
    this.settleMs = Math.min(2_000, Math.max(50, opts.timeframeMs * 0.05));
    this.closeGraceMs = Math.max(4 * this.settleMs, Math.min(1_000, opts.timeframeMs / 2));
    // A candle older than one poll interval plus two candles was not delivered live.
    this.staleAfterMs = opts.intervalMs + 2 * opts.timeframeMs;
  }

  sourceOf(): FeedSource {
    return this.source;
  }

  circuitBreakers(): Record<string, BreakerStateName> {
    return { [this.client.cfg.exchangeId]: this.client.breaker.state };
  }

  private serverNow(): number {
    return Date.now() + this.offsetMs;
  }

  private get pollBudgetMs(): number {
    return Math.min(60_000, Math.max(1_000, this.opts.intervalMs * 0.8));
  }

  async warmup(): Promise<Bar[]> {
    const deadline = Date.now() + Math.max(this.pollBudgetMs, this.client.cfg.timeoutMs * 2);
    const startClose = Math.floor(Date.now() / this.timeframeMs) * this.timeframeMs;
    for (const s of this.symbols) this.cursors.set(s, { decidedThrough: startClose, observedThrough: null });
    const bars: Bar[] = [];
    try {
      // Listing problems surface at the first poll (inside the engine's loop), not here.
      await this.prepare(deadline, false);
      const now = this.serverNow();
      const latestClose = Math.floor(now / this.timeframeMs) * this.timeframeMs;
      for (const s of this.symbols) this.cursors.get(s)!.decidedThrough = latestClose;
      const polled = await Promise.all(
        this.symbols.map((s) => this.pollSymbol(s, latestClose, now, deadline)),
      );
      for (const p of polled) bars.push(...p.history, ...p.bars);
      bars.sort((a, b) => a.closeTs - b.closeTs);
    } catch (err) {
      if (!(err instanceof ExchangeFailure)) throw err;
      log.warn(
        `${this.client.label}: no history at start (${err.reason}); the engine records data_fetch holds until data returns`,
      );
      // Candles that closed while we were still starting are history, not missed decisions.
      const startedClose = Math.floor(this.serverNow() / this.timeframeMs) * this.timeframeMs;
      for (const cur of this.cursors.values()) cur.decidedThrough = startedClose;
    }
    this.nextPollAt = this.nextPollSlot();
    return bars;
  }

  async next(_max: number, abort: AbortSignal): Promise<FeedTick[] | null> {
    while (this.queue.length === 0) {
      await sleepUnlessAborted(this.nextPollAt - Date.now(), abort);
      if (abort.aborted) return [];
      await this.poll(abort);
      this.nextPollAt = this.nextPollSlot();
      // A stop request during the poll: its outcomes stay unreported rather than half-decided.
      if (abort.aborted) return [];
    }
    return [this.queue.shift()!];
  }

  close(): void {}

  /** The next poll instant (local clock): the next multiple of the interval in server time, plus settle. */
  private nextPollSlot(): number {
    const serverSlot =
      (Math.floor(this.serverNow() / this.opts.intervalMs) + 1) * this.opts.intervalMs + this.settleMs;
    return serverSlot - this.offsetMs;
  }

  /** A symbol the exchange does not list is a usage error (a bad --symbols, as in a backtest); an unreachable exchange is not (yet) one. */
  async checkListed(deadline: number): Promise<void> {
    if (this.marketsChecked) return;
    const markets = await this.client.loadMarkets(deadline);
    const missing = this.symbols.filter((s) => !(s in markets));
    if (missing.length > 0) {
      throw usageError(
        `${missing.join(', ')} ${missing.length > 1 ? 'are' : 'is'} not listed on ${this.client.cfg.exchangeId}`,
        'check --symbols (ccxt form BASE/QUOTE, e.g. BTC/USDT)',
      );
    }
    this.marketsChecked = true;
  }

  /** Clock offset (resynced every 10 minutes) and, unless told otherwise, the listing check. */
  private async prepare(deadline: number, checkListing = true): Promise<void> {
    if (Date.now() - this.clockSyncedAt > CLOCK_RESYNC_MS) {
      const clock = await this.client.serverClock(deadline);
      this.offsetMs = clock.offsetMs;
      this.clockSyncedAt = Date.now();
      if (Math.abs(clock.offsetMs) > 1_000)
        log.warn(
          `${this.client.label}: host clock is ${clock.offsetMs} ms behind the exchange; using the exchange's clock for candle closes`,
        );
    }
    if (checkListing) await this.checkListed(deadline);
    else await this.client.loadMarkets(deadline);
  }

  private async poll(abort: AbortSignal): Promise<void> {
    const deadline = Date.now() + this.pollBudgetMs;
    let now = this.serverNow();
    let latestClose = Math.floor(now / this.timeframeMs) * this.timeframeMs;
    let polled: SymbolPoll[];
    try {
      await this.prepare(deadline);
      now = this.serverNow();
      latestClose = Math.floor(now / this.timeframeMs) * this.timeframeMs;
      polled = await Promise.all(
        this.symbols.map((s) => this.pollSymbol(s, latestClose, now, deadline, abort)),
      );
    } catch (err) {
      if (!(err instanceof ExchangeFailure)) throw err;
      polled = this.symbols.map((s) => ({
        bars: [],
        history: [],
        failures: this.failUntil(s, latestClose, failureOf(err)),
      }));
    }
    this.enqueue(polled);
  }

  /** One symbol's poll: closed candles since the last one seen, split into history, new bars and failures. */
  private async pollSymbol(
    symbol: string,
    latestClose: number,
    now: number,
    deadline: number,
    abort?: AbortSignal,
  ): Promise<SymbolPoll> {
    const cur = this.cursors.get(symbol)!;
    const tf = this.timeframeMs;
    const out: SymbolPoll = { bars: [], history: [], failures: [] };
    if (latestClose <= cur.decidedThrough && cur.observedThrough !== null) return out;
    const oldest = latestClose - MAX_CANDLES_PER_REQUEST * tf;
    const firstOpen = cur.observedThrough ?? latestClose - this.opts.warmupBars * tf;
    if (cur.observedThrough !== null && firstOpen < oldest)
      log.warn(
        `${symbol}: ${Math.round((oldest - firstOpen) / tf)} candles missed during the outage are beyond one request; indicators skip them`,
      );
    const since = Math.max(firstOpen, oldest);
    const fetch = () =>
      this.client.fetchCandles(
        symbol,
        this.timeframe,
        since,
        Math.min(MAX_CANDLES_PER_REQUEST, (latestClose - since) / tf + 1),
        deadline,
        abort,
      );
    let candles: Candle[];
    try {
      candles = await fetch();
      // Our estimate of the exchange clock can run ahead (a slow uplink skews the midpoint), so
      // the candle we came for may still be forming: ask again until the exchange has started
      // the next one, or the close is `closeGraceMs` behind us.
      while (
        !this.closeConfirmed(candles, latestClose, now) &&
        Date.now() + this.settleMs < deadline &&
        !abort?.aborted
      ) {
        await Bun.sleep(this.settleMs);
        now = this.serverNow();
        candles = await fetch();
      }
    } catch (err) {
      if (!(err instanceof ExchangeFailure)) throw err;
      out.failures = this.failUntil(symbol, latestClose, failureOf(err));
      return out;
    }
    // The newest row is usually the candle still forming: never decided on, never observed.
    const closed = candles.filter(
      (c) =>
        this.isClosed(c.openTs, candles, now) &&
        c.openTs + tf > (cur.observedThrough ?? Number.NEGATIVE_INFINITY),
    );
    for (const c of closed) {
      const closeTs = c.openTs + tf;
      const bar: Bar = {
        symbol,
        openTs: c.openTs,
        closeTs,
        open: c.open,
        high: c.high,
        low: c.low,
        close: c.close,
        volume: c.volume,
        ageS: Math.round(now - closeTs) / 1000,
      };
      if (closeTs <= cur.decidedThrough) out.history.push(bar);
      else if (closeTs > latestClose) continue;
      else if (now - closeTs > this.staleAfterMs) {
        out.history.push(bar);
        out.failures.push({ symbol, closeTs, reason: `stale_data:${Math.round((now - closeTs) / 1000)}` });
      } else out.bars.push(bar);
      cur.observedThrough = closeTs;
    }
    const newest = cur.observedThrough;
    if (newest === null) {
      out.failures.push(
        ...this.failUntil(symbol, latestClose, { reason: 'insufficient_data:0', observed: { rows: 0 } }),
      );
      return out;
    }
    // Expected closes the exchange has not published: it has stopped producing candles.
    const lagS = Math.round((now - newest) / 1000);
    for (let t = Math.max(cur.decidedThrough, newest) + tf; t <= latestClose; t += tf) {
      out.failures.push({
        symbol,
        closeTs: t,
        reason: `stale_data:${lagS}`,
        observed: { last_candle_close: new Date(newest).toISOString() },
      });
    }
    cur.decidedThrough = Math.max(cur.decidedThrough, latestClose);
    return out;
  }

  /**
   * A served candle is closed once its close is behind our clock and either the exchange has
   * started the next one or the close is `closeGraceMs` behind (our clock can run ahead).
   */
  private isClosed(open: number, candles: Candle[], now: number): boolean {
    const close = open + this.timeframeMs;
    return close <= now && (open < candles.at(-1)!.openTs || close <= now - this.closeGraceMs);
  }

  /** The candle closing at `close` is closed, or was not served at all (the stale check speaks then). */
  private closeConfirmed(candles: Candle[], close: number, now: number): boolean {
    const open = close - this.timeframeMs;
    return !candles.some((c) => c.openTs === open) || this.isClosed(open, candles, now);
  }

  /** One failure per expected close not yet decided, up to `latestClose`; those closes are then decided. */
  private failUntil(
    symbol: string,
    latestClose: number,
    f: Omit<FeedFailure, 'symbol'>,
  ): SymbolPoll['failures'] {
    const cur = this.cursors.get(symbol)!;
    const out: SymbolPoll['failures'] = [];
    for (let t = cur.decidedThrough + this.timeframeMs; t <= latestClose; t += this.timeframeMs)
      out.push({ ...f, symbol, closeTs: t });
    cur.decidedThrough = Math.max(cur.decidedThrough, latestClose);
    return out;
  }

  /** Group one poll's outcomes into ticks by close time; history rides on the first tick. */
  private enqueue(polled: SymbolPoll[]): void {
    const byClose = new Map<number, FeedTick>();
    const tickAt = (closeTs: number) => {
      const existing = byClose.get(closeTs);
      if (existing) return existing;
      const created: FeedTick = { closeTs, bars: [], failures: [] };
      byClose.set(closeTs, created);
      return created;
    };
    const history: Bar[] = [];
    for (const p of polled) {
      history.push(...p.history);
      for (const b of p.bars) tickAt(b.closeTs).bars.push(b);
      for (const { closeTs, ...f } of p.failures) tickAt(closeTs).failures.push(f);
    }
    const ticks = [...byClose.values()].sort((a, b) => a.closeTs - b.closeTs);
    if (ticks.length === 0) return;
    if (history.length > 0) ticks[0]!.history = history.sort((a, b) => a.closeTs - b.closeTs);
    this.queue.push(...ticks);
  }
}

function failureOf(err: ExchangeFailure): Omit<FeedFailure, 'symbol'> {
  return { reason: err.reason, observed: err.opts.circuitOpen ? { circuit: 'open' } : null };
}
