import type { StageDecl } from '../engine/stages.ts';
import type { GateStage } from '../schema/decision.ts';
import type { HeaderModel, HeaderStage, RunHeader } from '../schema/record.ts';
import { RECORD_SCHEMA_VERSION } from '../schema/record.ts';
import { type DecisionDraft, SHARED_FIELDS, stageIndices, trailingUnreached } from './decision-codec.ts';
import { commonValue, learnShape } from './shape.ts';

/** What the engine knows about a run before its first decision. */
export type RunInfo = {
  run_id: string;
  config_hash: string;
  mode: RunHeader['mode'];
  data_mode: RunHeader['data_mode'];
  timeframe: string;
  symbols: string[];
  source: RunHeader['source'];
  correlation_prefix: string;
  /** The models the run loaded (id, sha256, feature set); the header lists them by index. */
  models?: HeaderModel[];
  risk?: Record<string, unknown> | null;
  /**
   * The pipeline's stages in order with their static thresholds (`declaredStages`): the header's
   * stage list and thresholds are these, not learnt. Without it (a test, an old caller) both are
   * learnt from the decisions.
   */
  stages?: StageDecl[];
};

/** Verdicts a header names per stage (the rest are written out on the line). */
const MAX_OUTCOMES = 32;
const SHAPED = ['market', 'rl_recommendation', 'turnover', 'risk_budget', 'signal', 'position'] as const;

/**
 * The stages in pipeline order: the declared ones, then any a record names that is not declared,
 * placed right after the stage before it in that record.
 */
function stageOrder(samples: DecisionDraft[], declared: string[]): string[] {
  const order: string[] = [...declared];
  for (const d of samples) {
    let prev = -1;
    for (const g of d.gate_trace) {
      let at = order.indexOf(g.stage);
      if (at < 0) {
        at = prev + 1;
        order.splice(at, 0, g.stage);
      }
      prev = at;
    }
  }
  return order;
}

function learnStage(
  stage: string,
  gates: GateStage[],
  recent: GateStage[],
  declared: StageDecl | undefined,
): HeaderStage {
  const counts = new Map<string, { o: [GateStage['verdict'], string | null]; n: number }>();
  for (const g of gates) {
    const key = `${g.verdict}\u0000${g.reason}`;
    const c = counts.get(key);
    if (c) c.n++;
    else counts.set(key, { o: [g.verdict, g.reason], n: 1 });
  }
  const outcomes = [...counts.values()]
    .sort((a, b) => b.n - a.n)
    .slice(0, MAX_OUTCOMES)
    .map((c) => c.o);
  if (outcomes.length === 0) outcomes.push(['pass', null]); // declared, not seen yet
  // A skipped stage observes nothing and applies no thresholds (the codec's rule); the usual
  // values are those of the verdicts that judged.
  const judged = (list: GateStage[]) => list.filter((g) => g.verdict !== 'skip');
  const observed = judged(gates).map((g) => g.observed);
  const recentJudged = judged(recent);
  const st: HeaderStage = {
    stage,
    outcomes,
    observed: (commonValue(observed)?.value ?? null) as HeaderStage['observed'],
    thresholds:
      declared?.thresholds !== undefined
        ? declared.thresholds
        : usualThresholds(recentJudged.length > 0 ? recentJudged : judged(gates)),
  };
  const shape = learnShape(observed);
  if (shape) st.observed_shape = shape;
  return st;
}

/**
 * The thresholds a line may leave out: the most common set, unless the stage mostly reports none
 * but some set often enough that carrying it each time would cost more than a `[null]` on the rest.
 */
function usualThresholds(gates: GateStage[]): HeaderStage['thresholds'] {
  const set = gates.map((g) => g.thresholds).filter((t) => t !== null);
  const common = commonValue(set)?.value as HeaderStage['thresholds'] | undefined;
  if (!common)
    return (commonValue(gates.map((g) => g.thresholds))?.value ?? null) as HeaderStage['thresholds'];
  const hits = set.filter((t) => JSON.stringify(t) === JSON.stringify(common)).length;
  const nulls = gates.length - set.length;
  return hits * JSON.stringify(common).length > nulls * '[null]'.length ? common : null;
}

