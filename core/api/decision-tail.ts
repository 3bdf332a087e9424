import { closeSync, type FSWatcher, fstatSync, readSync, statSync, watch } from 'node:fs';
import { basename, dirname } from 'node:path';
import { openFileForReading } from '../fsx/path-fault.ts';
import { log } from '../log.ts';
import { expandValue, isHeaderLine, parseHeader } from '../records/reader.ts';
import type { RunHeader } from '../schema/record.ts';

/** The fields the API reads from a decision line; the rest is passed through untouched. */
export type DecisionSummary = {
  decision_id: string;
  ts: string;
  symbol: string;
  action: string;
  blocked_stage: string | null;
  block_reason: string | null;
  market?: { data_age_s?: number | null } | null;
};

/**
 * One complete decision of the log: its byte offset, its text in the full (v1) view, and its
 * parsed summary (null when malformed). Run header lines are followed, not passed on.
 */
export type TailedLine = { offset: number; line: string; record: DecisionSummary | null };

export type TailOptions = {
  /** Stat fallback period: fs.watch can miss events (network filesystems, renames), the poll cannot. */
  pollMs: number;
  /** `live` is false for the records that were already in the file when the tail started. */
  onLine: (line: TailedLine, live: boolean) => void;
  /**
   * Most bytes one turn reads once following live appends; the rest waits for the next turn, so
   * sockets drain in between and a burst (a replay writing thousands of records) reaches stream
   * clients in slices rather than all at once.
   */
  liveBytesPerTurn?: number;
};

const NEWLINE = 0x0a;
const CHUNK = 1 << 20;
/** Most bytes one turn of the start-up catch-up reads before yielding, so the server keeps answering. */
const BACKLOG_BYTES_PER_TURN = 8 << 20;

/**
 * A raw line (v1 or v2, under `header`) as its full-view text and summary; the summary is null
 * when the line does not read, and the text is then the raw line.
 */
export function summarize(
  line: string,
  header: RunHeader | null,
): { text: string; record: DecisionSummary | null } {
  try {
    const parsed = JSON.parse(line) as unknown;
    const { record, version } = expandValue(parsed, header);
    const v = record as Partial<DecisionSummary>;
    if (typeof v.decision_id !== 'string' || typeof v.action !== 'string')
      return { text: line, record: null };
    if (typeof v.symbol !== 'string' || typeof v.ts !== 'string') return { text: line, record: null };
    return { text: version === 1 ? line : JSON.stringify(record), record: v as DecisionSummary };
  } catch {
    return { text: line, record: null };
  }
}

/**
 * Follows the append-only decision log as the engine writes it: fs.watch on the directory for
 * promptness plus a periodic stat, reads only the bytes past the last offset, and holds back an
 * unterminated final fragment until its newline arrives. A replaced (archived) or truncated file
 * is followed from its start. Read-only: the engine never waits for it.
 */
export class DecisionTail {
  private fd: number | null = null;
  private ino = -1;
  private offset = 0;
  private carry: Buffer | null = null;
  private lineStart = 0;
  private live = false;
  private timer: ReturnType<typeof setInterval> | null = null;
  private watcher: FSWatcher | null = null;
  private readonly buf = Buffer.alloc(CHUNK);
  /** The run header the lines being read belong to. */
  private header: RunHeader | null = null;

  constructor(
    readonly path: string,
    private readonly opts: TailOptions,
  ) {}

  /** Bytes of the current file consumed so far (complete lines only). */
  get position(): number {
    return this.lineStart;
  }

  /** Reads what is already there (yielding between chunks), then follows new appends. */
  async start(): Promise<void> {
    while (this.readAvailable() === 'more') await Bun.sleep(0);
    this.live = true;
    this.timer = setInterval(() => this.poll(), this.opts.pollMs);
    this.watchDirectory();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.watcher?.close();
    this.watcher = null;
    this.closeFile();
  }

  /** Read new bytes now; a burst larger than one bounded read continues on the next turn. */
  poll(): void {
    try {
      if (this.readAvailable() === 'more') setImmediate(() => this.poll());
    } catch (err) {
      log.warn(`decision tail: cannot read ${this.path}: ${(err as Error).message}`);
    }
  }

  private watchDirectory(): void {
    try {
      const name = basename(this.path);
      this.watcher = watch(dirname(this.path), (_event, file) => {
        if (file === null || file === name) this.poll();
      });
      this.watcher.on('error', () => {
        this.watcher?.close();
        this.watcher = null; // the stat poll carries on alone
      });
    } catch {
      this.watcher = null; // directory not there yet: the poll notices the file once it appears
    }
  }

  /** 'more' when the bounded read stopped before the end of the file. */
  private readAvailable(): 'done' | 'more' {
    let st: { ino: number; size: number };
    try {
      st = statSync(this.path);
    } catch {
      this.finishOldFile();
      return 'done';
    }
    if (this.fd !== null && st.ino !== this.ino) this.finishOldFile();
    if (this.fd === null) {
      this.fd = openFileForReading(this.path);
      this.ino = fstatSync(this.fd).ino;
      this.resetPosition();
      if (this.live && this.timer !== null && !this.watcher) this.watchDirectory();
    }
    const size = fstatSync(this.fd).size;
    if (size < this.offset) {
      log.warn(
        `decision tail: ${this.path} shrank from ${this.offset} to ${size} bytes; following it from the start`,
      );
      this.resetPosition();
    }
    return this.readRange(
      size,
      this.live ? (this.opts.liveBytesPerTurn ?? 256 * 1024) : BACKLOG_BYTES_PER_TURN,
    );
  }

  /** The old file was renamed or removed: read what its writer added before that, then let go. */
  private finishOldFile(): void {
    if (this.fd === null) return;
    this.readRange(fstatSync(this.fd).size, Number.POSITIVE_INFINITY);
    this.closeFile();
  }

  private closeFile(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
    this.ino = -1;
    this.resetPosition();
  }

  private resetPosition(): void {
    this.header = null;
    this.offset = 0;
    this.lineStart = 0;
    this.carry = null;
  }

  private readRange(size: number, budget: number): 'done' | 'more' {
    const fd = this.fd;
    if (fd === null) return 'done';
    let read = 0;
    while (this.offset < size) {
      if (read >= budget) return 'more';
      const n = readSync(fd, this.buf, 0, Math.min(CHUNK, budget - read, size - this.offset), this.offset);
      if (n === 0) break;
      this.emitLines(this.buf.subarray(0, n), this.offset);
      this.offset += n;
      read += n;
    }
    return 'done';
  }

  private emitLines(chunk: Buffer, chunkOffset: number): void {
    let start = 0;
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) {
      const piece = chunk.subarray(start, i);
      const bytes = this.carry ? Buffer.concat([this.carry, piece]) : piece;
      this.carry = null;
      const end = bytes.length > 0 && bytes[bytes.length - 1] === 0x0d ? bytes.length - 1 : bytes.length;
      const line = bytes.toString('utf8', 0, end);
      if (isHeaderLine(line)) {
        try {
          this.header = parseHeader(JSON.parse(line));
        } catch {
          this.header = null; // the lines it heads then read as malformed
        }
      } else {
        const { text, record } = summarize(line, this.header);
        this.opts.onLine({ offset: this.lineStart, line: text, record }, this.live);
      }
      start = i + 1;
      this.lineStart = chunkOffset + start;
    }
    if (start < chunk.length) {
      const rest = Buffer.from(chunk.subarray(start));
      this.carry = this.carry ? Buffer.concat([this.carry, rest]) : rest;
    }
  }
}
