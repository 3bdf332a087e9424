import { describe, expect, it } from 'bun:test';
import { OperatorError } from '../../core/errors.ts';
import { RISK_DEFAULTS, resolveRiskConfig } from '../../core/risk/config.ts';
import { type BudgetRequest, RiskBudgetEngine } from '../../core/risk/risk-budget.ts';

const request = (over: Partial<BudgetRequest> = {}): BudgetRequest => ({
  symbol: 'ETH/USDT',
  side: 'long',
  confidence: 0.8,
  equity: 10_000,
  drawdown: 0,
  exposure: 0,
  volatility: 0.005,
  barMs: 3_600_000,
  signalStopPct: 0.015,
  regime: 'SIDEWAYS',
  winStreak: 0,
  lossStreak: 0,
  kelly: { trades: 0, winRate: 0, payoff: 1 },
  positions: [],
  positionCorrelations: [],
  ...over,
});

function configErrorOf(fn: () => unknown): OperatorError {
  try {
    fn();
  } catch (err) {
    if (err instanceof OperatorError) return err;
    throw err;
  }
  throw new Error('expected a configuration error');
}

describe('RiskBudgetEngine', () => {
  it('is built from configuration alone, with the documented defaults', () => {
    const engine = new RiskBudgetEngine();
    expect(engine.config).toEqual(RISK_DEFAULTS.budget);
    expect(new RiskBudgetEngine({ baseRiskPct: 0.015 }).config.baseRiskPct).toBe(0.015);
  });

  it('refuses bad configuration with exit 78 and the field named', () => {
    const negative = configErrorOf(() => new RiskBudgetEngine({ maxPositionPct: -0.1 }));
    expect(negative.exitCode).toBe(78);
    expect(negative.message).toContain('/budget/maxPositionPct must be >= 0');
    const order = configErrorOf(() => new RiskBudgetEngine({ minRiskPct: 0.03 }));
    expect(order.message).toContain(
      'budget.minRiskPct ≤ budget.baseRiskPct ≤ budget.maxRiskPct must hold (got 0.03, 0.01, 0.02)',
    );
    const unknown = configErrorOf(() => resolveRiskConfig({ budget: { initialCapital: 10_000 } } as never));
    expect(unknown.message).toContain('must NOT have additional properties');
    const stops = configErrorOf(() => new RiskBudgetEngine({ minStopPct: 0.2, maxStopPct: 0.1 }));
    expect(stops.message).toContain('budget.minStopPct (0.2) is above budget.maxStopPct (0.1)');
  });

  it('sizes 1% of equity at risk over the stop distance, capped at 20% of equity and recommending 70% of it', () => {
    const b = new RiskBudgetEngine().compute(request());
    expect(b.tier).toBe('FULL');
    expect(b.max_risk_usd).toBe(100);
    expect(b.stop_distance_pct).toBe(0.015); // the signal's stop, wider than 2 × 0.5% volatility
    expect(b.max_position_usd).toBe(2000); // 100 / 1.5% = 6,667, capped at 20% of 10,000
    expect(b.recommended_position_usd).toBe(1400);
    const small = new RiskBudgetEngine().compute(request({ equity: 1000 }));
    expect(small.recommended_position_usd).toBe(140); // equity comes with the request, not the constructor
  });

  it('widens the stop with volatility (2 × per-bar volatility, within 1%–10%) and sizes down accordingly', () => {
    const b = new RiskBudgetEngine().compute(request({ volatility: 0.02, signalStopPct: 0.015 }));
    expect(b.stop_distance_pct).toBe(0.04);
    expect(b.max_position_usd).toBe(2000); // 100 / 4% = 2,500 → capped
    const wild = new RiskBudgetEngine().compute(request({ volatility: 0.2, signalStopPct: 0.015 }));
    expect(wild.stop_distance_pct).toBe(0.1);
    expect(wild.max_position_usd).toBeLessThan(1000); // 100 / 10% = 1,000, then the value-at-risk cap binds
    expect(wild.adjustments).toContain('var_cap');
  });

  it('tiers ZERO / MINIMAL / REDUCED / FULL from confidence, drawdown, streaks and regime', () => {
    const e = new RiskBudgetEngine();
    expect(e.tier(0.29, 0, 0, 'SIDEWAYS')).toBe('ZERO');
    expect(e.tier(0.9, 0.081, 0, 'SIDEWAYS')).toBe('MINIMAL');
    expect(e.tier(0.9, 0, 0, 'CRASH')).toBe('MINIMAL');
    expect(e.tier(0.9, 0, 3, 'SIDEWAYS')).toBe('REDUCED');
    expect(e.tier(0.59, 0, 0, 'BEAR')).toBe('REDUCED');
    expect(e.tier(0.64, 0, 0, 'HIGH_VOL')).toBe('REDUCED');
    expect(e.tier(0.6, 0.049, 0, 'SIDEWAYS')).toBe('FULL');
    expect(e.tier(0.6, 0.05, 0, 'SIDEWAYS')).toBe('REDUCED');
    const zero = e.compute(request({ confidence: 0.2 }));
    expect([zero.tier, zero.recommended_position_usd]).toEqual(['ZERO', 0]);
  });

  it('boosts after three wins (+7% a win, at most 1.2×) and cuts after two losses (×0.5 each, floor 0.1)', () => {
    const e = new RiskBudgetEngine();
    expect(e.streakMultiplier(2, 0)).toBe(1);
    expect(e.streakMultiplier(3, 0)).toBeCloseTo(1.07, 10);
    expect(e.streakMultiplier(9, 0)).toBe(1.2);
    expect(e.streakMultiplier(0, 2)).toBe(0.5);
    expect(e.streakMultiplier(0, 3)).toBe(0.25);
    expect(e.streakMultiplier(0, 6)).toBe(0.1);
  });

  it('scales the drawdown multiplier down and clamps any non-zero budget to 0.2%–2% of equity', () => {
    const e = new RiskBudgetEngine();
    const mild = e.compute(request({ drawdown: 0.03 }));
    expect(mild.multipliers.drawdown).toBe(0.7);
    expect(mild.max_risk_usd).toBe(70);
    const deep = e.compute(request({ drawdown: 0.09, lossStreak: 5 }));
    expect(deep.max_risk_usd).toBe(20); // 1% × 0.1 × 0.1 × 0.25 would be 0.25: floor 0.2%
    const gone = e.compute(request({ drawdown: 0.11 }));
    expect(gone.recommended_position_usd).toBe(0);
  });

  it('caps correlated exposure and charges a correlation penalty for a same-side correlated position', () => {
    const e = new RiskBudgetEngine();
    const held = {
      symbol: 'BTC/USDT',
      side: 'long' as const,
      notional: 4500,
      volatility: 0.005,
      correlation: 0.9,
    };
    const b = e.compute(request({ exposure: 4500, positions: [held], positionCorrelations: [[1]] }));
    expect(b.correlation_penalty).toBe(0.18); // |ρ| × 0.2, above the ratio rule's (45% − 40%) × 2 = 0.1
    expect(b.correlated_exposure_usd).toBe(4500);
    const crowded = e.compute(
      request({ exposure: 6000, positions: [{ ...held, notional: 6000 }], positionCorrelations: [[1]] }),
    );
    expect(crowded.correlation_penalty).toBe(0.4); // (60% − 40%) × 2
    expect(crowded.recommended_position_usd).toBe(0); // already past the 50% correlated cap
    expect(b.max_position_usd).toBeLessThanOrEqual(500); // 50% of equity minus 45% already correlated
    expect(b.adjustments).toContain('correlated_exposure_cap');
    const hedge = e.compute(
      request({ side: 'short', exposure: 4500, positions: [held], positionCorrelations: [[1]] }),
    );
    expect(hedge.correlation_penalty).toBe(0);
    expect(hedge.correlated_exposure_usd).toBe(0);
  });

  it('keeps the portfolio value at risk within 5% of equity, solving for the size that fits', () => {
    const e = new RiskBudgetEngine({
      maxPositionPct: 1,
      maxCorrelatedExposurePct: 10,
      maxTotalExposurePct: 10,
    });
    const held = Array.from({ length: 3 }, (_, i) => ({
      symbol: `X${i}/USDT`,
      side: 'long' as const,
      notional: 2500,
      volatility: 0.008,
      correlation: 0.6,
    }));
    const corr = [
      [1, 0.6, 0.6],
      [0.6, 1, 0.6],
      [0.6, 0.6, 1],
    ];
    const b = e.compute(
      request({ volatility: 0.008, exposure: 7500, positions: held, positionCorrelations: corr }),
    );
    expect(b.adjustments).toContain('var_cap');
    expect(b.portfolio_var_usd).toBeLessThanOrEqual(b.var_limit_usd + 0.01);
    expect(b.portfolio_var_usd).toBeGreaterThan(b.var_limit_usd - 1);
    expect(b.cvar_usd).toBeGreaterThan(b.var_usd);
  });

  it('with Kelly enabled, refuses to size a strategy with no edge', () => {
    const e = new RiskBudgetEngine({ kellyEnabled: true });
    const noEdge = e.compute(request({ kelly: { trades: 50, winRate: 0.3, payoff: 1.5 } }));
    expect(noEdge.recommended_position_usd).toBe(0);
    expect(noEdge.adjustments).toContain('kelly_no_edge');
    const thin = e.compute(request({ kelly: { trades: 50, winRate: 0.42, payoff: 1.5 } }));
    expect(thin.multipliers.kelly_cap_pct).toBeCloseTo(((1.5 * 0.42 - 0.58) / 1.5) * 0.25, 6);
    expect(thin.max_risk_usd).toBeCloseTo(10_000 * (((1.5 * 0.42 - 0.58) / 1.5) * 0.25), 1);
    expect(thin.adjustments).toContain('kelly_cap');
    const strong = e.compute(request({ kelly: { trades: 50, winRate: 0.6, payoff: 1.5 } }));
    expect(strong.multipliers.kelly_cap_pct).toBe(0.02); // quarter-Kelly 8.3%, capped at the 2% maximum risk
  });
});
