import type { DecisionRecord, GateStage, ModelTraceEntry } from '../schema/decision.ts';
import type { HeaderStage, RunHeader } from '../schema/record.ts';
import { type Encode, equalTo, type FieldCodec, fieldsEncoder, shapeEncoder, type Test } from './compiled.ts';
import { barOfId, idEndsWith } from './outcome-codec.ts';
import { copyJson as clone, decodeShape, same } from './shape.ts';

type Obj = Record<string, unknown>;
/** A decision as the pipeline builds it (the chain field is the writer's). */
export type DecisionDraft = Omit<DecisionRecord, 'prev_hash'> & { prev_hash?: string };

/** Top-level fields a line leaves out when they equal the header's default, or packs by its shape. */
export const SHARED_FIELDS = [
  'market',
  'model_trace',
  'rl_recommendation',
  'turnover',
  'risk_budget',
  'preservation_level',
  'signal',
  'action',
  'execution',
  'position',
] as const;
/** Short names on a v2 line for the full view's longest field names (the rest keep theirs). */
export const LINE_KEY: Partial<Record<(typeof SHARED_FIELDS)[number], string>> = {
  model_trace: 'models',
  rl_recommendation: 'rl',
  preservation_level: 'level',
};
const lineKey = (k: (typeof SHARED_FIELDS)[number]) => LINE_KEY[k] ?? k;
/** Per-run constants: on a line only when a record differs from its header. */
const RUN_FIELDS = ['schema_version', 'data_mode', 'mode', 'timeframe', 'config_hash'] as const;
const RUN_VALUE: Record<(typeof RUN_FIELDS)[number], (h: RunHeader) => unknown> = {
  schema_version: () => '1.0.0',
  data_mode: (h) => h.data_mode,
  mode: (h) => h.mode,
  timeframe: (h) => h.timeframe,
  config_hash: (h) => h.config_hash,
};
const NOT_REACHED = 'not_reached';
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Index of each header stage by name (cached per header object; the last one asked for at hand). */
const stageIndex = new WeakMap<RunHeader, Map<string, number>>();
let lastHeader: RunHeader | null = null;
let lastIndex: Map<string, number> | null = null;
function indexOf(h: RunHeader): Map<string, number> {
  if (h === lastHeader) return lastIndex!;
  let m = stageIndex.get(h);
  if (!m) {
    m = new Map(h.stages.map((s, i) => [s.stage, i]));
    stageIndex.set(h, m);
  }
  lastHeader = h;
  lastIndex = m;
  return m;
}

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

function costsOf(execution: DecisionRecord['execution']): DecisionRecord['costs'] {
  let fees = 0;
  let slippage = 0;
  const fills = execution ? execution.fills : null;
  for (let i = 0; fills && i < fills.length; i++) {
    fees += fills[i]!.fee;
    slippage += fills[i]!.slippage;
  }
  return { fees, slippage, spread: 0, total: fees + slippage };
}

const costValues = shapeEncoder({ keys: ['fees', 'slippage', 'spread', 'total'] });
/** `same(costs, costsOf(execution))` without building the object: the costs a line may leave out. */
function costsImplied(costs: DecisionRecord['costs'], execution: DecisionRecord['execution']): boolean {
  const v = costValues(costs);
  if (!v) return false;
  const c = costsOf(execution);
  return v[0] === c.fees && v[1] === c.slippage && v[2] === c.spread && v[3] === c.total;
}

function firstBlock(gates: GateStage[]): GateStage | null {
  for (let i = 0; i < gates.length; i++) if (gates[i]!.verdict === 'block') return gates[i]!;
  return null;
}

/** How many trailing gates are `not_reached` skips of the stages that follow in the header's order. */
export function trailingUnreached(gates: GateStage[], idx: Map<string, number>): number {
  let n = gates.length;
  while (n > 1) {
    const g = gates[n - 1]!;
    const at = idx.get(g.stage);
    const before = idx.get(gates[n - 2]!.stage);
    const implied =
      g.verdict === 'skip' && g.reason === NOT_REACHED && g.observed === null && g.thresholds === null;
    if (!implied || at === undefined || before === undefined || at !== before + 1) break;
    n--;
  }
  return gates.length - n;
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
  /** The static thresholds' keys, their values' positions in a gate's own, and a test per value. */
  thresholdKeys: string[];
  thresholdValues: Encode | null;
  thresholdTests: Test[];
};
/** The compiled side of a run header (see compiled.ts), built once per header. */
type HeaderCodec = {
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
    const fields = SHARED_FIELDS.map((k): FieldCodec => {
      const shape = h.shapes[k];
      return {
        key: k,
        lineKey: lineKey(k),
        usual: k in h.defaults ? equalTo(h.defaults[k]) : undefined,
        pack:
          k === 'model_trace'
            ? (v) => (v as ModelTraceEntry[]).map((e) => encodeModel(h, e))
            : shape
              ? shapeEncoder(shape)
              : undefined,
      };
    });
    const sources = new Map(Object.entries(h.source).map(([sym, src]) => [sym, equalTo(src)]));
    c = { stages: h.stages.map(compileStage), fields: fieldsEncoder(fields), sources };
    codecs.set(h, c);
  }
  lastCodec = { h, c };
  return c;
}

