import { existsSync } from 'node:fs';
import { LRUCache } from 'lru-cache';
import { appendOrderRequest } from '../engine/order-inbox.ts';
import { scanJsonl } from '../fsx/jsonl.ts';
import type { DataPaths } from '../paths.ts';
import type { OrderRequestBody, OrderRequestRecord } from '../schema/api.ts';
import { readStatus } from '../status.ts';
import { errorResponse, type FieldError, jsonResponse } from './http.ts';
import { validationFailed } from './validation.ts';

const PAPER_MODES = new Set(['backtest', 'paper_synthetic', 'paper_live_data']);

/** Rules one field cannot express: a limit order needs a price; stops sit on the losing side, targets on the winning side. */
export function crossFieldErrors(o: OrderRequestBody): FieldError[] {
  const errors: FieldError[] = [];
  const type = o.order_type ?? 'market';
  if (type === 'limit' && o.price === undefined)
    errors.push({ path: '/price', message: 'is required for a limit order' });
  if (type === 'market' && o.price !== undefined)
    errors.push({
      path: '/price',
      message: 'must be omitted for a market order (it fills at the next price)',
    });
  const buy = o.side === 'buy';
  const below = (a: number, b: number) => (buy ? a < b : a > b);
  const word = buy ? 'below' : 'above';
  const { stop_loss: sl, take_profit: tp, price } = o;
  if (sl !== undefined && tp !== undefined && !below(sl, tp)) {
    errors.push({ path: '/stop_loss', message: `must be ${word} take_profit for a ${o.side} order` });
  }
  if (price !== undefined && sl !== undefined && !below(sl, price)) {
    errors.push({ path: '/stop_loss', message: `must be ${word} price for a ${o.side} order` });
  }
  if (price !== undefined && tp !== undefined && !below(price, tp)) {
    errors.push({
      path: '/take_profit',
      message: `must be ${buy ? 'above' : 'below'} price for a ${o.side} order`,
    });
  }
  return errors;
}

/**
 * Paper order requests are queued, never filled here: each accepted request is appended (and
 * fsynced before the 202) to `unified_trading/order_requests.jsonl`, the engine's inbox. Requests
 * are refused while trading is halted, when no engine runs, outside paper modes, and for symbols
 * the engine does not trade. A repeated `client_order_id` returns the first request, not a second order.
 */
export class OrderDesk {
  private readonly seen = new LRUCache<string, string>({ max: 10_000 });
  private loaded = false;

  constructor(private readonly paths: DataPaths) {}

  submit(o: OrderRequestBody, ctx: { httpRequestId: string; client: string }): Response {
    const fields = crossFieldErrors(o);
    if (fields.length > 0) return validationFailed(fields, 'the order');
    const view = readStatus(this.paths);
    if (view.halt.halted) {
      return errorResponse(
        'trading_halted',
        `trading is halted (${view.halt.reason}); no orders are accepted`,
        {
          hint: 'an operator clears it with `npx atl emergency-stop --clear --approver NAME`',
        },
      );
    }
    const engine = view.engine.pidfile;
    if (!engine || view.engine.process !== 'same') {
      return errorResponse(
        'engine_not_running',
        'no engine is running on this data root, so nothing would act on the order',
        {
          hint: 'start one with `npx atl run --mode paper_synthetic` (or backtest)',
        },
      );
    }
    if (!PAPER_MODES.has(engine.mode)) {
      return errorResponse(
        'not_paper_mode',
        `the engine runs in ${engine.mode}; the API takes paper order requests only`,
      );
    }
    const symbols = view.heartbeat?.symbols ?? [];
    if (!symbols.includes(o.symbol)) {
      return errorResponse('symbol_not_traded', `the engine does not trade ${o.symbol}`, {
        hint: `it trades ${symbols.join(', ') || 'nothing yet'}`,
      });
    }
    this.loadSeen();
    const previous = o.client_order_id ? this.seen.get(o.client_order_id) : undefined;
    if (previous) return jsonResponse({ request_id: previous, status: 'queued', duplicate: true }, 200);

    const record: OrderRequestRecord = {
      schema_version: '1.0.0',
      request_id: crypto.randomUUID(),
      received_at: new Date().toISOString(),
      status: 'queued',
      source: 'api',
      http_request_id: ctx.httpRequestId,
      client: ctx.client,
      engine: { pid: engine.pid, mode: engine.mode },
      order: {
        symbol: o.symbol,
        side: o.side,
        quantity: o.quantity,
        order_type: o.order_type ?? 'market',
        price: o.price ?? null,
        stop_loss: o.stop_loss ?? null,
        take_profit: o.take_profit ?? null,
        client_order_id: o.client_order_id ?? null,
        reason: o.reason ?? null,
      },
    };
    appendOrderRequest(this.paths.orderRequests, record);
    if (o.client_order_id) this.seen.set(o.client_order_id, record.request_id);
    return jsonResponse(
      {
        request_id: record.request_id,
        status: 'queued',
        received_at: record.received_at,
        queue: 'unified_trading/order_requests.jsonl',
        note: 'queued for the engine; a fill, if any, appears in its decision log and ledger',
      },
      202,
    );
  }

  /** Client order ids already queued (from the file, once), so a retry after a restart is still recognised. */
  private loadSeen(): void {
    if (this.loaded) return;
    this.loaded = true;
    if (!existsSync(this.paths.orderRequests)) return;
    scanJsonl(this.paths.orderRequests, ({ line }) => {
      try {
        const r = JSON.parse(line) as Partial<OrderRequestRecord>;
        if (r.order?.client_order_id && r.request_id) this.seen.set(r.order.client_order_id, r.request_id);
      } catch {
        // a damaged line names no id; the others still count
      }
    });
  }
}
