import { GENESIS_HASH, hashLine } from '../core/engine/decision-log.ts';
import { expandValue, HeaderSpans as Headers } from '../core/records/reader.ts';
import { type LogReader, openLog } from '../core/records/segments.ts';
import { validate } from '../core/schema/ajv.ts';
import { DecisionRecord } from '../core/schema/decision.ts';
import {
  CHAIN_EDITED,
  CHAIN_NOT_GENESIS,
  type LineProblem,
  type RangeScan,
  readAt,
  SAMPLE_LIMIT,
  scanRange,
} from './scan-range.ts';
import type { RangeRequest } from './scan-worker.ts';
import type { DayWindow } from './windows.ts';

export type { LineProblem };

/** Logs this large are read as two halves at once (the second on a worker thread). */
const PARALLEL_MIN_BYTES = 64 << 20;

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

/** `beforeWindow`: the last record dated before the window (as parsed JSON), for values that carry over days. */
export type ScanResult = {
  integrity: LogIntegrity;
  recent: RecentDecision[];
  beforeWindow: Record<string, unknown> | null;
};

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

const chainText = (line: number, kind: string) =>
  kind === CHAIN_EDITED
    ? `prev_hash does not match line ${line - 1}: that line was edited, or lines were removed or inserted`
    : kind === CHAIN_NOT_GENESIS
      ? 'first line does not start the chain (lines before it were removed)'
      : kind;

/** The first line start at or after the middle of the file (null when no newline follows it). */
function middleSplit(fd: LogReader, size: number): number | null {
  const buf = Buffer.alloc(1 << 20);
  for (let at = fd.start + Math.floor((size - fd.start) / 2); at < size; at += buf.length) {
    const n = fd.read(buf, 0, buf.length, at);
    const nl = buf.subarray(0, n).indexOf(0x0a);
    if (nl >= 0) return at + nl + 1 < size ? at + nl + 1 : null;
  }
  return null;
}

function scanOnWorker(req: RangeRequest): Promise<RangeScan> {
  const worker = new Worker(new URL('./scan-worker.ts', import.meta.url));
  return new Promise<RangeScan>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<RangeScan>) => resolve(e.data);
    worker.onerror = (e) => reject(new Error(`decision-log scan worker failed: ${e.message}`));
    worker.postMessage(req);
  }).finally(() => worker.terminate());
}

/** Byte-level ranges of the log, in file order: one, or two read at once for a large file. */
async function scanRanges(
  path: string,
  fd: LogReader,
  size: number,
  window: DayWindow,
  recentLimit: number,
  parallelMinBytes: number,
): Promise<RangeScan[]> {
  const split = size - fd.start >= parallelMinBytes ? middleSplit(fd, size) : null;
  if (split === null) return [scanRange(path, window, fd.start, size, recentLimit)];
  const second = scanOnWorker({ path, window, start: split, end: size, recentLimit });
  const first = scanRange(path, window, fd.start, split, recentLimit);
  return [first, await second];
}

/**
 * Stream the decision log with constant memory. Every line gets cheap byte-level checks (object
 * shape, id, bar time, chain field) and counts toward all-time totals; only lines whose bar time
 * falls in the window are parsed, schema-checked, de-duplicated by `decision_id` and handed to
 * `onRecord` in file order. The hash chain is checked for each window record and the link after
 * it, so an edited, deleted or inserted line inside the window shows as a break.
 */
