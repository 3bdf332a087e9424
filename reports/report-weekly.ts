import { dirname, join } from 'node:path';
import { unknownError } from '../core/errors.ts';
import { buildEvidence, check, skippedCheck } from '../core/evidence/envelope.ts';
import { annualised, money, pct, pctOfFraction, ratio, signedMoney } from '../core/evidence/human.ts';
import { writeFileAtomic } from '../core/fsx/atomic.ts';
import type { DataPaths } from '../core/paths.ts';
import type { Check, Evidence } from '../core/schema/evidence.ts';
import { readStatus } from '../core/status.ts';
import { decisionsChartSpec, equityChartSpec, renderSvg } from './charts.ts';
import { integrityChecks, integrityWarnings, paperLiveCheck, windowCheck } from './integrity.ts';
import { MIN_RATIO_DAYS } from './ledger-stats.ts';
import { computeWeekly, type WeeklyReport, weeklyReportName } from './weekly.ts';
import { renderWeeklyMarkdown } from './weekly-markdown.ts';
import { addDays } from './windows.ts';

const COST_SHARE_WARN_PCT = 50;

function weeklyChecks(r: WeeklyReport): Check[] {
  const t = r.data_collection.totals;
  const checks = [
    windowCheck(
      r.log,
      t.decisions,
      t.executed,
      t.blocked,
      `the week ${r.window.start.slice(0, 10)} – ${r.week_ending} (UTC days, by bar time)`,
      (day) =>
        `npx atl report-weekly --week ${r.week_number} --end ${day} --data-dir ${dirname(dirname(r.log.path))}`,
    ),
    ...integrityChecks(r.log),
  ];
  const paperLive = paperLiveCheck(t, 'this week');
  if (paperLive) checks.push(paperLive);
  const cf = r.counterfactual;
  if (!cf.available)
    checks.push(
      check({
        id: 'advisor:counterfactual',
        status: 'warn',
        output: `no data: ${cf.reason}`,
        hint: 'the shadow advisor is judged only on recorded outcomes (rl/decision_outcomes.jsonl); without them its gates stay unmet',
      }),
    );
  else {
    // A pass means the advisor would have done better, not merely that it could be evaluated.
    const ahead = (cf.delta_mean_bps ?? 0) > 0;
    checks.push(
      check({
        id: 'advisor:counterfactual',
        status: ahead ? 'pass' : 'warn',
        observed: cf.delta_mean_bps,
        unit: 'bps',
        thresholds: { min_exclusive: 0 },
        output: `${cf.evaluated} advised decisions evaluated at ${cf.horizon_bars} bar(s): advantage ${ratio(cf.delta_mean_bps)} bps per decision${ahead ? '' : ' (the advisor would not have done better)'}`,
        hint: ahead ? null : 'keep the advisor in shadow; its advice does not beat the engine yet',
      }),
    );
  }
  const p = r.performance;
  if (!p.available)
    checks.push(
      check({
        id: 'ledger:performance',
        status: 'warn',
        output: `no paper-trading performance: ${p.reason}`,
        hint: 'the ledger is unified_trading/ledger.sqlite under the data root',
      }),
    );
  else {
    // Passes on its merits: money made (or none lost) over the week, not a readable ledger.
    const t = p.trades;
    const gained = t.net_pnl >= 0;
    checks.push(
      check({
        id: 'ledger:performance',
        status: gained ? 'pass' : 'warn',
        observed: t.net_pnl,
        unit: 'quote',
        thresholds: { min: 0 },
        output: `${t.trades} trades closed, net P&L ${signedMoney(t.net_pnl)} (quote), win rate ${pctOfFraction(t.win_rate)}, profit factor ${ratio(t.profit_factor)}, max drawdown ${pct(p.max_drawdown_pct)}, Sharpe ${annualised(p.sharpe, p.ratio_sample_days, MIN_RATIO_DAYS)}`,
        hint: gained
          ? null
          : 'the paper strategy lost money this week: read the per-symbol and per-regime edge before trusting it',
      }),
    );
  }
  const share = r.costs.cost_pct_of_gross_profit;
  if (share !== null && share > COST_SHARE_WARN_PCT) {
    checks.push(
      check({
        id: 'costs:share',
        status: 'warn',
        observed: share,
        unit: 'percent',
        thresholds: { warn: COST_SHARE_WARN_PCT },
        output: `costs (fees, slippage, spread) were ${pct(share, 1)} of the winning trades' gross profit (${pct(r.costs.cost_pct_of_turnover, 3)} of gross turnover ${money(r.costs.gross_turnover)} quote)`,
        hint: "costs eat the edge: raise the turnover governor's EV/cost ratio or trade less often",
      }),
    );
  }
  if (!r.drift.previous)
    checks.push(
      skippedCheck(
        'drift:previous-week',
        `no report for the previous week (ending ${addDays(r.week_ending, -7)})`,
      ),
    );
  else if (r.drift.degraded.length > 0)
    checks.push(
      check({
        id: 'drift:previous-week',
        status: 'warn',
        observed: r.drift.previous,
        output: `degraded against the week ending ${r.drift.previous.previous_week_ending}: ${r.drift.degraded.join('; ')}`,
        hint: 'compare the regime mix and block reasons of both weeks before trusting this one',
      }),
    );
  else
    checks.push(
      check({
        id: 'drift:previous-week',
        status: 'pass',
        observed: r.drift.previous,
        output: `no degradation against the week ending ${r.drift.previous.previous_week_ending}`,
      }),
    );
  const pr = r.promotion;
  const unmet = pr.gates.filter((g) => !g.met).map((g) => g.gate);
  if (unmet.length > 0)
    checks.push(
      check({
        id: 'promotion:gates',
        status: 'warn',
        observed: pr.met,
        unit: 'count',
        thresholds: { required: pr.total },
        output: `promotion BLOCKED: ${pr.met}/${pr.total} gates met (unmet: ${unmet.join(', ')})`,
        hint: 'keep collecting paper-live evidence; `npx atl check-transition` decides promotions',
      }),
    );
  else
    checks.push(
      check({
        id: 'promotion:gates',
        status: 'pass',
        observed: pr.met,
        unit: 'count',
        output: `all ${pr.total} promotion gates met: ready for human review`,
      }),
    );
  return checks;
}

