import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { configError, excerpt } from '../errors.ts';

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

const TIMEFRAME_UNITS: Record<string, number> = {
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

export function timeframeToMs(tf: string): number {
  const m = /^(\d+)([smhdw])$/.exec(tf);
  if (!m)
    throw configError(
      `unknown timeframe "${excerpt(tf)}"`,
      'use a ccxt timeframe such as 1m, 5m, 1h, 4h, 1d',
    );
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

/**
 * Load candles from CSV (`timestamp,open,high,low,close,volume`, epoch ms or ISO-8601) or from
 * ccxt's `fetchOHLCV` JSON (`[[ts,o,h,l,c,v],…]`). Bad files are a configuration error naming
 * the file, line and problem. Candles go straight into typed arrays (no object per candle).
 */
export function loadCandleFile(
  path: string,
  symbol: string,
  timeframe?: string,
  flag = '--replay-file',
): CandleSeries {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw configError(
      `${path}: cannot read candle file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      `check the ${flag} path`,
    );
  }
  // A UTF-8 byte-order mark is tolerated; leading blank space is skipped.
  let start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (
    start < bytes.length &&
    (bytes[start] === 32 || bytes[start] === 9 || bytes[start] === 10 || bytes[start] === 13)
  )
    start++;
  if (start >= bytes.length)
    throw configError(`${path}: candle file is empty`, 'give a file with at least one candle');
  const head = bytes.toString('utf8', start, Math.min(bytes.length, start + 200));
  const synthetic = /^#.*synthetic/i.test(head);
  const builder = new SeriesBuilder(path, countLines(bytes));
  if (head.startsWith('[') || head.startsWith('{'))
    parseJsonCandles(path, bytes.toString('utf8', start), builder);
  // CSV is parsed from the bytes: no copy of the whole file as a string, no object per line.
  else parseCsvCandles(path, bytes, builder);
  return builder.finish(symbol, timeframe, synthetic);
}

function countLines(bytes: Buffer): number {
  let n = 1;
  for (let i = bytes.indexOf(10); i >= 0; i = bytes.indexOf(10, i + 1)) n++;
  return n;
}

const COLUMNS = ['timestamp', 'open', 'high', 'low', 'close', 'volume'] as const;

/** Checks each candle as it arrives and stores it in typed arrays. */
class SeriesBuilder {
  private n = 0;
  private readonly cols: Float64Array[];
  private readonly spacings = new Map<number, number>();

  constructor(
    private readonly path: string,
    capacity: number,
  ) {
    this.cols = COLUMNS.map(() => new Float64Array(Math.max(1, capacity)));
  }

  private grow(): void {
    for (let j = 0; j < this.cols.length; j++) {
      const bigger = new Float64Array(this.cols[j]!.length * 2);
      bigger.set(this.cols[j]!);
      this.cols[j] = bigger;
    }
  }

  push(t: number, o: number, h: number, l: number, c: number, v: number, line: number): void {
    const { path } = this;
    const ts = this.cols[0]!;
    // Epoch ms a Date can hold (±100,000,000 days), whole: anything else is no candle time.
    if (!Number.isInteger(t) || Math.abs(t) > 8.64e15)
      throw configError(
        `${path}:${line}: timestamp ${t} is outside the times a candle can have (whole epoch ms)`,
      );
    if (this.n > 0) {
      const prev = ts[this.n - 1]!;
      if (t === prev) throw configError(`${path}:${line}: duplicate timestamp ${new Date(t).toISOString()}`);
      if (t < prev)
        throw configError(
          `${path}:${line}: timestamps not sorted (${new Date(t).toISOString()} after ${new Date(prev).toISOString()})`,
        );
      if (this.n < 2000) this.spacings.set(t - prev, (this.spacings.get(t - prev) ?? 0) + 1);
    }
    if (h < l) throw configError(`${path}:${line}: high ${h} is below low ${l}`);
    if (o <= 0 || h <= 0 || l <= 0 || c <= 0) throw configError(`${path}:${line}: prices must be positive`);
    if (v < 0) throw configError(`${path}:${line}: volume ${v} is negative`);
    if (o > h || o < l || c > h || c < l)
      throw configError(`${path}:${line}: open/close outside the high–low range`);
    if (this.n === ts.length) this.grow();
    const i = this.n++;
    this.cols[0]![i] = t;
    this.cols[1]![i] = o;
    this.cols[2]![i] = h;
    this.cols[3]![i] = l;
    this.cols[4]![i] = c;
    this.cols[5]![i] = v;
  }

  finish(symbol: string, timeframe: string | undefined, synthetic: boolean): CandleSeries {
    const { path, n } = this;
    if (n === 0) throw configError(`${path}: no candles found`, 'give a file with at least one candle');
    const modal = [...this.spacings.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
    const inferred = modal ? msToTimeframe(modal) : null;
    const tf = timeframe ?? inferred ?? '1m';
    if (timeframe && inferred && timeToMsSafe(timeframe) !== modal) {
      throw configError(
        `${path}: candles are ${inferred} apart but --timeframe is ${timeframe}`,
        `pass --timeframe ${inferred} or another file`,
      );
    }
    const [ts, open, high, low, close, volume] = this.cols.map((c) => c.subarray(0, n)) as [
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
      Float64Array,
    ];
    return {
      symbol,
      timeframe: tf,
      timeframeMs: timeframeToMs(tf),
      ts,
      open,
      high,
      low,
      close,
      volume,
      length: n,
      source: { kind: 'replay', ref: path, synthetic },
    };
  }
}

function parseJsonCandles(path: string, text: string, out: SeriesBuilder): void {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw configError(
      `${path}: not valid JSON (${excerpt((err as Error).message, 120)})`,
      'the file must be ccxt fetchOHLCV output: [[ts,o,h,l,c,v],…]',
    );
  }
  if (!Array.isArray(data)) throw configError(`${path}:1: expected an array of candles [[ts,o,h,l,c,v],…]`);
  const lineOf = (i: number) => candleLineNumber(text, i);
  for (let i = 0; i < data.length; i++) {
    const item = data[i] as unknown;
    if (!Array.isArray(item) || item.length < 6) {
      throw configError(
        `${path}:${lineOf(i)}: candle #${i + 1} needs 6 values [ts,open,high,low,close,volume]`,
      );
    }
    for (let j = 0; j < 6; j++) {
      const v = item[j] as unknown;
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw configError(
          `${path}:${lineOf(i)}: candle #${i + 1} ${COLUMNS[j]} is not a finite number (${excerpt(JSON.stringify(v) ?? String(v))})`,
        );
      }
    }
    const [t, o, h, l, c, v] = item as number[];
    out.push(t!, o!, h!, l!, c!, v!, i + 1);
  }
}

