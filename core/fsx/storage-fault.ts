import { dirname } from 'node:path';
import { OperatorError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';

/**
 * A write the filesystem refused for a reason the operator has to fix (full disk, quota,
 * read-only mount, I/O error), as opposed to a bug. Node errno codes and bun:sqlite's
 * SQLITE_* codes map to the same few kinds, so every writer reports them the same way.
 */
export type StorageFault = { kind: 'full' | 'readonly' | 'io'; code: string; path: string | null };

const KIND: Record<string, StorageFault['kind']> = {
  ENOSPC: 'full',
  EDQUOT: 'full',
  EFBIG: 'full',
  SQLITE_FULL: 'full',
  EROFS: 'readonly',
  SQLITE_READONLY: 'readonly',
  EIO: 'io',
  SQLITE_IOERR: 'io',
};

export function storageFault(err: unknown): StorageFault | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { storagePath?: string };
  const raw = typeof e.code === 'string' ? e.code : '';
  // SQLite extended codes (SQLITE_IOERR_WRITE, SQLITE_READONLY_DBMOVED…) share their base kind.
  const code = KIND[raw] ? raw : (Object.keys(KIND).find((k) => raw.startsWith(`${k}_`)) ?? raw);
  const kind = KIND[code];
  if (!kind) return null;
  return { kind, code: raw, path: e.storagePath ?? e.path ?? null };
}

/** Note which file a write was for (a write on a descriptor carries no path of its own). */
export function withStoragePath<E>(err: E, path: string): E {
  if (err instanceof Error && storageFault(err) && !(err as { storagePath?: string }).storagePath)
    (err as { storagePath?: string }).storagePath = path;
  return err;
}

/** How each kind reads before the path; `describeStorageFault` writes it, `storageFaultFromReason` reads it back. */
const SAYS: Record<StorageFault['kind'], string> = {
  full: 'disk full: no space left writing ',
  readonly: 'read-only filesystem: cannot write ',
  io: 'I/O error writing ',
};

/** One line: what the filesystem refused, and where. */
export function describeStorageFault(f: StorageFault, fallbackPath?: string): string {
  const where = f.path ?? fallbackPath ?? 'the data root';
  return `${SAYS[f.kind]}${where} (${f.code})`;
}

/**
 * The fault a heartbeat's `status_reason` names when the engine stopped on one (the line
 * `describeStorageFault` wrote), else null.
 */
export function storageFaultFromReason(reason: string | null): StorageFault | null {
  if (!reason) return null;
  for (const [kind, says] of Object.entries(SAYS) as [StorageFault['kind'], string][]) {
    if (!reason.startsWith(says)) continue;
    const m = /^(.*) \(([A-Z_]+)\)$/.exec(reason.slice(says.length));
    if (m) return { kind, code: m[2]!, path: m[1] === 'the data root' ? null : m[1]! };
  }
  return null;
}

/** What to do about a fault at `path` (a file, or the data root when its file is unknown). */
export function storageFaultHint(f: StorageFault): string {
  return hint(f, f.path ? dirname(f.path) : '.');
}

function hint(f: StorageFault, dir: string): string {
  const rerun =
    'then start the same command again (records already written are kept; a torn last line is repaired on start)';
  if (f.kind === 'full')
    return `free space there (\`df -h ${dir}\`) or move the data root (--data-dir / ATL_HOME) to a disk with room, ${rerun}`;
  if (f.kind === 'readonly')
    return `remount it read-write (\`mount -o remount,rw\` on the mount holding ${dir}) or give a writable --data-dir, ${rerun}`;
  return `check the disk (\`dmesg\`, SMART) before trusting files under ${dir}, ${rerun}`;
}

/**
 * The operator's error for a storage fault (exit 3: the run could not persist its evidence),
 * or null when `err` is something else.
 */
export function storageError(err: unknown, fallbackPath?: string): OperatorError | null {
  const f = storageFault(err);
  if (!f) return null;
  const where = f.path ?? fallbackPath;
  return new OperatorError(describeStorageFault(f, fallbackPath), {
    exitCode: EXIT.unknown,
    hint: hint(f, where ? dirname(where) : '.'),
    cause: err,
  });
}
