import { describe, expect, it } from 'bun:test';
import { Portfolio } from '../../core/broker/portfolio.ts';
import type { Draft } from '../../core/engine/pipeline.ts';
import type { StageContext } from '../../core/engine/stages.ts';
import { OperatorError } from '../../core/errors.ts';
import { RISK_DEFAULTS } from '../../core/risk/config.ts';
import { RiskGuard } from '../../core/risk/guard.ts';
import { validate } from '../../core/schema/ajv.ts';
import { GuardSnapshot } from '../../core/schema/risk.ts';

const guard = (halts: string[] = []) =>
  new RiskGuard({
    mode: 'backtest',
    config: RISK_DEFAULTS,
    minNotional: 10,
    halt: (reason) => halts.push(reason),
  });

describe('risk guard state', () => {
  it('snapshots a schema-valid state and restores it unchanged', () => {
    const g = guard();
    g.trades.record(-12);
    g.trades.record(-8);
    g.turnover.recordOpen('ETH/USDT', Date.UTC(2026, 10, 24, 9));
    g.safety.rollDay(Date.UTC(2026, 10, 24, 9), 10_000);
    g.safety.onClose(-20);
    const snap = JSON.parse(JSON.stringify(g.snapshot()));
    expect(validate(GuardSnapshot, snap).ok).toBe(true);
    const copy = guard();
    copy.restore(snap);
    expect(copy.snapshot()).toEqual(snap);
    expect(copy.trades.lossStreak).toBe(2);
  });

  it('starts fresh from a checkpoint without risk state, and refuses one it cannot read (exit 3)', () => {
    const g = guard();
    g.restore(null);
    expect(g.preservationLevel()).toBe('normal');
    let err: unknown = null;
    try {
      g.restore({ version: 99 });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).exitCode).toBe(3);
    expect((err as OperatorError).hint).toContain('--fresh');
  });

  it('resumes a lockdown it halted on at critical, with the loss streak and drawdown baseline restarted, once the halt is cleared', () => {
    const g = guard();
    for (let i = 0; i < 6; i++) g.trades.record(-10);
    const snap = {
      ...g.snapshot(),
      preservation: { ...g.preservation.snapshot(), level: 'lockdown' as const },
      raisedHalt: 'capital_preservation_lockdown: drawdown 8.1% ≥ 8.00%',
      drawdownBase: { peak: 10_000, portfolioPeak: 10_000 },
    };
    const resumed = guard();
    resumed.restore(JSON.parse(JSON.stringify(snap)));
    expect(resumed.preservationLevel()).toBe('critical');
    expect(resumed.trades.lossStreak).toBe(0);
    expect(resumed.raisedHalt()).toBeNull();
    expect(resumed.snapshot().drawdownBase.peak).toBeNull();
  });
});

describe('the correlation with what is held', () => {
  const MIN = 60_000;
  const T0 = Date.UTC(2026, 9, 7);
  const closes = (symbol: string, i: number) =>
    symbol === 'BTC/USDT' ? 70_000 * (1 + 0.002 * Math.sin(i)) : 2_500 * (1 + 0.003 * Math.sin(i * 1.3 + 1));
  const ctxOf = (p: Portfolio, symbol: string, i: number) =>
    ({
      symbol,
      bar: { openTs: T0 + (i - 1) * MIN, closeTs: T0 + i * MIN, close: closes(symbol, i) },
      portfolio: p,
      ind: { warm: false, vol24: { value: 0.001 } },
      tick: { correlationId: 't' },
      cfg: { timeframe: '1m' },
    }) as unknown as StageContext;
  const buy = {
    action: 'buy' as const,
    confidence: 0.8,
    source: 'technical',
    stopPct: 0.015,
    takeProfitPct: 0.03,
  };
  const observe = (g: RiskGuard, p: Portfolio, from: number, to: number) => {
    for (let i = from; i < to; i++)
      for (const s of ['BTC/USDT', 'ETH/USDT'])
        g.onDecision({ execution: null } as unknown as Draft, ctxOf(p, s, i));
  };

  it('is measured from the first entry a resumed guard evaluates, as by the guard that never stopped', () => {
    const p = new Portfolio(10_000);
    const g = guard();
    observe(g, p, 0, 60);
    g.evaluate(ctxOf(p, 'BTC/USDT', 60), buy); // nothing held yet: the correlations are not asked for
    observe(g, p, 60, 70);
    p.positions.set('ETH/USDT', {
      symbol: 'ETH/USDT',
      side: 'long',
      quantity: 0.1,
      entry_price: 2_500,
      entry_ts: new Date(T0).toISOString(),
      stop_loss: null,
      take_profit: null,
      last_price: 2_500,
      unrealized_pnl: 0,
      entry_fee: 0,
      decision_id: 'd',
    });
    const resumed = guard();
    resumed.restore(JSON.parse(JSON.stringify(g.snapshot())));
    const budgets = [g, resumed].map((x) => x.evaluate(ctxOf(p, 'BTC/USDT', 70), buy).riskBudget);
    expect(budgets[0]!.max_correlation).not.toBeNull();
    expect(budgets[1]).toEqual(budgets[0]!);
  });
});

