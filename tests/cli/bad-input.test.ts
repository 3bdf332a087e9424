import { describe, expect, test } from 'bun:test';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
import { BUNDLED_MARKET_DIR } from '../../core/paths.ts';
import { atl, tempDir } from '../support/cli.ts';
import { readDecisions } from '../support/records.ts';

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
        'run',
        '--mode',
        'backtest',
        '--symbols',
        value,
        '--max-bars',
        '5',
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
    const r = await atl([
      'run',
      '--mode',
      'paper_synthetic',
      '--symbols',
      'FOO/USDT',
      '--interval',
      '0.01',
      '--max-bars',
      '3',
      '--data-dir',
      root.path,
    ]);
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
