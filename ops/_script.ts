import { mkdirSync, rmSync } from 'node:fs';
import { $, minimist, quote, quotePowerShell, usePowerShell } from 'zx';
import { formatOperatorError, OperatorError, usageError } from '../core/errors.ts';
import { check } from '../core/evidence/envelope.ts';
import { type CheckStatus, exitCodeForStatus, worstStatus } from '../core/exit-codes.ts';
import { writeFileAtomic } from '../core/fsx/atomic.ts';
import type { Check } from '../core/schema/evidence.ts';

/** One thing a script did or, under --dry-run, would do. */
export type Step =
  | { run: string; why: string; timeout_s: number; exit?: number | null; output?: string }
  | { write: string; why: string; bytes: number; content?: string }
  | { mkdir: string; why: string }
  | { remove: string; why: string }
  | { wait: string; why: string; timeout_s: number; waited_s?: number };

export type ProbeOutput = { exitCode: number | null; stdout: string; stderr: string };

export type Shell = 'bash' | 'powershell';

/**
 * Runs (or, dry, only records) a script's commands and file changes. Every command goes through
 * zx with its arguments interpolated (zx quotes them), a timeout and nothrow: the caller decides
 * what a non-zero exit means.
 */
export class HostScript {
  readonly steps: Step[] = [];
  readonly checks: Check[] = [];
  /** True when commands really go through PowerShell (a Windows script run on Windows). */
  private readonly viaPowerShell: boolean;
  /** `shell` is the one the commands are written for; dry runs on another OS still print them that way. */
  constructor(
    readonly dryRun: boolean,
    readonly shell: Shell = 'bash',
  ) {
    this.viaPowerShell = shell === 'powershell' && process.platform === 'win32';
    if (this.viaPowerShell) usePowerShell();
  }

  /** The command as one would type it into this shell (PowerShell runs a quoted path with `&`). */
  render(argv: string[]): string {
    if (this.shell === 'bash') return argv.map(quote).join(' ');
    const words = argv.map(quotePowerShell);
    return words[0]?.startsWith("'") ? `& ${words.join(' ')}` : words.join(' ');
  }

  /** Run a command; null under --dry-run, where it is only listed. */
  async run(
    argv: string[],
    why: string,
    opts: { timeoutS?: number; env?: Record<string, string> } = {},
  ): Promise<ProbeOutput | null> {
    const timeoutS = opts.timeoutS ?? 30;
    const step: Step = { run: this.render(argv), why, timeout_s: timeoutS };
    this.steps.push(step);
    if (this.dryRun) return null;
    const $$ = $({
      nothrow: true,
      quiet: true,
      timeout: `${timeoutS}s`,
      env: { ...process.env, ...opts.env },
    });
    // PowerShell needs the call operator to run a quoted program path.
    const out = this.viaPowerShell ? await $$`& ${argv}` : await $$`${argv}`;
    step.exit = out.exitCode;
    const said = (out.stderr.trim() || out.stdout.trim()).split('\n').at(-1);
    if (out.exitCode !== 0 && said) step.output = said.slice(0, 300);
    return { exitCode: out.exitCode, stdout: out.stdout, stderr: out.stderr };
  }

  /** Write a file; a dry run shows its text instead (`text` when the bytes are an encoding of it). */
  write(path: string, content: string | Uint8Array, why: string, text?: string): void {
    const bytes = typeof content === 'string' ? Buffer.byteLength(content) : content.length;
    this.steps.push({
      write: path,
      why,
      bytes,
      ...(this.dryRun ? { content: text ?? String(content) } : {}),
    });
    if (!this.dryRun) writeFileAtomic(path, content);
  }

  mkdir(path: string, why: string): void {
    this.steps.push({ mkdir: path, why });
    if (!this.dryRun) mkdirSync(path, { recursive: true });
  }

  remove(path: string, why: string): void {
    this.steps.push({ remove: path, why });
    if (!this.dryRun) rmSync(path, { force: true });
  }

