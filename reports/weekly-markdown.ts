import { annualised, money, pct, pctOfFraction, ratio, signedMoney } from '../core/evidence/human.ts';
import type { Evidence } from '../core/schema/evidence.ts';
import { MIN_RATIO_DAYS } from './ledger-stats.ts';
import type { WeeklyReport } from './weekly.ts';

const yes = (b: boolean | null) => (b === null ? '—' : b ? '✓' : '✗');
/** Summed forward returns (fractions) in basis points, for people. */
const bps = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : `${n * 1e4 >= 0 ? '+' : ''}${(n * 1e4).toFixed(1)}`;
const cell = (v: string | number | null) =>
  v === null
    ? '—'
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : ratio(v, Math.abs(v) < 0.1 ? 4 : 2)
      : v.replace(/\|/g, '/');
/** A change of a fraction (win rate, block rate) in percentage points. */
const pointsChange = (n: number | null) =>
  n === null ? '—' : `${n >= 0 ? '+' : ''}${(n * 100).toFixed(1)} points`;
const icon = (c: Evidence['checks'][number]) =>
  c.skipped
    ? '➖'
    : c.status === 'pass'
      ? '✅'
      : c.status === 'warn'
        ? '⚠️'
        : c.status === 'unknown'
          ? '❔'
          : '❌';

