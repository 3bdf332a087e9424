import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { writeAll } from '../fsx/atomic.ts';
import { readLastLine, repairTornTail, type TailRepair } from '../fsx/jsonl.ts';
import type { DecisionRecord } from '../schema/decision.ts';

export const GENESIS_HASH = '0'.repeat(64);

export function hashLine(line: string): string {
  return Bun.CryptoHasher.hash('sha256', line, 'hex') as string;
}

/**
 * The append-only decision log with its hash chain: each record carries the sha256 of the line
 * before it, so a deleted or edited line breaks the chain where it happened.
 */
export class DecisionLog {
  private prevHash = GENESIS_HASH;
  private fd: number | null = null;
  // Records are encoded straight into one reusable buffer: no per-flush string joins.
  private buf = Buffer.allocUnsafe(BUFFER_BYTES);
  private used = 0;
  private queued = 0;
  /** Records flushed to the file by this process. */
  written = 0;
  repair: TailRepair | null = null;

  constructor(readonly path: string) {}

  open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.repair = repairTornTail(this.path);
    const last = readLastLine(this.path);
    if (last !== null) this.prevHash = hashLine(last);
    this.fd = openSync(this.path, 'a', 0o644);
  }

  append(record: Omit<DecisionRecord, 'prev_hash'> & { prev_hash?: string }): void {
    record.prev_hash = this.prevHash;
    const line = JSON.stringify(record);
    this.prevHash = hashLine(line);
    // Worst case 3 bytes per UTF-16 unit; write out early rather than overflow.
    if (this.used + line.length * 3 + 1 > this.buf.length) {
      this.drain();
      if (line.length * 3 + 1 > this.buf.length) this.buf = Buffer.allocUnsafe(line.length * 3 + 1);
    }
    this.used += this.buf.write(line, this.used);
    this.buf[this.used++] = 0x0a;
    this.queued++;
  }

  get pending(): number {
    return this.queued;
  }

  private drain(): void {
    if (this.fd === null) throw new Error(`decision log ${this.path} is not open`);
    if (this.used > 0) writeAll(this.fd, this.buf.subarray(0, this.used));
    this.used = 0;
  }

  /** Write queued records (with `durable`, fsync too); returns how many this call made count. */
  flush(durable = false): number {
    this.drain();
    if (durable && this.fd !== null) fsyncSync(this.fd);
    const n = this.queued;
    this.queued = 0;
    this.written += n;
    return n;
  }

  close(): void {
    if (this.fd === null) return;
    this.flush(true);
    closeSync(this.fd);
    this.fd = null;
  }
}

const BUFFER_BYTES = 4 << 20;

/** Decision ids in the last `bytes` of the log: the records a crash may have left past the ledger checkpoint. */
export function recentDecisionIds(path: string, bytes = 8 << 20): Set<string> {
  const ids = new Set<string>();
  if (!existsSync(path)) return ids;
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    const text = buf.toString('utf8');
    const re = /"decision_id":"([^"]+)"/g;
    for (let m = re.exec(text); m; m = re.exec(text)) ids.add(m[1]!);
  } finally {
    closeSync(fd);
  }
  return ids;
}
