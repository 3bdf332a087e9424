import type { Evidence } from '../core/schema/evidence.ts';
import type { ParityDifference } from './parity.ts';

const MARK: Record<string, string> = { pass: 'pass', warn: 'WARN', fail: 'FAIL', unknown: 'UNKNOWN' };

/** One cell: what the first differing part was live → replayed, short enough for a table. */
function change(d: ParityDifference): string {
  if (d.kind === 'only_live') return 'decided live, not in the replay';
  if (d.kind === 'only_replay') return 'decided in the replay, not live';
  const short = (v: unknown) => {
    if (Array.isArray(v) && v.every((m) => m && typeof m === 'object' && 'model_id' in m))
      return v.map((m) => `${m.model_id}@${String(m.sha256).slice(0, 8)}:${m.status}`).join(' ') || '(none)';
    if (v && typeof v === 'object' && 'verdict' in v) {
      const g = v as { verdict: string; reason: string | null };
      return `${g.verdict}${g.reason ? ` ${g.reason}` : ''}`;
    }
    const text = JSON.stringify(v) ?? 'null';
    return text.length > 60 ? `${text.slice(0, 57)}...` : text;
  };
  return `${short(d.live)}  →  ${short(d.replay)}`;
}

/** The human view: checks, then a table of the first differing decisions and what was excluded. */
export function renderParityHuman(e: Evidence, files: string[]): string {
  const details = (e.details ?? {}) as {
    differences?: ParityDifference[];
    excluded?: Array<{ field: string }>;
  };
  const lines = [
    `atl parity — ${e.status === 'pass' ? 'IDENTICAL' : e.status === 'fail' ? 'DIVERGED' : 'UNKNOWN'} (exit ${e.exit_code})`,
    ...e.checks.map(
      (c) =>
        `  [${MARK[c.status]!.padEnd(7)}] ${c.id.padEnd(16)} ${c.output}${c.status !== 'pass' && c.hint ? ` — ${c.hint}` : ''}`,
    ),
  ];
  const diffs = details.differences ?? [];
  if (diffs.length > 0) {
    lines.push('', '  first differences (live → replay):');
    const w = Math.max(...diffs.map((d) => d.symbol.length), 6);
    const s = Math.max(...diffs.map((d) => d.first_stage.length), 5);
    lines.push(
      `  ${'symbol'.padEnd(w)}  ${'bar close'.padEnd(24)}  ${'stage'.padEnd(s)}  ${'kind'.padEnd(11)}  change`,
    );
    for (const d of diffs)
      lines.push(
        `  ${d.symbol.padEnd(w)}  ${d.bar_ts.padEnd(24)}  ${d.first_stage.padEnd(s)}  ${d.kind.padEnd(11)}  ${change(d)}`,
      );
  }
  if (details.excluded) lines.push('', `  not compared: ${details.excluded.map((x) => x.field).join(', ')}`);
  lines.push(
    ...e.warnings.map((w) => `  warning: ${w}`),
    ...files.map((f, i) => `  ${i === 0 ? 'evidence' : 'wrote'}: ${f}`),
  );
  return `${lines.join('\n')}\n`;
}
