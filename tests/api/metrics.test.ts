import { describe, expect, it } from 'bun:test';
import { spawnSync } from 'node:child_process';
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { appendDecisions, decision, testServer, writeHeartbeat, writeState } from './_support.ts';

/** promtool (Debian's prometheus package, installed by .ci/run) is the reference linter of the format. */
function promtoolCheck(text: string): { code: number | null; output: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  if (r.error) throw new Error(`promtool is not installed (apt-get install prometheus): ${r.error.message}`);
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

function sample(
  families: PromFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const fam = families.find((f) => f.name === name);
  const m = fam?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

describe('/metrics', () => {
  it('passes promtool and a text-format parser, with engine, portfolio and decision values from the files', async () => {
    await using s = await testServer(
      {},
      {
        prepare: (paths) => {
          writeHeartbeat(paths, { seq: 42, circuit_breakers: { binance: 'open', model_runner: 'closed' } });
          writeState(paths, {
            equity: 9_500,
            peak_equity: 10_000,
            positions: {
              'BTC/USDT': {
                symbol: 'BTC/USDT',
                side: 'long',
                quantity: 0.25,
                entry_price: 100,
                entry_ts: new Date().toISOString(),
                stop_loss: null,
                take_profit: null,
                last_price: 104,
                unrealized_pnl: 1,
                entry_fee: 0.02,
                decision_id: 'd-x',
              },
            },
          });
          appendDecisions(paths, [
            decision({ action: 'buy' }),
            decision({
              action: 'hold',
              blocked_stage: 'data_fetch',
              block_reason: 'dns_failure:api.binance.com',
              symbol: 'ETH/USDT',
              market: {
                price: null,
                volatility: null,
                spread_bps: null,
                volume: null,
                data_age_s: 75,
                regime: null,
              },
            }),
            decision({ action: 'hold', blocked_stage: 'data_fetch', block_reason: 'timeout' }),
            decision({ action: 'hold', blocked_stage: 'turnover', block_reason: 'min_interval' }),
          ]);
        },
      },
    );
    const res = await s.get('/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    const text = await res.text();
    const lint = promtoolCheck(text);
    expect(lint.output).toBe('');
    expect(lint.code).toBe(0);
    const f = parsePrometheusTextFormat(text);
    expect(sample(f, 'atl_decisions_total', { action: 'hold' })).toBe(3);
    expect(sample(f, 'atl_decisions_total', { action: 'buy' })).toBe(1);
    expect(sample(f, 'atl_decision_blocks_total', { stage: 'data_fetch' })).toBe(2);
    expect(sample(f, 'atl_decision_blocks_total', { stage: 'turnover' })).toBe(1);
    expect(sample(f, 'atl_data_fetch_failures_total', { reason: 'dns_failure' })).toBe(1);
    expect(sample(f, 'atl_data_fetch_failures_total', { reason: 'timeout' })).toBe(1);
    expect(sample(f, 'atl_market_data_age_seconds', { symbol: 'ETH/USDT' })).toBe(75);
    expect(sample(f, 'atl_engine_tick_seq')).toBe(42);
    expect(sample(f, 'atl_heartbeat_age_seconds')).toBeLessThan(5);
    expect(sample(f, 'atl_portfolio_equity')).toBe(9_500);
    expect(sample(f, 'atl_portfolio_drawdown_ratio')).toBeCloseTo(0.05, 10);
    expect(sample(f, 'atl_portfolio_max_drawdown_ratio')).toBe(0.07);
    expect(sample(f, 'atl_positions_open')).toBe(1);
    expect(sample(f, 'atl_position_quantity', { symbol: 'BTC/USDT', side: 'long' })).toBe(0.25);
    expect(sample(f, 'atl_circuit_breaker_open', { breaker: 'binance' })).toBe(1);
    expect(sample(f, 'atl_circuit_breaker_open', { breaker: 'model_runner' })).toBe(0);
    expect(sample(f, 'atl_circuit_breaker_state', { breaker: 'binance', state: 'open' })).toBe(1);
    expect(sample(f, 'process_resident_memory_bytes')).toBeGreaterThan(0);
    expect(f.find((x) => x.name === 'atl_api_request_duration_seconds')?.type).toBe('HISTOGRAM');
  });

  it('leaves out what no file says, instead of reporting zeros', async () => {
    await using s = await testServer();
    const text = await (await s.get('/metrics')).text();
    expect(promtoolCheck(text).code).toBe(0);
    const f = parsePrometheusTextFormat(text);
    for (const name of [
      'atl_portfolio_equity',
      'atl_heartbeat_age_seconds',
      'atl_engine_tick_seq',
      'atl_positions_open',
    ]) {
      expect(sample(f, name)).toBeUndefined();
    }
    expect(sample(f, 'atl_engine_up')).toBe(0);
    expect(sample(f, 'atl_trading_halted')).toBe(0);
  });

  it('counts decisions appended after start-up and escapes hostile label values', async () => {
    await using s = await testServer();
    appendDecisions(s.paths, [
      decision({ action: 'sell', blocked_stage: 'we"ird\\stage\nx', symbol: 'X/Y' }),
    ]);
    appendDecisions(s.paths, [decision({ action: 'sell' })]);
    const deadline = Date.now() + 5_000;
    let f: PromFamily[] = [];
    let text = '';
    while (Date.now() < deadline) {
      text = await (await s.get('/metrics')).text();
      f = parsePrometheusTextFormat(text);
      if (sample(f, 'atl_decisions_total', { action: 'sell' }) === 2) break;
      await Bun.sleep(50);
    }
    expect(sample(f, 'atl_decisions_total', { action: 'sell' })).toBe(2);
    expect(sample(f, 'atl_decision_blocks_total', { stage: 'we"ird\\stage\nx' })).toBe(1);
    expect(promtoolCheck(text).code).toBe(0);
  });
});
