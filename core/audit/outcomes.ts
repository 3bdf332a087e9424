import { logExists, scanLog } from '../records/segments.ts';
import { growsWithin, type IdSet, type LineFault, SAMPLE_LIMIT } from './decisions.ts';
import { readOutcomeLine } from './log-lines.ts';

export type OutcomeFacts = {
  path: string;
  exists: boolean;
  lines: number;
  outcomes: number;
  faults: LineFault[];
  counts: { schema: number; link: number; truncated: number };
  /** Outcomes of decisions in archives retention removed (dated up to its last removed bar). */
  beforeAnchor: number;
};

/**
 * Stream `rl/decision_outcomes.jsonl`: every line schema-checked, and every decision it names
 * (a trade names the decisions that opened and closed it) present in the decision log. Only the
 * first `end` bytes are read: what was there before the log was (a line appended later may name a
 * decision the log got after it was read).
 */
export function auditOutcomes(
  path: string,
  ids: IdSet,
  end = Number.POSITIVE_INFINITY,
  removedUpTo: string | null = null,
): OutcomeFacts {
  const facts: OutcomeFacts = {
    path,
    exists: logExists(path),
    lines: 0,
    outcomes: 0,
    faults: [],
    counts: { schema: 0, link: 0, truncated: 0 },
    beforeAnchor: 0,
  };
  if (!facts.exists) return facts;
  const fault = (f: LineFault & { kind: keyof OutcomeFacts['counts'] }) => {
    facts.counts[f.kind]++;
    if (facts.counts[f.kind] <= SAMPLE_LIMIT) facts.faults.push(f);
  };
  const scan = scanLog(
    path,
    (e) => {
      const read = readOutcomeLine(e.line);
      if (!read.ok) return fault({ line: e.lineNo, kind: 'schema', problem: read.problem });
      facts.outcomes++;
      const o = read.record;
      const named: Array<[string, string]> =
        o.kind === 'trade'
          ? [
              [o.decision_id, o.entry_ts],
              [o.exit_decision_id, o.exit_ts],
            ]
          : [[o.decision_id, o.bar_ts]];
      for (const [id, at] of named)
        if (ids.has(id)) continue;
        else if (removedUpTo !== null && at <= removedUpTo) facts.beforeAnchor++;
        else
          fault({
            line: e.lineNo,
            kind: 'link',
            problem: `names decision ${id}, which the decision log does not hold`,
          });
    },
    { end },
  );
  facts.lines = scan.lines;
  // A fragment at `end` is an append in progress, unless the file still ends there.
  if (scan.tornTail && !growsWithin(path, scan.tornTail.offset + scan.tornTail.bytes))
    fault({
      line: scan.lines + 1,
      kind: 'truncated',
      problem: `the last line is cut short (${scan.tornTail.bytes} bytes with no newline)`,
    });
  facts.faults.sort((a, b) => a.line - b.line);
  return facts;
}
