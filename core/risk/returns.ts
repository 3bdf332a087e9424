import type { Portfolio } from '../broker/portfolio.ts';
import { Ring } from '../features/indicators.ts';
import type { GuardSnapshot } from '../schema/risk.ts';
import type { HeldPosition } from './risk-budget.ts';

/** Fewer aligned returns than this and a correlation is unknown (treated as fully correlated). */
export const MIN_CORRELATION_SAMPLES = 20;

/** One symbol's recent simple returns, one per closed bar (O(1), no allocation per bar). */
export class ReturnHistory {
  readonly ring: Ring;
  private prevClose = Number.NaN;
  /** Close time (ms) of the newest return held. */
  lastTs = Number.NaN;

  constructor(size: number) {
    this.ring = new Ring(size);
  }

  /** Add the bar's return; a bar already added (same or older close time) is ignored. */
  pushBar(closeTs: number, close: number): void {
    if (closeTs <= this.lastTs) return;
    if (this.prevClose > 0) this.ring.push(close / this.prevClose - 1);
    this.prevClose = close;
    this.lastTs = closeTs;
  }

  /** Population standard deviation of the newest `window` returns (NaN with fewer than two). */
  volatility(window: number): number {
    const n = Math.min(window, this.ring.count);
    if (n < 2) return Number.NaN;
    const off = this.ring.count - n;
    let s = 0;
    for (let i = 0; i < n; i++) s += this.ring.at(off + i);
    const m = s / n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (this.ring.at(off + i) - m) ** 2;
    return Math.sqrt(v / n);
  }

  snapshot(): GuardSnapshot['returns'][string] {
    const values: number[] = [];
    for (let i = 0; i < this.ring.count; i++) values.push(this.ring.at(i));
    const num = (x: number) => (Number.isNaN(x) ? null : x);
    return { prevClose: num(this.prevClose), lastTs: num(this.lastTs), values };
  }

  restore(s: GuardSnapshot['returns'][string]): void {
    for (const v of s.values.slice(-this.ring.size)) this.ring.push(v);
    this.prevClose = s.prevClose ?? Number.NaN;
    this.lastTs = s.lastTs ?? Number.NaN;
  }
}

/**
 * Pearson correlation of two symbols' returns over the bars both hold, aligned on their newest
 * bar (within a tick one symbol may already hold the current bar, the other not yet); null when
 * fewer than MIN_CORRELATION_SAMPLES overlap or either series is flat.
 */
export function correlation(a: ReturnHistory, b: ReturnHistory, barMs: number): number | null {
  const lag = Math.round((a.lastTs - b.lastTs) / barMs);
  if (!Number.isFinite(lag)) return null;
  const skipA = Math.max(0, lag);
  const skipB = Math.max(0, -lag);
  const n = Math.min(a.ring.count - skipA, b.ring.count - skipB);
  if (n < MIN_CORRELATION_SAMPLES) return null;
  const offA = a.ring.count - skipA - n;
  const offB = b.ring.count - skipB - n;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    sa += a.ring.at(offA + i);
    sb += b.ring.at(offB + i);
  }
  const ma = sa / n;
  const mb = sb / n;
  let cov = 0;
  let va = 0;
  let vb = 0;
  for (let i = 0; i < n; i++) {
    const da = a.ring.at(offA + i) - ma;
    const db = b.ring.at(offB + i) - mb;
    cov += da * db;
    va += da * da;
    vb += db * db;
  }
  if (va === 0 || vb === 0) return null;
  return Math.max(-1, Math.min(1, cov / Math.sqrt(va * vb)));
}

/**
 * Every symbol's return history, as the risk guard keeps them: the open positions' volatilities
 * and correlations with a candidate entry come from here, and the histories carry across a restart.
 */
export class ReturnBook {
  private readonly histories = new Map<string, ReturnHistory>();

  constructor(
    private readonly window: number,
    private readonly volWindow: number,
  ) {}

  history(symbol: string): ReturnHistory {
    let h = this.histories.get(symbol);
    if (!h) {
      h = new ReturnHistory(this.window);
      this.histories.set(symbol, h);
    }
    return h;
  }

  /** Open positions other than `symbol`, with their volatility and correlations, for the budget. */
  held(
    p: Portfolio,
    symbol: string,
    closeTs: number,
    close: number,
    barMs: number,
  ): { positions: HeldPosition[]; matrix: (number | null)[][] } {
    const candidate = this.history(symbol);
    candidate.pushBar(closeTs, close);
    const positions: HeldPosition[] = [];
    const histories: ReturnHistory[] = [];
    for (const pos of p.positions.values()) {
      if (pos.symbol === symbol) continue;
      const h = this.history(pos.symbol);
      const vol = h.volatility(this.volWindow);
      positions.push({
        symbol: pos.symbol,
        side: pos.side,
        notional: pos.quantity * pos.last_price,
        volatility: Number.isNaN(vol) ? null : vol,
        correlation: correlation(candidate, h, barMs),
      });
      histories.push(h);
    }
    const matrix = histories.map((a, i) => histories.map((b, j) => (i === j ? 1 : correlation(a, b, barMs))));
    return { positions, matrix };
  }

  /** Close time (ms) of the newest bar any history holds (0 with none). */
  lastTs(): number {
    let last = 0;
    for (const h of this.histories.values()) if (h.lastTs > last) last = h.lastTs;
    return last;
  }

  snapshot(): GuardSnapshot['returns'] {
    return Object.fromEntries([...this.histories].map(([s, h]) => [s, h.snapshot()]));
  }

  restore(saved: GuardSnapshot['returns']): void {
    for (const [symbol, h] of Object.entries(saved)) this.history(symbol).restore(h);
  }
}
