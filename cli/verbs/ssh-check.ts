import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineCommand } from 'citty';
import { usageError } from '../../core/errors.ts';
import { buildEvidence } from '../../core/evidence/envelope.ts';
import { emitEvidence, renderChecksHuman } from '../../core/evidence/outputs.ts';
import { checkSshHost } from '../../core/ssh/ladder.ts';
import { dataDirArg, evidenceArgs, jsonArg, numberFlag, pathsFromArgs, print } from '../_shared.ts';

/** A path flag that must name an existing file: a typo is a usage error, not a failed stage. */
function existingFile(flag: string, value: string | undefined): string | null {
  if (!value) return null;
  const path = resolve(value);
  if (!existsSync(path))
    throw usageError(`--${flag} ${value}: no such file`, `give the path of an existing ${flag} file`);
  return path;
}

export default defineCommand({
  meta: {
    name: 'ssh-check',
    description:
      'Walk the SSH ladder to a host (resolve → tcp → banner → host key → auth → remote exec), optionally run `atl verify` there',
  },
  args: {
    host: {
      type: 'positional',
      description: 'host name, address or ~/.ssh/config alias (user@host accepted)',
      required: true,
    },
    user: { type: 'string', description: 'remote user (default: ssh config, else the local user)' },
    port: { type: 'string', description: 'remote port (default: ssh config, else 22)' },
    identity: {
      type: 'string',
      description: 'private key to offer (only this key is offered)',
      valueHint: 'FILE',
    },
    timeout: { type: 'string', description: 'seconds each stage may take', default: '15' },
    'known-hosts': {
      type: 'string',
      description: 'known_hosts file to trust (default: ssh config, else ~/.ssh/known_hosts); never written',
      valueHint: 'FILE',
    },
    'ssh-config': {
      type: 'string',
      description: 'ssh config file instead of ~/.ssh/config',
      valueHint: 'FILE',
    },
    'remote-verify': {
      type: 'boolean',
      description: 'also run `atl verify --json` on the host and embed its evidence',
    },
    'remote-data-dir': {
      type: 'string',
      description: 'data root on the host for the remote verify',
      valueHint: 'DIR',
    },
    'remote-atl': {
      type: 'string',
      description: 'how to invoke atl on the host (a command line)',
      default: 'atl',
    },
    'remote-timeout': { type: 'string', description: 'seconds the remote verify may take', default: '60' },
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    const startedAt = new Date();
    const at = args.host.lastIndexOf('@');
    const host = at >= 0 ? args.host.slice(at + 1) : args.host;
    if (!/^[^\s-][^\s]*$/.test(host))
      throw usageError(`"${args.host}" is not a host name`, 'give a name, an address or an ssh config alias');
    const port = numberFlag('port', args.port, { min: 1, integer: true });
    if (port !== null && port > 65535) throw usageError(`--port must be ≤ 65535 (got "${args.port}")`);
    const remoteDataDir = args['remote-data-dir'] ?? null;
    if (remoteDataDir && !args['remote-verify']) throw usageError('--remote-data-dir needs --remote-verify');
    const result = await checkSshHost({
      target: {
        host,
        user: args.user ?? (at >= 0 ? args.host.slice(0, at) : null),
        port,
        identity: existingFile('identity', args.identity),
        knownHosts: existingFile('known-hosts', args['known-hosts']),
        sshConfig: existingFile('ssh-config', args['ssh-config']),
        timeoutS: numberFlag('timeout', args.timeout, { min: 1 }) ?? 15,
        sshBinary: 'ssh',
      },
      remoteVerify: args['remote-verify']
        ? {
            atl: args['remote-atl'],
            dataDir: remoteDataDir,
            timeoutS: numberFlag('remote-timeout', args['remote-timeout'], { min: 1 }) ?? 60,
          }
        : null,
    });
    const evidence = buildEvidence({
      verb: 'ssh-check',
      startedAt,
      checks: result.checks,
      warnings: result.warnings,
      details: result.details,
    });
    const t = result.details.target;
    const out = emitEvidence({
      evidence,
      flags: args,
      reportsDir: pathsFromArgs(args).reportsDir,
      human: (e, files) => renderChecksHuman(`ssh-check ${t.user}@${t.hostname}:${t.port}`, e, files),
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});
