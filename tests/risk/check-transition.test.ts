import { Database } from 'bun:sqlite';
import { afterEach, describe, expect, it } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Evidence } from '../../core/schema/evidence.ts';
import { atl, tempDir } from '../support/cli.ts';
import { FAKE_API_KEY, FAKE_API_SECRET, FakeBinance } from '../support/fake-binance.ts';
import { ledgerTrades } from './crafted.ts';
import { writePaperLiveRoot } from './paper-live-fixture.ts';

type Requirement = {
  id: string;
  current: number | string | null;
  required: number | string;
  passed: boolean;
  progress_pct: number;
};
type Details = {
  allowed: boolean;
  from: string;
  to: string;
  requirements: Requirement[];
  stats: Record<string, number>;
  approvals: { approver: string }[];
};

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

const NO_KEYS = { BINANCE_TESTNET_API_KEY: '', BINANCE_TESTNET_API_SECRET: '' };
const KEYS = { BINANCE_TESTNET_API_KEY: FAKE_API_KEY, BINANCE_TESTNET_API_SECRET: FAKE_API_SECRET };

async function checkTransition(root: string, args: string[], env: Record<string, string> = NO_KEYS) {
  const r = await atl(['check-transition', ...args, '--json', '--data-dir', root], { env });
  const evidence = JSON.parse(r.stdout) as Evidence;
  expect(evidence.exit_code).toBe(r.code);
  const latest = JSON.parse(
    readFileSync(join(root, 'reports', 'check-transition', 'latest.json'), 'utf8'),
  ) as Evidence;
  expect(latest.run_id).toBe(evidence.run_id);
  return { code: r.code, evidence, details: evidence.details as Details, stderr: r.stderr };
}

const failing = (e: Evidence) => e.checks.filter((c) => c.status !== 'pass').map((c) => c.id);

