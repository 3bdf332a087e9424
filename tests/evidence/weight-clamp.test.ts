import { describe, expect, it } from 'bun:test';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dailyShift } from '../../core/advisor/weights.ts';
import { renderSyntheticCsv } from '../../core/market/bundled.ts';
import type { Evidence } from '../../core/schema/evidence.ts';
import { atl, tempDir } from '../support/cli.ts';
import { readDecisions } from '../support/records.ts';

const DAY = Date.UTC(2024, 0, 1);
const SPLIT = DAY + 4 * 3_600_000;
const prefs = (rl: unknown, key = 'strategy_preferences') =>
  (rl as Record<string, Record<string, number>> | null)?.[key] ?? null;

describe('health-daily weighting:clamp', () => {
  it('measures from the advisor’s own day-start weights, so a log that begins after the advisor moved that day reads no false CRITICAL', async () => {
    using dir = tempDir();
    // The advisor learns 00:00–04:00 of the day on one data root; the log of a new data root that
    // keeps its learning starts at 04:00. The day's first logged weights have already moved.
    const csv = renderSyntheticCsv('BTC/USDT', '1m', 1440, DAY);
    const full = join(dir.path, 'BTC_USDT-1m.csv');
    writeFileSync(full, csv);
    const morning = join(dir.path, 'morning');
    const until = new Date(SPLIT).toISOString();
    const first = await atl([
      'run',
      '--mode',
      'backtest',
      '--replay-file',
      full,
      '--until',
      until,
      '--data-dir',
      morning,
    ]);
    expect(first.code).toBe(0);
    const root = join(dir.path, 'root');
    mkdirSync(join(root, 'rl'), { recursive: true });
    copyFileSync(join(morning, 'rl', 'advisor_state.json'), join(root, 'rl', 'advisor_state.json'));
    const advisor = JSON.parse(readFileSync(join(root, 'rl', 'advisor_state.json'), 'utf8'));
    mkdirSync(join(dir.path, 'rest'));
    const rest = join(dir.path, 'rest', 'BTC_USDT-1m.csv');
    const lines = csv.split('\n');
    writeFileSync(rest, lines.filter((l, i) => i < 2 || Number(l.split(',')[0]) >= SPLIT).join('\n'));
    expect((await atl(['run', '--mode', 'backtest', '--replay-file', rest, '--data-dir', root])).code).toBe(
      0,
    );

    const day = readDecisions(root).filter(
      (r) => r.bar_ts.startsWith('2024-01-01') && prefs(r.rl_recommendation),
    );
    expect(Date.parse(day[0]!.bar_ts)).toBeGreaterThan(SPLIT);
    // Every record carries the reference the advisor clamps against: the weights its day began with.
    const reference = Object.fromEntries(
      advisor.agents.map((a: string, i: number) => [a, Math.round(advisor.day_start_weights[i] * 1e4) / 1e4]),
    );
    for (const r of day) expect(prefs(r.rl_recommendation, 'day_start_preferences')).toEqual(reference);
    // Read from the day's first record (the old definition), the day looks like a broken clamp.
    const fromFirst = Math.max(
      ...day.map((r) => dailyShift(prefs(day[0]!.rl_recommendation)!, prefs(r.rl_recommendation)!).shift),
    );
    expect(fromFirst).toBeGreaterThan(0.12);
    const fromDayStart = Math.max(
      ...day.map((r) => dailyShift(reference, prefs(r.rl_recommendation)!).shift),
    );
    expect(fromDayStart).toBeLessThanOrEqual(0.1 + 1e-4);

    const r = await atl(['health-daily', '--date', '2024-01-01', '--data-dir', root, '--json']);
    const evidence = JSON.parse(r.stdout) as Evidence;
    const clamp = evidence.checks.find((c) => c.id === 'weighting:clamp')!;
    expect(clamp.status).toBe('pass');
    expect(clamp.observed).toBe(Math.round(fromDayStart * 1e4) / 1e4);
    expect(
      (evidence.details as { strategy_weighting: { measured_from: string } }).strategy_weighting
        .measured_from,
    ).toBe("the advisor's day-start weights");
  });
});