/** Each stage's usual count of `not_reached` stages after it when a record's listed gates end there. */
function withUnreached(stages: HeaderStage[], samples: DecisionDraft[]): HeaderStage[] {
  const idx = new Map(stages.map((s, i) => [s.stage, i]));
  const counts = new Map<string, number[]>();
  for (const d of samples) {
    const n = trailingUnreached(d.gate_trace, stageIndices(d.gate_trace, idx));
    const last = d.gate_trace[d.gate_trace.length - 1 - n]!.stage;
    const list = counts.get(last) ?? [];
    list.push(n);
    counts.set(last, list);
  }
  for (const st of stages) {
    const usual = commonValue(counts.get(st.stage) ?? [])?.value;
    if (typeof usual === 'number' && usual > 0) st.unreached = usual;
  }
  return stages;
}

/** `kind:prefix:` of most hashes (`atl-fs-1:`), so lines carry only the hash. */
function featuresPrefix(samples: DecisionDraft[]): string {
  const prefixes = samples.map((d) => {
    const fh = d.features_hash;
    return fh === null ? null : fh.slice(0, fh.lastIndexOf(':') + 1);
  });
  const common = commonValue(prefixes.filter((p) => p !== null))?.value;
  return typeof common === 'string' ? common : '';
}

/** Models by index: the run's own list, else the longest model trace among the samples. */
function modelsOf(info: RunInfo, samples: DecisionDraft[]): HeaderModel[] {
  if (info.models && info.models.length > 0) return info.models;
  let longest: DecisionDraft['model_trace'] = [];
  for (const d of samples) if (d.model_trace.length > longest.length) longest = d.model_trace;
  return longest.map((m) => ({ model_id: m.model_id, sha256: m.sha256, feature_set: null }));
}

/** A shared field's most common value is its default when at least this share of the sample has it. */
const DEFAULT_SHARE = 0.2;

/**
 * The run header: the run's identity and configuration from `info`, with the pipeline's declared
 * stage list and static thresholds (`info.stages`); and from the run's first decisions each
 * stage's usual verdicts and observed values (and the usual thresholds of a stage whose limits move
 * with the run's state), the values records share, and the shapes their objects take. A line then carries only what differs; any record fits, only its size varies.
 */
export function buildRunHeader(info: RunInfo, samples: DecisionDraft[], nowIso: string): RunHeader {
  const declared = new Map((info.stages ?? []).map((d) => [d.stage, d]));
  const order = stageOrder(samples, [...declared.keys()]);
  const byStage = new Map<string, GateStage[]>(order.map((s) => [s, []]));
  for (const d of samples) for (const g of d.gate_trace) byStage.get(g.stage)!.push(g);
  const recentByStage = new Map<string, GateStage[]>(order.map((s) => [s, []]));
  for (let i = Math.floor(samples.length / 2); i < samples.length; i++)
    for (const g of samples[i]!.gate_trace) recentByStage.get(g.stage)!.push(g);
  const defaults: Record<string, unknown> = {};
  // Values the run has settled into (a level reached, adaptive limits) by the end of the sample.
  const recent = samples.slice(Math.floor(samples.length / 2));
  for (const k of SHARED_FIELDS) {
    // Any usual value saves its bytes on the lines that have it; only a rare one is not worth a header entry.
    const common = commonValue(
      recent.map((d) => d[k]),
      DEFAULT_SHARE,
    );
    if (common) defaults[k] = common.value;
  }
  if (samples.length > 0 && commonValue(samples.map((d) => d.features_hash))?.value === null)
    defaults.features_hash = null;
  const shapes: RunHeader['shapes'] = {};
  for (const k of SHAPED) {
    const shape = learnShape(samples.map((d) => d[k]));
    if (shape) shapes[k] = shape;
  }
  return {
    kind: 'run',
    schema_version: RECORD_SCHEMA_VERSION,
    run_id: info.run_id,
    ts: nowIso,
    config_hash: info.config_hash,
    mode: info.mode,
    data_mode: info.data_mode,
    timeframe: info.timeframe,
    symbols: info.symbols,
    source: info.source,
    models: modelsOf(info, samples),
    correlation_prefix: info.correlation_prefix,
    features_prefix: featuresPrefix(samples),
    stages: withUnreached(
      order.map((s) => learnStage(s, byStage.get(s)!, recentByStage.get(s)!, declared.get(s))),
      samples,
    ),
    defaults,
    shapes,
    risk: info.risk ?? null,
    prev_hash: '',
  };
}
