/**
 * The write side of record v2: one decision compacted against its run header, through the
 * comparisons and packings compiled once per header (compiled.ts). The read side, and what both
 * share, is decision-codec.ts.
 */
import type { DecisionRecord, GateStage, ModelTraceEntry } from '../schema/decision.ts';
import type { HeaderStage, RunHeader } from '../schema/record.ts';
import {
  type Encode,
  equalTo,
  type FieldCodec,
  fieldsEncoder,
  type PackUnlessUsual,
  packedUnlessUsual,
  shapeEncoder,
  type Test,
  USUAL,
} from './compiled.ts';
import {
  costsOf,
  type DecisionDraft,
  indexOf,
  isObj,
  lineKey,
  RUN_FIELDS,
  RUN_VALUE,
  SHARED_FIELDS,
  stageIndices,
  trailingUnreached,
} from './decision-codec.ts';
import { idEndsWith } from './outcome-codec.ts';
import { same } from './shape.ts';

type Obj = Record<string, unknown>;
/** The gates' stage indices of the line being compacted (reused: one line at a time). */
let stageScratch: Int32Array = new Int32Array(64);

/** A decision's `ts` as milliseconds after its header's (the engine stamps a batch of decisions alike). */
let lastTs = { header: '', ts: '', value: '' as number | string };
function tsAfter(h: RunHeader, ts: string): number | string {
  if (lastTs.ts === ts && lastTs.header === h.ts) return lastTs.value;
  const base = Date.parse(h.ts);
  const after = Date.parse(ts) - base;
  const value = after >= 0 && new Date(base + after).toISOString() === ts ? after : ts;
  lastTs = { header: h.ts, ts, value };
  return value;
}

