import { describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModeStats } from '../../core/modes/ledger-stats.ts';
import { transitionKind } from '../../core/modes/modes.ts';
import { type ReadinessFacts, readinessChecks } from '../../core/modes/readiness.ts';
import { scanDecisionLog } from '../../core/modes/readiness-facts.ts';
import { evaluateTransition } from '../../core/modes/transition.ts';
import { DECISION_SCHEMA_VERSION } from '../../core/schema/decision.ts';
import { tempDir } from '../support/cli.ts';

const NOW = Date.UTC(2026, 10, 24, 12);
const stats = (over: Partial<ModeStats> = {}): ModeStats => ({
  mode: 'paper_live_data',
  modeStartedAt: new Date(NOW - 20 * 86_400_000).toISOString(),
  daysInMode: 20,
  trades: 120,
  wins: 66,
  losses: 54,
  winRate: 0.55,
  grossProfit: 792,
  grossLoss: 540,
  profitFactor: 792 / 540,
  totalPnl: 252,
  expectancyBps: 70,
  maxDrawdown: 0.05,
  preservationLevel: 'normal',
  ...over,
});
const statusOf = (checks: { id: string; status: string }[]) =>
  Object.fromEntries(checks.map((c) => [c.id, c.status]));

const healthy: ReadinessFacts = {
  decisions: { present: true, total: 500, realData: 400, critical: 0, lockdown: 0, tornTailBytes: 0 },
  currentLevel: 'normal',
  pause: null,
  halt: null,
  heartbeat: { ts: new Date(NOW - 60_000).toISOString(), problem: null },
  apiKeys: [
    { broker: 'binance', present: true, vars: ['BINANCE_TESTNET_API_KEY', 'BINANCE_TESTNET_API_SECRET'] },
  ],
  exchange: { status: 'reachable', exchange: 'binance-sandbox', latencyMs: 120, authenticated: true },
  liveEnv: {},
  emergencyPath: { safetyProblem: null, rootWritable: true, drills: 1, entryPoint: true },
};

describe('mode transitions', () => {
  it('allows one step forward or any number back', () => {
    expect(transitionKind('paper_live_data', 'testnet')).toBe('forward');
    expect(transitionKind('paper_live_data', 'live_limited')).toBe('skip');
    expect(transitionKind('live_full', 'backtest')).toBe('backward');
    expect(transitionKind('testnet', 'testnet')).toBe('same');
  });

  it('passes each requirement at its boundary and fails just beyond it', () => {
    const at = evaluateTransition(
      'paper_live_data',
      'testnet',
      stats({
        daysInMode: 14,
        trades: 100,
        winRate: 0.45,
        maxDrawdown: 0.12,
        profitFactor: 1.1,
        expectancyBps: 2,
      }),
      [{ ts: '', from_mode: 'paper_live_data', to_mode: 'testnet', approver: 'alice', stats_json: '{}' }],
    );
    expect(at.requirements.every((r) => r.passed)).toBe(true);
    expect(at.overallProgressPct).toBe(100);
    const beyond = evaluateTransition(
      'paper_live_data',
      'testnet',
      stats({
        daysInMode: 13.9,
        trades: 99,
        winRate: 0.449,
        maxDrawdown: 0.121,
        profitFactor: 1.09,
        expectancyBps: 1.9,
      }),
      [],
    );
    expect(beyond.requirements.map((r) => [r.id, r.passed])).toEqual([
      ['days_in_mode', false],
      ['trades', false],
      ['win_rate', false],
      ['max_drawdown', false],
      ['profit_factor', false],
      ['expectancy', false],
      ['approval', false],
    ]);
    expect(beyond.estimatedDaysRemaining).toBeCloseTo(0.1, 1);
  });

  it('reports an infinite profit factor (no losing trade) as passed with no number, and no profit factor at all without trades', () => {
    const flawless = evaluateTransition(
      'paper_synthetic',
      'paper_live_data',
      stats({ mode: 'paper_synthetic', trades: 40, wins: 40, losses: 0, profitFactor: Infinity }),
      [],
    );
    expect(flawless.requirements.find((r) => r.id === 'profit_factor')).toMatchObject({
      current: null,
      passed: true,
    });
    const idle = evaluateTransition(
      'backtest',
      'paper_synthetic',
      stats({ mode: 'backtest', trades: 0, wins: 0, losses: 0, winRate: 0, profitFactor: 0 }),
      [],
    );
    expect(idle.requirements.filter((r) => !r.passed).map((r) => r.id)).toEqual([
      'trades',
      'win_rate',
      'profit_factor',
      'expectancy',
    ]);
  });
});

