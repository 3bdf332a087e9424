/**
 * The one reader of the decision and outcome logs: it follows run headers in file order and
 * expands every line, v1 or v2, into the full (v1) view. Reports, the API, `verify`, `audit` and
 * `atl decisions` read through it, so a log of mixed versions reads the same everywhere.
 */
import type { JsonlScan } from '../fsx/jsonl.ts';
import { validate } from '../schema/ajv.ts';
import type { DecisionRecord } from '../schema/decision.ts';
import { DECISION_SCHEMA_VERSION } from '../schema/decision.ts';
import { RunHeader } from '../schema/record.ts';
import { expandDecision } from './decision-codec.ts';
import { expandOutcome } from './outcome-codec.ts';
import { LogReader, listSegments, logExists, openLog, scanLog } from './segments.ts';

export { expandOutcome };

/** Every header line starts with these bytes (the writer puts `kind` first). */
export const HEADER_START = Buffer.from('{"kind":"run"');

export type LogEntry =
  | { kind: 'header'; header: RunHeader }
  | { kind: 'decision'; record: DecisionRecord; version: 1 | 2 };

/** Does the line (bytes or text) open a run? */
export function isHeaderLine(line: Uint8Array | string): boolean {
  if (typeof line === 'string') return line.startsWith('{"kind":"run"');
  if (line.length < HEADER_START.length) return false;
  for (let i = 0; i < HEADER_START.length; i++) if (line[i] !== HEADER_START[i]) return false;
  return true;
}

/** A header line parsed and schema-checked (throws with what is wrong). */
export function parseHeader(value: unknown): RunHeader {
  const checked = validate(RunHeader, value);
  if (!checked.ok) throw new Error(`run header violates its schema: ${checked.errors.join('; ')}`);
  return checked.value;
}

/** The full view of one parsed decision line under `header` (v1 lines are already full). */
export function expandValue(
  value: unknown,
  header: RunHeader | null,
): { record: DecisionRecord; version: 1 | 2 } {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new Error('not a JSON object');
  const obj = value as Record<string, unknown>;
  if (obj.schema_version === DECISION_SCHEMA_VERSION && !('gates' in obj))
    return { record: obj as DecisionRecord, version: 1 };
  if (!Array.isArray(obj.gates))
    throw new Error('neither a v1 record nor a v2 line (no gate_trace or gates)');
  if (!header) throw new Error('a v2 decision line with no run header before it');
  return { record: expandDecision(header, obj), version: 2 };
}

/** Reads lines in file order, remembering the latest run header; `read` throws on a malformed line. */
export class RecordReader {
  header: RunHeader | null = null;
  headers = 0;

  constructor(header: RunHeader | null = null) {
    this.header = header;
  }

  read(text: string): LogEntry {
    const value = JSON.parse(text) as unknown;
    if (isHeaderLine(text) || (value as { kind?: unknown } | null)?.kind === 'run') {
      this.header = parseHeader(value);
      this.headers++;
      return { kind: 'header', header: this.header };
    }
    return { kind: 'decision', ...expandValue(value, this.header) };
  }
}

export type LineFailure = { line: number; offset: number; problem: string };

/**
 * Stream a decision log (constant memory): each decision in the full view, in file order, with
 * its line number; malformed lines are reported, never thrown. Headers are followed, not yielded.
 */
export function readDecisionLog(
  path: string,
  onRecord: (r: DecisionRecord, at: { line: number; offset: number }) => void,
  onProblem: (f: LineFailure) => void = () => {},
): JsonlScan & { headers: number } {
  const reader = new RecordReader();
  if (!logExists(path)) return { lines: 0, bytes: 0, tornTail: null, headers: 0 };
  const scan = scanLog(path, (e) => {
    let entry: LogEntry;
    try {
      entry = reader.read(e.line);
    } catch (err) {
      onProblem({ line: e.lineNo, offset: e.offset, problem: (err as Error).message });
      return;
    }
    if (entry.kind === 'decision') onRecord(entry.record, { line: e.lineNo, offset: e.offset });
  });
  return { lines: scan.lines, bytes: scan.bytes, tornTail: scan.tornTail, headers: reader.headers };
}

/** Stream an outcome log (v1 and v2 lines), each outcome in the full view. */
export function readOutcomeLog(
  path: string,
  onOutcome: (o: Record<string, unknown>, line: number) => void,
  onProblem: (f: LineFailure) => void = () => {},
): JsonlScan {
  if (!logExists(path)) return { lines: 0, bytes: 0, tornTail: null };
  return scanLog(path, (e) => {
    try {
      onOutcome(expandOutcome(JSON.parse(e.line) as Record<string, unknown>), e.lineNo);
    } catch (err) {
      onProblem({ line: e.lineNo, offset: e.offset, problem: (err as Error).message });
    }
  });
}

