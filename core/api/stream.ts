import type { ConsolaInstance } from 'consola';
import type { TailedLine } from './decision-tail.ts';

/** The slice of Bun's ServerWebSocket the hub uses (so the drop policy is testable with plain objects). */
export type StreamClient = {
  send(data: string): number;
  getBufferedAmount(): number;
  terminate(): void;
  readonly data: { requestId: string; client: string; log: ConsolaInstance };
};

/**
 * Fans each new decision line out to every connected client. One string is built per record; a
 * client whose unsent bytes exceed the bound is dropped rather than buffered without limit, so a
 * stalled reader costs bounded memory and never delays the others (or the engine, which only appends).
 */
export class DecisionStream {
  private readonly clients = new Set<StreamClient>();
  sent = 0;
  dropped = 0;

  constructor(private readonly maxBufferedBytes: number) {}

  get size(): number {
    return this.clients.size;
  }

  add(client: StreamClient): void {
    this.clients.add(client);
  }

  remove(client: StreamClient): void {
    this.clients.delete(client);
  }

  /** The tail's callback: only records appended after start-up are broadcast. */
  onLine(line: TailedLine, live: boolean): void {
    if (!live || !line.record || this.clients.size === 0) return;
    // The line parsed as JSON above, so it can be embedded verbatim.
    this.broadcast(`{"type":"decision","offset":${line.offset},"record":${line.line}}`);
  }

  broadcast(message: string): void {
    for (const client of this.clients) {
      if (client.getBufferedAmount() > this.maxBufferedBytes) {
        this.drop(client, 'buffered');
        continue;
      }
      const status = client.send(message);
      // 0: Bun refused to queue more (its own backpressure limit); the client is as good as gone.
      if (status === 0) this.drop(client, 'refused');
      else this.sent++;
    }
  }

  private drop(client: StreamClient, why: string): void {
    this.clients.delete(client);
    this.dropped++;
    client.data.log.warn(
      `websocket client ${client.data.client} dropped: too slow (${why}, ${client.getBufferedAmount()} bytes unsent)`,
    );
    client.terminate();
  }
}
