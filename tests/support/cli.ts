import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const REPO = resolve(import.meta.dir, '../..');
export const MAIN = join(REPO, 'cli', 'main.ts');
export const SHARED_MARKET = resolve(REPO, '..', 'shared', 'data', 'market');

export type CliResult = { code: number; stdout: string; stderr: string };

/** Run `atl` as a user would: a real process, with its own stdout, stderr and exit code. */
export async function atl(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const proc = Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: opts.cwd ?? REPO,
    env: { ...process.env, ATL_LOG_LEVEL: 'warn', ...opts.env },
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  });
  const timer = setTimeout(() => proc.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}

/** Start `atl` in the background (for engines that must be signalled or raced). */
export function spawnAtl(args: string[], opts: { env?: Record<string, string> } = {}) {
  return Bun.spawn([process.execPath, MAIN, ...args], {
    cwd: REPO,
    env: { ...process.env, ATL_LOG_LEVEL: 'info', ...opts.env },
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  });
}

/** A temp directory per test, removed afterwards. */
export function tempDir(prefix = 'atl-test-'): { path: string; [Symbol.dispose](): void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, [Symbol.dispose]: () => rmSync(path, { recursive: true, force: true }) };
}

export async function waitFor<T>(
  probe: () => T | null | undefined | false,
  timeoutMs = 20_000,
  everyMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await Bun.sleep(everyMs);
  }
}
