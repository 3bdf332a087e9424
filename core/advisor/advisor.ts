import type { Bar } from '../engine/feeds.ts';
import { featureIndex } from '../features/feature-set.ts';
import { writeJsonAtomic } from '../fsx/atomic.ts';
import { keepDamagedCopy, readJsonFile } from '../fsx/json-file.ts';
import { log } from '../log.ts';
import { ADVISOR_STATE_SCHEMA_VERSION, AdvisorState } from '../schema/advisor.ts';
import { validate } from '../schema/ajv.ts';
import type { BarListener } from '../signals/model-chain.ts';
import { AGENTS, agentStances, CONTEXT_SIZE, contextOf } from './agents.ts';
import { LinUcb } from './bandit.ts';
import { breaksDailyClamp, ClampedWeights, dailyShift } from './weights.ts';

const LEARNER = 'linucb-v1';
/** Bars until a stance's outcome is known (the 5-bar forward return). */
const HORIZON = 5;
/** Round-trip cost a traded stance pays (fees 2 × 0.1%, slippage 2 × 0.05%). */
const ROUND_TRIP_COST = 0.003;
/** Performance memory: an EWMA over roughly the last 200 realised outcomes per agent. */
const PERFORMANCE_DECAY = 0.995;
const WEIGHT_TEMPERATURE = 0.25;
const SAVE_EVERY_MS = 5_000;
const VOL = featureIndex('vol_20');
const A = AGENTS.length;
const r4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** One symbol's stances and contexts of the last HORIZON bars, waiting for their outcome. */
class Pending {
  readonly contexts = new Float64Array((HORIZON + 1) * CONTEXT_SIZE);
  readonly stances = new Float64Array((HORIZON + 1) * A);
  readonly closes = new Float64Array(HORIZON + 1);
  readonly vols = new Float64Array(HORIZON + 1);
  /** Each slot's bar close time: a stance is scored only against the bar exactly HORIZON bars later. */
  readonly closeTs = new Float64Array(HORIZON + 1);
  count = 0;

  /** Close time of the newest bar taken in: bars replayed after a restart are not learned twice. */
  get newestCloseTs(): number {
    return this.count > 0 ? this.closeTs[(this.count - 1) % (HORIZON + 1)]! : Number.NEGATIVE_INFINITY;
  }
}

/**
 * The shadow advisor ("RL recommendation"): five agents each take a stance on every bar; a
 * LinUCB contextual bandit learns, from each stance's realised 5-bar return net of costs (in
 * volatility units), which agent to trust in which context; strategy weights follow the agents'
 * realised performance, clamped to ±10 points per UTC day and [5%, 50%] each. Its recommendation
 * is logged in every record and never executed. Learning happens bar by bar in order, so a
 * replay batch and the live path learn identically.
 */
