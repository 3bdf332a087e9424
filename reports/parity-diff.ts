import type { CandleTape } from '../core/engine/candle-tape.ts';
import type { DecisionRecord } from '../core/schema/decision.ts';

/**
 * What legitimately differs between a live decision and its replay, and is left out of the
 * comparison by name (everything else in the record is compared).
 */
export const PARITY_EXCLUDED = [
  {
    field: 'ts',
    why: 'wall-clock decision time: live decided when the candle arrived, the replay as fast as it can',
  },
  { field: 'mode', why: 'the replay runs in backtest mode (with the captured mode’s limits and config)' },
  { field: 'data_mode', why: 'PAPER_LIVE/TESTNET/LIVE live, REPLAY in the replay' },
  { field: 'source', why: 'the exchange live, the candle tape in the replay' },
  { field: 'correlation_id', why: 'one per tick, carries the process’s run tag' },
  {
    field: 'decision_id (mode tag)',
    why: 'ids start with the mode tag (pl-, tn-… live, bt- replayed); matched without it',
  },
  {
    field: 'market.data_age_s',
    why: 'seconds between the close and delivery: the replay has no delivery delay',
  },
  { field: 'gate_trace[data_fetch].observed.age_s', why: 'the same data age, as the data stage observed it' },
  { field: 'execution.fills[].order_id', why: 'paper order ids carry the mode and the process’s run tag' },
  { field: 'prev_hash', why: 'the hash chain covers every byte of the line, the fields above included' },
] as const;

/**
 * Runs that placed exchange orders (testnet, live): the replay has no exchange, so the stages that
 * asked it (and the guardrails, which count its orders by wall-clock day) are left out by name.
 * A decision they changed still shows, at its action.
 */
export const ORDER_MODE_EXCLUDED = [
  { field: 'gate_trace[exchange_order]', why: 'the exchange’s answer to the order: the replay places none' },
  { field: 'gate_trace[live_guardrails]', why: 'counts exchange orders per wall-clock day: not replayable' },
] as const;
export const ORDER_MODE_STAGES: ReadonlySet<string> = new Set(['exchange_order', 'live_guardrails']);

/** The pseudo-stage of the model trace, placed after `features` (where the models run). */
export const MODELS_STAGE = 'models';

/** Fields compared after the stages, the action and the fills. */
const FIELDS = [
  'bar_ts',
  'timeframe',
  'market',
  'features_hash',
  'rl_recommendation',
  'turnover',
  'risk_budget',
  'preservation_level',
  'position',
  'config_hash',
  'schema_version',
] as const;

type Part = { name: string; verdict: string | null; json: string };

/** A decision as parity compares it: stages in pipeline order, then the action, fills and other fields. */
export type DecisionView = { key: string; id: string; symbol: string; bar_ts: string; parts: Part[] };

const ACTION = 'action';
const FILLS = 'fills';

/** The id without its mode tag: `pl-BTCUSDT-1s-…` and `bt-BTCUSDT-1s-…` are the same decision. */
export const parityKey = (decisionId: string) => decisionId.replace(/^[a-z]{2}-/, '');

export function viewOf(r: DecisionRecord, leftOut: ReadonlySet<string> = new Set()): DecisionView {
  const parts: Part[] = [];
  const models: Part = { name: MODELS_STAGE, verdict: null, json: JSON.stringify(r.model_trace) };
  const seen = new Map<string, number>();
  for (const g of r.gate_trace) {
    if (leftOut.has(g.stage)) continue;
    const observed =
      g.stage === 'data_fetch' && g.observed && 'age_s' in g.observed
        ? (({ age_s: _age, ...rest }) => rest)(g.observed)
        : g.observed;
    // A stage that appears twice (one gate per operator order) is told apart by its position.
    const n = (seen.get(g.stage) ?? 0) + 1;
    seen.set(g.stage, n);
    const name = n === 1 ? g.stage : `${g.stage}#${n}`;
    parts.push({ name, verdict: g.verdict, json: JSON.stringify({ ...g, observed }) });
    if (g.stage === 'features') parts.push(models);
  }
  if (!parts.includes(models)) parts.push(models);
  parts.push({
    name: ACTION,
    verdict: r.action,
    json: JSON.stringify([r.action, r.confidence, r.signal, r.blocked_stage, r.block_reason]),
  });
  const fills = r.execution?.fills.map(({ order_id: _id, ...f }) => f) ?? null;
  parts.push({ name: FILLS, verdict: null, json: JSON.stringify([fills, r.costs]) });
  const market = { ...r.market, data_age_s: null };
  for (const f of FIELDS)
    parts.push({ name: f, verdict: null, json: JSON.stringify(f === 'market' ? market : r[f]) });
  return { key: parityKey(r.decision_id), id: r.decision_id, symbol: r.symbol, bar_ts: r.bar_ts, parts };
}

