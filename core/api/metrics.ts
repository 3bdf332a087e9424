import { readdirSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { PositionState } from '../schema/state.ts';
import type { StatusView } from '../status.ts';
import type { DecisionStats } from './decision-stats.ts';

/** What a scrape reads: the engine's files (through the status view) and the server's own counters. */
export type MetricsSources = {
  status: () => StatusView;
  decisions: DecisionStats;
  decisionLogBytesRead: () => number;
  wsClients: () => number;
  wsSent: () => number;
  wsDropped: () => number;
  rateLimitKeys: () => number;
};

const PROCESS_START_S = Math.floor(Date.now() / 1000 - process.uptime());

/**
 * The Prometheus registry of `atl serve`. File-backed values are refreshed on each scrape (no
 * timer writes stale numbers); counters that mirror totals kept elsewhere are re-set from them.
 * Exchange latency is not exported: no engine file records it yet.
 */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'route' | 'method' | 'status'>;
  readonly duration: Histogram<'route'>;
  readonly rateLimited: Counter<'bucket'>;
  private readonly refreshers: Array<(v: StatusView) => void> = [];

  constructor(private readonly src: MetricsSources) {
    const r = [this.registry];
    this.requests = new Counter({
      name: 'atl_api_requests_total',
      help: 'API requests answered, by route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: r,
    });
    this.duration = new Histogram({
      name: 'atl_api_request_duration_seconds',
      help: 'API request handling time',
      labelNames: ['route'],
      buckets: [0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
      registers: r,
    });
    this.rateLimited = new Counter({
      name: 'atl_api_rate_limited_total',
      help: 'Requests refused with 429, by rate-limit bucket',
      labelNames: ['bucket'],
      registers: r,
    });
    this.mirrorGauge(
      'atl_api_rate_limit_tracked_keys',
      'Client-bucket entries in the rate limiter (LRU-capped)',
      src.rateLimitKeys,
    );
    this.mirrorGauge('atl_ws_clients', 'Connected /ws/decisions clients', src.wsClients);
    this.mirrorCounter(
      'atl_ws_messages_sent_total',
      'Decision messages sent to WebSocket clients',
      src.wsSent,
    );
    this.mirrorCounter(
      'atl_ws_clients_dropped_total',
      'WebSocket clients dropped for not keeping up',
      src.wsDropped,
    );
    this.defineDecisionMetrics();
    this.defineEngineMetrics();
    this.defineProcessMetrics();
  }

  /** Prometheus text exposition (format 0.0.4), every file-backed value read now. */
  async render(): Promise<{ contentType: string; body: string }> {
    const view = this.src.status();
    for (const refresh of this.refreshers) refresh(view);
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private mirrorGauge(name: string, help: string, value: () => number): void {
    new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.set(value());
      },
    });
  }

  private mirrorCounter(name: string, help: string, value: () => number): void {
    new Counter({
      name,
      help,
      registers: [this.registry],
      collect() {
        this.reset();
        this.inc(value());
      },
    });
  }

  private labelledCounter(name: string, help: string, label: string, values: Map<string, number>): void {
    new Counter({
      name,
      help,
      labelNames: [label],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [k, v] of values) this.inc({ [label]: k }, v);
      },
    });
  }

  private defineDecisionMetrics(): void {
    const d = this.src.decisions;
    this.labelledCounter(
      'atl_decisions_total',
      'Decision records in the decision log, by action',
      'action',
      d.byAction,
    );
    this.labelledCounter(
      'atl_decision_blocks_total',
      'Decisions blocked, by the first blocking stage',
      'stage',
      d.blocksByStage,
    );
    this.labelledCounter(
      'atl_data_fetch_failures_total',
      'Market-data (exchange) failures recorded as data_fetch blocks, by reason class',
      'reason',
      d.dataFetchFailures,
    );
    this.mirrorCounter(
      'atl_decision_log_malformed_lines_total',
      'Complete lines of the decision log that are not decision records',
      () => d.malformed,
    );
    this.mirrorGauge(
      'atl_decision_log_read_bytes',
      'Bytes of the current decision log the server has consumed',
      this.src.decisionLogBytesRead,
    );
    new Gauge({
      name: 'atl_market_data_age_seconds',
      help: 'Age of the market data behind the latest decision, per symbol',
      labelNames: ['symbol'],
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [symbol, age] of d.dataAgeBySymbol) this.set({ symbol }, age);
      },
    });
  }

  /** A gauge filled from the status view on each scrape; values that vanished (a closed position, a missing file) are dropped. */
  private viewGauge<L extends string>(
    name: string,
    help: string,
    labelNames: L[],
    fill: (g: Gauge<L>, v: StatusView) => void,
  ): void {
    const g = new Gauge<L>({ name, help, labelNames, registers: [this.registry] });
    this.refreshers.push((v) => {
      g.reset();
      // reset() leaves an unlabelled gauge at 0; an unknown value must be absent, not zero
      if (labelNames.length === 0) g.remove();
      fill(g, v);
    });
  }

  private defineEngineMetrics(): void {
    this.viewGauge('atl_engine_up', '1 when the pidfile names a live engine process', [], (g, v) =>
      g.set(v.engine.process === 'same' ? 1 : 0),
    );
    this.viewGauge(
      'atl_engine_info',
      'Engine identity from the heartbeat (value is always 1)',
      ['mode', 'data_mode', 'status', 'version'],
      (g, v) => {
        if (v.heartbeat)
          g.set(
            {
              mode: v.heartbeat.mode,
              data_mode: v.heartbeat.data_mode,
              status: v.heartbeat.status,
              version: v.heartbeat.version,
            },
            1,
          );
      },
    );
    this.viewGauge(
      'atl_heartbeat_age_seconds',
      'Seconds since the engine last wrote its heartbeat',
      [],
      (g, v) => {
        if (v.engine.heartbeat_age_s !== null) g.set(v.engine.heartbeat_age_s);
      },
    );
    this.viewGauge('atl_engine_tick_seq', 'Ticks completed by the current engine session', [], (g, v) => {
      if (v.heartbeat) g.set(v.heartbeat.seq);
    });
    this.viewGauge('atl_trading_halted', '1 while the persistent halt flag is set', [], (g, v) =>
      g.set(v.halt.halted ? 1 : 0),
    );
    const portfolio: Array<[string, string, (s: NonNullable<StatusView['state']>) => number]> = [
      ['atl_portfolio_equity', 'Portfolio equity (quote currency)', (s) => s.equity],
      ['atl_portfolio_cash', 'Cash (quote currency)', (s) => s.cash],
      ['atl_portfolio_initial_capital', 'Starting capital (quote currency)', (s) => s.initial_capital],
      ['atl_portfolio_realized_pnl', 'Realised profit and loss (quote currency)', (s) => s.realized_pnl],
      [
        'atl_portfolio_drawdown_ratio',
        'Current drawdown from peak equity (0-1)',
        (s) => (s.peak_equity > 0 ? Math.max(0, 1 - s.equity / s.peak_equity) : 0),
      ],
      ['atl_portfolio_max_drawdown_ratio', 'Maximum drawdown seen (0-1)', (s) => s.max_drawdown_pct],
      ['atl_positions_open', 'Open positions', (s) => Object.keys(s.positions).length],
      ['atl_trades_closed', 'Closed trades in this mode', (s) => s.total_trades],
      ['atl_trades_won', 'Closed trades that made money', (s) => s.winning_trades],
    ];
    for (const [name, help, pick] of portfolio) {
      this.viewGauge(name, help, [], (g, v) => {
        if (v.state) g.set(pick(v.state));
      });
    }
    const perPosition: Array<[string, string, (p: PositionState) => number]> = [
      ['atl_position_quantity', 'Open position size (base currency)', (p) => p.quantity],
      [
        'atl_position_unrealized_pnl',
        'Unrealised P&L of an open position (quote currency)',
        (p) => p.unrealized_pnl,
      ],
    ];
    for (const [name, help, pick] of perPosition) {
      this.viewGauge(name, help, ['symbol', 'side'], (g, v) => {
        for (const p of Object.values(v.state?.positions ?? {}))
          g.set({ symbol: p.symbol, side: p.side }, pick(p));
      });
    }
    this.viewGauge(
      'atl_circuit_breaker_state',
      'Circuit breaker state from the heartbeat (1 for the current state)',
      ['breaker', 'state'],
      (g, v) => {
        for (const [breaker, state] of Object.entries(v.heartbeat?.circuit_breakers ?? {}))
          g.set({ breaker, state }, 1);
      },
    );
    this.viewGauge(
      'atl_circuit_breaker_open',
      '1 while a circuit breaker is open (calls refused)',
      ['breaker'],
      (g, v) => {
        for (const [breaker, state] of Object.entries(v.heartbeat?.circuit_breakers ?? {}))
          g.set({ breaker }, state === 'open' ? 1 : 0);
      },
    );
  }

  private defineProcessMetrics(): void {
    this.mirrorCounter('process_cpu_seconds_total', 'User and system CPU time of the server process', () => {
      const c = process.cpuUsage();
      return (c.user + c.system) / 1e6;
    });
    this.mirrorGauge(
      'process_resident_memory_bytes',
      'Resident memory of the server process',
      () => process.memoryUsage().rss,
    );
    this.mirrorGauge('process_heap_bytes', 'JavaScript heap in use', () => process.memoryUsage().heapUsed);
    this.mirrorGauge(
      'process_start_time_seconds',
      'Start time of the process since the Unix epoch',
      () => PROCESS_START_S,
    );
    if (process.platform === 'linux') {
      this.mirrorGauge(
        'process_open_fds',
        'Open file descriptors',
        () => readdirSync('/proc/self/fd').length,
      );
    }
  }
}
