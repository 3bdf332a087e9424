import { Database } from 'bun:sqlite';
import { afterEach, describe, expect, it } from 'bun:test';
import { Portfolio } from '../../core/broker/portfolio.ts';
import { readHalt } from '../../core/control/halt.ts';
import { runEngine } from '../../core/engine/engine.ts';
import type { EntryGuard, EntryVerdict, SignalStage, StageContext } from '../../core/engine/stages.ts';
import { OperatorError } from '../../core/errors.ts';
import {
  DailyOrderCount,
  LiveGuardrails,
  type LiveLimits,
  liveLimitsFromEnv,
  withOrderGuards,
} from '../../core/exchange/guardrails.ts';
import { buildExchangeRun } from '../../core/exchange/live.ts';
import { dataPaths } from '../../core/paths.ts';
import { atl, tempDir } from '../support/cli.ts';
import { BINANCE_ERRORS, FAKE_API_KEY, FAKE_API_SECRET, FakeBinance } from '../support/fake-binance.ts';
import { readDecisions } from '../support/records.ts';

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

const LIMITS: LiveLimits = {
  symbolAllowlist: ['BTC/USDT'],
  maxPositionPct: 2,
  maxCapitalPct: 5,
  maxLeverage: 1,
  maxOrdersPerDay: 3,
};

/** An entry guard that always wants `notional`: the guardrails' job is to cut it down. */
function wants(notional: number | null): EntryGuard {
  const gate =
    notional === null
      ? { stage: 'risk', verdict: 'block' as const, reason: 'inner_block', observed: null, thresholds: null }
      : null;
  return {
    evaluate: (): EntryVerdict => ({
      gates: gate ? [gate] : [],
      blocked: gate,
      notional,
      turnover: null,
      riskBudget: null,
    }),
    preservationLevel: () => 'normal',
    raisedHalt: () => null,
    snapshot: () => ({ streak: 2 }),
    restore: () => {},
  };
}

function ctxFor(symbol: string, portfolio = new Portfolio(10_000)): StageContext {
  return {
    symbol,
    portfolio,
    tick: { correlationId: 't', nowIso: '2026-11-24T09:00:00.000Z', halt: null, pause: null },
  } as unknown as StageContext;
}

const BUY = { action: 'buy' as const, confidence: 0.9, source: 'test', stopPct: 0.5, takeProfitPct: 0.5 };

