import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type ApiConfig, DEFAULT_RATE_LIMITS } from '../../core/api/config.ts';
import { type ApiServer, startApiServer } from '../../core/api/server.ts';
import { writeJsonAtomic } from '../../core/fsx/atomic.ts';
import { readJsonFile } from '../../core/fsx/json-file.ts';
import { log } from '../../core/log.ts';
import { type DataPaths, dataPaths } from '../../core/paths.ts';
import { validate } from '../../core/schema/ajv.ts';
import { DecisionRecord } from '../../core/schema/decision.ts';
import { Heartbeat } from '../../core/schema/heartbeat.ts';
import { EngineState } from '../../core/schema/state.ts';
import { spawnAtl, tempDir, waitFor } from '../support/cli.ts';

// In-process servers log per request; keep test output to warnings unless asked.
if (!process.env.ATL_LOG_LEVEL) log.level = 1;

/** A key that passes the strength rules (used only by tests). */
export const GOOD_KEY = 'Zq7!mW2#rT9$vB4xLp';

export function apiConfig(overrides: Partial<ApiConfig> = {}): ApiConfig {
  return {
    apiKey: GOOD_KEY,
    keySource: 'test',
    rateLimits: { ...DEFAULT_RATE_LIMITS },
    rateLimitMaxClients: 10_000,
    trustProxy: 0,
    maxBodyBytes: 16 * 1024,
    wsMaxBufferedBytes: 1024 * 1024,
    heartbeatMaxAgeS: 120,
    overriddenBuckets: [],
    ...overrides,
  };
}

/**
 * A real server on an ephemeral loopback port over a fresh data root (or `root`, owned by the
 * caller); disposed with `await using`.
 */
export async function testServer(
  overrides: Partial<ApiConfig> = {},
  opts: { pollMs?: number; root?: string; prepare?: (paths: DataPaths) => void } = {},
) {
  const dir = opts.root ? null : tempDir('atl-api-');
  const paths = dataPaths(opts.root ?? dir!.path);
  opts.prepare?.(paths);
  let server: ApiServer;
  try {
    server = await startApiServer({
      paths,
      config: apiConfig(overrides),
      host: '127.0.0.1',
      port: 0,
      pollMs: opts.pollMs ?? 50,
      stopGraceS: 5,
    });
  } catch (err) {
    dir?.[Symbol.dispose]();
    throw err;
  }
  return {
    url: server.url,
    paths,
    get: (path: string, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, { headers: { 'x-api-key': GOOD_KEY, ...headers } }),
    post: (path: string, body: unknown, headers: Record<string, string> = {}) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'x-api-key': GOOD_KEY, 'content-type': 'application/json', ...headers },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      }),
    async [Symbol.asyncDispose]() {
      await server.stop();
      dir?.[Symbol.dispose]();
    },
  };
}

let seq = 0;

/** A schema-valid decision record (checked here, so fixtures cannot drift from the contract). */
export function decision(overrides: Partial<DecisionRecord> = {}): DecisionRecord {
  seq++;
  const ts = overrides.ts ?? new Date(Date.UTC(2026, 10, 24, 0, 0, seq)).toISOString();
  const record: DecisionRecord = {
    schema_version: '1.0.0',
    decision_id: `d-${seq}`,
    ts,
    bar_ts: ts,
    data_mode: 'SYNTHETIC',
    mode: 'paper_synthetic',
    symbol: 'BTC/USDT',
    timeframe: '1m',
    correlation_id: `t-${seq}`,
    source: { kind: 'synthetic', ref: null, synthetic: true },
    market: { price: 100, volatility: 0.01, spread_bps: 1, volume: 10, data_age_s: 2, regime: null },
    features_hash: null,
    model_trace: [],
    gate_trace: [{ stage: 'technical', verdict: 'pass', reason: null, observed: null, thresholds: null }],
    blocked_stage: null,
    block_reason: null,
    rl_recommendation: null,
    turnover: null,
    risk_budget: null,
    preservation_level: null,
    signal: null,
    action: 'hold',
    confidence: 0.5,
    execution: null,
    costs: { fees: 0, slippage: 0, spread: 0, total: 0 },
    position: null,
    config_hash: 'test',
    prev_hash: '0'.repeat(64),
    ...overrides,
  };
  const checked = validate(DecisionRecord, record);
  if (!checked.ok) throw new Error(`fixture decision is not schema-valid: ${checked.errors.join('; ')}`);
  return record;
}

export function appendDecisions(paths: DataPaths, records: DecisionRecord[]): void {
  mkdirSync(dirname(paths.decisions), { recursive: true });
  appendFileSync(paths.decisions, records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

export function writeHeartbeat(paths: DataPaths, overrides: Partial<Heartbeat> = {}): Heartbeat {
  const hb: Heartbeat = {
    schema_version: '1.0.0',
    ts: new Date().toISOString(),
    pid: process.pid,
    process_start: null,
    boot_id: null,
    host: 'test',
    mode: 'paper_synthetic',
    data_mode: 'SYNTHETIC',
    symbols: ['BTC/USDT', 'ETH/USDT'],
    timeframe: '1m',
    status: 'running',
    status_reason: null,
    seq: 12,
    last_tick_started_at: null,
    last_tick_finished_at: null,
    last_bar_ts: null,
    last_decision_ts: null,
    total_decisions_session: 24,
    paper_live_decisions_session: 0,
    per_symbol: {},
    interval_s: 1,
    circuit_breakers: {},
    version: '0.1.0',
    ...overrides,
  };
  if (!validate(Heartbeat, hb).ok) throw new Error('fixture heartbeat is not schema-valid');
  writeJsonAtomic(paths.heartbeat, hb);
  return hb;
}

export function writeState(paths: DataPaths, overrides: Partial<EngineState> = {}): EngineState {
  const now = new Date().toISOString();
  const state: EngineState = {
    schema_version: '1.0.0',
    ts: now,
    mode: 'paper_synthetic',
    status: 'running',
    mode_started_at: now,
    initial_capital: 10_000,
    cash: 8_000,
    equity: 9_500,
    peak_equity: 10_000,
    max_drawdown_pct: 0.07,
    realized_pnl: -300,
    fees_paid: 12,
    positions: {},
    total_trades: 4,
    winning_trades: 1,
    losing_trades: 3,
    daily: { date: now.slice(0, 10), trades: 4, pnl: -300, start_equity: 10_000 },
    last_bar_ts: {},
    decisions_total: 24,
    config_hash: 'test',
    feed: { kind: 'synthetic', ref: null, synthetic: true },
    ...overrides,
  };
  const checked = validate(EngineState, state);
  if (!checked.ok) throw new Error(`fixture state is not schema-valid: ${checked.errors.join('; ')}`);
  writeJsonAtomic(paths.state, state);
  return state;
}

/** A real paced engine (`paper_synthetic`, one tick a second) on `root`, resolved once it is running. */
export async function startPaperEngine(root: string, symbols: string[]) {
  const paths = dataPaths(root);
  const engine = spawnAtl([
    'run',
    '--mode',
    'paper_synthetic',
    '--interval',
    '1',
    '--symbols',
    symbols.join(','),
    '--data-dir',
    root,
  ]);
  try {
    await waitFor(() => {
      const hb = readJsonFile(paths.heartbeat, Heartbeat);
      return hb.kind === 'ok' && hb.value.status === 'running' && existsSync(paths.pidfile);
    }, 20_000);
  } catch (err) {
    engine.kill('SIGKILL');
    throw err;
  }
  return engine;
}
