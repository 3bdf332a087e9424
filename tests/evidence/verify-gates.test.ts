import { describe, expect, it } from 'bun:test';
import type { Heartbeat } from '../../core/schema/heartbeat.ts';
import type { Pidfile } from '../../core/schema/state.ts';
import { DEFAULT_THRESHOLDS, thresholdsFromEnv, type VerifyFacts } from '../../core/verify/facts.ts';
import {
  evaluateDataPipeline,
  evaluateDisk,
  evaluateSystemd,
  evaluateTurnoverOverrides,
  evaluateVerify,
} from '../../core/verify/gates.ts';
import { evaluateEngineProcess, evaluateHeartbeat, evaluateProgress } from '../../core/verify/liveness.ts';

const NOW = Date.parse('2026-11-24T12:00:00.000Z');
const PID = 4242;

const pidfile: Pidfile = {
  pid: PID,
  process_start: '1000',
  boot_id: 'boot',
  host: 'h',
  mode: 'paper_live_data',
  started_at: '2026-11-24T11:00:00.000Z',
  argv: ['run'],
};

function heartbeat(ageS: number, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    schema_version: '1.0.0',
    ts: new Date(NOW - ageS * 1000).toISOString(),
    pid: PID,
    process_start: '1000',
    boot_id: 'boot',
    host: 'h',
    mode: 'paper_live_data',
    data_mode: 'PAPER_LIVE',
    symbols: ['BTC/USDT'],
    timeframe: '1m',
    status: 'running',
    status_reason: null,
    seq: 10,
    last_tick_started_at: null,
    last_tick_finished_at: null,
    last_bar_ts: null,
    last_decision_ts: null,
    total_decisions_session: 10,
    paper_live_decisions_session: 10,
    per_symbol: {},
    interval_s: 60,
    circuit_breakers: { exchange: 'closed', 'model:BTC_USDT-1h-mlp': 'closed' },
    version: 'x',
    ...over,
  } as Heartbeat;
}

/** Facts of a healthy paper-live host; each test breaks one thing. */
function facts(over: Partial<VerifyFacts> = {}): VerifyFacts {
  return {
    nowMs: NOW,
    dataRoot: '/data',
    pidfile: { kind: 'ok', value: pidfile },
    heartbeat: { kind: 'ok', value: heartbeat(10) },
    pidfileProcess: {
      pid: PID,
      identity: 'same',
      cmdline: ['bun', 'cli/main.ts', 'run'],
      isEngine: true,
      state: 'S',
    },
    enginesOnRoot: [PID],
    progress: { kind: 'sampled', firstSeq: 10, lastSeq: 11, waitedMs: 900, budgetMs: 90_000, intervalS: 60 },
    status: { exitCode: 0, problem: null, durationMs: 50 },
    turnoverLog: {
      path: '/data/logs/engine.log',
      exists: true,
      line: 'Paper-live turnover overrides: min_ratio=2 max_daily=10',
    },
    systemd: {
      kind: 'unit',
      unit: 'atl.service',
      loadState: 'loaded',
      activeState: 'active',
      subState: 'running',
      mainPid: PID,
    },
    dataTail: { kind: 'ok', bySymbol: { 'BTC/USDT': { streak: 0, reason: null } } },
    disk: { kind: 'ok', freeBytes: 50 * 2 ** 30, totalBytes: 100 * 2 ** 30 },
    halt: { halted: false, reason: null, by: null },
    ...over,
  };
}

