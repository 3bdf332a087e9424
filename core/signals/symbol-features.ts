import { BrokenCircuitError, ConsecutiveBreaker, circuitBreaker, handleAll } from 'cockatiel';
import { type BreakerStateName, breakerStateName } from '../breaker-state.ts';
import type { Bar } from '../engine/feeds.ts';
import { FEATURE_COUNT, FeatureEngine } from '../features/feature-set.ts';
import { log } from '../log.ts';
import type { UsableModel } from '../models/registry.ts';
import { HtfTrend } from './htf.ts';

/** `current` when the decided bar's row is the feature engine's latest row (not in a batch). */
export const LIVE_ROW = -1;
/** `current` when no row is known for the bar. */
export const NO_ROW = -2;

/** A model whose runs fail this many times in a row is not called again for RUNNER_COOLDOWN_MS, then tried once. */
const RUNNER_FAILURES_TO_OPEN = 3;
const RUNNER_COOLDOWN_MS = 30_000;
const NO_OUTPUT = new Float32Array(0);

/**
 * One symbol's features, higher-timeframe trend and model outputs. A replay batch advances the
 * features over all of the batch's bars first and runs each model once on the whole chunk; the
 * engine then decides bar by bar, each bar reading its own row (computed from that bar and
 * earlier ones only). The live path is the same with a chunk of one bar.
 */
export class SymbolFeatures {
  readonly engine = new FeatureEngine();
  readonly htf: HtfTrend;
  rows = 0;
  current = NO_ROW;
  values = new Float64Array(0);
  ready = new Uint8Array(0);
  htfCode = new Int8Array(0);
  /** Per usable model: `rows × 3` probabilities of the current batch (empty until inferred). */
  probs: Float32Array[];
  /** Per usable model: why it gave no output for the current batch (null when it did). */
  failures: (string | null)[];
  private readonly breakers;
  private readonly allModels: readonly number[];
  private failedModels = 0;
  private ts = new Float64Array(0);
  private input = new Float32Array(0);
  private cursor = 0;
  private inferred = false;

  constructor(
    readonly timeframeMs: number,
    readonly models: UsableModel[],
  ) {
    this.htf = new HtfTrend(timeframeMs);
    this.probs = models.map(() => NO_OUTPUT);
    this.failures = models.map(() => null);
    this.allModels = models.map((_, i) => i);
    this.breakers = models.map(() =>
      circuitBreaker(handleAll, {
        halfOpenAfter: RUNNER_COOLDOWN_MS,
        breaker: new ConsecutiveBreaker(RUNNER_FAILURES_TO_OPEN),
      }),
    );
  }

  /** Each usable model's runner breaker, in model order. */
  breakerStates(): BreakerStateName[] {
    return this.breakers.map((b) => breakerStateName(b.state));
  }

  beginBatch(): void {
    this.rows = 0;
    this.cursor = 0;
    this.inferred = false;
  }

  /** A bar of the coming batch: advance the features now and keep its row. */
  addBar(bar: Bar): void {
    if (bar.openTs <= this.engine.lastOpenTs) return;
    if (this.rows === this.ts.length) this.grow();
    const r = this.rows++;
    this.advance(bar);
    this.ts[r] = bar.openTs;
    this.values.set(this.engine.row, r * FEATURE_COUNT);
    this.ready[r] = this.engine.ready ? 1 : 0;
    this.htfCode[r] = this.htf.code;
  }

  /**
   * Run every model once over the batch's rows, each behind its circuit breaker: a failing model
   * gives no output for the batch (its records say why) and the others carry on.
   */
  async infer(): Promise<void> {
    if (this.rows === 0 || this.models.length === 0) return;
    this.input.set(this.values.subarray(0, this.rows * FEATURE_COUNT));
    for (let m = 0; m < this.models.length; m++) {
      const model = this.models[m]!;
      const wasOk = this.failures[m] === null;
      try {
        this.probs[m] = await this.breakers[m]!.execute(() =>
          model.session.run(this.input, this.rows, FEATURE_COUNT),
        );
        this.failures[m] = null;
      } catch (err) {
        this.probs[m] = NO_OUTPUT;
        this.failures[m] =
          err instanceof BrokenCircuitError
            ? 'model_runner_circuit_open'
            : `model_runner_error:${String((err as Error)?.message ?? err)
                .split('\n')[0]!
                .slice(0, 120)}`;
        // Warn when a model starts failing, not on every batch while it keeps failing.
        if (wasOk) log.warn(`model ${model.id}: ${this.failures[m]}; decisions go on without it`);
      }
    }
    this.failedModels = this.failures.filter((f) => f !== null).length;
    this.inferred = true;
  }

  /** The bar about to be decided (or only observed): find its batch row, or advance the features live. */
  observe(bar: Bar): void {
    if (bar.openTs > this.engine.lastOpenTs) {
      this.advance(bar);
      this.current = LIVE_ROW;
      return;
    }
    while (this.cursor < this.rows && this.ts[this.cursor]! < bar.openTs) this.cursor++;
    this.current = this.cursor < this.rows && this.ts[this.cursor] === bar.openTs ? this.cursor : NO_ROW;
  }

  /** Features of the current bar (`row`, offset into `values` or the live row). */
  currentRow(): { row: Float64Array; offset: number; ready: boolean; htf: number } | null {
    if (this.current >= 0) {
      return {
        row: this.values,
        offset: this.current * FEATURE_COUNT,
        ready: this.ready[this.current] === 1,
        htf: this.htfCode[this.current]!,
      };
    }
    if (this.current === LIVE_ROW)
      return { row: this.engine.row, offset: 0, ready: this.engine.ready, htf: this.htf.code };
    return null;
  }

  /** Indices of the models that gave output for the current batch (the same array while all do). */
  runningModels(): readonly number[] {
    return this.failedModels === 0 ? this.allModels : this.allModels.filter((i) => this.failures[i] === null);
  }

  /** Whether model outputs exist for the current bar (it was part of an inferred batch). */
  get hasOutputs(): boolean {
    return this.inferred && this.current >= 0;
  }

  private advance(bar: Bar): void {
    this.engine.update(bar.openTs, bar.open, bar.high, bar.low, bar.close, bar.volume);
    this.htf.update(bar.openTs, this.timeframeMs, bar.close);
  }

  private grow(): void {
    const cap = Math.max(64, this.ts.length * 2);
    const grow = <T extends Float64Array | Float32Array | Uint8Array | Int8Array>(
      old: T,
      make: (n: number) => T,
      width = 1,
    ): T => {
      const next = make(cap * width);
      next.set(old as never);
      return next;
    };
    this.ts = grow(this.ts, (n) => new Float64Array(n));
    this.values = grow(this.values, (n) => new Float64Array(n), FEATURE_COUNT);
    this.input = new Float32Array(cap * FEATURE_COUNT);
    this.ready = grow(this.ready, (n) => new Uint8Array(n));
    this.htfCode = grow(this.htfCode, (n) => new Int8Array(n));
  }
}
