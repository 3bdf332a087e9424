import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { configError } from '../errors.ts';

/** A candle series in typed arrays (timestamps are candle open times, epoch ms). */
export type CandleSeries = {
  symbol: string;
  timeframe: string;
  timeframeMs: number;
  ts: Float64Array;
  open: Float64Array;
  high: Float64Array;
  low: Float64Array;
  close: Float64Array;
  volume: Float64Array;
  length: number;
  source: { kind: 'replay'; ref: string; synthetic: boolean };
};

const TIMEFRAME_UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

export function timeframeToMs(tf: string): number {
  const m = /^(\d+)([smhdw])$/.exec(tf);
  if (!m) throw configError(`unknown timeframe "${tf}"`, 'use a ccxt timeframe such as 1m, 5m, 1h, 4h, 1d');
  return Number(m[1]) * TIMEFRAME_UNITS[m[2]!]!;
}

export function msToTimeframe(ms: number): string | null {
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    const size = TIMEFRAME_UNITS[unit]!;
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return null;
}

/** `ETH_BTC-1m.json` → `ETH/BTC`; null when the name does not say. */
export function symbolFromFileName(path: string): string | null {
  const m = /^([A-Z0-9]+)[_-]([A-Z0-9]+)(?:-\d+[smhdw])?/i.exec(basename(path));
  return m ? `${m[1]!.toUpperCase()}/${m[2]!.toUpperCase()}` : null;
}

type RawCandle = [number, number, number, number, number, number];

/**
 * Load candles from CSV (`timestamp,open,high,low,close,volume`, epoch ms or ISO-8601) or from
 * ccxt's `fetchOHLCV` JSON (`[[ts,o,h,l,c,v],…]`). Bad files are a configuration error naming
 * the file, line and problem.
 */
export function loadCandleFile(path: string, symbol: string, timeframe?: string): CandleSeries {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw configError(`${path}: cannot read candle file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, 'check the --replay-file path');
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const trimmed = text.trimStart();
  if (trimmed === '') throw configError(`${path}: candle file is empty`, 'give a file with at least one candle');
  const synthetic = /^#.*synthetic/i.test(trimmed);
  const rows = trimmed.startsWith('[') ? parseJsonCandles(path, text) : parseCsvCandles(path, text);
  return toSeries(path, symbol, rows, timeframe, synthetic);
}

type Located = { row: RawCandle; line: number };

function parseJsonCandles(path: string, text: string): Located[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw configError(`${path}: not valid JSON (${(err as Error).message})`, 'the file must be ccxt fetchOHLCV output: [[ts,o,h,l,c,v],…]');
  }
  if (!Array.isArray(data)) throw configError(`${path}:1: expected an array of candles [[ts,o,h,l,c,v],…]`);
  const lines = candleLineNumbers(text, data.length);
  return data.map((item, i) => {
    const line = lines[i] ?? 1;
    if (!Array.isArray(item) || item.length < 6) {
      throw configError(`${path}:${line}: candle #${i + 1} needs 6 values [ts,open,high,low,close,volume]`);
    }
    const row = item.slice(0, 6).map((v, j) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw configError(`${path}:${line}: candle #${i + 1} ${COLUMNS[j]} is not a finite number (${JSON.stringify(v)})`);
      }
      return v;
    }) as RawCandle;
    return { row, line };
  });
}

/** Line on which each top-level candle array starts (only used to name lines in errors). */
function candleLineNumbers(text: string, count: number): number[] {
  const out: number[] = [];
  let depth = 0;
  let line = 1;
  for (let i = 0; i < text.length && out.length < count; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) line++;
    else if (ch === 91) {
      depth++;
      if (depth === 2) out.push(line);
    } else if (ch === 93) depth--;
  }
  return out;
}

const COLUMNS = ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;

