import { existsSync, readFileSync } from 'node:fs';
import { queryWindows, type WindowsSnapshot } from './windows-process.ts';

/** Who a process is: pid alone is not identity (pids are reused), so start time and boot id too. */
export type ProcessIdentity = { pid: number; processStart: string | null; bootId: string | null };

export type IdentityCheck = 'same' | 'gone' | 'reused' | 'unverifiable';

const WINDOWS = process.platform === 'win32';

/**
 * On Windows every fact costs a WMI query (a PowerShell start, ~0.5 s), so one answer serves the
 * questions asked within a second: verify asks for boot id, start time and command line at once.
 */
const windowsCache = new Map<string, { atMs: number; snapshot: WindowsSnapshot | null }>();
function windowsSnapshot(pid: number | null): WindowsSnapshot | null {
  const key = String(pid);
  const hit = windowsCache.get(key) ?? (pid !== null ? windowsCache.get('null') : undefined);
  if (hit && performance.now() - hit.atMs < 1000) return hit.snapshot;
  const snapshot = queryWindows(pid);
  windowsCache.set(key, { atMs: performance.now(), snapshot });
  return snapshot;
}
const windowsProcess = (pid: number) => windowsSnapshot(pid)?.processes.find((p) => p.pid === pid) ?? null;

/**
 * Linux: the kernel's boot_id. Windows: the last boot time (Win32_OperatingSystem.LastBootUpTime,
 * UTC); a Fast Startup "shut down" is a hibernation, which keeps it — and keeps the processes.
 */
export function readBootId(): string | null {
  if (WINDOWS) return windowsSnapshot(null)?.bootId ?? null;
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/**
 * Linux: start time in clock ticks since boot (`/proc/<pid>/stat` field 22). Windows: the creation
 * time WMI reports, ISO UTC to the microsecond. Null when gone or unreadable.
 */
export function readProcessStart(pid: number): string | null {
  if (WINDOWS) return windowsProcess(pid)?.start ?? null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** Command line of a live process (Windows: WMI's, split as the C runtime does), or null. */
export function readCmdline(pid: number): string[] | null {
  if (WINDOWS) return windowsProcess(pid)?.cmdline ?? null;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function selfIdentity(): ProcessIdentity {
  return { pid: process.pid, processStart: readProcessStart(process.pid), bootId: readBootId() };
}

/** Is the process named by `id` still that very process? */
export function checkIdentity(id: ProcessIdentity): IdentityCheck {
  const bootId = readBootId();
  if (id.bootId && bootId && id.bootId !== bootId) return 'gone'; // recorded before a reboot
  if (!isAlive(id.pid)) return 'gone';
  const start = readProcessStart(id.pid);
  if (!id.processStart || !start) return canReadStarts(id.pid) ? 'reused' : 'unverifiable';
  return start === id.processStart ? 'same' : 'reused';
}

/** Is `cmdline` an `atl run` engine (any launcher: bun, npx bun, a compiled binary)? */
export function looksLikeEngine(cmdline: string[] | null): boolean {
  if (!cmdline) return false;
  const main = cmdline.findIndex((a) => /(^|[/\\])cli[/\\]main\.ts$/.test(a) || /(^|[/\\])atl$/.test(a));
  return main >= 0 && cmdline[main + 1] === 'run';
}

/** Can this host tell a process's start time at all (else identity is unverifiable, not reused)? */
function canReadStarts(pid: number): boolean {
  return WINDOWS ? windowsSnapshot(pid) !== null : existsSync('/proc/self/stat');
}

/** Pids of every engine process on this host (/proc scan, or WMI); null where it cannot be listed. */
export function listEngineProcesses(): number[] | null {
  if (WINDOWS) {
    const all = windowsSnapshot(null);
    return all
      ? all.processes.filter((p) => p.pid !== process.pid && looksLikeEngine(p.cmdline)).map((p) => p.pid)
      : null;
  }
  if (!existsSync('/proc/self/cmdline')) return null;
  const pids: number[] = [];
  for (const entry of new Bun.Glob('[0-9]*').scanSync({ cwd: '/proc', onlyFiles: false })) {
    const pid = Number(entry);
    if (pid !== process.pid && looksLikeEngine(readCmdline(pid))) pids.push(pid);
  }
  return pids;
}
