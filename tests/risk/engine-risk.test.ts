import { describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PRESERVATION_LEVELS } from '../../core/schema/risk.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { readDecisions } from '../support/records.ts';
import { runSnapshot, snapshotDiff } from '../support/resume.ts';
import { CRAFT_START, HOUR_MS, readCheckpoint, writeFlashCrashCandles } from './crafted.ts';

const ENTRY_STAGES = ['turnover', 'risk_budget', 'preservation', 'safety', 'sizing'];

/** A replay of the crafted file with the technical rules deciding (no models: the fixture targets those rules). */
function crafted(dir: string, extra: string[] = []) {
  const file = join(dir, 'ETH_USDT-1h.csv');
  const noModels = join(dir, 'no-models');
  mkdirSync(noModels, { recursive: true });
  return {
    file,
    args: [
      'run',
      '--mode',
      'backtest',
      '--replay-file',
      file,
      '--models-dir',
      noModels,
      '--data-dir',
      join(dir, 'root'),
      ...extra,
    ],
  };
}

describe('the entry guard in the engine', () => {
  it('stamps the preservation level on every record and sizes every entry from its risk budget', async () => {
    using dir = tempDir();
    // Two entries a day at most, so the turnover governor blocks some of the re-entries.
    const config = join(dir.path, 'risk.json');
    writeFileSync(config, JSON.stringify({ turnover: { maxDecisionsPerDay: 2 } }));
    const run = crafted(dir.path, ['--risk-config', config]);
    writeFlashCrashCandles(run.file, [3, 3, 3, 3, 3, 3, 3, 3], { every: 1, tail: 60 });
    const r = await atl(run.args);
    expect(r.code).toBe(0);
    const records = readDecisions(join(dir.path, 'root'));
    expect(records.length).toBeGreaterThan(100);
    for (const rec of records) expect(PRESERVATION_LEVELS).toContain(rec.preservation_level as never);
    const entries = records.filter((rec) => rec.execution?.fills.some((f) => f.intent === 'open'));
    expect(entries.length).toBeGreaterThan(3);
    for (const rec of entries) {
      const open = rec.execution!.fills.find((f) => f.intent === 'open')!;
      const budget = rec.risk_budget as {
        applied_notional_usd: number;
        recommended_position_usd: number;
        preservation_size_multiplier: number;
      };
      // The fill's notional at the bar's close is exactly what the guard sized (risk budget × preservation size).
      expect(Math.abs(open.quantity * rec.market.price! - budget.applied_notional_usd)).toBeLessThan(0.01);
      expect(budget.applied_notional_usd).toBeLessThanOrEqual(
        budget.recommended_position_usd * budget.preservation_size_multiplier + 0.01,
      );
      expect(rec.turnover).toMatchObject({ allowed: true });
      expect(
        rec.gate_trace.filter((g) => ENTRY_STAGES.includes(g.stage)).map((g) => [g.stage, g.verdict]),
      ).toEqual(ENTRY_STAGES.map((s) => [s, 'pass']));
    }
    // A blocked entry still lists every stage: the blocker, then the ones it kept from running.
    const blocked = records.filter((rec) => rec.blocked_stage === 'turnover');
    expect(blocked.length).toBeGreaterThan(0);
    for (const rec of blocked) {
      expect(rec.block_reason).toBe('daily_limit_reached');
      expect(
        rec.gate_trace.filter((g) => ENTRY_STAGES.includes(g.stage)).map((g) => [g.stage, g.verdict]),
      ).toEqual(ENTRY_STAGES.map((s, i) => [s, i === 0 ? 'block' : 'skip']));
      expect(rec.turnover).toMatchObject({ allowed: false });
      expect(rec.risk_budget).toBeNull();
    }
  });

  it('walks preservation up normal → cautious → defensive → critical → lockdown on a loss sequence; a backtest locks entries for 24 candles, then re-evaluates and trades again', async () => {
    using dir = tempDir();
    const run = crafted(dir.path);
    writeFlashCrashCandles(run.file, [5, 5, 5, 6, 8, 10, 14, 18, 24, 30, 36, 42, 48], { tail: 60 });
    const first = await atl(run.args);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain('completed');
    const root = join(dir.path, 'root');
    const records = readDecisions(root);
    const levels = records.map((r) => r.preservation_level as string);
    const visited = levels.filter((l, i) => i === 0 || l !== levels[i - 1]);
    expect(visited).toEqual([...PRESERVATION_LEVELS, 'critical']);
    // No persistent halt in a backtest: the replay runs to its last candle.
    expect(existsSync(join(root, 'safety_state.json'))).toBe(false);
    // bar_ts is the close: the last of 80 + 13 × 7 + 60 hourly candles closes 231 hours in.
    expect(records.at(-1)!.bar_ts).toBe(new Date(CRAFT_START + (80 + 13 * 7 + 60) * HOUR_MS).toISOString());
    const locked = records.filter((r) => r.preservation_level === 'lockdown');
    const lockStart = Date.parse(locked[0]!.bar_ts);
    // 24 candles: the bar it was reached at and the 23 after it; no entry opens in them.
    expect(locked.map((r) => Date.parse(r.bar_ts))).toEqual(
      Array.from({ length: 24 }, (_, i) => lockStart + i * HOUR_MS),
    );
    const opens = (r: (typeof records)[number]) => r.execution?.fills.some((f) => f.intent === 'open');
    expect(locked.filter(opens)).toEqual([]);
    expect(first.stderr).toMatch(
      /capital preservation critical → lockdown: drawdown \d+\.\d+% ≥ 8\.00%; entries locked for 24 candles, until /,
    );
    expect(first.stderr).toContain('capital preservation lockdown → critical: lock ended');
    // After the lock it trades again, at critical.
    const after = records.filter((r) => Date.parse(r.bar_ts) >= lockStart + 24 * HOUR_MS);
    expect(after[0]!.preservation_level).toBe('critical');
    expect(after.filter(opens).length).toBeGreaterThan(0);
    expect(after.filter(opens).every((r) => r.preservation_level === 'critical')).toBe(true);

    // Stopped inside the lock and resumed, the run writes exactly what the uninterrupted one does.
    using split = tempDir();
    const parts = crafted(split.path);
    writeFlashCrashCandles(parts.file, [5, 5, 5, 6, 8, 10, 14, 18, 24, 30, 36, 42, 48], { tail: 60 });
    const mid = new Date(lockStart + 10 * HOUR_MS).toISOString();
    expect((await atl([...parts.args, '--until', mid])).code).toBe(0);
    const cp = readCheckpoint(join(split.path, 'root', 'unified_trading', 'ledger.sqlite'));
    expect((cp.risk.preservation as { lockedUntil: number }).lockedUntil).toBe(lockStart + 24 * HOUR_MS);
    expect((await atl(parts.args)).code).toBe(0);
    expect(snapshotDiff(runSnapshot(join(split.path, 'root')), runSnapshot(root))).toEqual([]);
  });

  it('keeps the daily loss counter and the peak equity across a restart in the middle of a trading day', async () => {
    using a = tempDir();
    using b = tempDir();
    const whole = crafted(a.path);
    const split = crafted(b.path);
    const crashes = writeFlashCrashCandles(whole.file, [5, 5, 5, 5, 5, 5, 5, 5], { every: 5 });
    writeFlashCrashCandles(split.file, [5, 5, 5, 5, 5, 5, 5, 5], { every: 5 });
    // Stop one bar after a crash that closed a trade at a loss, mid-day; the day goes on after it.
    const hour = (ts: number) => new Date(ts).getUTCHours();
    const stopAt = crashes.find((ts) => ts > crashes[0]! && hour(ts) >= 6 && hour(ts) <= 15)!;
    const dayEnd = Math.floor(stopAt / 86_400_000) * 86_400_000 + 86_400_000 - HOUR_MS; // the day's last bar closes at 23:00
    const iso = (ms: number) => new Date(ms).toISOString();
    expect((await atl([...split.args, '--until', iso(stopAt + 2 * HOUR_MS)])).code).toBe(0);
    const mid = readCheckpoint(join(b.path, 'root', 'unified_trading', 'ledger.sqlite'));
    const daily = mid.risk.daily as { day: number; realizedPnl: number; opens: number };
    expect(daily.day).toBe(Math.floor(stopAt / 86_400_000));
    expect(daily.realizedPnl).toBeLessThan(0);

    expect((await atl([...split.args, '--until', iso(dayEnd)])).code).toBe(0);
    expect((await atl([...whole.args, '--until', iso(dayEnd)])).code).toBe(0);
    const after = readCheckpoint(join(b.path, 'root', 'unified_trading', 'ledger.sqlite'));
    const reference = readCheckpoint(join(a.path, 'root', 'unified_trading', 'ledger.sqlite'));
    // Restarted or not, the same day ends with the same counters, streaks, levels and peak.
    expect(after.risk).toEqual(reference.risk);
    expect(after.peak_equity).toBe(reference.peak_equity);
    expect(after.cash).toBe(reference.cash);
    expect((after.risk.daily as { realizedPnl: number }).realizedPnl).toBeLessThan(daily.realizedPnl);
    expect(CRAFT_START).toBeLessThan(stopAt);
    expect(snapshotDiff(runSnapshot(join(b.path, 'root')), runSnapshot(join(a.path, 'root')))).toEqual([]);
  });
});

