import type { PaperBroker } from '../broker/paper.ts';
import type { Portfolio } from '../broker/portfolio.ts';
import { r6OrNull } from '../round.ts';
import type { ActionName, DataModeName, ModeName } from '../schema/common.ts';
import type { DecisionRecord, Fill, GateStage } from '../schema/decision.ts';
import { pass } from '../signals/gate-values.ts';
import { IndicatorSet } from '../signals/indicator-set.ts';
import { compactUtc, isoUtc } from '../time/iso.ts';
import { enterOnSignal } from './entry-step.ts';
import type { Bar, FeedFailure, FeedSource } from './feeds.ts';
import type { OrderInbox } from './order-inbox.ts';
import type {
  DecisionObserver,
  EntryGuard,
  SignalOutcome,
  SignalStage,
  StageContext,
  StageDecl,
} from './stages.ts';

export type PipelineConfig = {
  mode: ModeName;
  dataMode: DataModeName;
  timeframe: string;
  allowShorting: boolean;
  minHistoryBars: number;
  configHash: string;
  source: FeedSource;
};

/** The pluggable stages: signal (features/models/gates), entry guard (turnover/risk/safety), observers. */
export type PipelineStages = {
  signal: SignalStage;
  entry: EntryGuard;
  observers: DecisionObserver[];
  /** Operator orders from `POST /api/orders` (paper modes only). */
  orders?: OrderInbox;
};

/**
 * The pipeline's stages in evaluation order with their static thresholds, declared for the run
 * header (SPEC §3): a halt stands in for control; the signal stages and the entry guard declare
 * their own. A stage a record names that is not listed (an operator order) is written whole.
 */
export function declaredStages(
  cfg: Pick<PipelineConfig, 'minHistoryBars'>,
  stages: PipelineStages,
  symbols: string[],
): StageDecl[] {
  return [
    { stage: 'halt', thresholds: null },
    { stage: 'control', thresholds: null },
    { stage: 'data_fetch', thresholds: { min_rows: cfg.minHistoryBars } },
    ...(stages.signal.declareStages?.() ?? []),
    { stage: 'position', thresholds: null },
    ...(stages.entry.declareStages?.(symbols) ?? []),
    { stage: 'execution', thresholds: null },
  ];
}

/** What the engine knows at the start of a tick, shared by every symbol's decision. */
export type TickContext = {
  correlationId: string;
  nowIso: string;
  halt: { reason: string } | null;
  pause: { reason: string } | null;
};

export type Draft = Omit<DecisionRecord, 'prev_hash'> & { prev_hash?: string };

const MODE_TAG: Record<ModeName, string> = {
  backtest: 'bt',
  paper_synthetic: 'ps',
  paper_live_data: 'pl',
  testnet: 'tn',
  live_limited: 'll',
  live_full: 'lf',
};

/** Stable id: the same bar of the same symbol in the same mode is the same decision. */
export function decisionId(mode: ModeName, symbol: string, timeframe: string, closeTs: number): string {
  return `${idPrefix(mode, symbol, timeframe)}${compactUtc(closeTs)}`;
}

function idPrefix(mode: ModeName, symbol: string, timeframe: string): string {
  return `${MODE_TAG[mode]}-${symbol.replace('/', '')}-${timeframe}-`;
}

/** One symbol's running pipeline (SPEC §3): control → data → signal stages → position → entry guard → execution → record. */
export class SymbolPipeline {
  readonly ind = new IndicatorSet();
  decisions = 0;
  holds = 0;
  fills = 0;
  lastBarTs: string | null = null;
  lastAction: ActionName | null = null;
  lastBar: Bar | null = null;
  private readonly idPrefix: string;
  private readonly entryParts: Parameters<typeof enterOnSignal>[0];

  constructor(
    readonly symbol: string,
    private readonly cfg: PipelineConfig,
    private readonly stages: PipelineStages,
  ) {
    this.idPrefix = idPrefix(cfg.mode, symbol, cfg.timeframe);
    this.entryParts = { symbol, allowShorting: cfg.allowShorting, entry: stages.entry };
  }

  /** A bar that is not decided (warm-up, history after an outage, decided before a restart). */
  observe(bar: Bar): void {
    this.advance(bar);
    for (const o of this.stages.observers) o.onBar?.(this.symbol, bar);
  }

  private advance(bar: Bar): void {
    this.ind.update(bar.high, bar.low, bar.close);
    this.stages.signal.observe?.(this.symbol, bar);
    this.lastBar = bar;
  }

