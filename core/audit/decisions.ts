import { listSegments, logBytes, scanLog } from '../records/segments.ts';
import type { RemovedSegment } from '../schema/retention.ts';
import { GENESIS_HASH, hashLine, LogLines, prevHashOf } from './log-lines.ts';

/** One problem on one line of a file; `kind` groups them into checks. */
export type LineFault = {
  line: number;
  kind: 'chain' | 'schema' | 'header' | 'duplicate' | 'order' | 'truncated' | 'link';
  problem: string;
};

/** What a decision's fills add up to (the ledger must hold the same). */
export type FillTotals = { symbol: string; bar_ts: string; fills: number; quantity: number; fee: number };

/**
 * Decision ids seen, as 52-bit fingerprints in an open-addressing table of doubles: a million ids
 * in 16 MB rather than a million strings (or Set entries). A repeated fingerprint is only a
 * suspect until a second pass compares the ids themselves; a fingerprint match for an outcome's id
 * is trusted (a 2^-52 chance per outcome of a false link).
 */
export class IdSet {
  private slots = new Float64Array(1 << 16);
  private count = 0;
  readonly suspects = new Set<number>();
  static key(id: string): number {
    return Number(Bun.hash.wyhash(id) & 0xfffffffffffffn) || 1; // 0 marks an empty slot
  }
  /** The slot holding `k`, or the empty one where it belongs. */
  private slot(k: number): number {
    const mask = this.slots.length - 1;
    let i = (k >>> 0) & mask;
    while (this.slots[i] !== 0 && this.slots[i] !== k) i = (i + 1) & mask;
    return i;
  }
  add(id: string): void {
    const k = IdSet.key(id);
    const i = this.slot(k);
    if (this.slots[i] === k) {
      this.suspects.add(k);
      return;
    }
    this.slots[i] = k;
    if (++this.count * 10 > this.slots.length * 7) {
      const old = this.slots;
      this.slots = new Float64Array(old.length * 2);
      for (const v of old) if (v !== 0) this.slots[this.slot(v)] = v;
    }
  }
  has(id: string): boolean {
    const k = IdSet.key(id);
    return this.slots[this.slot(k)] === k;
  }
  get size(): number {
    return this.count;
  }
}

export type DecisionLogFacts = {
  path: string;
  exists: boolean;
  lines: number;
  bytes: number;
  records: number;
  /** Run header lines (record v2), valid or not. */
  headers: number;
  /** Problems in line order (the first `SAMPLE_LIMIT` of each kind), and how many of each. */
  faults: LineFault[];
  counts: Record<LineFault['kind'], number>;
  /** An unterminated last line: cut off (`truncated`), or still being appended (`growing`). */
  tail: { state: 'truncated' | 'growing'; line: number; offset: number; bytes: number } | null;
  bySymbol: Record<string, { decisions: number; first_bar: string; last_bar: string }>;
  ids: IdSet;
  fills: Map<string, FillTotals>;
  /** Segments read, and the archives retention removed (the chain starts from the last one's hash). */
  segments?: number;
  retention?: { removed: RemovedSegment[]; anchor: string; problem: string | null };
};

export const SAMPLE_LIMIT = 20;

/**
 * Does the file grow past `size` within a moment? An engine appends a chunk in more than one
 * write, so an unterminated tail it is still writing can look still for a few milliseconds; a
 * tail that stays put for 300 ms is a cut-off file, not an append in progress.
 */
export function growsWithin(path: string, size: number, ms = 300): boolean {
  for (let waited = 0; ; waited += 25) {
    if (logBytes(path) > size) return true;
    if (waited >= ms) return false;
    Bun.sleepSync(25);
  }
}

function emptyFacts(path: string, exists: boolean): DecisionLogFacts {
  return {
    path,
    exists,
    lines: 0,
    bytes: 0,
    records: 0,
    headers: 0,
    faults: [],
    counts: { chain: 0, schema: 0, header: 0, duplicate: 0, order: 0, truncated: 0, link: 0 },
    tail: null,
    bySymbol: {},
    ids: new IdSet(),
    fills: new Map(),
    segments: 0,
    retention: { removed: [], anchor: GENESIS_HASH, problem: null },
  };
}

/** A manifest whose removed archives do not chain one to the next says nothing trustworthy. */
function manifestChainProblem(removed: RemovedSegment[]): string | null {
  let expected = GENESIS_HASH;
  for (const r of removed) {
    if (r.first_prev_hash !== expected)
      return `removed segment ${r.file} does not link to the one before it in the manifest`;
    expected = r.last_hash;
  }
  return null;
}

/**
 * Stream the decision log once, in bounded memory: the hash chain from genesis over the raw
 * bytes (run headers included), every header's and record's schema (compact lines expanded
 * under the header before them), decision ids unique, each symbol's bars never going backwards, and
 * each executed decision's fill totals. A read error is thrown (the caller makes it exit 3).
 */