/** Line on which the `index`-th top-level candle array starts (only computed for error messages). */
function candleLineNumber(text: string, index: number): number {
  let depth = 0;
  let line = 1;
  let seen = -1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10) line++;
    else if (ch === 91) {
      depth++;
      if (depth === 2 && ++seen === index) return line;
    } else if (ch === 93) depth--;
  }
  return line;
}

const COMMA = 44;
const MAX_CELL = 256;

function parseCsvCandles(path: string, bytes: Buffer, out: SeriesBuilder): void {
  let lineNo = 0;
  let headerSeen = false;
  const ends = new Int32Array(7);
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    lineNo++;
    const lineStart = start;
    start = end + 1;
    let a = lineStart;
    let b = end;
    while (a < b && isSpace(bytes[a]!)) a++;
    while (b > a && isSpace(bytes[b - 1]!)) b--;
    if (a === b || bytes[a] === 35) continue; // blank or `#` comment
    const first = bytes[a]!;
    const numeric = (first >= 48 && first <= 57) || first === 43 || first === 45;
    if (!headerSeen && !numeric) {
      headerSeen = true;
      checkHeader(path, lineNo, bytes.toString('utf8', a, b));
      continue;
    }
    headerSeen = true;
    let cells = 0;
    for (let i = a; i <= b && cells < 7; i++) if (i === b || bytes[i] === COMMA) ends[cells++] = i;
    if (cells < 6)
      throw configError(
        `${path}:${lineNo}: expected 6 columns (timestamp,open,high,low,close,volume), found ${cells}`,
      );
    // A cell is decoded only when the fast path fails; one far longer than any number is not decoded whole.
    const cell = (j: number) => {
      const from = j === 0 ? a : ends[j - 1]! + 1;
      return bytes.toString('latin1', from, Math.min(ends[j]!, from + MAX_CELL)).trim();
    };
    const num = (j: number) => {
      const fast = decimalAt(bytes, ends[j - 1]! + 1, ends[j]!);
      if (Number.isFinite(fast)) return fast;
      const text = cell(j);
      const v = text === '' || text.length >= MAX_CELL ? Number.NaN : Number(text);
      if (!Number.isFinite(v))
        throw configError(`${path}:${lineNo}: ${COLUMNS[j]} is not a number ("${excerpt(text)}")`);
      return v;
    };
    const epoch = decimalAt(bytes, a, ends[0]!);
    const t = Number.isFinite(epoch)
      ? epoch < 1e11
        ? epoch * 1000
        : epoch
      : parseTimestamp(path, lineNo, cell(0));
    out.push(t, num(1), num(2), num(3), num(4), num(5), lineNo);
  }
}

