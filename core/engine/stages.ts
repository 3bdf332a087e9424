import type { Portfolio } from '../broker/portfolio.ts';
import type { GateStage, ModelTraceEntry } from '../schema/decision.ts';
import type { IndicatorSet } from '../signals/indicator-set.ts';
import type { Signal } from '../signals/rules.ts';
import type { Bar, FeedTick } from './feeds.ts';
import type { Draft, PipelineConfig, TickContext } from './pipeline.ts';

/**
 * One stage of the pipeline as the run header declares it: its name and, when they follow from
 * the configuration alone, its thresholds. `thresholds` left out: they move with the run's state
 * (equity, capital-preservation level), so the header takes the usual ones from its decisions.
 */
export type StageDecl = { stage: string; thresholds?: GateStage['thresholds'] };

/** What every stage sees for one symbol's closed bar. */
export type StageContext = {
  symbol: string;
  bar: Bar;
  barIso: string;
  /** `${idPrefix}${compactUtc(bar.closeTs)}${idSuffix}`: the parts let a thread rebuild it from the bar time. */
  decisionId: string;
  idPrefix: string;
  idSuffix: string;
  ind: IndicatorSet;
  portfolio: Portfolio;
  tick: TickContext;
  cfg: PipelineConfig;
};

/** Steps 3–5 of the tick pipeline: features, models, signal gates. */
export type SignalOutcome = {
  gates: GateStage[];
  signal: Signal | null;
  /** The first stage that blocked when no signal survived (never overwritten by later stages). */
  blocked: GateStage | null;
  modelTrace: ModelTraceEntry[];
  featuresHash: string | null;
  regime: string | null;
  rlRecommendation: Record<string, unknown> | null;
};

export interface SignalStage {
  evaluate(ctx: StageContext): SignalOutcome;
  /** The stages it evaluates, in order, with their static thresholds (for the run header). */
  declareStages?(): StageDecl[];
  /** Once per feed batch, before its bars are decided (replay: a chunk; live: one tick): e.g. one model run per chunk. */
  prepare?(ticks: FeedTick[]): Promise<void>;
  /** Every bar of a symbol in order, decided or not (warm-up, history already decided before a restart). */
  observe?(symbol: string, bar: Bar): void;
  /** At each engine checkpoint, after the ledger commit: persist what the stage has learned (it may throttle). */
  checkpoint?(): void;
  /** State kept in the ledger checkpoint, consistent with the decisions it covers; `restore`d on start. */
  snapshot?(): unknown;
  restore?(saved: unknown): void;
  /** At the end of the run, after the last checkpoint. */
  close?(): void;
  /** Circuit breakers of what the stage depends on (model runners), by heartbeat key. */
  circuitBreakers?(): Record<string, string>;
  /** The model trace of a record the signal stages never saw (blocked earlier): the skipped models and why. */
  idleTrace?(symbol: string): ModelTraceEntry[];
}

/** Steps 6–8 for a signal that would open a position: turnover, risk budget, safety; sizes the entry. */
export type EntryVerdict = {
  gates: GateStage[];
  blocked: GateStage | null;
  /** Notional to open in quote currency; null when blocked. */
  notional: number | null;
  turnover: Record<string, unknown> | null;
  riskBudget: Record<string, unknown> | null;
};

export type PreservationState = { level: string; since: number | null; reason: string | null };

export interface EntryGuard {
  evaluate(ctx: StageContext, signal: Signal): EntryVerdict;
  /** The stages it evaluates, in order, with their static thresholds for the run's symbols (for the run header). */
  declareStages?(symbols: string[]): StageDecl[];
  /** The capital-preservation level to stamp on every record (null when not tracked). */
  preservationLevel(): string | null;
  /** The capital-preservation level with since when (epoch ms, bar time) and why, for the state file. */
  preservationState?(): PreservationState | undefined;
  /** A halt the guard raised (already written to the persistent halt flag); the engine stops at the end of the tick. */
  raisedHalt(): { reason: string } | null;
  /** State kept across restarts (daily counters, streaks, levels), stored in the ledger checkpoint. */
  snapshot(): unknown;
  restore(saved: unknown): void;
}

/** Sees every decision after it is made (outcome tracking, learners, counters). */
export interface DecisionObserver {
  onDecision(draft: Draft, ctx: StageContext): void;
  /** A bar that is not decided (history after an outage, bars decided before a restart, warm-up). */
  onBar?(symbol: string, bar: Bar): void;
  /** At each engine checkpoint, after the decision log is flushed: make what was recorded durable (awaited before `snapshot`). */
  checkpoint?(): void | Promise<void>;
  /** Bytes recorded since the last checkpoint and held in memory until it: past the engine's limit an unpaced run checkpoints early. */
  pendingBytes?(): number;
  /** At the end of the run, after the last checkpoint. */
  close?(): void | Promise<void>;
  /** Instead of `close` when the run failed: nothing more is written. */
  abandon?(): void;
  /** Called between the engine's batches: wait while what the observer queued is too far behind. */
  backpressure?(): Promise<void> | undefined;
  /** Names the observer's state in the ledger checkpoint; with it, `snapshot` is saved there and `restore`d on start. */
  readonly stateKey?: string;
  snapshot?(): unknown;
  restore?(saved: unknown): void;
}
