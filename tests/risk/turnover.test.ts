import { describe, expect, it } from 'bun:test';
import { OperatorError } from '../../core/errors.ts';
import { paperLiveTurnoverOverrides, RISK_DEFAULTS, withTurnoverOverrides } from '../../core/risk/config.ts';
import { expectedValue, TurnoverGovernor } from '../../core/risk/turnover.ts';
import type { Signal } from '../../core/signals/rules.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 24, 9, 0);
const technical = (confidence: number): Signal => ({
  action: 'buy',
  confidence,
  source: 'technical',
  stopPct: 0.015,
  takeProfitPct: 0.03,
});
const scalping = (confidence: number): Signal => ({
  action: 'buy',
  confidence,
  source: 'scalping',
  stopPct: 0.003,
  takeProfitPct: 0.005,
});

describe('turnover governor', () => {
  it('has an EV model that can pass its default 2.0× ratio, unlike the original (EV/cost = 1.667 × confidence² < 2)', () => {
    const gov = new TurnoverGovernor(RISK_DEFAULTS.turnover);
    expect(gov.roundTripCostPct).toBeCloseTo(0.003, 12); // 2 × (10 bps fee + 5 bps slippage)
    for (const c of [0.55, 0.7, 0.85]) {
      const ev = expectedValue(technical(c), gov.roundTripCostPct);
      expect(ev.evPct).toBeCloseTo(c * 0.03 - (1 - c) * 0.015, 12);
      expect(ev.ratio).toBeGreaterThan(2);
      expect(1.667 * c * c).toBeLessThan(2);
    }
    // A 0.5% target with a 0.3% stop does not pay for 0.3% of round-trip costs at any sane confidence.
    expect(expectedValue(scalping(0.7), gov.roundTripCostPct).ratio).toBeLessThan(2);
    const blocked = gov.evaluate('ETH/USDT', scalping(0.7), T0, 1);
    expect([blocked.gate.verdict, blocked.gate.reason]).toEqual(['block', 'ev_ratio_below_threshold']);
    expect(gov.evaluate('ETH/USDT', technical(0.6), T0, 1).gate.verdict).toBe('pass');
  });

  it("prefers a model's expected move to the take-profit distance, but never beyond the target", () => {
    const withModel = { ...technical(0.6), expectedReturn: 0.01 };
    expect(expectedValue(withModel, 0.003).rewardPct).toBe(0.01);
    expect(expectedValue({ ...technical(0.6), expectedReturn: 0.2 }, 0.003).rewardPct).toBe(0.03);
  });

  it('blocks a second entry within the minimum interval, stretched by the preservation cooldown', () => {
    const gov = new TurnoverGovernor(RISK_DEFAULTS.turnover);
    gov.recordOpen('ETH/USDT', T0);
    expect(gov.evaluate('ETH/USDT', technical(0.7), T0 + 14 * MIN, 1).gate.reason).toBe('interval_too_short');
    expect(gov.evaluate('ETH/USDT', technical(0.7), T0 + 15 * MIN, 1).gate.reason).toBeNull();
    const stretched = gov.evaluate('ETH/USDT', technical(0.7), T0 + 29 * MIN, 2);
    expect([stretched.gate.reason, stretched.gate.thresholds?.min_interval_minutes]).toEqual([
      'interval_too_short',
      30,
    ]);
    expect(gov.evaluate('SOL/USDT', technical(0.7), T0 + MIN, 1).gate.reason).toBeNull(); // per symbol
  });

  it('allows at most 10 entries per symbol per UTC day and starts counting again at midnight', () => {
    const gov = new TurnoverGovernor(RISK_DEFAULTS.turnover);
    const day = Date.UTC(2026, 10, 24);
    for (let i = 0; i < 10; i++) gov.recordOpen('ETH/USDT', day + i * 20 * MIN);
    const last = day + 23 * 3_600_000;
    const full = gov.evaluate('ETH/USDT', technical(0.7), last, 1);
    expect([full.gate.reason, full.gate.observed?.decisions_today]).toEqual(['daily_limit_reached', 10]);
    expect(gov.evaluate('ETH/USDT', technical(0.7), day + 86_400_000, 1).gate.reason).toBeNull();
  });

  it('applies the BTC override (30 min, 6 a day, 2.5×) to every spelling of BTC', () => {
    const gov = new TurnoverGovernor(RISK_DEFAULTS.turnover);
    for (const s of ['BTC/USDT', 'BTC_USDT', 'BTCUSDT', 'BTC/USD'])
      expect(gov.limitsFor(s)).toEqual({ minIntervalMinutes: 30, maxDecisionsPerDay: 6, minEvRatio: 2.5 });
    expect(gov.limitsFor('ETH/USDT').minEvRatio).toBe(2);
  });

  it('reads the paper-live overrides from env: defaults 2.0 and 10, the exact log line, errors for bad values', () => {
    expect(paperLiveTurnoverOverrides({}).line).toBe(
      'Paper-live turnover overrides: min_ratio=2.0 max_daily=10',
    );
    const custom = paperLiveTurnoverOverrides({
      PAPER_LIVE_TURNOVER_MIN_RATIO: '2.75',
      PAPER_LIVE_TURNOVER_MAX_DAILY: '4',
    });
    expect(custom).toMatchObject({
      minRatio: 2.75,
      maxDaily: 4,
      line: 'Paper-live turnover overrides: min_ratio=2.75 max_daily=4',
    });
    const applied = withTurnoverOverrides({ ...RISK_DEFAULTS }, custom).turnover;
    expect([
      applied.minEvRatio,
      applied.maxDecisionsPerDay,
      applied.symbolOverrides.BTC?.maxDecisionsPerDay,
    ]).toEqual([2.75, 4, 4]);
    for (const env of [
      { PAPER_LIVE_TURNOVER_MIN_RATIO: '0' },
      { PAPER_LIVE_TURNOVER_MIN_RATIO: 'x' },
      { PAPER_LIVE_TURNOVER_MAX_DAILY: '0' },
      { PAPER_LIVE_TURNOVER_MAX_DAILY: '1e1.5' },
    ]) {
      let err: unknown = null;
      try {
        paperLiveTurnoverOverrides(env);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(OperatorError);
      expect((err as OperatorError).exitCode).toBe(78);
    }
  });

  it('keeps its counters across a snapshot and restore', () => {
    const gov = new TurnoverGovernor(RISK_DEFAULTS.turnover);
    gov.recordOpen('ETH/USDT', T0);
    const copy = new TurnoverGovernor(RISK_DEFAULTS.turnover);
    copy.restore(JSON.parse(JSON.stringify(gov.snapshot())));
    expect(copy.evaluate('ETH/USDT', technical(0.7), T0 + MIN, 1).gate.reason).toBe('interval_too_short');
  });
});
