import { type BreakerStateName, MODEL_BREAKER_PREFIX } from '../breaker-state.ts';
import type { Bar, FeedTick } from '../engine/feeds.ts';
import type { SignalOutcome, SignalStage, StageContext, StageDecl } from '../engine/stages.ts';
import { featureIndex } from '../features/feature-set.ts';
import { argmax, combineVotes, type VotingStrategy } from '../models/ensemble.ts';
import type { ModelDirectory, UsableModel } from '../models/registry.ts';
import type { GateStage, ModelTraceEntry } from '../schema/decision.ts';
import { FEATURES_PASS, featuresHash, skip } from './gate-values.ts';
import { HTF_LABELS, HTF_NOT_READY } from './htf.ts';
import { adaptiveThreshold, classifyRegime } from './regime.ts';
import {
  SCALPING_THRESHOLDS,
  type Signal,
  type SignalAction,
  scalpingSignal,
  TECHNICAL_THRESHOLDS,
  technicalSignal,
} from './rules.ts';
import { SymbolFeatures } from './symbol-features.ts';

/** Sees every bar in order with its feature row, and adds its view to decided records (the shadow advisor). */
export interface BarListener {
  onBar(symbol: string, bar: Bar, row: Float64Array, offset: number, ready: boolean): void;
  recommend(
    symbol: string,
    row: Float64Array,
    offset: number,
    ready: boolean,
  ): Record<string, unknown> | null;
  checkpoint(): void;
  close(): void;
  /** What it has learned, for the ledger checkpoint, and back from it on start. */
  snapshot(): unknown;
  restore(saved: unknown): void;
}

export type ModelChainOptions = {
  models: ModelDirectory;
  timeframe: string;
  timeframeMs: number;
  voting: VotingStrategy;
  /** Base confidence threshold before the regime adjustment. */
  minConfidence: number;
  advisor: BarListener | null;
};

const CLASS_ACTION = ['short', 'hold', 'buy'] as const;
const NONE_RUNNING: readonly number[] = [];
const HTF_BOOST = { aligned: 0.1, strong: 0.15, cap: 0.95 };
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;
const ATR = featureIndex('atr_norm');

type SymbolModels = {
  features: SymbolFeatures;
  skippedTrace: ModelTraceEntry[];
  accuracy: number[];
  /** Why models never decide for this symbol; null when some are usable. */
  noModels: string | null;
};

/**
 * The model-aware signal chain (SPEC §3 steps 3–5): features → ensemble (two or more usable
 * models) → single model (one) → technical rules (none: the fallback, said so in the record) →
 * mean-reversion scalping behind the ADX filter (when the primary found nothing) → higher-
 * timeframe filter → regime-adaptive confidence threshold. Every stage's verdict is in the
 * gate trace; the record's blocker is the first stage that blocked.
 */
export class ModelSignalChain implements SignalStage {
  private readonly symbols = new Map<string, SymbolModels>();
  private readonly scratch = new Float64Array(3);

  constructor(private readonly opts: ModelChainOptions) {}

  /** The usable models by id and sha256: part of the run's configuration (and its config hash). */
  get modelFingerprint(): string[] {
    return this.opts.models.usable.map((m) => `${m.id}@${m.sha256}`).sort();
  }

  /** Every model loaded, usable or skipped, as the decision log's run header lists them. */
  get modelList(): Array<{ model_id: string; sha256: string | null; feature_set: string | null }> {
    const { usable, skipped } = this.opts.models;
    return [
      ...usable.map((m) => ({ model_id: m.id, sha256: m.sha256, feature_set: m.manifest.feature_set_id })),
      ...skipped.map((m) => ({ model_id: m.id, sha256: m.sha256, feature_set: null })),
    ];
  }

  private stateOf(symbol: string): SymbolModels {
    let s = this.symbols.get(symbol);
    if (!s) {
      const { models, timeframe, timeframeMs } = this.opts;
      const serves = (m: { symbol: string | null; timeframe: string | null }) =>
        m.symbol === null || (m.symbol === symbol && m.timeframe === timeframe);
      const usable = models.usable.filter((m) => serves(m.manifest));
      const skippedTrace = models.skipped.filter(serves).map(
        (m): ModelTraceEntry => ({
          model_id: m.id,
          sha256: m.sha256,
          status: 'skipped',
          skip_reason: m.reason,
          output: null,
        }),
      );
      s = {
        features: new SymbolFeatures(timeframeMs, usable),
        skippedTrace,
        accuracy: usable.map((m) => m.manifest.metrics.accuracy),
        noModels: usable.length === 0 ? `no_usable_models:${skippedTrace.length}_skipped` : null,
      };
      this.symbols.set(symbol, s);
    }
    return s;
  }

