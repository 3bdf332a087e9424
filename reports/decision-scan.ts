import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { GENESIS_HASH } from '../core/engine/decision-log.ts';
import { scanJsonl } from '../core/fsx/jsonl.ts';
import { validate } from '../core/schema/ajv.ts';
import { DecisionRecord } from '../core/schema/decision.ts';
import { RecentRing } from './recent-ring.ts';
import type { DayWindow } from './windows.ts';

const SAMPLE_LIMIT = 20;
const ID_KEY = Buffer.from('"decision_id":"');
const BAR_KEY = Buffer.from('"bar_ts":"');
const PREV_KEY = Buffer.from('"prev_hash":"');
const QUOTE = 0x22;
// Where the engine's JSON.stringify puts the values: after `{"schema_version":"1.0.0","decision_id":"`,
// and after the id's closing quote plus `,"ts":"<24 chars>","bar_ts":"`.
const ENGINE_ID_AT = '{"schema_version":"1.0.0","decision_id":"'.length;
const ENGINE_BAR_AFTER_ID = '","ts":"2026-01-01T00:00:00.000Z","bar_ts":"'.length;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;

export type LineProblem = { line: number; problem: string };

/** What the reader found in the whole file, whatever the window. */
export type LogIntegrity = {
  path: string;
  exists: boolean;
  lines: number;
  bytes: number;
  /** An unterminated final fragment (a crash mid-append): skipped, reported once. */
  torn_tail: { offset: number; bytes: number } | null;
  malformed: { count: number; samples: LineProblem[] };
  /** Hash-chain links checked: every record in the window, and the link out of it. */
  chain: { links_checked: number; breaks: number; samples: LineProblem[] };
  duplicates_in_window: number;
  late_in_window: number;
  /** Well-formed lines in the whole file (duplicates are found and dropped inside the window). */
  records_all_time: number;
  window_records: number;
  newest: { ts: string; bar_ts: string; line: number } | null;
};

export type RecentDecision = {
  decision_id: string;
  bar_ts: string;
  blocked_stage: string | null;
  block_reason: string | null;
};

export type ScanResult = { integrity: LogIntegrity; recent: RecentDecision[] };

function emptyIntegrity(path: string, exists: boolean): LogIntegrity {
  return {
    path,
    exists,
    lines: 0,
    bytes: 0,
    torn_tail: null,
    malformed: { count: 0, samples: [] },
    chain: { links_checked: 0, breaks: 0, samples: [] },
    duplicates_in_window: 0,
    late_in_window: 0,
    records_all_time: 0,
    window_records: 0,
    newest: null,
  };
}

/** The chain hash of a line: sha256 of its bytes without the newline, as the engine's DecisionLog computes it. */
const sha256Hex = (bytes: Uint8Array) => Bun.CryptoHasher.hash('sha256', bytes, 'hex') as string;

function readAt(fd: number, offset: number, length: number): Buffer {
  const buf = Buffer.alloc(length);
  readSync(fd, buf, 0, length, offset);
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
  const at = fromEnd ? buf.lastIndexOf(key, end - key.length) : buf.indexOf(key, start);
  return at < start || at + key.length >= end ? -1 : at + key.length;
}

