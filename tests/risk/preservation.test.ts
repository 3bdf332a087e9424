import { describe, expect, it } from 'bun:test';
import { RISK_DEFAULTS } from '../../core/risk/config.ts';
import { CapitalPreservation, type PreservationFacts, RESTRICTIONS } from '../../core/risk/preservation.ts';
import { statsOf } from '../../core/risk/trade-stats.ts';

const H = 3_600_000;
const T0 = Date.UTC(2026, 10, 24);
const noTrades = statsOf([]);
const facts = (over: Partial<PreservationFacts> = {}): PreservationFacts => ({
  nowMs: T0,
  drawdown: 0,
  rolling: noTrades,
  lossStreak: 0,
  ...over,
});
const fresh = () => new CapitalPreservation(RISK_DEFAULTS.preservation);

describe('capital preservation', () => {
  it('orders levels by rank, so normal escalates (the original compared names as strings and could not)', () => {
    const p = fresh();
    expect(p.update(facts({ drawdown: 0.03 }))).toEqual({
      from: 'normal',
      to: 'cautious',
      reason: 'drawdown 3.00% ≥ 3.00%',
    });
    expect(p.update(facts({ nowMs: T0 + 5 * H, drawdown: 0.05 }))?.to).toBe('critical');
    expect(p.update(facts({ nowMs: T0 + 10 * H, drawdown: 0.08 }))?.to).toBe('lockdown');
  });

  it('escalates at once to the worst level any trigger calls for, naming those triggers', () => {
    const p = fresh();
    const losing = statsOf([-10, -10, -10, 5, -10, -10, -10, -10, 5, -10]);
    const change = p.update(facts({ rolling: losing, lossStreak: 1 }));
    expect(change?.to).toBe('critical');
    expect(change?.reason).toBe('profit factor 0.13 < 0.7 over the last 10 trades');
    expect(fresh().assess(facts({ lossStreak: 5 }))).toBe('defensive');
    expect(fresh().assess(facts({ lossStreak: 7 }))).toBe('critical');
    expect(fresh().assess(facts({ rolling: statsOf([5, 5, 5, -1, -1, -1, -1, -1, -1, -1]) }))).toBe(
      'defensive',
    ); // win rate 30% < 35%
  });

  it('ignores profit factor and win rate until the window holds 10 trades', () => {
    expect(fresh().assess(facts({ rolling: statsOf([-10, -10, -10, -10, -10, -10, -10, -10, -10]) }))).toBe(
      'normal',
    );
  });

  it('reads a fast-rising drawdown per hour: >1%/h cautious, >2%/h defensive', () => {
    const p = fresh();
    p.update(facts({ drawdown: 0 }));
    expect(p.assess(facts({ nowMs: T0 + H / 2, drawdown: 0.015 }))).toBe('cautious');
    expect(p.assess(facts({ nowMs: T0 + H / 2, drawdown: 0.025 }))).toBe('defensive');
    expect(p.assess(facts({ nowMs: T0 + 4 * H, drawdown: 0.025 }))).toBe('normal'); // 0.6%/h over four hours
  });

  it('recovers one level at a time after 5 trades with ≥60% wins, profit factor ≥1.2 and drawdown <3%, never out of lockdown', () => {
    const p = fresh();
    p.update(facts({ lossStreak: 7 }));
    expect(p.level).toBe('critical');
    for (const pnl of [10, 10, 10, -5, 10]) p.onTrade(pnl);
    expect(p.update(facts({ nowMs: T0 + H, drawdown: 0.01 }))).toMatchObject({
      from: 'critical',
      to: 'defensive',
    });
    expect(p.update(facts({ nowMs: T0 + 2 * H, drawdown: 0.01 }))).toBeNull(); // the count starts again
    const locked = fresh();
    locked.update(facts({ drawdown: 0.09 }));
    for (const pnl of [10, 10, 10, 10, 10]) locked.onTrade(pnl);
    expect(locked.update(facts({ nowMs: T0 + H, drawdown: 0.01 }))).toBeNull();
    expect(locked.releaseLockdown(T0 + 2 * H)).toMatchObject({ from: 'lockdown', to: 'critical' });
  });

  it('applies the restrictions of each level: size, leverage, minimum confidence, cooldown', () => {
    expect(Object.values(RESTRICTIONS).map((r) => [r.size, r.leverage, r.minConfidence, r.cooldown])).toEqual(
      [
        [1, 1, 0.5, 1],
        [0.8, 0.75, 0.6, 1.5],
        [0.5, 0.5, 0.7, 2],
        [0.25, 0.25, 0.85, 3],
        [0, 0, 1.1, Number.POSITIVE_INFINITY],
      ],
    );
  });

  it('keeps level, recovery progress and drawdown samples across a snapshot and restore', () => {
    const p = fresh();
    p.update(facts({ drawdown: 0 }));
    p.update(facts({ nowMs: T0 + H / 4, lossStreak: 5 }));
    p.onTrade(10);
    const copy = fresh();
    copy.restore(JSON.parse(JSON.stringify(p.snapshot())));
    expect(copy.snapshot()).toEqual(p.snapshot());
    expect(copy.assess(facts({ nowMs: T0 + H / 2, drawdown: 0.025 }))).toBe('defensive');
  });
});
