import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { repairTornTail, type TailRepair } from '../fsx/jsonl.ts';
import { WriterThread } from '../fsx/writer-thread.ts';
import { log } from '../log.ts';
import { compactDecision } from '../records/decision-compact.ts';
import { buildRunHeader, type RunInfo } from '../records/header.ts';
import { barOfId } from '../records/outcome-codec.ts';
import { lastLogLine, NO_ROTATION, openLog, type RotationPolicy } from '../records/segments.ts';
import type { DecisionRecord } from '../schema/decision.ts';
import type { RunHeader } from '../schema/record.ts';
import type { WriterReply, WriterRequest } from './log-writer.worker.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** The chain hash of a line: sha256 of its bytes without the newline (the writer thread hashes the same bytes). */
export function hashLine(line: string | Uint8Array): string {
  return Bun.CryptoHasher.hash('sha256', line, 'hex') as string;
}

const CHUNK_BYTES = 1 << 20;
const MAX_CHUNKS_IN_FLIGHT = 16; // bounds memory when the writer thread falls behind
/** Decisions the run header is learnt from (fewer when the first flush comes sooner). */
const HEADER_SAMPLE = 4096;

type Draft = Omit<DecisionRecord, 'prev_hash'>;

/**
 * The append-only decision log with its hash chain: each line ends with the sha256 of the line
 * before it (`prev_hash`, always the last field), so a deleted or edited line breaks the chain
 * where it happened. The engine serialises records; a writer thread chains, hashes and appends
 * them. A record counts as written once a flush has returned it.
 *
 * With a `RunInfo` the log is written as record v2: a run header line first (the pipeline's
 * declared stages and static thresholds, and what the run's first decisions share — they wait
 * for it in memory until the first flush), then each decision compacted against it. A header
 * learnt from fewer than HEADER_SAMPLE decisions is followed, once that many are in, by one learnt
 * from them all. Without a `RunInfo`, whole v1 records are written.
 */
export class DecisionLog {
  private readonly thread: WriterThread<WriterRequest, Extract<WriterReply, { type: 'flushed' }>>;
  private chunk = newChunk(CHUNK_BYTES);
  private readonly spare: ArrayBuffer[] = [];
  private used = 0;
  private ends: number[] = [];
  private queued = 0;
  /** Records flushed to the file by this process. */
  written = 0;
  repair: TailRepair | null = null;
  /** Hash of the last line written (the chain head). */
  head = GENESIS_HASH;
  /** The header this run's lines are compacted against (null until it is written). */
  header: RunHeader | null = null;
  private samples: string[] = [];
  /** While the header was learnt from fewer than HEADER_SAMPLE decisions: those and the ones since. */
  private learning: string[] | null = null;
  private headerLines = 0;

  constructor(
    readonly path: string,
    private readonly run: RunInfo | null = null,
    private readonly rotation: RotationPolicy = NO_ROTATION,
  ) {
    this.thread = new WriterThread(
      new URL('./log-writer.worker.ts', import.meta.url),
      `decision log ${path}`,
      path,
      MAX_CHUNKS_IN_FLIGHT,
    );
  }

