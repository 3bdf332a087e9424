import { oneOf } from '../errors.ts';
import { MODES, type ModeName } from '../schema/common.ts';

/** Promotion order (SPEC §2): a mode may move one step forward, or any number back. */
export const MODE_ORDER: readonly ModeName[] = MODES;

export const modeRank = (mode: ModeName): number => MODE_ORDER.indexOf(mode);

export const MODE_TRAITS: Record<
  ModeName,
  { paper: boolean; realMoney: boolean; realData: boolean; realOrders: boolean }
> = {
  backtest: { paper: true, realMoney: false, realData: false, realOrders: false },
  paper_synthetic: { paper: true, realMoney: false, realData: false, realOrders: false },
  paper_live_data: { paper: true, realMoney: false, realData: true, realOrders: false },
  testnet: { paper: false, realMoney: false, realData: true, realOrders: true },
  live_limited: { paper: false, realMoney: true, realData: true, realOrders: true },
  live_full: { paper: false, realMoney: true, realData: true, realOrders: true },
};

export const parseMode = (value: string): ModeName => oneOf(value, MODES, `unknown mode "${value}"`);

export type TransitionKind = 'same' | 'forward' | 'backward' | 'skip';

/** forward = exactly one step up; skip = more than one step up (not allowed directly). */
export function transitionKind(from: ModeName, to: ModeName): TransitionKind {
  const d = modeRank(to) - modeRank(from);
  return d === 0 ? 'same' : d < 0 ? 'backward' : d === 1 ? 'forward' : 'skip';
}

/** What a mode must show before the next one (fractions for rates and drawdown, bps for expectancy). */
export type Requirement = {
  minDaysInMode: number;
  minTrades: number;
  minWinRate: number;
  maxDrawdown: number;
  minProfitFactor: number;
  /** Mean net P&L per closed trade, in bps of its entry notional (after fees and slippage). */
  minExpectancyBps: number;
  approval: boolean;
};

/**
 * Requirements per step into a mode (original §1.6), each judged on the record of the mode below.
 * Every forward step asks for an edge, not only a count: a record that loses on average (profit
 * factor < 1, negative expectancy) or wins too rarely to trust never moves up. Win-rate floors
 * are low on purpose (trend followers win 35–45% of trades and still pay); profit factor and
 * expectancy carry the edge, and rise with each step as the money becomes real. The original had
 * no entry into paper_synthetic, so a backtest could never be promoted; ours asks for a backtest
 * that traded and did not lose. Override per data root with `check-transition --requirements FILE`.
 */
export const REQUIREMENTS: Partial<Record<ModeName, Requirement>> = {
  paper_synthetic: {
    minDaysInMode: 0,
    minTrades: 30,
    minWinRate: 0.35,
    maxDrawdown: 0.25,
    minProfitFactor: 1,
    minExpectancyBps: 0,
    approval: false,
  },
  paper_live_data: {
    minDaysInMode: 3,
    minTrades: 30,
    minWinRate: 0.4,
    maxDrawdown: 0.2,
    minProfitFactor: 1.1,
    minExpectancyBps: 2,
    approval: false,
  },
  testnet: {
    minDaysInMode: 14,
    minTrades: 100,
    minWinRate: 0.45,
    maxDrawdown: 0.12,
    minProfitFactor: 1.1,
    minExpectancyBps: 2,
    approval: true,
  },
  live_limited: {
    minDaysInMode: 14,
    minTrades: 100,
    minWinRate: 0.45,
    maxDrawdown: 0.1,
    minProfitFactor: 1.15,
    minExpectancyBps: 5,
    approval: true,
  },
  live_full: {
    minDaysInMode: 30,
    minTrades: 200,
    minWinRate: 0.5,
    maxDrawdown: 0.08,
    minProfitFactor: 1.2,
    minExpectancyBps: 10,
    approval: true,
  },
};

/** The mode one step below `to`: whose record a promotion into `to` is judged on. */
export function previousMode(to: ModeName): ModeName | null {
  const r = modeRank(to);
  return r > 0 ? MODE_ORDER[r - 1]! : null;
}
