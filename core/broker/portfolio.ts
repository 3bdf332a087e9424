import type { PositionState } from '../schema/state.ts';

export type Side = 'long' | 'short';

/** Cash, open positions and running statistics; equity is marked to the last price of each symbol. */
export class Portfolio {
  cash: number;
  readonly initialCapital: number;
  readonly positions = new Map<string, PositionState>();
  peakEquity: number;
  maxDrawdownPct = 0;
  realizedPnl = 0;
  feesPaid = 0;
  totalTrades = 0;
  winningTrades = 0;
  losingTrades = 0;

  constructor(initialCapital: number, cash = initialCapital, peakEquity = initialCapital) {
    this.initialCapital = initialCapital;
    this.cash = cash;
    this.peakEquity = peakEquity;
  }

  positionsValue(): number {
    let v = 0;
    for (const p of this.positions.values())
      v += p.side === 'long' ? p.quantity * p.last_price : -p.quantity * p.last_price;
    return v;
  }

  equity(): number {
    return this.cash + this.positionsValue();
  }

  exposure(): number {
    let v = 0;
    for (const p of this.positions.values()) v += p.quantity * p.last_price;
    return v;
  }

  mark(symbol: string, price: number): void {
    const p = this.positions.get(symbol);
    if (!p) return;
    p.last_price = price;
    p.unrealized_pnl = (p.side === 'long' ? price - p.entry_price : p.entry_price - price) * p.quantity;
  }

  /** Update peak and max drawdown from the current equity; returns the current drawdown (fraction). */
  updateDrawdown(): number {
    const eq = this.equity();
    if (eq > this.peakEquity) this.peakEquity = eq;
    const dd = this.peakEquity > 0 ? (this.peakEquity - eq) / this.peakEquity : 0;
    if (dd > this.maxDrawdownPct) this.maxDrawdownPct = dd;
    return dd;
  }
}
