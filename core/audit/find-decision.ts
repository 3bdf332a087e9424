import { logExists, scanLog } from '../records/segments.ts';
import type { DecisionRecord } from '../schema/decision.ts';
import type { ForwardReturnOutcome, TradeOutcome } from '../schema/outcome.ts';
import { barOfLineAt, fieldNeedle, hasField, LogLines, readOutcomeLine, stringFieldAt } from './log-lines.ts';

export type NearBar = { bar_ts: string; line: number };

export type Found = {
  line: number;
  record: DecisionRecord;
  /** The newest forward-return line for it (a run that stopped early may have written a partial one first). */
  forward: ForwardReturnOutcome | null;
  /** Trades this decision opened or closed. */
  trades: TradeOutcome[];
};

export type WhyResult = {
  log: string;
  exists: boolean;
  symbol: string;
  bar_ts: string;
  /** Every decision at that bar (a halt arriving between bars adds a second, `…:halt`). */
  found: Found[];
  /** When none: the closest bars before and after for that symbol. */
  nearest: NearBar[];
  /** Symbols the log holds (to name them when the asked one has none). */
  symbols: string[];
  unreadable: number;
};

/**
 * The decisions of one symbol at one bar, streamed from the log: lines of other symbols are
 * passed over by their bytes, only the matching ones are parsed, expanded under the run header
 * before them and schema-checked. When none match, the nearest bars on either side are kept.
 */
export function findDecision(
  logPath: string,
  outcomesPath: string,
  symbol: string,
  barIso: string,
): WhyResult {
  const result: WhyResult = {
    log: logPath,
    exists: logExists(logPath),
    symbol,
    bar_ts: barIso,
    found: [],
    nearest: [],
    symbols: [],
    unreadable: 0,
  };
  if (!result.exists) return result;
  const want = fieldNeedle('symbol', symbol);
  const symbols = new Set<string>();
  const near: { before: NearBar | null; after: NearBar | null } = { before: null, after: null };
  const lines = new LogLines();
  scanLog(logPath, (e) => {
    const { buffer: buf, start, end } = e;
    // A run header is parsed only when a line under it is read.
    if (LogLines.isHeader(buf, start, end)) return lines.deferHeader(e.line, e.lineNo);
    if (!hasField(buf, start, end, want)) {
      const other = stringFieldAt(buf, start, end, 'symbol');
      if (other !== null) symbols.add(other);
      return;
    }
    symbols.add(symbol);
    const bar = barOfLineAt(buf, start, end);
    if (bar === null) return;
    if (bar === barIso) {
      const read = lines.read(e.line, e.lineNo);
      if (read.kind === 'decision' && read.ok)
        result.found.push({ line: e.lineNo, record: read.record, forward: null, trades: [] });
      else result.unreadable++;
    } else if (bar < barIso && (!near.before || bar >= near.before.bar_ts))
      near.before = { bar_ts: bar, line: e.lineNo };
    else if (bar > barIso && (!near.after || bar < near.after.bar_ts))
      near.after = { bar_ts: bar, line: e.lineNo };
  });
  result.symbols = [...symbols].sort();
  result.nearest = [near.before, near.after].filter((b): b is NearBar => b !== null);
  if (result.found.length > 0 && logExists(outcomesPath)) attachOutcomes(outcomesPath, result.found);
  return result;
}

/** Outcome lines naming the found decisions, read the same way (bytes first, parse on a match). */
function attachOutcomes(path: string, found: Found[]): void {
  const byId = new Map(found.map((f) => [f.record.decision_id, f]));
  const needles = found.map((f) => Buffer.from(JSON.stringify(f.record.decision_id)));
  scanLog(path, (e) => {
    if (!needles.some((n) => hasField(e.buffer, e.start, e.end, n))) return;
    const read = readOutcomeLine(e.line);
    if (!read.ok) return;
    const o = read.record;
    if (o.kind === 'forward_return') {
      const f = byId.get(o.decision_id);
      if (f) f.forward = o;
    } else for (const id of new Set([o.decision_id, o.exit_decision_id])) byId.get(id)?.trades.push(o);
  });
}
