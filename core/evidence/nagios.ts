import type { CheckStatus } from '../exit-codes.ts';
import type { Check, Evidence } from '../schema/evidence.ts';

const NAGIOS_STATE: Record<CheckStatus, string> = {
  pass: 'OK',
  warn: 'WARNING',
  fail: 'CRITICAL',
  unknown: 'UNKNOWN',
};
const RANK: Record<CheckStatus, number> = { fail: 0, unknown: 1, warn: 2, pass: 3 };

// Nagios units: s, %, B, c (counter); anything else is reported without a unit.
const UOM: Record<string, string> = {
  s: 's',
  seconds: 's',
  ms: 'ms',
  percent: '%',
  '%': '%',
  bytes: 'B',
  B: 'B',
};

/** The plugin line may not contain `|` (it starts perfdata) nor newlines. */
const oneLine = (text: string) => text.replace(/[\r\n]+/g, ' ').replace(/\|/g, '/');

/** Labels: no `=` and no `'` (guideline), quoted because ours contain `:`. */
const label = (id: string) => `'${id.replace(/[='"]/g, '_')}'`;

const plain = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toFixed(6))));

function threshold(c: Check, key: 'warn' | 'crit'): string {
  const v = c.thresholds?.[key];
  return typeof v === 'number' && Number.isFinite(v) ? plain(v) : '';
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

/**
 * A number observed is one value; an object observed contributes its `*_ms` timings (the
 * ssh-check ladder's connect and session times), labelled `<check>:<field>`, in ms.
 */
function perfdata(checks: Check[]): string {
  const values: string[] = [];
  for (const c of checks) {
    if (finite(c.observed)) {
      values.push(
        `${label(c.id)}=${plain(c.observed)}${UOM[c.unit ?? ''] ?? ''};${threshold(c, 'warn')};${threshold(c, 'crit')};;`,
      );
    } else if (c.observed && typeof c.observed === 'object' && !Array.isArray(c.observed)) {
      for (const [key, v] of Object.entries(c.observed))
        if (key.endsWith('_ms') && finite(v))
          values.push(`${label(`${c.id}:${key.slice(0, -3)}`)}=${plain(v)}ms;;;;`);
    }
  }
  return values.join(' ');
}

/** `12 OK` or, when some checks did not apply, `9 OK, 3 skipped`: a skip is not a pass on its merits. */
function allOk(checks: Check[]): string {
  const skipped = checks.filter((c) => c.skipped).length;
  const ok = checks.length - skipped;
  return skipped > 0 ? `${ok} OK, ${skipped} skipped` : `${ok} checks OK`;
}

/**
 * One Nagios plugin line: `ATL VERIFY CRITICAL - <worst check: output> (+N more) | perfdata`.
 * The state word follows the evidence status, so the line and the exit code never disagree.
 */
export function renderNagios(evidence: Evidence): string {
  const verb = evidence.verb.toUpperCase().replace(/-/g, '_');
  const bad = evidence.checks
    .filter((c) => c.status !== 'pass')
    .sort((a, b) => RANK[a.status] - RANK[b.status]);
  const first = bad[0];
  const text = first
    ? `${first.id}: ${first.output}${bad.length > 1 ? ` (+${bad.length - 1} more not OK)` : ''}`
    : allOk(evidence.checks);
  const perf = perfdata(evidence.checks);
  return `ATL ${verb} ${NAGIOS_STATE[evidence.status]} - ${oneLine(text)}${perf ? ` | ${perf}` : ''}`;
}
