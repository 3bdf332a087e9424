import { join } from 'node:path';
import { REPO } from '../support/cli.ts';

/** Run an ops script as an operator would; HOME and USER fixed so plans do not depend on the machine. */
export async function opsScript(script: string, args: string[], env: Record<string, string> = {}) {
  const proc = Bun.spawn([process.execPath, join(REPO, 'ops', script), ...args], {
    cwd: REPO,
    env: { ...process.env, HOME: '/home/trader', USER: 'trader', ATL_LOG_LEVEL: 'warn', ...env },
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  return { code, stdout, stderr, json: () => JSON.parse(stdout) };
}
