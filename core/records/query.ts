import { oneOf, unknownError } from '../errors.ts';
import { ACTIONS } from '../schema/common.ts';
import { type DecisionRecord, GATE_STAGES } from '../schema/decision.ts';
import { readDecisionLog } from './reader.ts';
import { logExists } from './segments.ts';

export type DecisionQuery = {
  symbol?: string;
  /** Bar times, epoch ms, inclusive. */
  sinceMs?: number;
  untilMs?: number;
  blockedBy?: string;
  action?: string;
};

export const parseAction = (value: string): string =>
  oneOf(value, ACTIONS, `--action "${value}" is not an action`);

/** A stage name `--blocked-by` accepts: one the pipeline writes (a typo would match nothing, silently). */
export const parseStage = (value: string): string =>
  oneOf(value, GATE_STAGES, `--blocked-by "${value}" is not a pipeline stage`);

export function matchesQuery(r: DecisionRecord, q: DecisionQuery): boolean {
  if (q.symbol !== undefined && r.symbol !== q.symbol) return false;
  if (q.action !== undefined && r.action !== q.action) return false;
  if (q.blockedBy !== undefined && r.blocked_stage !== q.blockedBy) return false;
  if (q.sinceMs !== undefined || q.untilMs !== undefined) {
    const bar = Date.parse(r.bar_ts);
    if (q.sinceMs !== undefined && bar < q.sinceMs) return false;
    if (q.untilMs !== undefined && bar > q.untilMs) return false;
  }
  return true;
}

/**
 * The decisions of a log matching `q`, in file order, through the one reader. A missing log is
 * "could not evaluate" (3); unreadable lines are counted, not fatal.
 */
export function queryDecisions(
  path: string,
  q: DecisionQuery,
  onRecord: (r: DecisionRecord) => void,
): { matched: number; scanned: number; malformed: number; tornTail: boolean } {
  if (!logExists(path))
    throw unknownError(
      `no decision log at ${path}`,
      'run the engine first (npx atl run …) or pass --data-dir',
    );
  const out = { matched: 0, scanned: 0, malformed: 0, tornTail: false };
  const scan = readDecisionLog(
    path,
    (r) => {
      out.scanned++;
      if (!matchesQuery(r, q)) return;
      out.matched++;
      onRecord(r);
    },
    () => out.malformed++,
  );
  out.tornTail = scan.tornTail !== null;
  return out;
}