export function auditDecisionLog(path: string): DecisionLogFacts {
  const log = listSegments(path);
  if (!log.exists) return emptyFacts(path, false);
  const facts = emptyFacts(path, true);
  facts.segments = log.segments.length;
  facts.retention = {
    removed: log.removed,
    anchor: log.anchor,
    problem: log.manifestProblem ?? manifestChainProblem(log.removed),
  };
  const anchored = log.removed.length > 0;
  const fault = (f: LineFault) => {
    facts.counts[f.kind]++;
    if (facts.counts[f.kind] <= SAMPLE_LIMIT) facts.faults.push(f);
  };
  let expected = log.anchor;
  const lines = new LogLines();
  const scan = scanLog(log, (e) => {
    const { buffer: buf, start, end, lineNo } = e;
    const prev = prevHashOf(buf, start, end);
    // Every line the engine writes ends with its link; one without it is not the engine's.
    if (prev === null)
      fault({
        line: lineNo,
        kind: 'chain',
        problem: 'the line carries no prev_hash (the engine did not write it)',
      });
    else if (prev !== expected)
      fault({
        line: lineNo,
        kind: 'chain',
        problem:
          lineNo === 1
            ? anchored
              ? "the first kept line does not link to the retention manifest's anchor (an archive was removed or replaced outside retention)"
              : 'the first line does not start the chain from genesis (lines before it were removed)'
            : `prev_hash does not match line ${lineNo - 1}: line ${lineNo - 1} was edited, or lines were removed or inserted here`,
      });
    expected = hashLine(buf.subarray(start, end));
    const read = lines.read(e.line, lineNo);
    if (read.kind === 'header') {
      if (!read.ok) fault({ line: lineNo, kind: 'header', problem: read.problem });
      return;
    }
    if (!read.ok)
      return fault({ line: lineNo, kind: read.noHeader ? 'header' : 'schema', problem: read.problem });
    const r = read.record;
    facts.records++;
    facts.ids.add(r.decision_id);
    const sym = facts.bySymbol[r.symbol];
    if (!sym) facts.bySymbol[r.symbol] = { decisions: 1, first_bar: r.bar_ts, last_bar: r.bar_ts };
    else {
      sym.decisions++;
      // A halt decision shares its bar with the one before it: bars may repeat, never go back.
      if (r.bar_ts < sym.last_bar)
        fault({
          line: lineNo,
          kind: 'order',
          problem: `${r.symbol} bar ${r.bar_ts} comes after bar ${sym.last_bar}: records were moved or inserted`,
        });
      else sym.last_bar = r.bar_ts;
    }
    if (r.execution) {
      const t = facts.fills.get(r.decision_id) ?? {
        symbol: r.symbol,
        bar_ts: r.bar_ts,
        fills: 0,
        quantity: 0,
        fee: 0,
      };
      for (const f of r.execution.fills) {
        t.fills++;
        t.quantity += f.quantity;
        t.fee += f.fee;
      }
      facts.fills.set(r.decision_id, t);
    }
  });
  facts.lines = scan.lines;
  facts.bytes = scan.bytes;
  facts.headers = lines.headers;
  if (scan.tornTail) {
    const grew = growsWithin(path, scan.tornTail.offset + scan.tornTail.bytes);
    facts.tail = { state: grew ? 'growing' : 'truncated', line: scan.lines + 1, ...scan.tornTail };
    if (!grew)
      fault({
        line: scan.lines + 1,
        kind: 'truncated',
        problem: `the last line is cut short (${scan.tornTail.bytes} bytes with no newline at byte ${scan.tornTail.offset}): the file was truncated or an append was interrupted`,
      });
  }
  if (facts.ids.suspects.size > 0) confirmDuplicates(path, facts, fault);
  facts.faults.sort((a, b) => a.line - b.line);
  return facts;
}

/** Second pass, only when fingerprints repeated: compare the suspect ids themselves. */
function confirmDuplicates(path: string, facts: DecisionLogFacts, fault: (f: LineFault) => void): void {
  const firstLine = new Map<string, number>();
  const lines = new LogLines();
  scanLog(path, (e) => {
    const read = lines.read(e.line, e.lineNo);
    if (read.kind !== 'decision' || !read.ok) return;
    const id = read.record.decision_id;
    if (!facts.ids.suspects.has(IdSet.key(id))) return;
    const first = firstLine.get(id);
    if (first === undefined) firstLine.set(id, e.lineNo);
    else
      fault({
        line: e.lineNo,
        kind: 'duplicate',
        problem: `decision_id ${id} was already logged on line ${first}`,
      });
  });
}