/** `^(0|[1-9]\d{0,14})$` without a regex: a tick sequence number that reads back as the same digits. */
function isSeq(s: string): boolean {
  const n = s.length;
  if (n === 0 || n > 15) return false;
  const c0 = s.charCodeAt(0);
  if (c0 === 48) return n === 1;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

const costValues = shapeEncoder({ keys: ['fees', 'slippage', 'spread', 'total'] });
/** `same(costs, costsOf(execution))`, the key order checked by a compiled packing: the costs a line may leave out. */
function costsImplied(costs: DecisionRecord['costs'], execution: DecisionRecord['execution']): boolean {
  const v = costValues(costs);
  if (!v) return false;
  const c = costsOf(execution);
  return v[0] === c.fees && v[1] === c.slippage && v[2] === c.spread && v[3] === c.total;
}

/** What encoding a line against one header stage needs, compiled for the stage's values. */
type StageCodec = {
  /** The index of each verdict the stage lists (the first listing wins), by verdict then reason. */
  outcomes: Map<string, Map<string | null, number>>;
  /** The last verdict looked up, and its index (a stage mostly repeats its verdict). */
  last: { verdict: string; reason: string | null; k: number };
  observed: Test;
  thresholds: Test;
  encodeObserved: Encode | null;
  /** `observed` and `encodeObserved` in one pass, where the stage has an observed shape. */
  packObserved: PackUnlessUsual | null;
  /** The static thresholds' keys, their values' positions in a gate's own, and a test per value. */
  thresholdKeys: string[];
  thresholdValues: Encode | null;
  thresholdTests: Test[];
};
/** The compiled side of a run header (see compiled.ts), built once per header. */
type HeaderCodec = {
  /** Each header stage's index by name, and each model's by `id@sha256`. */
  stageAt: Map<string, number>;
  modelAt: Map<string, number>;
  /** The header's value of each of RUN_FIELDS, in order. */
  run: unknown[];
  stages: StageCodec[];
  fields: (d: object, out: Obj) => void;
  sources: Map<string, Test>;
};

function compileStage(st: HeaderStage): StageCodec {
  const base = st.thresholds;
  const thresholdKeys = isObj(base) ? Object.keys(base) : [];
  const outcomes = new Map<string, Map<string | null, number>>();
  st.outcomes.forEach(([v, r], k) => {
    const m = outcomes.get(v) ?? new Map<string | null, number>();
    outcomes.set(v, m);
    if (!m.has(r)) m.set(r, k);
  });
  return {
    outcomes,
    last: { verdict: '', reason: null, k: -1 },
    observed: equalTo(st.observed),
    thresholds: equalTo(base),
    encodeObserved: st.observed_shape ? shapeEncoder(st.observed_shape) : null,
    packObserved: st.observed_shape ? packedUnlessUsual(st.observed_shape, st.observed) : null,
    thresholdKeys,
    thresholdValues: isObj(base) ? shapeEncoder({ keys: thresholdKeys }) : null,
    thresholdTests: thresholdKeys.map((k) => equalTo((base as Obj)[k])),
  };
}

const codecs = new WeakMap<RunHeader, HeaderCodec>();
let lastCodec: { h: RunHeader | null; c: HeaderCodec | null } = { h: null, c: null };
function codecOf(h: RunHeader): HeaderCodec {
  if (lastCodec.h === h) return lastCodec.c!;
  let c = codecs.get(h);
  if (!c) {
    const modelAt = new Map(h.models.map((x, i) => [`${x.model_id}@${x.sha256}`, i]));
    const fields = SHARED_FIELDS.map((k): FieldCodec => {
      const shape = h.shapes[k];
      if (shape && k in h.defaults && k !== 'model_trace')
        return { key: k, lineKey: lineKey(k), packUnlessUsual: packedUnlessUsual(shape, h.defaults[k]) };
      return {
        key: k,
        lineKey: lineKey(k),
        usual: k in h.defaults ? equalTo(h.defaults[k]) : undefined,
        pack:
          k === 'model_trace'
            ? (v) => (v as ModelTraceEntry[]).map((e) => encodeModel(modelAt, e))
            : shape
              ? shapeEncoder(shape)
              : undefined,
      };
    });
    const sources = new Map(Object.entries(h.source).map(([sym, src]) => [sym, equalTo(src)]));
    c = {
      stageAt: indexOf(h),
      modelAt,
      run: RUN_FIELDS.map((k) => RUN_VALUE[k](h)),
      stages: h.stages.map(compileStage),
      fields: fieldsEncoder(fields),
      sources,
    };
    codecs.set(h, c);
  }
  lastCodec = { h, c };
  return c;
}

function encodeGate(c: HeaderCodec, i: number, g: GateStage): unknown {
  if (i < 0) return g;
  const sc = c.stages[i]!;
  const last = sc.last;
  if (last.verdict !== g.verdict || last.reason !== g.reason) {
    last.verdict = g.verdict;
    last.reason = g.reason;
    last.k = sc.outcomes.get(g.verdict)?.get(g.reason) ?? -1;
  }
  const k: unknown = last.k === -1 ? [g.verdict, g.reason] : last.k;
  const skip = g.verdict === 'skip';
  let o: unknown;
  if (skip) {
    if (g.observed !== null) o = sc.encodeObserved?.(g.observed) ?? g.observed;
  } else if (sc.packObserved) {
    const p = sc.packObserved(g.observed);
    if (p !== USUAL) o = p ?? g.observed;
  } else if (!sc.observed(g.observed)) o = g.observed;
  let t: unknown;
  if (skip ? g.thresholds !== null : !sc.thresholds(g.thresholds)) {
    // The thresholds that moved, when the gate has the static ones' keys; else the gate's whole.
    const values = skip ? null : (sc.thresholdValues?.(g.thresholds) ?? null);
    if (values) {
      const diff: Obj = {};
      for (let j = 0; j < values.length; j++)
        if (!sc.thresholdTests[j]!(values[j])) diff[sc.thresholdKeys[j]!] = values[j];
      t = diff;
    } else t = [g.thresholds];
  }
  if (t !== undefined) return [i, k, o === undefined ? 0 : o, t]; // 0: the usual observed (a null observed is written as null)
  if (o !== undefined) return [i, k, o];
  return k === 0 ? i : [i, k];
}

const OUTPUT_KEYS = ['action', 'confidence', 'probabilities'];

/** A model's trace entry by its header index: `[i, action, confidence, probabilities]` used, `[i, reason]` skipped. */
function encodeModel(modelAt: Map<string, number>, e: ModelTraceEntry): unknown {
  const i = modelAt.get(`${e.model_id}@${e.sha256}`);
  if (i === undefined) return e;
  const out = e.output;
  if (e.status === 'used' && e.skip_reason === null && out && same(Object.keys(out), OUTPUT_KEYS))
    return [i, out.action, out.confidence, out.probabilities];
  if (e.status === 'skipped' && out === null && e.skip_reason !== null) return [i, e.skip_reason];
  return e;
}

/** The v2 line body of one decision under `h`: only what differs from the header (no chain field). */
export function compactDecision(h: RunHeader, d: DecisionDraft): Obj {
  // The decision time as milliseconds after the header's when that reads back exactly.
  const ts = tsAfter(h, d.ts);
  const out: Obj = { decision_id: d.decision_id, ts };
  // The bar time is left out when the id ends with it (the engine's ids always do).
  if (!idEndsWith(d.decision_id, d.bar_ts)) out.bar_ts = d.bar_ts;
  out.symbol = d.symbol;
  const cid = d.correlation_id;
  const seq = cid.startsWith(h.correlation_prefix) ? cid.slice(h.correlation_prefix.length) : '';
  out.cid = isSeq(seq) ? Number(seq) : cid;
  const c = codecOf(h);
  for (let j = 0; j < RUN_FIELDS.length; j++) {
    const k = RUN_FIELDS[j]!;
    if (d[k] !== c.run[j]) out[k] = d[k];
  }
  const source = c.sources.get(d.symbol);
  if (source ? !source(d.source) : d.source !== undefined) out.source = d.source;
  const fh = d.features_hash;
  if (fh === null) {
    if (h.defaults.features_hash !== null) out.fh = null;
  } else out.fh = fh.startsWith(h.features_prefix) ? fh.slice(h.features_prefix.length) : [fh];
  c.fields(d, out);
  const gates = d.gate_trace;
  const idx = c.stageAt;
  const m = gates.length;
  const at = stageIndices(gates, idx, stageScratch);
  stageScratch = at;
  const unreached = trailingUnreached(gates, at);
  const n = m - unreached;
  const listed: unknown[] = new Array(n);
  let b: GateStage | null = null; // the first block (the unreached gates after them are skips)
  for (let i = 0; i < n; i++) {
    const g = gates[i]!;
    if (b === null && g.verdict === 'block') b = g;
    listed[i] = encodeGate(c, at[i]!, g);
  }
  out.gates = listed;
  // The usual count after the last stage listed is the header's (most decisions stop the same way).
  if (unreached !== (h.stages[at[n - 1]!]?.unreached ?? 0)) out.unreached = unreached;
  if (d.blocked_stage !== (b ? b.stage : null) || d.block_reason !== (b ? b.reason : null)) {
    out.blocked_stage = d.blocked_stage;
    out.block_reason = d.block_reason;
  }
  if (d.confidence !== (d.signal ? d.signal.confidence : 0)) out.confidence = d.confidence;
  if (!costsImplied(d.costs, d.execution)) out.costs = d.costs;
  return out;
}
