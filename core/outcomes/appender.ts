import { JsonlAppender } from '../fsx/jsonl.ts';
import { applyRetention } from '../records/retention.ts';
import {
  crashPoint,
  listSegments,
  NO_ROTATION,
  type RotationPolicy,
  rotateActive,
} from '../records/segments.ts';

/**
 * The outcome file's appender, rotating like the decision log: before a line that would start
 * past `maxBytes`, the active file becomes the next archive. Lines still reach disk only at
 * `flush()` (the engine's checkpoints): a rotation decided by `push` waits for it, so where the
 * file rotates depends only on the lines, never on when checkpoints fall.
 */
export class RotatingAppender {
  private queuedBytes = 0;
  private appender: JsonlAppender;
  /** Lines after each pending seam, oldest seam first (written after that rotation, at flush). */
  private afterSeams: string[][] = [];
  /** Where the active file starts in the log's offsets, and its bytes written and queued. */
  private activeStart = 0;
  private activeBytes = 0;
  private linesInActive = 0;
  /** The clean stop's provisional lines never rotate the file: the resumed run removes them. */
  private holding = false;
  /** Archives made since the last `takeRotated()`. */
  private rotated: string[] = [];

  constructor(
    readonly path: string,
    private readonly policy: RotationPolicy = NO_ROTATION,
  ) {
    this.appender = new JsonlAppender(path);
  }

  open(): void {
    applyRetention(this.path, 0); // finishes a removal a crash interrupted (the engine removes, after a commit)
    const log = listSegments(this.path);
    const active = log.segments.at(-1);
    const isActive = active !== undefined && active.seq === null;
    this.activeStart = isActive ? active.start : log.end;
    this.activeBytes = isActive ? active.size : 0;
    this.linesInActive = this.activeBytes > 0 ? 1 : 0;
    this.appender.open();
  }

  push(line: string): void {
    const bytes = Buffer.byteLength(line) + 1;
    if (
      !this.holding &&
      this.policy.maxBytes > 0 &&
      this.linesInActive > 0 &&
      this.activeBytes >= this.policy.maxBytes
    ) {
      this.afterSeams.push([]);
      this.activeStart += this.activeBytes;
      this.activeBytes = 0;
      this.linesInActive = 0;
    }
    const seam = this.afterSeams.at(-1);
    if (seam) seam.push(line);
    else this.appender.push(line);
    this.activeBytes += bytes;
    this.queuedBytes += bytes;
    this.linesInActive++;
  }

  /** Write what is queued, rotating at each seam on the way (durable before each rename). */
  flush(durable = false): void {
    for (const lines of this.afterSeams) {
      this.appender.close(); // flushes and fsyncs
      crashPoint('rotate:synced', this.path);
      this.rotated.push(rotateActive(this.path));
      crashPoint('rotate:opened', this.path);
      this.appender = new JsonlAppender(this.path);
      this.appender.open();
      for (const line of lines) this.appender.push(line);
    }
    this.afterSeams = [];
    this.appender.flush(durable);
    this.queuedBytes = 0;
  }

  /** Bytes pushed since the last flush (held in memory until then). */
  get pendingBytes(): number {
    return this.queuedBytes;
  }

  /** From now on lines stay in the active file, whatever its size (the clean stop's last words). */
  hold(): void {
    this.holding = true;
  }

  /** The log's size in its offsets, as of the last flush. */
  get flushedBytes(): number {
    return this.activeStart + this.activeBytes - this.appender.pendingBytes;
  }

  takeRotated(): string[] {
    const out = this.rotated;
    this.rotated = [];
    return out;
  }

  close(): void {
    this.flush(true);
    this.appender.close();
  }
}