describe('live guardrails', () => {
  it('shrinks an entry to the position cap (2 % of equity) and says so', () => {
    const v = new LiveGuardrails(wants(1_000), LIMITS, new DailyOrderCount(), 10).evaluate(
      ctxFor('BTC/USDT'),
      BUY,
    );
    expect(v.notional).toBe(200);
    expect(v.gates.at(-1)).toMatchObject({
      stage: 'live_guardrails',
      verdict: 'pass',
      reason: 'entry_reduced_to_caps',
    });
  });

  it('blocks a symbol outside the allowlist', () => {
    const v = new LiveGuardrails(wants(100), LIMITS, new DailyOrderCount(), 10).evaluate(
      ctxFor('SOL/USDT'),
      BUY,
    );
    expect(v.blocked?.reason).toBe('symbol_not_allowed:SOL/USDT');
    expect(v.notional).toBeNull();
  });

  it('blocks at the daily order cap and counts again from zero the next UTC day', () => {
    const count = new DailyOrderCount();
    for (let i = 0; i < 3; i++) count.count('2026-11-24T08:00:00.000Z');
    const guard = new LiveGuardrails(wants(100), LIMITS, count, 10);
    expect(guard.evaluate(ctxFor('BTC/USDT'), BUY).blocked?.reason).toBe('daily_order_cap:3');
    const tomorrow = {
      ...ctxFor('BTC/USDT'),
      tick: { correlationId: 't', nowIso: '2026-11-25T00:00:01.000Z', halt: null, pause: null },
    } as StageContext;
    expect(guard.evaluate(tomorrow, BUY).blocked).toBeNull();
  });

  it('blocks when open exposure leaves less than the minimum under the capital cap', () => {
    const p = new Portfolio(10_000);
    // 510 of 10 000 already in ETH: the 5 % capital cap (500) leaves nothing for BTC.
    p.cash -= 510;
    p.positions.set('ETH/USDT', {
      symbol: 'ETH/USDT',
      side: 'long',
      quantity: 0.17,
      entry_price: 3_000,
      entry_ts: '',
      stop_loss: null,
      take_profit: null,
      last_price: 3_000,
      unrealized_pnl: 0,
      entry_fee: 0,
      decision_id: 'x',
    });
    const v = new LiveGuardrails(wants(100), LIMITS, new DailyOrderCount(), 10).evaluate(
      ctxFor('BTC/USDT', p),
      BUY,
    );
    expect(v.blocked?.reason).toBe('live_caps_exhausted');
  });

  it('passes an inner block through untouched and keeps the inner state across restarts', () => {
    const count = new DailyOrderCount();
    const guard = new LiveGuardrails(wants(null), LIMITS, count, 10);
    expect(guard.evaluate(ctxFor('BTC/USDT'), BUY).blocked?.reason).toBe('inner_block');
    count.count('2026-11-24T08:00:00.000Z');
    const restored = new DailyOrderCount();
    new LiveGuardrails(wants(null), LIMITS, restored, 10).restore(guard.snapshot());
    expect(restored.today('2026-11-24T23:00:00.000Z')).toBe(1);
  });

  it('reads its limits from env and refuses a percent out of range', () => {
    expect(
      liveLimitsFromEnv({ ATL_LIVE_SYMBOL_ALLOWLIST: 'eth/usdt', ATL_LIVE_MAX_ORDERS_PER_DAY: '5' }),
    ).toMatchObject({ symbolAllowlist: ['ETH/USDT'], maxOrdersPerDay: 5, maxPositionPct: 2 });
    for (const env of [
      { ATL_LIVE_MAX_POSITION_PCT: '150' },
      { ATL_LIVE_MAX_CAPITAL_PCT: '0' },
      { ATL_LIVE_MAX_ORDERS_PER_DAY: '2.5' },
    ]) {
      const err = (() => {
        try {
          liveLimitsFromEnv(env);
        } catch (e) {
          return e;
        }
      })();
      expect(err).toBeInstanceOf(OperatorError);
      expect((err as OperatorError).exitCode).toBe(78);
    }
  });
});

const alwaysBuy: SignalStage = {
  evaluate: () => ({
    gates: [
      { stage: 'test_signal', verdict: 'pass', reason: 'always_buy', observed: null, thresholds: null },
    ],
    signal: BUY,
    blocked: null,
    modelTrace: [],
    featuresHash: null,
    regime: null,
    rlRecommendation: null,
  }),
};

async function testnetRun(dir: string, ex: FakeBinance, maxBars: number) {
  const paths = dataPaths(dir);
  const env = {
    BINANCE_TESTNET_API_KEY: FAKE_API_KEY,
    BINANCE_TESTNET_API_SECRET: FAKE_API_SECRET,
    ATL_LIVE_SYMBOL_ALLOWLIST: 'BTC/USDT',
  };
  const run = await buildExchangeRun({
    mode: 'testnet',
    symbols: ['BTC/USDT', 'SOL/USDT'],
    timeframe: '1s',
    intervalS: 1,
    exchange: 'binance',
    exchangeUrl: ex.url,
    env,
    paths,
    minNotional: 10,
  });
  const result = await runEngine(
    {
      paths,
      mode: 'testnet',
      capital: 10_000,
      intervalS: 1,
      maxBars,
      untilMs: null,
      fresh: false,
      argv: ['test'],
      executor: run.orders!.executor,
      pipeline: { allowShorting: false, minHistoryBars: 50, configHash: 'test' },
      stages: withOrderGuards({ signal: alwaysBuy, entry: wants(1_000), observers: [] }, run.orders),
    },
    run.feed,
    new AbortController().signal,
  );
  return { result, paths };
}

