import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureBundledCandles, renderSyntheticCsv } from '../../core/market/bundled.ts';
import { loadCandleFile } from '../../core/market/candles.ts';
import { SyntheticMarket } from '../../core/market/synthetic.ts';
import { tempDir } from '../support/cli.ts';

function logReturns(closes: Float64Array | number[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < closes.length; i++) out.push(Math.log(closes[i]! / closes[i - 1]!));
  return out;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function autocorrelation(xs: number[], lag: number): number {
  const m = mean(xs);
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    den += (xs[i]! - m) ** 2;
    if (i >= lag) num += (xs[i]! - m) * (xs[i - lag]! - m);
  }
  return num / den;
}

describe('synthetic market', () => {
  it('is deterministic: the same symbol and timeframe render byte-identical candles', () => {
    const a = renderSyntheticCsv('BTC/USDT', '1h', 500, Date.UTC(2026, 0, 1));
    const b = renderSyntheticCsv('BTC/USDT', '1h', 500, Date.UTC(2026, 0, 1));
    expect(a).toBe(b);
    expect(a).not.toBe(renderSyntheticCsv('ETH/USDT', '1h', 500, Date.UTC(2026, 0, 1)));
    expect(a.split('\n')[0]).toMatch(/^# SYNTHETIC candles for BTC\/USDT 1h/);
  });

  it('looks like a market: fat tails and volatility clustering in its returns', () => {
    const m = new SyntheticMarket({
      seed: 11,
      timeframeMs: 3_600_000,
      startTs: 0,
      startPrice: 100,
      annualVol: 0.7,
    });
    const closes = Array.from({ length: 20_000 }, () => m.next()[4]);
    const r = logReturns(closes);
    const mu = mean(r);
    const variance = mean(r.map((x) => (x - mu) ** 2));
    const kurtosis = mean(r.map((x) => (x - mu) ** 4)) / variance ** 2;
    expect(kurtosis).toBeGreaterThan(4); // a normal distribution has 3
    const absR = r.map(Math.abs);
    expect(autocorrelation(absR, 1)).toBeGreaterThan(0.1); // clustering: big moves follow big moves
    expect(Math.abs(autocorrelation(r, 1))).toBeLessThan(0.05); // but returns themselves are not predictable
  });

  it('writes valid candles (high ≥ open/close ≥ low, sorted, positive) for every bundled timeframe it is asked for', () => {
    using dir = tempDir();
    const path = ensureBundledCandles('SOL/USDT', '4h', dir.path);
    expect(path).toBe(join(dir.path, 'SOL_USDT-4h.synthetic.csv'));
    const series = loadCandleFile(path, 'SOL/USDT'); // throws on any invalid candle
    expect(series.timeframe).toBe('4h');
    expect(series.length).toBe(365 * 6);
    expect(series.source.synthetic).toBe(true);
    expect(readFileSync(path, 'utf8')).toBe(
      renderSyntheticCsv('SOL/USDT', '4h', 365 * 6, Date.UTC(2026, 9, 31) - 365 * 6 * 4 * 3_600_000),
    );
  });
});

describe('CSV candle numbers', () => {
  it('are read exactly as Number() reads them, whatever their precision or form', async () => {
    const fc = await import('fast-check');
    const { writeFileSync } = await import('node:fs');
    using dir = tempDir();
    const file = join(dir.path, 'A_B-1m.csv');
    const price = fc.oneof(
      fc.double({ min: 1e-8, max: 1e7, noNaN: true }).map((x) => String(x)),
      fc.integer({ min: 1, max: 10 ** 9 }).map((n) => (n / 10 ** 8).toFixed(8)),
      fc.integer({ min: 1, max: 10 ** 6 }).map((n) => `${n}e-3`),
    );
    fc.assert(
      fc.property(fc.array(price, { minLength: 1, maxLength: 40 }), (prices) => {
        const rows = prices.map((p, i) => `${1_700_000_000_000 + i * 60_000},${p},${p},${p},${p},${p}`);
        writeFileSync(file, `timestamp,open,high,low,close,volume\n${rows.join('\n')}\n`);
        const s = loadCandleFile(file, 'A/B');
        for (const [i, p] of prices.entries()) expect(Object.is(s.close[i], Number(p))).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('refuse a control byte inside a cell (a NUL from a torn write is no space), naming the line', async () => {
    const { writeFileSync } = await import('node:fs');
    using dir = tempDir();
    const file = join(dir.path, 'A_B-1m.csv');
    const good = '1700000000000,1,2,0.5,1.5,10';
    for (const [bad, column] of [
      ['1700000060000\u0000,1,2,0.5,1.5,10', /:3: timestamp/],
      ['1700000060000,1,2,0.5,1.5\u0001,10', /:3: close is not a number/],
      ['\u0000\u0000\u0000\u0000', /:3: expected 6 columns/],
    ] as const) {
      writeFileSync(file, `timestamp,open,high,low,close,volume\n${good}\n${bad}\n`);
      expect(() => loadCandleFile(file, 'A/B')).toThrow(column);
    }
    // Spaces, tabs and CRLF line ends are still spacing.
    writeFileSync(file, `timestamp,open,high,low,close,volume\r\n ${good}\t\r\n`);
    expect(loadCandleFile(file, 'A/B').close[0]).toBe(1.5);
  });
});
