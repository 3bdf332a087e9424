import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { log } from '../log.ts';
import type { DataPaths } from '../paths.ts';
import { applyRetention } from '../records/retention.ts';
import { segmentFiles } from '../records/segments.ts';

/** How many archives of each log to keep (absent, or 0 for a log: all). */
export type KeepArchives = { decisions: number; outcomes: number } | undefined;

/**
 * Retention runs right after a ledger commit: every archive was closed by a flush before it, so
 * the checkpoint covers all it holds and a resume never needs it again.
 */
export function removeOldArchives(paths: DataPaths, keep: KeepArchives): void {
  if (!keep) return;
  for (const [path, n] of [
    [paths.decisions, keep.decisions],
    [paths.outcomes, keep.outcomes],
  ] as const) {
    if (n === 0) continue;
    const removed = applyRetention(path, n);
    if (removed.length > 0)
      log.info(
        `log retention: removed ${removed.map((r) => r.file).join(', ')} (recorded in ${basename(path, '.jsonl')}.retention.json)`,
      );
  }
}

/** `--fresh`: move the previous run's log, ledger and state aside (nothing is deleted). */
export function archivePreviousRun(paths: DataPaths): void {
  const stamp = new Date().toISOString().replace(/[:.]/g, '');
  let moved = 0;
  const move = (path: string) => {
    if (!existsSync(path)) return;
    const dir = join(dirname(path), 'archive');
    mkdirSync(dir, { recursive: true });
    renameSync(path, join(dir, `${stamp}.${basename(path)}`));
    moved++;
  };
  for (const p of [
    paths.decisions,
    ...segmentFiles(paths.decisions),
    paths.candleTape,
    paths.outcomes,
    ...segmentFiles(paths.outcomes),
    paths.advisorState,
    paths.state,
    paths.orderRequests,
    paths.ledger,
    `${paths.ledger}-wal`,
    `${paths.ledger}-shm`,
  ])
    move(p);
  if (moved > 0) {
    log.info(
      `--fresh: previous run archived under ${join(paths.root, 'rl', 'archive')} and ${join(paths.root, 'unified_trading', 'archive')}`,
    );
  }
}