function table(head: string[], rows: Array<Array<string | number>>): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `|${head.map(() => '---').join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ];
}

/** The weekly summary for people, rendered from the same object as the JSON, so they cannot disagree. */
export function renderWeeklyMarkdown(
  r: WeeklyReport,
  evidence: Evidence,
  charts: { equity: string; decisions: string },
): string {
  const t = r.data_collection.totals;
  const p = r.performance;
  const cf = r.counterfactual;
  const windowDays = (Date.parse(r.window.end) - Date.parse(r.window.start)) / 86_400_000;
  const lines = [
    `# Weekly Shadow Report — Week ${r.week_number}`,
    '',
    `Week ending **${r.week_ending}** (UTC days ${r.window.start.slice(0, 10)} … ${r.week_ending}, by bar time) · generated ${r.generated_at} · data mode **${r.data_mode}** · status **${evidence.status.toUpperCase()}** (exit ${evidence.exit_code})`,
    '',
    '## Summary',
    '',
    `- Decisions: **${t.decisions}** (${
      Object.entries(t.by_data_mode)
        .map(([m, n]) => `${m} ${n}`)
        .join(', ') || 'none'
    }); executed ${t.executed}, blocked ${t.blocked}`,
    `- Paper trades closed: ${p.trades.trades} (win rate ${pctOfFraction(p.trades.win_rate)}, profit factor ${ratio(p.trades.profit_factor)}), net P&L ${signedMoney(p.trades.net_pnl)} (quote)`,
    `- Overall edge positive: ${yes(r.overall_edge_positive)} · edge stable across regimes: ${yes(r.edge_stable_across_regimes)}`,
    '',
    '## Checks',
    '',
    ...evidence.checks.map(
      (c) => `- ${icon(c)} \`${c.id}\` ${c.output}${c.status !== 'pass' && c.hint ? ` — ${c.hint}` : ''}`,
    ),
    ...evidence.warnings.map((w) => `- ⚠️ ${w}`),
    '',
    '## Charts',
    '',
    `![Equity and drawdown](${charts.equity})`,
    '',
    `![Decisions and blocks by stage per day](${charts.decisions})`,
    '',
    '## Performance (paper ledger)',
    '',
    ...table(
      [
        'Sharpe (annualised)',
        'Sortino (annualised)',
        'Calmar (annualised)',
        'Profit factor (ratio)',
        'Win rate (%)',
        'Max drawdown (%)',
        'Return (%)',
        'Net P&L (quote)',
      ],
      [
        [
          annualised(p.sharpe, p.ratio_sample_days, MIN_RATIO_DAYS),
          annualised(p.sortino, p.ratio_sample_days, MIN_RATIO_DAYS),
          annualised(p.calmar, p.ratio_sample_days, MIN_RATIO_DAYS),
          ratio(p.trades.profit_factor),
          pctOfFraction(p.trades.win_rate),
          pct(p.max_drawdown_pct),
          pct(p.equity.return_pct, 2, true),
          signedMoney(p.trades.net_pnl),
        ],
      ],
    ),
    '',
    `Ratios from hourly equity returns, annualised over 8,760 hours, and shown only from ${MIN_RATIO_DAYS} days of equity (this curve spans ${ratio(p.ratio_sample_days, 1)}): a week is too short a sample to annualise.`,
    '',
    '## Per-symbol edge',
    '',
    ...table(
      [
        'Symbol',
        'Decisions (count)',
        'Trades (count)',
        'Net P&L (quote)',
        'Win rate (%)',
        'Profit factor (ratio)',
        'Advisor Δ (bps, summed)',
        'Edge+',
      ],
      r.symbol_edge.map((s) => [
        s.symbol,
        s.decisions,
        s.trades,
        signedMoney(s.net_pnl),
        pctOfFraction(s.win_rate),
        ratio(s.profit_factor),
        bps(s.advisor_delta),
        yes(s.edge_positive),
      ]),
    ),
    '',
    '## Per-regime edge',
    '',
    ...table(
      [
        'Regime',
        'Decisions (count)',
        'Trades (count)',
        'Net P&L (quote)',
        'Advisor Δ (bps, summed)',
        'Edge+',
      ],
      r.regime_edge.map((g) => [
        g.regime,
        g.decisions,
        g.trades,
        signedMoney(g.net_pnl),
        bps(g.advisor_delta),
        yes(g.edge_positive),
      ]),
    ),
    '',
    '## Costs',
    '',
    `Fees ${money(r.costs.fees)}, slippage ${money(r.costs.slippage)}, spread ${money(r.costs.spread)}, total ${money(r.costs.total)} (quote) over ${r.costs.fills} fills (avg ${money(r.costs.avg_cost_per_fill)} per fill). Cost share of gross turnover (costs / notional of every fill, ${money(r.costs.gross_turnover)} quote): ${pct(r.costs.cost_pct_of_turnover, 3)}. Costs / gross profit of the winning trades: ${r.costs.cost_pct_of_gross_profit === null ? '— (no winning trade)' : pct(r.costs.cost_pct_of_gross_profit, 1)}.`,
    '',
    '## Shadow advisor (counterfactual)',
    '',
    ...(cf.available
      ? [
          `${cf.evaluated} advised decisions with an outcome at ${cf.horizon_bars} bar(s): agreement ${pctOfFraction(cf.agreement_rate)}, advisor hit rate ${pctOfFraction(cf.advisor_hit_rate)}, actual hit rate ${pctOfFraction(cf.actual_hit_rate)}, advantage ${ratio(cf.delta_mean_bps, 1)} bps per decision (${bps(cf.delta_sum)} bps summed), incremental Sharpe ${annualised(cf.incremental_sharpe, windowDays, MIN_RATIO_DAYS)}, drawdown of the advantage ${bps(cf.max_drawdown)} bps.`,
          '',
          ...table(
            [
              'Confidence ≥ (0–1)',
              'Decisions (count)',
              'Advisor mean (bps)',
              'Advantage (bps)',
              'Hit rate (%)',
              'Incr. Sharpe (annualised)',
            ],
            cf.confidence_sweep.rows.map((s) => [
              s.threshold,
              s.decisions,
              ratio(s.advisor_mean_bps, 1),
              ratio(s.delta_mean_bps, 1),
              pctOfFraction(s.hit_rate),
              annualised(s.incremental_sharpe, windowDays, MIN_RATIO_DAYS),
            ]),
          ),
          '',
          `Best threshold: ${cf.confidence_sweep.best_threshold ?? '— (fewer than 30 decisions at every threshold)'}; safe activation threshold: ${cf.confidence_sweep.safe_threshold ?? '—'}.`,
        ]
      : [`No data: ${cf.reason}. The advisor is not evaluated, and its gates below are not met.`]),
    '',
    '## Drift against last week',
    '',
    r.drift.previous
      ? `Against week ending ${r.drift.previous.previous_week_ending}: Sharpe ${cell(r.drift.previous.sharpe_change)}, win rate ${pointsChange(r.drift.previous.win_rate_change)}, net P&L ${signedMoney(r.drift.previous.net_pnl_change)} (quote), advisor Δ ${bps(r.drift.previous.advisor_delta_change)} bps, block rate ${pointsChange(r.drift.previous.block_rate_change)}.${r.drift.degraded.length > 0 ? ` **Degraded:** ${r.drift.degraded.join('; ')}.` : ''}`
      : 'No report for the previous week: no drift comparison.',
    '',
    `## Promotion gate progress (${r.promotion.met}/${r.promotion.total} met)`,
    '',
    ...table(
      ['Gate', 'Required', 'Current', 'Met'],
      r.promotion.gates.map((g) => [g.gate, g.required, cell(g.current), yes(g.met)]),
    ),
    '',
    r.promotion.met === r.promotion.total ? 'Status: ready for human review.' : 'Status: **BLOCKED**.',
    '',
  ];
  return lines.join('\n');
}
