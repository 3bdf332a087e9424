import { check } from '../evidence/envelope.ts';
import type { Check } from '../schema/evidence.ts';
import type { Heartbeat } from '../schema/heartbeat.ts';
import type { VerifyFacts, VerifyThresholds } from './facts.ts';

const STOP_HINT =
  'start it (`npx atl run …`, or `systemctl --user start <unit>`), then re-run `npx atl verify`';

/** One engine process on this data root (the lock guarantees it unless the lock file was removed or bypassed). */
export function evaluateEngineProcess(f: VerifyFacts): Check {
  const pids = f.enginesOnRoot;
  const base = { id: 'engine:process', unit: 'count', thresholds: { min: 1, max: 1 } };
  if (pids === null) {
    return check({
      ...base,
      status: 'unknown',
      output: 'cannot list processes on this host (neither /proc nor WMI answered)',
      hint: 'check by hand: `pgrep -af "cli/main.ts run"`, or on Windows `Get-CimInstance Win32_Process -Filter "Name=\'bun.exe\'" | Select ProcessId,CommandLine`',
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
    hint: "stop all but one (`npx atl emergency-stop` stops the pidfile's engine; `kill PID` the others), and never delete logs/engine.lock while an engine runs",
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
      hint: hb.status === 'halted' ? 'trading is halted; see `npx atl status`' : STOP_HINT,
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
    hint: 'after investigating, clear it with `npx atl emergency-stop --clear --approver NAME` and restart the engine',
  });
}
