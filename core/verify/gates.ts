import { MODEL_BREAKER_PREFIX } from '../breaker-state.ts';
import { check, skippedCheck } from '../evidence/envelope.ts';
import type { Check } from '../schema/evidence.ts';
import type { VerifyFacts, VerifyThresholds } from './facts.ts';
import {
  evaluateEngineProcess,
  evaluateHalt,
  evaluateHeartbeat,
  evaluatePidfile,
  evaluatePidParity,
  evaluateProgress,
} from './liveness.ts';

const LIVE_DATA_MODES = new Set(['PAPER_LIVE', 'TESTNET', 'LIVE']);

export function evaluateStatusCommand(f: VerifyFacts): Check {
  const s = f.status;
  const observed = { exit_code: s.exitCode, duration_ms: s.durationMs };
  // Exit 2 is status reporting a halt (judged by the halt gate); the command itself worked.
  if (s.problem === null && (s.exitCode === 0 || s.exitCode === 2))
    return check({
      id: 'status:command',
      status: 'pass',
      observed,
      output: `\`atl status --json\` exited ${s.exitCode}${s.exitCode === 2 ? ' (halted)' : ''} with parseable JSON in ${s.durationMs} ms`,
    });
  return check({
    id: 'status:command',
    status: 'fail',
    observed,
    output: `\`atl status --json\` failed: ${s.problem ?? `exit ${s.exitCode}`}`,
    hint: 'run `npx atl status` by hand: a damaged state or heartbeat file is named on stderr',
  });
}

/** The engine logs `Paper-live turnover overrides: …` once at start in paper_live_data; the ops scripts send its stderr to logs/engine.log. */
export function evaluateTurnoverOverrides(f: VerifyFacts): Check {
  const id = 'engine:turnover-overrides';
  const mode =
    f.heartbeat.kind === 'ok'
      ? f.heartbeat.value.mode
      : f.pidfile.kind === 'ok'
        ? f.pidfile.value.mode
        : null;
  if (mode !== 'paper_live_data')
    return skippedCheck(id, `only logged in paper_live_data (engine mode: ${mode ?? 'unknown'})`);
  if (!f.turnoverLog.exists) {
    return check({
      id,
      status: 'fail',
      output: `no engine log at ${f.turnoverLog.path}`,
      hint: 'start the engine through the ops scripts (they append its stderr to logs/engine.log), or redirect it there yourself',
    });
  }
  if (f.turnoverLog.line)
    return check({
      id,
      status: 'pass',
      observed: f.turnoverLog.line,
      output: f.turnoverLog.line.trim().slice(0, 200),
    });
  return check({
    id,
    status: 'fail',
    output: `"Paper-live turnover overrides:" not found in ${f.turnoverLog.path}`,
    hint: 'set PAPER_LIVE_TURNOVER_MIN_RATIO / PAPER_LIVE_TURNOVER_MAX_DAILY in the unit and restart; the line is logged at start',
  });
}

export function evaluateSystemd(f: VerifyFacts): Check {
  const id = 'service:systemd';
  const s = f.systemd;
  if (s.kind === 'absent') return skippedCheck(id, s.reason);
  if (s.kind === 'error')
    return check({
      id,
      status: 'unknown',
      output: `cannot query ${s.unit}: ${s.problem}`,
      hint: `run \`systemctl --user status ${s.unit}\` by hand`,
    });
  if (s.loadState === 'not-found')
    return skippedCheck(id, `unit ${s.unit} is not installed (engine not run by systemd here)`, {
      unit: s.unit,
    });
  const observed = { unit: s.unit, active: s.activeState, sub: s.subState, main_pid: s.mainPid };
  if (s.activeState !== 'active') {
    return check({
      id,
      status: 'fail',
      observed,
      output: `${s.unit} is ${s.activeState} (${s.subState})`,
      hint: `\`systemctl --user start ${s.unit}\`; \`journalctl --user -u ${s.unit} -n 100\` says why it stopped`,
    });
  }
  const pf = f.pidfile.kind === 'ok' ? f.pidfile.value.pid : null;
  if (s.mainPid && pf && s.mainPid !== pf && !(f.enginesOnRoot ?? []).includes(s.mainPid)) {
    return check({
      id,
      status: 'warn',
      observed,
      output: `${s.unit} is active but its main pid ${s.mainPid} is not the engine (pidfile: ${pf})`,
      hint: 'the unit may start a wrapper; check ExecStart runs `bun …/cli/main.ts run` directly',
    });
  }
  return check({ id, status: 'pass', observed, output: `${s.unit} is active (${s.subState})` });
}

/** Not stuck on `insufficient_data` (or any data_fetch block): the tail of the decision log, per symbol. */
export function evaluateDataPipeline(f: VerifyFacts, t: VerifyThresholds): Check {
  const id = 'data:pipeline';
  const thresholds = { warn: t.stuckDataWarn, crit: t.stuckDataFail };
  if (f.dataTail.kind === 'missing')
    return check({
      id,
      status: 'warn',
      thresholds,
      output: 'no decision log yet (rl/shadow_decisions.jsonl)',
      hint: 'the engine writes one record per closed bar; wait one bar interval and re-run',
    });
  if (f.dataTail.kind === 'invalid')
    return check({
      id,
      status: 'unknown',
      thresholds,
      output: `cannot read the decision log tail: ${f.dataTail.problem}`,
      hint: 'run `npx atl health-daily` for a full integrity report',
    });
  const worst = Object.entries(f.dataTail.bySymbol).sort((a, b) => b[1].streak - a[1].streak)[0];
  const streak = worst?.[1].streak ?? 0;
  const observed = streak;
  if (!worst || streak < t.stuckDataWarn)
    return check({
      id,
      status: 'pass',
      unit: 'count',
      observed,
      thresholds,
      output: `latest decisions get data (longest data_fetch block streak: ${streak})`,
    });
  const [symbol, { reason }] = worst;
  return check({
    id,
    status: streak >= t.stuckDataFail ? 'fail' : 'warn',
    unit: 'count',
    observed,
    thresholds,
    output: `${symbol}: the last ${streak} decisions were blocked at data_fetch (${reason ?? 'no reason'})`,
    hint: reason?.startsWith('dns_failure')
      ? 'the host cannot resolve the exchange: check DNS (`npx atl doctor`)'
      : 'the feed is not delivering enough candles: run `npx atl doctor` and check logs/engine.log',
  });
}

