import { closeSync, existsSync, fstatSync, fsyncSync, mkdirSync, openSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import type { PaperBroker } from '../broker/paper.ts';
import type { Portfolio } from '../broker/portfolio.ts';
import { fsyncDirectory, writeAll } from '../fsx/atomic.ts';
import { repairTornTail } from '../fsx/jsonl.ts';
import { openFileForReading } from '../fsx/path-fault.ts';
import { correlated } from '../log.ts';
import { validate } from '../schema/ajv.ts';
import { OrderRequestRecord } from '../schema/api.ts';
import type { Fill, GateStage } from '../schema/decision.ts';
import type { Bar } from './feeds.ts';

/** Stop and target distances an operator order gets when the request names none. */
const DEFAULT_STOP_PCT = 0.015;
const DEFAULT_TARGET_PCT = 0.03;

export type InboxState = { offset: number; pending: OrderRequestRecord[] };

export type OperatorResult = {
  gates: GateStage[];
  fills: Fill[];
  action: 'buy' | 'sell' | 'short' | 'cover' | null;
};

/**
 * The engine's side of `POST /api/orders`: new lines of `unified_trading/order_requests.jsonl`
 * are read once per batch (from a byte offset kept in the ledger checkpoint, so a restart neither
 * loses nor repeats a request) and executed by the paper broker on the symbol's next closed bar.
 * Market orders fill at that bar's close; limit orders wait until a bar trades through the price.
 */
export class OrderInbox {
  private offset: number;
  private readonly pending: OrderRequestRecord[];

  constructor(
    private readonly path: string,
    state: InboxState | null,
  ) {
    this.offset = state?.offset ?? 0;
    this.pending = [...(state?.pending ?? [])];
  }

  state(): InboxState {
    return { offset: this.offset, pending: [...this.pending] };
  }

  /** Read requests appended since the last poll (only whole lines; a line being written waits). */
  poll(): void {
    if (!existsSync(this.path)) return;
    const fd = openFileForReading(this.path);
    try {
      const size = fstatSync(fd).size;
      if (size < this.offset) this.offset = 0; // the file was replaced: read it from the start
      if (size === this.offset) return;
      const buf = Buffer.alloc(size - this.offset);
      readSync(fd, buf, 0, buf.length, this.offset);
      const end = buf.lastIndexOf(0x0a) + 1;
      for (const line of buf.toString('utf8', 0, end).split('\n')) {
        if (line.trim() === '') continue;
        this.accept(line);
      }
      this.offset += end;
    } finally {
      closeSync(fd);
    }
  }

  private accept(line: string): void {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      correlated('order-inbox').warn(`ignored an order request that is not JSON: ${line.slice(0, 120)}`);
      return;
    }
    const checked = validate(OrderRequestRecord, value);
    if (!checked.ok) {
      correlated('order-inbox').warn(`ignored an invalid order request (${checked.errors.join('; ')})`);
      return;
    }
    this.pending.push(checked.value);
  }

  get size(): number {
    return this.pending.length;
  }

  /** Execute the symbol's pending requests against its newly closed bar. */
  execute(
    symbol: string,
    bar: Bar,
    ts: string,
    decisionId: string,
    portfolio: Portfolio,
    broker: PaperBroker,
  ): OperatorResult {
    const result: OperatorResult = { gates: [], fills: [], action: null };
    for (let i = 0; i < this.pending.length; ) {
      const req = this.pending[i]!;
      if (req.order.symbol !== symbol) {
        i++;
        continue;
      }
      const price = fillPrice(req, bar);
      if (price === null) {
        i++; // a limit the bar did not reach: it waits for a later bar
        continue;
      }
      this.pending.splice(i, 1);
      const gate = fill(req, price, symbol, ts, decisionId, portfolio, broker, result);
      result.gates.push(gate);
    }
    return result;
  }

  /** Requests queued before a halt are refused, not kept for after it. */
  rejectAll(symbol: string, why: string): GateStage[] {
    const gates: GateStage[] = [];
    for (let i = this.pending.length - 1; i >= 0; i--) {
      const req = this.pending[i]!;
      if (req.order.symbol !== symbol) continue;
      this.pending.splice(i, 1);
      gates.unshift(rejected(req, why));
    }
    return gates;
  }
}

/**
 * Queue one request for the engine: appended and fsynced before the caller acknowledges it (a torn
 * tail from a crashed writer is repaired first, never glued to the new line).
 */
export function appendOrderRequest(path: string, record: OrderRequestRecord): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const created = !existsSync(path);
  repairTornTail(path);
  const fd = openSync(path, 'a', 0o600);
  try {
    writeAll(fd, Buffer.from(`${JSON.stringify(record)}\n`));
    fsyncSync(fd); // acknowledged means on disk
  } finally {
    closeSync(fd);
  }
  if (created) fsyncDirectory(dir); // and the new file's name with it
}

function fillPrice(req: OrderRequestRecord, bar: Bar): number | null {
  const { order } = req;
  if (order.order_type !== 'limit' || order.price === null) return bar.close;
  // A gap through the limit fills at the open, which is the better price.
  if (order.side === 'buy') return bar.low <= order.price ? Math.min(order.price, bar.open) : null;
  return bar.high >= order.price ? Math.max(order.price, bar.open) : null;
}

function rejected(req: OrderRequestRecord, why: string): GateStage {
  return {
    stage: 'operator_order',
    verdict: 'block',
    reason: `rejected:${why}:${req.request_id}`,
    observed: { side: req.order.side, quantity: req.order.quantity },
    thresholds: null,
  };
}

function fill(
  req: OrderRequestRecord,
  price: number,
  symbol: string,
  ts: string,
  decisionId: string,
  portfolio: Portfolio,
  broker: PaperBroker,
  result: OperatorResult,
): GateStage {
  const { order } = req;
  const pos = portfolio.positions.get(symbol);
  const buying = order.side === 'buy';
  const reason = `${order.reduce_only ? 'force_exit' : 'api'}:${req.request_id}`;
  if (order.reduce_only && (!pos || (pos.side === 'long') === buying))
    return rejected(req, 'no_position_to_exit');
  if (pos && (pos.side === 'long') === buying) return rejected(req, 'position_already_open');
  if (pos) {
    const f = broker.close({ symbol, price, ts, decisionId, reason });
    if (f) result.fills.push(f);
    result.action = pos.side === 'long' ? 'sell' : 'cover';
  } else {
    const stopPct = order.stop_loss !== null ? Math.abs(price - order.stop_loss) / price : DEFAULT_STOP_PCT;
    const takeProfitPct =
      order.take_profit !== null ? Math.abs(order.take_profit - price) / price : DEFAULT_TARGET_PCT;
    if (buying && order.quantity * price > portfolio.cash) return rejected(req, 'insufficient_cash');
    result.fills.push(
      broker.open({
        symbol,
        side: buying ? 'long' : 'short',
        quantity: order.quantity,
        price,
        ts,
        decisionId,
        stopPct,
        takeProfitPct,
        reason,
      }),
    );
    result.action = buying ? 'buy' : 'short';
  }
  return {
    stage: 'operator_order',
    verdict: 'pass',
    reason: `filled:${req.request_id}`,
    observed: { side: order.side, quantity: order.quantity, price, order_type: order.order_type },
    thresholds: null,
  };
}
