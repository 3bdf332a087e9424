import { createHash } from 'node:crypto';
import { sleepUnlessAborted } from '../engine/feeds.ts';
import { log } from '../log.ts';
import type { ExchangeClient } from './client.ts';
import { ExchangeFailure } from './errors.ts';

export type OrderIntent = { symbol: string; side: 'buy' | 'sell'; quantity: number; clientOrderId: string };

export type OrderOutcome =
  | {
      status: 'filled' | 'open';
      orderId: string;
      clientOrderId: string;
      filled: number;
      average: number | null;
      fee: number;
      reconciled: boolean;
    }
  | { status: 'rejected'; reason: string; clientOrderId: string }
  /** Neither placement nor the queries after it could tell whether the order exists. */
  | { status: 'unknown'; reason: string; clientOrderId: string };

const RECONCILE_QUERIES = 3;
const RECONCILE_PAUSE_MS = 500;

/**
 * The client order id for one fill of one decision: deterministic, so a restart that re-derives
 * the decision finds the order it already placed instead of placing it twice (Binance allows
 * 36 characters of `[.A-Za-z0-9:/_-]`).
 */
export function clientOrderIdFor(decisionId: string, fillIndex: number): string {
  return `atl-${createHash('sha256').update(`${decisionId}#${fillIndex}`).digest('hex').slice(0, 32)}`;
}

/**
 * Market orders through ccxt. A placement is never retried blindly: when its outcome is unknown
 * (5xx, timeout, a reply lost on the way back) the order is looked up by its client id first,
 * and only an order the exchange says does not exist is sent again, once, with the same id.
 * The same lookup runs before the first placement, so a re-derived decision never orders twice.
 */
export class ExchangeOrders {
  constructor(
    private readonly client: ExchangeClient,
    private readonly timeoutMs: number,
  ) {}

  async place(intent: OrderIntent): Promise<OrderOutcome> {
    // A restart may re-derive a decision whose order already went out: look before placing.
    const existing = await this.lookup(intent);
    if (existing !== 'absent') return existing;
    const first = await this.attempt(intent);
    if (first.status !== 'unknown') return first;
    log.warn(
      `${intent.symbol} order ${intent.clientOrderId}: outcome unknown (${first.reason}); reconciling before any retry`,
    );
    const found = await this.lookup(intent);
    if (found !== 'absent') return found;
    log.warn(
      `${intent.symbol} order ${intent.clientOrderId}: the exchange has no such order; placing it once more with the same id`,
    );
    const second = await this.attempt(intent);
    if (second.status !== 'unknown') return second;
    const again = await this.lookup(intent);
    return again === 'absent'
      ? { status: 'rejected', reason: 'not_placed_after_retry', clientOrderId: intent.clientOrderId }
      : again;
  }

  private async attempt(intent: OrderIntent): Promise<OrderOutcome> {
    try {
      const order = await this.client.call(
        (ex) =>
          ex.createOrder(intent.symbol, 'market', intent.side, intent.quantity, undefined, {
            newClientOrderId: intent.clientOrderId,
          }),
        { deadline: Date.now() + this.timeoutMs, idempotent: false },
      );
      return fromCcxt(order, intent.clientOrderId, false);
    } catch (err) {
      const f = err instanceof ExchangeFailure ? err : null;
      // Refused before processing: a client error, a rate limit (Binance rejects those unprocessed) or an open circuit.
      if (
        !f ||
        f.kind === 'rejected' ||
        f.kind === 'rate_limited' ||
        f.opts.circuitOpen ||
        f.kind === 'dns_failure' ||
        f.kind === 'connection_refused'
      ) {
        return { status: 'rejected', reason: f?.reason ?? String(err), clientOrderId: intent.clientOrderId };
      }
      return { status: 'unknown', reason: f.reason, clientOrderId: intent.clientOrderId };
    }
  }

  /** The order by client id, `absent` when the exchange says it does not exist, or unknown when it cannot say. */
  private async lookup(intent: OrderIntent): Promise<OrderOutcome | 'absent'> {
    let last = 'exchange_unavailable';
    for (let i = 0; i < RECONCILE_QUERIES; i++) {
      try {
        const order = await this.client.call(
          (ex) =>
            ex.fetchOrder(undefined as unknown as string, intent.symbol, {
              origClientOrderId: intent.clientOrderId,
            }),
          {
            deadline: Date.now() + this.timeoutMs,
            idempotent: true,
          },
        );
        return fromCcxt(order, intent.clientOrderId, true);
      } catch (err) {
        if (err instanceof ExchangeFailure && err.reason === 'rejected:OrderNotFound') return 'absent';
        last = err instanceof ExchangeFailure ? err.reason : String(err);
      }
      await sleepUnlessAborted(RECONCILE_PAUSE_MS * (i + 1), new AbortController().signal);
    }
    return { status: 'unknown', reason: last, clientOrderId: intent.clientOrderId };
  }
}

type CcxtOrder = {
  id?: string;
  status?: string;
  filled?: number;
  average?: number;
  fee?: { cost?: number } | null;
};

function fromCcxt(o: CcxtOrder, clientOrderId: string, reconciled: boolean): OrderOutcome {
  const status = o.status === 'closed' ? 'filled' : o.status === 'open' ? 'open' : null;
  if (!status) return { status: 'rejected', reason: `order_${o.status ?? 'without_status'}`, clientOrderId };
  return {
    status,
    orderId: String(o.id ?? ''),
    clientOrderId,
    filled: o.filled ?? 0,
    average: o.average ?? null,
    fee: o.fee?.cost ?? 0,
    reconciled,
  };
}
