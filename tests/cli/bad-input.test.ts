import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
import { BUNDLED_MARKET_DIR } from '../../core/paths.ts';
import { atl, tempDir } from '../support/cli.ts';
import { readDecisions } from '../support/records.ts';

const words = (argv: string) => argv.split(' ');

/** The verb's own complaint lines (`atl <verb>: …`), without log lines. */
const complaints = (stderr: string) => stderr.split('\n').filter((l) => /^atl [a-z-]+: /.test(l));

describe('bad --symbols is a usage error with one line, never the defaults or invented candles', () => {
  const cases: [string, string, string][] = [
    ['a lone comma', ',', '--symbols names no symbol (got ",")'],
    ['an empty string', '', '--symbols is empty'],
    ['an empty entry', 'BTC/USDT,,ETH/USDT', '--symbols has an empty entry'],
    ['no slash', 'BTCUSDT', '"BTCUSDT" is not a BASE/QUOTE symbol'],
    ['a repeat', 'BTC/USDT,btc/usdt', '--symbols names BTC/USDT twice'],
    ['an unknown symbol in a backtest', 'FOO/USDT', 'no candles for FOO/USDT'],
  ];
  for (const [what, value, message] of cases) {
    test(`${what}: exit 64`, async () => {
      using root = tempDir();
      const repoMarket = readdirSync(BUNDLED_MARKET_DIR).sort();
      const r = await atl([
        ...words('run --mode backtest --max-bars 5 --symbols'),
        value,
        '--data-dir',
        root.path,
      ]);
      expect(r.code).toBe(EXIT.usage);
      const lines = complaints(r.stderr);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(message);
      expect(r.stderr).not.toContain('    at ');
      expect(readDecisions(root.path)).toEqual([]);
      expect(readdirSync(BUNDLED_MARKET_DIR).sort()).toEqual(repoMarket); // nothing written into the repository
    });
  }

  test('the unknown-symbol line says how to get a synthetic market on purpose, and that works', async () => {
    using root = tempDir();
    const refused = await atl(['run', '--symbols', 'FOO/USDT', '--max-bars', '5', '--data-dir', root.path]);
    expect(complaints(refused.stderr)[0]).toContain('--mode paper_synthetic --symbols FOO/USDT');
    const synthetic = words('run --mode paper_synthetic --symbols FOO/USDT --interval 0.01 --max-bars 3');
    const r = await atl([...synthetic, '--data-dir', root.path]);
    expect(r.code).toBe(EXIT.pass);
    const decisions = readDecisions(root.path);
    expect(decisions.length).toBe(3);
    expect(decisions.every((d) => d.symbol === 'FOO/USDT' && d.data_mode === 'SYNTHETIC')).toBe(true);
  });

  test('a bundled symbol at a timeframe the repository does not ship is generated under the data root', async () => {
    using root = tempDir();
    const file = 'ETH_USDT-2h.synthetic.csv';
    const inRepo = existsSync(join(BUNDLED_MARKET_DIR, file));
    const r = await atl([
      'run',
      '--symbols',
      'ETH/USDT',
      '--timeframe',
      '2h',
      '--max-bars',
      '5',
      '--data-dir',
      root.path,
    ]);
    expect(r.code).toBe(EXIT.pass);
    expect(existsSync(join(root.path, 'market', file))).toBe(!inRepo);
    expect(existsSync(join(BUNDLED_MARKET_DIR, file))).toBe(inRepo);
  });
});

describe('an empty flag value is a usage error for every verb', () => {
  const cases: string[][] = [
    ['health-daily', '--date', ''],
    ['report-weekly', '--week', ''],
    ['status', '--data-dir', ''],
    ['run', '--until', ''],
    ['train', '--symbols', ''],
  ];
  for (const argv of cases) {
    test(`atl ${argv.join(' ')}""`, async () => {
      using root = tempDir();
      const withRoot = argv.includes('--data-dir') ? argv : [...argv, '--data-dir', root.path];
      const r = await atl(withRoot);
      expect(r.code).toBe(EXIT.usage);
      expect(complaints(r.stderr)).toEqual([
        `atl ${argv[0]}: ${argv[1]} is empty — give ${argv[1]} a value or leave the flag out (see --help)`,
      ]);
    });
  }
});