/** What `String.prototype.trim` drops in ASCII (space, \t \n \v \f \r): a NUL or other control byte is content, and no number. */
const isSpace = (c: number) => c === 32 || (c >= 9 && c <= 13);

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * A plain decimal (`-123.4500`) read straight from the bytes, or NaN when the cell is anything
 * else (the caller then falls back to `Number`). Exact: with at most 15 significant digits the
 * integer mantissa and the power of ten are both exact doubles, and one division rounds correctly.
 */
function decimalAt(bytes: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to && isSpace(bytes[i]!)) i++;
  let end = to;
  while (end > i && isSpace(bytes[end - 1]!)) end--;
  let negative = false;
  if (bytes[i] === 45 || bytes[i] === 43) negative = bytes[i++] === 45;
  let mantissa = 0;
  let digits = 0;
  let anyDigit = false;
  let scale = -1;
  for (; i < end; i++) {
    const c = bytes[i]!;
    if (c === 46 && scale < 0) scale = 0;
    else if (c >= 48 && c <= 57) {
      anyDigit = true;
      if (digits > 0 || c !== 48) digits++;
      mantissa = mantissa * 10 + (c - 48);
      if (scale >= 0) scale++;
    } else return Number.NaN;
  }
  if (!anyDigit || digits > 15 || scale > 22) return Number.NaN;
  const value = scale > 0 ? mantissa / POW10[scale]! : mantissa;
  return negative ? -value : value;
}

function checkHeader(path: string, lineNo: number, line: string): void {
  const names = line.split(',').map((c) => c.trim().toLowerCase());
  const missing = COLUMNS.filter(
    (c, i) => names[i] !== c && !(i === 0 && ['ts', 'time', 'date', 'datetime'].includes(names[0] ?? '')),
  );
  if (missing.length > 0) {
    throw configError(
      `${path}:${lineNo}: header must be timestamp,open,high,low,close,volume (missing or misplaced: ${missing.join(', ')})`,
    );
  }
}

function parseTimestamp(path: string, line: number, cell: string): number {
  if (cell.length < MAX_CELL && /^\d+(\.\d+)?$/.test(cell)) {
    const n = Number(cell);
    return n < 1e11 ? n * 1000 : n; // seconds or milliseconds
  }
  const ms =
    cell.length >= MAX_CELL ? Number.NaN : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(cell) ? cell : `${cell}Z`);
  if (!Number.isFinite(ms))
    throw configError(`${path}:${line}: timestamp "${excerpt(cell)}" is neither epoch ms nor ISO-8601`);
  return ms;
}

function timeToMsSafe(tf: string): number | null {
  try {
    return timeframeToMs(tf);
  } catch {
    return null;
  }
}
