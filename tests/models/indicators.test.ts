import { describe, expect, it } from 'bun:test';
import fc from 'fast-check';
import { Adx, Atr, Bollinger, Ema, Macd, Rsi, Stochastic } from '../../core/features/indicators.ts';
import { RollingMoments } from '../../core/features/rolling.ts';
import { type Candles, candleSeries } from './arbitrary.ts';
import * as ref from './talib-reference.ts';

/** Equal to 1e-9, relative to the value's magnitude above 1; NaN must match NaN. */
function expectClose(actual: number[], expected: number[], what: string): void {
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (Number.isNaN(e)) {
      if (!Number.isNaN(a)) throw new Error(`${what}[${i}]: expected no value before warm-up, got ${a}`);
      continue;
    }
    if (!(Math.abs(a - e) <= 1e-9 * Math.max(1, Math.abs(e))))
      throw new Error(`${what}[${i}]: ${a} != TA-Lib ${e}`);
  }
}

function stream<T>(s: Candles, make: () => T, step: (ind: T, i: number) => number[]): number[][] {
  const ind = make();
  const cols: number[][] = [];
  for (let i = 0; i < s.c.length; i++) {
    step(ind, i).forEach((v, k) => {
      cols[k] ??= [];
      cols[k]![i] = v;
    });
  }
  return cols;
}

const RUNS = { numRuns: 60 };

describe('indicators match the TA-Lib definitions to 1e-9 after warm-up', () => {
  it('EMA(12) and EMA(26) are SMA-seeded and start on bars 11 and 25', () => {
    fc.assert(
      fc.property(candleSeries(), (s) => {
        for (const p of [12, 26]) {
          const [got] = stream(
            s,
            () => new Ema(p),
            (e, i) => [e.update(s.c[i]!)],
          );
          expectClose(got!, ref.ema(s.c, p), `EMA${p}`);
        }
      }),
      RUNS,
    );
  });

  it('RSI(14) uses Wilder smoothing seeded with the average of the first 14 changes', () => {
    fc.assert(
      fc.property(candleSeries(), (s) => {
        const [got] = stream(
          s,
          () => new Rsi(14),
          (r, i) => [r.update(s.c[i]!)],
        );
        expectClose(got!, ref.rsi(s.c, 14), 'RSI14');
      }),
      RUNS,
    );
  });

  it('MACD(12,26,9) seeds both EMAs on bar 25 and the signal on bar 33, as TA-Lib does', () => {
    fc.assert(
      fc.property(candleSeries(), (s) => {
        const got = stream(
          s,
          () => new Macd(12, 26, 9),
          (m, i) => {
            m.update(s.c[i]!);
            return Number.isNaN(m.signal)
              ? [Number.NaN, Number.NaN, Number.NaN]
              : [m.macd, m.signal, m.histogram];
          },
        );
        const want = ref.macd(s.c, 12, 26, 9);
        expectClose(got[0]!, want.macd, 'MACD');
        expectClose(got[1]!, want.signal, 'MACD signal');
        expectClose(got[2]!, want.hist, 'MACD hist');
      }),
      RUNS,
    );
  });

  it('Bollinger(20, 2) is the SMA ± 2 population standard deviations', () => {
    fc.assert(
      fc.property(candleSeries(), (s) => {
        const got = stream(
          s,
          () => new Bollinger(20, 2),
          (b, i) => {
            b.update(s.c[i]!);
            return [b.middle, b.upper, b.lower];
          },
        );
        const want = ref.bbands(s.c, 20, 2);
        expectClose(got[0]!, want.middle, 'BB middle');
        expectClose(got[1]!, want.upper, 'BB upper');
        expectClose(got[2]!, want.lower, 'BB lower');
      }),
      RUNS,
    );
  });

  it('ATR(14) averages the first 14 true ranges then smooths them the Wilder way', () => {
    fc.assert(
      fc.property(candleSeries(), (s) => {
        const [got] = stream(
          s,
          () => new Atr(14),
          (a, i) => [a.update(s.h[i]!, s.l[i]!, s.c[i]!)],
        );
        expectClose(got!, ref.atr(s.h, s.l, s.c, 14), 'ATR14');
      }),
      RUNS,
    );
  });

  it('ADX(14) and ±DI follow TA-Lib: DI from bar 14, ADX from bar 27', () => {
    fc.assert(
      fc.property(candleSeries(), (s) => {
        const got = stream(
          s,
          () => new Adx(14),
          (a, i) => {
            a.update(s.h[i]!, s.l[i]!, s.c[i]!);
            return [a.value, a.plusDi, a.minusDi];
          },
        );
        const want = ref.adx(s.h, s.l, s.c, 14);
        expectClose(got[0]!, want.adx, 'ADX');
        expectClose(got[1]!, want.plusDi, '+DI');
        expectClose(got[2]!, want.minusDi, '-DI');
      }),
      RUNS,
    );
  });

  it('Stochastic(14, 3, 3) is fast %K slowed by two 3-bar SMAs', () => {
    fc.assert(
      fc.property(candleSeries(), (s) => {
        const got = stream(
          s,
          () => new Stochastic(14, 3, 3),
          (st, i) => {
            st.update(s.h[i]!, s.l[i]!, s.c[i]!);
            return [st.k, st.d];
          },
        );
        const want = ref.stoch(s.h, s.l, s.c, 14, 3, 3);
        expectClose(got[0]!, want.k, 'STOCH slowK');
        expectClose(got[1]!, want.d, 'STOCH slowD');
      }),
      RUNS,
    );
  });
});

describe('rolling windows', () => {
  it('keep moments exact over 200,000 pushes at a high price level (no drift, no cancellation)', () => {
    const w = new RollingMoments(20, 4);
    const values: number[] = [];
    let x = 65_000;
    let seed = 3;
    for (let i = 0; i < 200_000; i++) {
      seed = (seed * 16807) % 2147483647;
      x *= 1 + (seed / 2147483647 - 0.5) * 1e-4;
      w.push(x);
      values.push(x);
    }
    const want = ref.moments(values.slice(-20));
    expect(Math.abs(w.mean - want.mean)).toBeLessThan(1e-9 * want.mean);
    expect(Math.abs(w.std - want.std) / want.std).toBeLessThan(1e-6);
    expect(Math.abs(w.skew - want.skew)).toBeLessThan(1e-6);
    expect(Math.abs(w.kurtosis - want.kurt)).toBeLessThan(1e-6);
  });
});
