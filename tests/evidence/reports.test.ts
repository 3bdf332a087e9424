import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { dataPaths } from '../../core/paths.ts';
import { validate } from '../../core/schema/ajv.ts';
import { Evidence } from '../../core/schema/evidence.ts';
import { computeDailyHealth } from '../../reports/daily.ts';
import type { Totals } from '../../reports/day-totals.ts';
import { scanDecisionLog } from '../../reports/decision-scan.ts';
import { computeWeekly } from '../../reports/weekly.ts';
import { addDays, daysOf, weekWindow } from '../../reports/windows.ts';
import { atl, tempDir } from '../support/cli.ts';
import { readOutcomes, rewriteAsV1 } from '../support/records.ts';

// One replayed month of the bundled 1h candles (May 2026, 3 symbols), shared read-only by the tests below.
let month: string;
const LOG = (root: string) => join(root, 'rl', 'shadow_decisions.jsonl');
const NOW = new Date('2026-11-24T12:00:00Z');

beforeAll(async () => {
  month = mkdtempSync(join(tmpdir(), 'atl-month-'));
  const r = await atl(['run', '--mode', 'backtest', '--max-bars', '744', '--data-dir', month]);
  if (r.code !== 0) throw new Error(`backtest failed: ${r.stderr}`);
  // These tests edit, shuffle and re-chain raw lines: they work on the month as a v1 log (which
  // the readers must still read exactly; v2 logs are covered in tests/records).
  rewriteAsV1(month);
}, 60_000);

afterAll(() => rmSync(month, { recursive: true, force: true }));

/** A data root holding a copy of the month's log (and ledger), so a test can damage its own copy. */
function copyOfMonth(dir: string): string[] {
  mkdirSync(join(dir, 'rl'), { recursive: true });
  mkdirSync(join(dir, 'unified_trading'), { recursive: true });
  copyFileSync(LOG(month), LOG(dir));
  copyFileSync(
    join(month, 'unified_trading', 'ledger.sqlite'),
    join(dir, 'unified_trading', 'ledger.sqlite'),
  );
  return readFileSync(LOG(dir), 'utf8').split('\n').slice(0, -1);
}

const writeLog = (dir: string, lines: string[]) => writeFileSync(LOG(dir), `${lines.join('\n')}\n`);

/** The additive part of a report, comparable across reorderings. */
function aggregates(t: Totals) {
  return {
    ...t,
    costs: Object.fromEntries(Object.entries(t.costs).map(([k, v]) => [k, v.toFixed(4)])),
    realized_pnl: t.realized_pnl.toFixed(4),
  };
}