describe('testnet orders from the engine', () => {
  it('places the guarded entry on the exchange, records its outcome in the decision and the ledger, and keeps SOL off the allowlist', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const { result, paths } = await testnetRun(dir.path, fake, 2);
    expect(result.outcome).toBe('completed');
    const records = readDecisions(dir.path);
    expect(records.every((r) => r.data_mode === 'TESTNET')).toBe(true);
    const entry = records.find((r) => r.symbol === 'BTC/USDT' && r.action === 'buy')!;
    const order = entry.gate_trace.find((g) => g.stage === 'exchange_order')!;
    expect(order).toMatchObject({ verdict: 'pass', reason: 'filled' });
    expect(entry.execution!.fills[0]!.quantity * entry.execution!.fills[0]!.price).toBeLessThanOrEqual(201);
    expect(
      records
        .filter((r) => r.symbol === 'SOL/USDT')
        .every((r) => r.block_reason === 'symbol_not_allowed:SOL/USDT'),
    ).toBe(true);
    expect(fake.orders.size).toBe(1);
    const db = new Database(paths.ledger, { readonly: true });
    const rows = db.query("SELECT id, status, symbol FROM orders WHERE id LIKE 'binance:%'").all() as {
      id: string;
      status: string;
      symbol: string;
    }[];
    db.close();
    expect(rows).toEqual([
      { id: `binance:${order.observed!.order_id}`, status: 'filled', symbol: 'BTC/USDT' },
    ]);
  }, 30_000);

  it('halts, with the reason on the persistent flag, when an order outcome stays unknown after reconciliation', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    // The look-up before placing finds nothing, the exchange takes the order but the reply is a
    // 502, and every query after it fails: nobody can say whether the position exists.
    fake.inject('/api/v3/order', BINANCE_ERRORS.orderNotFound);
    fake.inject('/api/v3/order', { kind: 'placed-then-5xx', status: 502 });
    fake.inject('/api/v3/order', BINANCE_ERRORS.internalError, 1_000);
    const { result, paths } = await testnetRun(dir.path, fake, 5);
    expect(result.outcome).toBe('halted');
    const halt = readHalt(paths);
    expect(halt.halted && halt.reason).toMatch(
      /^exchange order atl-[0-9a-f]+ \(BTC\/USDT buy [0-9.]+\) is unknown$/,
    );
    const blocked = readDecisions(dir.path).find((r) =>
      r.gate_trace.some((g) => g.stage === 'exchange_order'),
    )!;
    expect(blocked.gate_trace.find((g) => g.stage === 'exchange_order')!.verdict).toBe('block');
    expect(fake.requests.filter((r) => r.method === 'POST').length).toBe(1);
    expect(fake.orders.size).toBe(1);
  }, 30_000);
});

describe('atl run in exchange order modes', () => {
  it('exits 78 naming the testnet keys when they are missing', async () => {
    using dir = tempDir();
    const r = await atl(
      [
        'run',
        '--mode',
        'testnet',
        '--exchange-url',
        'http://127.0.0.1:9',
        '--max-bars',
        '1',
        '--data-dir',
        dir.path,
      ],
      { env: { BINANCE_TESTNET_API_KEY: '', BINANCE_TESTNET_API_SECRET: '' } },
    );
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('BINANCE_TESTNET_API_KEY and BINANCE_TESTNET_API_SECRET');
  });

  it('refuses live_limited without --confirm (exit 2) and a bad guardrail value with --confirm (exit 78)', async () => {
    using dir = tempDir();
    const noConfirm = await atl(['run', '--mode', 'live_limited', '--max-bars', '1', '--data-dir', dir.path]);
    expect(noConfirm.code).toBe(2);
    expect(noConfirm.stderr).toContain('needs --confirm');
    const badCap = await atl(
      ['run', '--mode', 'live_limited', '--confirm', '--max-bars', '1', '--data-dir', dir.path],
      { env: { ATL_LIVE_MAX_POSITION_PCT: '150' } },
    );
    expect(badCap.code).toBe(78);
    expect(badCap.stderr).toContain('ATL_LIVE_MAX_POSITION_PCT must be a percent');
  });

  it('runs testnet against the loopback exchange with TESTNET records', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const env = { BINANCE_TESTNET_API_KEY: FAKE_API_KEY, BINANCE_TESTNET_API_SECRET: FAKE_API_SECRET };
    const r = await atl(
      [
        'run',
        '--mode',
        'testnet',
        '--timeframe',
        '1s',
        '--interval',
        '1',
        '--max-bars',
        '2',
        '--symbols',
        'BTC/USDT',
        '--exchange-url',
        fake.url,
        '--data-dir',
        dir.path,
      ],
      { env },
    );
    expect(r.code).toBe(0);
    const records = readDecisions(dir.path);
    expect(records.length).toBe(2);
    expect(
      records.every(
        (d) =>
          d.data_mode === 'TESTNET' &&
          d.mode === 'testnet' &&
          d.source.ref === `binance-sandbox@${fake!.url}`,
      ),
    ).toBe(true);
  }, 30_000);
});
