import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { configError } from '../errors.ts';
import { openFileForReading } from '../fsx/path-fault.ts';

/**
 * engine.log rotation. The supervisor (systemd `append:`, the Windows launcher's `>>`) opens
 * engine.log as the engine's stdout and stderr and keeps it open, so the file cannot be renamed
 * away under it: the engine itself, the only writer, copies the full file to engine.log.1 (older
 * ones shifted to .2 … .keep, the oldest dropped), fsyncs the copy, truncates its own output and
 * writes the next line at offset 0 — between ticks, on its own thread, so no line is lost.
 * Offset 0 matters on Windows, where `>>` is not an append-mode handle: a positioned write moves
 * the shared file pointer back; on Linux the handle is O_APPEND and the offset is ignored.
 */
export type RotationPolicy = { maxBytes: number; keep: number };

export const DEFAULT_ROTATION: RotationPolicy = { maxBytes: 10 * 1024 * 1024, keep: 5 };

/** `ATL_ENGINE_LOG_MAX_BYTES` (default 10 MiB; 0 turns rotation off) and `ATL_ENGINE_LOG_KEEP` (default 5). */
export function rotationPolicyFromEnv(env: NodeJS.ProcessEnv = process.env): RotationPolicy {
  const bytesText = env.ATL_ENGINE_LOG_MAX_BYTES?.trim();
  const keepText = env.ATL_ENGINE_LOG_KEEP?.trim();
  const maxBytes = bytesText ? Number(bytesText) : DEFAULT_ROTATION.maxBytes;
  const keep = keepText ? Number(keepText) : DEFAULT_ROTATION.keep;
  if (!Number.isInteger(maxBytes) || maxBytes < 0 || (maxBytes > 0 && maxBytes < 4096))
    throw configError(
      `ATL_ENGINE_LOG_MAX_BYTES must be 0 (no rotation) or a whole number of bytes ≥ 4096 (got "${bytesText}")`,
      'set it to e.g. 10485760 (10 MiB), or unset it for the default',
    );
  if (!Number.isInteger(keep) || keep < 1 || keep > 100)
    throw configError(
      `ATL_ENGINE_LOG_KEEP must be a whole number from 1 to 100 (got "${keepText}")`,
      'set it to e.g. 5, or unset it for the default',
    );
  return { maxBytes, keep };
}

/** engine.log.1 (newest) … engine.log.<keep> (oldest) that exist, newest first. */
export function rotatedFiles(path: string, keep = 100): string[] {
  const files: string[] = [];
  for (let i = 1; i <= keep && existsSync(`${path}.${i}`); i++) files.push(`${path}.${i}`);
  return files;
}

/** Make room for a new engine.log.1: drop the oldest kept file, move each one up. */
function shiftRotated(path: string, keep: number): void {
  rmSync(`${path}.${keep}`, { force: true });
  for (let i = keep - 1; i >= 1; i--)
    if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
}

/** Which of this process's stdout/stderr writes `path` (the same file, not just the same name). */
export function outputFdFor(path: string): number | null {
  let target: { dev: bigint; ino: bigint };
  try {
    target = statSync(path, { bigint: true });
  } catch {
    return null;
  }
  for (const fd of [1, 2]) {
    try {
      const s = fstatSync(fd, { bigint: true });
      if (s.isFile() && s.dev === target.dev && s.ino === target.ino && s.ino !== 0n) return fd;
    } catch {
      // closed or not a file
    }
  }
  return null;
}

/**
 * May `fd` be truncated under its writers? On Linux only when opened O_APPEND (a `>` handle
 * would write on at its old offset, leaving a hole); on Windows a positioned write resets it.
 */
export function truncatable(fd: number): boolean {
  if (process.platform === 'win32') return true;
  try {
    const flags = /^flags:\s*([0-7]+)/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))?.[1];
    return flags !== undefined && (Number.parseInt(flags, 8) & 0o2000) !== 0;
  } catch {
    return false; // no /proc (macOS): leave the file alone
  }
}

/** Copy `from` to `to` (fsynced) up to the size `from` has once it stops growing; that size. */
function copyStable(from: string, to: string, fd: number): number {
  const src = openFileForReading(from);
  const dst = openSync(to, 'w');
  try {
    const chunk = Buffer.alloc(1 << 20);
    let copied = 0;
    // Another thread may still write a line while the copy runs: copy until the size holds still.
    for (let round = 0; round < 5; round++) {
      const size = fstatSync(fd).size;
      if (size === copied) break;
      while (copied < size) {
        const n = readSync(src, chunk, 0, Math.min(chunk.length, size - copied), copied);
        if (n === 0) break;
        writeSync(dst, chunk, 0, n);
        copied += n;
      }
    }
    fsyncSync(dst);
    return copied;
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

export type Rotation = { rotatedBytes: number; to: string };

/** Lines logged once at start that every engine.log must hold (verify reads the turnover line there). */
const carried: string[] = [];

/** Repeat `line` at the top of every engine.log a rotation starts. */
export function carryIntoEngineLog(line: string): void {
  carried.push(line);
}

/** Rotates the engine's own engine.log when it passes the size; carried lines open every new file. */
export class EngineLogRotator {
  private warned = false;

  constructor(
    readonly path: string,
    readonly policy: RotationPolicy,
    private readonly fd: number | null = outputFdFor(path),
  ) {}

  /** Rotate if the log is past its size; null when not (or when it is not ours to rotate). */
  maybeRotate(now: Date = new Date()): Rotation | null {
    if (this.fd === null || this.policy.maxBytes === 0) return null;
    const size = fstatSync(this.fd).size;
    if (size < this.policy.maxBytes) return null;
    if (!truncatable(this.fd)) {
      if (!this.warned)
        writeSync(
          this.fd,
          `${now.toISOString()} WARN engine.log is ${size} bytes but not opened for append (use >>): not rotating it\n`,
        );
      this.warned = true;
      return null;
    }
    shiftRotated(this.path, this.policy.keep);
    const to = `${this.path}.1`;
    const copied = copyStable(this.path, to, this.fd);
    ftruncateSync(this.fd, 0);
    const head = [
      `${now.toISOString()} INFO engine.log rotated: the ${copied} bytes before this line moved to ${to} (older files shift up: .2, .3, …)`,
      ...carried.map((l) => `${now.toISOString()} INFO (carried over) ${l}`),
    ];
    writeSync(this.fd, `${head.join('\n')}\n`, 0);
    return { rotatedBytes: copied, to };
  }
}
