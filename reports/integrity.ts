import { check } from '../core/evidence/envelope.ts';
import type { Check } from '../core/schema/evidence.ts';
import type { Totals } from './day-totals.ts';
import type { LogIntegrity } from './decision-scan.ts';
import { firstBarDay } from './windows.ts';

const sample = (s: Array<{ line: number; problem: string }>) =>
  s
    .slice(0, 3)
    .map((p) => `line ${p.line}: ${p.problem}`)
    .join('; ');

/** The decision log's integrity as checks: a chain break fails (tampering or loss); corrupt lines and duplicates warn. */
export function integrityChecks(log: LogIntegrity): Check[] {
  if (!log.exists) return [];
  const checks: Check[] = [];
  const c = log.chain;
  if (c.breaks > 0) {
    checks.push(
      check({
        id: 'decisions:chain',
        status: 'fail',
        observed: c.breaks,
        unit: 'count',
        output: `${c.breaks} hash-chain break(s) in ${c.links_checked} links checked: ${sample(c.samples)}`,
        hint: 'a record was edited, deleted or inserted after it was written: compare with backups; do not use this window as evidence',
      }),
    );
  } else {
    checks.push(
      check({
        id: 'decisions:chain',
        status: 'pass',
        observed: 0,
        unit: 'count',
        output: `hash chain intact over ${c.links_checked} links`,
      }),
    );
  }
  if (log.torn_tail) {
    checks.push(
      check({
        id: 'decisions:torn-tail',
        status: 'warn',
        observed: log.torn_tail.bytes,
        unit: 'bytes',
        output: `unterminated final fragment (${log.torn_tail.bytes} bytes at byte ${log.torn_tail.offset}) skipped`,
        hint: 'a crash cut the last append; the engine moves the fragment to a .torn-* sidecar on its next start',
      }),
    );
  }
  const m = log.malformed;
  if (m.count > 0 && log.records_all_time === 0) {
    // Nothing reads: the window cannot be judged from this log at all.
    checks.push(
      check({
        id: 'decisions:malformed',
        status: 'unknown',
        observed: m.count,
        unit: 'count',
        output: `none of the log's lines reads as a decision record (${m.count} malformed): ${sample(m.samples)}`,
        hint: 'the log is damaged or not a decision log: restore it from a backup; `npx atl audit` names the lines',
      }),
    );
  } else if (m.count > 0) {
    checks.push(
      check({
        id: 'decisions:malformed',
        status: 'warn',
        observed: m.count,
        unit: 'count',
        output: `${m.count} malformed line(s): ${sample(m.samples)}`,
        hint: 'corrupt lines are reported, never silently dropped: find what else writes to the decision log',
      }),
    );
  }
  if (log.duplicates_in_window > 0) {
    checks.push(
      check({
        id: 'decisions:duplicates',
        status: 'warn',
        observed: log.duplicates_in_window,
        unit: 'count',
        output: `${log.duplicates_in_window} record(s) repeat a decision_id already counted; counted once`,
        hint: 'the engine logs each decision once: a duplicate means a restart replayed records or the log was copied onto itself',
      }),
    );
  }
  return checks;
}

/** Warnings for the envelope: one per distinct problem, so a torn tail adds exactly one. */
export function integrityWarnings(log: LogIntegrity): string[] {
  const warnings: string[] = [];
  if (log.torn_tail)
    warnings.push(
      `decision log: torn tail at byte ${log.torn_tail.offset} (unterminated, ${log.torn_tail.bytes} bytes) skipped`,
    );
  if (log.late_in_window > 0)
    warnings.push(`decision log: ${log.late_in_window} record(s) arrived out of bar order`);
  return warnings;
}

/** An empty window is not a pass: no decisions means nothing was judged (or the engine was down). */
export function windowCheck(
  log: LogIntegrity,
  decisions: number,
  executed: number,
  blocked: number,
  label: string,
  retry: (day: string) => string,
): Check {
  if (!log.exists)
    return check({
      id: 'decisions:window',
      status: 'unknown',
      output: `no decision log at ${log.path}`,
      hint: 'run the engine on this data root (or pass --data-dir)',
    });
  if (decisions === 0) {
    // A log with records outside the window (a backtest's history, a run on other days): say which days it holds.
    const newest = log.newest?.bar_ts.slice(0, 10) ?? null;
    const oldest = newest ? firstBarDay(log.path) : null;
    const held = newest
      ? `; the log holds ${log.records_all_time} records with bar times ${oldest && oldest !== newest ? `from ${oldest} to ${newest}` : `on ${newest}`}`
      : '';
    return check({
      id: 'decisions:window',
      status: 'warn',
      observed: 0,
      unit: 'count',
      output: `no decisions for ${label}${held}`,
      hint: newest
        ? `to report on what the log holds: \`${retry(newest)}\`; if the engine should be deciding now, is it running (\`npx atl verify\`)?`
        : 'an empty window is not healthy: is the engine running (`npx atl verify`)?',
    });
  }
  return check({
    id: 'decisions:window',
    status: 'pass',
    observed: decisions,
    unit: 'count',
    output: `${decisions} decisions (${executed} executed, ${blocked} blocked) for ${label}`,
  });
}

/** Only PAPER_LIVE decisions are promotion evidence; replayed or synthetic data warns (null for an empty window, which windowCheck judges). */
export function paperLiveCheck(t: Totals, label: string): Check | null {
  if (t.decisions === 0) return null;
  const paperLive = t.by_data_mode.PAPER_LIVE ?? 0;
  if (paperLive > 0)
    return check({
      id: 'collection:paper-live',
      status: 'pass',
      observed: paperLive,
      unit: 'count',
      output: `${paperLive} PAPER_LIVE decisions`,
    });
  const modes = Object.entries(t.by_data_mode)
    .map(([m, n]) => `${m} ${n}`)
    .join(', ');
  return check({
    id: 'collection:paper-live',
    status: 'warn',
    observed: 0,
    unit: 'count',
    output: `no PAPER_LIVE decisions (${modes}): ${label} is not paper-live evidence and does not count toward the 12 weeks`,
    hint: 'promotion needs paper_live_data evidence: run the engine with --mode paper_live_data',
  });
}
