import { basename } from 'node:path';
import type { CandleSeries } from '../market/candles.ts';
import { profileFor, SyntheticMarket, seedFromString } from '../market/synthetic.ts';
import type { DataModeName } from '../schema/common.ts';

/** One closed candle of one symbol. */
export type Bar = {
  symbol: string;
  openTs: number;
  closeTs: number;
  open: number;
  high: number;
  low: number;
  close: number;
  volume: number;
  /** Seconds between the candle's close and when the feed delivered it; null when not meaningful (replay). */
  ageS: number | null;
};
/** A symbol whose candle closing at the tick's time could not be delivered; the reason goes in its record. */
export type FeedFailure = {
  symbol: string;
  reason: string;
  observed?: Record<string, number | string | boolean | null> | null;
};
/**
 * Everything that closed at one instant: the unit of a tick. `history` holds older candles that
 * arrived late (after an outage): their decision was already recorded, so they only feed indicators.
 */
export type FeedTick = { closeTs: number; bars: Bar[]; failures: FeedFailure[]; history?: Bar[] };

export type FeedSource = { kind: string; ref: string | null; synthetic: boolean };

/** Where closed candles come from. Downstream of a feed, every mode runs the same code. */
export interface Feed {
  readonly source: FeedSource;
  /** Where one symbol's candles come from (the label every record of that symbol carries). */
  sourceOf(symbol: string): FeedSource;
  readonly dataMode: DataModeName;
  readonly symbols: string[];
  readonly timeframe: string;
  readonly timeframeMs: number;
  /** Whether ticks come as fast as they can be processed (replay) rather than paced by the clock. */
  readonly unpaced: boolean;
  /** History to prime indicators with, oldest first, per symbol; not decided on. */
  warmup(): Promise<Bar[]>;
  /** Up to `max` ticks, waiting for the next close when paced; null at the end of the data. */
  next(max: number, abort: AbortSignal): Promise<FeedTick[] | null>;
  close(): void;
  /** Circuit-breaker state per upstream (exchange id → closed|open|half_open), for the heartbeat. */
  circuitBreakers?(): Record<string, string>;
}

/** Replays candle files, merged by close time across symbols, optionally paced by `speed`. */
export class ReplayFeed implements Feed {
  readonly source: FeedSource;
  readonly dataMode: DataModeName = 'REPLAY';
  readonly symbols: string[];
  readonly timeframe: string;
  readonly timeframeMs: number;
  readonly unpaced: boolean;
  private readonly cursor: number[];

  constructor(
    private readonly series: CandleSeries[],
    private readonly speed: number | null,
  ) {
    this.symbols = series.map((s) => s.symbol);
    this.timeframe = series[0]!.timeframe;
    this.timeframeMs = series[0]!.timeframeMs;
    this.cursor = series.map(() => 0);
    this.unpaced = !speed;
    const refs = series.map((s) => basename(s.source.ref));
    this.source = { kind: 'replay', ref: refs.join(','), synthetic: series.some((s) => s.source.synthetic) };
    this.sources = new Map(
      series.map((s) => [
        s.symbol,
        { kind: 'replay', ref: basename(s.source.ref), synthetic: s.source.synthetic },
      ]),
    );
  }

  private readonly sources: Map<string, FeedSource>;

  sourceOf(symbol: string): FeedSource {
    return this.sources.get(symbol) ?? this.source;
  }

  async warmup(): Promise<Bar[]> {
    return [];
  }

