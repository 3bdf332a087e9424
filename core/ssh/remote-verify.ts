import { check } from '../evidence/envelope.ts';
import { validate } from '../schema/ajv.ts';
import { type Check, Evidence } from '../schema/evidence.ts';
import { classifySshFailure, type HintContext } from './classify.ts';
import type { RemoteOs } from './command.ts';
import type { ProcessResult } from './probes.ts';

export type RemoteVerifyJudgement = { check: Check; nested: Evidence | null; warnings: string[] };

const firstLine = (text: string) =>
  text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => l !== '' && !l.startsWith('debug')) ?? '';

/** The evidence object the remote `atl verify --json` printed, if its stdout holds one. */
function parseNestedEvidence(stdout: string): { evidence: Evidence | null; problem: string | null } {
  const text = stdout.trim();
  if (text === '') return { evidence: null, problem: 'printed nothing on stdout' };
  let value: unknown;
  try {
    value = JSON.parse(text.slice(text.indexOf('{')));
  } catch (err) {
    return { evidence: null, problem: `printed something that is not JSON (${(err as Error).message})` };
  }
  const checked = validate(Evidence, value);
  return checked.ok
    ? { evidence: checked.value, problem: null }
    : { evidence: null, problem: `printed JSON that is not evidence (${checked.errors.join('; ')})` };
}

/** The bun binary npm installs in a checkout, and its cli/main.ts, where a checkout usually lives. */
function exampleRemoteAtl(user: string, os: RemoteOs): string {
  return os === 'windows'
    ? `'C:\\Users\\${user}\\atl\\node_modules\\bun\\bin\\bun.exe C:\\Users\\${user}\\atl\\cli\\main.ts'`
    : `'/home/${user}/atl/node_modules/.bin/bun /home/${user}/atl/cli/main.ts'`;
}

/**
 * Judge the remote `atl verify --json` run. Its verdict is the host's, kept apart from the
 * transport: a remote FAIL is a failing engine, not a failing connection.
 */
export function judgeRemoteVerify(
  run: ProcessResult,
  ctx: HintContext,
  remoteAtl: string,
  timeoutS: number,
  os: RemoteOs = 'posix',
): RemoteVerifyJudgement {
  const id = 'remote:verify';
  if (run.timedOut) {
    return {
      check: check({
        id,
        status: 'unknown',
        output: `remote \`${remoteAtl} verify\` did not finish within ${timeoutS} s`,
        observed: { timeout_s: timeoutS },
        unit: 's',
        hint: 'the host is slow or verify hangs: run it there by hand and read its stderr; raise --remote-timeout if the host is just slow',
      }),
      nested: null,
      warnings: [],
    };
  }
  if (run.code === 255) {
    const fault = classifySshFailure(run.stderr, ctx);
    return {
      check: check({
        id,
        status: 'unknown',
        output: `the connection failed while running remote verify: ${fault?.output ?? firstLine(run.stderr)}`,
        observed: { ssh_exit: 255, kind: fault?.kind ?? 'ssh_error' },
        hint: fault?.hint ?? 'retry; if it repeats, read the server log',
      }),
      nested: null,
      warnings: [],
    };
  }
  const { evidence, problem } = parseNestedEvidence(run.stdout);
  if (!evidence) {
    const missing =
      run.code === 127 || /not found|not recognized as an internal or external command/i.test(run.stderr);
    const hint = missing
      ? `\`${remoteAtl}\` is not on the non-interactive PATH of ${ctx.user}@${ctx.hostname}: pass --remote-atl with absolute paths, e.g. ${exampleRemoteAtl(ctx.user, os)}`
      : run.code === 64
        ? `the remote atl rejected the command (${firstLine(run.stderr)}): update atl on the host so it has \`verify\``
        : `run \`${remoteAtl} verify --json\` on the host and read its stderr`;
    return {
      check: check({
        id,
        status: 'unknown',
        output: `remote verify exited ${run.code} and ${problem}${firstLine(run.stderr) ? `: ${firstLine(run.stderr)}` : ''}`,
        observed: {
          remote_exit: run.code,
          kind: missing ? 'remote_command_missing' : 'remote_output_invalid',
        },
        hint,
      }),
      nested: null,
      warnings: [],
    };
  }
  const warnings =
    run.code === evidence.exit_code
      ? []
      : [`remote verify exited ${run.code} but its evidence records exit_code ${evidence.exit_code}`];
  const bad = evidence.checks.filter((c) => c.status !== 'pass');
  const output =
    evidence.status === 'pass'
      ? `remote verify on ${ctx.hostname} passed (${evidence.checks.length} checks)`
      : `remote verify on ${ctx.hostname}: ${evidence.status.toUpperCase()} — ${bad.map((c) => `${c.id}: ${c.output}`).join('; ')}`;
  const hint =
    bad.find((c) => c.hint)?.hint ??
    (evidence.status === 'pass' ? null : 'see details.remote_verify for every remote check');
  return {
    check: check({
      id,
      status: evidence.status,
      output,
      observed: { remote_status: evidence.status, remote_exit: run.code, failing: bad.map((c) => c.id) },
      hint,
    }),
    nested: evidence,
    warnings,
  };
}