describe('readiness gates (testnet and beyond)', () => {
  it('all pass on a healthy shadow run', () => {
    expect(Object.values(statusOf(readinessChecks(healthy, 'testnet', NOW))).every((s) => s === 'pass')).toBe(
      true,
    );
  });

  it('fail on too few real-data decisions, a critical episode, an override, a stale heartbeat, missing keys, a loose limit', () => {
    const bad: ReadinessFacts = {
      ...healthy,
      decisions: { ...healthy.decisions, realData: 99, critical: 3 },
      pause: 'maintenance',
      heartbeat: { ts: new Date(NOW - 7 * 3600_000).toISOString(), problem: null },
      apiKeys: [{ ...healthy.apiKeys[0]!, present: false }],
      exchange: { status: 'unreachable', exchange: 'binance', reason: 'dns_failure:testnet.binance.vision' },
      liveEnv: { LIVE_MAX_LEVERAGE: '5', LIVE_MAX_POSITION_PCT: 'lots' },
      emergencyPath: {
        ...healthy.emergencyPath,
        safetyProblem: 'safety_state.json unreadable: not valid JSON',
      },
    };
    const checks = readinessChecks(bad, 'live_limited', NOW);
    expect(Object.values(statusOf(checks)).every((s) => s === 'fail')).toBe(true);
    expect(checks.find((c) => c.id === 'readiness:live_risk_limits')?.output).toBe(
      'LIVE_MAX_POSITION_PCT="lots" is not a positive number; LIVE_MAX_LEVERAGE=5x exceeds 3x',
    );
    expect(checks.find((c) => c.id === 'readiness:no_manual_override')?.output).toBe(
      'pause switch on (maintenance)',
    );
  });

  it('cannot tell whether preservation was ever critical without a decision log, nor reach an exchange it cannot build', () => {
    const facts: ReadinessFacts = {
      ...healthy,
      decisions: { ...healthy.decisions, present: false, total: 0, realData: 0 },
      exchange: { status: 'unknown', exchange: 'nowhere', reason: 'unknown exchange' },
    };
    const s = statusOf(readinessChecks(facts, 'testnet', NOW));
    expect([s['readiness:preservation_never_critical'], s['readiness:exchange_reachable']]).toEqual([
      'unknown',
      'unknown',
    ]);
  });

  it('flags a heartbeat from the future as clock skew', () => {
    const c = readinessChecks(
      { ...healthy, heartbeat: { ts: new Date(NOW + 600_000).toISOString(), problem: null } },
      'testnet',
      NOW,
    );
    expect(c.find((x) => x.id === 'readiness:heartbeat_recent')).toMatchObject({
      status: 'fail',
      output: 'heartbeat is 600 s in the future (clock skew)',
    });
  });

  it('counts decisions by scanning complete lines only, skipping a torn tail', () => {
    using dir = tempDir();
    const path = join(dir.path, 'log.jsonl');
    const line = (dm: string, level: string) =>
      JSON.stringify({
        schema_version: DECISION_SCHEMA_VERSION,
        data_mode: dm,
        preservation_level: level,
        action: 'hold',
      });
    const torn = '{"data_mode":"PAPER_LIVE","pres';
    writeFileSync(
      path,
      `${[line('PAPER_LIVE', 'normal'), line('REPLAY', 'critical'), line('LIVE', 'lockdown'), line('TESTNET', 'normal')].join('\n')}\n${torn}`,
    );
    expect(scanDecisionLog(path)).toEqual({
      present: true,
      total: 4,
      realData: 3,
      critical: 1,
      lockdown: 1,
      tornTailBytes: torn.length,
    });
    expect(scanDecisionLog(join(dir.path, 'none.jsonl')).present).toBe(false);
  });
});
