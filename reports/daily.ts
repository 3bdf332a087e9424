import { dirname } from 'node:path';
import {
  breaksDailyClamp,
  DAILY_SHIFT_MAX,
  dailyShift,
  WEIGHT_LOG_PRECISION,
} from '../core/advisor/weights.ts';
import { check, skippedCheck } from '../core/evidence/envelope.ts';
import { human } from '../core/evidence/human.ts';
import { readJsonFile } from '../core/fsx/json-file.ts';
import type { DataPaths } from '../core/paths.ts';
import type { DecisionRecord } from '../core/schema/decision.ts';
import type { Check } from '../core/schema/evidence.ts';
import type { Heartbeat } from '../core/schema/heartbeat.ts';
import { addDecision, emptyTotals, reasonFamily, roundTotals, type Totals, topCounts } from './day-totals.ts';
import { type ScanResult, scanDecisionLog } from './decision-scan.ts';
import { integrityChecks, paperLiveCheck, windowCheck } from './integrity.ts';
import { type DayWindow, dayWindow, windowBounds } from './windows.ts';

export const RECENT_DECISIONS = 500;
const HEARTBEAT_RECENT_S = 2 * 3600;
const FRESHNESS_WARN_S = 2 * 3600;
export const MAX_DAILY_WEIGHT_SHIFT = DAILY_SHIFT_MAX;
const ALARMING_LEVELS = new Set(['critical', 'lockdown']);

/** The advisor's strategy weights on a record (logged as `strategy_preferences`, core/advisor/advisor.ts), or the day's reference beside them. */
function strategyWeights(
  rl: unknown,
  key: 'strategy_preferences' | 'day_start_preferences' = 'strategy_preferences',
): Record<string, number> | null {
  const w = (rl as Record<string, unknown> | null)?.[key];
  if (!w || typeof w !== 'object') return null;
  const numeric = Object.entries(w as Record<string, unknown>).filter(
    (e): e is [string, number] => typeof e[1] === 'number',
  );
  return numeric.length > 0 ? Object.fromEntries(numeric) : null;
}

/** Facts of one UTC day's decisions beyond the additive totals: level changes and advisor weight shifts. */
export class DayObserver {
  readonly totals: Totals = emptyTotals();
  private readonly levels: Array<{ bar: string; symbol: string; level: string }> = [];
  private readonly weights: Array<{
    bar: string;
    weights: Record<string, number>;
    reference: Record<string, number> | null;
  }> = [];

  add(r: DecisionRecord): void {
    addDecision(this.totals, r);
    if (r.preservation_level)
      this.levels.push({ bar: r.bar_ts, symbol: r.symbol, level: r.preservation_level });
    const weights = strategyWeights(r.rl_recommendation);
    if (weights)
      this.weights.push({
        bar: r.bar_ts,
        weights,
        reference: strategyWeights(r.rl_recommendation, 'day_start_preferences'),
      });
  }

  /** Level at the day's last bar and how often it changed (in bar order, so log order does not matter). */
  preservation(): { current_level: string | null; transitions: number } {
    const sorted = [...this.levels].sort(
      (a, b) => a.bar.localeCompare(b.bar) || a.symbol.localeCompare(b.symbol),
    );
    let transitions = 0;
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.level !== sorted[i - 1]!.level) transitions++;
    return { current_level: sorted.at(-1)?.level ?? null, transitions };
  }

  /**
   * Largest move of any strategy weight in the day from where the advisor's day started, by the
   * advisor's own definition (`dailyShift`) and reference: the day-start weights each record
   * carries. Records from before they did fall back to the weights on the last record before the
   * day, else the day's first (which may already have moved: a first day can read too high).
   */
  weightShift(dayStart: Record<string, number> | null): {
    enabled: boolean;
    max_shift_observed: number;
    agent: string | null;
    measured_from: string;
  } {
    if (this.weights.length === 0)
      return { enabled: false, max_shift_observed: 0, agent: null, measured_from: 'none' };
    const sorted = [...this.weights].sort((a, b) => a.bar.localeCompare(b.bar));
    const fallback = dayStart ?? sorted[0]!.weights;
    let max = dailyShift({}, {});
    for (const { weights, reference } of sorted) {
      const s = dailyShift(reference ?? fallback, weights);
      if (s.shift > max.shift) max = s;
    }
    const logged = sorted.every((w) => w.reference);
    return {
      enabled: true,
      max_shift_observed: max.shift,
      agent: max.agent,
      measured_from: logged
        ? "the advisor's day-start weights"
        : dayStart
          ? 'the previous day'
          : "the day's first record",
    };
  }
}

