#!/usr/bin/env bun
/**
 * Fleet: `atl ssh-check` (with the remote `atl verify`) on every host of hosts.json, folded into
 * ONE evidence file (reports/fleet/) naming each host's result; non-zero when any host is not healthy.
 *   bun ops/fleet.ts --hosts hosts.json [--only a,b] [--concurrency N] [--dry-run]
 */
import { join } from 'node:path';
import { usageError } from '../core/errors.ts';
import { buildEvidence } from '../core/evidence/envelope.ts';
import { emitEvidence } from '../core/evidence/outputs.ts';
import { dataPaths, REPO_ROOT, resolveDataRoot } from '../core/paths.ts';
import { HostScript, numberArg, parseFlags, runScript } from './_script.ts';
import { type HostOutcome, judgeHost } from './fleet-judge.ts';
import { type FleetHost, loadHostsFile } from './hosts-file.ts';

const USAGE = `npx bun ops/fleet.ts --hosts FILE [flags]
  --hosts FILE        hosts.json (schema: core/schema/hosts.ts; docs/RUNBOOK.md "Checking a fleet")
  --only NAMES        comma list: check only these hosts
  --concurrency N     hosts checked at once (default 4)
  --ssh-config FILE   ssh config instead of ~/.ssh/config
  --data-dir DIR      local data root: the evidence goes to its reports/fleet/
  --evidence FILE --junit FILE --prom-dir DIR   extra copies of the evidence
  --bun PATH --repo DIR   the local atl to run (default: this one)
  --dry-run           print the ssh-check commands, run nothing`;

/** The `atl ssh-check` command line for one host. */
function sshCheckArgv(h: FleetHost, atl: string[], localRoot: string, sshConfig: string | null): string[] {
  const opt = (flag: string, value: string | number | null) => (value === null ? [] : [flag, String(value)]);
  return [
    ...atl,
    'ssh-check',
    h.host,
    ...opt('--user', h.user),
    ...opt('--port', h.port),
    ...opt('--identity', h.identity),
    ...opt('--known-hosts', h.knownHosts),
    ...opt('--ssh-config', sshConfig),
    '--timeout',
    String(h.timeoutS),
    '--data-dir',
    localRoot,
    '--json',
    ...(h.remoteVerify
      ? ['--remote-verify', '--remote-atl', h.remoteAtl, ...opt('--remote-data-dir', h.dataDir)]
      : []),
  ];
}

async function main(argv: string[]) {
  const f = parseFlags(argv, {
    strings: [
      'hosts',
      'only',
      'concurrency',
      'ssh-config',
      'data-dir',
      'evidence',
      'junit',
      'prom-dir',
      'bun',
      'repo',
    ],
    booleans: ['dry-run'],
    defaults: { concurrency: '4' },
  });
  if (f._.length > 0) throw usageError(`unexpected argument "${f._[0]}"`, 'run with --help');
  if (!f.hosts) throw usageError('--hosts FILE is required', 'name the hosts.json to check');
  const startedAt = new Date();
  const file = loadHostsFile(f.hosts);
  const only = f.only
    ? new Set(
        String(f.only)
          .split(',')
          .map((s) => s.trim()),
      )
    : null;
  const unknownNames = only ? [...only].filter((n) => !file.hosts.some((h) => h.name === n)) : [];
  if (unknownNames.length > 0)
    throw usageError(`--only names hosts not in ${file.path}: ${unknownNames.join(', ')}`);
  const hosts = only ? file.hosts.filter((h) => only.has(h.name)) : file.hosts;
  const concurrency = numberArg('concurrency', f.concurrency, { min: 1, integer: true });
  const paths = dataPaths(resolveDataRoot(f['data-dir']));
  const atl = [f.bun ?? process.execPath, join(f.repo ?? REPO_ROOT, 'cli', 'main.ts')];
  const sh = new HostScript(Boolean(f['dry-run']));

  const outcomes: HostOutcome[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < hosts.length; i = next++) {
      const h = hosts[i]!;
      // Every stage may take timeout_s, and the remote verify up to 60 s more.
      const out = await sh.run(sshCheckArgv(h, atl, paths.root, f['ssh-config'] ?? null), `host ${h.name}`, {
        timeoutS: h.timeoutS * 6 + (h.remoteVerify ? 70 : 10),
      });
      if (out) outcomes[i] = judgeHost(h, out);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, hosts.length) }, worker));
  if (sh.dryRun)
    return sh.result('fleet', 'check', {
      hosts_file: file.path,
      evidence_dir: join(paths.reportsDir, 'fleet'),
    });

  const evidence = buildEvidence({
    verb: 'fleet',
    startedAt,
    checks: outcomes.map((o) => o.check),
    inputs: [file.path],
    details: {
      hosts_file: file.path,
      failing_hosts: outcomes.filter((o) => o.check.status !== 'pass').map((o) => o.host.name),
      hosts: outcomes.map((o) => ({
        name: o.host.name,
        host: o.host.host,
        os: o.os,
        status: o.check.status,
        ssh_check_exit: o.exit,
        evidence: o.evidence,
      })),
    },
  });
  const emitted = emitEvidence({
    evidence,
    flags: { format: 'json', evidence: f.evidence, junit: f.junit, 'prom-dir': f['prom-dir'] },
    reportsDir: paths.reportsDir,
    human: () => '',
  });
  process.stderr.write(`fleet: ${evidence.status} — evidence ${emitted.files[0]}\n`);
  return evidence;
}

await runScript('ops/fleet.ts', USAGE, main);
