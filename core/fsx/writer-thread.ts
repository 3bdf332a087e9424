import { withStoragePath } from './storage-fault.ts';

/** How a writer thread reports its failure: once it has failed, it answers every request with this. */
export type ThreadError = { type: 'error'; message: string; code: string | null; path: string | null };

/**
 * The engine's side of a writer thread (the decision log's, the outcome recorder's): the worker,
 * the first error it reports (the cause: later ones are its echoes, and every call after it
 * throws it), requests answered by id, and the count of buffers sent and not yet handed back,
 * past which the engine waits between batches so memory stays bounded if the thread falls behind.
 * The worker is unref'd except while a request is awaited: a run that ends without closing it
 * still exits.
 */
export class WriterThread<Request, Answer> {
  private worker: Worker | null = null;
  private failure: Error | null = null;
  private seq = 0;
  private readonly waiters = new Map<number, (answer: Answer | null) => void>();
  private inFlight = 0;
  private roomWaiter: (() => void) | null = null;

  constructor(
    private readonly script: URL,
    /** What the thread writes, as error messages name it ("decision log /data/decisions.jsonl"). */
    private readonly what: string,
    private readonly path: string,
    private readonly maxInFlight: number,
  ) {}

  get started(): boolean {
    return this.worker !== null;
  }

  /** The thread's error, once it has failed (nothing sent after it counts as written). */
  get error(): Error | null {
    return this.failure;
  }

  start(onReply: (reply: unknown) => void): void {
    this.worker = new Worker(this.script.href);
    this.worker.onmessage = (e: MessageEvent) => {
      const reply = e.data as ThreadError | { type: string };
      if (reply.type === 'error') this.failed(reply as ThreadError);
      else onReply(reply);
    };
    this.worker.onerror = (e) => this.fail(new Error(`${this.what} thread crashed: ${e.message}`));
    this.worker.unref();
  }

  post(message: Request, transfer: ArrayBuffer[] = []): void {
    if (this.failure) throw this.failure;
    if (!this.worker) throw new Error(`${this.what} is not open`);
    this.worker.postMessage(message, transfer);
  }

  /** Post a buffer the thread hands back with `consumed()`. */
  send(message: Request, transfer: ArrayBuffer[]): void {
    this.post(message, transfer);
    this.inFlight++;
  }

  consumed(): void {
    this.inFlight--;
    this.wake();
  }

  /** Post the request `make(id)` and wait for `answer(id, …)`; the thread's failure is thrown instead. */
  async request(make: (id: number) => Request): Promise<Answer> {
    const id = ++this.seq;
    const reply = new Promise<Answer | null>((resolve) => this.waiters.set(id, resolve));
    this.post(make(id));
    this.worker!.ref();
    const answer = await reply.finally(() => this.worker?.unref());
    if (this.failure) throw this.failure;
    return answer as Answer;
  }

  answer(id: number, answer: Answer): void {
    this.waiters.get(id)?.(answer);
    this.waiters.delete(id);
  }

  /** Wait while more buffers than allowed are with the thread (called between the engine's batches). */
  async backpressure(): Promise<void> {
    while (this.inFlight > this.maxInFlight && !this.failure) {
      await new Promise<void>((resolve) => {
        this.roomWaiter = resolve;
      });
    }
    if (this.failure) throw this.failure;
  }

  private failed(reply: ThreadError): void {
    const err = new Error(`${this.what}: ${reply.message}`) as NodeJS.ErrnoException;
    if (reply.code) err.code = reply.code;
    this.fail(withStoragePath(err, reply.path ?? this.path));
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const resolve of this.waiters.values()) resolve(null);
    this.waiters.clear();
    this.wake();
  }

  private wake(): void {
    this.roomWaiter?.();
    this.roomWaiter = null;
  }

  terminate(): void {
    this.worker?.terminate();
    this.worker = null;
  }
}

/**
 * The thread's side: run each request through `handle`; after the first error (reported with the
 * file it was for), stop for good and answer every later request with it — after a failed write
 * the file's state is unknown, so writing on could glue or duplicate lines. `cleanup` runs once,
 * on that error (closing the file).
 */
export function serveRequests<Request>(
  handle: (request: Request) => void,
  cleanup: () => void = () => {},
): void {
  let broken: ThreadError | null = null;
  (globalThis as unknown as Worker).onmessage = (event: MessageEvent<Request>) => {
    if (broken) {
      postMessage(broken);
      return;
    }
    try {
      handle(event.data);
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { storagePath?: string };
      broken = {
        type: 'error',
        message: e.message,
        code: e.code ?? null,
        path: e.storagePath ?? e.path ?? null,
      };
      try {
        cleanup();
      } catch {
        // already failing; the first error is the one reported
      }
      postMessage(broken);
    }
  };
}
