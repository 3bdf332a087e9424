import type { LedgerReading } from './api/ledger-probe.ts';
import { readHalt } from './control/halt.ts';
import { checkIdentity, type IdentityCheck } from './control/process.ts';
import { type CheckStatus, worstStatus } from './exit-codes.ts';
import { readJsonFile } from './fsx/json-file.ts';
import { storageFaultFromReason, storageFaultHint } from './fsx/storage-fault.ts';
import { type DataPaths, dataPaths } from './paths.ts';
import type { Heartbeat } from './schema/heartbeat.ts';
import type { EngineState, Pidfile } from './schema/state.ts';

export type FileView<T> = { value: T | null; problem: string | null };

export type StatusView = {
  data_root: string;
  heartbeat: Heartbeat | null;
  state: EngineState | null;
  engine: { pidfile: Pidfile | null; process: IdentityCheck | 'no_pidfile'; heartbeat_age_s: number | null };
  halt: { halted: boolean; reason: string | null; by: string | null; at: string | null };
  problems: string[];
};

function view<T>(path: string, read: ReturnType<typeof readJsonFile>): FileView<T> {
  if (read.kind === 'ok') return { value: read.value as T, problem: null };
  if (read.kind === 'missing') return { value: null, problem: null };
  return { value: null, problem: `${path}: ${read.problem}` };
}

/** Everything `status` shows, read without touching the engine (safe while it runs). */
export function readStatus(paths: DataPaths, now = Date.now()): StatusView {
  const hb = view<Heartbeat>(paths.heartbeat, readJsonFile(paths.heartbeat, 'Heartbeat'));
  const st = view<EngineState>(paths.state, readJsonFile(paths.state, 'EngineState'));
  const pf = view<Pidfile>(paths.pidfile, readJsonFile(paths.pidfile, 'Pidfile'));
  const halt = readHalt(paths);
  const pid = pf.value;
  return {
    data_root: paths.root,
    heartbeat: hb.value,
    state: st.value,
    engine: {
      pidfile: pid,
      process: pid
        ? checkIdentity({ pid: pid.pid, processStart: pid.process_start, bootId: pid.boot_id })
        : 'no_pidfile',
      heartbeat_age_s: hb.value ? Math.round((now - Date.parse(hb.value.ts)) / 100) / 10 : null,
    },
    halt: halt.halted
      ? { halted: true, reason: halt.reason, by: halt.by, at: halt.at }
      : { halted: false, reason: null, by: null, at: null },
    problems: [hb.problem, st.problem, pf.problem].filter((p): p is string => p !== null),
  };
}

/**
 * What `atl status` exits with (README, "status"): 2 while trading is halted (the halt flag) or
 * when the engine stopped on a storage fault (full disk, read-only filesystem, I/O error: it is
 * down until someone fixes the disk), 3 when there is nothing to show or a file it reads is
 * damaged (heartbeat, state, pidfile, the ledger), else 0. A failure outranks damage, as a broken
 * gate outranks "could not tell".
 */
export function judgeStatus(
  view: StatusView,
  ledger: LedgerReading,
  ledgerPath: string,
): { status: CheckStatus; problems: { problem: string; hint: string }[] } {
  // The engine rewrites the heartbeat each tick and the state at each checkpoint; the pidfile only when it starts.
  const pidfile = `${dataPaths(view.data_root).pidfile}:`;
  const damaged = view.problems.map((problem) => ({
    problem,
    hint: problem.startsWith(pidfile)
      ? 'the pidfile is damaged: if no engine runs on this data root, remove it (the next `npx atl run` writes a new one)'
      : 'the file is damaged; a running engine rewrites it (the heartbeat each tick, the state at each checkpoint)',
  }));
  if (ledger.kind === 'error')
    damaged.push({
      problem: `${ledgerPath}: ${ledger.problem}`,
      hint: 'the ledger cannot be read: stop the engine and restore it from a backup, or start over with `npx atl run --fresh` (it archives the old one)',
    });
  const hb = view.heartbeat;
  const fault = hb?.status === 'stopped' ? storageFaultFromReason(hb.status_reason) : null;
  const down = fault
    ? [{ problem: `the engine stopped at ${hb!.ts}: ${hb!.status_reason}`, hint: storageFaultHint(fault) }]
    : [];
  const empty = !view.heartbeat && !view.state && damaged.length === 0;
  return {
    status: worstStatus([
      view.halt.halted || fault ? 'fail' : 'pass',
      damaged.length > 0 || empty ? 'unknown' : 'pass',
    ]),
    problems: [...down, ...damaged],
  };
}
