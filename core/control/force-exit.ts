import { hostname, userInfo } from 'node:os';
import { appendOrderRequest } from '../engine/order-inbox.ts';
import { refusedError, unknownError } from '../errors.ts';
import { MODE_TRAITS } from '../modes/modes.ts';
import type { DataPaths } from '../paths.ts';
import type { OrderRequestRecord } from '../schema/api.ts';
import type { ModeName } from '../schema/common.ts';
import { readStatus } from '../status.ts';

export type ForceExitRequest = { symbol: string; reason: string | null; now?: Date };

function who(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `uid ${process.getuid?.() ?? '?'}@${hostname()}`;
  }
}

/**
 * `atl force-exit <symbol>`: queue a market exit of the symbol's open paper position through the
 * engine's order inbox (`unified_trading/order_requests.jsonl`, the file `POST /api/orders`
 * writes), so the running engine closes it on the symbol's next bar and records it in that
 * decision's gate_trace (`operator_order`). The request is `reduce_only`: if the position closed
 * before the bar, the engine refuses it rather than opening the opposite side.
 * Refused (exit 2) while halted, outside paper modes or without a position; no running engine or
 * an unreadable state is "cannot tell" (exit 3).
 */
export function queueForceExit(paths: DataPaths, req: ForceExitRequest): OrderRequestRecord {
  const view = readStatus(paths);
  if (view.problems.length > 0)
    throw unknownError(
      `cannot read the engine's files: ${view.problems.join('; ')}`,
      'the engine rewrites them on its next tick; try again, or check `npx atl status`',
    );
  if (view.halt.halted)
    throw refusedError(
      `trading is halted (${view.halt.reason}): the halt already flattens positions, no exit is queued`,
      'see `npx atl status`; clear the halt with `npx atl emergency-stop --clear --approver NAME`',
    );
  const engine = view.engine.pidfile;
  if (!engine || view.engine.process !== 'same')
    throw unknownError(
      `no engine is running on ${paths.root}, so nothing would execute the exit`,
      'start the engine (`npx atl run …`) or pass the --data-dir of the running one',
    );
  if (!MODE_TRAITS[engine.mode as ModeName]?.paper)
    throw refusedError(
      `the engine runs in ${engine.mode}: force-exit acts on paper modes only`,
      'close exchange positions on the exchange, or stop everything with `npx atl emergency-stop --reason TEXT`',
    );
  const pos = view.state?.positions[req.symbol];
  if (!pos)
    throw refusedError(
      `no open position in ${req.symbol}`,
      `open positions: ${Object.keys(view.state?.positions ?? {}).join(', ') || 'none'} (see \`npx atl trades\`)`,
    );
  const record: OrderRequestRecord = {
    schema_version: '1.0.0',
    request_id: `fx-${crypto.randomUUID()}`,
    received_at: (req.now ?? new Date()).toISOString(),
    status: 'queued',
    source: 'cli',
    http_request_id: null,
    client: who(),
    engine: { pid: engine.pid, mode: engine.mode },
    order: {
      symbol: req.symbol,
      side: pos.side === 'long' ? 'sell' : 'buy',
      quantity: pos.quantity,
      order_type: 'market',
      price: null,
      stop_loss: null,
      take_profit: null,
      client_order_id: null,
      reason: `force-exit: ${req.reason ?? 'operator request'}`,
      reduce_only: true,
    },
  };
  appendOrderRequest(paths.orderRequests, record);
  return record;
}
