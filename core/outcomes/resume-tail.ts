import { closeSync, fsyncSync, ftruncateSync, openSync } from 'node:fs';
import { expandOutcome } from '../records/outcome-codec.ts';
import { listSegments, scanLog } from '../records/segments.ts';

/**
 * What identifies an outcome, whatever its line looks like: the decision, the kind of outcome
 * and, for formats that write one line per horizon, the horizon. A resumed run writes each key once.
 */
export function outcomeKey(decisionId: string, kind: string, horizon: number | string | null = null): string {
  return `${decisionId}\u0000${kind}\u0000${horizon ?? ''}`;
}

export type TailReconcile = {
  /** Keys already on file past the checkpoint (a crash between the outcome flush and the ledger commit). */
  written: Set<string>;
  /** Provisional lines of the last clean stop removed, because the resumed run completes them. */
  superseded: number;
};

const NONE: TailReconcile = { written: new Set(), superseded: 0 };

/**
 * Make the outcome file agree with the ledger checkpoint about to be resumed. `checkpointBytes`
 * is the file's size when that checkpoint was committed; anything past it was written later:
 * - only the `complete: false` lines of decisions the checkpoint still carries open (what a
 *   clean stop writes, so the file says what is known meanwhile): cut off, since the resumed run
 *   writes those decisions complete — one line per decision, never a provisional one beside it;
 * - anything else (a crash after the outcome flush, before the ledger commit): kept, and its
 *   keys returned so the resumed run, re-deriving the same outcomes, does not append them twice.
 */
export function reconcileTail(path: string, checkpointBytes: number, open: Set<string>): TailReconcile {
  // Offsets count every segment's bytes, so a checkpoint taken before a rotation still points where it did.
  const log = listSegments(path);
  if (log.end <= checkpointBytes) return NONE;
  const written = new Set<string>();
  let provisional = 0;
  let other = 0;
  scanLog(
    log,
    (e) => {
      let line: { decision_id?: unknown; kind?: unknown; horizon?: unknown; complete?: unknown };
      try {
        line = expandOutcome(JSON.parse(e.line)); // v1 and compact v2 lines alike
      } catch {
        other++; // unreadable: left for the readers to report, never cut
        return;
      }
      if (typeof line.decision_id !== 'string' || typeof line.kind !== 'string') {
        other++;
        return;
      }
      const h = typeof line.horizon === 'number' || typeof line.horizon === 'string' ? line.horizon : null;
      // A provisional line never stands in for the complete one the resumed run will write.
      if (line.kind === 'forward_return' && line.complete === false && open.has(line.decision_id))
        provisional++;
      else {
        written.add(outcomeKey(line.decision_id, line.kind, h));
        other++;
      }
    },
    { start: checkpointBytes },
  );
  if (other > 0) return { written, superseded: 0 };
  if (provisional === 0) return NONE; // only a torn fragment: the appender's repair keeps it in a sidecar
  // Nothing but provisional lines (and perhaps the torn start of another): all superseded. A
  // clean stop never rotates while writing them, so they sit in the active file.
  const active = log.segments.at(-1)!;
  if (active.seq !== null || checkpointBytes < active.start) return { written, superseded: 0 };
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, checkpointBytes - active.start);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return { written: new Set(), superseded: provisional };
}
