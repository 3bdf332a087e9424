import { closeSync, constants, mkdirSync, openSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { refusedError } from '../errors.ts';
import { writeJsonAtomic } from '../fsx/atomic.ts';
import { readJsonFile } from '../fsx/json-file.ts';
import type { DataPaths } from '../paths.ts';
import type { ModeName } from '../schema/common.ts';
import type { Pidfile } from '../schema/state.ts';
import { checkIdentity, selfIdentity } from './process.ts';

const LOCK_EX = 2;
const LOCK_NB = 4;

type FlockFn = (fd: number, op: number) => number;

/** flock(2) through bun:ffi where libc has it; null elsewhere (Windows), where the pidfile alone guards. */
function loadFlock(): FlockFn | null {
  const libc =
    process.platform === 'linux' ? 'libc.so.6' : process.platform === 'darwin' ? 'libc.dylib' : null;
  if (!libc) return null;
  try {
    const { dlopen, FFIType } = require('bun:ffi') as typeof import('bun:ffi');
    const lib = dlopen(libc, { flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 } });
    return (fd, op) => lib.symbols.flock(fd, op) as number;
  } catch {
    return null;
  }
}

export type EngineLock = { pidfile: Pidfile; release(): void };

/**
 * One engine per data root: an exclusive lock held for the process lifetime (the kernel drops
 * it when the process dies, so a killed engine never blocks the next) plus a pidfile naming
 * pid, start time and boot id for `status`, `verify` and `emergency-stop`.
 */
export function acquireEngineLock(paths: DataPaths, mode: ModeName, argv: string[]): EngineLock {
  mkdirSync(paths.logsDir, { recursive: true });
  const flock = loadFlock();
  const lockFd = openSync(
    paths.lockfile,
    constants.O_RDWR | constants.O_CREAT | (constants.O_NOFOLLOW ?? 0),
    0o600,
  );
  const locked = flock ? flock(lockFd, LOCK_EX | LOCK_NB) === 0 : !pidfileNamesLiveEngine(paths);
  if (!locked) {
    closeSync(lockFd);
    throw refusedError(
      describeHolder(paths),
      'stop it first (`npx atl emergency-stop --reason …`), or give this run its own --data-dir',
    );
  }
  const me = selfIdentity();
  const pidfile: Pidfile = {
    pid: me.pid,
    process_start: me.processStart,
    boot_id: me.bootId,
    host: hostname(),
    mode,
    started_at: new Date().toISOString(),
    argv,
  };
  writeJsonAtomic(paths.pidfile, pidfile);
  let released = false;
  return {
    pidfile,
    release() {
      if (released) return;
      released = true;
      const current = readJsonFile(paths.pidfile, 'Pidfile');
      if (current.kind === 'ok' && current.value.pid === me.pid) unlinkQuietly(paths.pidfile);
      closeSync(lockFd);
    },
  };
}

function pidfileNamesLiveEngine(paths: DataPaths): boolean {
  const read = readJsonFile(paths.pidfile, 'Pidfile');
  if (read.kind !== 'ok') return false;
  const v = read.value;
  return checkIdentity({ pid: v.pid, processStart: v.process_start, bootId: v.boot_id }) === 'same';
}

function describeHolder(paths: DataPaths): string {
  const read = readJsonFile(paths.pidfile, 'Pidfile');
  if (read.kind !== 'ok') return `another engine holds the lock on data root ${paths.root}`;
  const v = read.value;
  return `another engine is already running on data root ${paths.root} (pid ${v.pid}, mode ${v.mode}, since ${v.started_at})`;
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
