import {
  closeSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { storageFault, withStoragePath } from './storage-fault.ts';

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
  try {
    replaceFile(path, data, mode);
  } catch (err) {
    throw withStoragePath(err, path);
  }
}

function replaceFile(path: string, data: string | Uint8Array, mode: number): void {
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

/**
 * A status file that must say why the process is stopping even on a full disk: the atomic
 * replace needs a new block for its temp file, so when that fails with the disk full the
 * existing file is overwritten in place instead (a small file rewrites blocks it already owns).
 * Returns false when neither fits. Only for last words, never for evidence.
 */
export function writeJsonLastGasp(path: string, value: unknown): boolean {
  const text = `${JSON.stringify(value, null, 2)}\n`;
  try {
    writeFileAtomic(path, text);
    return true;
  } catch (err) {
    if (storageFault(err)?.kind !== 'full') return false;
  }
  try {
    const bytes = Buffer.from(text);
    const fd = openSync(path, 'r+');
    try {
      writeAll(fd, bytes);
      ftruncateSync(fd, bytes.length);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    return true;
  } catch {
    return false;
  }
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