  open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.repair = repairTornTail(this.path);
    // The chain continues from the newest segment's last line (an archive, if a crash came mid-rotation).
    const last = lastLogLine(this.path);
    if (last !== null) this.head = hashLine(last);
    this.thread.start((reply) => this.onReply(reply as WriterReply));
    this.thread.post({ type: 'open', path: this.path, prevHash: this.head, rotation: this.rotation });
  }

  private onReply(reply: WriterReply): void {
    if (reply.type === 'consumed') {
      if (reply.buffer.byteLength === CHUNK_BYTES) this.spare.push(reply.buffer);
      this.thread.consumed();
    } else if (reply.type === 'flushed') this.thread.answer(reply.id, reply);
  }

  /** Queue one record (serialised here; chained, hashed and written by the writer thread). */
  append(record: Draft): void {
    if (!this.run) this.push(JSON.stringify(record));
    else if (this.header) {
      this.push(JSON.stringify(compactDecision(this.header, record)));
      if (this.learning) {
        this.learning.push(JSON.stringify(record));
        if (this.learning.length >= HEADER_SAMPLE) this.relearn();
      }
    } else {
      // Kept as text: a stage may reuse its objects for the next decision.
      this.samples.push(JSON.stringify(record));
      if (this.samples.length >= HEADER_SAMPLE) this.startRun();
    }
  }

  /** Write the run header, learnt from the decisions so far, then those decisions. */
  private startRun(): void {
    if (!this.run || this.header) return;
    const drafts = this.samples.map((t) => JSON.parse(t) as Draft);
    // A flush before a full sample (a slow start, warm-up bars only) learns from too few: the
    // header is learnt again once HEADER_SAMPLE decisions are in (see `relearn`).
    this.learning = drafts.length < HEADER_SAMPLE ? this.samples : null;
    this.samples = [];
    this.writeHeader(drafts);
    for (const d of drafts) this.push(JSON.stringify(compactDecision(this.header!, d)));
  }

  /**
   * A second header for the same run, learnt from a full sample: the stage list and thresholds
   * are the declared ones as before, the usual verdicts, values and shapes those of the run past
   * its first flush. Lines after it are compacted against it; the ones before keep theirs.
   */
  private relearn(): void {
    const drafts = this.learning!.map((t) => JSON.parse(t) as Draft);
    this.learning = null;
    this.writeHeader(drafts);
  }

  private writeHeader(drafts: Draft[]): void {
    const { prev_hash: _chain, ...header } = buildRunHeader(this.run!, drafts, new Date().toISOString());
    this.push(JSON.stringify(header));
    this.headerLines++;
    this.header = header as RunHeader;
  }

  private push(json: string): void {
    // Worst case 3 bytes per UTF-16 unit; hand the chunk over rather than overflow it.
    if (this.used + json.length * 3 > this.chunk.length) {
      this.sendChunk();
      if (json.length * 3 > this.chunk.length) this.chunk = newChunk(json.length * 3);
    }
    this.used += this.chunk.write(json, this.used);
    this.ends.push(this.used);
    this.queued++;
  }

  private sendChunk(): void {
    if (this.ends.length === 0) return;
    // The chunk owns its ArrayBuffer, so it is handed over without a copy.
    const bytes = this.chunk.buffer as ArrayBuffer;
    const ends = Int32Array.from(this.ends);
    this.thread.send({ type: 'records', buffer: bytes, ends }, [bytes, ends.buffer]);
    const reused = this.spare.pop();
    this.chunk = reused ? Buffer.from(reused) : newChunk(CHUNK_BYTES);
    this.used = 0;
    this.ends = [];
  }

  get pending(): number {
    return this.queued - this.headerLines + this.samples.length;
  }

  /** Wait while too much is queued for the writer thread (called between batches). */
  backpressure(): Promise<void> {
    return this.thread.backpressure();
  }

  /** Write everything queued (with `durable`, fsync too); returns how many records this call made count. */
  async flush(durable = false, type: 'flush' | 'close' = 'flush'): Promise<number> {
    if (this.samples.length > 0) this.startRun();
    this.sendChunk();
    const headers = this.headerLines;
    const r = await this.thread.request((id) => ({ type, id, durable }));
    for (const archive of r.rotated) log.info(`decision log rotated: ${archive}`);
    this.head = r.prevHash;
    this.queued -= r.records;
    this.headerLines -= headers;
    const decisions = r.records - headers;
    this.written += decisions;
    return decisions;
  }

  /** The writer's error, once it has failed (nothing queued after it counts as written). */
  get error(): Error | null {
    return this.thread.error;
  }

  async close(): Promise<number> {
    if (!this.thread.started) return 0;
    try {
      return this.thread.error ? 0 : await this.flush(true, 'close');
    } finally {
      this.thread.terminate();
    }
  }
}

function newChunk(bytes: number): Buffer {
  return Buffer.from(new ArrayBuffer(bytes));
}

/**
 * Ids of the decisions the log holds past the ledger checkpoint (what a crash between a log
 * flush and the ledger commit leaves behind), read backwards from the end of the file until
 * every symbol reaches its checkpointed bar; a symbol with no checkpoint is scanned to the start.
 */
export function decisionIdsPastCheckpoint(
  path: string,
  symbols: string[],
  lastBarTs: Record<string, string>,
): Set<string> {
  const ids = new Set<string>();
  const open = new Set(symbols);
  const log = openLog(path); // back through the archives when the checkpoint is older than the active file
  try {
    let end = log.end;
    let carry = '';
    const chunk = Buffer.allocUnsafe(4 << 20);
    while (end > log.start && open.size > 0) {
      const start = Math.max(log.start, end - chunk.length);
      const n = log.read(chunk, 0, end - start, start);
      const text = chunk.toString('utf8', 0, n) + carry;
      const lines = text.split('\n');
      carry = start > log.start ? lines.shift()! : '';
      for (let i = lines.length - 1; i >= 0 && open.size > 0; i--) {
        const line = lines[i]!;
        const id = /"decision_id":"([^"]+)"/.exec(line)?.[1];
        const bar = /"bar_ts":"([^"]+)"/.exec(line)?.[1] ?? (id ? barOfId(id) : null);
        const symbol = /"symbol":"([^"]+)"/.exec(line)?.[1];
        if (!id || !bar || !symbol) continue;
        const checkpointed = lastBarTs[symbol];
        if (checkpointed !== undefined && bar <= checkpointed) open.delete(symbol);
        else ids.add(id);
      }
      end = start;
    }
  } finally {
    log.close();
  }
  return ids;
}
