import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { exitCodeForStatus } from '../exit-codes.ts';
import { writeFileAtomic } from '../fsx/atomic.ts';
import type { Evidence } from '../schema/evidence.ts';

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Plain decimal (the exposition format accepts exponents, but Nagios-minded readers and diffs do not). */
const num = (n: number) =>
  Number.isInteger(n) ? String(n) : n.toFixed(6).replace(/0+$/, '').replace(/\.$/, '');

const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(',')}}`;

export function promFileFor(promDir: string, verb: string): string {
  return join(promDir, `atl_${verb.replace(/[^a-zA-Z0-9_]/g, '_')}.prom`);
}

/** The last-success time a previous textfile recorded, carried over so a failing run never erases it. */
function previousLastSuccess(path: string): number | null {
  if (!existsSync(path)) return null;
  const m = /^atl_last_success_timestamp_seconds\{[^}]*\} ([0-9.]+)$/m.exec(readFileSync(path, 'utf8'));
  return m ? Number(m[1]) : null;
}

/**
 * Prometheus textfile (node_exporter textfile collector) for one verb run: no client-side
 * timestamps (the collector rejects them), run and last-success times so staleness can be
 * alerted on, one status gauge per check and each numeric observation.
 */
export function renderPrometheus(evidence: Evidence, lastSuccessS: number | null): string {
  const verb = { verb: evidence.verb };
  const finishedS = Date.parse(evidence.finished_at) / 1000;
  const lastSuccess = evidence.status === 'pass' ? finishedS : lastSuccessS;
  const out: string[] = [];
  const family = (name: string, help: string, rows: Array<[Record<string, string>, number]>) => {
    if (rows.length === 0) return;
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
    for (const [l, v] of rows) out.push(`${name}${labels(l)} ${num(v)}`);
  };
  family('atl_exit_code', 'Exit code of the last run of the verb (SPEC §6).', [[verb, evidence.exit_code]]);
  family('atl_status', 'Overall status of the last run: 0 pass, 1 warn, 2 fail, 3 unknown.', [
    [verb, exitCodeForStatus(evidence.status)],
  ]);
  family('atl_last_run_timestamp_seconds', 'When the verb last finished (Unix seconds).', [
    [verb, finishedS],
  ]);
  family(
    'atl_last_success_timestamp_seconds',
    'When the verb last finished with status pass (Unix seconds).',
    lastSuccess === null ? [] : [[verb, lastSuccess]],
  );
  family(
    'atl_check_status',
    'Status of each check: 0 pass, 1 warn, 2 fail, 3 unknown.',
    evidence.checks.map((c) => [{ ...verb, check: c.id }, exitCodeForStatus(c.status)]),
  );
  family(
    'atl_check_observed',
    'Numeric value each check observed, in the unit of its label.',
    evidence.checks
      .filter((c) => typeof c.observed === 'number' && Number.isFinite(c.observed))
      .map((c) => [{ ...verb, check: c.id, unit: c.unit ?? '' }, c.observed as number]),
  );
  return `${out.join('\n')}\n`;
}

/** Write `<dir>/atl_<verb>.prom` atomically (temp file in the same directory, then rename). */
export function writePrometheusTextfile(promDir: string, evidence: Evidence): string {
  const path = promFileFor(promDir, evidence.verb);
  writeFileAtomic(path, renderPrometheus(evidence, previousLastSuccess(path)));
  return path;
}