describe('atl run safety rails', () => {
  it.each(['live_limited', 'live_full'])('refuses --mode %s without --confirm (exit 2)', async (mode) => {
    using dir = tempDir();
    const r = await atl(['run', '--mode', mode, '--data-dir', dir.path]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`mode ${mode} trades real money and needs --confirm`);
  });

  it('rejects an invalid paper-live turnover override with exit 78 naming the variable', async () => {
    using dir = tempDir();
    const ratio = await atl(['run', '--mode', 'paper_live_data', '--data-dir', dir.path], {
      env: { PAPER_LIVE_TURNOVER_MIN_RATIO: 'two' },
    });
    expect(ratio.code).toBe(78);
    expect(ratio.stderr).toContain('PAPER_LIVE_TURNOVER_MIN_RATIO must be a number > 0 (got "two")');
    const daily = await atl(['run', '--mode', 'paper_live_data', '--data-dir', dir.path], {
      env: { PAPER_LIVE_TURNOVER_MAX_DAILY: '2.5' },
    });
    expect(daily.code).toBe(78);
    expect(daily.stderr).toContain('PAPER_LIVE_TURNOVER_MAX_DAILY must be a whole number ≥ 1 (got "2.5")');
  });

  it('logs the paper-live turnover overrides once at start, in the exact line ops scripts grep for', async () => {
    using dir = tempDir();
    const engine = spawnAtl(
      ['run', '--mode', 'paper_live_data', '--exchange-url', 'http://127.0.0.1:9', '--data-dir', dir.path],
      {
        env: { PAPER_LIVE_TURNOVER_MIN_RATIO: '2.5', PAPER_LIVE_TURNOVER_MAX_DAILY: '7' },
      },
    );
    let stderr = '';
    const reader = (async () => {
      for await (const chunk of engine.stderr) stderr += new TextDecoder().decode(chunk);
    })();
    try {
      await waitFor(() => stderr.includes('Paper-live turnover overrides'), 20_000);
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
      await reader;
    }
    const lines = stderr.split('\n').filter((l) => l.includes('Paper-live turnover overrides'));
    expect(lines.length).toBe(1);
    expect(lines[0]).toEndWith('Paper-live turnover overrides: min_ratio=2.5 max_daily=7');
  });

  it('rejects a risk config with a bad field or threshold order with exit 78', async () => {
    using dir = tempDir();
    const bad = join(dir.path, 'risk.json');
    writeFileSync(bad, JSON.stringify({ budget: { baseRiskPct: 0.5 } }));
    const r = await atl([
      'run',
      '--max-bars',
      '5',
      '--risk-config',
      bad,
      '--data-dir',
      join(dir.path, 'root'),
    ]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('budget.minRiskPct ≤ budget.baseRiskPct ≤ budget.maxRiskPct must hold');
    writeFileSync(bad, '{"preservation": {"drawdown": {"lockdown": "high"}}}');
    const typed = await atl([
      'run',
      '--max-bars',
      '5',
      '--risk-config',
      bad,
      '--data-dir',
      join(dir.path, 'root'),
    ]);
    expect(typed.code).toBe(78);
    expect(typed.stderr).toContain('/preservation/drawdown/lockdown must be number');
    const missing = await atl([
      'run',
      '--max-bars',
      '5',
      '--risk-config',
      join(dir.path, 'nope.json'),
      '--data-dir',
      join(dir.path, 'root'),
    ]);
    expect(missing.code).toBe(78);
  });
});
