import {
  closeSync,
  existsSync,
  fstatSync,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { writeAll, writeFileAtomic } from './atomic.ts';
import { openFileForReading } from './path-fault.ts';
import { withStoragePath } from './storage-fault.ts';

const NEWLINE = 0x0a;
const TAIL_CHUNK = 64 * 1024;

export type TailRepair = { fragmentBytes: number; sidecar: string; atOffset: number };

/**
 * Make an append-only JSONL file safe to append to: an unterminated final fragment (a crash
 * mid-append) is moved to a sidecar file and cut off, so the next record never glues onto it.
 * Only the single writer (holding the engine lock) may call this.
 */
export function repairTornTail(path: string): TailRepair | null {
  if (!existsSync(path)) return null;
  const fd = openSync(path, 'r+');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return null;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    if (last[0] === NEWLINE) return null;
    const keep = lastNewlineEnd(fd, size);
    const fragment = Buffer.alloc(size - keep);
    readSync(fd, fragment, 0, fragment.length, keep);
    const sidecar = `${path}.torn-${new Date().toISOString().replace(/[:.]/g, '')}-${process.pid}`;
    writeFileAtomic(sidecar, fragment);
    ftruncateSync(fd, keep);
    fsyncSync(fd);
    return { fragmentBytes: fragment.length, sidecar, atOffset: keep };
  } finally {
    closeSync(fd);
  }
}

/** Byte offset just past the last `\n` at or before `size` (0 when there is none). */
function lastNewlineEnd(fd: number, size: number): number {
  const buf = Buffer.alloc(TAIL_CHUNK);
  let end = size;
  while (end > 0) {
    const start = Math.max(0, end - TAIL_CHUNK);
    const n = readSync(fd, buf, 0, end - start, start);
    const idx = buf.subarray(0, n).lastIndexOf(NEWLINE);
    if (idx >= 0) return start + idx + 1;
    end = start;
  }
  return 0;
}

/** The last complete (newline-terminated) line of a file, without its newline; null if none. */
export function readLastLine(path: string): string | null {
  if (!existsSync(path)) return null;
  const fd = openFileForReading(path);
  try {
    const size = fstatSync(fd).size;
    const end = lastNewlineEnd(fd, size);
    if (end === 0) return null;
    const start = lastNewlineEnd(fd, end - 1);
    const line = Buffer.alloc(end - 1 - start);
    readSync(fd, line, 0, line.length, start);
    return line.toString('utf8').replace(/\r$/, '');
  } finally {
    closeSync(fd);
  }
}

/**
 * Appends lines to a JSONL file through one descriptor opened for append. Lines are buffered
 * until `flush()`; a line counts as written only once flushed.
 */
export class JsonlAppender {
  readonly path: string;
  private fd: number | null = null;
  // Lines are encoded straight into one reusable buffer (no joined string per flush).
  private buf = Buffer.allocUnsafe(1 << 20);
  private used = 0;
  private count = 0;
  // A failed write leaves the buffer's place in the file unknown; writing it again could glue or
  // duplicate lines, so the appender refuses from then on (the torn tail is repaired on next open).
  private failure: Error | null = null;

  constructor(path: string) {
    this.path = path;
  }

  open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'a', 0o644);
  }

  /** Queue one line (no newline inside). Returns the bytes pending. */
  push(line: string): number {
    const worst = line.length * 3 + 1; // UTF-8 worst case per UTF-16 unit
    if (this.used + worst > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.used + worst));
      this.buf.copy(bigger, 0, 0, this.used);
      this.buf = bigger;
    }
    this.used += this.buf.write(line, this.used);
    this.buf[this.used++] = NEWLINE;
    this.count++;
    return this.used;
  }

  get pendingCount(): number {
    return this.count;
  }

  /** Bytes queued, not yet written. */
  get pendingBytes(): number {
    return this.used;
  }

  /** Write everything queued; with `durable`, fsync as well. */
  flush(durable = false): void {
    if (this.failure) throw this.failure;
    if (this.fd === null) throw new Error(`JSONL appender for ${this.path} is not open`);
    try {
      if (this.used > 0) {
        writeAll(this.fd, this.buf.subarray(0, this.used));
        this.used = 0;
        this.count = 0;
      }
      if (durable) fsyncSync(this.fd);
    } catch (err) {
      this.failure = withStoragePath(err as Error, this.path);
      throw this.failure;
    }
  }

  close(): void {
    if (this.fd === null) return;
    try {
      if (!this.failure) this.flush(true);
    } finally {
      closeSync(this.fd);
      this.fd = null;
    }
  }
}

/**
 * One line, valid only during the callback (the reader reuses it and its buffer):
 * `buffer[start, end)` holds the line's bytes without the newline or a trailing `\r`.
 * Readers that look at a few bytes of most lines skip decoding them.
 */
export class JsonlLineEvent {
  buffer: Buffer = Buffer.alloc(0);
  start = 0;
  end = 0;
  lineNo = 0;
  offset = 0;

  /** The line decoded as UTF-8. */
  get line(): string {
    return this.buffer.toString('utf8', this.start, this.end);
  }

  /** A view of the line's bytes. */
  get bytes(): Buffer {
    return this.buffer.subarray(this.start, this.end);
  }
}
export type JsonlScan = { lines: number; bytes: number; tornTail: { offset: number; bytes: number } | null };

/**
 * Stream a JSONL file line by line with constant memory. Lines are split on `\n` only (U+2028 is
 * legal inside JSON strings); an unterminated final fragment is not yielded but reported.
 * `start`/`end` (byte offsets, `start` at a line start) scan one range, so ranges can be read in
 * parallel; line numbers then count from the range start and offsets stay absolute.
 */
export function scanJsonl(
  path: string,
  onLine: (e: JsonlLineEvent) => void,
  opts: { chunkBytes?: number; start?: number; end?: number } = {},
): JsonlScan {
  const fd = openFileForReading(path);
  try {
    const buf = Buffer.alloc(opts.chunkBytes ?? 1 << 20);
    const event = new JsonlLineEvent();
    const end = opts.end ?? Number.POSITIVE_INFINITY;
    let carry: Buffer | null = null;
    let fileOffset = opts.start ?? 0;
    let lineStartOffset = fileOffset;
    let lineNo = 0;
    for (;;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, end - fileOffset), fileOffset);
      if (n === 0) break;
      fileOffset += n;
      let start = 0;
      for (let i = buf.indexOf(NEWLINE, 0); i >= 0 && i < n; i = buf.indexOf(NEWLINE, i + 1)) {
        const whole = carry ? Buffer.concat([carry, buf.subarray(start, i)]) : buf;
        const from = carry ? 0 : start;
        const to = carry ? whole.length : i;
        carry = null;
        event.buffer = whole;
        event.start = from;
        event.end = to > from && whole[to - 1] === 0x0d ? to - 1 : to;
        event.lineNo = ++lineNo;
        event.offset = lineStartOffset;
        onLine(event);
        lineStartOffset += to - from + 1;
        start = i + 1;
      }
      if (start < n) {
        const rest = Buffer.from(buf.subarray(start, n));
        carry = carry ? Buffer.concat([carry, rest]) : rest;
      }
    }
    const tornTail = carry && carry.length > 0 ? { offset: lineStartOffset, bytes: carry.length } : null;
    return { lines: lineNo, bytes: fileOffset - (opts.start ?? 0), tornTail };
  } finally {
    closeSync(fd);
  }
}
