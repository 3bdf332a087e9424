import { describe, expect, it } from 'bun:test';
import type { VerbName } from '../../cli/main.ts';
import { atl, tempDir } from '../support/cli.ts';

type Case = {
  /** What a first-time user runs against a fresh, empty data root (`{root}` is replaced). */
  args: string[];
  env?: Record<string, string>;
  code: number;
  /** Expected on stdout or stderr. */
  says: RegExp;
  /** The verb judges something: `--json` prints evidence whose exit_code is the process's. */
  evidence?: boolean;
};

// Keyed by the verb-name type: a verb added to the registry without a row here is a type error.
const FIRST_RUN: Record<VerbName, Case> = {
  run: {
    args: ['run', '--max-bars', '5', '--symbols', 'BTC/USDT'],
    code: 0,
    says: /atl run backtest — completed/,
  },
  status: { args: ['status'], code: 3, says: /No engine state under/ },
  'emergency-stop': {
    args: ['emergency-stop', '--reason', 'drill', '--json'],
    code: 0,
    says: /no engine is running/,
    evidence: true,
  },
  train: {
    args: ['train', '--candles', '{root}/A_B-1m.csv'],
    code: 78,
    says: /A_B-1m\.csv/,
  },
  serve: { args: ['serve', '--port', '0'], env: { ATL_API_KEY: 'short' }, code: 78, says: /key/i },
  'ssh-check': { args: ['ssh-check', 'nowhere.invalid', '--json'], code: 2, says: /resolve/, evidence: true },
  verify: { args: ['verify', '--json'], code: 2, says: /pidfile|engine/, evidence: true },
  'health-daily': { args: ['health-daily', '--json'], code: 3, says: /decision log/i, evidence: true },
  decisions: { args: ['decisions'], code: 3, says: /no decision log/ },
  'report-weekly': {
    args: ['report-weekly', '--week', '1', '--json'],
    code: 3,
    says: /decision log/i,
    evidence: true,
  },
  'check-transition': {
    args: ['check-transition', 'testnet', '--json'],
    code: 3,
    says: /ledger/i,
    evidence: true,
  },
  audit: { args: ['audit', '--json'], code: 3, says: /no decision log/, evidence: true },
  why: { args: ['why', 'BTC/USDT', '2026-05-03T03:00Z'], code: 3, says: /no decision log/ },
  doctor: {
    args: ['doctor', '--exchange-url', 'http://127.0.0.1:9', '--json'],
    code: 2,
    says: /refused|unreachable|tcp/i,
    evidence: true,
  },
  parity: { args: ['parity', '--json'], code: 3, says: /candle tape/i, evidence: true },
  trades: { args: ['trades'], code: 3, says: /no engine state or ledger under/ },
  'force-exit': { args: ['force-exit', 'BTC/USDT'], code: 3, says: /no engine is running/ },
};

describe('every verb, as a first-time user meets it', () => {
  for (const [verb, c] of Object.entries(FIRST_RUN) as [VerbName, Case][]) {
    it(`${verb}: on an empty data root exits ${c.code} and says what happened`, async () => {
      using dir = tempDir();
      const args = [...c.args.map((a) => a.replace('{root}', dir.path)), '--data-dir', dir.path];
      const r = await atl(args, { env: c.env });
      expect(`${r.stdout}\n${r.stderr}`).toMatch(c.says);
      expect(r.code).toBe(c.code);
      if (c.evidence) {
        const evidence = JSON.parse(r.stdout);
        expect(evidence.verb).toBe(verb);
        expect(evidence.exit_code).toBe(r.code);
      }
    });

    it(`${verb}: --help exits 0 and an unknown flag exits 64`, async () => {
      const help = await atl([verb, '--help']);
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Exit codes:');
      const bad = await atl([verb, '--no-such-flag']);
      expect(bad.code).toBe(64);
      expect(bad.stderr).toContain('unknown flag --no-such-flag');
    });
  }
});