  /** Poll `done` every `everyMs` until it holds or `timeoutS` passes; false when it never held. */
  async waitFor(
    what: string,
    why: string,
    timeoutS: number,
    done: () => boolean,
    everyMs = 500,
  ): Promise<boolean> {
    const step: Step = { wait: what, why, timeout_s: timeoutS };
    this.steps.push(step);
    if (this.dryRun) return true;
    const started = performance.now();
    for (;;) {
      const ok = done();
      if (ok || performance.now() - started > timeoutS * 1000) {
        step.waited_s = Math.round((performance.now() - started) / 100) / 10;
        return ok;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }

  check(id: string, status: CheckStatus, output: string, hint?: string, observed?: unknown): CheckStatus {
    this.checks.push(check({ id, status, output, hint: hint ?? null, observed }));
    return status;
  }

  /** The script's one JSON object: what it judged, what it did, and the exit code that follows. */
  result(script: string, action: string, extra: Record<string, unknown> = {}) {
    const status: CheckStatus =
      this.checks.length === 0 ? 'pass' : worstStatus(this.checks.map((c) => c.status));
    return {
      script,
      action,
      dry_run: this.dryRun,
      status,
      exit_code: exitCodeForStatus(status),
      checks: this.checks,
      steps: this.steps,
      ...extra,
    };
  }
}

/** A command's JSON output, or null when it printed something else (its stderr then says why). */
export function parseJson<T>(text: string): T | null {
  try {
    return JSON.parse(text) as T;
  } catch {
    return null;
  }
}

/** Fold `atl verify --json` into a script's result: its status is a check, its evidence travels along. */
export function nestAtlVerify(sh: HostScript, out: ProbeOutput): { status?: CheckStatus } | null {
  const evidence = parseJson<{ status?: CheckStatus }>(out.stdout);
  if (evidence?.status) {
    sh.check(
      'atl:verify',
      evidence.status,
      `atl verify: ${evidence.status}`,
      evidence.status === 'pass' ? undefined : 'see verify.checks for the failing gates and their hints',
    );
  } else {
    sh.check(
      'atl:verify',
      'unknown',
      `atl verify printed no evidence (exit ${out.exitCode}): ${out.stderr.trim().split('\n').at(-1) ?? ''}`,
      'run `npx atl verify` by hand and read its stderr',
    );
  }
  return evidence;
}

export type FlagSpec = { strings: string[]; booleans?: string[]; defaults?: Record<string, string> };

/** minimist with typos refused (exit 64): a misspelt flag must never silently become a default. */
export function parseFlags(argv: string[], spec: FlagSpec) {
  const known = new Set([...spec.strings, ...(spec.booleans ?? []), '_', 'help']);
  const unknown: string[] = [];
  const parsed = minimist(argv, {
    string: spec.strings,
    boolean: [...(spec.booleans ?? []), 'help'],
    default: spec.defaults ?? {},
    unknown: (arg) => {
      if (arg.startsWith('-')) unknown.push(arg);
      return !arg.startsWith('-');
    },
  });
  if (unknown.length > 0)
    throw usageError(`unknown flag ${unknown.join(', ')}`, 'run with --help for the flags');
  for (const key of Object.keys(parsed))
    if (!known.has(key)) throw usageError(`unknown flag --${key}`, 'run with --help for the flags');
  return parsed;
}

export function numberArg(
  name: string,
  value: unknown,
  opts: { min?: number; max?: number; integer?: boolean } = {},
): number {
  const n = Number(value);
  const bad =
    value === '' ||
    !Number.isFinite(n) ||
    (opts.integer && !Number.isInteger(n)) ||
    (opts.min !== undefined && n < opts.min) ||
    (opts.max !== undefined && n > opts.max);
  if (bad)
    throw usageError(
      `--${name} must be ${opts.integer ? 'a whole number' : 'a number'}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''}${opts.max !== undefined ? ` ≤ ${opts.max}` : ''} (got "${value}")`,
    );
  return n;
}

/** The login name: Bun's os.userInfo() says "unknown" when $USER is unset, so ask id(1) then. */
export async function currentUserName(): Promise<string> {
  const fromEnv = process.env.USER ?? process.env.USERNAME ?? process.env.LOGNAME;
  if (fromEnv) return fromEnv;
  const out = await $({ nothrow: true, quiet: true, timeout: '5s' })`id -un`;
  return out.stdout.trim() || 'unknown';
}

/**
 * Run a script's body: it returns its one JSON object; operator errors become a JSON object too
 * (and one line on stderr) with their exit code, never a stack.
 */
export async function runScript(
  script: string,
  usage: string,
  body: (
    argv: string[],
  ) => Promise<{ exit_code: number; action?: string; status?: string; checks?: Check[] }>,
): Promise<void> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  try {
    const result = await body(argv);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    // The JSON is for tools; a person gets what decided the exit code, one line per check.
    for (const c of failingChecks(result))
      process.stderr.write(
        `${script} ${result.action ?? ''}: ${c.id}: ${c.output}${c.hint ? ` — ${c.hint}` : ''}\n`,
      );
    process.exitCode = result.exit_code;
  } catch (err) {
    if (!(err instanceof OperatorError)) throw err;
    process.stderr.write(`${script}: ${formatOperatorError(err)}\n`);
    process.stdout.write(
      `${JSON.stringify({ script, status: 'error', exit_code: err.exitCode, error: err.message, hint: err.hint ?? null }, null, 2)}\n`,
    );
    process.exitCode = err.exitCode;
  }
}

/** The checks that set a result's status (its worst), when that status is not a pass. */
function failingChecks(result: { status?: string; checks?: Check[] }): Check[] {
  if (!result.status || result.status === 'pass') return [];
  return (result.checks ?? []).filter((c) => c.status === result.status);
}
