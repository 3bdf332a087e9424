import { check, skippedCheck } from '../evidence/envelope.ts';
import type { Check } from '../schema/evidence.ts';
import type { Heartbeat } from '../schema/heartbeat.ts';
import type { VerifyFacts, VerifyThresholds } from './facts.ts';

const LIVE_DATA_MODES = new Set(['PAPER_LIVE', 'TESTNET', 'LIVE']);
const STOP_HINT = 'start it (`atl run …`, or `systemctl --user start <unit>`), then re-run `atl verify`';

/** One engine process on this data root (the lock guarantees it unless the lock file was removed or bypassed). */
export function evaluateEngineProcess(f: VerifyFacts): Check {
  const pids = f.enginesOnRoot;
  const base = { id: 'engine:process', unit: 'count', thresholds: { min: 1, max: 1 } };
  if (pids === null) {
    return check({
      ...base,
      status: 'unknown',
      output: 'cannot list processes on this host (/proc unavailable)',
      hint: 'check by hand: `pgrep -af "cli/main.ts run"`',
    });
  }
  if (pids.length === 1)
    return check({
      ...base,
      status: 'pass',
      observed: 1,
      output: `one engine process on ${f.dataRoot} (pid ${pids[0]})`,
    });
  if (pids.length === 0)
    return check({
      ...base,
      status: 'fail',
      observed: 0,
      output: `no engine process is running on ${f.dataRoot}`,
      hint: STOP_HINT,
    });
  return check({
    ...base,
    status: 'fail',
    observed: pids.length,
    output: `${pids.length} engine processes run on ${f.dataRoot} (pids ${pids.join(', ')}): they race on the same log, ledger and heartbeat`,
    hint: "stop all but one (`atl emergency-stop` stops the pidfile's engine; `kill PID` the others), and never delete logs/engine.lock while an engine runs",
  });
}

/** The pidfile names a live process that is provably the engine: pid, start time and boot id all match (PID reuse fails). */
export function evaluatePidfile(f: VerifyFacts): Check {
  const id = 'engine:pidfile';
  if (f.pidfile.kind === 'missing')
    return check({
      id,
      status: 'fail',
      output: 'no pidfile (logs/engine.pid): no engine started on this data root, or it exited',
      hint: STOP_HINT,
    });
  if (f.pidfile.kind === 'invalid')
    return check({
      id,
      status: 'fail',
      output: `pidfile malformed: ${f.pidfile.problem}`,
      hint: 'stop any engine on this data root and start it again; the engine rewrites its pidfile at start',
    });
  const pf = f.pidfile.value;
  const p = f.pidfileProcess;
  const observed = {
    pid: pf.pid,
    process_start: pf.process_start,
    boot_id: pf.boot_id,
    cmdline: p?.cmdline ?? null,
  };
  if (!p || p.identity === 'gone')
    return check({
      id,
      status: 'fail',
      observed,
      output: `stale pidfile: pid ${pf.pid} is not running`,
      hint: `the engine died; read logs/engine.log, then ${STOP_HINT}`,
    });
  if (p.identity === 'unverifiable')
    return check({
      id,
      status: 'unknown',
      observed,
      output: `cannot verify the identity of pid ${pf.pid} on this platform`,
      hint: 'compare the process start time with the pidfile by hand',
    });
  if (p.identity === 'reused') {
    return check({
      id,
      status: 'fail',
      observed,
      output: `pid ${pf.pid} is alive but is not the engine that wrote the pidfile (start time differs: the pid was reused)`,
      hint: `the engine is gone; ${STOP_HINT}`,
    });
  }
  if (!p.isEngine) {
    return check({
      id,
      status: 'fail',
      observed,
      output: `pid ${pf.pid} is alive but is not an engine (cmdline: ${(p.cmdline ?? []).join(' ').slice(0, 120)})`,
      hint: 'the pidfile names an unrelated process; never signal it. Restart the engine so it writes its own pidfile',
    });
  }
  if (p.state === 'Z')
    return check({
      id,
      status: 'fail',
      observed,
      output: `engine pid ${pf.pid} is a zombie (exited, not reaped)`,
      hint: `its parent has not reaped it; ${STOP_HINT}`,
    });
  return check({
    id,
    status: 'pass',
    observed,
    output: `pid ${pf.pid} is the engine (start time and boot id match)`,
  });
}

