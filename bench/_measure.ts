import { join } from 'node:path';

export type Measured = { code: number; wallMs: number; maxRssMb: number; stdout: string };

const main = join(import.meta.dir, '..', 'cli', 'main.ts');
const MEASURE = '--measure-one';

/** Run `atl` as a child; its peak RSS is only its own when it is this process's only descendant. */
async function atl(args: string[]): Promise<Measured> {
  const t0 = performance.now();
  const proc = Bun.spawn([process.execPath, main, ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
    env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
  });
  const stdout = await new Response(proc.stdout).text();
  const code = await proc.exited;
  const wallMs = performance.now() - t0;
  return { code, wallMs, maxRssMb: (proc.resourceUsage()?.maxRSS ?? 0) / 2 ** 20, stdout };
}

/** `atl …` run directly (its RSS figure includes every child this process waited for before). */
export const runAtl = atl;

/**
 * The maximum RSS the kernel reports for children covers every descendant ever waited for, so a
 * verb run from the process that also ran the engine would carry the engine's peak. Each
 * measured run therefore goes through a fresh process whose only child is the verb.
 */
export async function measured(args: string[]): Promise<Measured> {
  const proc = Bun.spawn([process.execPath, import.meta.path, MEASURE, ...args], {
    stdout: 'pipe',
    stderr: 'inherit',
    env: process.env,
  });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`measuring ${args[0]} failed`);
  return JSON.parse(out);
}

if (import.meta.main && process.argv[2] === MEASURE) {
  process.stdout.write(JSON.stringify(await atl(process.argv.slice(3))));
}
