import { hashLine } from '../core/engine/decision-log.ts';
import { HEADER_START } from '../core/records/reader.ts';
import { LogReader, listSegments, scanLog } from '../core/records/segments.ts';
import { RecentRing } from './recent-ring.ts';
import type { DayWindow } from './windows.ts';

export const SAMPLE_LIMIT = 20;
const ID_KEY = Buffer.from('"decision_id":"');
const BAR_KEY = Buffer.from('"bar_ts":"');
const PREV_KEY = Buffer.from('"prev_hash":"');
const QUOTE = 0x22;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
// Where the engine's JSON.stringify puts the values: after `{"decision_id":"` (v2; v1 lines start
// `{"schema_version":"1.0.0",`), and after the id's closing quote plus `,"ts":"<24 chars>","bar_ts":"` (v1).
const ENGINE_ID_AT = '{"decision_id":"'.length;
const ENGINE_BAR_AFTER_ID = '","ts":"2026-01-01T00:00:00.000Z","bar_ts":"'.length;

export type LineProblem = { line: number; problem: string };

/** Chain-break kinds; the reader words them once line numbers are absolute. */
export const CHAIN_EDITED = 'edited';
export const CHAIN_NOT_GENESIS = 'not-genesis';
type Span = { offset: number; length: number };

/**
 * What one byte range of the log holds, with line numbers counted from the range start: the
 * reader runs ranges in parallel and stitches them (counts add, samples shift, the chain link
 * across each seam is checked by the caller from `first`/`last`).
 */
export type RangeScan = {
  lines: number;
  bytes: number;
  tornTail: { offset: number; bytes: number } | null;
  records: number;
  malformed: { count: number; samples: LineProblem[] };
  chain: { links: number; breaks: number; samples: LineProblem[] };
  /** Lines whose bar day is in the window, in file order, for the caller to parse. */
  window: { offsets: number[]; lengths: number[]; lines: number[] };
  /** The last `recentLimit` well-formed lines before the window's end (oldest first). */
  recent: Span[];
  newest: (Span & { line: number }) | null;
  /** The last well-formed line whose bar day is before the window (what the engine knew when the window opened). */
  beforeWindow: Span | null;
  /** Run header lines (v2) by offset, in file order: the reader expands the lines after each. */
  headers: Span[];
  /** The range's first line when its chain link reaches into the previous range. */
  first: { inWindow: boolean; prevHash: string } | null;
  last: (Span & { inWindow: boolean; hash: string | null }) | null;
};

export function readAt(fd: LogReader, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  fd.read(buf, 0, length, offset);
  return buf.at(-1) === 0x0d ? buf.subarray(0, length - 1) : buf;
}

/** Does `buf` hold `key` at `pos`? A plain loop: far cheaper than a native call per line. */
function bytesAt(buf: Buffer, pos: number, key: Uint8Array): boolean {
  if (pos < 0 || pos + key.length > buf.length) return false;
  for (let i = 0; i < key.length; i++) if (buf[pos + i] !== key[i]) return false;
  return true;
}

function quoteAfter(buf: Buffer, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === QUOTE) return i;
  return -1;
}

/**
 * Where the value of a `"key":"…"` string field starts in `buf[start, end)` (-1 when absent).
 * The engine writes keys in a fixed order, so the value is usually where `guess` says; any other
 * writer's layout falls back to a search.
 */
function valueAt(
  buf: Buffer,
  key: Buffer,
  start: number,
  end: number,
  guess: number,
  fromEnd = false,
): number {
  if (bytesAt(buf, guess - key.length, key) && guess < end) return guess;
  // Searched inside the line only: a v2 line without the key must not send it through the whole chunk.
  const line = buf.subarray(start, end);
  const at = fromEnd ? line.lastIndexOf(key) : line.indexOf(key);
  return at < 0 || start + at + key.length >= end ? -1 : start + at + key.length;
}