/** Pidfile ↔ heartbeat parity: the heartbeat comes from the process the pidfile names. */
export function evaluatePidParity(f: VerifyFacts): Check {
  const id = 'engine:pid-parity';
  if (f.pidfile.kind !== 'ok' || f.heartbeat.kind !== 'ok') {
    return check({
      id,
      status: 'fail',
      output: `cannot compare: pidfile ${f.pidfile.kind}, heartbeat ${f.heartbeat.kind}`,
      hint: STOP_HINT,
    });
  }
  const pf = f.pidfile.value;
  const hb = f.heartbeat.value;
  const observed = { pidfile_pid: pf.pid, heartbeat_pid: hb.pid };
  const same = pf.pid === hb.pid && pf.process_start === hb.process_start && pf.boot_id === hb.boot_id;
  if (same)
    return check({
      id,
      status: 'pass',
      observed,
      output: `PID parity: MATCH (pid ${pf.pid}, same start time and boot id)`,
    });
  return check({
    id,
    status: 'fail',
    observed,
    output: `PID parity: NO MATCH (pidfile pid ${pf.pid} start ${pf.process_start}, heartbeat pid ${hb.pid} start ${hb.process_start})`,
    hint: 'the heartbeat was written by another process: a second engine, or a leftover from a previous run. Stop every engine on this data root and start one',
  });
}

function heartbeatAgeS(hb: Heartbeat, nowMs: number): number {
  return Math.round((nowMs - Date.parse(hb.ts)) / 100) / 10;
}

/** Fresh per HEARTBEAT_MAX_AGE_SECONDS; a future timestamp beyond tolerance is clock skew (check_file_age passes it; we do not). */
export function evaluateHeartbeat(f: VerifyFacts, t: VerifyThresholds): Check {
  const base = {
    id: 'engine:heartbeat',
    unit: 's',
    thresholds: { crit: t.heartbeatMaxAgeS, future_tolerance: t.clockSkewToleranceS },
  };
  if (f.heartbeat.kind === 'missing')
    return check({
      ...base,
      status: 'fail',
      output: 'no heartbeat file (rl/paper_live_heartbeat.json)',
      hint: STOP_HINT,
    });
  if (f.heartbeat.kind === 'invalid')
    return check({
      ...base,
      status: 'fail',
      output: `heartbeat unreadable: ${f.heartbeat.problem}`,
      hint: 'the engine rewrites it after every tick; if it stays unreadable, restart the engine',
    });
  const hb = f.heartbeat.value;
  const age = heartbeatAgeS(hb, f.nowMs);
  if (age < -t.clockSkewToleranceS) {
    return check({
      ...base,
      status: 'fail',
      observed: age,
      output: `heartbeat is dated ${-age}s in the future (${hb.ts}): clock skew`,
      hint: 'check time sync on this host (`timedatectl show -p NTPSynchronized`) and where the heartbeat was written',
    });
  }
  if (hb.status === 'halted' || hb.status === 'stopped') {
    return check({
      ...base,
      status: 'fail',
      observed: age,
      output: `engine reported "${hb.status}"${hb.status_reason ? ` (${hb.status_reason})` : ''} at ${hb.ts}`,
      hint: hb.status === 'halted' ? 'trading is halted; see `atl status`' : STOP_HINT,
    });
  }
  if (age > t.heartbeatMaxAgeS) {
    const alive = f.pidfileProcess?.identity === 'same';
    const stopped = f.pidfileProcess?.state === 'T';
    return check({
      ...base,
      status: 'fail',
      observed: age,
      output: `heartbeat is ${age}s old (max ${t.heartbeatMaxAgeS}s), seq ${hb.seq}${alive ? `; pid ${hb.pid} is alive${stopped ? ' but stopped (SIGSTOP)' : ''}, so the tick loop is stalled` : '; the engine process is gone'}`,
      hint: alive
        ? `stalled, not dead: ${stopped ? '`kill -CONT PID` or ' : ''}check exchange connectivity and logs/engine.log, then restart the engine`
        : `dead: read logs/engine.log, then ${STOP_HINT}`,
    });
  }
  return check({
    ...base,
    status: 'pass',
    observed: Math.max(0, age),
    output: `heartbeat ${Math.max(0, age)}s old (max ${t.heartbeatMaxAgeS}s), seq ${hb.seq}, status ${hb.status}`,
  });
}