describe('atl check-transition', () => {
  it('after a bounded backtest lists every testnet requirement with current, required and passed, and its profit factor is gross profit / gross loss from the ledger', async () => {
    using dir = tempDir();
    expect((await atl(['run', '--max-bars', '400', '--data-dir', dir.path])).code).toBe(0);
    const { code, evidence, details } = await checkTransition(dir.path, [
      'testnet',
      '--exchange-url',
      'http://127.0.0.1:9',
    ]);
    expect(code).toBe(2);
    expect(details.allowed).toBe(false);
    expect(details.requirements.map((r) => r.id)).toEqual([
      'days_in_mode',
      'trades',
      'win_rate',
      'max_drawdown',
      'profit_factor',
      'expectancy',
      'approval',
    ]);
    for (const r of details.requirements)
      expect(Object.keys(r)).toEqual(expect.arrayContaining(['current', 'required', 'passed']));
    const trades = ledgerTrades(join(dir.path, 'unified_trading', 'ledger.sqlite'));
    const gp = trades.filter((t) => t.pnl > 0).reduce((a, t) => a + t.pnl, 0);
    const gl = -trades.filter((t) => t.pnl <= 0).reduce((a, t) => a + t.pnl, 0);
    expect(gp).toBeGreaterThan(0);
    expect(gl).toBeGreaterThan(0);
    // Full precision in the evidence (rounded only in the text people read).
    expect(details.stats.profit_factor).toBeCloseTo(gp / gl, 10);
    const pf = details.requirements.find((r) => r.id === 'profit_factor')!;
    expect(pf.current as number).toBeCloseTo(gp / gl, 10);
    expect(details.stats.win_rate).toBe(trades.filter((t) => t.pnl > 0).length / trades.length);
    expect(details.requirements.find((r) => r.id === 'trades')!.current).toBe(trades.length);
    expect(details.stats.win_rate).toBeCloseTo(trades.filter((t) => t.pnl > 0).length / trades.length, 6);
    // Backtest → testnet skips two modes; the readiness gates of testnet are judged all the same.
    expect(evidence.checks.find((c) => c.id === 'transition:path')!.status).toBe('fail');
    expect(evidence.checks.map((c) => c.id).filter((id) => id.startsWith('readiness:'))).toEqual([
      'readiness:shadow_decisions',
      'readiness:preservation_never_critical',
      'readiness:no_manual_override',
      'readiness:heartbeat_recent',
      'readiness:api_keys',
      'readiness:exchange_reachable',
      'readiness:live_risk_limits',
      'readiness:emergency_stop_path',
    ]);
    expect(evidence.checks.find((c) => c.id === 'readiness:exchange_reachable')!.status).toBe('fail');
  });

  it('judges one step forward on the step’s own requirements, without readiness gates below testnet', async () => {
    using dir = tempDir();
    expect((await atl(['run', '--max-bars', '400', '--data-dir', dir.path])).code).toBe(0);
    const { code, evidence, details } = await checkTransition(dir.path, ['paper_synthetic']);
    expect(details.requirements.map((r) => r.id)).toEqual([
      'days_in_mode',
      'trades',
      'win_rate',
      'max_drawdown',
      'profit_factor',
      'expectancy',
    ]);
    expect(evidence.checks.some((c) => c.id.startsWith('readiness:'))).toBe(false);
    expect(code).toBe(details.requirements.every((r) => r.passed) ? 0 : 2);
  });

  it('exits 64 for an unknown mode and 3 with evidence when the ledger is missing or unreadable', async () => {
    using dir = tempDir();
    const unknown = await atl(['check-transition', 'moon', '--data-dir', dir.path]);
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown mode "moon"');
    const missing = await checkTransition(dir.path, ['testnet']);
    expect(missing.code).toBe(3);
    expect(missing.evidence.checks.map((c) => [c.id, c.status])).toEqual([['ledger:readable', 'unknown']]);
    expect(missing.evidence.checks[0]!.hint).toContain('run the engine');
    mkdirSync(join(dir.path, 'unified_trading'), { recursive: true });
    writeFileSync(
      join(dir.path, 'unified_trading', 'ledger.sqlite'),
      'not a database, just text that was written over it',
    );
    const corrupt = await checkTransition(dir.path, ['testnet']);
    expect(corrupt.code).toBe(3);
    expect(corrupt.evidence.checks[0]!.output).toContain('unreadable');
  });

  it('blocks paper_synthetic → paper_live_data on a 7.7% win rate with profit factor 0.06, and a --requirements file changes the minimums', async () => {
    using dir = tempDir();
    writePaperLiveRoot(dir.path, {
      mode: 'paper_synthetic',
      days: 5,
      wins: 3,
      losses: 36,
      win: 2,
      loss: 2.75,
      maxDrawdown: 0.04,
      decisions: 50,
    });
    const blocked = await checkTransition(dir.path, ['paper_live_data']);
    expect(blocked.code).toBe(2);
    expect(failing(blocked.evidence)).toEqual([
      'requirement:win_rate',
      'requirement:profit_factor',
      'requirement:expectancy',
    ]);
    const output = (id: string) => blocked.evidence.checks.find((c) => c.id === id)!.output;
    expect(output('requirement:win_rate')).toBe('Win rate: 7.7% (required ≥ 40.0%)');
    expect(output('requirement:profit_factor')).toBe(
      'Profit factor (gross profit / gross loss): 0.06 (required ≥ 1.10)',
    );
    expect(output('requirement:expectancy')).toContain('bps (required ≥ 2.0 bps)');

    const file = join(dir.path, 'requirements.json');
    writeFileSync(
      file,
      JSON.stringify({
        paper_live_data: { min_win_rate: 0.05, min_profit_factor: 0.05, min_expectancy_bps: -1000 },
      }),
    );
    const relaxed = await checkTransition(dir.path, ['paper_live_data', '--requirements', file]);
    expect(relaxed.code).toBe(0);
    expect(relaxed.details.requirements.find((r) => r.id === 'win_rate')!.required).toBe(0.05);

    writeFileSync(file, JSON.stringify({ paper_live_data: { min_winrate: 0.3 } }));
    const typo = await atl([
      'check-transition',
      'paper_live_data',
      '--requirements',
      file,
      '--data-dir',
      dir.path,
    ]);
    expect(typo.code).toBe(78);
    expect(typo.stderr).toContain('must NOT have additional properties');
    const missing = await atl([
      'check-transition',
      'paper_live_data',
      '--requirements',
      join(dir.path, 'nope.json'),
      '--data-dir',
      dir.path,
    ]);
    expect(missing.code).toBe(64);
  });

  it('allows a step back without requirements', async () => {
    using dir = tempDir();
    writePaperLiveRoot(dir.path, {
      days: 1,
      wins: 1,
      losses: 3,
      win: 5,
      loss: 10,
      maxDrawdown: 0.3,
      decisions: 5,
    });
    const { code, details, evidence } = await checkTransition(dir.path, ['backtest']);
    expect(code).toBe(0);
    expect(details.requirements).toEqual([]);
    expect(evidence.checks[0]!.output).toContain('step back');
  });

  it('blocks paper_live_data → testnet on the missing approval alone, records the approver with the stats in mode history, then allows it', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    writePaperLiveRoot(dir.path, {
      days: 20,
      wins: 66,
      losses: 54,
      win: 12,
      loss: 10,
      maxDrawdown: 0.05,
      decisions: 150,
    });
    const args = ['testnet', '--exchange-url', fake.url];

    const noKeys = await checkTransition(dir.path, args);
    expect(noKeys.code).toBe(2);
    expect(failing(noKeys.evidence)).toEqual(['requirement:approval', 'readiness:api_keys']);
    expect(noKeys.evidence.checks.find((c) => c.id === 'readiness:api_keys')!.hint).toContain(
      'BINANCE_TESTNET_API_KEY and BINANCE_TESTNET_API_SECRET',
    );

    const keyed = await checkTransition(dir.path, args, KEYS);
    expect(failing(keyed.evidence)).toEqual(['requirement:approval']);
    expect(keyed.evidence.checks.find((c) => c.id === 'readiness:exchange_reachable')!.output).toContain(
      'authenticated balance read',
    );
    expect(JSON.stringify(keyed.evidence)).not.toContain(FAKE_API_SECRET);
    expect(keyed.details.stats.profit_factor).toBeCloseTo((66 * 12) / (54 * 10), 6);

    const approved = await checkTransition(dir.path, [...args, '--approver', 'alice'], KEYS);
    expect(approved.code).toBe(0);
    expect(approved.details.allowed).toBe(true);
    expect(approved.details.approvals.map((a) => a.approver)).toEqual(['alice']);
    const db = new Database(join(dir.path, 'unified_trading', 'ledger.sqlite'), { readonly: true });
    const rows = db
      .query<
        { from_mode: string; to_mode: string; approver: string; reason: string; stats_json: string },
        []
      >("SELECT * FROM mode_history WHERE reason = 'approval'")
      .all();
    db.close();
    expect(rows.map((r) => [r.from_mode, r.to_mode, r.approver])).toEqual([
      ['paper_live_data', 'testnet', 'alice'],
    ]);
    expect(JSON.parse(rows[0]!.stats_json)).toMatchObject({
      total_trades: 120,
      win_rate: 0.55,
      max_drawdown: 0.05,
      total_pnl: 252,
    });

    expect((await checkTransition(dir.path, args, KEYS)).code).toBe(0);
  });

  it('records no approval while anything else fails, and says why', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    writePaperLiveRoot(dir.path, {
      days: 20,
      wins: 66,
      losses: 54,
      win: 12,
      loss: 10,
      maxDrawdown: 0.05,
      decisions: 150,
      level: 'critical',
    });
    const r = await checkTransition(
      dir.path,
      ['testnet', '--exchange-url', fake.url, '--approver', 'bob'],
      KEYS,
    );
    expect(r.code).toBe(2);
    expect(failing(r.evidence)).toEqual(['requirement:approval', 'readiness:preservation_never_critical']);
    expect(r.evidence.warnings[0]).toContain(
      'no approval recorded: 1 other check(s) do not pass (readiness:preservation_never_critical)',
    );
    expect(r.details.approvals).toEqual([]);
  });
});
