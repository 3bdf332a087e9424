import { buildEvidence, check, writeEvidence } from '../evidence/envelope.ts';
import { readJsonFile } from '../fsx/json-file.ts';
import type { DataPaths } from '../paths.ts';
import type { Check, Evidence } from '../schema/evidence.ts';
import { clearHalt, setHalt } from './halt.ts';
import { checkIdentity, isAlive, looksLikeEngine, readCmdline } from './process.ts';

/** Signals and waits go through this adapter so tests can observe them with real processes. */
export type ProcessControl = {
  signal(pid: number, sig: 'SIGTERM' | 'SIGKILL'): void;
  sleep(ms: number): Promise<void>;
};

export const realProcessControl: ProcessControl = {
  signal: (pid, sig) => process.kill(pid, sig),
  sleep: (ms) => Bun.sleep(ms),
};

export type EmergencyStopOptions = { reason: string; by?: string; graceMs: number; killGraceMs: number };

/**
 * Halt first (the persistent flag every engine start and tick respects), then stop the engine
 * named by the pidfile — only after proving it is that engine — escalating to SIGKILL, and confirm.
 */
export async function emergencyStop(
  paths: DataPaths,
  opts: EmergencyStopOptions,
  pc = realProcessControl,
): Promise<Check[]> {
  const checks: Check[] = [];
  const safety = setHalt(paths, { reason: opts.reason, by: opts.by, source: 'emergency-stop' });
  checks.push(
    check({
      id: 'halt:flag',
      status: 'pass',
      output: `halt flag set in ${paths.safety} (reason: ${safety.reason})`,
      observed: true,
    }),
  );

  const pf = readJsonFile(paths.pidfile, 'Pidfile');
  if (pf.kind !== 'ok') {
    checks.push(
      check({
        id: 'engine:stopped',
        status: pf.kind === 'missing' ? 'pass' : 'unknown',
        output:
          pf.kind === 'missing'
            ? 'no pidfile: no engine is running on this data root'
            : `pidfile unreadable: ${pf.problem}`,
        hint:
          pf.kind === 'missing'
            ? null
            : 'check for an engine process by hand (`pgrep -af "cli/main.ts run"`); the halt flag is set either way',
      }),
    );
    return checks;
  }
  const { pid, process_start, boot_id } = pf.value;
  const identity = checkIdentity({ pid, processStart: process_start, bootId: boot_id });
  if (identity === 'gone' || identity === 'reused') {
    checks.push(
      check({
        id: 'engine:stopped',
        status: 'pass',
        observed: { pid, identity },
        output:
          identity === 'gone'
            ? `the engine the pidfile names (pid ${pid}) is not running: the pid is free, or the pidfile is from before a reboot (stale pidfile)`
            : `pid ${pid} now belongs to another process; it was not signalled`,
      }),
    );
    return checks;
  }
  const cmdline = readCmdline(pid);
  if (identity === 'unverifiable' || (cmdline !== null && !looksLikeEngine(cmdline))) {
    checks.push(
      check({
        id: 'engine:stopped',
        status: 'unknown',
        observed: { pid, identity, cmdline },
        output: `cannot prove pid ${pid} is the engine; not signalling it`,
        hint: 'the engine stops at its next tick because the halt flag is set; confirm with `npx atl status`',
      }),
    );
    return checks;
  }
  pc.signal(pid, 'SIGTERM');
  const stoppedGracefully = await waitForExit(pid, process_start, boot_id, opts.graceMs, pc);
  let escalated = false;
  if (!stoppedGracefully && checkIdentity({ pid, processStart: process_start, bootId: boot_id }) === 'same') {
    escalated = true;
    pc.signal(pid, 'SIGKILL');
    await waitForExit(pid, process_start, boot_id, opts.killGraceMs, pc);
  }
  const down = checkIdentity({ pid, processStart: process_start, bootId: boot_id }) !== 'same';
  const hb = readJsonFile(paths.heartbeat, 'Heartbeat');
  const hbStatus = hb.kind === 'ok' ? hb.value.status : null;
  checks.push(
    check({
      id: 'engine:stopped',
      status: down ? (escalated ? 'warn' : 'pass') : 'fail',
      observed: { pid, escalated, heartbeat_status: hbStatus },
      output: down
        ? `engine pid ${pid} stopped${escalated ? ' after SIGKILL (it ignored SIGTERM)' : ''}; heartbeat status ${hbStatus ?? 'unknown'}`
        : `engine pid ${pid} is still running after SIGTERM and SIGKILL`,
      hint: down
        ? escalated
          ? 'positions may not have been flattened; check `npx atl status`'
          : null
        : 'the process may be stuck in the kernel (D state); inspect it with `ps -o stat,wchan -p PID`',
    }),
  );
  return checks;
}

async function waitForExit(
  pid: number,
  start: string | null,
  bootId: string | null,
  ms: number,
  pc: ProcessControl,
): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (!isAlive(pid) || checkIdentity({ pid, processStart: start, bootId }) !== 'same') return true;
    await pc.sleep(50);
  }
  return false;
}

export type EmergencyStopReport = { evidence: Evidence; file: string };

/** `emergency-stop`: halt, stop and confirm, then write the evidence (CLI and API share this). */
export async function runEmergencyStop(
  paths: DataPaths,
  opts: EmergencyStopOptions,
  pc = realProcessControl,
): Promise<EmergencyStopReport> {
  const startedAt = new Date();
  const checks = await emergencyStop(paths, opts, pc);
  const evidence = buildEvidence({
    verb: 'emergency-stop',
    startedAt,
    checks,
    inputs: [paths.safety, paths.pidfile, paths.heartbeat],
  });
  return { evidence, file: writeEvidence(paths.reportsDir, evidence) };
}

/** `emergency-stop --clear`: lift the halt flag under a named approver, with evidence. */
export function clearEmergencyStop(paths: DataPaths, approver: string): EmergencyStopReport {
  const startedAt = new Date();
  const state = clearHalt(paths, approver);
  const checks = [
    check({ id: 'halt:cleared', status: 'pass', output: `halt cleared by ${state.by}`, observed: false }),
  ];
  const evidence = buildEvidence({ verb: 'emergency-stop', startedAt, inputs: [paths.safety], checks });
  return { evidence, file: writeEvidence(paths.reportsDir, evidence) };
}
