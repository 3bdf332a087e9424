import { readFileSync } from 'node:fs';
import { configError } from '../errors.ts';
import { validate } from '../schema/ajv.ts';
import type { ModeName } from '../schema/common.ts';
import { TransitionRequirementsFile } from '../schema/transition.ts';
import { REQUIREMENTS, type Requirement } from './modes.ts';

export type RequirementTable = Partial<Record<ModeName, Requirement>>;

/**
 * The default requirements with a file's overrides applied (`--requirements FILE`). A file that
 * cannot be read, is not JSON or names an unknown key is a configuration error (78): a typo must
 * never silently judge a promotion by the defaults.
 */
export function loadRequirements(path: string | null): RequirementTable {
  if (!path) return REQUIREMENTS;
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw configError(
      `cannot read transition requirements ${path}: ${(err as Error).message}`,
      'give a JSON file such as {"paper_live_data": {"min_win_rate": 0.45, "min_profit_factor": 1.2}}',
      err,
    );
  }
  const checked = validate(TransitionRequirementsFile, value);
  if (!checked.ok)
    throw configError(
      `transition requirements ${path} are invalid: ${checked.errors.join('; ')}`,
      'keys per target mode: min_days_in_mode, min_trades, min_win_rate, max_drawdown, min_profit_factor, min_expectancy_bps, approval (see the README)',
    );
  const table: RequirementTable = { ...REQUIREMENTS };
  for (const [mode, o] of Object.entries(checked.value) as [
    ModeName,
    NonNullable<TransitionRequirementsFile['testnet']>,
  ][]) {
    const base = REQUIREMENTS[mode]!;
    table[mode] = {
      minDaysInMode: o.min_days_in_mode ?? base.minDaysInMode,
      minTrades: o.min_trades ?? base.minTrades,
      minWinRate: o.min_win_rate ?? base.minWinRate,
      maxDrawdown: o.max_drawdown ?? base.maxDrawdown,
      minProfitFactor: o.min_profit_factor ?? base.minProfitFactor,
      minExpectancyBps: o.min_expectancy_bps ?? base.minExpectancyBps,
      approval: o.approval ?? base.approval,
    };
  }
  return table;
}
