import { HeaderIndex, isHeaderLine } from '../records/reader.ts';
import { type LogReader, openLog } from '../records/segments.ts';
import { type DecisionSummary, summarize } from './decision-tail.ts';

export type DecisionFilter = {
  symbol?: string;
  action?: string;
  blocked_stage?: string;
  sinceMs?: number;
  untilMs?: number;
};

export type DecisionPage = {
  /** JSON text of each matching record in the full (v1) view, newest first. */
  lines: string[];
  /** Pass as `before` for the next (older) page; null when the start of the log was reached. */
  nextBefore: number | null;
  scannedBytes: number;
  fileBytes: number;
  /** True when the scan budget ran out before `limit` matches: continue from `nextBefore`. */
  scanLimited: boolean;
  malformedLines: number;
};

const NEWLINE = 0x0a;
const CHUNK = 64 * 1024;
/** Run-header indexes by log path: the server pages the same log again and again. */
const headerIndexes = new Map<string, HeaderIndex>();
function headersOf(path: string): HeaderIndex {
  let index = headerIndexes.get(path);
  if (!index) {
    index = new HeaderIndex(path);
    headerIndexes.set(path, index);
  }
  return index;
}

function matches(r: DecisionSummary, f: DecisionFilter): boolean {
  if (f.symbol !== undefined && r.symbol !== f.symbol) return false;
  if (f.action !== undefined && r.action !== f.action) return false;
  if (f.blocked_stage !== undefined && r.blocked_stage !== f.blocked_stage) return false;
  const ts = Date.parse(r.ts);
  if (f.untilMs !== undefined && !(ts <= f.untilMs)) return false;
  if (f.sinceMs !== undefined && !(ts >= f.sinceMs)) return false;
  return true;
}

/**
 * One page of the decision log, newest first, read backwards from the end (or from the `before`
 * cursor) in small chunks: a recent page costs a few reads however long the log is. An
 * unterminated final fragment (a write in progress) is not a record and is skipped. The log is in
 * append order, so a `since` filter stops the scan at the first older record.
 */
export function readDecisionPage(
  path: string,
  q: { limit: number; before: number | null; filter: DecisionFilter },
  maxScanBytes = 16 << 20,
): DecisionPage | 'invalid_cursor' {
  const empty: DecisionPage = {
    lines: [],
    nextBefore: null,
    scannedBytes: 0,
    fileBytes: 0,
    scanLimited: false,
    malformedLines: 0,
  };
  // Archives then the active file, as one stream: a cursor stays valid across a rotation.
  const fd = openLog(path);
  try {
    if (!fd.log.exists) return q.before !== null && q.before > 0 ? 'invalid_cursor' : empty;
    const first = fd.start; // bytes before it were removed by retention
    const size = fd.end;
    const end = q.before ?? size;
    const badCursor =
      q.before !== null && ((end > 0 && end < first) || (end > first && byteAt(fd, end - 1) !== NEWLINE));
    if (end > size || badCursor) return 'invalid_cursor';
    const page: DecisionPage = { ...empty, fileBytes: size };
    let fragment = q.before === null && end > first && byteAt(fd, end - 1) !== NEWLINE;
    let buf: Buffer = Buffer.alloc(0);
    let bufStart = end;
    let lineEnd = end;
    while (lineEnd > first && page.lines.length < q.limit) {
      const searchFrom = lineEnd - (fragment ? 1 : 2) - bufStart;
      const idx = searchFrom >= 0 ? buf.lastIndexOf(NEWLINE, searchFrom) : -1;
      if (idx < 0 && bufStart > first) {
        if (end - bufStart >= maxScanBytes) {
          page.scanLimited = true;
          break;
        }
        const start = Math.max(first, bufStart - CHUNK);
        const chunk = Buffer.alloc(bufStart - start);
        fd.read(chunk, 0, chunk.length, start);
        buf = Buffer.concat([chunk, buf.subarray(0, lineEnd - bufStart)]);
        bufStart = start;
        continue;
      }
      const lineStart = idx < 0 ? first : bufStart + idx + 1;
      if (!fragment) {
        let text = buf.toString('utf8', lineStart - bufStart, lineEnd - 1 - bufStart);
        if (text.endsWith('\r')) text = text.slice(0, -1);
        const { text: view, record } = isHeaderLine(text)
          ? { text, record: undefined }
          : summarize(text, headersOf(path).headerFor(lineStart));
        if (record === undefined) {
          // a run header: not a decision
        } else if (!record) page.malformedLines++;
        else if (q.filter.sinceMs !== undefined && Date.parse(record.ts) < q.filter.sinceMs) {
          lineEnd = first; // older than `since`: nothing further back can match
          break;
        } else if (matches(record, q.filter)) page.lines.push(view);
      }
      fragment = false;
      lineEnd = lineStart;
    }
    page.scannedBytes = end - bufStart;
    page.nextBefore = lineEnd > first ? lineEnd : null;
    return page;
  } finally {
    fd.close();
  }
}

function byteAt(fd: LogReader, offset: number): number {
  const one = Buffer.alloc(1);
  fd.read(one, 0, 1, offset);
  return one[0]!;
}