  async prepare(ticks: FeedTick[]): Promise<void> {
    for (const s of this.symbols.values()) s.features.beginBatch();
    for (const tick of ticks) for (const bar of tick.bars) this.stateOf(bar.symbol).features.addBar(bar);
    for (const s of this.symbols.values()) await s.features.infer();
  }

  observe(symbol: string, bar: Bar): void {
    const f = this.stateOf(symbol).features;
    f.observe(bar);
    const row = f.currentRow();
    if (row && this.opts.advisor) this.opts.advisor.onBar(symbol, bar, row.row, row.offset, row.ready);
  }

  checkpoint(): void {
    this.opts.advisor?.checkpoint();
  }

  /** Each model runner's breaker, `model:<id>` (`model:<id>@<symbol>` for a model serving every symbol). */
  circuitBreakers(): Record<string, BreakerStateName> {
    const states: Record<string, BreakerStateName> = {};
    for (const [symbol, s] of this.symbols) {
      const runners = s.features.breakerStates();
      s.features.models.forEach((m, i) => {
        const key = `${MODEL_BREAKER_PREFIX}${m.id}${m.manifest.symbol === null ? `@${symbol}` : ''}`;
        states[key] = runners[i]!;
      });
    }
    return states;
  }

  snapshot(): unknown {
    return this.opts.advisor ? { advisor: this.opts.advisor.snapshot() } : null;
  }

  restore(saved: unknown): void {
    const advisor = (saved as { advisor?: unknown } | null)?.advisor;
    if (advisor !== undefined) this.opts.advisor?.restore(advisor);
  }

  idleTrace(symbol: string): ModelTraceEntry[] {
    return this.stateOf(symbol).skippedTrace;
  }

  close(): void {
    this.opts.advisor?.close();
  }

  /** The confidence threshold's declared value is its base; the regime-adapted one differs on a line. */
  declareStages(): StageDecl[] {
    const base = this.opts.minConfidence;
    return [
      { stage: 'features', thresholds: null },
      { stage: 'ensemble', thresholds: null },
      { stage: 'ml', thresholds: null },
      { stage: 'technical', thresholds: { ...TECHNICAL_THRESHOLDS } },
      { stage: 'scalping', thresholds: { ...SCALPING_THRESHOLDS } },
      { stage: 'htf_filter', thresholds: { boost: 0 } },
      { stage: 'confidence', thresholds: { threshold: r4(base), base } },
    ];
  }

  evaluate(ctx: StageContext): SignalOutcome {
    const state = this.stateOf(ctx.symbol);
    const f = state.features;
    const row = f.currentRow();
    const ready = row?.ready ?? false;
    const gates: GateStage[] = [];
    const regime = classifyRegime(ctx.ind);
    gates.push(ready ? FEATURES_PASS : skip('features', `features_warming:${ctx.ind.bars}`));
    const ran = ready && f.hasOutputs;
    const running = ran ? f.runningModels() : NONE_RUNNING;
    const modelTrace = this.trace(state, ran, ready ? 'inference_unavailable' : 'features_not_ready');
    let signal: Signal | null = null;
    const usable = running.length;
    const noModels =
      state.noModels ?? (ready ? 'models_not_run:no_output' : 'models_not_run:features_warming');

    if (usable >= 2) {
      // Every model ran (the usual case): vote on the arrays as they are; else on the ones that did.
      const all = running.length === f.models.length;
      const probs = all ? f.probs : running.map((i) => f.probs[i]!);
      const accuracy = all ? state.accuracy : running.map((i) => state.accuracy[i]!);
      const vote = combineVotes(this.opts.voting, probs, f.current * 3, accuracy, this.scratch);
      signal = this.modelGate('ensemble', vote.classIndex, vote.confidence, ctx, gates, row, {
        models: usable,
        voting: this.opts.voting,
      });
    } else gates.push(skip('ensemble', usable === 1 ? 'single_model' : noModels));
    if (usable === 1) {
      const p = f.probs[running[0]!]!;
      const c = argmax(p, f.current * 3);
      signal = this.modelGate('ml', c, p[f.current * 3 + c]!, ctx, gates, row, {
        model: f.models[running[0]!]!.id,
      });
    } else gates.push(skip('ml', usable >= 2 ? 'ensemble_active' : noModels));
    if (usable === 0) {
      const tech = technicalSignal(ctx.ind);
      tech.gate.observed = { ...tech.gate.observed, fallback: true, fallback_reason: noModels };
      gates.push(tech.gate);
      signal = tech.signal;
    } else gates.push(skip('technical', 'model_primary'));
    if (!signal) {
      const scalp = scalpingSignal(ctx.ind);
      gates.push(scalp.gate);
      signal = scalp.signal;
    } else gates.push(skip('scalping', 'primary_signal_present'));

    signal = this.htfGate(signal, row?.htf ?? HTF_NOT_READY, gates);
    if (signal) {
      const threshold = adaptiveThreshold(this.opts.minConfidence, regime, signal.action);
      const observed = { confidence: r4(signal.confidence), regime };
      const thresholds = { threshold: r4(threshold), base: this.opts.minConfidence };
      if (signal.confidence < threshold) {
        gates.push({
          stage: 'confidence',
          verdict: 'block',
          reason: 'confidence_below_threshold',
          observed,
          thresholds,
        });
        signal = null;
      } else gates.push({ stage: 'confidence', verdict: 'pass', reason: null, observed, thresholds });
    } else gates.push(skip('confidence', 'no_signal'));

    return {
      gates,
      signal,
      blocked: signal ? null : (gates.find((g) => g.verdict === 'block') ?? null),
      modelTrace,
      featuresHash: row && ready ? featuresHash(row.row, row.offset) : null,
      regime,
      rlRecommendation:
        this.opts.advisor && row
          ? this.opts.advisor.recommend(ctx.symbol, row.row, row.offset, row.ready)
          : null,
    };
  }

