import { buildEvidence, check } from '../evidence/envelope.ts';
import type { DataPaths } from '../paths.ts';
import { logBytes } from '../records/segments.ts';
import type { Check, Evidence } from '../schema/evidence.ts';
import { decisionChecks, evidenceChecks, ledgerChecks, outcomeChecks } from './checks.ts';
import { auditDecisionLog, IdSet, type LineFault } from './decisions.ts';
import { auditEvidenceFiles } from './evidence-files.ts';
import { readLedgerFacts } from './ledger.ts';
import { auditOutcomes } from './outcomes.ts';

/** Where a file first stops being trustworthy, and how much of it lies beyond that line. */
export type FirstBreak = { file: string; line: number; lines_after: number; kind: string; problem: string };

function firstBreak(file: string, faults: LineFault[], lines: number): FirstBreak | null {
  const f = faults[0];
  if (!f) return null;
  return { file, line: f.line, lines_after: Math.max(0, lines - f.line), kind: f.kind, problem: f.problem };
}

/**
 * `atl audit`: everything a data root's files say about themselves, checked end to end in one
 * streaming pass per file — the decision log's chain from genesis, schema, ids and bar order; the
 * outcomes' links; the ledger against the log's fills and its own checkpoint; the evidence files.
 */
export function runAudit(paths: DataPaths, startedAt = new Date()): Evidence {
  const unreadable: Check[] = [];
  // A file that cannot be read (permissions, a directory in its place, I/O, a corrupt ledger) is "could not evaluate".
  const reading = <T>(id: string, path: string, read: (path: string) => T): T | null => {
    try {
      return read(path);
    } catch (err) {
      const e = err as Error & { hint?: string };
      unreadable.push(
        check({
          id: `${id}:readable`,
          status: 'unknown',
          output: `cannot read ${path}: ${e.message}`,
          hint: e.hint ?? 'check the file exists, is a regular file and is readable by this user',
        }),
      );
      return null;
    }
  };
  // Order matters while an engine runs: it flushes the log before it commits the ledger or
  // appends outcomes, so the ledger and the outcomes' length are taken first and the log read
  // after them holds every decision they can name.
  const ledger = reading('ledger', paths.ledger, readLedgerFacts);
  const outcomesEnd = logBytes(paths.outcomes);
  const decisions = reading('decisions', paths.decisions, auditDecisionLog);
  const ids = decisions?.ids ?? new IdSet();
  const outcomes = reading('outcomes', paths.outcomes, (p) =>
    auditOutcomes(p, ids, outcomesEnd, decisions?.retention?.removed.at(-1)?.last_bar_ts ?? null),
  );
  const evidence = reading('evidence', paths.reportsDir, auditEvidenceFiles);
  const logged = decisions?.exists ? decisions : null;
  const checks = [
    ...unreadable,
    ...(decisions ? decisionChecks(decisions) : []),
    ...(logged && outcomes ? outcomeChecks(outcomes) : []),
    ...(logged && ledger ? ledgerChecks(ledger, logged) : []),
    ...(evidence ? evidenceChecks(evidence) : []),
  ];
  const breaks = [
    decisions && firstBreak(paths.decisions, decisions.faults, decisions.lines + (decisions.tail ? 1 : 0)),
    outcomes && firstBreak(paths.outcomes, outcomes.faults, outcomes.lines),
  ].filter((b): b is FirstBreak => !!b);
  return buildEvidence({
    verb: 'audit',
    startedAt,
    checks,
    inputs: [paths.decisions, paths.outcomes, paths.ledger],
    warnings:
      decisions?.tail?.state === 'growing'
        ? ['decision log: an append was in progress while it was read']
        : [],
    details: {
      anchor: 'genesis',
      first_break: breaks[0] ?? null,
      breaks,
      decisions: decisions && {
        lines: decisions.lines,
        bytes: decisions.bytes,
        records: decisions.records,
        by_symbol: decisions.bySymbol,
        faults: decisions.counts,
      },
      outcomes: outcomes && { lines: outcomes.lines, outcomes: outcomes.outcomes, faults: outcomes.counts },
      ledger: ledger?.exists ? { fills: ledger.fills, trades: ledger.trades } : null,
      evidence_files: evidence?.files ?? null,
    },
  });
}
