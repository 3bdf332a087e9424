import { describe, expect, it } from 'bun:test';
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