describe('a lockdown by mode', () => {
  const H = 3_600_000;
  const T0 = Date.UTC(2026, 10, 24);
  type Mode = 'backtest' | 'paper_live_data' | 'testnet' | 'live_limited' | 'live_full';
  const guardIn = (mode: Mode, halts: string[]) =>
    new RiskGuard({ mode, config: RISK_DEFAULTS, minNotional: 10, halt: (reason) => halts.push(reason) });
  /** One closed bar seen by the guard as an observer, optionally closing a trade with `pnl`. */
  const bar = (g: RiskGuard, p: Portfolio, ts: number, pnl: number | null = null) => {
    const fills = pnl === null ? null : [{ intent: 'close', realized_pnl: pnl }];
    if (pnl !== null) p.cash += pnl;
    const ctx = {
      symbol: 'BTC/USDT',
      bar: { closeTs: ts, close: 100 },
      portfolio: p,
      tick: { correlationId: 't' },
      cfg: { timeframe: '1h' },
    } as unknown as StageContext;
    g.onDecision({ execution: fills && { fills } } as unknown as Draft, ctx);
  };
  /** A guard in `mode` brought to lockdown by one 9% loss at T0. */
  const lockedDown = (mode: Mode) => {
    const halts: string[] = [];
    const g = guardIn(mode, halts);
    const p = new Portfolio(10_000);
    bar(g, p, T0, -900);
    expect(g.preservationLevel()).toBe('lockdown');
    return { g, p, halts };
  };

  it.each(['testnet', 'live_limited', 'live_full'] as const)(
    'halts %s persistently (the halt flag), with no time limit',
    (mode) => {
      const { g, p, halts } = lockedDown(mode);
      expect(halts).toEqual(['capital_preservation_lockdown: drawdown 9.00% ≥ 8.00%']);
      expect(g.raisedHalt()).toEqual({ reason: halts[0]! });
      expect(g.preservation.lockedUntil).toBeNull();
      bar(g, p, T0 + 100 * H);
      expect(g.preservationLevel()).toBe('lockdown');
    },
  );

  it.each(['backtest', 'paper_live_data'] as const)(
    'locks %s for 24 candles of its timeframe, then re-evaluates from the equity at the lock; never raises the halt',
    (mode) => {
      const { g, p, halts } = lockedDown(mode);
      expect(g.preservation.lockedUntil).toBe(T0 + 24 * H);
      expect(g.preservationState().reason).toBe(
        'drawdown 9.00% ≥ 8.00%; entries locked for 24 candles, until 2026-11-25T00:00:00.000Z',
      );
      // Resumed mid-lock from the checkpoint, it holds the same lock.
      const resumed = guardIn(mode, halts);
      resumed.restore(JSON.parse(JSON.stringify(g.snapshot())));
      expect(resumed.snapshot()).toEqual(g.snapshot());
      for (const guard of [g, resumed]) {
        bar(guard, p, T0 + 23 * H);
        expect(guard.preservationLevel()).toBe('lockdown');
      }
      p.cash -= 300; // an open position lost more during the lock: 3.3% below the equity at the lock
      bar(g, p, T0 + 24 * H);
      expect(g.preservationLevel()).toBe('critical');
      expect(g.preservationState().reason).toBe('lock ended; drawdown since the lock 3.30%');
      expect(halts).toEqual([]);
      expect(g.raisedHalt()).toBeNull();
    },
  );

  it('locks again at the end of a lock when the drawdown since the lock is itself at the lockdown level', () => {
    const { g, p } = lockedDown('backtest');
    p.cash -= 800; // 8.8% below the 9,100 at the lock
    bar(g, p, T0 + 24 * H);
    expect(g.preservationLevel()).toBe('lockdown');
    expect(g.preservation.lockedUntil).toBe(T0 + 48 * H);
    expect(g.preservationState().reason).toStartWith(
      'still drawdown 8.79% ≥ 8.00% after the lock; entries locked for 24 candles',
    );
    bar(g, p, T0 + 48 * H);
    expect(g.preservationLevel()).toBe('critical');
  });
});
