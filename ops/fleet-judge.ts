import { check } from '../core/evidence/envelope.ts';
import { validate } from '../core/schema/ajv.ts';
import { type Check, Evidence } from '../core/schema/evidence.ts';
import type { ProbeOutput } from './_script.ts';
import type { FleetHost } from './hosts-file.ts';

export type HostOutcome = {
  host: FleetHost;
  check: Check;
  evidence: Evidence | null;
  exit: number | null;
  /** What ssh-check saw in the server's banner: `windows` (OpenSSH for Windows) or `posix`. */
  os: string | null;
};

/**
 * One host's line in the fleet evidence: its own verdict, with the transport kept apart from the
 * engine. A Windows host is judged like any other: its remote verify reads processes through WMI,
 * and the fleet only folds in the verdict, naming the OS it saw.
 */
export function judgeHost(h: FleetHost, out: ProbeOutput): HostOutcome {
  const target = `${h.user ? `${h.user}@` : ''}${h.host}${h.port ? `:${h.port}` : ''}`;
  let evidence: Evidence | null = null;
  try {
    const parsed = validate(Evidence, JSON.parse(out.stdout));
    evidence = parsed.ok ? parsed.value : null;
  } catch {
    evidence = null;
  }
  const id = `host:${h.name}`;
  if (!evidence) {
    const said = out.stderr.trim().split('\n').at(-1) ?? '';
    return {
      host: h,
      evidence,
      exit: out.exitCode,
      os: null,
      check: check({
        id,
        status: 'unknown',
        output: `${h.name} (${target}): ssh-check gave no evidence (exit ${out.exitCode}) ${said}`.trim(),
        observed: { target, exit: out.exitCode },
        hint: `run \`npx atl ssh-check ${h.host}\` by hand with this host's settings`,
      }),
    };
  }
  const transport = evidence.details?.transport as { ok: boolean; failed_stage: string | null } | undefined;
  const os = typeof evidence.details?.remote_os === 'string' ? evidence.details.remote_os : null;
  const bad = evidence.checks.find((c) => c.status !== 'pass');
  const remote = evidence.checks.find((c) => c.id === 'remote:verify');
  const who = `${h.name} (${target}${os ? `, ${os}` : ''})`;
  const output = !transport?.ok
    ? `${who}: failed at ssh:${transport?.failed_stage} — ${bad?.output ?? ''}`
    : `${who}: transport ok; ${remote ? `remote verify ${remote.status}${remote.status === 'pass' ? '' : ` — ${remote.output}`}` : 'remote verify off'}`;
  return {
    host: h,
    evidence,
    exit: out.exitCode,
    os,
    check: check({
      id,
      status: evidence.status,
      output,
      observed: {
        target,
        os,
        exit_code: evidence.exit_code,
        failed_stage: transport?.failed_stage ?? null,
        remote_status: remote?.status ?? null,
      },
      hint: bad?.hint ?? null,
    }),
  };
}