export type DailyHealth = ReturnType<typeof describeDay>;

function describeDay(
  date: string,
  w: DayWindow,
  day: DayObserver,
  { integrity: log, recent, beforeWindow }: ScanResult,
  hb: ReturnType<typeof heartbeatView>,
) {
  const totals = roundTotals(day.totals);
  const blocked = recent.filter((r) => r.blocked_stage);
  const stageCounts: Record<string, number> = {};
  const reasonCounts: Record<string, number> = {};
  for (const r of blocked) {
    stageCounts[r.blocked_stage!] = (stageCounts[r.blocked_stage!] ?? 0) + 1;
    const key = `${r.blocked_stage}: ${reasonFamily(r.block_reason)}`;
    reasonCounts[key] = (reasonCounts[key] ?? 0) + 1;
  }
  const paperLive = totals.by_data_mode.PAPER_LIVE ?? 0;
  return {
    date,
    window: { ...windowBounds(w), key: 'bar_ts' as const },
    data_mode: paperLive > 0 ? 'PAPER_LIVE' : (topCounts(totals.by_data_mode, 1)[0]?.key ?? 'NONE'),
    totals,
    heartbeat: hb,
    shadow_collection: {
      decisions_today: totals.decisions,
      decisions_by_mode: totals.by_data_mode,
      paper_live_decisions: paperLive,
      records_all_time: log.records_all_time,
      newest_decision: log.newest,
    },
    capital_preservation: day.preservation(),
    strategy_weighting: {
      ...day.weightShift(strategyWeights(beforeWindow?.rl_recommendation)),
      max_allowed_shift: MAX_DAILY_WEIGHT_SHIFT,
    },
    gates: {
      blocked: totals.blocked,
      block_rate: totals.decisions > 0 ? totals.blocked / totals.decisions : null,
      by_stage: totals.blocks_by_stage,
      turnover_blocked: totals.blocks_by_stage.turnover ?? 0,
    },
    recent_blocks: {
      decisions: recent.length,
      blocked: blocked.length,
      top_stages: topCounts(stageCounts, 3).map(({ key, count }) => ({ stage: key, count })),
      top_reasons: topCounts(reasonCounts, 3).map(({ key, count }) => ({ reason: key, count })),
    },
    log,
  };
}

function heartbeatView(paths: DataPaths, nowMs: number) {
  const read = readJsonFile(paths.heartbeat, 'Heartbeat');
  if (read.kind !== 'ok')
    return {
      found: read.kind !== 'missing',
      readable: false,
      age_s: null,
      recent: false,
      pid: null,
      mode: null,
      status: null,
      symbols: [] as string[],
    };
  const hb: Heartbeat = read.value;
  const age = Math.round((nowMs - Date.parse(hb.ts)) / 1000);
  return {
    found: true,
    readable: true,
    age_s: age,
    recent: age <= HEARTBEAT_RECENT_S,
    pid: hb.pid,
    mode: hb.mode,
    status: hb.status,
    symbols: hb.symbols,
  };
}

