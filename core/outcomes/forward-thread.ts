import { type ThreadError, WriterThread } from '../fsx/writer-thread.ts';
import type { RotationPolicy } from '../records/segments.ts';
import type { ActionName } from '../schema/common.ts';
import type { ForwardSink, ForwardState } from './forward.ts';

/** What one entry of a batch is: its numbers follow in `nums`, its texts in `units`, in call order. */
export const KIND = { decided: 0, bar: 1, line: 2 } as const;

export type ForwardRequest =
  | { type: 'open'; path: string; rotation: RotationPolicy }
  | { type: 'restore'; saved: ForwardState | null }
  | Batch
  | { type: 'checkpoint' | 'close'; id: number };

/**
 * Calls as numbers: names (symbols, actions, kinds, id prefixes and suffixes) by their index in
 * the thread's list, which `names` extends; trade ids and lines as the lengths of their texts in `units` (UTF-16,
 * copied by a loop: the engine's texts are short, and a native write costs more per call).
 * No string is cloned: a structured clone of a few strings costs the engine more than the work
 * it hands over.
 */
export type Batch = {
  type: 'batch';
  kinds: Uint8Array;
  nums: Float64Array;
  units: ArrayBuffer;
  names: string[];
  n: number;
};

export type ForwardReply =
  | { type: 'consumed'; pendingBytes: number; kinds: Uint8Array; nums: Float64Array; units: ArrayBuffer }
  | { type: 'done'; id: number; state: ForwardState | null }
  | ThreadError;

/** Calls sent to the thread at a time (and always at a checkpoint). */
const BATCH = 4096;
/** Batches sent and not yet replayed past which the engine waits (memory stays bounded if the thread falls behind). */
const MAX_IN_FLIGHT = 8;
/** Numbers an entry takes at most (a decision's). */
const NUMS = 10;
const UNITS = BATCH * 64;
/** A name's index when there is none (`null`). */
export const NO_NAME = -1;

/**
 * A `ForwardSink` on a thread of its own (forward.worker.ts): each call is written to a batch of
 * typed arrays, in order, and the thread replays the batch into a `ForwardReturns`. The engine
 * pays for a few array writes per decision; resolving, serialising and writing the lines run on
 * the second core. `checkpoint()` waits until the thread has flushed everything sent, and brings
 * back the state as of then; a failure there (a full disk) is thrown from the next call, like
 * the file's own error would have been.
 */
export class ForwardThread implements ForwardSink {
  private readonly thread: WriterThread<ForwardRequest, ForwardState | null>;
  private kinds: Uint8Array = new Uint8Array(BATCH);
  private nums: Float64Array = new Float64Array(BATCH * NUMS);
  private units: Uint16Array = new Uint16Array(UNITS);
  private used = 0;
  private n = 0;
  private ni = 0;
  private readonly nameAt = new Map<string, number>();
  private names: string[] = [];
  private reported = 0;
  /** Arrays the thread handed back, for the next batches. */
  private readonly spare: { kinds: Uint8Array; nums: Float64Array; units: Uint16Array }[] = [];
  private last: ForwardState | null = null;

  constructor(
    private readonly path: string,
    private readonly rotation: RotationPolicy,
  ) {
    this.thread = new WriterThread(
      new URL('./forward.worker.ts', import.meta.url),
      `outcome log ${path}`,
      path,
      MAX_IN_FLIGHT,
    );
  }

  /** Started on first use: a recorder built for a run that never starts leaves no thread behind. */
  private started(): WriterThread<ForwardRequest, ForwardState | null> {
    if (!this.thread.started) {
      this.thread.start((reply) => this.onReply(reply as ForwardReply));
      this.thread.post({ type: 'open', path: this.path, rotation: this.rotation });
    }
    return this.thread;
  }

  private onReply(reply: ForwardReply): void {
    if (reply.type === 'consumed') {
      this.reported = reply.pendingBytes;
      if (reply.units.byteLength === UNITS * 2)
        this.spare.push({ kinds: reply.kinds, nums: reply.nums, units: new Uint16Array(reply.units) });
      this.thread.consumed();
    } else if (reply.type === 'done') this.thread.answer(reply.id, reply.state);
  }