describe('verify gates (pure)', () => {
  it('passes every gate on a healthy paper-live host', () => {
    expect(
      evaluateVerify(facts(), DEFAULT_THRESHOLDS)
        .map((c) => [c.id, c.status])
        .filter(([, s]) => s !== 'pass'),
    ).toEqual([]);
  });

  it('passes a heartbeat exactly HEARTBEAT_MAX_AGE_SECONDS old and fails one a second older', () => {
    const t = { ...DEFAULT_THRESHOLDS, heartbeatMaxAgeS: 120 };
    expect(evaluateHeartbeat(facts({ heartbeat: { kind: 'ok', value: heartbeat(120) } }), t).status).toBe(
      'pass',
    );
    expect(evaluateHeartbeat(facts({ heartbeat: { kind: 'ok', value: heartbeat(121) } }), t).status).toBe(
      'fail',
    );
  });

  it('tolerates a heartbeat 5 s in the future but fails 6 s ahead as clock skew', () => {
    expect(
      evaluateHeartbeat(facts({ heartbeat: { kind: 'ok', value: heartbeat(-5) } }), DEFAULT_THRESHOLDS)
        .status,
    ).toBe('pass');
    const skewed = evaluateHeartbeat(
      facts({ heartbeat: { kind: 'ok', value: heartbeat(-6) } }),
      DEFAULT_THRESHOLDS,
    );
    expect(skewed.status).toBe('fail');
    expect(skewed.output).toContain('clock skew');
  });

  it('fails a heartbeat from a stopped or halted engine even when fresh', () => {
    expect(
      evaluateHeartbeat(
        facts({ heartbeat: { kind: 'ok', value: heartbeat(1, { status: 'stopped' }) } }),
        DEFAULT_THRESHOLDS,
      ).status,
    ).toBe('fail');
  });

  it('a stopped engine gives one cause with one fix; the gates that fail because of it point at it', () => {
    const stopped = facts({
      pidfile: { kind: 'missing' },
      heartbeat: { kind: 'ok', value: heartbeat(30, { status: 'stopped', status_reason: 'completed' }) },
      pidfileProcess: null,
      enginesOnRoot: [],
      progress: { kind: 'not_sampled', reason: 'no live engine writes this heartbeat' },
    });
    const failing = evaluateVerify(stopped, DEFAULT_THRESHOLDS).filter((c) => c.status === 'fail');
    expect(failing.map((c) => c.id)).toEqual([
      'engine:process',
      'engine:pidfile',
      'engine:pid-parity',
      'engine:heartbeat',
      'engine:progress',
    ]);
    const hints = failing.map((c) => c.hint);
    expect(hints.filter((h) => h?.includes('npx atl run'))).toHaveLength(1);
    expect(hints[0]).toContain('npx atl run');
    expect(new Set(hints.slice(1))).toEqual(
      new Set(['see engine:process (no engine runs on this data root)']),
    );
  });

  it('a dead engine with a pidfile keeps its own hint (read engine.log): only repeats are folded', () => {
    const dead = facts({
      pidfileProcess: { pid: PID, identity: 'gone', cmdline: null, isEngine: false, state: null },
      enginesOnRoot: [],
      progress: { kind: 'not_sampled', reason: 'no live engine writes this heartbeat' },
    });
    const pidfileCheck = evaluateVerify(dead, DEFAULT_THRESHOLDS).find((c) => c.id === 'engine:pidfile')!;
    expect(pidfileCheck.hint).not.toStartWith('see engine:process');
  });

  it('counts engines on the data root: one passes, none or two fail, unlistable is unknown', () => {
    expect(evaluateEngineProcess(facts({ enginesOnRoot: [1] })).status).toBe('pass');
    expect(evaluateEngineProcess(facts({ enginesOnRoot: [] })).status).toBe('fail');
    expect(evaluateEngineProcess(facts({ enginesOnRoot: [1, 2] })).status).toBe('fail');
    expect(evaluateEngineProcess(facts({ enginesOnRoot: null })).status).toBe('unknown');
  });

  it('fails a stuck tick counter, but cannot tell (unknown) when the wait was shorter than one interval', () => {
    expect(
      evaluateProgress(
        facts({
          progress: {
            kind: 'sampled',
            firstSeq: 5,
            lastSeq: 5,
            waitedMs: 122_000,
            budgetMs: 122_000,
            intervalS: 60,
          },
        }),
      ).status,
    ).toBe('fail');
    expect(
      evaluateProgress(
        facts({
          progress: {
            kind: 'sampled',
            firstSeq: 5,
            lastSeq: 5,
            waitedMs: 5000,
            budgetMs: 5000,
            intervalS: 60,
          },
        }),
      ).status,
    ).toBe('unknown');
  });

  it('requires the turnover-override line only in paper_live_data', () => {
    expect(
      evaluateTurnoverOverrides(facts({ turnoverLog: { path: 'x', exists: true, line: null } })).status,
    ).toBe('fail');
    const synthetic = facts({
      heartbeat: { kind: 'ok', value: heartbeat(1, { mode: 'paper_synthetic' }) },
      turnoverLog: { path: 'x', exists: false, line: null },
    });
    expect(evaluateTurnoverOverrides(synthetic).skipped).toBe(true);
  });

  it('skips systemd where it is absent or the unit is not installed, and fails an inactive unit', () => {
    expect(evaluateSystemd(facts({ systemd: { kind: 'absent', reason: 'no systemd' } })).skipped).toBe(true);
    expect(
      evaluateSystemd(
        facts({
          systemd: {
            kind: 'unit',
            unit: 'u',
            loadState: 'not-found',
            activeState: 'inactive',
            subState: 'dead',
            mainPid: null,
          },
        }),
      ).skipped,
    ).toBe(true);
    expect(
      evaluateSystemd(
        facts({
          systemd: {
            kind: 'unit',
            unit: 'u',
            loadState: 'loaded',
            activeState: 'failed',
            subState: 'failed',
            mainPid: null,
          },
        }),
      ).status,
    ).toBe('fail');
  });

  it('warns on a data_fetch streak of 3 and fails at 20; warns (not fails) on low disk', () => {
    const tail = (streak: number): Partial<VerifyFacts> => ({
      dataTail: { kind: 'ok', bySymbol: { X: { streak, reason: 'insufficient_data:3' } } },
    });
    expect(evaluateDataPipeline(facts(tail(2)), DEFAULT_THRESHOLDS).status).toBe('pass');
    expect(evaluateDataPipeline(facts(tail(3)), DEFAULT_THRESHOLDS).status).toBe('warn');
    expect(evaluateDataPipeline(facts(tail(20)), DEFAULT_THRESHOLDS).status).toBe('fail');
    expect(
      evaluateDisk(
        facts({ disk: { kind: 'ok', freeBytes: 2 ** 20, totalBytes: 2 ** 40 } }),
        DEFAULT_THRESHOLDS,
      ).status,
    ).toBe('warn');
  });

  it('keeps exchange and model-runner breakers apart: each warns on its own, a run without models skips the model check', () => {
    const gate = (breakers: Record<string, string>, id: string) =>
      evaluateVerify(
        facts({ heartbeat: { kind: 'ok', value: heartbeat(10, { circuit_breakers: breakers }) } }),
        DEFAULT_THRESHOLDS,
      ).find((c) => c.id === id)!;
    expect(gate({ binance: 'closed' }, 'models:runners')).toMatchObject({ status: 'pass', skipped: true });
    const benched = {
      binance: 'closed',
      'model:BTC_USDT-1h-mlp': 'open',
      'model:BTC_USDT-1h-logreg': 'closed',
    };
    expect(gate(benched, 'exchange:reachability').status).toBe('pass');
    const models = gate(benched, 'models:runners');
    expect(models.status).toBe('warn');
    expect(models.output).toBe('circuit breaker model:BTC_USDT-1h-mlp=open');
    const exchangeDown = { binance: 'half_open', 'model:BTC_USDT-1h-mlp': 'closed' };
    expect(gate(exchangeDown, 'models:runners')).toMatchObject({ status: 'pass' });
    expect(gate(exchangeDown, 'models:runners').skipped).toBeUndefined();
    expect(gate(exchangeDown, 'exchange:reachability').status).toBe('warn');
  });

  it('reads HEARTBEAT_MAX_AGE_SECONDS and refuses a non-positive value as a config error', () => {
    expect(thresholdsFromEnv({ HEARTBEAT_MAX_AGE_SECONDS: '300' }).heartbeatMaxAgeS).toBe(300);
    expect(() => thresholdsFromEnv({ HEARTBEAT_MAX_AGE_SECONDS: '0' })).toThrow('HEARTBEAT_MAX_AGE_SECONDS');
  });
});
