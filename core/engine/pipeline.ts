import type { PaperBroker } from '../broker/paper.ts';
import type { Portfolio } from '../broker/portfolio.ts';
import type { ActionName, DataModeName, ModeName } from '../schema/common.ts';
import type { DecisionRecord, Fill, GateStage, ModelTraceEntry } from '../schema/decision.ts';
import { IndicatorSet } from '../signals/indicator-set.ts';
import { type Signal, scalpingSignal, technicalSignal } from '../signals/rules.ts';
import type { Bar, FeedSource } from './feeds.ts';

export type PipelineConfig = {
  mode: ModeName;
  dataMode: DataModeName;
  timeframe: string;
  minConfidence: number;
  riskPerTrade: number;
  maxPositionPct: number;
  minNotional: number;
  allowShorting: boolean;
  maxOpenPositions: number;
  minHistoryBars: number;
  configHash: string;
  source: FeedSource;
};

/** What the engine knows at the start of a tick, shared by every symbol's decision. */
export type TickContext = {
  correlationId: string;
  nowIso: string;
  halt: { reason: string } | null;
  pause: { reason: string } | null;
};

export type Draft = Omit<DecisionRecord, 'prev_hash'> & { prev_hash?: string };

const MODE_TAG: Record<ModeName, string> = {
  backtest: 'bt', paper_synthetic: 'ps', paper_live_data: 'pl', testnet: 'tn', live_limited: 'll', live_full: 'lf',
};

/** Stable id: the same bar of the same symbol in the same mode is the same decision. */
export function decisionId(mode: ModeName, symbol: string, timeframe: string, closeTs: number): string {
  const iso = new Date(closeTs).toISOString();
  const compact = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  return `${MODE_TAG[mode]}-${symbol.replace('/', '')}-${timeframe}-${compact}`;
}

const r6 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e6) / 1e6 : null);

/** One symbol's running pipeline: indicators plus the per-bar decision. */
export class SymbolPipeline {
  readonly ind = new IndicatorSet();
  decisions = 0;
  holds = 0;
  fills = 0;
  lastBarTs: string | null = null;
  lastAction: ActionName | null = null;
  lastBar: Bar | null = null;

  constructor(
    readonly symbol: string,
    private readonly cfg: PipelineConfig,
  ) {}

  /** Prime indicators with a bar that is not decided on (warm-up or already-decided history). */
  observe(bar: Bar): void {
    this.ind.update(bar.high, bar.low, bar.close);
    this.lastBar = bar;
  }

  /** The decision for a newly closed bar. */
  decide(bar: Bar, tick: TickContext, portfolio: Portfolio, broker: PaperBroker): Draft {
    this.observe(bar);
    return this.decideObserved(bar, tick, portfolio, broker, '');
  }

  /** A halt arriving between bars (a stop request): flatten at the last price, recorded as its own decision. */
  decideHalt(tick: TickContext, portfolio: Portfolio, broker: PaperBroker): Draft | null {
    if (!this.lastBar || !tick.halt) return null;
    return this.decideObserved(this.lastBar, tick, portfolio, broker, ':halt');
  }

  private decideObserved(bar: Bar, tick: TickContext, portfolio: Portfolio, broker: PaperBroker, idSuffix: string): Draft {
    const cfg = this.cfg;
    portfolio.mark(this.symbol, bar.close);
    const barIso = new Date(bar.closeTs).toISOString();
    const id = decisionId(cfg.mode, this.symbol, cfg.timeframe, bar.closeTs) + idSuffix;
    const gates: GateStage[] = [];
    const fills: Fill[] = [];
    let blocked: GateStage | null = null;
    let signal: Signal | null = null;
    let action: ActionName = 'hold';
    const block = (g: GateStage) => {
      gates.push(g);
      if (!blocked) blocked = g;
    };

    const exit = idSuffix ? null : broker.checkExits(this.symbol, bar, barIso, id);
    if (exit) fills.push(exit);

    if (tick.halt) {
      const flat = broker.close({ symbol: this.symbol, price: bar.close, ts: barIso, decisionId: id, reason: 'halt_flatten' });
      if (flat) {
        fills.push(flat);
        action = flat.side === 'sell' ? 'sell' : 'cover';
      }
      block({ stage: 'halt', verdict: 'block', reason: `halted:${tick.halt.reason}`, observed: { flattened: flat !== null }, thresholds: null });
    } else if (tick.pause) {
      block({ stage: 'control', verdict: 'block', reason: `paused:${tick.pause.reason}`, observed: null, thresholds: null });
    } else {
      gates.push({ stage: 'control', verdict: 'pass', reason: null, observed: null, thresholds: null });
      const ind = this.ind;
      if (!ind.warm || ind.bars < cfg.minHistoryBars) {
        block({ stage: 'data_fetch', verdict: 'block', reason: `insufficient_data:${ind.bars}`, observed: { rows: ind.bars }, thresholds: { min_rows: cfg.minHistoryBars } });
      } else {
        gates.push({ stage: 'data_fetch', verdict: 'pass', reason: null, observed: { rows: ind.bars, age_s: bar.ageS }, thresholds: { min_rows: cfg.minHistoryBars } });
        gates.push({ stage: 'ensemble', verdict: 'skip', reason: 'no_models_loaded', observed: null, thresholds: null });
        const chain: GateStage[] = [];
        const tech = technicalSignal(ind);
        chain.push(tech.gate);
        signal = tech.signal;
        if (!signal) {
          const scalp = scalpingSignal(ind);
          chain.push(scalp.gate);
          signal = scalp.signal;
        } else {
          chain.push({ stage: 'scalping', verdict: 'skip', reason: 'primary_signal_present', observed: null, thresholds: null });
        }
        gates.push(...chain);
        // With no signal from any source, the first source that found nothing is the blocker.
        if (!signal) blocked = chain.find((g) => g.verdict === 'block') ?? null;
        else action = this.afterSignal(signal, bar, barIso, id, portfolio, broker, gates, block, fills);
      }
    }

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
    return {
      schema_version: '1.0.0',
      decision_id: id,
      ts: tick.nowIso,
      bar_ts: barIso,
      data_mode: cfg.dataMode,
      mode: cfg.mode,
      symbol: this.symbol,
      timeframe: cfg.timeframe,
      correlation_id: tick.correlationId,
      source: cfg.source,
      market: {
        price: bar.close,
        volatility: r6(this.ind.vol24.value),
        spread_bps: null,
        volume: bar.volume,
        data_age_s: bar.ageS,
        regime: null,
      },
      features_hash: null,
      model_trace: [] as ModelTraceEntry[],
      gate_trace: gates,
      blocked_stage: b ? b.stage : null,
      block_reason: b ? b.reason : null,
      rl_recommendation: null,
      turnover: null,
      risk_budget: null,
      preservation_level: null,
      signal: signal ? { action: signal.action, confidence: r6(signal.confidence) ?? 0, source: signal.source } : null,
      action,
      confidence: signal ? (r6(signal.confidence) ?? 0) : 0,
      execution: fills.length > 0 ? { fills } : null,
      costs: { fees, slippage, spread: 0, total: fees + slippage },
      position: pos ? { side: pos.side, quantity: pos.quantity, entry_price: pos.entry_price } : null,
      config_hash: cfg.configHash,
    };
  }

