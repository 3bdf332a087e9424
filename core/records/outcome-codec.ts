import type { ForwardReturnOutcome } from '../schema/outcome.ts';
import { OUTCOME_SCHEMA_VERSION } from '../schema/outcome.ts';

type Obj = Record<string, unknown>;

/**
 * Outcome lines v2: a forward-return line carries `returns` ([1, 5, 20] bars, null while unknown)
 * and how long after its bar it was realised (`realised_after_s`); `kind` is implied by `returns`,
 * `action` is left out when it is `hold`, `complete` when true, the signal's and the shadow
 * advisor's actions when there were none. Trade lines keep their full shape (less than one in a
 * hundred lines). The full (v1) view adds `schema_version`, `kind`, `bar_ts` and the rest back.
 */
export function compactForward(
  id: string,
  symbol: string,
  barTs: string,
  barMs: number,
  price: number,
  returns: [number, number, number],
  realisedMs: number,
  complete: boolean,
  action: string,
  signalAction: string | null,
  shadowAction: string | null,
): string {
  // One object stringified once: the runtime's JSON.stringify writes it flat, far cheaper than
  // concatenating the line (a returns' NaN, not known yet, is written null).
  const line: Obj = { decision_id: id, symbol };
  if (!idEndsWith(id, barTs)) line.bar_ts = barTs;
  line.entry_price = price;
  line.returns = returns;
  line.realised_after_s = (realisedMs - barMs) / 1000;
  if (!complete) line.complete = false;
  if (action !== 'hold') line.action = action;
  if (signalAction !== null) line.signal_action = signalAction;
  if (shadowAction !== null) line.shadow_action = shadowAction;
  return JSON.stringify(line);
}

/** `…-20240101T000100Z` (optionally `:halt`) names the bar `2024-01-01T00:01:00.000Z`. */
const ID_TIME = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z(?::[\w-]+)?$/;
export function barOfId(id: string): string | null {
  const m = ID_TIME.exec(id);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : null;
}
const BAR_FIELD = /"bar_ts":"([^"]+)"/;
const LEADING_ID = /^\{"decision_id":"([^"]+)"/;
/** A decision line's bar time from its text: its `bar_ts`, else (a v2 line, which opens with its id, leaves it out) the one the id ends with. */
export function barOfLine(text: string): string | null {
  const bar = BAR_FIELD.exec(text)?.[1];
  if (bar !== undefined) return bar;
  const id = LEADING_ID.exec(text)?.[1];
  return id === undefined ? null : barOfId(id);
}
/** The cheap check on the write path: the id's time, compacted, followed by nothing or `:suffix`. */
export function idEndsWith(id: string, barTs: string): boolean {
  if (barTs.length !== 24 || !barTs.endsWith('.000Z')) return false;
  if (endsWithCompact(id, barTs)) return true; // the engine's ids: no text built

  const compact = `-${barTs.slice(0, 4)}${barTs.slice(5, 7)}${barTs.slice(8, 10)}T${barTs.slice(11, 13)}${barTs.slice(14, 16)}${barTs.slice(17, 19)}Z`;
  const at = id.lastIndexOf(compact);
  if (at < 0) return false;
  const end = at + compact.length;
  return end === id.length || (id[end] === ':' && barOfId(id) === barTs);
}

/** Offsets into an ISO time of the digits of its compact form `YYYYMMDDTHHMMSS`, in order (-1: the `T`). */
const COMPACT_FROM = [0, 1, 2, 3, 5, 6, 8, 9, -1, 11, 12, 14, 15, 17, 18];
/** `id` ends with `-` and the compact form of `barTs` (`…-20240101T000100Z`), compared in place. */
function endsWithCompact(id: string, barTs: string): boolean {
  const at = id.length - 17;
  if (at < 0 || id.charCodeAt(at) !== 45 || id.charCodeAt(id.length - 1) !== 90) return false;
  for (let i = 0; i < 15; i++) {
    const from = COMPACT_FROM[i]!;
    if (id.charCodeAt(at + 1 + i) !== (from < 0 ? 84 : barTs.charCodeAt(from))) return false;
  }
  return true;
}

/** The full (v1) view of an outcome line, v1 or v2; v1 lines are returned as they are. */
export function expandOutcome(line: Obj): Obj {
  if (!Array.isArray(line.returns)) return line;
  const id = line.decision_id as string;
  const barTs = (line.bar_ts as string | undefined) ?? barOfId(id);
  const [r1, r5, r20] = line.returns as Array<number | null>;
  const after = line.realised_after_s;
  const out: ForwardReturnOutcome = {
    schema_version: OUTCOME_SCHEMA_VERSION,
    kind: 'forward_return',
    decision_id: id,
    symbol: line.symbol as string,
    bar_ts: barTs as string,
    entry_price: line.entry_price as number,
    forward_returns: { '1': r1 ?? null, '5': r5 ?? null, '20': r20 ?? null },
    realised_bar_ts:
      typeof after === 'number' && barTs ? new Date(Date.parse(barTs) + after * 1000).toISOString() : '',
    complete: line.complete !== false,
    action: ((line.action as string | undefined) ?? 'hold') as ForwardReturnOutcome['action'],
    signal_action: ((line.signal_action as string | undefined) ??
      null) as ForwardReturnOutcome['signal_action'],
    shadow_action: (line.shadow_action as string | undefined) ?? null,
  };
  return out as unknown as Obj;
}
