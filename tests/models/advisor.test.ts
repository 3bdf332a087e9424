import { describe, expect, it } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ShadowAdvisor } from '../../core/advisor/advisor.ts';
import { AGENTS } from '../../core/advisor/agents.ts';
import { LinUcb } from '../../core/advisor/bandit.ts';
import { ClampedWeights, DAILY_SHIFT_MAX, WEIGHT_MAX, WEIGHT_MIN } from '../../core/advisor/weights.ts';
import type { Bar } from '../../core/engine/feeds.ts';
import { FeatureEngine } from '../../core/features/feature-set.ts';
import { tempDir } from '../support/cli.ts';

const EPS = 1e-9;

describe('strategy weights', () => {
  it('move at most 10 points per UTC day and stay within [5%, 50%], summing to 1, whatever the targets', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            target: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 5, maxLength: 5 }),
            nextDay: fc.boolean(),
          }),
          { minLength: 1, maxLength: 60 },
        ),
        (steps) => {
          const w = new ClampedWeights(5);
          let day = 0;
          for (const step of steps) {
            if (step.nextDay) day++;
            const sum = step.target.reduce((a, b) => a + b, 0) || 1;
            const before = Array.from(w.weights);
            w.moveToward(Float64Array.from(step.target.map((t) => t / sum)), day);
            // Within a day the start stays put; a new day starts from where the last one ended.
            const dayStart = Array.from(w.dayStart);
            if (step.nextDay) expect(dayStart).toEqual(before);
            expect(Math.abs(w.weights.reduce((a, b) => a + b, 0) - 1)).toBeLessThan(1e-9);
            w.weights.forEach((x, i) => {
              expect(x).toBeGreaterThanOrEqual(WEIGHT_MIN - EPS);
              expect(x).toBeLessThanOrEqual(WEIGHT_MAX + EPS);
              expect(Math.abs(x - dayStart[i]!)).toBeLessThanOrEqual(DAILY_SHIFT_MAX + EPS);
            });
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  it('reach a far target only over several days', () => {
    const w = new ClampedWeights(5);
    const target = Float64Array.of(0.96, 0.01, 0.01, 0.01, 0.01);
    w.moveToward(target, 0);
    expect(w.weights[0]).toBeCloseTo(0.3, 9);
    w.moveToward(target, 1);
    expect(w.weights[0]).toBeCloseTo(0.4, 9);
    w.moveToward(target, 2);
    expect(w.weights[0]).toBeCloseTo(0.5, 9); // the 50% cap
    w.moveToward(target, 3);
    expect(w.weights[0]).toBeCloseTo(0.5, 9);
  });
});

describe('LinUCB', () => {
  it('learns which arm pays in which context and explores less as evidence grows', () => {
    const bandit = new LinUcb(2, 2);
    const up = Float64Array.of(1, 1);
    const down = Float64Array.of(1, -1);
    const score = (arm: number, x: Float64Array) => {
      bandit.evaluate(arm, x);
      return { mean: bandit.lastMean, bonus: bandit.lastBonus };
    };
    const before = score(0, up).bonus;
    for (let i = 0; i < 200; i++) {
      bandit.update(0, up, 1);
      bandit.update(0, down, -1);
      bandit.update(1, up, -1);
      bandit.update(1, down, 1);
    }
    expect(score(0, up).mean).toBeGreaterThan(0.9);
    expect(score(0, down).mean).toBeLessThan(-0.9);
    expect(score(1, down).mean).toBeGreaterThan(0.9);
    expect(score(0, up).bonus).toBeLessThan(before / 5);
  });
});