export function evaluateDisk(f: VerifyFacts, t: VerifyThresholds): Check {
  const id = 'host:disk';
  if (f.disk.kind === 'error')
    return check({
      id,
      status: 'unknown',
      output: `cannot read free space: ${f.disk.problem}`,
      hint: 'check `df -h` on the data root',
    });
  const { freeBytes, totalBytes } = f.disk;
  const pct = totalBytes > 0 ? Math.round((freeBytes / totalBytes) * 1000) / 10 : 0;
  const thresholds = { warn_free_bytes: t.diskWarnFreeBytes, warn_free_pct: t.diskWarnFreePct };
  const low = freeBytes < t.diskWarnFreeBytes || pct < t.diskWarnFreePct;
  const gib = (freeBytes / 2 ** 30).toFixed(2);
  if (!low)
    return check({
      id,
      status: 'pass',
      unit: 'bytes',
      observed: freeBytes,
      thresholds,
      output: `${gib} GiB free (${pct}%) on the data root's filesystem`,
    });
  return check({
    id,
    status: 'warn',
    unit: 'bytes',
    observed: freeBytes,
    thresholds,
    output: `only ${gib} GiB free (${pct}%) on the data root's filesystem`,
    hint: 'free space before the decision log or ledger write fails: archive old reports and rl/archive',
  });
}

/** Exchange reachability from the engine's own view (circuit breakers, latest data_fetch reasons): verify spends no exchange requests. */
export function evaluateExchange(f: VerifyFacts): Check {
  const id = 'exchange:reachability';
  if (f.heartbeat.kind !== 'ok')
    return skippedCheck(id, "no readable heartbeat to read the engine's exchange state from");
  const hb = f.heartbeat.value;
  if (!LIVE_DATA_MODES.has(hb.data_mode))
    return skippedCheck(id, `${hb.data_mode} data does not come from an exchange`);
  const breakers = breakersOf(hb.circuit_breakers, (name) => !name.startsWith(MODEL_BREAKER_PREFIX));
  return breakerCheck(id, breakers, 'all circuit breakers closed', {
    hint: 'the exchange is failing or rate-limiting: run `npx atl doctor`; liveness is unaffected until data goes stale',
  });
}

/** The model runners' circuit breakers: a model whose inference keeps failing is benched, the run goes on. */
export function evaluateModelRunners(f: VerifyFacts): Check {
  const id = 'models:runners';
  if (f.heartbeat.kind !== 'ok')
    return skippedCheck(id, 'no readable heartbeat to read model runner state from');
  const breakers = breakersOf(f.heartbeat.value.circuit_breakers, (name) =>
    name.startsWith(MODEL_BREAKER_PREFIX),
  );
  if (Object.keys(breakers).length === 0) return skippedCheck(id, 'the engine runs no models');
  return breakerCheck(id, breakers, 'every model runner is closed (inferring)', {
    hint: 'a model keeps failing to infer: its records show it skipped with model_runner_*; the other models or the technical rules decide meanwhile; see the engine log',
  });
}

const breakersOf = (all: Record<string, string>, keep: (name: string) => boolean) =>
  Object.fromEntries(Object.entries(all).filter(([name]) => keep(name)));

function breakerCheck(
  id: string,
  breakers: Record<string, string>,
  allClosed: string,
  warn: { hint: string },
): Check {
  const open = Object.entries(breakers).filter(([, state]) => state !== 'closed');
  if (open.length === 0) return check({ id, status: 'pass', observed: breakers, output: allClosed });
  return check({
    id,
    status: 'warn',
    observed: breakers,
    output: `circuit breaker ${open.map(([n, s]) => `${n}=${s}`).join(', ')}`,
    hint: warn.hint,
  });
}

/** Every verify gate. Liveness gates fail; dependency checks (exchange, model runners, disk) warn. */
/**
 * With no engine on the data root, pidfile, parity, heartbeat and progress all fail for that one
 * reason: engine:process says what to do, and the others point at it instead of repeating it.
 */
function oneCause(checks: Check[]): Check[] {
  const cause = checks.find((c) => c.id === 'engine:process');
  if (cause?.status !== 'fail' || cause.observed !== 0 || !cause.hint) return checks;
  return checks.map((c) =>
    c !== cause && c.status === 'fail' && c.hint === cause.hint
      ? { ...c, hint: 'see engine:process (no engine runs on this data root)' }
      : c,
  );
}

export function evaluateVerify(f: VerifyFacts, t: VerifyThresholds): Check[] {
  return oneCause([
    evaluateEngineProcess(f),
    evaluatePidfile(f),
    evaluatePidParity(f),
    evaluateHeartbeat(f, t),
    evaluateProgress(f),
    evaluateHalt(f),
    evaluateStatusCommand(f),
    evaluateTurnoverOverrides(f),
    evaluateSystemd(f),
    evaluateDataPipeline(f, t),
    evaluateExchange(f),
    evaluateModelRunners(f),
    evaluateDisk(f, t),
  ]);
}