describe('candle files: hostile fields are cut short, gaps are named', () => {
  const header = 'timestamp,open,high,low,close,volume';
  const t0 = Date.UTC(2026, 0, 1);
  const row = (i: number) => `${t0 + i * 3_600_000},100,101,99,100.5,10`;

  test('a candle file that is not there names the flag that gave it (run --replay-file, train --candles)', async () => {
    using root = tempDir();
    const missing = join(root.path, 'ETH_BTC-1m.json');
    for (const [argv, flag] of [
      [['run', '--replay-file', missing], '--replay-file'],
      [['train', '--candles', missing, '--models-dir', join(root.path, 'm')], '--candles'],
    ] as const) {
      const r = await atl([...argv, '--data-dir', root.path]);
      expect(r.code).toBe(EXIT.config);
      expect(complaints(r.stderr)).toEqual([
        `atl ${argv[0]}: ${missing}: cannot read candle file (ENOENT) — check the ${flag} path`,
      ]);
    }
  });

  test('train names the horizon, not the candles, when --horizon leaves no rows to label', async () => {
    using root = tempDir();
    const file = join(root.path, 'BTC_USDT-1h.csv');
    writeFileSync(file, `${header}\n${Array.from({ length: 550 }, (_, i) => row(i)).join('\n')}\n`);
    const train = (horizon: string) =>
      atl(['train', '--candles', file, '--horizon', horizon, '--models-dir', join(root.path, 'm')]);
    const long = await train('1000000');
    expect(long.code).toBe(EXIT.config);
    expect(complaints(long.stderr)).toHaveLength(1);
    expect(long.stderr).toContain('--horizon 1000000 is too long for 550 candles');
    // Enough horizon, too few candles for the warm-up and the minimum rows: the candles are named.
    const short = await train('4');
    expect(short.code).toBe(EXIT.config);
    expect(short.stderr).toContain('give more candles');
  }, 60_000);

  test('a 20 MB field is echoed as a short excerpt with its length, exit 78', async () => {
    using root = tempDir();
    const file = join(root.path, 'BTC_USDT-1h.csv');
    const huge = 'x'.repeat(20_000_000);
    writeFileSync(file, `${header}\n${row(0)}\n${t0 + 3_600_000},${huge},101,99,100.5,10\n`);
    const r = await atl(['run', '--replay-file', file, '--data-dir', root.path]);
    expect(r.code).toBe(EXIT.config);
    expect(r.stderr.length).toBeLessThan(2_000);
    expect(complaints(r.stderr)).toHaveLength(1);
    expect(complaints(r.stderr)[0]).toContain(`${file}:3: open is not a number ("${'x'.repeat(60)}…`);
  });

  test('a gap is warned with its first and last missing candle and bar count; --on-gap fail refuses it', async () => {
    using root = tempDir();
    const file = join(root.path, 'BTC_USDT-1h.csv');
    const rows = Array.from({ length: 120 }, (_, i) => i).filter((i) => i < 60 || i >= 64);
    writeFileSync(file, `${header}\n${rows.map(row).join('\n')}\n`);
    const gap = `${new Date(t0 + 60 * 3_600_000).toISOString()} → ${new Date(t0 + 63 * 3_600_000).toISOString()} (4 bars)`;
    const warned = await atl(['run', '--replay-file', file, '--data-dir', root.path]);
    expect(warned.code).toBe(EXIT.pass);
    expect(warned.stderr).toContain(`${file}: 1 gap in the BTC/USDT 1h candles, 4 bars missing: ${gap}`);
    using other = tempDir();
    const refused = await atl(['run', '--replay-file', file, '--on-gap', 'fail', '--data-dir', other.path]);
    expect(refused.code).toBe(EXIT.config);
    expect(complaints(refused.stderr)).toHaveLength(1);
    expect(complaints(refused.stderr)[0]).toContain(gap);
    expect(readDecisions(other.path)).toEqual([]);
    const bad = await atl(['run', '--replay-file', file, '--on-gap', 'skip', '--data-dir', other.path]);
    expect(bad.code).toBe(EXIT.usage);
  });
});