/** A steady uptrend with small wiggles: trend followers earn, mean reversion loses. */
function trendBars(n: number): Bar[] {
  const bars: Bar[] = [];
  let price = 100;
  for (let i = 0; i < n; i++) {
    const open = price;
    price *= 1 + 0.004 + 0.003 * Math.sin(i / 3);
    const t = Date.UTC(2026, 0, 1) + i * 3_600_000;
    bars.push({
      symbol: 'X/USDT',
      openTs: t,
      closeTs: t + 3_600_000,
      open,
      high: Math.max(open, price) * 1.001,
      low: Math.min(open, price) * 0.999,
      close: price,
      volume: 10 + (i % 7),
      ageS: null,
    });
  }
  return bars;
}

describe('the shadow advisor', () => {
  it('recommends without executing, shifts weight toward the agent that earns, within the daily clamp, and persists what it learned', () => {
    using dir = tempDir();
    const statePath = join(dir.path, 'advisor_state.json');
    const advisor = new ShadowAdvisor(statePath);
    const features = new FeatureEngine();
    const days: number[][] = [];
    let rec: Record<string, unknown> | null = null;
    for (const bar of trendBars(24 * 12)) {
      features.update(bar.openTs, bar.open, bar.high, bar.low, bar.close, bar.volume);
      advisor.onBar('X/USDT', bar, features.row, 0, features.ready);
      rec = advisor.recommend('X/USDT', features.row, 0, features.ready);
      if (new Date(bar.openTs).getUTCHours() === 23)
        days.push(AGENTS.map((a) => (rec!.strategy_preferences as Record<string, number>)[a]!));
    }
    expect(rec).toMatchObject({ executed: false, enabled: true, learner: 'linucb-v1' });
    expect(['buy', 'short', 'hold']).toContain(rec!.action as string);
    const trend = AGENTS.indexOf('trend_follower');
    expect(days.at(-1)![trend]!).toBeGreaterThan(0.2);
    for (let d = 1; d < days.length; d++) {
      for (let a = 0; a < AGENTS.length; a++)
        expect(Math.abs(days[d]![a]! - days[d - 1]![a]!)).toBeLessThanOrEqual(DAILY_SHIFT_MAX + 2e-4);
    }
    advisor.close();
    expect(existsSync(statePath)).toBe(true);
    const saved = JSON.parse(readFileSync(statePath, 'utf8'));
    expect(saved.updates).toBeGreaterThan(100);
    const resumed = new ShadowAdvisor(statePath);
    resumed.onBar('X/USDT', trendBars(1)[0]!, features.row, 0, false);
    expect((resumed.recommend('X/USDT', features.row, 0, true) as { updates: number }).updates).toBe(
      saved.updates,
    );
    // A saved state whose weights are further than the clamp from its day start is refused: the advisor starts afresh.
    const broken = {
      ...saved,
      weights: [0.45, 0.05, 0.2, 0.15, 0.15],
      day_start_weights: [0.2, 0.2, 0.2, 0.2, 0.2],
    };
    writeFileSync(statePath, JSON.stringify(broken));
    const refused = new ShadowAdvisor(statePath);
    refused.onBar('X/USDT', trendBars(1)[0]!, features.row, 0, false);
    const fresh = refused.recommend('X/USDT', features.row, 0, true) as { updates: number };
    expect(fresh.updates).toBe(0);
  });

  it('scores a stance only against the bar exactly five bars later, so an outage teaches it nothing false', () => {
    const learned = (skip: (i: number) => boolean) => {
      const advisor = new ShadowAdvisor(null);
      const features = new FeatureEngine();
      trendBars(200).forEach((bar, i) => {
        features.update(bar.openTs, bar.open, bar.high, bar.low, bar.close, bar.volume);
        if (!skip(i)) advisor.onBar('X/USDT', bar, features.row, 0, features.ready);
      });
      return (advisor.recommend('X/USDT', features.row, 0, true) as { updates: number }).updates;
    };
    const all = learned(() => false);
    expect(all).toBeGreaterThan(50);
    // Bars 150–154 never reach the advisor: their own five scorings go, and the five bars after
    // the gap would pair with stances ten bars back — those are not scored either.
    expect(learned((i) => i >= 150 && i < 155)).toBe(all - 10);
  });
});
