import { defineCommand } from 'citty';
import { usageError } from '../../core/errors.ts';
import { buildEvidence } from '../../core/evidence/envelope.ts';
import { emitEvidence, renderChecksHuman } from '../../core/evidence/outputs.ts';
import { checkSshHost } from '../../core/ssh/ladder.ts';
import {
  dataDirArg,
  evidenceArgs,
  existingFileFlag,
  jsonArg,
  numberFlag,
  pathsFromArgs,
  print,
} from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'ssh-check',
    description: 'Walk the SSH ladder to a host (resolve → tcp → banner → host key → auth → remote exec)',
  },
  args: {
    host: {
      type: 'positional',
      description: 'name, address or ssh config alias (user@host too)',
      required: true,
    },
    user: { type: 'string', description: 'remote user (default: ssh config, else yours)' },
    port: { type: 'string', description: 'remote port (default: ssh config, else 22)' },
    identity: { type: 'string', description: 'the one private key to offer', valueHint: 'FILE' },
    timeout: { type: 'string', description: 'seconds each stage may take', default: '15' },
    'known-hosts': { type: 'string', description: 'known_hosts to trust (never written)', valueHint: 'FILE' },
    'ssh-config': { type: 'string', description: 'ssh config instead of ~/.ssh/config', valueHint: 'FILE' },
    'remote-verify': { type: 'boolean', description: 'run `atl verify --json` there, embed its evidence' },
    'remote-data-dir': { type: 'string', description: 'data root on the host', valueHint: 'DIR' },
    'remote-atl': { type: 'string', description: 'command line that runs atl on the host', default: 'atl' },
    'remote-timeout': { type: 'string', description: 'seconds the remote verify may take', default: '60' },
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    const startedAt = new Date();
    const at = args.host.lastIndexOf('@');
    const host = args.host.slice(at + 1);
    if (!/^[^\s-]\S*$/.test(host))
      throw usageError(`"${args.host}" is not a host name`, 'give a name, an address or an ssh alias');
    const port = numberFlag('port', args.port, { min: 1, integer: true });
    if (port !== null && port > 65535) throw usageError(`--port must be ≤ 65535 (got "${args.port}")`);
    if (args['remote-data-dir'] && !args['remote-verify'])
      throw usageError('--remote-data-dir needs --remote-verify');
    // Checked whether or not --remote-verify is given: a bad value is a bad flag either way.
    const remoteTimeoutS = numberFlag('remote-timeout', args['remote-timeout'], { min: 1 }) ?? 60;
    const result = await checkSshHost({
      target: {
        host,
        user: args.user ?? (at >= 0 ? args.host.slice(0, at) : null),
        port,
        identity: existingFileFlag('identity', args.identity),
        knownHosts: existingFileFlag('known-hosts', args['known-hosts']),
        sshConfig: existingFileFlag('ssh-config', args['ssh-config']),
        timeoutS: numberFlag('timeout', args.timeout, { min: 1 }) ?? 15,
        sshBinary: 'ssh',
      },
      remoteVerify: args['remote-verify']
        ? {
            atl: args['remote-atl'],
            dataDir: args['remote-data-dir'] ?? null,
            timeoutS: remoteTimeoutS,
          }
        : null,
    });
    const { checks, warnings, details } = result;
    // Hashed, so the evidence shows the trusted host keys were read and never changed.
    const inputs = [details.target.known_hosts, args['ssh-config']].filter((p): p is string => Boolean(p));
    const evidence = buildEvidence({ verb: 'ssh-check', startedAt, checks, warnings, details, inputs });
    const t = details.target;
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
