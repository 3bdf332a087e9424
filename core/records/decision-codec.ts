/**
 * Record v2's decision lines, read side: a line expanded under its run header into the full (v1)
 * view; and what the write side (decision-compact.ts) shares with it — the fields a line may
 * leave out, their short names, the stage order.
 */
import type { DecisionRecord, GateStage, ModelTraceEntry } from '../schema/decision.ts';
import type { RunHeader } from '../schema/record.ts';
import { barOfId } from './outcome-codec.ts';
import { copyJson as clone, decodeShape } from './shape.ts';

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
export const lineKey = (k: (typeof SHARED_FIELDS)[number]) => LINE_KEY[k] ?? k;
/** Per-run constants: on a line only when a record differs from its header. */
export const RUN_FIELDS = ['schema_version', 'data_mode', 'mode', 'timeframe', 'config_hash'] as const;
export const RUN_VALUE: Record<(typeof RUN_FIELDS)[number], (h: RunHeader) => unknown> = {
  schema_version: () => '1.0.0',
  data_mode: (h) => h.data_mode,
  mode: (h) => h.mode,
  timeframe: (h) => h.timeframe,
  config_hash: (h) => h.config_hash,
};
const NOT_REACHED = 'not_reached';
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Index of each header stage by name (cached per header object; the last one asked for at hand). */
const stageIndex = new WeakMap<RunHeader, Map<string, number>>();
let lastHeader: RunHeader | null = null;
let lastIndex: Map<string, number> | null = null;
export function indexOf(h: RunHeader): Map<string, number> {
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

export function costsOf(execution: DecisionRecord['execution']): DecisionRecord['costs'] {
  let fees = 0;
  let slippage = 0;
  const fills = execution ? execution.fills : null;
  for (let i = 0; fills && i < fills.length; i++) {
    fees += fills[i]!.fee;
    slippage += fills[i]!.slippage;
  }
  return { fees, slippage, spread: 0, total: fees + slippage };
}

function firstBlock(gates: GateStage[]): GateStage | null {
  for (let i = 0; i < gates.length; i++) if (gates[i]!.verdict === 'block') return gates[i]!;
  return null;
}

/** Each gate's header stage index (-1: a stage the header does not list), into `at` when it is long enough. */
export function stageIndices(gates: GateStage[], idx: Map<string, number>, at?: Int32Array): Int32Array {
  const out = at && at.length >= gates.length ? at : new Int32Array(gates.length);
  for (let i = 0; i < gates.length; i++) out[i] = idx.get(gates[i]!.stage) ?? -1;
  return out;
}

/**
 * How many trailing gates are `not_reached` skips of the stages that follow in the header's order
 * (`at`: the gates' stage indices, from `stageIndices`).
 */
export function trailingUnreached(gates: GateStage[], at: Int32Array): number {
  let n = gates.length;
  while (n > 1) {
    const g = gates[n - 1]!;
    const i = at[n - 1]!;
    const before = at[n - 2]!;
    const implied =
      g.verdict === 'skip' && g.reason === NOT_REACHED && g.observed === null && g.thresholds === null;
    if (!implied || i < 0 || before < 0 || i !== before + 1) break;
    n--;
  }
  return gates.length - n;
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
