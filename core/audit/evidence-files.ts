import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { excerpt } from '../errors.ts';
import { type CheckStatus, exitCodeForStatus, worstStatus } from '../exit-codes.ts';
import { validateContract } from '../schema/ajv.ts';

export type EvidenceFault = { file: string; problem: string };
export type EvidenceFacts = { dir: string; files: number; faults: EvidenceFault[] };

const RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, unknown: 2, fail: 3 };

/** The JSON files under `reports/`, recursively (charts and markdown are not evidence). */
function jsonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...jsonFiles(path));
    else if (entry.isFile() && entry.name.endsWith('.json')) out.push(path);
  }
  return out;
}

/**
 * Whether a file under `reports/` is named as the verbs name their evidence: the daily and weekly
 * reports at the top, and `<verb>/<verb>_<time>.json` or `<verb>/latest.json` below it.
 */
function evidenceName(file: string): boolean {
  const parts = file.split(/[\\/]/);
  const name = parts.at(-1)!;
  if (parts.length === 1) return /^(daily_shadow_health|weekly_shadow_report)_.+\.json$/.test(name);
  const dir = parts.at(-2)!;
  return name === 'latest.json' || (name.startsWith(`${dir}_`) && name.endsWith('.json'));
}

/**
 * The evidence envelopes' own integrity fields: each validates against the schema, its
 * `exit_code` follows from its `status`, its `status` is no better than its worst check, it
 * finished after it started, and each verb's `latest.json` is one of the runs beside it.
 */
export function auditEvidenceFiles(reportsDir: string): EvidenceFacts {
  const facts: EvidenceFacts = { dir: reportsDir, files: 0, faults: [] };
  if (!existsSync(reportsDir) || !statSync(reportsDir).isDirectory()) return facts;
  const runIds = new Map<string, Set<string>>(); // directory → run ids of its timestamped files
  const latest: Array<{ file: string; runId: string }> = [];
  for (const path of jsonFiles(reportsDir)) {
    const file = relative(reportsDir, path);
    const fault = (problem: string) => facts.faults.push({ file, problem });
    let value: unknown;
    try {
      value = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      fault(`not valid JSON (${excerpt((err as Error).message, 120)})`);
      continue;
    }
    const envelope = typeof value === 'object' && value !== null && 'verb' in value && 'checks' in value;
    // Other JSON (a chart's data, an operator's notes) is not evidence, unless it has an evidence file's name.
    if (!envelope) {
      if (evidenceName(file))
        fault('is not an evidence envelope (an object with verb and checks), though named as one');
      continue;
    }
    facts.files++;
    const checked = validateContract('Evidence', value);
    if (!checked.ok) {
      fault(`violates the evidence schema: ${checked.errors.slice(0, 2).join('; ')}`);
      continue;
    }
    const ev = checked.value;
    if (ev.exit_code !== exitCodeForStatus(ev.status))
      fault(`exit_code ${ev.exit_code} does not follow from status ${ev.status}`);
    const worst = worstStatus(ev.checks.map((c) => c.status));
    if (ev.checks.length > 0 && RANK[ev.status] < RANK[worst])
      fault(`status ${ev.status} is better than its worst check (${worst})`);
    if (ev.finished_at < ev.started_at)
      fault(`finished_at ${ev.finished_at} is before started_at ${ev.started_at}`);
    if (basename(path) === 'latest.json') latest.push({ file, runId: ev.run_id });
    else {
      const ids = runIds.get(dirname(path)) ?? new Set<string>();
      ids.add(ev.run_id);
      runIds.set(dirname(path), ids);
    }
  }
  for (const l of latest) {
    if (!runIds.get(dirname(join(reportsDir, l.file)))?.has(l.runId))
      facts.faults.push({
        file: l.file,
        problem: `run ${l.runId} matches none of the evidence files beside it`,
      });
  }
  return facts;
}