export type WeeklyOutput = { evidence: Evidence; reportPath: string; markdownPath: string; charts: string[] };

/**
 * `atl report-weekly`: compute the week once, judge it, and write the evidence JSON, the
 * markdown summary and its two SVG charts (beside it, linked relatively) under reports/.
 */
export async function runReportWeekly(
  paths: DataPaths,
  week: number,
  endDay: string,
  now = new Date(),
): Promise<WeeklyOutput> {
  const report = await computeWeekly(paths, week, endDay, now);
  Bun.gc(true); // drop the scan's garbage before the charting library loads: peak RSS stays within budget
  const checks = weeklyChecks(report);
  const evidence = buildEvidence({
    verb: 'report-weekly',
    startedAt: now,
    checks,
    warnings: integrityWarnings(report.log),
    inputs: [paths.decisions, paths.outcomes, paths.ledger],
    details: report,
  });
  const names = { equity: `weekly_equity_${endDay}.svg`, decisions: `weekly_decisions_${endDay}.svg` };
  const [equitySvg, decisionsSvg] = await Promise.all([
    renderSvg(equityChartSpec(report, readStatus(paths).state?.initial_capital ?? null)),
    renderSvg(decisionsChartSpec(report)),
  ]);
  const charts = [join(paths.reportsDir, names.equity), join(paths.reportsDir, names.decisions)];
  const markdownPath = join(paths.reportsDir, `weekly_shadow_summary_${endDay}.md`);
  try {
    writeFileAtomic(charts[0]!, equitySvg);
    writeFileAtomic(charts[1]!, decisionsSvg);
    writeFileAtomic(markdownPath, renderWeeklyMarkdown(report, evidence, names));
  } catch (err) {
    throw unknownError(
      `cannot write the weekly summary under ${paths.reportsDir}: ${(err as Error).message}`,
      'check the directory is writable and the disk is not full',
      err,
    );
  }
  return { evidence, reportPath: join(paths.reportsDir, weeklyReportName(endDay)), markdownPath, charts };
}

export function renderWeeklyHuman(out: WeeklyOutput, files: string[]): string {
  const e = out.evidence;
  const r = e.details as WeeklyReport;
  const t = r.data_collection.totals;
  return [
    `WEEKLY SHADOW REPORT week ${r.week_number} ending ${r.week_ending} — ${e.status.toUpperCase()} (exit ${e.exit_code})`,
    `  decisions   ${t.decisions} (${r.data_mode}), executed ${t.executed}, blocked ${t.blocked}`,
    `  paper       ${r.performance.trades.trades} trades, net P&L ${signedMoney(r.performance.trades.net_pnl)} quote, Sharpe ${annualised(r.performance.sharpe, r.performance.ratio_sample_days, MIN_RATIO_DAYS)}, max drawdown ${pct(r.performance.max_drawdown_pct)}`,
    `  promotion   ${r.promotion.met}/${r.promotion.total} gates met`,
    ...e.checks
      .filter((c) => c.status !== 'pass')
      .map((c) => `  [${c.status.toUpperCase()}] ${c.id}: ${c.output}`),
    ...e.warnings.map((w) => `  warning: ${w}`),
    ...files.map((f, i) => `  ${i === 0 ? 'evidence' : 'wrote'}: ${f}`),
    `  summary: ${out.markdownPath}`,
    ...out.charts.map((c) => `  chart: ${c}`),
  ]
    .join('\n')
    .concat('\n');
}
