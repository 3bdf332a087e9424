import { buildEvidence } from '../core/evidence/envelope.ts';
import { worstStatus } from '../core/exit-codes.ts';
import type { DataPaths } from '../core/paths.ts';
import type { Evidence } from '../core/schema/evidence.ts';
import { computeDailyHealth, type DailyHealth } from './daily.ts';
import { integrityWarnings } from './integrity.ts';

const HEALTH: Record<Evidence['status'], string> = {
  pass: 'HEALTHY',
  warn: 'WARNING',
  fail: 'CRITICAL',
  unknown: 'UNKNOWN',
};

export const dailyReportPath = (paths: DataPaths, date: string) =>
  `${paths.reportsDir}/daily_shadow_health_${date}.json`;

/** The daily health evidence: the envelope's `details` is the report, its status the worst check (HEALTHY 0, WARNING 1, CRITICAL 2). */
export async function runHealthDaily(paths: DataPaths, date: string, now = new Date()): Promise<Evidence> {
  const { report, checks } = await computeDailyHealth(paths, date, now);
  const overall = HEALTH[worstStatus(checks.map((c) => c.status))];
  return buildEvidence({
    verb: 'health-daily',
    startedAt: now,
    checks,
    warnings: integrityWarnings(report.log),
    inputs: [paths.decisions, paths.heartbeat],
    details: { ...report, overall_health: overall },
  });
}

export function renderDailyHuman(e: Evidence, files: string[]): string {
  const d = e.details as DailyHealth & { overall_health: string };
  const t = d.totals;
  const lines = [
    `DAILY SHADOW HEALTH ${d.date} (UTC, by bar time) — ${d.overall_health} (exit ${e.exit_code})`,
    `  decisions   ${t.decisions} (${
      Object.entries(t.by_data_mode)
        .map(([m, n]) => `${m} ${n}`)
        .join(', ') || 'none'
    }), executed ${t.executed}, blocked ${t.blocked}`,
    `  costs       fees ${t.costs.fees.toFixed(2)}, slippage ${t.costs.slippage.toFixed(2)}; realised P&L ${t.realized_pnl.toFixed(2)}`,
    `  last ${d.recent_blocks.decisions} decisions: top blocking ${d.recent_blocks.top_reasons.map((r) => `${r.reason} (${r.count})`).join(', ') || 'none'}`,
    ...e.checks
      .filter((c) => c.status !== 'pass')
      .map((c) => `  [${c.status.toUpperCase()}] ${c.id}: ${c.output} — ${c.hint}`),
    ...e.warnings.map((w) => `  warning: ${w}`),
    ...files.map((f, i) => `  ${i === 0 ? 'evidence' : 'wrote'}: ${f}`),
  ];
  return `${lines.join('\n')}\n`;
}