/** `buf[at, at+10)` compared with a `YYYY-MM-DD` day: negative before, 0 same, positive after. */
export function compareDay(buf: Buffer, at: number, day: Uint8Array): number {
  for (let i = 0; i < 10; i++) {
    const d = buf[at + i]! - day[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

const DIGIT = (b: number | undefined) => b !== undefined && b >= 0x30 && b <= 0x39;

/**
 * Where the `YYYYMMDD` of an engine decision id's bar time starts (`…-20240101T000100Z`, maybe
 * followed by `:halt`), read from its bytes `[from, to)`; -1 when the id does not end that way.
 * The same rule as the outcome codec's `barOfId`, without a string or a regex per line.
 */
export function idDayAt(buf: Buffer, from: number, to: number): number {
  let z = to - 1;
  if (buf[z] !== 0x5a) {
    const inId = buf.subarray(from, to).lastIndexOf(0x3a);
    if (inId < 0) return -1;
    const colon = from + inId;
    z = colon - 1;
  }
  const at = z - 15; // -YYYYMMDDTHHMMSSZ: 8 digits, T, 6 digits, Z
  if (at - 1 < from || buf[z] !== 0x5a || buf[at - 1] !== 0x2d || buf[at + 8] !== 0x54) return -1;
  for (let i = 0; i < 15; i++) if (i !== 8 && !DIGIT(buf[at + i])) return -1;
  return at;
}

/** `YYYYMMDD` at `at` against a `YYYY-MM-DD` day, like `compareDay`. */
export function compareIdDay(buf: Buffer, at: number, day: Uint8Array): number {
  for (let i = 0, j = 0; i < 8; i++, j++) {
    if (j === 4 || j === 7) j++;
    const d = buf[at + i]! - day[j]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Byte-level pass over `[start, end)` of the decision log: every line is checked for shape
 * (object, id, bar time, chain field) and placed against the window by its bar day; the chain
 * link into each window line, and out of it, is checked here. Nothing is JSON-parsed.
 */
export function scanRange(
  path: string,
  window: DayWindow,
  start: number,
  end: number,
  recentLimit: number,
): RangeScan {
  const startDay = Buffer.from(window.startDay);
  const endDay = Buffer.from(window.endDay);
  const out: RangeScan = {
    lines: 0,
    bytes: 0,
    tornTail: null,
    records: 0,
    malformed: { count: 0, samples: [] },
    chain: { links: 0, breaks: 0, samples: [] },
    window: { offsets: [], lengths: [], lines: [] },
    recent: [],
    newest: null,
    beforeWindow: null,
    headers: [],
    first: null,
    last: null,
  };
  const recent = new RecentRing(recentLimit);
  const malformed = (line: number, problem: string) => {
    out.malformed.count++;
    if (out.malformed.samples.length < SAMPLE_LIMIT) out.malformed.samples.push({ line, problem });
  };
  // Offsets run across the rotated segments; the first kept line links to the retention anchor.
  const segs = listSegments(path);
  const fd = new LogReader(segs);
  let prev: (Span & { inWindow: boolean; hash: string | null }) | null = null;
  /** The chain link into a line: checked when either end of it is in the window or is a run header. */
  const link = (
    lineNo: number,
    offset: number,
    here: Span & { inWindow: boolean; hash: string | null },
    previous: (Span & { inWindow: boolean; hash: string | null }) | null,
    buf: Buffer,
    prevAt: number,
    header: boolean,
  ) => {
    // The line's prev_hash becomes a string only for a link that is checked.
    if (lineNo === 1 && offset !== segs.removedBytes) {
      const prevHash = buf.toString('latin1', prevAt, prevAt + 64);
      out.first = { inWindow: here.inWindow || header, prevHash }; // its link is checked across the seam
      return;
    }
    if (!here.inWindow && !header && !previous?.inWindow && !(previous && previous.hash !== null)) return;
    const expected = previous
      ? (previous.hash ?? hashLine(readAt(fd, previous.offset, previous.length)))
      : segs.anchor;
    out.chain.links++;
    if (buf.toString('latin1', prevAt, prevAt + 64) !== expected) {
      out.chain.breaks++;
      if (out.chain.samples.length < SAMPLE_LIMIT)
        out.chain.samples.push({ line: lineNo, problem: previous ? CHAIN_EDITED : CHAIN_NOT_GENESIS });
    }
  };
  try {
    const scan = scanLog(
      segs,
      (e) => {
        const { buffer: buf, start: s, end: t, lineNo } = e;
        const here = { offset: e.offset, length: t - s, inWindow: false, hash: null as string | null };
        const previous = prev;
        prev = here;
        if (t === s) return malformed(lineNo, 'blank line');
        if (buf[s] !== OPEN_BRACE || buf[t - 1] !== CLOSE_BRACE) {
          const bom = e.offset === 0 && buf[s] === 0xef;
          return malformed(
            lineNo,
            bom ? 'starts with a byte-order mark: not written by the engine' : 'not a JSON object',
          );
        }
        if (bytesAt(buf, s, HEADER_START)) {
          // A run header is not a decision, but its chain links are always checked: the lines
          // after it mean what it says.
          const prevAt = valueAt(buf, PREV_KEY, s, t, t - 66, true);
          if (prevAt < 0 || prevAt + 64 > t) return malformed(lineNo, 'run header without prev_hash');
          here.hash = hashLine(buf.subarray(s, t));
          out.headers.push({ offset: e.offset, length: t - s });
          return link(lineNo, e.offset, here, previous, buf, prevAt, true);
        }
        const idAt = valueAt(buf, ID_KEY, s, t, s + ENGINE_ID_AT);
        const idEnd = idAt < 0 ? -1 : quoteAfter(buf, idAt, t);
        const barAt = valueAt(buf, BAR_KEY, idEnd < 0 ? s : idEnd, t, idEnd + ENGINE_BAR_AFTER_ID);
        const barEnd = barAt < 0 ? -1 : quoteAfter(buf, barAt, t);
        // A v2 line leaves its bar out when the id ends with it: the day is read from the id.
        const idDay = barAt < 0 && idEnd >= 0 ? idDayAt(buf, idAt, idEnd) : -1;
        const prevAt = valueAt(buf, PREV_KEY, s, t, t - 66, true);
        const hasBar = idDay >= 0 || (barEnd >= 0 && barEnd - barAt >= 10);
        if (idEnd < 0 || !hasBar || prevAt < 0 || prevAt + 64 > t) {
          return malformed(lineNo, 'missing decision_id, bar_ts or prev_hash');
        }
        out.records++;
        out.newest = { offset: e.offset, length: t - s, line: lineNo };
        const beforeEnd =
          (idDay >= 0 ? compareIdDay(buf, idDay, endDay) : compareDay(buf, barAt, endDay)) < 0;
        const beforeStart =
          (idDay >= 0 ? compareIdDay(buf, idDay, startDay) : compareDay(buf, barAt, startDay)) < 0;
        here.inWindow = beforeEnd && !beforeStart;
        if (beforeStart) out.beforeWindow = { offset: e.offset, length: t - s };
        if (beforeEnd) recent.push(e.offset, t - s);
        if (here.inWindow) {
          here.hash = hashLine(buf.subarray(s, t));
          out.window.offsets.push(e.offset);
          out.window.lengths.push(t - s);
          out.window.lines.push(lineNo);
        }
        link(lineNo, e.offset, here, previous, buf, prevAt, false);
      },
      { start, end },
    );
    out.lines = scan.lines;
    out.bytes = scan.bytes;
    out.tornTail = scan.tornTail;
    out.recent = recent.entries();
    out.last = prev;
    return out;
  } finally {
    fd.close();
  }
}
