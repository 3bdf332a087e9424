import type { Ledger } from '../ledger/ledger.ts';
import type { Fill } from '../schema/decision.ts';
import type { PositionState } from '../schema/state.ts';
import type { Portfolio, Side } from './portfolio.ts';

export type BrokerConfig = { feeRate: number; slippageRate: number; mode: string };
export const DEFAULT_BROKER: Omit<BrokerConfig, 'mode'> = { feeRate: 0.001, slippageRate: 0.0005 };

export type BarPrices = { open: number; high: number; low: number; close: number };

/**
 * Paper broker: market fills at the last price with slippage against us and a proportional fee;
 * stop-loss / take-profit evaluated on each bar's high and low (stop first when both touch).
 */
export class PaperBroker {
  private seq = 0;
  constructor(
    private readonly cfg: BrokerConfig,
    private readonly portfolio: Portfolio,
    private readonly ledger: Ledger,
    private readonly orderPrefix: string,
  ) {}

  open(args: {
    symbol: string;
    side: Side;
    quantity: number;
    price: number;
    ts: string;
    decisionId: string;
    stopPct: number;
    takeProfitPct: number;
    reason: string;
  }): Fill {
    const buy = args.side === 'long';
    const slip = args.price * this.cfg.slippageRate;
    const px = buy ? args.price + slip : args.price - slip;
    const fee = px * args.quantity * this.cfg.feeRate;
    const p = this.portfolio;
    p.cash += buy ? -(px * args.quantity) - fee : px * args.quantity - fee;
    p.feesPaid += fee;
    const pos: PositionState = {
      symbol: args.symbol,
      side: args.side,
      quantity: args.quantity,
      entry_price: px,
      entry_ts: args.ts,
      stop_loss: buy ? px * (1 - args.stopPct) : px * (1 + args.stopPct),
      take_profit: buy ? px * (1 + args.takeProfitPct) : px * (1 - args.takeProfitPct),
      last_price: args.price,
      unrealized_pnl: 0,
      entry_fee: fee,
      decision_id: args.decisionId,
    };
    p.positions.set(args.symbol, pos);
    p.mark(args.symbol, args.price);
    this.ledger.upsertPosition({ ...pos, stop_loss: pos.stop_loss, take_profit: pos.take_profit });
    return this.record(
      args.symbol,
      buy ? 'buy' : 'sell',
      'open',
      args.reason,
      args.quantity,
      px,
      fee,
      slip * args.quantity,
      null,
      args.ts,
      args.decisionId,
    );
  }

  close(args: {
    symbol: string;
    price: number;
    ts: string;
    decisionId: string;
    reason: string;
    exact?: boolean;
  }): Fill | null {
    const p = this.portfolio;
    const pos = p.positions.get(args.symbol);
    if (!pos) return null;
    const long = pos.side === 'long';
    // Stop and target orders fill at their level; market exits pay slippage.
    const slip = args.exact ? 0 : args.price * this.cfg.slippageRate;
    const px = long ? args.price - slip : args.price + slip;
    const fee = px * pos.quantity * this.cfg.feeRate;
    const gross = (long ? px - pos.entry_price : pos.entry_price - px) * pos.quantity;
    const pnl = gross - fee - pos.entry_fee;
    p.cash += long ? px * pos.quantity - fee : -(px * pos.quantity) - fee;
    p.feesPaid += fee;
    p.realizedPnl += gross - fee - pos.entry_fee;
    p.totalTrades++;
    if (pnl > 0) p.winningTrades++;
    else p.losingTrades++;
    p.positions.delete(args.symbol);
    this.ledger.deletePosition(args.symbol);
    this.ledger.trade({
      symbol: args.symbol,
      side: pos.side,
      quantity: pos.quantity,
      entry_ts: pos.entry_ts,
      entry_price: pos.entry_price,
      exit_ts: args.ts,
      exit_price: px,
      pnl,
      pnl_pct: pnl / (pos.entry_price * pos.quantity),
      fees: fee + pos.entry_fee,
      exit_reason: args.reason,
      mode: this.cfg.mode,
      entry_decision_id: pos.decision_id,
      exit_decision_id: args.decisionId,
      holding_s: (Date.parse(args.ts) - Date.parse(pos.entry_ts)) / 1000,
    });
    return this.record(
      args.symbol,
      long ? 'sell' : 'buy',
      'close',
      args.reason,
      pos.quantity,
      px,
      fee,
      slip * pos.quantity,
      pnl,
      args.ts,
      args.decisionId,
    );
  }

  /** Stop-loss / take-profit against the bar's range; a gap through the level fills at the open. */
  checkExits(symbol: string, bar: BarPrices, ts: string, decisionId: string): Fill | null {
    const pos = this.portfolio.positions.get(symbol);
    if (!pos || pos.stop_loss === null || pos.take_profit === null) return null;
    if (pos.side === 'long') {
      if (bar.low <= pos.stop_loss)
        return this.close({
          symbol,
          price: Math.min(bar.open, pos.stop_loss),
          ts,
          decisionId,
          reason: 'stop_loss',
          exact: true,
        });
      if (bar.high >= pos.take_profit)
        return this.close({
          symbol,
          price: Math.max(bar.open, pos.take_profit),
          ts,
          decisionId,
          reason: 'take_profit',
          exact: true,
        });
    } else {
      if (bar.high >= pos.stop_loss)
        return this.close({
          symbol,
          price: Math.max(bar.open, pos.stop_loss),
          ts,
          decisionId,
          reason: 'stop_loss',
          exact: true,
        });
      if (bar.low <= pos.take_profit)
        return this.close({
          symbol,
          price: Math.min(bar.open, pos.take_profit),
          ts,
          decisionId,
          reason: 'take_profit',
          exact: true,
        });
    }
    return null;
  }

  private record(
    symbol: string,
    side: 'buy' | 'sell',
    intent: 'open' | 'close',
    reason: string,
    quantity: number,
    price: number,
    fee: number,
    slippage: number,
    realized: number | null,
    ts: string,
    decisionId: string,
  ): Fill {
    const orderId = `${this.orderPrefix}-${++this.seq}`;
    this.ledger.order({
      id: orderId,
      ts,
      symbol,
      side,
      intent,
      type: 'market',
      quantity,
      price,
      status: 'filled',
      reason,
      decision_id: decisionId,
      mode: this.cfg.mode,
    });
    this.ledger.fill({
      order_id: orderId,
      ts,
      symbol,
      side,
      quantity,
      price,
      fee,
      slippage,
      realized_pnl: realized,
      decision_id: decisionId,
      mode: this.cfg.mode,
    });
    return {
      order_id: orderId,
      side,
      intent,
      reason,
      quantity,
      price,
      fee,
      slippage,
      realized_pnl: realized,
    };
  }
}
