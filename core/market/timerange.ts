import { usageError } from '../errors.ts';
import type { CandleSeries } from './candles.ts';

/** A backtest window on candle open time, `[startMs, endMs)`; null ends are open. */
export type Timerange = { startMs: number | null; endMs: number | null; text: string };

const HINT =
  'give --timerange START-END as UTC days YYYYMMDD, e.g. 20240101-20240301, 20240101- or -20240301';

function day(part: string, text: string): number | null {
  if (part === '') return null;
  const m = /^(\d{4})(\d{2})(\d{2})$/.exec(part);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  // Date.UTC rolls 20240231 over to March: a date that does not round-trip is not a date.
  if (!m || new Date(ms).toISOString().slice(0, 10).replace(/-/g, '') !== part)
    throw usageError(`--timerange ${text}: "${part}" is not a UTC day YYYYMMDD`, HINT);
  return ms;
}

/** `--timerange` in freqtrade's spelling: `20240101-20240301` (end exclusive), `20240101-`, `-20240301`. */
export function parseTimerange(text: string): Timerange {
  const parts = text.trim().split('-');
  if (parts.length !== 2 || (parts[0] === '' && parts[1] === ''))
    throw usageError(`--timerange ${text}: expected START-END`, HINT);
  const startMs = day(parts[0]!, text);
  const endMs = day(parts[1]!, text);
  if (startMs !== null && endMs !== null && endMs <= startMs)
    throw usageError(`--timerange ${text}: the end is not after the start`, HINT);
  return { startMs, endMs, text: text.trim() };
}

/** The candles that open inside the range (views on the same arrays, no copy); none is a usage error. */
export function sliceSeries(s: CandleSeries, range: Timerange): CandleSeries {
  let from = 0;
  while (from < s.length && range.startMs !== null && s.ts[from]! < range.startMs) from++;
  let to = from;
  while (to < s.length && (range.endMs === null || s.ts[to]! < range.endMs)) to++;
  if (to === from) {
    const first = s.length > 0 ? new Date(s.ts[0]!).toISOString().slice(0, 10) : '—';
    const last = s.length > 0 ? new Date(s.ts[s.length - 1]!).toISOString().slice(0, 10) : '—';
    throw usageError(
      `--timerange ${range.text}: no ${s.symbol} ${s.timeframe} candles in it (the data covers ${first} … ${last})`,
      'pick a range inside the candle file',
    );
  }
  const cut = (a: Float64Array) => a.subarray(from, to);
  return {
    ...s,
    ts: cut(s.ts),
    open: cut(s.open),
    high: cut(s.high),
    low: cut(s.low),
    close: cut(s.close),
    volume: cut(s.volume),
    length: to - from,
  };
}