  /** The decision for a newly closed bar. */
  decide(bar: Bar, tick: TickContext, portfolio: Portfolio, broker: PaperBroker): Draft {
    this.advance(bar);
    return this.decideObserved(bar, tick, portfolio, broker, '');
  }

  /** A halt arriving between bars (a stop request): flatten at the last price, recorded as its own decision. */
  decideHalt(tick: TickContext, portfolio: Portfolio, broker: PaperBroker): Draft | null {
    if (!this.lastBar || !tick.halt) return null;
    return this.decideObserved(this.lastBar, tick, portfolio, broker, ':halt');
  }

  /**
   * The decision for a candle the feed could not deliver (DNS, refused, rate limit, stale…): one
   * hold whose `data_fetch` gate carries the specific reason, and no price — never a made-up one.
   * Observers are not called: there is no bar to score.
   */
  decideFailure(failure: FeedFailure, closeTs: number, tick: TickContext, portfolio: Portfolio): Draft {
    const cfg = this.cfg;
    const barIso = new Date(closeTs).toISOString();
    const gates: GateStage[] = [];
    if (tick.halt)
      gates.push({
        stage: 'halt',
        verdict: 'block',
        reason: `halted:${tick.halt.reason}`,
        observed: { flattened: false },
        thresholds: null,
      });
    else if (tick.pause)
      gates.push({
        stage: 'control',
        verdict: 'block',
        reason: `paused:${tick.pause.reason}`,
        observed: null,
        thresholds: null,
      });
    else gates.push(pass('control'));
    gates.push({
      stage: 'data_fetch',
      verdict: 'block',
      reason: failure.reason,
      observed: { rows: this.ind.bars, ...failure.observed },
      thresholds: { min_rows: cfg.minHistoryBars },
    });
    const blocked = gates.find((g) => g.verdict === 'block')!;
    this.holds++;
    this.decisions++;
    this.lastBarTs = barIso;
    this.lastAction = 'hold';
    const pos = portfolio.positions.get(this.symbol);
    return {
      ...this.header(decisionId(cfg.mode, this.symbol, cfg.timeframe, closeTs), barIso, tick),
      market: {
        price: null,
        volatility: null,
        spread_bps: null,
        volume: null,
        data_age_s: null,
        regime: null,
      },
      features_hash: null,
      model_trace: [],
      gate_trace: gates,
      blocked_stage: blocked.stage,
      block_reason: blocked.reason,
      rl_recommendation: null,
      turnover: null,
      risk_budget: null,
      preservation_level: this.stages.entry.preservationLevel(),
      signal: null,
      action: 'hold',
      confidence: 0,
      execution: null,
      costs: { fees: 0, slippage: 0, spread: 0, total: 0 },
      position: pos ? { side: pos.side, quantity: pos.quantity, entry_price: pos.entry_price } : null,
      config_hash: cfg.configHash,
    };
  }

  /** The fields every record starts with: identity, times, modes and the tick's correlation id. */
  private header(id: string, barIso: string, tick: TickContext) {
    const cfg = this.cfg;
    return {
      schema_version: '1.0.0' as const,
      decision_id: id,
      ts: tick.nowIso,
      bar_ts: barIso,
      data_mode: cfg.dataMode,
      mode: cfg.mode,
      symbol: this.symbol,
      timeframe: cfg.timeframe,
      correlation_id: tick.correlationId,
      source: cfg.source,
    };
  }