  /** Confidence → position → safety → execution, for a bar that has a signal. */
  private afterSignal(
    signal: Signal, bar: Bar, barIso: string, id: string, portfolio: Portfolio, broker: PaperBroker,
    gates: GateStage[], block: (g: GateStage) => void, fills: Fill[],
  ): ActionName {
    const cfg = this.cfg;
    gates.push({ stage: 'htf_filter', verdict: 'skip', reason: 'not_configured', observed: null, thresholds: null });
    const conf = { confidence: r6(signal.confidence) };
    if (signal.confidence < cfg.minConfidence) {
      block({ stage: 'confidence', verdict: 'block', reason: 'confidence_below_threshold', observed: conf, thresholds: { min_confidence: cfg.minConfidence } });
      return 'hold';
    }
    gates.push({ stage: 'confidence', verdict: 'pass', reason: null, observed: conf, thresholds: { min_confidence: cfg.minConfidence } });
    const pos = portfolio.positions.get(this.symbol);
    const wantLong = signal.action === 'buy';
    if (pos && (pos.side === 'long') === wantLong) {
      block({ stage: 'position', verdict: 'block', reason: 'position_already_open', observed: { side: pos.side }, thresholds: null });
      return 'hold';
    }
    if (pos) {
      gates.push({ stage: 'position', verdict: 'pass', reason: 'close_opposite', observed: { side: pos.side }, thresholds: null });
      const f = broker.close({ symbol: this.symbol, price: bar.close, ts: barIso, decisionId: id, reason: 'signal_reverse' });
      if (f) fills.push(f);
      return pos.side === 'long' ? 'sell' : 'cover';
    }
    if (!wantLong && !cfg.allowShorting) {
      block({ stage: 'position', verdict: 'block', reason: 'shorting_disabled', observed: null, thresholds: null });
      return 'hold';
    }
    gates.push({ stage: 'position', verdict: 'pass', reason: 'open', observed: null, thresholds: null });
    gates.push({ stage: 'turnover', verdict: 'skip', reason: 'not_configured', observed: null, thresholds: null });
    gates.push({ stage: 'risk_budget', verdict: 'skip', reason: 'not_configured', observed: null, thresholds: null });
    const open = portfolio.positions.size;
    if (open >= cfg.maxOpenPositions) {
      block({ stage: 'safety', verdict: 'block', reason: 'position_limit', observed: { open_positions: open }, thresholds: { max_open_positions: cfg.maxOpenPositions } });
      return 'hold';
    }
    gates.push({ stage: 'safety', verdict: 'pass', reason: null, observed: { open_positions: open }, thresholds: { max_open_positions: cfg.maxOpenPositions } });
    const equity = portfolio.equity();
    const byRisk = (equity * cfg.riskPerTrade) / signal.stopPct;
    const notional = Math.min(byRisk, equity * cfg.maxPositionPct, wantLong ? Math.max(0, portfolio.cash) : equity);
    if (notional < cfg.minNotional) {
      block({ stage: 'execution', verdict: 'block', reason: 'size_below_minimum', observed: { notional: r6(notional) }, thresholds: { min_notional: cfg.minNotional } });
      return 'hold';
    }
    const fill = broker.open({
      symbol: this.symbol, side: wantLong ? 'long' : 'short', quantity: notional / bar.close, price: bar.close, ts: barIso,
      decisionId: id, stopPct: signal.stopPct, takeProfitPct: signal.takeProfitPct, reason: `signal_${signal.source}`,
    });
    fills.push(fill);
    gates.push({ stage: 'execution', verdict: 'pass', reason: 'filled', observed: { notional: r6(notional), price: fill.price }, thresholds: null });
    return wantLong ? 'buy' : 'short';
  }
}