function parseCsvCandles(path: string, text: string): Located[] {
  const out: Located[] = [];
  let lineNo = 0;
  let headerSeen = false;
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    lineNo++;
    const raw = text.slice(start, end).replace(/\r$/, '').trim();
    start = end + 1;
    if (raw === '' || raw.startsWith('#')) continue;
    const cells = raw.split(',');
    if (!headerSeen && !/^[-+0-9]/.test(cells[0] ?? '')) {
      headerSeen = true;
      const names = cells.map((c) => c.trim().toLowerCase());
      const missing = COLUMNS.filter((c, i) => names[i] !== c && !(i === 0 && ['ts', 'time', 'date', 'datetime'].includes(names[0] ?? '')));
      if (missing.length > 0) {
        throw configError(`${path}:${lineNo}: header must be timestamp,open,high,low,close,volume (missing or misplaced: ${missing.join(', ')})`);
      }
      continue;
    }
    headerSeen = true;
    if (cells.length < 6) throw configError(`${path}:${lineNo}: expected 6 columns (timestamp,open,high,low,close,volume), found ${cells.length}`);
    const row = new Array(6) as RawCandle;
    row[0] = parseTimestamp(path, lineNo, cells[0]!.trim());
    for (let j = 1; j < 6; j++) {
      const cell = cells[j]!.trim();
      const v = cell === '' ? Number.NaN : Number(cell);
      if (!Number.isFinite(v)) throw configError(`${path}:${lineNo}: ${COLUMNS[j]} is not a number ("${cell}")`);
      row[j] = v;
    }
    out.push({ row, line: lineNo });
  }
  return out;
}

function parseTimestamp(path: string, line: number, cell: string): number {
  if (/^\d+(\.\d+)?$/.test(cell)) {
    const n = Number(cell);
    return n < 1e11 ? n * 1000 : n; // seconds or milliseconds
  }
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(cell) ? cell : `${cell}Z`);
  if (!Number.isFinite(ms)) throw configError(`${path}:${line}: timestamp "${cell}" is neither epoch ms nor ISO-8601`);
  return ms;
}

function toSeries(path: string, symbol: string, rows: Located[], timeframe: string | undefined, synthetic: boolean): CandleSeries {
  if (rows.length === 0) throw configError(`${path}: no candles found`, 'give a file with at least one candle');
  const n = rows.length;
  const s = {
    ts: new Float64Array(n),
    open: new Float64Array(n),
    high: new Float64Array(n),
    low: new Float64Array(n),
    close: new Float64Array(n),
    volume: new Float64Array(n),
  };
  const spacings = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    const { row, line } = rows[i]!;
    const [t, o, h, l, c, v] = row;
    if (i > 0) {
      const prev = s.ts[i - 1]!;
      if (t === prev) throw configError(`${path}:${line}: duplicate timestamp ${new Date(t).toISOString()}`);
      if (t < prev) throw configError(`${path}:${line}: timestamps not sorted (${new Date(t).toISOString()} after ${new Date(prev).toISOString()})`);
      if (i < 2000) spacings.set(t - prev, (spacings.get(t - prev) ?? 0) + 1);
    }
    if (h < l) throw configError(`${path}:${line}: high ${h} is below low ${l}`);
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0) throw configError(`${path}:${line}: prices must be positive`);
    if (v < 0) throw configError(`${path}:${line}: volume ${v} is negative`);
    if (o > h || o < l || c > h || c < l) throw configError(`${path}:${line}: open/close outside the high–low range`);
    s.ts[i] = t;
    s.open[i] = o;
    s.high[i] = h;
    s.low[i] = l;
    s.close[i] = c;
    s.volume[i] = v;
  }
  const modal = [...spacings.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  const inferred = modal ? msToTimeframe(modal) : null;
  const tf = timeframe ?? inferred ?? '1m';
  if (timeframe && inferred && timeToMsSafe(timeframe) !== modal) {
    throw configError(`${path}: candles are ${inferred} apart but --timeframe is ${timeframe}`, `pass --timeframe ${inferred} or another file`);
  }
  return { symbol, timeframe: tf, timeframeMs: timeframeToMs(tf), ...s, length: n, source: { kind: 'replay', ref: path, synthetic } };
}

function timeToMsSafe(tf: string): number | null {
  try {
    return timeframeToMs(tf);
  } catch {
    return null;
  }
}
