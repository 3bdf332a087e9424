import { closeSync, fstatSync, openSync } from 'node:fs';
import { OperatorError } from '../errors.ts';
import { EXIT } from '../exit-codes.ts';
import { storageError } from './storage-fault.ts';

/** What each path error means, said as the operator sees it: a file or directory in the wrong place. */
const SAYS: Record<string, string> = {
  EISDIR: 'is a directory where a file belongs',
  ENOTDIR: 'runs through a file where a directory belongs',
  EEXIST: 'is in the way: a file is there where a directory is made',
  ENOENT: 'does not exist',
  EACCES: 'is not readable or writable by this user',
  EPERM: 'may not be changed by this user',
  ELOOP: 'is a symlink loop',
  ENAMETOOLONG: 'is a name too long for the filesystem',
};

/**
 * The operator's error (exit 3: the input could not be read or the output not placed) for a
 * filesystem call refused because of what is at a path: a directory where a file belongs, a
 * file in a directory's place, a missing parent. Null when `err` is something else. The path is
 * named as it is; control characters in it are shown escaped when the message is printed.
 */
export function pathError(err: unknown): OperatorError | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { dest?: unknown };
  const says = typeof e.code === 'string' ? SAYS[e.code] : undefined;
  if (!says || typeof e.path !== 'string') return null;
  // The path as it is (a Windows path keeps single backslashes): formatOperatorError escapes control characters.
  const dest = typeof e.dest === 'string' ? ` (to ${e.dest})` : '';
  return new OperatorError(`${e.path}${dest} ${says} (${e.code}${e.syscall ? ` on ${e.syscall}` : ''})`, {
    exitCode: EXIT.unknown,
    hint: 'move it aside or fix the path (or give another --data-dir), then run the command again',
    cause: err,
  });
}

/** The operator's error for a filesystem fault, a storage one (full, read-only, I/O) or a path one; null for anything else. */
export const filesystemError = (err: unknown): OperatorError | null => storageError(err) ?? pathError(err);

/**
 * `openSync(path, 'r')` for a file: a directory opens for reading too, and its first read fails
 * without naming the path; here it is refused at the open, with the path (EISDIR).
 */
export function openFileForReading(path: string): number {
  const fd = openSync(path, 'r');
  if (fstatSync(fd).isDirectory()) {
    closeSync(fd);
    throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), {
      code: 'EISDIR',
      path,
      syscall: 'open',
    });
  }
  return fd;
}