function encodeGate(c: HeaderCodec, idx: Map<string, number>, g: GateStage): unknown {
  const i = idx.get(g.stage);
  if (i === undefined) return g;
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
  if (skip ? g.observed !== null : !sc.observed(g.observed))
    o = sc.encodeObserved?.(g.observed) ?? g.observed;
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

function decodeGate(h: RunHeader, e: unknown): GateStage {
  if (isObj(e)) return e as GateStage;
  const [i, k, o, t] = (typeof e === 'number' ? [e] : e) as [number, unknown?, unknown?, unknown?];
  const st = h.stages[i];
  if (!st) throw new Error(`gate names stage ${i}, which the run header does not list`);
  const named = typeof k === 'number' || k === undefined ? st.outcomes[k ?? 0] : k;
  const [verdict, reason] = (Array.isArray(named) ? named : []) as [GateStage['verdict'], string | null];
  if (verdict === undefined)
    throw new Error(`gate names verdict ${k} of stage ${st.stage}, which is not listed`);
  // A skipped stage's usual observed values and thresholds are none.
  const skip = verdict === 'skip';
  const observed =
    o === undefined || o === 0
      ? skip
        ? null
        : clone(st.observed)
      : Array.isArray(o)
        ? decodeShape(st.observed_shape!, o)
        : (o as GateStage['observed']);
  const thresholds =
    t === undefined
      ? skip
        ? null
        : clone(st.thresholds)
      : Array.isArray(t)
        ? (t[0] as GateStage['thresholds'])
        : ({ ...st.thresholds, ...(t as Obj) } as GateStage['thresholds']);
  return { stage: st.stage, verdict, reason, observed: observed as GateStage['observed'], thresholds };
}

/** Index of each header model by id and sha256 (cached per header object). */
const modelIndex = new WeakMap<RunHeader, Map<string, number>>();
function modelAt(h: RunHeader, e: ModelTraceEntry): number | undefined {
  let m = modelIndex.get(h);
  if (!m) {
    m = new Map(h.models.map((x, i) => [`${x.model_id}@${x.sha256}`, i]));
    modelIndex.set(h, m);
  }
  return m.get(`${e.model_id}@${e.sha256}`);
}
const OUTPUT_KEYS = ['action', 'confidence', 'probabilities'];

/** A model's trace entry by its header index: `[i, action, confidence, probabilities]` used, `[i, reason]` skipped. */
function encodeModel(h: RunHeader, e: ModelTraceEntry): unknown {
  const i = modelAt(h, e);
  if (i === undefined) return e;
  const out = e.output;
  if (e.status === 'used' && e.skip_reason === null && out && same(Object.keys(out), OUTPUT_KEYS))
    return [i, out.action, out.confidence, out.probabilities];
  if (e.status === 'skipped' && out === null && e.skip_reason !== null) return [i, e.skip_reason];
  return e;
}

function decodeModel(h: RunHeader, e: unknown): ModelTraceEntry {
  if (isObj(e)) return e as ModelTraceEntry;
  const [i, a, confidence, probabilities] = e as [number, string, number, number[] | null];
  const m = h.models[i];
  if (!m) throw new Error(`model output names model ${i}, which the run header does not list`);
  const base = { model_id: m.model_id, sha256: m.sha256 };
  if ((e as unknown[]).length === 2) return { ...base, status: 'skipped', skip_reason: a, output: null };
  return {
    ...base,
    status: 'used',
    skip_reason: null,
    output: { action: a as NonNullable<ModelTraceEntry['output']>['action'], confidence, probabilities },
  };
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
  for (const k of RUN_FIELDS) if (d[k] !== RUN_VALUE[k](h)) out[k] = d[k];
  const c = codecOf(h);
  const source = c.sources.get(d.symbol);
  if (source ? !source(d.source) : d.source !== undefined) out.source = d.source;
  const fh = d.features_hash;
  if (fh === null) {
    if (h.defaults.features_hash !== null) out.fh = null;
  } else out.fh = fh.startsWith(h.features_prefix) ? fh.slice(h.features_prefix.length) : [fh];
  c.fields(d, out);
  const gates = d.gate_trace;
  const idx = indexOf(h);
  const unreached = trailingUnreached(gates, idx);
  const n = gates.length - unreached;
  const listed: unknown[] = [];
  let b: GateStage | null = null; // the first block (the unreached gates after them are skips)
  for (let i = 0; i < n; i++) {
    const g = gates[i]!;
    if (b === null && g.verdict === 'block') b = g;
    listed.push(encodeGate(c, idx, g));
  }
  out.gates = listed;
  // The usual count after the last stage listed is the header's (most decisions stop the same way).
  if (unreached !== (h.stages[idx.get(gates[n - 1]!.stage) ?? -1]?.unreached ?? 0)) out.unreached = unreached;
  if (d.blocked_stage !== (b ? b.stage : null) || d.block_reason !== (b ? b.reason : null)) {
    out.blocked_stage = d.blocked_stage;
    out.block_reason = d.block_reason;
  }
  if (d.confidence !== (d.signal ? d.signal.confidence : 0)) out.confidence = d.confidence;
  if (!costsImplied(d.costs, d.execution)) out.costs = d.costs;
  return out;
}

function shared(h: RunHeader, line: Obj, k: (typeof SHARED_FIELDS)[number]): unknown {
  const key = lineKey(k);
  if (!(key in line)) {
    if (!(k in h.defaults)) throw new Error(`line has no ${key} and the run header no default for it`);
    return clone(h.defaults[k]);
  }
  const v = line[key];
  if (k === 'model_trace') return (v as unknown[]).map((e) => decodeModel(h, e));
  return Array.isArray(v) ? decodeShape(h.shapes[k]!, v) : v;
}

/** The full (v1) view of a v2 line under its run header. */
export function expandDecision(h: RunHeader, line: Obj): DecisionRecord {
  const gate_trace = (line.gates as unknown[]).map((e) => decodeGate(h, e));
  const from = indexOf(h).get(gate_trace.at(-1)!.stage);
  const unreached =
    (line.unreached as number | undefined) ?? (from === undefined ? 0 : (h.stages[from]!.unreached ?? 0));
  if (unreached > 0 && from !== undefined) {
    for (let i = 1; i <= unreached; i++) {
      const st = h.stages[from + i];
      if (!st) throw new Error('unreached stages run past the run header’s stage list');
      gate_trace.push({
        stage: st.stage,
        verdict: 'skip',
        reason: NOT_REACHED,
        observed: null,
        thresholds: null,
      });
    }
  }
  const b = firstBlock(gate_trace);
  const signal = shared(h, line, 'signal') as DecisionRecord['signal'];
  const execution = shared(h, line, 'execution') as DecisionRecord['execution'];
  const fh = line.fh;
  const cid = line.cid;
  const ts = typeof line.ts === 'number' ? new Date(Date.parse(h.ts) + line.ts).toISOString() : line.ts;
  const run = (k: (typeof RUN_FIELDS)[number]) => (k in line ? line[k] : RUN_VALUE[k](h));
  return {
    schema_version: run('schema_version'),
    decision_id: line.decision_id,
    ts,
    bar_ts: line.bar_ts ?? barOfId(line.decision_id as string),
    data_mode: run('data_mode'),
    mode: run('mode'),
    symbol: line.symbol,
    timeframe: run('timeframe'),
    correlation_id: typeof cid === 'number' ? `${h.correlation_prefix}${cid}` : cid,
    source: 'source' in line ? line.source : clone(h.source[line.symbol as string]),
    market: shared(h, line, 'market'),
    features_hash:
      fh === undefined
        ? clone(h.defaults.features_hash ?? null)
        : typeof fh === 'string'
          ? `${h.features_prefix}${fh}`
          : Array.isArray(fh)
            ? fh[0]
            : null,
    model_trace: shared(h, line, 'model_trace'),
    gate_trace,
    blocked_stage: 'blocked_stage' in line ? line.blocked_stage : b ? b.stage : null,
    block_reason: 'block_reason' in line ? line.block_reason : b ? b.reason : null,
    rl_recommendation: shared(h, line, 'rl_recommendation'),
    turnover: shared(h, line, 'turnover'),
    risk_budget: shared(h, line, 'risk_budget'),
    preservation_level: shared(h, line, 'preservation_level'),
    signal,
    action: shared(h, line, 'action'),
    confidence: 'confidence' in line ? line.confidence : signal ? signal.confidence : 0,
    execution,
    costs: 'costs' in line ? line.costs : costsOf(execution),
    position: shared(h, line, 'position'),
    config_hash: run('config_hash'),
    prev_hash: line.prev_hash,
  } as DecisionRecord;
}
