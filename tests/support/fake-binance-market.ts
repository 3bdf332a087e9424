/**
 * The loopback exchange's market: a deterministic price path per symbol (a pure function of time,
 * so any range of candles is consistent with every other), kline rows in Binance's format, and
 * exchangeInfo entries. Test-double prices: records name the loopback URL as their source.
 */

/** Binance interval names the fake serves. */
export const INTERVALS: Record<string, number> = {
  '1s': 1_000,
  '1m': 60_000,
  '3m': 180_000,
  '5m': 300_000,
  '15m': 900_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
};

const BASE_PRICE: Record<string, number> = { BTC: 60_000, ETH: 3_000, SOL: 150 };

/** A smooth path with noise around the base asset's usual price. */
export function priceAt(id: string, base: string, t: number): number {
  const s = t / 1000;
  return (
    (BASE_PRICE[base] ?? 100) *
    (1 + 0.03 * Math.sin(s / 900) + 0.01 * Math.sin(s / 97 + 1) + 0.002 * noise(id, Math.floor(s), 1))
  );
}

export type KlineQuery = {
  id: string;
  base: string;
  tf: number;
  limit: number;
  startTime: number | null;
  endTime: number | null;
  /** Candles exist up to this instant (now, or when the exchange froze). */
  published: number;
  frozen: boolean;
  /** Open time of the first candle the symbol has (its listing). */
  firstListed: number;
};

/** `GET /api/v3/klines` rows: [openTime, o, h, l, c, v, closeTime, …] with prices as strings. */
export function klineRows(q: KlineQuery): unknown[] {
  const { id, base, tf, published } = q;
  // Live, the newest candle is the one still forming (Binance serves it, partial); a frozen
  // exchange serves only the candles it completed before it stopped.
  const newestOpen = Math.floor(published / tf) * tf - (q.frozen ? tf : 0);
  const endOpen = Math.min(newestOpen, q.endTime === null ? newestOpen : Math.floor(q.endTime / tf) * tf);
  const startOpen = Math.max(
    q.startTime === null ? endOpen - (q.limit - 1) * tf : Math.ceil(q.startTime / tf) * tf,
    q.firstListed,
  );
  const rows: unknown[] = [];
  for (let t = startOpen; t <= endOpen && rows.length < q.limit; t += tf) {
    const open = priceAt(id, base, t);
    const close = priceAt(id, base, Math.min(t + tf, published));
    const wiggle = 1 + 0.0004 * (1 + noise(id, t, 7));
    const high = Math.max(open, close) * wiggle;
    const low = Math.min(open, close) / wiggle;
    rows.push([
      t,
      fmt(open),
      fmt(high),
      fmt(low),
      fmt(close),
      fmt(5 + 5 * (1 + noise(id, t, 3))),
      t + tf - 1,
      '0',
      100,
      '0',
      '0',
      '0',
    ]);
  }
  return rows;
}

/** One exchangeInfo entry, with the filters ccxt reads for precision and limits. */
export function marketInfo(id: string, base: string, quote: string) {
  return {
    symbol: id,
    status: 'TRADING',
    baseAsset: base,
    baseAssetPrecision: 8,
    quoteAsset: quote,
    quotePrecision: 8,
    quoteAssetPrecision: 8,
    orderTypes: ['LIMIT', 'MARKET'],
    icebergAllowed: true,
    ocoAllowed: true,
    isSpotTradingAllowed: true,
    isMarginTradingAllowed: false,
    permissions: ['SPOT'],
    permissionSets: [['SPOT']],
    filters: [
      {
        filterType: 'PRICE_FILTER',
        minPrice: '0.01000000',
        maxPrice: '1000000.00000000',
        tickSize: '0.01000000',
      },
      { filterType: 'LOT_SIZE', minQty: '0.00001000', maxQty: '9000.00000000', stepSize: '0.00001000' },
      {
        filterType: 'NOTIONAL',
        minNotional: '5.00000000',
        applyMinToMarket: true,
        maxNotional: '9000000.00000000',
        applyMaxToMarket: false,
      },
    ],
  };
}

/** Deterministic noise in [-1, 1) from (symbol, k, salt). */
function noise(id: string, k: number, salt: number): number {
  let h = 2166136261 ^ salt;
  for (let i = 0; i < id.length; i++) h = Math.imul(h ^ id.charCodeAt(i), 16777619);
  h = Math.imul(h ^ k, 2654435761) ^ Math.imul(k >>> 16, 40503);
  h = Math.imul(h ^ (h >>> 15), 2246822507);
  return ((h ^ (h >>> 13)) >>> 0) / 2147483648 - 1;
}

export const fmt = (x: number) => x.toFixed(8);

/** A body sent one byte at a time (the "slow body" fault). */
export function dribble(text: string, bytesPerSecond: number): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text);
  let i = 0;
  return new ReadableStream({
    async pull(controller) {
      if (i >= bytes.length) return controller.close();
      await Bun.sleep(1000 / bytesPerSecond);
      controller.enqueue(bytes.slice(i, i + 1));
      i++;
    },
  });
}
