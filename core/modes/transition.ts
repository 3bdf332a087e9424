import { check } from '../evidence/envelope.ts';
import { human } from '../evidence/human.ts';
import type { ModeName } from '../schema/common.ts';
import type { Check } from '../schema/evidence.ts';
import type { Approval, ModeStats } from './ledger-stats.ts';
import {
  previousMode,
  REQUIREMENTS,
  type Requirement,
  type TransitionKind,
  transitionKind,
} from './modes.ts';

/** One requirement with what the ledger shows, what is required and whether it is met. */
export type RequirementItem = {
  id: string;
  label: string;
  current: number | string | null;
  required: number | string;
  passed: boolean;
  progress_pct: number;
  unit: string | null;
};

export type TransitionVerdict = {
  from: ModeName;
  to: ModeName;
  kind: TransitionKind;
  /** The step whose requirements apply (into `to`); null when none apply (backward, same). */
  judgedAs: { from: ModeName; to: ModeName } | null;
  requirements: RequirementItem[];
  overallProgressPct: number;
  estimatedDaysRemaining: number | null;
  checks: Check[];
};

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
const capped = (x: number) => Math.max(0, Math.min(100, Math.round(x * 10) / 10));

function item(
  id: string,
  label: string,
  current: number | null,
  required: number,
  passed: boolean,
  progress: number,
  unit: string | null,
): RequirementItem {
  return {
    id,
    label,
    current,
    required,
    passed,
    progress_pct: capped(progress),
    unit,
  };
}

/** Progress items for a requirement (original §1.6: five items, plus the approval). */
export function requirementItems(req: Requirement, s: ModeStats, approvals: Approval[]): RequirementItem[] {
  const ratio = (cur: number, need: number) => (need > 0 ? (cur / need) * 100 : 100);
  const pf = s.profitFactor;
  const pfPassed = s.trades > 0 && pf >= req.minProfitFactor;
  const ddPassed = s.maxDrawdown <= req.maxDrawdown;
  // A minimum to reach: passed at or above it, progress as the share of it reached.
  const atLeast = (id: string, label: string, cur: number, need: number, unit: string) =>
    item(id, label, cur, need, cur >= need, ratio(cur, need), unit);
  const items = [
    atLeast('days_in_mode', 'Days in current mode', s.daysInMode, req.minDaysInMode, 'days'),
    atLeast('trades', 'Total trades', s.trades, req.minTrades, 'trades'),
    atLeast('win_rate', 'Win rate', s.winRate, req.minWinRate, 'fraction'),
    item(
      'max_drawdown',
      'Max drawdown (lower is better)',
      s.maxDrawdown,
      req.maxDrawdown,
      ddPassed,
      ddPassed ? 100 : ratio(req.maxDrawdown, s.maxDrawdown),
      'fraction',
    ),
    // Infinity (no losing trade) is not JSON: shown as null current with a passed verdict.
    item(
      'profit_factor',
      'Profit factor (gross profit / gross loss)',
      Number.isFinite(pf) ? pf : null,
      req.minProfitFactor,
      pfPassed,
      Number.isFinite(pf) ? ratio(pf, req.minProfitFactor) : 100,
      'ratio',
    ),
    // Without a trade there is no expectancy to judge, whatever the minimum.
    item(
      'expectancy',
      'Expectancy (mean net P&L per trade, of entry notional)',
      s.trades > 0 ? s.expectancyBps : null,
      req.minExpectancyBps,
      s.trades > 0 && s.expectancyBps >= req.minExpectancyBps,
      s.trades === 0 ? 0 : s.expectancyBps >= req.minExpectancyBps ? 100 : 0,
      'bps',
    ),
  ];
  if (req.approval) {
    const last = approvals.at(-1);
    items.push({
      id: 'approval',
      label: 'Manual approval',
      current: last ? last.approver : null,
      required: 'approver',
      passed: last !== undefined,
      progress_pct: last ? 100 : 0,
      unit: null,
    });
  }
  return items;
}

function describe(i: RequirementItem): string {
  if (i.id === 'approval')
    return `${i.label}: ${i.current === null ? 'none recorded' : `approved by ${i.current}`} (required: an approver)`;
  const show = (v: number | string | null) =>
    typeof v === 'number' && i.unit === 'fraction'
      ? pct(v)
      : v === null
        ? i.id === 'profit_factor'
          ? '∞ (no losing trade)'
          : 'none'
        : typeof v === 'number' && i.unit === 'bps'
          ? `${v.toFixed(1)} bps`
          : typeof v === 'number' && i.unit === 'ratio'
            ? v.toFixed(2)
            : typeof v === 'number'
              ? human(v)
              : String(v);
  return `${i.label}: ${show(i.current)} (required ${i.id === 'max_drawdown' ? '≤' : '≥'} ${show(i.required)})`;
}

