import { check } from '../evidence/envelope.ts';
import type { ModeName } from '../schema/common.ts';
import type { Check } from '../schema/evidence.ts';

export const MIN_SHADOW_DECISIONS = 100;
export const HEARTBEAT_RECENT_S = 6 * 3600;

/** Live guardrail knobs from env, all in percent (5 means 5%: the original mixed fractions and percents). */
export const LIVE_LIMIT_BOUNDS = [
  { env: 'LIVE_MAX_POSITION_PCT', fallback: 5, max: 10, unit: '%' },
  { env: 'LIVE_MAX_LEVERAGE', fallback: 1, max: 3, unit: 'x' },
  { env: 'LIVE_MAX_DAILY_LOSS_PCT', fallback: 2, max: 5, unit: '%' },
  { env: 'LIVE_MAX_ORDERS_DAY', fallback: 20, max: 50, unit: 'orders' },
  { env: 'LIVE_LIMITED_CAPITAL', fallback: 1000, max: 5000, unit: 'USD' },
] as const;

export type ExchangeProbe =
  | { status: 'reachable'; exchange: string; latencyMs: number; authenticated: boolean }
  | { status: 'unreachable'; exchange: string; reason: string }
  | { status: 'unknown'; exchange: string; reason: string };

/** Everything the readiness gates judge, gathered by readiness-facts.ts (plain data, so gates test with fixtures). */
export type ReadinessFacts = {
  decisions: {
    present: boolean;
    total: number;
    realData: number;
    critical: number;
    lockdown: number;
    tornTailBytes: number;
  };
  currentLevel: string | null;
  pause: string | null;
  halt: string | null;
  heartbeat: { ts: string | null; problem: string | null };
  apiKeys: { broker: string; present: boolean; vars: string[] }[];
  exchange: ExchangeProbe;
  liveEnv: Record<string, string | undefined>;
  emergencyPath: { safetyProblem: string | null; rootWritable: boolean; drills: number; entryPoint: boolean };
};