/** Two samples of the heartbeat's tick counter: the loop must advance, not just exist. */
export function evaluateProgress(f: VerifyFacts): Check {
  const id = 'engine:progress';
  const p = f.progress;
  if (p.kind === 'not_sampled')
    return check({ id, status: 'fail', output: `loop progress not observed: ${p.reason}`, hint: STOP_HINT });
  const observed = { first_seq: p.firstSeq, last_seq: p.lastSeq, waited_s: p.waitedMs / 1000 };
  const thresholds = { wait_budget_s: p.budgetMs / 1000, interval_s: p.intervalS };
  if (p.lastSeq > p.firstSeq)
    return check({
      id,
      status: 'pass',
      observed,
      thresholds,
      output: `tick counter advanced ${p.firstSeq} → ${p.lastSeq} within ${p.waitedMs / 1000}s`,
    });
  if (p.budgetMs < p.intervalS * 1000) {
    return check({
      id,
      status: 'unknown',
      observed,
      thresholds,
      output: `tick counter stayed at ${p.firstSeq}, but the wait (${p.budgetMs / 1000}s) is shorter than the tick interval (${p.intervalS}s)`,
      hint: 'raise --progress-wait above the interval to observe a tick',
    });
  }
  return check({
    id,
    status: 'fail',
    observed,
    thresholds,
    output: `tick counter stuck at ${p.firstSeq} for ${p.waitedMs / 1000}s (interval ${p.intervalS}s)`,
    hint: 'the loop is hung or blocked: check logs/engine.log and exchange connectivity, then restart the engine',
  });
}

export function evaluateHalt(f: VerifyFacts): Check {
  if (!f.halt.halted)
    return check({ id: 'engine:halt', status: 'pass', observed: false, output: 'no halt flag set' });
  return check({
    id: 'engine:halt',
    status: 'fail',
    observed: true,
    output: `trading is halted: ${f.halt.reason ?? 'no reason given'}${f.halt.by ? ` (by ${f.halt.by})` : ''}`,
    hint: 'after investigating, clear it with `atl emergency-stop --clear --approver NAME` and restart the engine',
  });
}

export function evaluateStatusCommand(f: VerifyFacts): Check {
  const s = f.status;
  const observed = { exit_code: s.exitCode, duration_ms: s.durationMs };
  if (s.problem === null && s.exitCode === 0)
    return check({
      id: 'status:command',
      status: 'pass',
      observed,
      output: `\`atl status --json\` exited 0 with parseable JSON in ${s.durationMs} ms`,
    });
  return check({
    id: 'status:command',
    status: 'fail',
    observed,
    output: `\`atl status --json\` failed: ${s.problem ?? `exit ${s.exitCode}`}`,
    hint: 'run `atl status` by hand: a damaged state or heartbeat file is named on stderr',
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
      hint: 'the unit may start a wrapper; check ExecStart runs `atl run` directly',
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
      hint: 'run `atl health-daily` for a full integrity report',
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
      ? 'the host cannot resolve the exchange: check DNS (`atl doctor`)'
      : 'the feed is not delivering enough candles: run `atl doctor` and check logs/engine.log',
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
  const open = Object.entries(hb.circuit_breakers).filter(([, state]) => state !== 'closed');
  if (open.length === 0)
    return check({
      id,
      status: 'pass',
      observed: hb.circuit_breakers,
      output: 'all circuit breakers closed',
    });
  return check({
    id,
    status: 'warn',
    observed: hb.circuit_breakers,
    output: `circuit breaker ${open.map(([n, s]) => `${n}=${s}`).join(', ')}`,
    hint: 'the exchange is failing or rate-limiting: run `atl doctor`; liveness is unaffected until data goes stale',
  });
}

/** Every verify gate. Liveness gates fail; dependency checks (exchange, disk) warn. */
export function evaluateVerify(f: VerifyFacts, t: VerifyThresholds): Check[] {
  return [
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
    evaluateDisk(f, t),
  ];
}
