import { hostname } from 'node:os';
import type { Portfolio } from '../broker/portfolio.ts';
import type { ModeName } from '../schema/common.ts';
import type { EngineStatusName, Heartbeat } from '../schema/heartbeat.ts';
import type { EngineState, Pidfile } from '../schema/state.ts';
import { ATL_VERSION } from '../version.ts';
import type { Feed } from './feeds.ts';
import type { SymbolPipeline } from './pipeline.ts';
import type { PreservationState } from './stages.ts';

export { ATL_VERSION };

/** Session counters the heartbeat reports; written by the tick, so a hung loop goes stale. */
export type SessionCounters = {
  seq: number;
  decisions: number;
  tickStartedAt: string | null;
  tickFinishedAt: string | null;
  lastBarTs: string | null;
  lastDecisionTs: string | null;
};

export function buildHeartbeat(args: {
  pidfile: Pidfile;
  mode: ModeName;
  feed: Feed;
  status: EngineStatusName;
  statusReason: string | null;
  counters: SessionCounters;
  pipelines: SymbolPipeline[];
  intervalS: number;
  /** Breakers beyond the feed's own (the model runners'). */
  breakers: Record<string, string>;
}): Heartbeat {
  const { counters: c, feed } = args;
  const perSymbol: Heartbeat['per_symbol'] = {};
  for (const p of args.pipelines) {
    perSymbol[p.symbol] = {
      decisions: p.decisions,
      holds: p.holds,
      fills: p.fills,
      last_bar_ts: p.lastBarTs,
      last_action: p.lastAction,
    };
  }
  return {
    schema_version: '1.0.0',
    ts: new Date().toISOString(),
    pid: args.pidfile.pid,
    process_start: args.pidfile.process_start,
    boot_id: args.pidfile.boot_id,
    host: hostname(),
    mode: args.mode,
    data_mode: feed.dataMode,
    symbols: feed.symbols,
    timeframe: feed.timeframe,
    status: args.status,
    status_reason: args.statusReason,
    seq: c.seq,
    last_tick_started_at: c.tickStartedAt,
    last_tick_finished_at: c.tickFinishedAt,
    last_bar_ts: c.lastBarTs,
    last_decision_ts: c.lastDecisionTs,
    total_decisions_session: c.decisions,
    paper_live_decisions_session: feed.dataMode === 'PAPER_LIVE' ? c.decisions : 0,
    per_symbol: perSymbol,
    interval_s: args.intervalS,
    circuit_breakers: { ...feed.circuitBreakers?.(), ...args.breakers },
    version: ATL_VERSION,
  };
}

export type DailyCounters = EngineState['daily'];

export function buildState(args: {
  mode: ModeName;
  status: EngineStatusName;
  modeStartedAt: string;
  portfolio: Portfolio;
  daily: DailyCounters;
  lastBarTs: Record<string, string>;
  decisionsTotal: number;
  configHash: string;
  feed: Feed;
  preservation: PreservationState | null;
}): EngineState {
  const p = args.portfolio;
  const positions: EngineState['positions'] = {};
  for (const [sym, pos] of p.positions) positions[sym] = { ...pos };
  return {
    schema_version: '1.0.0',
    ts: new Date().toISOString(),
    mode: args.mode,
    status: args.status,
    mode_started_at: args.modeStartedAt,
    initial_capital: p.initialCapital,
    cash: p.cash,
    equity: p.equity(),
    peak_equity: p.peakEquity,
    max_drawdown_pct: p.maxDrawdownPct,
    realized_pnl: p.realizedPnl,
    fees_paid: p.feesPaid,
    positions,
    total_trades: p.totalTrades,
    winning_trades: p.winningTrades,
    losing_trades: p.losingTrades,
    daily: args.daily,
    last_bar_ts: args.lastBarTs,
    decisions_total: args.decisionsTotal,
    config_hash: args.configHash,
    feed: args.feed.source,
    preservation: args.preservation && {
      level: args.preservation.level,
      since: args.preservation.since === null ? null : new Date(args.preservation.since).toISOString(),
      reason: args.preservation.reason,
    },
  };
}
