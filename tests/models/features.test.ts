import { describe, expect, it } from 'bun:test';
import fc from 'fast-check';
import { type CandleColumns, computeFeatureMatrix } from '../../core/features/batch.ts';
import {
  FEATURE_COUNT,
  FEATURE_NAMES,
  FEATURE_SET_ID,
  FeatureEngine,
  type FeatureName,
  featureIndex,
} from '../../core/features/feature-set.ts';
import { type Candles, candleSeries } from './arbitrary.ts';
import { moments } from './talib-reference.ts';

const T0 = Date.UTC(2026, 0, 5); // a Monday, 00:00 UTC
const HOUR = 3_600_000;

function columns(s: Candles, stepMs = HOUR): CandleColumns {
  const n = s.c.length;
  return {
    ts: Float64Array.from({ length: n }, (_, i) => T0 + i * stepMs),
    open: Float64Array.from(s.o),
    high: Float64Array.from(s.h),
    low: Float64Array.from(s.l),
    close: Float64Array.from(s.c),
    volume: Float64Array.from(s.v),
    length: n,
  };
}

const feature = (values: Float64Array, row: number, name: FeatureName) =>
  values[row * FEATURE_COUNT + featureIndex(name)]!;
const sameBits = (a: number, b: number) => Object.is(a, b) || (Number.isNaN(a) && Number.isNaN(b));

describe('the model feature set', () => {
  it('names at least 40 distinct features under a versioned feature-set id', () => {
    expect(FEATURE_NAMES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_NAMES.length);
    expect(FEATURE_SET_ID).toMatch(/^atl-fs-\d+$/);
  });

  it('gives every feature a finite value from the 100th bar on (EMA100 is the slowest)', () => {
    fc.assert(
      fc.property(candleSeries(120, 160), (s) => {
        const m = computeFeatureMatrix(columns(s));
        expect(m.ready.indexOf(1)).toBe(99);
        for (let i = 99; i < m.rows; i++) {
          for (let k = 0; k < FEATURE_COUNT; k++) {
            if (!Number.isFinite(m.values[i * FEATURE_COUNT + k]!))
              throw new Error(`row ${i} ${FEATURE_NAMES[k]} is not finite`);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('computes the same rows in batch as streaming bar by bar, even when earlier bars are re-delivered', () => {
    fc.assert(
      fc.property(candleSeries(100, 220), fc.array(fc.nat(), { maxLength: 30 }), (s, replays) => {
        const cols = columns(s);
        const batch = computeFeatureMatrix(cols);
        const engine = new FeatureEngine();
        for (let i = 0; i < cols.length; i++) {
          engine.update(
            cols.ts[i]!,
            cols.open[i]!,
            cols.high[i]!,
            cols.low[i]!,
            cols.close[i]!,
            cols.volume[i]!,
          );
          // A restarted feed re-sends history: the engine must ignore bars it has already seen.
          for (const r of replays) {
            const j = r % (i + 1);
            engine.update(
              cols.ts[j]!,
              cols.open[j]! * 2,
              cols.high[j]! * 2,
              cols.low[j]!,
              cols.close[j]! * 3,
              cols.volume[j]!,
            );
          }
          for (let k = 0; k < FEATURE_COUNT; k++) {
            if (!sameBits(engine.row[k]!, batch.values[i * FEATURE_COUNT + k]!))
              throw new Error(
                `bar ${i} ${FEATURE_NAMES[k]}: stream ${engine.row[k]} batch ${batch.values[i * FEATURE_COUNT + k]}`,
              );
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('never looks ahead: a row is identical whether or not later candles exist', () => {
    fc.assert(
      fc.property(candleSeries(100, 200), fc.nat(), (s, cut) => {
        const full = computeFeatureMatrix(columns(s));
        const k = 1 + (cut % s.c.length);
        const prefix = computeFeatureMatrix(
          columns({
            o: s.o.slice(0, k),
            h: s.h.slice(0, k),
            l: s.l.slice(0, k),
            c: s.c.slice(0, k),
            v: s.v.slice(0, k),
          }),
        );
        for (let i = 0; i < k * FEATURE_COUNT; i++)
          if (!sameBits(prefix.values[i]!, full.values[i]!))
            throw new Error(`row ${Math.floor(i / FEATURE_COUNT)} changed when later candles were added`);
      }),
      { numRuns: 40 },
    );
  });

  it('computes the rolling statistics as their plain definitions say', () => {
    fc.assert(
      fc.property(candleSeries(110, 160), (s) => {
        const m = computeFeatureMatrix(columns(s));
        const ret = s.c.map((c, i) => (i === 0 ? Number.NaN : c / s.c[i - 1]! - 1));
        for (let i = 99; i < s.c.length; i++) {
          const r20 = moments(ret.slice(i - 19, i + 1));
          const r50 = moments(ret.slice(i - 49, i + 1));
          const v20 = s.v.slice(i - 19, i + 1);
          const vSum = v20.reduce((a, b) => a + b, 0);
          const typical = s.h
            .slice(i - 19, i + 1)
            .map((h, j) => (h + s.l[i - 19 + j]! + s.c[i - 19 + j]!) / 3);
          const vwap =
            vSum > 0
              ? typical.reduce((a, t, j) => a + t * v20[j]!, 0) / vSum
              : typical.reduce((a, b) => a + b, 0) / 20;
          let obv = 0;
          for (let j = i - 19; j <= i; j++)
            obv += s.c[j]! > s.c[j - 1]! ? s.v[j]! : s.c[j]! < s.c[j - 1]! ? -s.v[j]! : 0;
          // A return spread below 1e-9 is float noise of a flat price: shape features read 0 there.
          const flat20 = r20.std < 1e-9;
          const want: [FeatureName, number][] = [
            ['vol_20', r20.std],
            ['ret_mean_20', r20.mean],
            ['ret_skew_20', flat20 ? 0 : r20.skew],
            ['ret_kurt_20', flat20 ? 0 : r20.kurt],
            ['ret_zscore_50', r50.std < 1e-9 ? 0 : (ret[i]! - r50.mean) / r50.std],
            ['volume_ratio_20', vSum === 0 ? 1 : s.v[i]! / (vSum / 20)],
            ['obv_slope_20', vSum === 0 ? 0 : obv / vSum],
            ['vwap_dist_20', s.c[i]! / vwap - 1],
            ['ret_20', s.c[i]! / s.c[i - 20]! - 1],
            ['ret_1_lag2', ret[i - 2]!],
          ];
          for (const [name, expected] of want) {
            const got = feature(m.values, i, name);
            // Moments of nearly constant windows are ill-conditioned; compare at the scale of the window.
            const scale =
              name.startsWith('ret_skew') || name.startsWith('ret_kurt') || name === 'ret_zscore_50'
                ? 1e-5
                : 1e-9;
            if (!(Math.abs(got - expected) <= scale * Math.max(1, Math.abs(expected))))
              throw new Error(`row ${i} ${name}: ${got} != ${expected}`);
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('reads calendar features in UTC from the bar open time', () => {
    const e = new FeatureEngine();
    e.update(Date.UTC(2026, 0, 10, 14), 1, 1, 1, 1, 1); // Saturday 14:00 UTC
    const at = (n: FeatureName) => e.row[featureIndex(n)]!;
    expect(at('is_weekend')).toBe(1);
    expect(at('is_us_session')).toBe(1);
    expect(at('is_european_session')).toBe(1);
    expect(at('is_asian_session')).toBe(0);
    expect(at('hour_sin')).toBeCloseTo(Math.sin((2 * Math.PI * 14) / 24), 12);
  });
});
