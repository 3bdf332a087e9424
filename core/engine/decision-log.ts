import { closeSync, existsSync, fstatSync, openSync, readSync } from 'node:fs';
import { JsonlAppender, readLastLine, repairTornTail, type TailRepair } from '../fsx/jsonl.ts';
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
  private readonly appender: JsonlAppender;
  private prevHash = GENESIS_HASH;
  /** Records flushed to the file by this process. */
  written = 0;
  repair: TailRepair | null = null;

  constructor(readonly path: string) {
    this.appender = new JsonlAppender(path);
  }

  open(): void {
    this.repair = repairTornTail(this.path);
    const last = readLastLine(this.path);
    if (last !== null) this.prevHash = hashLine(last);
    this.appender.open();
  }

  append(record: Omit<DecisionRecord, 'prev_hash'> & { prev_hash?: string }): void {
    record.prev_hash = this.prevHash;
    const line = JSON.stringify(record);
    this.prevHash = hashLine(line);
    this.appender.push(line);
  }

  get pending(): number {
    return this.appender.pendingCount;
  }

  /** Write queued records; returns how many became durable in this call. */
  flush(durable = false): number {
    const n = this.appender.pendingCount;
    this.appender.flush(durable);
    this.written += n;
    return n;
  }

  close(): void {
    this.written += this.appender.pendingCount;
    this.appender.close();
  }
}

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