/** `buf[at, at+10)` compared with a `YYYY-MM-DD` day: negative before, 0 same, positive after. */
function compareDay(buf: Buffer, at: number, day: Uint8Array): number {
  for (let i = 0; i < 10; i++) {
    const d = buf[at + i]! - day[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * Stream the decision log once with constant memory. Every line gets cheap byte-level checks
 * (object shape, id, bar time, chain field) and counts toward all-time totals; only lines whose
 * bar time falls in the window are parsed, schema-checked, de-duplicated by `decision_id` and
 * handed to `onRecord`. The hash chain is checked for each window record and the link after it,
 * so an edited or deleted line inside the window shows as a break.
 */
export function scanDecisionLog(
  path: string,
  window: DayWindow,
  onRecord: (r: DecisionRecord) => void,
  opts: { recentLimit: number } = { recentLimit: 500 },
): ScanResult {
  if (!existsSync(path) || !statSync(path).isFile())
    return { integrity: emptyIntegrity(path, false), recent: [] };
  const integrity = emptyIntegrity(path, true);
  const startDay = Buffer.from(window.startDay);
  const endDay = Buffer.from(window.endDay);
  const windowIds = new Set<string>();
  const latestBySymbol = new Map<string, string>();
  const recent = new RecentRing(opts.recentLimit);
  const malformed = (line: number, problem: string) => {
    integrity.malformed.count++;
    if (integrity.malformed.samples.length < SAMPLE_LIMIT)
      integrity.malformed.samples.push({ line, problem });
  };
  const chainBreak = (line: number, problem: string) => {
    integrity.chain.breaks++;
    if (integrity.chain.samples.length < SAMPLE_LIMIT) integrity.chain.samples.push({ line, problem });
  };
  const fd = openSync(path, 'r');
  let prev: { offset: number; length: number; hash: string | null } | null = null;
  let newest: { offset: number; length: number; line: number } | null = null;
  try {
    const scan = scanJsonl(path, (e) => {
      const { buffer: buf, start, end, lineNo } = e;
      const here = { offset: e.offset, length: end - start, hash: null as string | null };
      const previous = prev;
      prev = here;
      if (end === start) return malformed(lineNo, 'blank line');
      if (buf[start] !== OPEN_BRACE || buf[end - 1] !== CLOSE_BRACE) {
        return malformed(
          lineNo,
          lineNo === 1 && buf[start] === 0xef
            ? 'starts with a byte-order mark: not written by the engine'
            : 'not a JSON object',
        );
      }
      const idAt = valueAt(buf, ID_KEY, start, end, start + ENGINE_ID_AT);
      const idEnd = idAt < 0 ? -1 : quoteAfter(buf, idAt, end);
      const barAt = valueAt(buf, BAR_KEY, start, end, idEnd + ENGINE_BAR_AFTER_ID);
      const barEnd = barAt < 0 ? -1 : quoteAfter(buf, barAt, end);
      const prevAt = valueAt(buf, PREV_KEY, start, end, end - 66, true);
      if (idEnd < 0 || idEnd >= end || barEnd < 0 || barEnd - barAt < 10 || prevAt < 0 || prevAt + 64 > end) {
        return malformed(lineNo, 'missing decision_id, bar_ts or prev_hash');
      }
      integrity.records_all_time++;
      newest = { offset: e.offset, length: end - start, line: lineNo };
      const afterStart = compareDay(buf, barAt, startDay) >= 0;
      const beforeEnd = compareDay(buf, barAt, endDay) < 0;
      const inWindow = afterStart && beforeEnd;
      if (beforeEnd) recent.push(e.offset, end - start);
      if (inWindow) here.hash = sha256Hex(buf.subarray(start, end));
      // The chain link into this line matters when either end of it is in the window.
      if (inWindow || previous?.hash) {
        const expected = previous
          ? (previous.hash ?? sha256Hex(readAt(fd, previous.offset, previous.length)))
          : GENESIS_HASH;
        integrity.chain.links_checked++;
        if (buf.toString('latin1', prevAt, prevAt + 64) !== expected) {
          chainBreak(
            lineNo,
            previous
              ? `prev_hash does not match line ${lineNo - 1}: that line was edited, or lines were removed or inserted`
              : 'first line does not start the chain (lines before it were removed)',
          );
        }
      }
      if (!inWindow) return;
      let record: DecisionRecord;
      try {
        const checked = validate(DecisionRecord, JSON.parse(e.line));
        if (!checked.ok) return malformed(e.lineNo, `schema: ${checked.errors[0]}`);
        record = checked.value;
      } catch (err) {
        return malformed(e.lineNo, `invalid JSON (${(err as Error).message})`);
      }
      if (windowIds.has(record.decision_id)) {
        integrity.duplicates_in_window++;
        return;
      }
      windowIds.add(record.decision_id);
      const latest = latestBySymbol.get(record.symbol);
      if (latest !== undefined && record.bar_ts < latest) integrity.late_in_window++;
      else latestBySymbol.set(record.symbol, record.bar_ts);
      integrity.window_records++;
      onRecord(record);
    });
    integrity.lines = scan.lines;
    integrity.bytes = scan.bytes;
    integrity.torn_tail = scan.tornTail;
    const last = newest as { offset: number; length: number; line: number } | null;
    if (last) {
      const r = JSON.parse(readAt(fd, last.offset, last.length).toString('utf8')) as {
        ts?: string;
        bar_ts?: string;
      };
      if (typeof r.ts === 'string' && typeof r.bar_ts === 'string')
        integrity.newest = { ts: r.ts, bar_ts: r.bar_ts, line: last.line };
    }
    return { integrity, recent: readRecent(fd, recent.entries()) };
  } finally {
    closeSync(fd);
  }
}

/** The last decisions' blocking stage and reason, read back by offset (a re-logged id counts once, at its last place). */
function readRecent(fd: number, entries: Array<{ offset: number; length: number }>): RecentDecision[] {
  const byId = new Map<string, RecentDecision>();
  for (const e of entries) {
    try {
      const r = JSON.parse(readAt(fd, e.offset, e.length).toString('utf8')) as Partial<RecentDecision>;
      if (typeof r.decision_id !== 'string' || typeof r.bar_ts !== 'string') continue;
      byId.delete(r.decision_id);
      byId.set(r.decision_id, {
        decision_id: r.decision_id,
        bar_ts: r.bar_ts,
        blocked_stage: r.blocked_stage ?? null,
        block_reason: r.block_reason ?? null,
      });
    } catch {
      // a malformed line is already counted by the scan
    }
  }
  return [...byId.values()];
}
