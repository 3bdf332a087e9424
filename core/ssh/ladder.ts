import { configError, unknownError } from '../errors.ts';
import type { Check, Evidence } from '../schema/evidence.ts';
import {
  classifySshFailure,
  type HintContext,
  isTailnetAddress,
  networkFault,
  type SshStage,
} from './classify.ts';
import {
  effectiveConfigArgv,
  parseEffectiveConfig,
  type RemoteOs,
  remoteOsFromBanner,
  remoteVerifyArgv,
  type SshTarget,
  transportProbeArgv,
} from './command.ts';
import { Ladder, lastMessage, readVerboseLog, type StageRecord } from './ladder-record.ts';
import { realSshProbes, type SshProbes } from './probes.ts';
import { judgeRemoteVerify } from './remote-verify.ts';

export type RemoteVerifyRequest = { atl: string; dataDir: string | null; timeoutS: number };
export type SshCheckRequest = { target: SshTarget; remoteVerify: RemoteVerifyRequest | null };

export type SshCheckDetails = {
  target: {
    host: string;
    hostname: string;
    port: number;
    user: string;
    identity: string | null;
    known_hosts: string;
    proxy: string | null;
  };
  transport: { ok: boolean; failed_stage: SshStage | null; kind: string | null };
  stages: StageRecord[];
  banner: string | null;
  remote_os: RemoteOs;
  server_fingerprint: string | null;
  remote_verify: Evidence | null;
  commands: string[][];
};

export type SshCheckResult = { checks: Check[]; warnings: string[]; details: SshCheckDetails };

/**
 * The ssh-check ladder: resolve → tcp → banner → host key → auth → remote exec, then optionally
 * the remote `atl verify --json`. Each stage's check says what happened and, when it fails, the fix.
 */
export async function checkSshHost(
  req: SshCheckRequest,
  probes: SshProbes = realSshProbes,
): Promise<SshCheckResult> {
  const t = req.target;
  const timeoutMs = t.timeoutS * 1000;
  const warnings: string[] = [];
  const commands: string[][] = [effectiveConfigArgv(t)];
  const g = await probes.run(effectiveConfigArgv(t), timeoutMs);
  if (g.spawnError) {
    // No client: nothing about the host could be judged.
    throw unknownError(
      `cannot run the ssh client "${t.sshBinary}": ${g.spawnError}`,
      'install OpenSSH (Debian: `apt-get install openssh-client`; Windows: `Add-WindowsCapability -Online -Name OpenSSH.Client~~~~0.0.1.0`)',
    );
  }
  if (g.code !== 0) {
    throw configError(
      `ssh rejected the configuration: ${g.stderr.trim().split('\n')[0]}`,
      'fix the flag or the ssh config file it names',
    );
  }
  const cfg = parseEffectiveConfig(g.stdout);
  const ctx: HintContext = {
    host: t.host,
    hostname: cfg.hostname,
    port: cfg.port,
    user: cfg.user,
    identity: t.identity,
    knownHosts: t.knownHosts ?? cfg.knownHosts[0] ?? '~/.ssh/known_hosts',
    offeredKeys: [],
    serverFingerprint: null,
    tailnet: isTailnetAddress(cfg.hostname),
  };
  const ladder = new Ladder();
  let banner: string | null = null;

  if (cfg.proxy) {
    warnings.push(
      `${cfg.proxy} is configured for ${t.host}: resolve, tcp and banner are checked through ssh only`,
    );
    for (const s of ['resolve', 'tcp', 'banner'] as const) ladder.skip(s, `checked through ${cfg.proxy}`);
  } else {
    banner = await climbNetworkStages(ladder, ctx, probes, timeoutMs);
  }

  if (!ladder.fault) {
    const argv = transportProbeArgv(t);
    commands.push(argv);
    const run = await probes.run(argv, timeoutMs + 5000);
    const log = readVerboseLog(run.stderr);
    ctx.offeredKeys = log.offered;
    ctx.serverFingerprint = log.fingerprint;
    const knownHosts = ctx.knownHosts;
    if (log.hostKeyMatched)
      ladder.pass('hostkey', `host key ${log.fingerprint} matches ${knownHosts}`, {
        fingerprint: log.fingerprint,
        known_hosts: knownHosts,
      });
    if (log.authMethod)
      ladder.pass(
        'auth',
        `authenticated as ${ctx.user} with ${log.authMethod}${log.offered.length ? ` (${log.offered.at(-1)})` : ''}`,
        { user: ctx.user, method: log.authMethod, key: log.offered.at(-1) ?? null },
      );
    const reached: SshStage = !log.hostKeyMatched ? 'hostkey' : !log.authMethod ? 'auth' : 'remote-exec';
    if (run.timedOut) {
      ladder.fail(
        {
          stage: reached,
          kind: 'timeout',
          status: 'unknown',
          output: `ssh did not finish the ${reached} stage within ${t.timeoutS + 5} s`,
          hint: `the server stopped answering: retry, then run \`ssh -v -p ${ctx.port} ${ctx.user}@${ctx.hostname}\` to see where it hangs`,
        },
        { elapsed_ms: run.elapsedMs },
      );
    } else if (run.code === 0) {
      // A session means both passed, even where this ssh words its -v lines differently.
      if (!log.hostKeyMatched)
        ladder.pass('hostkey', `host key accepted from ${knownHosts} (strict checking)`, {
          fingerprint: log.fingerprint,
        });
      if (!log.authMethod) ladder.pass('auth', `authenticated as ${ctx.user}`, { user: ctx.user });
      ladder.pass(
        'remote-exec',
        'the remote shell ran `exit 0`',
        { exit: 0, elapsed_ms: run.elapsedMs },
        'exit',
      );
    } else if (run.code === 255 || run.code === null) {
      const fault = classifySshFailure(run.stderr, ctx);
      ladder.fail(
        fault ?? {
          stage: reached,
          kind: 'ssh_error',
          status: 'unknown',
          output: lastMessage(run.stderr) ?? `ssh exited ${run.code}`,
          hint: `run \`ssh -v -p ${ctx.port} ${ctx.user}@${ctx.hostname}\` and read where it stops`,
        },
        { ssh_exit: run.code },
      );
    } else {
      const said = lastMessage(run.stderr);
      ladder.fail(
        {
          stage: 'remote-exec',
          kind: 'remote_shell_failed',
          status: 'fail',
          output: `the remote shell could not run \`exit 0\` (exit ${run.code})${said ? `: ${said}` : ''}`,
          hint: `check ${ctx.user}'s login shell and any ForceCommand in the host's sshd_config`,
        },
        { exit: run.code },
      );
    }
  }

  const checks = ladder.checks();
  const remoteOs = remoteOsFromBanner(banner);
  let remoteEvidence: Evidence | null = null;
  if (req.remoteVerify && !ladder.fault) {
    const argv = remoteVerifyArgv(t, req.remoteVerify.atl, req.remoteVerify.dataDir, remoteOs);
    commands.push(argv);
    const run = await probes.run(argv, req.remoteVerify.timeoutS * 1000);
    const judged = judgeRemoteVerify(run, ctx, req.remoteVerify.atl, req.remoteVerify.timeoutS, remoteOs);
    checks.push(judged.check);
    warnings.push(...judged.warnings);
    remoteEvidence = judged.nested;
  }

  return {
    checks,
    warnings,
    details: {
      target: {
        host: t.host,
        hostname: ctx.hostname,
        port: ctx.port,
        user: ctx.user,
        identity: t.identity,
        known_hosts: ctx.knownHosts,
        proxy: cfg.proxy,
      },
      transport: {
        ok: !ladder.fault,
        failed_stage: ladder.fault?.stage ?? null,
        kind: ladder.fault?.kind ?? null,
      },
      stages: ladder.stages(),
      banner,
      remote_os: remoteOs,
      server_fingerprint: ctx.serverFingerprint,
      remote_verify: remoteEvidence,
      commands,
    },
  };
}

