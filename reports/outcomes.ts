import { existsSync } from 'node:fs';
import { scanJsonl } from '../core/fsx/jsonl.ts';
import type { DecisionRecord } from '../core/schema/decision.ts';
import { advisorAction } from './day-totals.ts';

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

/** Forward returns by horizon (bars) for each decision, from `rl/decision_outcomes.jsonl`. */
export type OutcomeIndex = {
  exists: boolean;
  lines: number;
  matched: number;
  unreadable: number;
  horizons: number[];
  returns: Map<string, Map<number, number>>;
};

const ID_KEY = Buffer.from('"decision_id":"');

/** Numbers keyed by horizon from the shapes an outcome line may carry: `{forward_returns: {"1": r}}`, `{horizon_bars, forward_return}`, `fwd_return_5`. */
function horizonReturns(o: Record<string, unknown>): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const fr = o.forward_returns;
  if (fr && typeof fr === 'object') {
    for (const [k, v] of Object.entries(fr as Record<string, unknown>)) {
      const h = Number(k.replace(/\D/g, ''));
      if (h > 0 && typeof v === 'number' && Number.isFinite(v)) out.push([h, v]);
    }
  }
  if (typeof o.horizon_bars === 'number' && typeof o.forward_return === 'number')
    out.push([o.horizon_bars, o.forward_return]);
  for (const [k, v] of Object.entries(o)) {
    const m = /^fwd_return_(\d+)$/.exec(k);
    if (m && typeof v === 'number') out.push([Number(m[1]), v]);
  }
  return out;
}

/**
 * Stream the outcomes file once; only lines naming a decision in the window are parsed. A
 * missing file is "no data", never a pass.
 */
export function readOutcomes(path: string, wanted: Set<string>): OutcomeIndex {
  const index: OutcomeIndex = {
    exists: existsSync(path),
    lines: 0,
    matched: 0,
    unreadable: 0,
    horizons: [],
    returns: new Map(),
  };
  if (!index.exists) return index;
  const horizons = new Set<number>();
  const scan = scanJsonl(path, (e) => {
    const at = e.buffer.indexOf(ID_KEY, e.start);
    if (at < 0 || at >= e.end) {
      index.unreadable++;
      return;
    }
    const from = at + ID_KEY.length;
    const to = e.buffer.indexOf(0x22, from);
    const id = e.buffer.toString('utf8', from, to);
    if (!wanted.has(id)) return;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(e.line);
    } catch {
      index.unreadable++;
      return;
    }
    const pairs = horizonReturns(o);
    if (pairs.length === 0) return;
    index.matched++;
    const byH = index.returns.get(id) ?? new Map<number, number>();
    for (const [h, r] of pairs) {
      byH.set(h, r);
      horizons.add(h);
    }
    index.returns.set(id, byH);
  });
  index.lines = scan.lines;
  index.horizons = [...horizons].sort((a, b) => a - b);
  return index;
}