function shuffled<T>(xs: T[], seed: number): T[] {
  const out = [...xs];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function cli(args: string[]) {
  const r = await atl([...args, '--json']);
  const evidence = JSON.parse(r.stdout) as Evidence;
  expect(validate(Evidence, evidence).ok).toBe(true);
  expect(evidence.exit_code).toBe(r.code);
  for (const c of evidence.checks) if (c.status !== 'pass') expect(c.hint?.length ?? 0).toBeGreaterThan(0);
  return { ...r, evidence, byId: Object.fromEntries(evidence.checks.map((c) => [c.id, c])) };
}

describe('health-daily and report-weekly over a replayed month', () => {
  it('weekly totals equal the sum of the daily totals for the same UTC days (CLI, one week)', async () => {
    const end = '2026-05-14';
    const week = await cli(['report-weekly', '--week', '2', '--end', end, '--data-dir', month]);
    const weekly = (week.evidence.details as { data_collection: { totals: Totals } }).data_collection.totals;
    const days = await Promise.all(
      daysOf(weekWindow(end)).map((d) => cli(['health-daily', '--date', d, '--data-dir', month])),
    );
    const daily = days.map((d) => (d.evidence.details as { totals: Totals }).totals);
    expect(weekly.decisions).toBe(7 * 24 * 3);
    expect(daily.reduce((a, t) => a + t.decisions, 0)).toBe(weekly.decisions);
    expect(daily.reduce((a, t) => a + t.executed, 0)).toBe(weekly.executed);
    expect(daily.reduce((a, t) => a + t.blocked, 0)).toBe(weekly.blocked);
    expect(daily.reduce((a, t) => a + t.fills, 0)).toBe(weekly.fills);
    for (const stage of Object.keys(weekly.blocks_by_stage)) {
      expect(daily.reduce((a, t) => a + (t.blocks_by_stage[stage] ?? 0), 0)).toBe(
        weekly.blocks_by_stage[stage]!,
      );
    }
    expect(daily.reduce((a, t) => a + t.costs.total, 0)).toBeCloseTo(weekly.costs.total, 4);
    expect(daily.reduce((a, t) => a + t.realized_pnl, 0)).toBeCloseTo(weekly.realized_pnl, 4);
    expect(week.code).toBe(1); // REPLAY data is not paper-live evidence: a warning, not a pass
    // The advisor's agreement, recomputed here from the log and the outcomes file for the same days.
    const days7 = new Set(daysOf(weekWindow(end)));
    const withOutcome = new Set(
      readOutcomes(month)
        .filter((o) => o.kind === 'forward_return' && o.forward_returns['1'] !== null)
        .map((o) => o.decision_id),
    );
    const advised = readFileSync(LOG(month), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l))
      .filter(
        (r) => days7.has(r.bar_ts.slice(0, 10)) && r.rl_recommendation && withOutcome.has(r.decision_id),
      );
    const cf = (
      week.evidence.details as {
        counterfactual: { evaluated: number; agreement_rate: number; delta_mean_bps: number };
      }
    ).counterfactual;
    // ✅ only on its merits: the advisor passes when it would have done better, not merely when evaluated.
    expect(week.byId['advisor:counterfactual']!.status).toBe(cf.delta_mean_bps > 0 ? 'pass' : 'warn');
    expect(cf.evaluated).toBe(advised.length);
    const agree = advised.filter((r) => String(r.rl_recommendation.action).toLowerCase() === r.action).length;
    expect(cf.agreement_rate).toBeCloseTo(agree / advised.length, 6);
  }, 60_000);

  it('holds week = Σ days for every week of the month (in process)', async () => {
    const paths = dataPaths(month);
    for (const end of ['2026-05-07', '2026-05-14', '2026-05-21', '2026-05-28']) {
      const weekly = (await computeWeekly(paths, 1, end, NOW)).data_collection.totals;
      const days = (
        await Promise.all(daysOf(weekWindow(end)).map((d) => computeDailyHealth(paths, d, NOW)))
      ).map((d) => d.report.totals);
      expect(days.reduce((a, t) => a + t.decisions, 0)).toBe(weekly.decisions);
      expect(days.reduce((a, t) => a + t.blocked, 0)).toBe(weekly.blocked);
      expect(days.reduce((a, t) => a + t.costs.fees, 0)).toBeCloseTo(weekly.costs.fees, 4);
    }
  });

  it('gives the same aggregates when the log is shuffled or records are duplicated, and names the duplicates', async () => {
    using dir = tempDir();
    const lines = copyOfMonth(dir.path);
    const paths = dataPaths(dir.path);
    const before = (await computeDailyHealth(paths, '2026-05-10', NOW)).report;
    writeLog(dir.path, shuffled(lines, 7));
    const afterShuffle = await computeDailyHealth(paths, '2026-05-10', NOW);
    expect(aggregates(afterShuffle.report.totals)).toEqual(aggregates(before.totals));
    expect(afterShuffle.report.capital_preservation).toEqual(before.capital_preservation);
    const dayLines = lines.filter((l) => l.includes('"bar_ts":"2026-05-10'));
    writeLog(dir.path, [...lines, ...dayLines.slice(0, 5), ...dayLines.slice(0, 5)]);
    const afterDup = await computeDailyHealth(paths, '2026-05-10', NOW);
    expect(aggregates(afterDup.report.totals)).toEqual(aggregates(before.totals));
    expect(afterDup.report.log.duplicates_in_window).toBe(10);
    expect(afterDup.checks.find((c) => c.id === 'decisions:duplicates')?.status).toBe('warn');
  });

  it('skips a torn tail with exactly one more warning and unchanged aggregates', async () => {
    using dir = tempDir();
    const lines = copyOfMonth(dir.path);
    const clean = await cli(['health-daily', '--date', '2026-05-31', '--data-dir', dir.path]);
    appendFileSync(LOG(dir.path), lines.at(-1)!.slice(0, 300));
    const torn = await cli(['health-daily', '--date', '2026-05-31', '--data-dir', dir.path]);
    expect(torn.evidence.warnings.length).toBe(clean.evidence.warnings.length + 1);
    expect(torn.evidence.warnings.at(-1)).toContain('torn tail');
    expect((torn.evidence.details as { totals: Totals }).totals).toEqual(
      (clean.evidence.details as { totals: Totals }).totals,
    );
    expect(torn.byId['decisions:torn-tail']!.observed).toBe(300);
  });

  it('reports an edited line as a hash-chain break at the next line, and exits 2', async () => {
    using dir = tempDir();
    const lines = copyOfMonth(dir.path);
    const at = lines.findIndex((l) => l.includes('"bar_ts":"2026-05-12T10:00'));
    lines[at] = lines[at]!.replace('"action":"hold"', '"action":"buy"').replace(
      '"confidence":0,',
      '"confidence":0.01,',
    );
    expect(lines[at]).not.toBe(readFileSync(LOG(month), 'utf8').split('\n')[at]);
    writeLog(dir.path, lines);
    const r = await cli(['health-daily', '--date', '2026-05-12', '--data-dir', dir.path]);
    expect(r.code).toBe(2);
    expect(r.byId['decisions:chain']!.status).toBe('fail');
    expect(r.byId['decisions:chain']!.output).toContain(
      `line ${at + 2}: prev_hash does not match line ${at + 1}`,
    );
    const otherDay = await cli(['health-daily', '--date', '2026-05-20', '--data-dir', dir.path]);
    expect(otherDay.byId['decisions:chain']!.status).toBe('pass');
  });

  it('reports a malformed line with its line number instead of dropping it, and a deleted line as a break', async () => {
    using dir = tempDir();
    const lines = copyOfMonth(dir.path);
    const at = lines.findIndex((l) => l.includes('"bar_ts":"2026-05-15T06:00'));
    writeLog(dir.path, [...lines.slice(0, at), '{"decision_id":"broken', ...lines.slice(at + 1)]);
    const r = await cli(['health-daily', '--date', '2026-05-15', '--data-dir', dir.path]);
    expect(r.byId['decisions:malformed']!.output).toContain(`line ${at + 1}`);
    expect(r.byId['decisions:chain']!.status).toBe('fail');
    writeLog(dir.path, [...lines.slice(0, at), ...lines.slice(at + 1)]);
    const deleted = await cli(['health-daily', '--date', '2026-05-15', '--data-dir', dir.path]);
    expect(deleted.code).toBe(2);
    expect(deleted.byId['decisions:chain']!.output).toContain(`line ${at + 1}`);
  });

  it('treats an empty day as a warning (exit 1) and a missing log as unknown (exit 3), never a pass', async () => {
    const empty = await cli(['health-daily', '--date', '2026-09-01', '--data-dir', month]);
    expect(empty.code).toBe(1);
    expect(empty.byId['decisions:window']!.output).toBe(
      'no decisions for 2026-09-01 (UTC day, by bar time); the log holds 2232 records with bar times from 2026-05-01 to 2026-06-01',
    );
    using dir = tempDir();
    const missing = await cli(['health-daily', '--date', '2026-05-10', '--data-dir', dir.path]);
    expect(missing.code).toBe(3);
    expect(existsSync(join(dir.path, 'reports', 'daily_shadow_health_2026-05-10.json'))).toBe(true);
  });

  it('says, on the default windows of a backtest log (today, the week to yesterday), which days the log holds and the command that reports on them', async () => {
    const daily = await cli(['health-daily', '--data-dir', month]);
    expect(daily.code).toBe(1);
    expect(daily.byId['decisions:window']!.output).toMatch(
      /^no decisions for \d{4}-\d{2}-\d{2} \(UTC day, by bar time\); the log holds 2232 records with bar times from 2026-05-01 to 2026-06-01$/,
    );
    expect(daily.byId['decisions:window']!.hint).toContain(
      `\`npx atl health-daily --date 2026-06-01 --data-dir ${month}\``,
    );
    const weekly = await cli(['report-weekly', '--week', '1', '--data-dir', month]);
    expect(weekly.code).toBe(1);
    const window = weekly.byId['decisions:window']!;
    expect(window.output).toMatch(
      /^no decisions for the week \d{4}-\d{2}-\d{2} – \d{4}-\d{2}-\d{2} \(UTC days, by bar time\); the log holds 2232 records/,
    );
    const hinted = /`npx atl (report-weekly [^`]+)`/.exec(window.hint!)![1]!.split(' ');
    expect(hinted).toEqual(['report-weekly', '--week', '1', '--end', '2026-06-01', '--data-dir', month]);
    const rerun = await cli(hinted);
    expect(rerun.byId['decisions:window']!.status).toBe('pass');
    expect(rerun.byId['decisions:window']!.output).toContain(
      'for the week 2026-05-26 – 2026-06-01 (UTC days, by bar time)',
    );
  });

  it('measures the advisor weight clamp from the previous day and goes CRITICAL (exit 2) past 10 points in a day', async () => {
    using dir = tempDir();
    const all = copyOfMonth(dir.path);
    const day2 = all.filter((l) => l.includes('"bar_ts":"2026-05-02'));
    const day3 = all.filter((l) => l.includes('"bar_ts":"2026-05-03'));
    /** The two days re-chained, the advisor's trend_follower weight given per record. */
    const write = (weightOf: (day: 2 | 3, i: number, n: number) => number) => {
      let prev = '0'.repeat(64);
      const out = [
        ...day2.map((l, i) => [l, weightOf(2, i, day2.length)] as const),
        ...day3.map((l, i) => [l, weightOf(3, i, day3.length)] as const),
      ].map(([l, w]) => {
        const r = JSON.parse(l);
        r.rl_recommendation = {
          action: 'hold',
          confidence: 0.6,
          primary_agent: 'trend_follower',
          strategy_preferences: { trend_follower: w, scalper: 0.2 },
        };
        r.prev_hash = prev;
        const line = JSON.stringify(r);
        prev = new Bun.CryptoHasher('sha256').update(line).digest('hex');
        return line;
      });
      writeLog(dir.path, out);
    };
    // Day 2 ends at 0.20; day 3 opens already moved to 0.27 and ends at 0.12: 0.15 apart within the
    // day, but never more than 0.08 from where the day started, which is what the clamp limits.
    write((day, i, n) => (day === 2 ? 0.2 : i === 0 ? 0.27 : i === n - 1 ? 0.12 : 0.2));
    const within = await cli(['health-daily', '--date', '2026-05-03', '--data-dir', dir.path]);
    expect(within.byId['weighting:clamp']!.status).toBe('pass');
    expect(within.byId['weighting:clamp']!.observed).toBeCloseTo(0.08, 12); // measured, not rounded
    write((day, i, n) => (day === 2 ? 0.2 : i === n - 1 ? 0.35 : 0.2));
    const r = await cli(['health-daily', '--date', '2026-05-03', '--data-dir', dir.path]);
    expect(r.code).toBe(2);
    expect(r.byId['weighting:clamp']!.status).toBe('fail');
    expect(r.byId['decisions:chain']!.status).toBe('pass');
    expect((r.evidence.details as { overall_health: string }).overall_health).toBe('CRITICAL');
  });

  it('writes the weekly markdown with linked SVG charts, JUnit and Nagios outputs, and drift once last week exists', async () => {
    using dir = tempDir();
    copyOfMonth(dir.path);
    const junit = join(dir.path, 'weekly.xml');
    await atl(['report-weekly', '--week', '1', '--end', '2026-05-14', '--data-dir', dir.path]);
    const r = await atl([
      'report-weekly',
      '--week',
      '2',
      '--end',
      '2026-05-21',
      '--data-dir',
      dir.path,
      '--junit',
      junit,
      '--format',
      'nagios',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toStartWith('ATL REPORT_WEEKLY WARNING - ');
    const reports = join(dir.path, 'reports');
    const md = readFileSync(join(reports, 'weekly_shadow_summary_2026-05-21.md'), 'utf8');
    const json = JSON.parse(
      readFileSync(join(reports, 'weekly_shadow_report_2026-05-21.json'), 'utf8'),
    ) as Evidence;
    const details = json.details as {
      data_collection: { total_decisions: number };
      drift: { previous: { previous_week_ending: string } | null };
    };
    expect(md).toContain(`Decisions: **${details.data_collection.total_decisions}**`);
    expect(details.drift.previous?.previous_week_ending).toBe('2026-05-14');
    for (const link of md.matchAll(/!\[[^\]]*\]\(([^)]+\.svg)\)/g)) {
      const svg = readFileSync(join(reports, link[1]!), 'utf8');
      expect(svg).toStartWith('<svg');
      expect(() => new XMLParser().parse(svg)).not.toThrow();
    }
    // Read-only: the inputs are unchanged and SQLite left no -wal/-shm beside a ledger no engine has open.
    const ledger = join(dir.path, 'unified_trading', 'ledger.sqlite');
    expect(readdirSync(join(dir.path, 'unified_trading'))).toEqual(['ledger.sqlite']);
    const original = new Bun.CryptoHasher('sha256')
      .update(readFileSync(join(month, 'unified_trading', 'ledger.sqlite')))
      .digest('hex');
    expect(json.inputs.find((i) => i.path === ledger)?.sha256).toBe(original);
    const suite = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(junit, 'utf8')).testsuites
      .testsuite;
    expect(Number(suite['@_tests'])).toBe(json.checks.length);
    expect(addDays('2026-05-21', -7)).toBe('2026-05-14');
  }, 30_000);

  it('rejects bad dates and a missing or bad --week with 64', async () => {
    for (const args of [
      ['health-daily', '--date', '2026-02-30'],
      ['report-weekly'],
      ['report-weekly', '--week', '0'],
      ['report-weekly', '--week', '1', '--end', 'yesterday'],
    ]) {
      const r = await atl([...args, '--data-dir', month]);
      expect(r.code).toBe(64);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});

describe('the decision-log reader', () => {
  it('reads a log in two parallel halves exactly as in one pass, including a break across the seam', async () => {
    using dir = tempDir();
    const lines = copyOfMonth(dir.path);
    const half = Math.floor(readFileSync(LOG(dir.path)).length / 2);
    const ends: number[] = [];
    for (const l of lines) ends.push((ends.at(-1) ?? 0) + Buffer.byteLength(l) + 1);
    const seam = ends.findIndex((end) => end > half); // the line holding the middle byte
    lines[seam] = lines[seam]!.replace('"mode":"backtest"', '"mode":"backtest" ');
    lines[300] = lines[300]!.replace('"mode":"backtest"', '"mode":"backtest" ');
    writeLog(dir.path, [...lines, lines[10]!, 'not json']);
    const bar = (l: string) => l.slice(l.indexOf('"bar_ts":"') + 10, l.indexOf('"bar_ts":"') + 20);
    const window = { startDay: bar(lines[200]!), endDay: addDays(bar(lines[seam + 40]!), 1) };
    const run = async (parallelMinBytes: number) => {
      const ids: string[] = [];
      const result = await scanDecisionLog(LOG(dir.path), window, (r) => ids.push(r.decision_id), {
        recentLimit: 500,
        parallelMinBytes,
      });
      return { ids, ...result };
    };
    const one = await run(Number.POSITIVE_INFINITY);
    const two = await run(0);
    expect(two).toEqual(one);
    expect(one.integrity.chain.samples.map((s) => s.line)).toEqual([302, seam + 2]);
    expect(one.integrity.malformed.samples).toEqual([
      { line: lines.length + 2, problem: 'not a JSON object' },
    ]);
    expect(one.integrity.records_all_time).toBe(lines.length + 1);
  });
});
