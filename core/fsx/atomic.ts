import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

const isWindows = process.platform === 'win32';
const RETRYABLE_RENAME = new Set(['EPERM', 'EACCES', 'EBUSY']);

/** Write every byte, looping on short writes. */
export function writeAll(fd: number, bytes: Uint8Array): void {
  let offset = 0;
  while (offset < bytes.length) offset += writeSync(fd, bytes, offset, bytes.length - offset);
}

/**
 * Replace `path` atomically: unique temp file in the same directory → write → fsync → rename →
 * fsync the directory. A reader sees the old file or the new one, never a torn one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const fd = openSync(tmp, 'wx', mode);
  try {
    writeAll(fd, bytes);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkQuietly(tmp);
    throw err;
  }
  closeSync(fd);
  try {
    renameWithRetry(tmp, path);
  } catch (err) {
    unlinkQuietly(tmp);
    throw err;
  }
  fsyncDirectory(dir);
}

export function writeJsonAtomic(path: string, value: unknown): void {
  writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`);
}

function renameWithRetry(from: string, to: string): void {
  for (let attempt = 0; ; attempt++) {
    try {
      renameSync(from, to);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? '';
      // Windows antivirus and indexers hold fresh files briefly; everything else is final.
      if (!isWindows || !RETRYABLE_RENAME.has(code) || attempt >= 9) throw err;
      Bun.sleepSync(Math.min(250, 10 * 2 ** attempt));
    }
  }
}

export function fsyncDirectory(dir: string): void {
  if (isWindows) return; // a directory cannot be opened for fsync there
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // the temp file may never have been created
  }
}