/** The run headers of the log by offset, parsed on first use, and the full view of a line by offset. */
export class HeaderSpans {
  private readonly parsed = new Map<number, RunHeader | null>();
  constructor(
    private readonly fd: LogReader,
    private readonly spans: Array<{ offset: number; length: number }>,
  ) {}

  /** The last header before `offset` (null: none, or unreadable). */
  before(offset: number): RunHeader | null {
    const at = lastBefore(this.spans, offset, (s) => s.offset);
    if (at < 0) return null;
    const span = this.spans[at]!;
    if (!this.parsed.has(span.offset)) {
      let h: RunHeader | null = null;
      try {
        h = parseHeader(JSON.parse(readSpan(this.fd, span.offset, span.length)));
      } catch {
        h = null;
      }
      this.parsed.set(span.offset, h);
    }
    return this.parsed.get(span.offset)!;
  }

  /** The full view of the line at `offset`, or null when it does not read. */
  expandAt(offset: number, length: number): DecisionRecord | null {
    try {
      return expandValue(JSON.parse(readSpan(this.fd, offset, length)), this.before(offset)).record;
    } catch {
      return null;
    }
  }
}

function readSpan(fd: LogReader, offset: number, length: number): string {
  const buf = Buffer.alloc(length);
  fd.read(buf, 0, length, offset);
  return buf.toString('utf8', 0, buf.at(-1) === 0x0d ? length - 1 : length);
}

/** Index of the last item whose offset is before `offset` (-1: none); `items` sorted by offset. */
function lastBefore<T>(items: T[], offset: number, at: (t: T) => number): number {
  let lo = 0;
  let hi = items.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (at(items[mid]!) < offset) {
      found = mid;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found;
}

/**
 * Run headers of one log by byte offset, for readers that start mid-file (API pages read
 * backwards, tails): `headerFor(offset)` is the last header before it. The index grows with the
 * file (only new bytes are searched), and a replaced or shrunk file is indexed afresh.
 */
export class HeaderIndex {
  private offsets: number[] = [];
  private readonly parsed = new Map<number, RunHeader | null>();
  private scanned = 0;
  private ino = -1;

  constructor(readonly path: string) {}

  headerFor(offset: number): RunHeader | null {
    this.refresh();
    const found = lastBefore(this.offsets, offset, (o) => o);
    return found < 0 ? null : this.load(this.offsets[found]!);
  }

  /** Offsets of every header line so far. */
  all(): number[] {
    this.refresh();
    return [...this.offsets];
  }

  private load(at: number): RunHeader | null {
    if (this.parsed.has(at)) return this.parsed.get(at)!;
    let header: RunHeader | null = null;
    const log = openLog(this.path); // offsets run across the rotated segments
    try {
      const chunks: Buffer[] = [];
      const buf = Buffer.alloc(64 * 1024);
      for (let pos = at; ; ) {
        const n = log.read(buf, 0, buf.length, pos);
        if (n === 0) break;
        const nl = buf.subarray(0, n).indexOf(0x0a);
        chunks.push(Buffer.from(buf.subarray(0, nl < 0 ? n : nl)));
        if (nl >= 0) break;
        pos += n;
      }
      header = parseHeader(JSON.parse(Buffer.concat(chunks).toString('utf8')));
    } catch {
      header = null; // an unreadable header: the lines under it are reported as malformed
    } finally {
      log.close();
    }
    this.parsed.set(at, header);
    return header;
  }

  private refresh(): void {
    const log = new LogReader(listSegments(this.path));
    if (!log.log.exists) {
      this.reset(-1);
      return;
    }
    try {
      // Offsets are stable across rotations; a log that now starts later (retention) or is shorter is indexed afresh.
      const st = { ino: log.start, size: log.end };
      if (st.ino !== this.ino || st.size < this.scanned) this.reset(st.ino);
      const needle = Buffer.concat([Buffer.from('\n'), HEADER_START]);
      const buf = Buffer.alloc(4 << 20);
      // Each read overlaps the last by the needle's length, so a header split across reads is found.
      let pos = Math.max(log.start, this.scanned - needle.length);
      if (this.scanned === 0 && st.size - log.start >= HEADER_START.length) {
        const head = Buffer.alloc(HEADER_START.length);
        log.read(head, 0, head.length, log.start);
        if (head.equals(HEADER_START)) this.offsets.push(log.start);
      }
      while (pos < st.size) {
        const n = log.read(buf, 0, Math.min(buf.length, st.size - pos), pos);
        if (n === 0) break;
        const view = buf.subarray(0, n);
        for (let i = view.indexOf(needle); i >= 0; i = view.indexOf(needle, i + 1)) {
          const at = pos + i + 1;
          if (at >= this.scanned && this.offsets.at(-1) !== at) this.offsets.push(at);
        }
        if (pos + n >= st.size) break;
        pos += n - needle.length;
      }
      this.scanned = st.size;
    } finally {
      log.close();
    }
  }

  private reset(ino: number): void {
    this.offsets = [];
    this.parsed.clear();
    this.scanned = 0;
    this.ino = ino;
  }
}
