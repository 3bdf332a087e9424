import type { Evidence } from '../core/schema/evidence.ts';
import type { WeeklyReport } from './weekly.ts';

const fmt = (n: number | null | undefined, digits = 2) =>
  n === null || n === undefined ? '—' : n.toFixed(digits);
const pct = (n: number | null | undefined) =>
  n === null || n === undefined ? '—' : `${(n * 100).toFixed(1)}%`;
const yes = (b: boolean | null) => (b === null ? '—' : b ? '✓' : '✗');
const cell = (v: string | number | null) =>
  v === null
    ? '—'
    : typeof v === 'number'
      ? Number.isInteger(v)
        ? String(v)
        : fmt(v, 4)
      : v.replace(/\|/g, '/');

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
    `- Paper trades closed: ${p.trades.trades} (win rate ${pct(p.trades.win_rate)}, profit factor ${fmt(p.trades.profit_factor)}), net P&L ${fmt(p.trades.net_pnl)}`,
    `- Overall edge positive: ${yes(r.overall_edge_positive)} · edge stable across regimes: ${yes(r.edge_stable_across_regimes)}`,
    '',
    '## Checks',
    '',
    ...evidence.checks.map(
      (c) =>
        `- ${c.skipped ? '➖' : c.status === 'pass' ? '✅' : c.status === 'warn' ? '⚠️' : '❌'} \`${c.id}\` ${c.output}${c.status !== 'pass' && c.hint ? ` — ${c.hint}` : ''}`,
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
      ['Sharpe', 'Sortino', 'Calmar', 'Profit factor', 'Win rate', 'Max drawdown', 'Return'],
      [
        [
          fmt(p.sharpe),
          fmt(p.sortino),
          fmt(p.calmar),
          fmt(p.trades.profit_factor),
          pct(p.trades.win_rate),
          `${fmt(p.max_drawdown_pct)}%`,
          `${fmt(p.equity.return_pct)}%`,
        ],
      ],
    ),
    '',
    'Ratios from hourly equity returns, annualised over 8,760 hours; a week is a short sample.',
    '',
    '## Per-symbol edge',
    '',
    ...table(
      ['Symbol', 'Decisions', 'Trades', 'Net P&L', 'Win rate', 'Profit factor', 'Advisor Δ', 'Edge+'],
      r.symbol_edge.map((s) => [
        s.symbol,
        s.decisions,
        s.trades,
        fmt(s.net_pnl),
        pct(s.win_rate),
        fmt(s.profit_factor),
        cell(s.advisor_delta),
        yes(s.edge_positive),
      ]),
    ),
    '',
    '## Per-regime edge',
    '',
    ...table(
      ['Regime', 'Decisions', 'Trades', 'Net P&L', 'Advisor Δ', 'Edge+'],
      r.regime_edge.map((g) => [
        g.regime,
        g.decisions,
        g.trades,
        fmt(g.net_pnl),
        cell(g.advisor_delta),
        yes(g.edge_positive),
      ]),
    ),
    '',
    '## Costs',
    '',
    `Fees ${fmt(r.costs.fees)}, slippage ${fmt(r.costs.slippage)}, spread ${fmt(r.costs.spread)}, total ${fmt(r.costs.total)} over ${r.costs.fills} fills (avg ${fmt(r.costs.avg_cost_per_fill)} per fill); ${r.costs.cost_pct_of_gross_pnl === null ? 'no closed-trade P&L to compare with' : `${fmt(r.costs.cost_pct_of_gross_pnl)}% of gross closed-trade P&L`}.`,
    '',
    '## Shadow advisor (counterfactual)',
    '',
    ...(cf.available
      ? [
          `${cf.evaluated} advised decisions with an outcome at ${cf.horizon_bars} bar(s): agreement ${pct(cf.agreement_rate)}, advisor hit rate ${pct(cf.advisor_hit_rate)}, actual hit rate ${pct(cf.actual_hit_rate)}, advantage ${fmt(cf.delta_mean_bps)} bps per decision (sum ${fmt(cf.delta_sum, 4)}), incremental Sharpe ${fmt(cf.incremental_sharpe)}, drawdown of the advantage ${fmt(cf.max_drawdown, 4)}.`,
          '',
          ...table(
            [
              'Confidence ≥',
              'Decisions',
              'Advisor mean (bps)',
              'Advantage (bps)',
              'Hit rate',
              'Incr. Sharpe',
            ],
            cf.confidence_sweep.rows.map((s) => [
              s.threshold,
              s.decisions,
              fmt(s.advisor_mean_bps),
              fmt(s.delta_mean_bps),
              pct(s.hit_rate),
              fmt(s.incremental_sharpe),
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
      ? `Against week ending ${r.drift.previous.previous_week_ending}: Sharpe ${cell(r.drift.previous.sharpe_change)}, win rate ${cell(r.drift.previous.win_rate_change)}, net P&L ${cell(r.drift.previous.net_pnl_change)}, advisor Δ ${cell(r.drift.previous.advisor_delta_change)}, block rate ${cell(r.drift.previous.block_rate_change)}.${r.drift.degraded.length > 0 ? ` **Degraded:** ${r.drift.degraded.join('; ')}.` : ''}`
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
