import { existsSync, readFileSync, readlinkSync, realpathSync, statfsSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { readHalt } from '../control/halt.ts';
import { checkIdentity, listEngineProcesses, looksLikeEngine, readCmdline } from '../control/process.ts';
import { readJsonFile } from '../fsx/json-file.ts';
import { type DataPaths, REPO_ROOT } from '../paths.ts';
import type { Heartbeat } from '../schema/heartbeat.ts';
import type { Pidfile } from '../schema/state.ts';
import type { FileFact, ProcessFact, ProgressFact, SystemdFact, VerifyFacts } from './facts.ts';
import { findTurnoverLine, readDataTail } from './log-tails.ts';

export type CollectOptions = {
  /** Longest wait for the tick counter to advance (seconds). */
  progressWaitS: number;
  systemdUnit: string;
  statusTimeoutMs: number;
};

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The data root an engine process runs on: its `--data-dir`, else its `ATL_HOME`, else its checkout's data/. */
export function dataRootOfProcess(pid: number): string | null {
  const cmdline = readCmdline(pid);
  if (!cmdline) return null;
  let cwd = '/';
  try {
    cwd = readlinkSync(`/proc/${pid}/cwd`);
  } catch {
    // another user's process: relative paths resolve against / (best effort)
  }
  const at = cmdline.findIndex((a) => a === '--data-dir' || a.startsWith('--data-dir='));
  let chosen: string | undefined;
  if (at >= 0)
    chosen = cmdline[at]!.includes('=') ? cmdline[at]!.slice('--data-dir='.length) : cmdline[at + 1];
  if (!chosen) {
    try {
      const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
      chosen = env.find((e) => e.startsWith('ATL_HOME='))?.slice('ATL_HOME='.length) || undefined;
    } catch {
      // unreadable environ (another user): fall through to the default root
    }
  }
  if (!chosen) {
    // The default root is the data/ of the checkout the engine runs from, which need not be ours.
    const main = cmdline.find((a) => /(^|[/\\])cli[/\\]main\.ts$/.test(a));
    return canonical(main ? join(dirname(dirname(resolve(cwd, main))), 'data') : join(REPO_ROOT, 'data'));
  }
  return canonical(isAbsolute(chosen) ? chosen : resolve(cwd, chosen));
}

function processState(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || null;
  } catch {
    return null;
  }
}

function describeProcess(pf: Pidfile): ProcessFact {
  const identity = checkIdentity({ pid: pf.pid, processStart: pf.process_start, bootId: pf.boot_id });
  const cmdline = identity === 'gone' ? null : readCmdline(pf.pid);
  return {
    pid: pf.pid,
    identity,
    cmdline,
    isEngine: looksLikeEngine(cmdline),
    state: identity === 'gone' ? null : processState(pf.pid),
  };
}

function enginesOnRoot(root: string): number[] | null {
  const all = listEngineProcesses();
  if (all === null) return null;
  const mine = canonical(root);
  return all.filter((pid) => dataRootOfProcess(pid) === mine);
}

/** Read the heartbeat again until its tick counter moves or the budget runs out. */
async function sampleProgress(path: string, first: Heartbeat, maxWaitS: number): Promise<ProgressFact> {
  const intervalS = first.interval_s;
  const budgetMs = Math.round(Math.min(maxWaitS, intervalS * 2 + 2) * 1000);
  const started = Date.now();
  let lastSeq = first.seq;
  while (Date.now() - started < budgetMs) {
    await Bun.sleep(Math.min(250, Math.max(50, intervalS * 250)));
    const again = readJsonFile(path, 'Heartbeat');
    if (again.kind === 'ok' && again.value.pid === first.pid) lastSeq = again.value.seq;
    if (lastSeq > first.seq) break;
  }
  return {
    kind: 'sampled',
    firstSeq: first.seq,
    lastSeq,
    waitedMs: Date.now() - started,
    budgetMs,
    intervalS,
  };
}

