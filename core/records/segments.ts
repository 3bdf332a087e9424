/**
 * A rotated log is a run of segments: archives `<stem>.000001.jsonl` … (oldest first, never
 * written again), then the active `<stem>.jsonl`; archives retention deleted are described in
 * `<stem>.retention.json`. Readers see the segments as one byte stream whose offsets do not move
 * when a file rotates or an archive is removed (an offset counts every byte the log ever held),
 * so cursors, checkpoints and line numbers mean the same before and after.
 */
import { closeSync, existsSync, readdirSync, readSync, renameSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { GENESIS_HASH } from '../engine/decision-log.ts';
import { configError, usageError } from '../errors.ts';
import { fsyncDirectory } from '../fsx/atomic.ts';
import { readJsonFile } from '../fsx/json-file.ts';
import { type JsonlLineEvent, type JsonlScan, readLastLine, scanJsonl } from '../fsx/jsonl.ts';
import { openFileForReading } from '../fsx/path-fault.ts';
import { type RemovedSegment, RetentionManifest } from '../schema/retention.ts';

export type Segment = { path: string; seq: number | null; start: number; size: number };

export type LogSegments = {
  path: string;
  /** Archives oldest first, then the active file when it exists. */
  segments: Segment[];
  /** Archives retention removed (from the manifest), oldest first. */
  removed: RemovedSegment[];
  /** The chain hash the first kept line must carry: the last removed line's (GENESIS when none). */
  anchor: string;
  removedLines: number;
  removedBytes: number;
  end: number;
  exists: boolean;
  /** A manifest that does not read: its archives count as missing. */
  manifestProblem: string | null;
};

export type RotationPolicy = { maxBytes: number; keep: number };
/** Rotation off, every archive kept: what a caller without a policy gets. */
export const NO_ROTATION: RotationPolicy = { maxBytes: 0, keep: 0 };
export const DEFAULT_LOG_ROTATION: RotationPolicy = { maxBytes: 256 * 1024 * 1024, keep: 0 };

const SEQ_DIGITS = 6;

function nameParts(active: string): { dir: string; stem: string; ext: string } {
  const name = basename(active);
  const dot = name.lastIndexOf('.');
  return {
    dir: dirname(active),
    stem: dot > 0 ? name.slice(0, dot) : name,
    ext: dot > 0 ? name.slice(dot) : '',
  };
}

export function archivePath(active: string, seq: number): string {
  const { dir, stem, ext } = nameParts(active);
  return join(dir, `${stem}.${String(seq).padStart(SEQ_DIGITS, '0')}${ext}`);
}

export function manifestPath(active: string): string {
  const { dir, stem } = nameParts(active);
  return join(dir, `${stem}.retention.json`);
}

/** Archives on disk by sequence number, oldest first (including any retention is about to remove). */
export function archivesOnDisk(active: string): Array<{ seq: number; path: string }> {
  const { dir, stem, ext } = nameParts(active);
  if (!existsSync(dir)) return [];
  const pattern = new RegExp(`^${escapeRegex(stem)}\\.(\\d{${SEQ_DIGITS},})${escapeRegex(ext)}$`);
  const out: Array<{ seq: number; path: string }> = [];
  for (const name of readdirSync(dir)) {
    const m = pattern.exec(name);
    if (m) out.push({ seq: Number(m[1]), path: join(dir, name) });
  }
  return out.sort((a, b) => a.seq - b.seq);
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function readManifest(active: string): { removed: RemovedSegment[]; problem: string | null } {
  const read = readJsonFile(manifestPath(active), RetentionManifest);
  if (read.kind === 'missing') return { removed: [], problem: null };
  if (read.kind === 'invalid') return { removed: [], problem: `${manifestPath(active)}: ${read.problem}` };
  return { removed: read.value.removed, problem: null };
}

/** Every file of a rotated log beside the active one (archives, manifest): what `--fresh` moves aside. */
export function segmentFiles(active: string): string[] {
  const files = archivesOnDisk(active).map((a) => a.path);
  if (existsSync(manifestPath(active))) files.push(manifestPath(active));
  return files;
}

/** The segments of a log in order, with the offsets each starts at. */
export function listSegments(active: string): LogSegments {
  const { removed, problem } = readManifest(active);
  const lastRemoved = removed.at(-1)?.seq ?? 0;
  const removedBytes = removed.reduce((n, r) => n + r.bytes, 0);
  const segments: Segment[] = [];
  let at = removedBytes;
  const files: Array<{ seq: number | null; path: string }> = archivesOnDisk(active).filter(
    (a) => a.seq > lastRemoved, // at or below: removal recorded, the unlink still to finish
  );
  if (existsSync(active)) files.push({ seq: null, path: active });
  for (const f of files) {
    let size: number;
    try {
      size = statSync(f.path).size;
    } catch {
      continue; // removed between the listing and the stat
    }
    segments.push({ path: f.path, seq: f.seq, start: at, size });
    at += size;
  }
  return {
    path: active,
    segments,
    removed,
    anchor: removed.at(-1)?.last_hash ?? GENESIS_HASH,
    removedLines: removed.reduce((n, r) => n + r.lines, 0),
    removedBytes,
    end: at,
    exists: segments.length > 0,
    manifestProblem: problem,
  };
}

export function logExists(active: string): boolean {
  return existsSync(active) || archivesOnDisk(active).length > 0;
}

/** The log's size in bytes, counting every byte it ever held (archives removed included). */
export function logBytes(active: string): number {
  return listSegments(active).end;
}

/** Positioned reads over the segments as one stream (offsets as in `listSegments`). */
export class LogReader {
  private readonly fds = new Map<number, number>();
  constructor(readonly log: LogSegments) {}

  get start(): number {
    return this.log.removedBytes;
  }

  get end(): number {
    return this.log.end;
  }

  /** Like `readSync(fd, buf, off, len, pos)`; a read crossing a seam continues in the next segment. */
  read(buf: Uint8Array, off: number, len: number, pos: number): number {
    let done = 0;
    for (let i = 0; i < this.log.segments.length && done < len; i++) {
      const s = this.log.segments[i]!;
      const from = pos + done;
      if (from >= s.start + s.size) continue;
      if (from < s.start) break;
      const want = Math.min(len - done, s.start + s.size - from);
      const n = readSync(this.fd(i), buf, off + done, want, from - s.start);
      done += n;
      if (n < want) break;
    }
    return done;
  }

  private fd(i: number): number {
    let fd = this.fds.get(i);
    if (fd === undefined) {
      fd = openFileForReading(this.log.segments[i]!.path);
      this.fds.set(i, fd);
    }
    return fd;
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd);
    this.fds.clear();
  }
}

export function openLog(active: string): LogReader {
  return new LogReader(listSegments(active));
}

/**
 * `scanJsonl` over every segment in order: offsets as in `listSegments`, line numbers counted
 * from the first kept line (or from `start`); `start`/`end` are offsets of that stream.
 */
export function scanLog(
  log: string | LogSegments,
  onLine: (e: JsonlLineEvent) => void,
  opts: { chunkBytes?: number; start?: number; end?: number } = {},
): JsonlScan & { log: LogSegments } {
  const segs = typeof log === 'string' ? listSegments(log) : log;
  const start = Math.max(opts.start ?? 0, segs.removedBytes);
  const end = opts.end ?? Number.POSITIVE_INFINITY;
  const out: JsonlScan & { log: LogSegments } = { lines: 0, bytes: 0, tornTail: null, log: segs };
  segs.segments.forEach((s, i) => {
    const last = i === segs.segments.length - 1;
    const segEnd = last ? end - s.start : Math.min(s.size, end - s.start);
    if (start >= s.start + s.size && !last) return;
    if (segEnd <= 0 || end <= s.start) return;
    const base = s.start;
    const lineBase = out.lines;
    const scan = scanJsonl(
      s.path,
      (e) => {
        e.offset += base;
        e.lineNo += lineBase;
        onLine(e);
      },
      {
        chunkBytes: opts.chunkBytes,
        start: Math.max(0, start - s.start),
        ...(Number.isFinite(segEnd) ? { end: segEnd } : {}),
      },
    );
    out.lines += scan.lines;
    out.bytes += scan.bytes;
    out.tornTail = scan.tornTail && { offset: scan.tornTail.offset + base, bytes: scan.tornTail.bytes };
  });
  return out;
}

/** The log's last complete line: the active file's, else the newest archive's (a crash mid-rotation). */
export function lastLogLine(active: string): string | null {
  const own = readLastLine(active);
  if (own !== null) return own;
  const segs = listSegments(active).segments.filter((s) => s.seq !== null);
  for (let i = segs.length - 1; i >= 0; i--) {
    const line = readLastLine(segs[i]!.path);
    if (line !== null) return line;
  }
  return null;
}

const crashCounts = new Map<string, number>();

/**
 * Test-only crash points: with `ATL_FAULT_KILL_AT=<step>` (any log) or `<stem>:<step>` (one log,
 * e.g. `decision_outcomes:rotate:renamed`), optionally `#<n>` (the n-th time), the process kills
 * itself there with SIGKILL.
 */
export function crashPoint(step: string, active: string): void {
  const env = process.env.ATL_FAULT_KILL_AT;
  if (!env) return;
  const [at, nth] = env.split('#');
  if (at !== step && at !== `${nameParts(active).stem}:${step}`) return;
  const n = (crashCounts.get(env) ?? 0) + 1;
  crashCounts.set(env, n);
  if (n >= Number(nth ?? 1)) process.kill(process.pid, 'SIGKILL');
}

/**
 * Move the active file (fsync'd and closed by its writer) to the next archive name and make the
 * rename durable. Atomic: a crash leaves the file under one name or the other.
 */
export function rotateActive(active: string): string {
  const { removed } = readManifest(active);
  const seq = Math.max(removed.at(-1)?.seq ?? 0, archivesOnDisk(active).at(-1)?.seq ?? 0) + 1;
  const target = archivePath(active, seq);
  renameSync(active, target);
  fsyncDirectory(dirname(active));
  crashPoint('rotate:renamed', active);
  return target;
}

/**
 * A rotation policy from env `<PREFIX>_MAX_BYTES` (0: never rotate) and `<PREFIX>_KEEP` (archives
 * kept; 0: all), a flag value taking precedence over each.
 */
export function rotationPolicy(
  prefix: string,
  flags: { maxBytes?: number | null; keep?: number | null } = {},
  env: NodeJS.ProcessEnv = process.env,
): RotationPolicy {
  const parse = (name: string, flag: number | null | undefined, fallback: number, min: number) => {
    const text = env[name]?.trim();
    const value = flag ?? (text ? Number(text) : fallback);
    if (!Number.isInteger(value) || value < 0 || (value > 0 && value < min)) {
      const what = `must be 0 or a whole number${min > 1 ? ` ≥ ${min}` : ''} (got "${flag ?? text}")`;
      if (flag !== null && flag !== undefined)
        throw usageError(
          `--log-${name.endsWith('_KEEP') ? 'keep' : 'max-bytes'} ${what}`,
          'see the README "Log retention"',
        );
      throw configError(
        `${name} ${what}`,
        `unset it for the default (${fallback}), or see the README "Log retention"`,
      );
    }
    return value;
  };
  return {
    maxBytes: parse(`${prefix}_MAX_BYTES`, flags.maxBytes, DEFAULT_LOG_ROTATION.maxBytes, 4096),
    keep: parse(`${prefix}_KEEP`, flags.keep, DEFAULT_LOG_ROTATION.keep, 1),
  };
}