  private decideObserved(
    bar: Bar,
    tick: TickContext,
    portfolio: Portfolio,
    broker: PaperBroker,
    idSuffix: string,
  ): Draft {
    const cfg = this.cfg;
    portfolio.mark(this.symbol, bar.close);
    const barIso = isoUtc(bar.closeTs);
    const id = `${this.idPrefix}${compactUtc(bar.closeTs)}${idSuffix}`;
    const ctx: StageContext = {
      symbol: this.symbol,
      bar,
      barIso,
      decisionId: id,
      idPrefix: this.idPrefix,
      idSuffix,
      ind: this.ind,
      portfolio,
      tick,
      cfg,
    };
    const gates: GateStage[] = [];
    const fills: Fill[] = [];
    let blocked: GateStage | null = null;
    let action: ActionName = 'hold';
    let outcome: SignalOutcome | null = null;
    let entry: ReturnType<EntryGuard['evaluate']> | null = null;
    const setBlocked = (g: GateStage) => {
      blocked ??= g;
    };
    const block = (g: GateStage) => {
      gates.push(g);
      setBlocked(g);
    };

    const exit = idSuffix ? null : broker.checkExits(this.symbol, bar, barIso, id);
    if (exit) fills.push(exit);
    const inbox = idSuffix ? undefined : this.stages.orders;
    let operatorAction: ActionName | null = null;
    if (inbox && inbox.size > 0) {
      if (tick.halt) gates.push(...inbox.rejectAll(this.symbol, 'halted'));
      else if (!tick.pause) {
        const op = inbox.execute(this.symbol, bar, barIso, id, portfolio, broker);
        gates.push(...op.gates);
        fills.push(...op.fills);
        operatorAction = op.action;
      }
    }

    if (tick.halt) {
      const flat = broker.close({
        symbol: this.symbol,
        price: bar.close,
        ts: barIso,
        decisionId: id,
        reason: 'halt_flatten',
      });
      if (flat) {
        fills.push(flat);
        action = flat.side === 'sell' ? 'sell' : 'cover';
      }
      block({
        stage: 'halt',
        verdict: 'block',
        reason: `halted:${tick.halt.reason}`,
        observed: { flattened: flat !== null },
        thresholds: null,
      });
    } else if (tick.pause) {
      block({
        stage: 'control',
        verdict: 'block',
        reason: `paused:${tick.pause.reason}`,
        observed: null,
        thresholds: null,
      });
    } else {
      gates.push(pass('control'));
      const ind = this.ind;
      const thresholds = { min_rows: cfg.minHistoryBars };
      if (!ind.warm || ind.bars < cfg.minHistoryBars) {
        block({
          stage: 'data_fetch',
          verdict: 'block',
          reason: `insufficient_data:${ind.bars}`,
          observed: { rows: ind.bars },
          thresholds,
        });
      } else {
        gates.push({
          stage: 'data_fetch',
          verdict: 'pass',
          reason: null,
          observed: { rows: ind.bars, age_s: bar.ageS },
          thresholds,
        });
        outcome = this.stages.signal.evaluate(ctx);
        gates.push(...outcome.gates);
        blocked = outcome.blocked;
        if (outcome.signal) {
          const r = enterOnSignal(
            this.entryParts,
            outcome.signal,
            ctx,
            broker,
            gates,
            block,
            setBlocked,
            fills,
          );
          action = r.action;
          entry = r.entry;
        }
      }
    }

    if (action === 'hold' && operatorAction) action = operatorAction;
    if (fills.length > 0) this.fills += fills.length;
    if (action === 'hold') this.holds++;
    this.decisions++;
    this.lastBarTs = barIso;
    this.lastAction = action;
    const pos = portfolio.positions.get(this.symbol);
    let fees = 0;
    let slippage = 0;
    for (const f of fills) {
      fees += f.fee;
      slippage += f.slippage;
    }
    const b = blocked as GateStage | null;
    const signal = outcome?.signal ?? null;
    const draft: Draft = {
      ...this.header(id, barIso, tick),
      market: {
        price: bar.close,
        volatility: r6OrNull(this.ind.vol24.value),
        spread_bps: null,
        volume: bar.volume,
        data_age_s: bar.ageS,
        regime: outcome?.regime ?? null,
      },
      features_hash: outcome?.featuresHash ?? null,
      model_trace: outcome?.modelTrace ?? this.stages.signal.idleTrace?.(this.symbol) ?? [],
      gate_trace: gates,
      blocked_stage: b ? b.stage : null,
      block_reason: b ? b.reason : null,
      rl_recommendation: outcome?.rlRecommendation ?? null,
      turnover: entry?.turnover ?? null,
      risk_budget: entry?.riskBudget ?? null,
      preservation_level: this.stages.entry.preservationLevel(),
      signal: signal
        ? { action: signal.action, confidence: r6OrNull(signal.confidence) ?? 0, source: signal.source }
        : null,
      action,
      confidence: signal ? (r6OrNull(signal.confidence) ?? 0) : 0,
      execution: fills.length > 0 ? { fills } : null,
      costs: { fees, slippage, spread: 0, total: fees + slippage },
      position: pos ? { side: pos.side, quantity: pos.quantity, entry_price: pos.entry_price } : null,
      config_hash: cfg.configHash,
    };
    for (const o of this.stages.observers) o.onDecision(draft, ctx);
    return draft;
  }
}
