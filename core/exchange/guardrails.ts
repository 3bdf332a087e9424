import type { PipelineStages } from '../engine/pipeline.ts';
import type {
  EntryGuard,
  EntryVerdict,
  PreservationState,
  StageContext,
  StageDecl,
} from '../engine/stages.ts';
import { configError } from '../errors.ts';
import type { GateStage } from '../schema/decision.ts';
import type { Signal } from '../signals/rules.ts';

/** Caps for modes that place exchange orders; percents are of current equity (2 means 2 %). */
export type LiveLimits = {
  symbolAllowlist: string[];
  maxPositionPct: number;
  maxCapitalPct: number;
  maxLeverage: number;
  maxOrdersPerDay: number;
};

export const LIVE_LIMIT_DEFAULTS: LiveLimits = {
  symbolAllowlist: ['BTC/USDT', 'ETH/USDT'],
  maxPositionPct: 2,
  maxCapitalPct: 5,
  maxLeverage: 1,
  maxOrdersPerDay: 3,
};

/** Limits from env (`ATL_LIVE_*`); a value out of range is a configuration error, never silently clamped. */
export function liveLimitsFromEnv(env: NodeJS.ProcessEnv): LiveLimits {
  const pct = (name: string, fallback: number) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || n > 100)
      throw configError(
        `${name} must be a percent in (0, 100] (got "${raw}")`,
        `e.g. ${name}=${fallback} for ${fallback} % of equity`,
      );
    return n;
  };
  const positive = (name: string, fallback: number, integer: boolean) => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n)))
      throw configError(`${name} must be a positive ${integer ? 'whole ' : ''}number (got "${raw}")`);
    return n;
  };
  const list = env.ATL_LIVE_SYMBOL_ALLOWLIST;
  return {
    symbolAllowlist: list
      ? list
          .split(',')
          .map((s) => s.trim().toUpperCase())
          .filter(Boolean)
      : LIVE_LIMIT_DEFAULTS.symbolAllowlist,
    maxPositionPct: pct('ATL_LIVE_MAX_POSITION_PCT', LIVE_LIMIT_DEFAULTS.maxPositionPct),
    maxCapitalPct: pct('ATL_LIVE_MAX_CAPITAL_PCT', LIVE_LIMIT_DEFAULTS.maxCapitalPct),
    maxLeverage: positive('ATL_LIVE_MAX_LEVERAGE', LIVE_LIMIT_DEFAULTS.maxLeverage, false),
    maxOrdersPerDay: positive('ATL_LIVE_MAX_ORDERS_PER_DAY', LIVE_LIMIT_DEFAULTS.maxOrdersPerDay, true),
  };
}

/** Exchange orders per UTC day, shared by the guardrails (which read it) and the executor (which counts). */
export class DailyOrderCount {
  date = '';
  orders = 0;

  count(isoTs: string): void {
    this.roll(isoTs);
    this.orders++;
  }

  today(isoTs: string): number {
    this.roll(isoTs);
    return this.orders;
  }

  private roll(isoTs: string): void {
    const day = isoTs.slice(0, 10);
    if (day !== this.date) {
      this.date = day;
      this.orders = 0;
    }
  }
}

/**
 * The last line of defence before an exchange order: symbol allowlist, daily order cap, and the
 * entry shrunk to the position, capital and leverage caps (blocked when nothing is left above the
 * minimum). Wraps the pipeline's own entry guard; exits are never blocked (closing reduces risk).
 */
export class LiveGuardrails implements EntryGuard {
  constructor(
    private readonly inner: EntryGuard,
    private readonly limits: LiveLimits,
    private readonly orders: DailyOrderCount,
    private readonly minNotional: number,
  ) {}

  declareStages(symbols: string[]): StageDecl[] {
    return [
      ...(this.inner.declareStages?.(symbols) ?? []),
      { stage: 'live_guardrails', thresholds: this.thresholds() },
    ];
  }

  evaluate(ctx: StageContext, signal: Signal): EntryVerdict {
    const verdict = this.inner.evaluate(ctx, signal);
    if (verdict.blocked || verdict.notional === null) return verdict;
    const l = this.limits;
    const block = (reason: string, observed: GateStage['observed']): EntryVerdict => {
      const gate: GateStage = {
        stage: 'live_guardrails',
        verdict: 'block',
        reason,
        observed,
        thresholds: this.thresholds(),
      };
      return { ...verdict, gates: [...verdict.gates, gate], blocked: gate, notional: null };
    };
    if (!l.symbolAllowlist.includes(ctx.symbol))
      return block(`symbol_not_allowed:${ctx.symbol}`, { symbol: ctx.symbol });
    const ordersToday = this.orders.today(ctx.tick.nowIso);
    if (ordersToday >= l.maxOrdersPerDay)
      return block(`daily_order_cap:${ordersToday}`, { orders_today: ordersToday });
    const equity = ctx.portfolio.equity();
    const exposure = ctx.portfolio.exposure();
    const room = Math.min(
      (equity * l.maxPositionPct) / 100,
      (equity * l.maxCapitalPct) / 100 - exposure,
      equity * l.maxLeverage - exposure,
    );
    const notional = Math.min(verdict.notional, room);
    const observed = {
      requested: round2(verdict.notional),
      allowed: round2(Math.max(0, notional)),
      equity: round2(equity),
      exposure: round2(exposure),
      orders_today: ordersToday,
    };
    if (notional < this.minNotional) return block('live_caps_exhausted', observed);
    const gate: GateStage = {
      stage: 'live_guardrails',
      verdict: 'pass',
      reason: notional < verdict.notional ? 'entry_reduced_to_caps' : null,
      observed,
      thresholds: this.thresholds(),
    };
    return { ...verdict, gates: [...verdict.gates, gate], notional };
  }

  private thresholds(): GateStage['thresholds'] {
    const l = this.limits;
    return {
      max_position_pct: l.maxPositionPct,
      max_capital_pct: l.maxCapitalPct,
      max_leverage: l.maxLeverage,
      max_orders_per_day: l.maxOrdersPerDay,
      allowlist: l.symbolAllowlist.join(','),
    };
  }

  preservationState(): PreservationState | undefined {
    return this.inner.preservationState?.();
  }

  preservationLevel(): string | null {
    return this.inner.preservationLevel();
  }

  raisedHalt(): { reason: string } | null {
    return this.inner.raisedHalt();
  }

  snapshot(): unknown {
    return { inner: this.inner.snapshot(), orders: { date: this.orders.date, count: this.orders.orders } };
  }

  restore(saved: unknown): void {
    const s = saved as { inner?: unknown; orders?: { date?: string; count?: number } } | null;
    this.inner.restore(s && 'inner' in s ? s.inner : saved);
    if (s?.orders?.date) {
      this.orders.date = s.orders.date;
      this.orders.orders = s.orders.count ?? 0;
    }
  }
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** The run's stages with the live guardrails around the entry guard (order modes only). */
export function withOrderGuards(
  stages: PipelineStages,
  orders: { guard(entry: EntryGuard): EntryGuard } | undefined,
): PipelineStages {
  return orders ? { ...stages, entry: orders.guard(stages.entry) } : stages;
}
