import { describe, expect, it } from 'bun:test';
import { MODE_LIMITS, type SafetyFacts, SafetyLimits } from '../../core/risk/safety-limits.ts';

const H = 3_600_000;
const DAY = Date.UTC(2026, 10, 24);
const facts = (over: Partial<SafetyFacts> = {}): SafetyFacts => ({
  nowMs: DAY + 9 * H,
  equity: 100,
  initialCapital: 100,
  openPositions: 0,
  exposure: 0,
  lossStreak: 0,
  ...over,
});

function limits(mode: keyof typeof MODE_LIMITS): SafetyLimits {
  const s = new SafetyLimits(MODE_LIMITS[mode]);
  s.rollDay(DAY, 100);
  return s;
}

describe('safety limits', () => {
  it('bounds live_limited to $20 positions, 3 open, 10 trades a day, a 2% / $2 daily loss and $100 of capital', () => {
    const s = limits('live_limited');
    expect(s.maxNotional(100, 0)).toBe(5); // 5% of $100 equity is below the $20 cap
    expect(s.maxNotional(10_000, 0)).toBe(20);
    expect(s.tradingEquity(10_000)).toBe(100);
    expect(s.dailyLossLimit()).toBe(2);
    expect(s.preTrade(facts({ openPositions: 3 })).reason).toBe('position_limit');
  });

  it('leaves paper modes to capital preservation: no hourly, streak or total-loss limits', () => {
    const l = MODE_LIMITS.backtest;
    expect([l.maxTradesPerHour, l.maxConsecutiveLosses, l.maxTotalLossPct, l.maxPositionUsd]).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect(MODE_LIMITS.paper_live_data.maxTradesPerDay).toBe(100);
  });

  it('checks in the original order and blocks at the first limit reached', () => {
    const s = limits('testnet');
    for (let i = 0; i < 5; i++) s.onOpen(DAY + 9 * H - i * 60_000);
    expect(s.preTrade(facts()).reason).toBe('hourly_trade_limit');
    expect(s.preTrade(facts({ nowMs: DAY + 10 * H + 60_000 })).reason).toBeNull(); // a rolling hour later
    expect(s.preTrade(facts({ nowMs: DAY + 11 * H, exposure: 81 })).reason).toBe('reserve_limit'); // 20% reserve
    expect(s.preTrade(facts({ nowMs: DAY + 11 * H, lossStreak: 5 })).reason).toBe('consecutive_loss_limit');
    s.onClose(-10);
    expect(s.preTrade(facts({ nowMs: DAY + 11 * H })).reason).toBe('daily_loss_limit');
  });

  it('names the breaches that halt: daily loss, consecutive losses, total loss', () => {
    const s = limits('live_limited');
    s.onClose(-1.5);
    expect(s.breach(facts())).toBeNull();
    s.onClose(-0.5);
    expect(s.breach(facts())).toBe('daily_loss_limit: lost 2 today ≥ limit 2');
    expect(limits('live_limited').breach(facts({ lossStreak: 5 }))).toBe(
      'consecutive_loss_limit: 5 losing trades in a row ≥ 5',
    );
    expect(limits('live_full').breach(facts({ equity: 94, initialCapital: 100 }))).toBe(
      'total_loss_limit: equity 94 is 6.00% below the starting 100',
    );
    expect(limits('backtest').breach(facts({ equity: 50, lossStreak: 40 }))).toBeNull();
  });

  it('starts a new day at UTC midnight and keeps the day across a snapshot and restore', () => {
    const s = limits('live_full');
    s.onOpen(DAY + H);
    s.onClose(-100);
    const copy = new SafetyLimits(MODE_LIMITS.live_full);
    copy.restore(JSON.parse(JSON.stringify(s.snapshot())));
    expect([copy.day, copy.realizedPnl, copy.opens, copy.startEquity]).toEqual([s.day, -100, 1, 100]);
    expect(copy.rollDay(DAY + 23 * H, 90)).toBe(false);
    expect(copy.rollDay(DAY + 24 * H, 90)).toBe(true);
    expect([copy.realizedPnl, copy.opens, copy.startEquity]).toEqual([0, 0, 90]);
  });
});
