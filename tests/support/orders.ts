import { appendOrderRequest } from '../../core/engine/order-inbox.ts';
import { dataPaths } from '../../core/paths.ts';
import type { OrderRequestRecord } from '../../core/schema/api.ts';

/** A paper order request as `POST /api/orders` queues it: a 0.01 BTC/USDT market buy unless `order` says otherwise. */
export function orderRequest(
  id: string,
  order: Partial<OrderRequestRecord['order']> = {},
): OrderRequestRecord {
  return {
    schema_version: '1.0.0',
    request_id: id,
    received_at: new Date().toISOString(),
    status: 'queued',
    source: 'api',
    http_request_id: `http-${id}`,
    client: '127.0.0.1',
    engine: { pid: 1, mode: 'paper_synthetic' },
    order: {
      symbol: 'BTC/USDT',
      side: 'buy',
      quantity: 0.01,
      order_type: 'market',
      price: null,
      stop_loss: null,
      take_profit: null,
      client_order_id: null,
      reason: null,
      ...order,
    },
  };
}

/** Queue requests in the data root's order inbox through the API's own writer. */
export function queueOrders(root: string, ...requests: OrderRequestRecord[]): void {
  for (const r of requests) appendOrderRequest(dataPaths(root).orderRequests, r);
}