  /** Model trace: skipped models with their reasons, then each usable model's output (or why it did not run). */
  private trace(state: SymbolModels, ran: boolean, notRunReason: string): ModelTraceEntry[] {
    const f = state.features;
    const out = state.skippedTrace.slice();
    f.models.forEach((m: UsableModel, i) => {
      const failure = ran ? f.failures[i] : notRunReason;
      if (failure) {
        out.push({ model_id: m.id, sha256: m.sha256, status: 'skipped', skip_reason: failure, output: null });
        return;
      }
      const p = f.probs[i]!;
      const at = f.current * 3;
      const c = argmax(p, at);
      out.push({
        model_id: m.id,
        sha256: m.sha256,
        status: 'used',
        skip_reason: null,
        output: {
          action: CLASS_ACTION[c]!,
          confidence: r4(p[at + c]!),
          probabilities: [r4(p[at]!), r4(p[at + 1]!), r4(p[at + 2]!)],
        },
      });
    });
    return out;
  }

  /** Ensemble or single-model verdict: flat blocks, a trade against the trend blocks, else a signal. */
  private modelGate(
    stage: 'ensemble' | 'ml',
    classIndex: number,
    confidence: number,
    ctx: StageContext,
    gates: GateStage[],
    row: ReturnType<SymbolFeatures['currentRow']>,
    extra: Record<string, string | number>,
  ): Signal | null {
    const action = CLASS_ACTION[classIndex]!;
    const observed = Object.assign(extra, { action, confidence: r4(confidence), trend: ctx.ind.trend });
    if (action === 'hold') {
      gates.push({ stage, verdict: 'block', reason: `${stage}_flat`, observed, thresholds: null });
      return null;
    }
    if ((action === 'buy' && ctx.ind.trend === 'down') || (action === 'short' && ctx.ind.trend === 'up')) {
      gates.push({ stage, verdict: 'block', reason: `${stage}_trend_blocked`, observed, thresholds: null });
      return null;
    }
    gates.push({ stage, verdict: 'pass', reason: `${stage}_${action}`, observed, thresholds: null });
    // Stops scale with volatility: 2 ATR, target twice that.
    const atr = row ? row.row[row.offset + ATR]! : 0.01;
    const stopPct = Math.min(0.05, Math.max(0.005, 2 * atr));
    return { action: action as SignalAction, confidence, source: stage, stopPct, takeProfitPct: 2 * stopPct };
  }

  /** Strict higher-timeframe filter: counter-trend rejected, aligned boosted; scalping signals are exempt. */
  private htfGate(signal: Signal | null, code: number, gates: GateStage[]): Signal | null {
    if (!signal) {
      gates.push(skip('htf_filter', 'no_signal'));
      return null;
    }
    if (signal.source === 'scalping') {
      gates.push(skip('htf_filter', 'scalping_signal'));
      return signal;
    }
    if (code === HTF_NOT_READY) {
      gates.push(skip('htf_filter', 'htf_warming'));
      return signal;
    }
    const trend = HTF_LABELS[code]!;
    const long = signal.action === 'buy';
    const observed = { htf_trend: trend, confidence: r4(signal.confidence) };
    if ((long && code < 0) || (!long && code > 0)) {
      gates.push({
        stage: 'htf_filter',
        verdict: 'block',
        reason: `htf_rejected:${long ? 'LONG' : 'SHORT'} against HTF ${trend}`,
        observed,
        thresholds: null,
      });
      return null;
    }
    const boost = code === 0 ? 0 : Math.abs(code) === 2 ? HTF_BOOST.strong : HTF_BOOST.aligned;
    gates.push({
      stage: 'htf_filter',
      verdict: 'pass',
      reason: code === 0 ? 'htf_neutral' : 'htf_aligned',
      observed,
      thresholds: { boost },
    });
    return boost ? { ...signal, confidence: Math.min(HTF_BOOST.cap, signal.confidence + boost) } : signal;
  }
}
