import fc from 'fast-check';

export type Candles = { o: number[]; h: number[]; l: number[]; c: number[]; v: number[] };

/** Random candle series: log-uniform price level, random-walk closes, occasional flat stretches. */
export const candleSeries = (minLength = 60, maxLength = 260) =>
  fc
    .record({
      level: fc.double({ min: -5, max: 5, noNaN: true }),
      steps: fc.array(
        fc.record({
          r: fc.oneof(fc.double({ min: -0.08, max: 0.08, noNaN: true }), fc.constant(0)),
          up: fc.oneof(fc.double({ min: 0, max: 0.03, noNaN: true }), fc.constant(0)),
          down: fc.oneof(fc.double({ min: 0, max: 0.03, noNaN: true }), fc.constant(0)),
          v: fc.oneof(fc.double({ min: 1e-3, max: 1e6, noNaN: true }), fc.constant(0)),
        }),
        { minLength, maxLength },
      ),
    })
    .map(({ level, steps }): Candles => {
      const s: Candles = { o: [], h: [], l: [], c: [], v: [] };
      let price = 10 ** level;
      for (const step of steps) {
        const open = price;
        price = Math.max(price * (1 + step.r), 1e-9);
        s.o.push(open);
        s.c.push(price);
        s.h.push(Math.max(open, price) * (1 + step.up));
        s.l.push(Math.min(open, price) * (1 - step.down));
        s.v.push(step.v);
      }
      return s;
    });