export class ShadowAdvisor implements BarListener {
  private readonly bandit = new LinUcb(A, CONTEXT_SIZE);
  private readonly weights = new ClampedWeights(A);
  private readonly performance = new Float64Array(A);
  private readonly pending = new Map<string, Pending>();
  private readonly stances = new Float64Array(A);
  private readonly context = new Float64Array(CONTEXT_SIZE);
  private readonly target = new Float64Array(A);
  private preferences: Record<string, number> = {};
  /** The weights the day's clamp counts from, logged beside them so `health-daily` measures from the same reference. */
  private dayStartPreferences: Record<string, number> = {};
  private dayStartLogged = Number.NaN;
  private lastWeightHour = -1;
  private updates = 0;
  private loaded = false;
  private dirty = false;
  private savedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly statePath: string | null) {
    this.refreshPreferences();
  }

  onBar(symbol: string, bar: Bar, row: Float64Array, offset: number, ready: boolean): void {
    if (!this.loaded) this.load();
    if (!ready) return;
    let p = this.pending.get(symbol);
    if (!p) {
      p = new Pending();
      this.pending.set(symbol, p);
    }
    if (bar.closeTs <= p.newestCloseTs) return;
    if (p.count >= HORIZON) {
      const past = (p.count - HORIZON) % (HORIZON + 1);
      // After a gap (an outage, the engine down) the bar HORIZON bars on never came: nothing to learn.
      if (bar.closeTs - p.closeTs[past]! === HORIZON * (bar.closeTs - bar.openTs))
        this.learn(p, past, bar.close);
    }
    const slot = p.count % (HORIZON + 1);
    p.closeTs[slot] = bar.closeTs;
    contextOf(row, offset, p.contexts, slot * CONTEXT_SIZE);
    agentStances(row, offset, p.stances, slot * A);
    p.closes[slot] = bar.close;
    p.vols[slot] = row[offset + VOL]!;
    p.count++;
    const hour = Math.floor(bar.openTs / 3_600_000);
    if (hour !== this.lastWeightHour) {
      this.lastWeightHour = hour;
      this.reweigh(Math.floor(hour / 24));
    }
  }

  /** Credit every agent that took a stance HORIZON bars ago with what it would have earned. */
  private learn(p: Pending, slot: number, close: number): void {
    const scale = p.vols[slot]! * Math.sqrt(HORIZON);
    if (!(scale > 0)) return;
    const r = close / p.closes[slot]! - 1;
    for (let a = 0; a < A; a++) {
      const s = p.stances[slot * A + a]!;
      if (s === 0) continue;
      const reward = Math.max(-5, Math.min(5, (s * r - Math.abs(s) * ROUND_TRIP_COST) / scale));
      this.bandit.update(a, p.contexts, reward, slot * CONTEXT_SIZE);
      this.performance[a] = PERFORMANCE_DECAY * this.performance[a]! + (1 - PERFORMANCE_DECAY) * reward;
    }
    this.updates++;
    this.dirty = true;
  }

  private reweigh(day: number): void {
    let max = Number.NEGATIVE_INFINITY;
    for (let a = 0; a < A; a++) max = Math.max(max, this.performance[a]! / WEIGHT_TEMPERATURE);
    let sum = 0;
    for (let a = 0; a < A; a++) {
      this.target[a] = Math.exp(this.performance[a]! / WEIGHT_TEMPERATURE - max);
      sum += this.target[a]!;
    }
    for (let a = 0; a < A; a++) this.target[a]! /= sum;
    this.weights.moveToward(this.target, day);
    this.refreshPreferences();
  }

  /** The weights as logged (one object shared by the records until the weights change), and the day's reference. */
  private refreshPreferences(): void {
    const named = (w: Float64Array) => {
      const prefs: Record<string, number> = {};
      AGENTS.forEach((name, a) => {
        prefs[name] = r4(w[a]!);
      });
      return prefs;
    };
    this.preferences = named(this.weights.weights);
    if (this.weights.day !== this.dayStartLogged) {
      this.dayStartLogged = this.weights.day;
      this.dayStartPreferences = named(this.weights.dayStart);
    }
  }

  recommend(_symbol: string, row: Float64Array, offset: number, ready: boolean): Record<string, unknown> {
    if (!ready) return this.recommendation('hold', 0, null, 'neutral');
    agentStances(row, offset, this.stances);
    contextOf(row, offset, this.context);
    let best = -1;
    let bestScore = 0;
    let bestEdge = 0;
    let bias = 0;
    for (let a = 0; a < A; a++) {
      const s = this.stances[a]!;
      const w = this.weights.weights[a]!;
      bias += w * s;
      if (s === 0) continue;
      this.bandit.evaluate(a, this.context);
      const score = w * Math.abs(s) * (1 + Math.tanh(this.bandit.lastMean + this.bandit.lastBonus));
      if (score > bestScore) {
        best = a;
        bestScore = score;
        bestEdge = this.bandit.lastMean;
      }
    }
    const directionalBias = bias > 0.05 ? 'long' : bias < -0.05 ? 'short' : 'neutral';
    if (best < 0) return this.recommendation('hold', 0, null, directionalBias);
    const s = this.stances[best]!;
    const confidence = r4(Math.min(0.95, Math.abs(s) * (0.5 + 0.5 * Math.tanh(bestEdge))));
    return this.recommendation(s > 0 ? 'buy' : 'short', confidence, AGENTS[best]!, directionalBias);
  }

  private recommendation(
    action: string,
    confidence: number,
    agent: string | null,
    bias: string,
  ): Record<string, unknown> {
    return {
      enabled: true,
      executed: false,
      learner: LEARNER,
      action,
      confidence,
      primary_agent: agent,
      directional_bias: bias,
      strategy_preferences: this.preferences,
      day_start_preferences: this.dayStartPreferences,
      updates: this.updates,
    };
  }

  /**
   * Saved at most every few seconds while running (replay checkpoints come up to 4 times a
   * second), after the engine's ledger commit, and at close: the file is never ahead of the ledger.
   */
  checkpoint(): void {
    if (performance.now() - this.savedAt >= SAVE_EVERY_MS) this.save();
  }

  close(): void {
    this.save();
  }

  private save(): void {
    if (!this.statePath || !this.dirty) return;
    this.dirty = false;
    this.savedAt = performance.now();
    writeJsonAtomic(this.statePath, this.snapshot());
  }

  /** Everything it has learned and the stances still waiting for their outcome: a restart continues exactly. */
  snapshot(): AdvisorState {
    const pending: NonNullable<AdvisorState['pending']> = {};
    for (const [symbol, p] of this.pending) {
      pending[symbol] = {
        count: p.count,
        contexts: [...p.contexts],
        stances: [...p.stances],
        closes: [...p.closes],
        vols: [...p.vols],
        close_ts: [...p.closeTs],
      };
    }
    return {
      schema_version: ADVISOR_STATE_SCHEMA_VERSION,
      learner: LEARNER,
      agents: [...AGENTS],
      weights: [...this.weights.weights],
      day_start_weights: [...this.weights.dayStart],
      day: this.weights.day,
      performance: [...this.performance],
      bandit: {
        dim: CONTEXT_SIZE,
        inverse: [...this.bandit.inverse],
        rewards: [...this.bandit.rewards],
        updates: [...this.bandit.updates],
      },
      updates: this.updates,
      pending,
      last_weight_hour: this.lastWeightHour,
    };
  }

  /**
   * From the ledger checkpoint, consistent with the decisions it covers (the state file may be a
   * few seconds older after a crash); without one, the state file is read on first use. A state
   * behind the ledger catches up (the bars after it are replayed through `onBar`); the engine saves
   * only after a commit, so the file is never ahead (it would have learned bars decided again).
   */
  restore(saved: unknown): void {
    if (saved === null || saved === undefined) return;
    const checked = validate(AdvisorState, saved);
    const problem = checked.ok ? this.apply(checked.value) : checked.errors.join('; ');
    if (problem) {
      log.warn(
        `shadow advisor state in the ledger checkpoint ${problem}; reading ${this.statePath ?? 'nothing'} instead`,
      );
      return;
    }
    this.loaded = true;
    // The state file may be older or newer than the checkpoint after a crash: rewrite it from
    // what was resumed, even if this run learns nothing more (as a run that never stopped would
    // have written it: once anything was learned).
    this.dirty = this.updates > 0;
  }

  /** Continue from the saved state (read after the engine holds the lock and `--fresh` has archived). */
  private load(): void {
    this.loaded = true;
    if (!this.statePath) return;
    const read = readJsonFile(this.statePath, AdvisorState);
    if (read.kind === 'missing') return;
    const problem = read.kind === 'ok' ? this.apply(read.value) : `is invalid (${read.problem})`;
    if (!problem) return;
    const kept = keepDamagedCopy(this.statePath);
    log.warn(
      `shadow advisor state ${this.statePath} ${problem}; starting the advisor afresh${kept ? ` (the file is kept as ${kept})` : ''}`,
    );
  }

  /** Take over a saved state; what is wrong with it, or null once applied. */
  private apply(s: AdvisorState): string | null {
    const ring = HORIZON + 1;
    const fits =
      s.agents.join() === AGENTS.join() &&
      s.bandit.dim === CONTEXT_SIZE &&
      s.bandit.inverse.length === this.bandit.inverse.length &&
      s.weights.length === A &&
      Object.values(s.pending ?? {}).every(
        (p) =>
          p.contexts.length === ring * CONTEXT_SIZE &&
          p.stances.length === ring * A &&
          p.closes.length === ring &&
          p.vols.length === ring &&
          (p.close_ts === undefined || p.close_ts.length === ring),
      );
    if (!fits) return 'is for another agent set';
    const shift = dailyShift(s.day_start_weights, s.weights);
    if (s.day_start_weights.length !== A || breaksDailyClamp(shift))
      return `breaks the daily weight clamp (${AGENTS[Number(shift.agent)]} is ${shift.shift.toFixed(4)} from the day's start)`;
    this.weights.weights.set(s.weights);
    this.weights.dayStart.set(s.day_start_weights);
    this.weights.day = s.day;
    this.dayStartLogged = Number.NaN;
    this.performance.set(s.performance);
    this.bandit.inverse.set(s.bandit.inverse);
    this.bandit.rewards.set(s.bandit.rewards);
    this.bandit.updates.set(s.bandit.updates);
    this.updates = s.updates;
    this.pending.clear();
    for (const [symbol, saved] of Object.entries(s.pending ?? {})) {
      const p = new Pending();
      p.count = saved.count;
      p.contexts.set(saved.contexts);
      p.stances.set(saved.stances);
      p.closes.set(saved.closes);
      p.vols.set(saved.vols);
      if (saved.close_ts) p.closeTs.set(saved.close_ts);
      this.pending.set(symbol, p);
    }
    this.lastWeightHour = s.last_weight_hour ?? -1;
    this.refreshPreferences();
    return null;
  }
}
