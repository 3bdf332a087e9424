import type { Draft } from '../engine/pipeline.ts';
import type { Ledger } from '../ledger/ledger.ts';
import { log } from '../log.ts';
import type { DailyOrderCount } from './guardrails.ts';
import { clientOrderIdFor, type ExchangeOrders, type OrderOutcome } from './orders.ts';

/**
 * Mirrors a decision's fills as exchange market orders (testnet and live modes). Each outcome is
 * a gate in the record (`exchange_order`) and a row in the ledger; an order that was rejected or
 * whose outcome stays unknown after reconciliation means the book and the exchange disagree, so
 * the engine is halted for a person to look (the halt flag persists across restarts).
 */
export class ExchangeExecutor {
  constructor(
    private readonly exchangeId: string,
    private readonly orders: ExchangeOrders,
    private readonly counter: DailyOrderCount,
    private readonly halt: (reason: string) => void,
  ) {}

  async execute(draft: Draft, ledger: Ledger): Promise<void> {
    const fills = draft.execution?.fills ?? [];
    for (const [i, fill] of fills.entries()) {
      const clientOrderId = clientOrderIdFor(draft.decision_id, i);
      const outcome = await this.orders.place({
        symbol: draft.symbol,
        side: fill.side,
        quantity: fill.quantity,
        clientOrderId,
      });
      this.counter.count(draft.ts);
      const ok = outcome.status === 'filled';
      draft.gate_trace.push({
        stage: 'exchange_order',
        verdict: ok ? 'pass' : 'block',
        reason: ok
          ? outcome.reconciled
            ? 'filled_after_reconciliation'
            : 'filled'
          : `${outcome.status}:${'reason' in outcome ? outcome.reason : 'not_filled'}`,
        observed: observedOf(outcome),
        thresholds: null,
      });
      ledger.order({
        id: `${this.exchangeId}:${'orderId' in outcome && outcome.orderId ? outcome.orderId : clientOrderId}`,
        ts: draft.ts,
        symbol: draft.symbol,
        side: fill.side,
        intent: fill.intent,
        type: 'market',
        quantity: 'filled' in outcome ? outcome.filled : fill.quantity,
        price: ('average' in outcome ? outcome.average : null) ?? fill.price,
        status: outcome.status,
        reason: fill.reason,
        decision_id: draft.decision_id,
        mode: draft.mode,
      });
      if (!ok) {
        const why = `exchange order ${clientOrderId} (${draft.symbol} ${fill.side} ${fill.quantity}) is ${outcome.status}`;
        log.error(`${why}; halting: the engine's book and the exchange may disagree`);
        this.halt(why);
      }
    }
  }
}

function observedOf(o: OrderOutcome): Record<string, string | number | boolean | null> {
  if ('orderId' in o) {
    return {
      client_order_id: o.clientOrderId,
      order_id: o.orderId,
      status: o.status,
      filled: o.filled,
      average: o.average,
      fee: o.fee,
      reconciled: o.reconciled,
    };
  }
  return { client_order_id: o.clientOrderId, status: o.status, reason: o.reason };
}
