import { barOfId } from '../core/records/outcome-codec.ts';
import { expandOutcome } from '../core/records/reader.ts';
import { logExists, scanLog } from '../core/records/segments.ts';
import { validate } from '../core/schema/ajv.ts';
import type { DecisionRecord } from '../core/schema/decision.ts';
import { DecisionOutcome } from '../core/schema/outcome.ts';
import { advisorAction } from './day-totals.ts';
import { compareDay } from './scan-range.ts';
import type { DayWindow } from './windows.ts';

/** What the counterfactual needs of one decision in the window. */
export type DecisionBrief = {
  id: string;
  symbol: string;
  bar_ts: string;
  regime: string;
  action: string;
  /** Exposure held after the decision: +1 long, -1 short, 0 flat. */
  exposure: number;
  advisor: string | null;
  advisor_confidence: number | null;
};

export function briefOf(r: DecisionRecord): DecisionBrief {
  const conf = r.rl_recommendation?.confidence;
  return {
    id: r.decision_id,
    symbol: r.symbol,
    bar_ts: r.bar_ts,
    regime: r.market.regime ?? 'unknown',
    action: r.action,
    exposure: r.position ? (r.position.side === 'long' ? 1 : -1) : 0,
    advisor: advisorAction(r),
    advisor_confidence: typeof conf === 'number' ? conf : null,
  };
}

/** Forward returns by horizon (bars) for each decision, from `rl/decision_outcomes.jsonl` (schema `core/schema/outcome.ts`). */
export type OutcomeIndex = {
  exists: boolean;
  lines: number;
  matched: number;
  unreadable: number;
  horizons: number[];
  returns: Map<string, Map<number, number>>;
};

const ID_KEY = Buffer.from('"decision_id":"');
const BAR_KEY = Buffer.from('"bar_ts":"');
const RETURNS_KEY = Buffer.from('"returns":[');
const dayOfId = (id: string) => barOfId(id)?.slice(0, 10) ?? null;

/**
 * Stream the outcomes file once; only lines naming a decision in the window are parsed and
 * schema-checked (a line that fails counts as unreadable). A missing file is "no data", never a pass.
 * With `window`, lines whose bar day falls outside it are passed over at the byte level (no
 * string per line, so a year of outcomes costs no memory), as are trade lines, which carry no bar.
 */
export function readOutcomes(path: string, wanted: Set<string>, window?: DayWindow): OutcomeIndex {
  const startDay = window ? Buffer.from(window.startDay) : null;
  const endDay = window ? Buffer.from(window.endDay) : null;
  const index: OutcomeIndex = {
    exists: logExists(path),
    lines: 0,
    matched: 0,
    unreadable: 0,
    horizons: [],
    returns: new Map(),
  };
  if (!index.exists) return index;
  const horizons = new Set<number>();
  const scan = scanLog(path, (e) => {
    const at = e.buffer.indexOf(ID_KEY, e.start);
    if (at < 0 || at >= e.end) {
      index.unreadable++;
      return;
    }
    const from = at + ID_KEY.length;
    const to = e.buffer.indexOf(0x22, from);
    if (startDay && endDay) {
      const bar = e.buffer.indexOf(BAR_KEY, e.start);
      let buf = e.buffer;
      let day = bar + BAR_KEY.length;
      if (bar < 0 || bar >= e.end) {
        // A v2 forward-return line leaves its bar out when the decision id ends with it.
        const returns = e.buffer.indexOf(RETURNS_KEY, e.start);
        const idDay = returns >= 0 && returns < e.end ? dayOfId(e.buffer.toString('latin1', from, to)) : null;
        if (!idDay) return;
        buf = Buffer.from(idDay);
        day = 0;
      }
      if (compareDay(buf, day, startDay) < 0 || compareDay(buf, day, endDay) >= 0) return; // [start, end)
    }
    const id = e.buffer.toString('utf8', from, to);
    if (!wanted.has(id)) return;
    let checked: ReturnType<typeof validate<typeof DecisionOutcome>>;
    try {
      checked = validate(DecisionOutcome, expandOutcome(JSON.parse(e.line)));
    } catch {
      checked = { ok: false, errors: ['invalid JSON'] };
    }
    if (!checked.ok) {
      index.unreadable++;
      return;
    }
    const outcome = checked.value;
    if (outcome.kind !== 'forward_return') return; // trade outcomes are read from the ledger
    const byH = index.returns.get(id) ?? new Map<number, number>();
    for (const [h, r] of Object.entries(outcome.forward_returns)) {
      if (r === null) continue;
      byH.set(Number(h), r);
      horizons.add(Number(h));
    }
    if (byH.size === 0) return;
    // A decision still open when a run stopped has a second, complete line from the next run.
    if (!index.returns.has(id)) index.matched++;
    index.returns.set(id, byH);
  });
  index.lines = scan.lines;
  index.horizons = [...horizons].sort((a, b) => a - b);
  return index;
}