/** A view kept small for whole logs: part names and verdicts, with a 64-bit hash of each part. */
export type Signature = {
  id: string;
  names: string[];
  verdicts: (string | null)[];
  hashes: bigint[];
};

export function signatureOf(v: DecisionView): Signature {
  return {
    id: v.id,
    names: v.parts.map((p) => p.name),
    verdicts: v.parts.map((p) => p.verdict),
    hashes: v.parts.map((p) => BigInt(Bun.hash(p.json))),
  };
}

export type PartDiff = {
  /** The first stage (or `action`, `fills`, a field) that differs, in pipeline order. */
  first: string;
  /** `missing` (a stage one side has and the other not), `verdict`, or `detail` (same verdict, other values). */
  kind: 'missing' | 'verdict' | 'detail';
  actionDiffers: boolean;
  fillsDiffer: boolean;
  /** Every differing part, in order. */
  parts: string[];
};

/** Compare two signatures part by part, in pipeline order; null when identical. */
export function diffSignatures(live: Signature, replay: Signature): PartDiff | null {
  const names = [...new Set([...live.names, ...replay.names])];
  const differing: Array<{ name: string; kind: PartDiff['kind'] }> = [];
  for (const name of orderedNames(live.names, replay.names, names)) {
    const a = live.names.indexOf(name);
    const b = replay.names.indexOf(name);
    if (a < 0 || b < 0) differing.push({ name, kind: 'missing' });
    else if (live.verdicts[a] !== replay.verdicts[b]) differing.push({ name, kind: 'verdict' });
    else if (live.hashes[a] !== replay.hashes[b]) differing.push({ name, kind: 'detail' });
  }
  if (differing.length === 0) return null;
  return {
    first: differing[0]!.name,
    kind: differing[0]!.kind,
    actionDiffers: differing.some((d) => d.name === ACTION),
    fillsDiffer: differing.some((d) => d.name === FILLS),
    parts: differing.map((d) => d.name),
  };
}

/** Live order, with stages only the replay has slotted in where the replay has them. */
function orderedNames(live: string[], replay: string[], all: string[]): string[] {
  const out = [...live];
  for (const name of all) {
    if (out.includes(name)) continue;
    const before = replay[replay.indexOf(name) - 1];
    const at = before === undefined ? 0 : out.indexOf(before) + 1;
    out.splice(at, 0, name);
  }
  return out;
}

/** The two values of one part, parsed back, for the evidence's table of first differences. */
export function partValues(live: DecisionView, replay: DecisionView, name: string) {
  const parse = (v: DecisionView) => {
    const p = v.parts.find((x) => x.name === name);
    return p ? (JSON.parse(p.json) as unknown) : null;
  };
  return { live: parse(live), replay: parse(replay) };
}

/** A decision of a whole log, as compared: its signature, position in the log and bar close (ms). */
export type Indexed = { sig: Signature; order: number; closeTs: number };

export type Diff = {
  key: string;
  id: string;
  diff: PartDiff | null;
  kind: PartDiff['kind'] | 'only_live' | 'only_replay';
};

export function compare(tape: CandleTape, live: Map<string, Indexed>, replay: Map<string, Indexed>) {
  // The last tick of each run: a crash can tape it and die before its decisions are logged.
  const lastTicks = new Set(tape.segments.map((s) => s.ticks.at(-1)?.closeTs).filter((t) => t !== undefined));
  const diffs: Diff[] = [];
  const firstStages: Record<string, number> = {};
  let identical = 0;
  let actions = 0;
  let fills = 0;
  let unlogged = 0;
  const ordered = [...live.entries()].sort((a, b) => a[1].order - b[1].order);
  for (const [key, l] of ordered) {
    const r = replay.get(key);
    if (!r) {
      diffs.push({ key, id: l.sig.id, diff: null, kind: 'only_live' });
      continue;
    }
    const d = diffSignatures(l.sig, r.sig);
    if (!d) identical++;
    else {
      diffs.push({ key, id: l.sig.id, diff: d, kind: d.kind });
      firstStages[d.first] = (firstStages[d.first] ?? 0) + 1;
      if (d.actionDiffers) actions++;
      if (d.fillsDiffer) fills++;
    }
  }
  let onlyReplay = 0;
  for (const [key, r] of replay) {
    if (live.has(key)) continue;
    if (lastTicks.has(r.closeTs)) unlogged++;
    else {
      onlyReplay++;
      diffs.push({ key, id: r.sig.id, diff: null, kind: 'only_replay' });
    }
  }
  const onlyLive = diffs.filter((d) => d.kind === 'only_live').length;
  return {
    diffs,
    firstStages,
    unlogged,
    counts: {
      live: live.size,
      replay: replay.size,
      identical,
      diverged: diffs.length - onlyLive - onlyReplay,
      only_live: onlyLive,
      only_replay: onlyReplay,
      unlogged_last_tick: unlogged,
      actions_differ: actions,
      fills_differ: fills,
    },
  };
}