  /** Wait while too many batches are queued for the thread (called between the engine's batches). */
  backpressure(): Promise<void> {
    return this.thread.backpressure();
  }

  decided(
    symbol: string,
    idPrefix: string,
    idSuffix: string,
    closeTs: number,
    openTs: number,
    close: number,
    price: number,
    action: ActionName,
    signalAction: ActionName | null,
    shadowAction: string | null,
  ): void {
    this.room(0);
    const { nums, ni } = this;
    nums[ni] = closeTs;
    nums[ni + 1] = openTs;
    nums[ni + 2] = close;
    nums[ni + 3] = price;
    nums[ni + 4] = this.name(symbol);
    nums[ni + 5] = this.name(action);
    nums[ni + 6] = signalAction === null ? NO_NAME : this.name(signalAction);
    nums[ni + 7] = shadowAction === null ? NO_NAME : this.name(shadowAction);
    nums[ni + 8] = this.name(idPrefix);
    nums[ni + 9] = this.name(idSuffix);
    this.added(KIND.decided, 10);
  }

  bar(symbol: string, closeTs: number, openTs: number, close: number): void {
    this.room(0);
    const { nums, ni } = this;
    nums[ni] = closeTs;
    nums[ni + 1] = openTs;
    nums[ni + 2] = close;
    nums[ni + 3] = this.name(symbol);
    this.added(KIND.bar, 4);
  }

  line(id: string, kind: string, text: string): void {
    this.room(id.length + text.length);
    const { nums, ni } = this;
    nums[ni] = this.text(id);
    nums[ni + 1] = this.name(kind);
    nums[ni + 2] = this.text(text);
    this.added(KIND.line, 3);
  }

  /** Send the batch first when `chars` more UTF-16 units would not fit. */
  private room(chars: number): void {
    const failure = this.thread.error;
    if (failure) throw failure;
    if (this.used + chars <= this.units.length) return;
    this.send();
    if (chars > this.units.length) this.units = new Uint16Array(chars);
  }

  private name(s: string): number {
    let i = this.nameAt.get(s);
    if (i === undefined) {
      i = this.nameAt.size;
      this.nameAt.set(s, i);
      this.names.push(s);
    }
    return i;
  }

  /** The text appended; its length returned. */
  private text(s: string): number {
    const { units } = this;
    const n = s.length;
    let at = this.used;
    for (let i = 0; i < n; i++) units[at++] = s.charCodeAt(i);
    this.used = at;
    return n;
  }

  private added(kind: number, nums: number): void {
    this.kinds[this.n++] = kind;
    this.ni += nums;
    if (this.n === BATCH) this.send();
  }

  private send(): void {
    if (this.n === 0) return;
    const { kinds, nums, names, n } = this;
    const units = this.units.buffer as ArrayBuffer;
    this.started().send({ type: 'batch', kinds, nums, units, names, n }, [
      kinds.buffer as ArrayBuffer,
      nums.buffer as ArrayBuffer,
      units,
    ]);
    const next = this.spare.pop();
    this.kinds = next?.kinds ?? new Uint8Array(BATCH);
    this.nums = next?.nums ?? new Float64Array(BATCH * NUMS);
    this.units = next?.units ?? new Uint16Array(UNITS);
    this.names = [];
    this.used = 0;
    this.n = 0;
    this.ni = 0;
  }

  restore(saved: ForwardState | null): void {
    this.started().post({ type: 'restore', saved });
  }

  private request(type: 'checkpoint' | 'close'): Promise<ForwardState | null> {
    this.send();
    return this.started().request((id) => ({ type, id }));
  }

  async checkpoint(): Promise<void> {
    this.last = await this.request('checkpoint');
    this.reported = 0;
  }

  state(): ForwardState {
    if (!this.last) throw new Error('outcome recorder: no state before its first checkpoint');
    return this.last;
  }

  pendingBytes(): number {
    return this.reported;
  }

  async close(): Promise<void> {
    try {
      if (this.thread.started && !this.thread.error) await this.request('close');
    } finally {
      this.abandon();
    }
  }

  abandon(): void {
    this.thread.terminate();
  }
}
