import { existsSync, readFileSync } from 'node:fs';

/** Who a process is: pid alone is not identity (pids are reused), so start time and boot id too. */
export type ProcessIdentity = { pid: number; processStart: string | null; bootId: string | null };

export type IdentityCheck = 'same' | 'gone' | 'reused' | 'unverifiable';

export function readBootId(): string | null {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() || null;
  } catch {
    return null;
  }
}

/** Start time in clock ticks since boot (`/proc/<pid>/stat` field 22); null off Linux or when gone. */
export function readProcessStart(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // comm (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null;
  } catch {
    return null;
  }
}

/** Command line of a live process, or null where /proc is not available. */
export function readCmdline(pid: number): string[] | null {
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
  if (!id.processStart || !start) return existsSync('/proc/self/stat') ? 'reused' : 'unverifiable';
  return start === id.processStart ? 'same' : 'reused';
}

/** Is `cmdline` an `atl run` engine (any launcher: bun, npx bun, a compiled binary)? */
export function looksLikeEngine(cmdline: string[] | null): boolean {
  if (!cmdline) return false;
  const main = cmdline.findIndex((a) => /(^|[/\\])cli[/\\]main\.ts$/.test(a) || /(^|[/\\])atl$/.test(a));
  return main >= 0 && cmdline[main + 1] === 'run';
}

/** Pids of every engine process on this host (Linux /proc scan); null where it cannot be listed. */
export function listEngineProcesses(): number[] | null {
  if (!existsSync('/proc/self/cmdline')) return null;
  const pids: number[] = [];
  for (const entry of new Bun.Glob('[0-9]*').scanSync({ cwd: '/proc', onlyFiles: false })) {
    const pid = Number(entry);
    if (pid !== process.pid && looksLikeEngine(readCmdline(pid))) pids.push(pid);
  }
  return pids;
}