/** resolve → tcp → banner, probed directly so each failure is named by its own stage. */
async function climbNetworkStages(
  ladder: Ladder,
  ctx: HintContext,
  probes: SshProbes,
  timeoutMs: number,
): Promise<string | null> {
  const resolved = await probes.resolve(ctx.hostname, timeoutMs);
  if (!resolved.ok) {
    ladder.fail(networkFault('resolve', resolved.kind, resolved.message, ctx), { hostname: ctx.hostname });
    return null;
  }
  const literal = resolved.addresses.length === 1 && resolved.addresses[0] === ctx.hostname;
  ladder.pass(
    'resolve',
    literal ? `${ctx.hostname} is an address` : `${ctx.hostname} → ${resolved.addresses.join(', ')}`,
    { addresses: resolved.addresses },
  );
  if (resolved.addresses.some(isTailnetAddress)) ctx.tailnet = true;

  // Like ssh, try each address in turn; the last failure is the one reported.
  for (const address of resolved.addresses.slice(0, 4)) {
    const r = await probes.tcpBanner(address, ctx.port, timeoutMs);
    if (r.stage === 'tcp') {
      ladder.fail(networkFault('tcp', r.kind, r.message, ctx), { address, port: ctx.port });
      continue;
    }
    ladder.fault = null;
    ladder.pass(
      'tcp',
      `connected to ${address}:${ctx.port} in ${r.connectMs} ms`,
      { address, port: ctx.port, connect_ms: r.connectMs },
      'ms',
    );
    if (!r.ok) {
      ladder.fail(networkFault('banner', r.kind, r.message, ctx), { address });
      return null;
    }
    ladder.pass('banner', r.banner, { banner: r.banner, tailscale: /tailscale/i.test(r.banner) });
    return r.banner;
  }
  return null;
}
