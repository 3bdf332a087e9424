import { log } from '../log.ts';
import type { NotifyEvent } from '../schema/notify.ts';

export type WebhookOptions = {
  /** Events waiting beyond this are dropped oldest first (counted): memory stays bounded. */
  maxQueue?: number;
  /** Tries per event, the first included. */
  attempts?: number;
  /** First retry delay; doubles per retry with full jitter, capped at maxDelayMs. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Per request: a receiver slower than this counts as failed and is retried. */
  timeoutMs?: number;
  /** After close(), how long pending events may still be sent before they are abandoned. */
  drainMs?: number;
};

export type WebhookStats = {
  sent: number;
  failed: number;
  dropped: number;
  retries: number;
  pending: number;
};

const DEFAULTS: Required<WebhookOptions> = {
  maxQueue: 1000,
  attempts: 5,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
  timeoutMs: 5000,
  drainMs: 5000,
};

/** A response worth retrying: the receiver is down, overloaded or rate limiting (other 4xx will not improve). */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

/**
 * POSTs events as JSON to one URL from a background queue. `send` only enqueues (O(1), never
 * awaits), so a slow or failing receiver cannot hold up the engine's tick; one sender drains the
 * queue in order, retrying each event with jittered exponential backoff (honouring `Retry-After`)
 * up to `attempts`, then moves on. After `close()` it keeps sending for at most `drainMs`.
 */
export class WebhookNotifier {
  private readonly opts: Required<WebhookOptions>;
  private readonly queue: NotifyEvent[] = [];
  private running = false;
  private deadline: number | null = null;
  private readonly counts = { sent: 0, failed: 0, dropped: 0, retries: 0 };
  private idle: Promise<void> = Promise.resolve();

  constructor(
    readonly url: string,
    opts: WebhookOptions = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  send(event: NotifyEvent): void {
    if (this.deadline !== null) return;
    if (this.queue.length >= this.opts.maxQueue) {
      this.queue.shift();
      this.counts.dropped++;
    }
    this.queue.push(event);
    if (!this.running) {
      this.running = true;
      this.idle = this.pump().finally(() => {
        this.running = false;
      });
    }
  }

  stats(): WebhookStats {
    return { ...this.counts, pending: this.queue.length };
  }

  /** Stop taking events; the ones queued get `drainMs` more. Resolves when the queue is done or abandoned. */
  close(): Promise<void> {
    this.deadline ??= Date.now() + this.opts.drainMs;
    return this.idle;
  }

  private remaining(): number {
    return this.deadline === null ? Number.POSITIVE_INFINITY : this.deadline - Date.now();
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      if (this.remaining() <= 0) {
        this.counts.dropped += this.queue.length;
        log.warn(`notify: ${this.queue.length} event(s) not delivered to ${this.url} before shutdown`);
        this.queue.length = 0;
        return;
      }
      const event = this.queue[0]!;
      const ok = await this.deliver(event);
      this.queue.shift();
      if (ok) this.counts.sent++;
      else this.counts.failed++;
    }
  }

  private async deliver(event: NotifyEvent): Promise<boolean> {
    const body = JSON.stringify(event);
    for (let attempt = 1; ; attempt++) {
      let retryAfterMs: number | null = null;
      let why: string;
      try {
        const res = await fetch(this.url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-atl-event-id': event.id },
          body,
          signal: AbortSignal.timeout(Math.max(1, Math.min(this.opts.timeoutMs, this.remaining()))),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return true;
        why = `HTTP ${res.status}`;
        if (!retryable(res.status)) {
          log.warn(`notify: ${this.url} refused ${event.event} event ${event.id} (${why}); not retried`);
          return false;
        }
        const ra = Number(res.headers.get('retry-after'));
        if (Number.isFinite(ra) && ra >= 0) retryAfterMs = ra * 1000;
      } catch (err) {
        why = (err as Error).name === 'TimeoutError' ? 'timed out' : (err as Error).message;
      }
      if (attempt >= this.opts.attempts) {
        log.warn(`notify: gave up on ${event.event} event ${event.id} after ${attempt} attempts (${why})`);
        return false;
      }
      const cap = Math.min(this.opts.maxDelayMs, this.opts.baseDelayMs * 2 ** (attempt - 1));
      const delay = Math.min(retryAfterMs ?? Math.random() * cap, this.opts.maxDelayMs, this.remaining());
      if (delay < 0 || this.remaining() <= 0) return false;
      this.counts.retries++;
      await Bun.sleep(delay);
    }
  }
}