function dailyChecks(r: DailyHealth, isToday: boolean, nowMs: number): Check[] {
  const checks: Check[] = [];
  const t = r.totals;
  const root = dirname(dirname(r.log.path));
  checks.push(
    windowCheck(
      r.log,
      t.decisions,
      t.executed,
      t.blocked,
      `${r.date} (UTC day, by bar time)`,
      (day) => `npx atl health-daily --date ${day} --data-dir ${root}`,
    ),
  );
  checks.push(...integrityChecks(r.log));
  const paperLive = paperLiveCheck(t, 'this day');
  if (paperLive) checks.push(paperLive);
  const hb = r.heartbeat;
  if (!isToday)
    checks.push(skippedCheck('heartbeat:recent', `${r.date} is not today; the heartbeat tells about now`));
  else if (!hb.readable)
    checks.push(
      check({
        id: 'heartbeat:recent',
        status: 'warn',
        output: hb.found ? 'heartbeat unreadable' : 'no heartbeat file',
        hint: 'is the engine running on this data root? `npx atl verify`',
      }),
    );
  else if (!hb.recent)
    checks.push(
      check({
        id: 'heartbeat:recent',
        status: 'warn',
        observed: hb.age_s,
        unit: 's',
        thresholds: { warn: HEARTBEAT_RECENT_S },
        output: `heartbeat is ${((hb.age_s ?? 0) / 3600).toFixed(2)} h old`,
        hint: 'the engine stopped or hangs: `npx atl verify`',
      }),
    );
  else
    checks.push(
      check({
        id: 'heartbeat:recent',
        status: 'pass',
        observed: hb.age_s,
        unit: 's',
        thresholds: { warn: HEARTBEAT_RECENT_S },
        output: `heartbeat ${hb.age_s}s old (pid ${hb.pid}, ${hb.mode})`,
      }),
    );
  if (isToday && r.log.newest) {
    const age = Math.round((nowMs - Date.parse(r.log.newest.ts)) / 1000);
    const stale = age > FRESHNESS_WARN_S;
    checks.push(
      check({
        id: 'data:freshness',
        status: stale ? 'warn' : 'pass',
        observed: age,
        unit: 's',
        thresholds: { warn: FRESHNESS_WARN_S },
        output: `newest decision written ${age}s ago`,
        hint: stale
          ? 'no decision for over 2 h: check the engine and its feed (`npx atl verify`, `npx atl doctor`)'
          : null,
      }),
    );
  }
  const level = r.capital_preservation.current_level;
  if (level && ALARMING_LEVELS.has(level)) {
    checks.push(
      check({
        id: 'preservation:level',
        status: 'warn',
        observed: level,
        output: `capital preservation at ${level} (${r.capital_preservation.transitions} transitions today)`,
        hint: 'trading is restricted; review drawdown and losses before it escalates',
      }),
    );
  } else {
    checks.push(
      check({
        id: 'preservation:level',
        status: 'pass',
        observed: level,
        output: `capital preservation ${level ?? 'not reported'} (${r.capital_preservation.transitions} transitions)`,
      }),
    );
  }
  const w = r.strategy_weighting;
  if (!w.enabled)
    checks.push(skippedCheck('weighting:clamp', 'no strategy weights in the advisor records of this day'));
  else if (breaksDailyClamp({ agent: w.agent, shift: w.max_shift_observed }, WEIGHT_LOG_PRECISION)) {
    checks.push(
      check({
        id: 'weighting:clamp',
        status: 'fail',
        observed: w.max_shift_observed,
        thresholds: { crit: MAX_DAILY_WEIGHT_SHIFT },
        output: `strategy weight ${w.agent} moved ${human(w.max_shift_observed)} in one day, from ${w.measured_from} (max ${MAX_DAILY_WEIGHT_SHIFT})`,
        hint: 'the advisor broke its daily clamp: stop trusting its weights and inspect the learner',
      }),
    );
  } else {
    checks.push(
      check({
        id: 'weighting:clamp',
        status: 'pass',
        observed: w.max_shift_observed,
        thresholds: { crit: MAX_DAILY_WEIGHT_SHIFT },
        output: `largest daily weight shift ${human(w.max_shift_observed)}`,
      }),
    );
  }
  return checks;
}

/** `atl health-daily`: one UTC day of the decision log (keyed by bar time), the heartbeat, and the checks. */
export async function computeDailyHealth(
  paths: DataPaths,
  date: string,
  now: Date,
): Promise<{ report: DailyHealth; checks: Check[] }> {
  const w = dayWindow(date);
  const day = new DayObserver();
  const scan = await scanDecisionLog(paths.decisions, w, (r) => day.add(r), {
    recentLimit: RECENT_DECISIONS,
  });
  const report = describeDay(date, w, day, scan, heartbeatView(paths, now.getTime()));
  const isToday = now.toISOString().slice(0, 10) === date;
  return { report, checks: dailyChecks(report, isToday, now.getTime()) };
}