const HINTS: Record<string, string> = {
  days_in_mode: 'keep the engine running in this mode until the minimum time has passed',
  trades: 'keep trading in this mode; promotion needs enough closed trades to judge',
  win_rate: 'the strategy wins too rarely for promotion; improve it before moving up',
  max_drawdown: 'the drawdown is too deep for promotion; reduce risk and prove it over a new period',
  profit_factor: 'gross profit does not cover gross loss by enough; improve the edge first',
  expectancy:
    'the average trade does not earn enough after costs; improve the edge or trade less (turnover governor)',
  approval:
    'once every other requirement passes, record an approval: `npx atl check-transition <target> --approver NAME`',
};

/**
 * Judge a transition (pure): the step kind, then the requirements of the step into the target
 * measured against the current mode's record. A step of more than one mode is blocked, but its
 * requirements are still listed so the operator sees the whole distance.
 */
export function evaluateTransition(
  from: ModeName,
  to: ModeName,
  stats: ModeStats,
  approvals: Approval[],
  table: Partial<Record<ModeName, Requirement>> = REQUIREMENTS,
): TransitionVerdict {
  const kind = transitionKind(from, to);
  const checks: Check[] = [];
  const base = { from, to, kind };
  // Staying put or stepping back needs no requirements: one passing path check says why.
  const unconditional = (output: string): TransitionVerdict => ({
    ...base,
    judgedAs: null,
    requirements: [],
    overallProgressPct: 100,
    estimatedDaysRemaining: 0,
    checks: [check({ id: 'transition:path', status: 'pass', output, observed: from })],
  });
  if (kind === 'same') return unconditional(`already in ${to}`);
  if (kind === 'backward') {
    return unconditional(`${from} → ${to} is a step back: always allowed (open positions are closed first)`);
  }
  const stepFrom = kind === 'forward' ? from : previousMode(to)!;
  const req = table[to];
  checks.push(
    kind === 'forward'
      ? check({
          id: 'transition:path',
          status: 'pass',
          output: `${from} → ${to} is one step forward`,
          observed: from,
        })
      : check({
          id: 'transition:path',
          status: 'fail',
          observed: from,
          thresholds: { allowed_from: stepFrom },
          output: `cannot transition directly from ${from} to ${to}: promotion goes one mode at a time`,
          hint: `promote step by step; the next mode after ${from} is the one to check now`,
        }),
  );
  if (!req) {
    checks.push(
      check({
        id: 'transition:requirements',
        status: 'fail',
        output: `no transition path defined into ${to}`,
        hint: 'this target cannot be promoted to',
      }),
    );
    return {
      ...base,
      judgedAs: { from: stepFrom, to },
      requirements: [],
      overallProgressPct: 0,
      estimatedDaysRemaining: null,
      checks,
    };
  }
  const requirements = requirementItems(req, stats, approvals);
  for (const i of requirements) {
    checks.push(
      check({
        id: `requirement:${i.id}`,
        status: i.passed ? 'pass' : 'fail',
        observed: i.current,
        unit: i.unit,
        thresholds: { required: i.required },
        output: describe(i),
        hint: i.passed ? null : (HINTS[i.id] ?? null),
      }),
    );
  }
  const overall = requirements.reduce((a, i) => a + i.progress_pct, 0) / requirements.length;
  const tradesPerDay = stats.daysInMode > 0 ? stats.trades / stats.daysInMode : 0;
  const daysLeft = Math.max(0, req.minDaysInMode - stats.daysInMode);
  const tradesLeft = Math.max(0, req.minTrades - stats.trades);
  const estimate =
    tradesLeft === 0 ? daysLeft : tradesPerDay > 0 ? Math.max(daysLeft, tradesLeft / tradesPerDay) : null;
  return {
    ...base,
    judgedAs: { from: stepFrom, to },
    requirements,
    overallProgressPct: Math.round(overall * 10) / 10,
    estimatedDaysRemaining: estimate === null ? null : Math.round(estimate * 10) / 10,
    checks,
  };
}