/** `atl status --json` as an operator would run it: a real process, bounded, its JSON parsed. */
async function runStatusCommand(root: string, timeoutMs: number): Promise<VerifyFacts['status']> {
  const started = Date.now();
  const proc = Bun.spawn(
    [process.execPath, join(REPO_ROOT, 'cli', 'main.ts'), 'status', '--json', '--data-dir', root],
    {
      stdout: 'pipe',
      stderr: 'pipe',
      stdin: 'ignore',
      env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
    },
  );
  const timer = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  const durationMs = Date.now() - started;
  if (proc.signalCode) return { exitCode: null, problem: `timed out after ${timeoutMs} ms`, durationMs };
  try {
    const parsed = JSON.parse(stdout) as { data_root?: unknown };
    if (typeof parsed.data_root !== 'string')
      return { exitCode, problem: 'JSON lacks data_root', durationMs };
  } catch {
    return {
      exitCode,
      problem: `stdout is not JSON${stderr ? ` (stderr: ${stderr.trim().slice(0, 160)})` : ''}`,
      durationMs,
    };
  }
  return {
    exitCode,
    problem: exitCode === 0 ? null : stderr.trim().slice(0, 200) || `exit ${exitCode}`,
    durationMs,
  };
}

async function querySystemd(unit: string): Promise<SystemdFact> {
  if (!existsSync('/run/systemd/system'))
    return { kind: 'absent', reason: 'systemd is not running on this host' };
  const systemctl = Bun.which('systemctl');
  if (!systemctl) return { kind: 'absent', reason: 'systemctl is not installed' };
  const proc = Bun.spawn(
    [systemctl, '--user', 'show', unit, '--property=LoadState,ActiveState,SubState,MainPID'],
    { stdout: 'pipe', stderr: 'pipe', stdin: 'ignore' },
  );
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5000);
  const [out, err, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  if (code !== 0) return { kind: 'error', unit, problem: err.trim() || `systemctl exited ${code}` };
  const props = Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  const mainPid = Number(props.MainPID);
  return {
    kind: 'unit',
    unit,
    loadState: props.LoadState ?? '',
    activeState: props.ActiveState ?? '',
    subState: props.SubState ?? '',
    mainPid: mainPid > 0 ? mainPid : null,
  };
}

function readDisk(root: string): VerifyFacts['disk'] {
  let dir = root;
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  try {
    const s = statfsSync(dir);
    return { kind: 'ok', freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  } catch (err) {
    return { kind: 'error', problem: (err as Error).message };
  }
}

/** The adapter: everything verify needs from /proc, the data root's files, systemd and `atl status`. */
export async function collectVerifyFacts(paths: DataPaths, opts: CollectOptions): Promise<VerifyFacts> {
  const nowMs = Date.now(); // the heartbeat's age is judged when it was read, not after the progress wait
  const pidfile = readJsonFile(paths.pidfile, 'Pidfile') as FileFact<Pidfile>;
  const heartbeat = readJsonFile(paths.heartbeat, 'Heartbeat') as FileFact<Heartbeat>;
  const pidfileProcess = pidfile.kind === 'ok' ? describeProcess(pidfile.value) : null;
  const live = pidfileProcess?.identity === 'same' && pidfileProcess.isEngine && pidfileProcess.state !== 'Z';
  const parity =
    live && heartbeat.kind === 'ok' && pidfile.kind === 'ok' && heartbeat.value.pid === pidfile.value.pid;
  const progressP: Promise<ProgressFact> =
    heartbeat.kind !== 'ok'
      ? Promise.resolve({ kind: 'not_sampled', reason: `heartbeat ${heartbeat.kind}` })
      : !parity
        ? Promise.resolve({ kind: 'not_sampled', reason: 'no live engine writes this heartbeat' })
        : sampleProgress(paths.heartbeat, heartbeat.value, opts.progressWaitS);
  const [progress, status, systemd] = await Promise.all([
    progressP,
    runStatusCommand(paths.root, opts.statusTimeoutMs),
    querySystemd(opts.systemdUnit),
  ]);
  const halt = readHalt(paths);
  return {
    nowMs,
    dataRoot: paths.root,
    pidfile,
    heartbeat,
    pidfileProcess,
    enginesOnRoot: enginesOnRoot(paths.root),
    progress,
    status,
    turnoverLog: findTurnoverLine(paths.engineLog),
    systemd,
    dataTail: readDataTail(paths.decisions),
    disk: readDisk(paths.root),
    halt: halt.halted
      ? { halted: true, reason: halt.reason, by: halt.by }
      : { halted: false, reason: null, by: null },
  };
}