  async next(max: number, abort: AbortSignal): Promise<FeedTick[] | null> {
    const out: FeedTick[] = [];
    const limit = this.speed ? 1 : max;
    while (out.length < limit) {
      let t = Number.POSITIVE_INFINITY;
      for (let k = 0; k < this.series.length; k++) {
        const s = this.series[k]!;
        const i = this.cursor[k]!;
        if (i < s.length && s.ts[i]! < t) t = s.ts[i]!;
      }
      if (t === Number.POSITIVE_INFINITY) break;
      const bars: Bar[] = [];
      for (let k = 0; k < this.series.length; k++) {
        const s = this.series[k]!;
        const i = this.cursor[k]!;
        if (i < s.length && s.ts[i] === t) {
          bars.push({
            symbol: s.symbol,
            openTs: t,
            closeTs: t + s.timeframeMs,
            open: s.open[i]!,
            high: s.high[i]!,
            low: s.low[i]!,
            close: s.close[i]!,
            volume: s.volume[i]!,
            ageS: null,
          });
          this.cursor[k] = i + 1;
        }
      }
      out.push({ closeTs: t + this.timeframeMs, bars, failures: [] });
    }
    if (out.length === 0) return null;
    if (this.speed) await sleepUnlessAborted(this.timeframeMs / this.speed, abort);
    return out;
  }

  close(): void {}
}

/** Seeded generated candles, one per interval (divided by speed), labelled SYNTHETIC. */
export class SyntheticFeed implements Feed {
  readonly source: FeedSource = { kind: 'synthetic', ref: 'atl-synth-v1', synthetic: true };
  readonly dataMode: DataModeName = 'SYNTHETIC';
  readonly unpaced = false;
  private readonly markets: SyntheticMarket[];

  sourceOf(): FeedSource {
    return this.source;
  }
  private nextCloseWall: number;
  /** Close time of the next bar: never delivered before the wall clock reaches it. */
  private nextCloseTs: number;

  /**
   * `leadBars`: how many bars before now the paced bars start, so a run faster than real time
   * (`--speed`, a short `--interval`) replays the recent past and catches up with the clock
   * instead of dating bars in the future; once caught up it goes at real time.
   */
  constructor(
    readonly symbols: string[],
    readonly timeframe: string,
    readonly timeframeMs: number,
    private readonly intervalMs: number,
    private readonly warmupBars: number,
    seed: number,
    startPrices: Record<string, number>,
    now = Date.now(),
    leadBars = 0,
  ) {
    const start = Math.floor(now / timeframeMs) * timeframeMs - (warmupBars + leadBars) * timeframeMs;
    this.nextCloseTs = start + (warmupBars + 1) * timeframeMs;
    this.markets = symbols.map((symbol) => {
      const profile = profileFor(symbol);
      return new SyntheticMarket({
        seed: seed ^ seedFromString(symbol),
        timeframeMs,
        startTs: start,
        startPrice: startPrices[symbol] ?? profile.startPrice,
        annualVol: profile.annualVol,
      });
    });
    this.nextCloseWall = now + intervalMs;
  }

  private barOf(symbol: string, m: SyntheticMarket): Bar {
    const [openTs, open, high, low, close, volume] = m.next();
    return { symbol, openTs, closeTs: openTs + this.timeframeMs, open, high, low, close, volume, ageS: 0 };
  }

  async warmup(): Promise<Bar[]> {
    const bars: Bar[] = [];
    for (let i = 0; i < this.warmupBars; i++) {
      for (let k = 0; k < this.markets.length; k++) bars.push(this.barOf(this.symbols[k]!, this.markets[k]!));
    }
    return bars;
  }

  async next(_max: number, abort: AbortSignal): Promise<FeedTick[] | null> {
    await sleepUnlessAborted(Math.max(this.nextCloseWall, this.nextCloseTs) - Date.now(), abort);
    if (abort.aborted) return [];
    this.nextCloseWall += this.intervalMs;
    this.nextCloseTs += this.timeframeMs;
    const bars = this.markets.map((m, k) => this.barOf(this.symbols[k]!, m));
    return [{ closeTs: bars[0]!.closeTs, bars, failures: [] }];
  }

  close(): void {}
}

export function sleepUnlessAborted(ms: number, abort: AbortSignal): Promise<void> {
  if (ms <= 0 || abort.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      abort.removeEventListener('abort', done);
      resolve();
    }
    abort.addEventListener('abort', done, { once: true });
  });
}