export async function scanDecisionLog(
  path: string,
  window: DayWindow,
  onRecord: (r: DecisionRecord) => void,
  opts: { recentLimit: number; parallelMinBytes?: number } = { recentLimit: 500 },
): Promise<ScanResult> {
  const fd = openLog(path); // archives, then the active file, as one stream
  if (!fd.log.exists) {
    fd.close();
    return { integrity: emptyIntegrity(path, false), recent: [], beforeWindow: null };
  }
  const size = fd.end;
  const parts = await scanRanges(
    path,
    fd,
    size,
    window,
    opts.recentLimit,
    opts.parallelMinBytes ?? PARALLEL_MIN_BYTES,
  );
  const integrity = emptyIntegrity(path, true);
  try {
    const malformed: LineProblem[] = [];
    const breaks: LineProblem[] = [];
    const windowLines: Array<{ offset: number; length: number; line: number }> = [];
    let recent: Array<{ offset: number; length: number }> = [];
    let newest: { offset: number; length: number; line: number } | null = null;
    let before: { offset: number; length: number } | null = null;
    const headerSpans: Array<{ offset: number; length: number }> = [];
    let base = 0;
    parts.forEach((p, i) => {
      integrity.lines += p.lines;
      integrity.bytes += p.bytes;
      integrity.records_all_time += p.records;
      integrity.malformed.count += p.malformed.count;
      integrity.chain.links_checked += p.chain.links;
      integrity.chain.breaks += p.chain.breaks;
      malformed.push(...p.malformed.samples.map((s) => ({ line: s.line + base, problem: s.problem })));
      breaks.push(
        ...p.chain.samples.map((s) => ({
          line: s.line + base,
          problem: chainText(s.line + base, s.problem),
        })),
      );
      const seamFrom = parts[i - 1]?.last ?? null;
      headerSpans.push(...p.headers);
      if (i > 0 && p.first && (p.first.inWindow || seamFrom?.inWindow || seamFrom?.hash)) {
        const expected = seamFrom
          ? (seamFrom.hash ?? hashLine(readAt(fd, seamFrom.offset, seamFrom.length)))
          : GENESIS_HASH;
        integrity.chain.links_checked++;
        if (p.first.prevHash !== expected) {
          integrity.chain.breaks++;
          breaks.push({ line: base + 1, problem: chainText(base + 1, CHAIN_EDITED) });
        }
      }
      for (const [k, offset] of p.window.offsets.entries()) {
        windowLines.push({ offset, length: p.window.lengths[k]!, line: p.window.lines[k]! + base });
      }
      recent = [...recent, ...p.recent].slice(-opts.recentLimit);
      if (p.newest) newest = { ...p.newest, line: p.newest.line + base };
      before = p.beforeWindow ?? before;
      base += p.lines;
    });
    integrity.torn_tail = parts.at(-1)!.tornTail;
    const headers = new Headers(fd, headerSpans);
    parseWindow(fd, headers, windowLines, integrity, malformed, onRecord);
    integrity.malformed.samples = malformed.sort((a, b) => a.line - b.line).slice(0, SAMPLE_LIMIT);
    integrity.chain.samples = breaks.sort((a, b) => a.line - b.line).slice(0, SAMPLE_LIMIT);
    const last = newest as { offset: number; length: number; line: number } | null;
    if (last) {
      const r = headers.expandAt(last.offset, last.length) as { ts?: unknown; bar_ts?: unknown } | null;
      if (r && typeof r.ts === 'string' && typeof r.bar_ts === 'string')
        integrity.newest = { ts: r.ts, bar_ts: r.bar_ts, line: last.line };
    }
    const span = before as { offset: number; length: number } | null;
    const beforeWindow = span
      ? (headers.expandAt(span.offset, span.length) as Record<string, unknown> | null)
      : null;
    return { integrity, recent: readRecent(headers, recent), beforeWindow };
  } finally {
    fd.close();
  }
}

/**
 * Reads lines by offset, in ascending order, through one reused block: a line already in the
 * block costs no read, so a week of neighbouring lines is a few large reads, not one per line.
 */
class LineReader {
  private static readonly BLOCK = 1 << 20;
  private buf = Buffer.alloc(LineReader.BLOCK);
  private from = 0;
  private to = 0;
  constructor(private readonly fd: LogReader) {}

  text(offset: number, length: number): string {
    if (offset < this.from || offset + length > this.to) {
      if (length > this.buf.length) this.buf = Buffer.alloc(length * 2);
      const n = this.fd.read(this.buf, 0, this.buf.length, offset);
      this.from = offset;
      this.to = offset + n;
    }
    const at = offset - this.from;
    const n = Math.min(length, this.to - offset);
    return this.buf.toString('utf8', at, n > 0 && this.buf[at + n - 1] === 0x0d ? at + n - 1 : at + n);
  }
}

/** Parse the window's lines in file order: schema-check, drop repeated ids, note late bars. */
function parseWindow(
  fd: LogReader,
  headers: Headers,
  lines: Array<{ offset: number; length: number; line: number }>,
  integrity: LogIntegrity,
  malformed: LineProblem[],
  onRecord: (r: DecisionRecord) => void,
): void {
  const ids = new Set<string>();
  const latestBySymbol = new Map<string, string>();
  const reader = new LineReader(fd);
  const bad = (line: number, problem: string) => {
    integrity.malformed.count++;
    malformed.push({ line, problem });
  };
  for (const { offset, length, line } of lines) {
    let record: DecisionRecord;
    try {
      const view = expandValue(JSON.parse(reader.text(offset, length)), headers.before(offset)).record;
      const checked = validate(DecisionRecord, view);
      if (!checked.ok) {
        bad(line, `schema: ${checked.errors[0]}`);
        continue;
      }
      record = checked.value;
    } catch (err) {
      const why = (err as Error).message;
      bad(line, err instanceof SyntaxError ? `invalid JSON (${why})` : why);
      continue;
    }
    if (ids.has(record.decision_id)) {
      integrity.duplicates_in_window++;
      continue;
    }
    ids.add(record.decision_id);
    const latest = latestBySymbol.get(record.symbol);
    if (latest !== undefined && record.bar_ts < latest) integrity.late_in_window++;
    else latestBySymbol.set(record.symbol, record.bar_ts);
    integrity.window_records++;
    onRecord(record);
  }
}

/** The last decisions' blocking stage and reason, read back by offset (a re-logged id counts once, at its last place). */
function readRecent(headers: Headers, entries: Array<{ offset: number; length: number }>): RecentDecision[] {
  const byId = new Map<string, RecentDecision>();
  for (const e of entries) {
    try {
      const r = headers.expandAt(e.offset, e.length) as Partial<RecentDecision> | null;
      if (!r || typeof r.decision_id !== 'string' || typeof r.bar_ts !== 'string') continue;
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
