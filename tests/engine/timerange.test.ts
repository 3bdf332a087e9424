import { describe, expect, it } from 'bun:test';
import { atl, tempDir } from '../support/cli.ts';
import { readDecisions } from '../support/records.ts';

describe('atl run --timerange (backtests)', () => {
  it('replays only the candles that open inside [START, END), in freqtrade’s spelling', async () => {
    using dir = tempDir();
    const r = await atl([
      'run',
      '--timerange',
      '20260502-20260504',
      '--symbols',
      'BTC/USDT',
      '--data-dir',
      dir.path,
    ]);
    expect(r.code).toBe(0);
    const bars = readDecisions(dir.path).map((d) => d.bar_ts);
    // 1h candles: opens 05-02 00:00 … 05-03 23:00, so closes 01:00 … 05-04 00:00.
    expect(bars.length).toBe(48);
    expect(bars[0]).toBe('2026-05-02T01:00:00.000Z');
    expect(bars.at(-1)).toBe('2026-05-04T00:00:00.000Z');
  });

  it('takes an open start or end', async () => {
    using dir = tempDir();
    const r = await atl(['run', '--timerange', '20261029-', '--symbols', 'ETH/USDT', '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    const bars = readDecisions(dir.path).map((d) => d.bar_ts);
    expect(bars[0]).toBe('2026-10-29T01:00:00.000Z');
    expect(bars.every((b) => b > '2026-10-29')).toBe(true);
  });

  it('exits 64 on a malformed, impossible, reversed or empty range, or outside a backtest', async () => {
    using dir = tempDir();
    const cases: [string[], RegExp][] = [
      [['--timerange', '2024-01-01'], /expected START-END/],
      [['--timerange', '20240231-20240301'], /"20240231" is not a UTC day/],
      [['--timerange', '20240301-20240101'], /the end is not after the start/],
      [['--timerange', '-'], /expected START-END/],
      [['--timerange', '20300101-'], /no BTC\/USDT 1h candles in it \(the data covers 2026-05-01/],
      [['--timerange', '20260502-', '--mode', 'paper_synthetic'], /backtests only/],
    ];
    for (const [args, says] of cases) {
      const r = await atl(['run', ...args, '--symbols', 'BTC/USDT', '--data-dir', dir.path]);
      expect(`${args.join(' ')} → ${r.code}`).toBe(`${args.join(' ')} → 64`);
      expect(r.stderr).toMatch(says);
    }
    expect(readDecisions(dir.path)).toEqual([]);
  });
});