/** Readiness gates for targets testnet and beyond (original §1.7–§1.8), as checks. */
export function readinessChecks(f: ReadinessFacts, target: ModeName, nowMs: number): Check[] {
  const checks: Check[] = [];
  const d = f.decisions;
  checks.push(
    check({
      id: 'readiness:shadow_decisions',
      status: d.realData >= MIN_SHADOW_DECISIONS ? 'pass' : 'fail',
      observed: d.realData,
      unit: 'decisions',
      thresholds: { min: MIN_SHADOW_DECISIONS },
      output: `${d.realData} decisions on real market data (PAPER_LIVE/TESTNET/LIVE) of ${d.total} logged`,
      hint:
        d.realData >= MIN_SHADOW_DECISIONS
          ? null
          : 'run paper_live_data (shadow mode) until it has logged enough decisions on real candles',
    }),
  );
  const everCritical = d.critical + d.lockdown;
  const levelNow = f.currentLevel === 'critical' || f.currentLevel === 'lockdown';
  checks.push(
    !d.present
      ? check({
          id: 'readiness:preservation_never_critical',
          status: 'unknown',
          output: 'no decision log: cannot tell whether capital preservation was ever critical',
          hint: 'run the engine on this data root first',
        })
      : check({
          id: 'readiness:preservation_never_critical',
          status: everCritical === 0 && !levelNow ? 'pass' : 'fail',
          observed: { critical: d.critical, lockdown: d.lockdown, level_now: f.currentLevel },
          output:
            everCritical === 0 && !levelNow
              ? 'capital preservation never reached critical'
              : `capital preservation was critical or worse on ${everCritical} decisions (now ${f.currentLevel ?? 'unknown'})`,
          hint:
            everCritical === 0 && !levelNow
              ? null
              : 'a mode that reached critical is not ready to move up; prove it over a fresh period (`npx atl run --fresh`)',
        }),
  );
  const override = [
    f.halt ? `halt flag set (${f.halt})` : null,
    f.pause ? `pause switch on (${f.pause})` : null,
  ].filter((x): x is string => x !== null);
  checks.push(
    check({
      id: 'readiness:no_manual_override',
      status: override.length === 0 ? 'pass' : 'fail',
      observed: override.length,
      output: override.length === 0 ? 'no halt flag, no pause switch' : override.join('; '),
      hint:
        override.length === 0
          ? null
          : 'clear the override once resolved: `npx atl emergency-stop --clear --approver NAME`, or set paused=false in unified_trading/control.json',
    }),
  );
  const hb = f.heartbeat;
  const ageS = hb.ts ? (nowMs - Date.parse(hb.ts)) / 1000 : null;
  checks.push(
    ageS === null
      ? check({
          id: 'readiness:heartbeat_recent',
          status: 'fail',
          output: hb.problem
            ? `heartbeat unreadable: ${hb.problem}`
            : 'no heartbeat: the engine has not run on this data root',
          hint: 'run the engine; its heartbeat must be under 6 h old',
        })
      : check({
          id: 'readiness:heartbeat_recent',
          status: ageS >= -60 && ageS < HEARTBEAT_RECENT_S ? 'pass' : 'fail',
          observed: Math.round(ageS),
          unit: 's',
          thresholds: { max: HEARTBEAT_RECENT_S },
          output:
            ageS < -60
              ? `heartbeat is ${Math.round(-ageS)} s in the future (clock skew)`
              : `heartbeat ${(ageS / 3600).toFixed(2)} h old (${hb.ts})`,
          hint:
            ageS >= -60 && ageS < HEARTBEAT_RECENT_S
              ? null
              : 'the engine has not ticked recently: check it with `npx atl status` and `npx atl verify`',
        }),
  );
  const keysOk = f.apiKeys.some((k) => k.present);
  checks.push(
    check({
      id: 'readiness:api_keys',
      status: keysOk ? 'pass' : 'fail',
      observed: Object.fromEntries(f.apiKeys.map((k) => [k.broker, k.present])),
      output: f.apiKeys.map((k) => `${k.broker}:${k.present ? 'present' : 'missing'}`).join(' '),
      hint: keysOk
        ? null
        : `export ${f.apiKeys[0]?.vars.join(' and ')} for ${target} (values are never printed)`,
    }),
  );
  const ex = f.exchange;
  checks.push(
    ex.status === 'reachable'
      ? check({
          id: 'readiness:exchange_reachable',
          status: 'pass',
          observed: ex.latencyMs,
          unit: 'ms',
          output: `${ex.exchange} answered in ${ex.latencyMs} ms${ex.authenticated ? ' (authenticated balance read)' : ' (public endpoint)'}`,
        })
      : check({
          id: 'readiness:exchange_reachable',
          status: ex.status === 'unreachable' ? 'fail' : 'unknown',
          output: `${ex.exchange}: ${ex.reason}`,
          hint:
            ex.status === 'unreachable'
              ? 'check DNS, network and the exchange status; `npx atl doctor` walks the data-source preflight'
              : 'run check-transition on a host that can reach the exchange',
        }),
  );
  checks.push(liveLimitsCheck(f.liveEnv));
  const e = f.emergencyPath;
  const eOk = e.safetyProblem === null && e.rootWritable && e.entryPoint;
  checks.push(
    check({
      id: 'readiness:emergency_stop_path',
      status: eOk ? 'pass' : 'fail',
      observed: {
        safety_state_readable: e.safetyProblem === null,
        data_root_writable: e.rootWritable,
        drills_recorded: e.drills,
      },
      output: eOk
        ? `halt flag readable and writable; emergency-stop available${e.drills > 0 ? `; ${e.drills} halt drill(s) recorded` : '; no halt drill recorded yet'}`
        : [
            e.safetyProblem,
            e.rootWritable ? null : 'data root not writable',
            e.entryPoint ? null : 'emergency-stop entry point missing',
          ]
            .filter(Boolean)
            .join('; '),
      hint: eOk
        ? null
        : 'fix the halt flag file or the data root permissions: emergency-stop must be able to write safety_state.json',
    }),
  );
  return checks;
}

/** The live guardrail knobs within conservative bounds (original §1.8). */
function liveLimitsCheck(env: Record<string, string | undefined>): Check {
  const observed: Record<string, number | string> = {};
  const problems: string[] = [];
  for (const b of LIVE_LIMIT_BOUNDS) {
    const raw = env[b.env]?.trim();
    const v = raw ? Number(raw) : b.fallback;
    observed[b.env] = raw && !Number.isFinite(v) ? raw : v;
    if (!Number.isFinite(v) || v <= 0) problems.push(`${b.env}="${raw}" is not a positive number`);
    else if (v > b.max) problems.push(`${b.env}=${v}${b.unit} exceeds ${b.max}${b.unit}`);
  }
  return check({
    id: 'readiness:live_risk_limits',
    status: problems.length === 0 ? 'pass' : 'fail',
    observed,
    thresholds: Object.fromEntries(LIVE_LIMIT_BOUNDS.map((b) => [b.env, b.max])),
    output: problems.length === 0 ? 'live risk limits are conservative' : problems.join('; '),
    hint: problems.length === 0 ? null : 'lower the named limits (values are percent: 5 means 5%)',
  });
}
