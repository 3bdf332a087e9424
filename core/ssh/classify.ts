import type { CheckStatus } from '../exit-codes.ts';

/** The ladder, in order: a connection fails at exactly one of these. */
export const SSH_STAGES = ['resolve', 'tcp', 'banner', 'hostkey', 'auth', 'remote-exec'] as const;
export type SshStage = (typeof SSH_STAGES)[number];

/** What the hints need to name the exact fix. */
export type HintContext = {
  host: string;
  hostname: string;
  port: number;
  user: string;
  identity: string | null;
  knownHosts: string;
  offeredKeys: string[];
  serverFingerprint: string | null;
  tailnet: boolean;
};

export type SshFault = { stage: SshStage; kind: string; status: CheckStatus; output: string; hint: string };

type Rule = {
  kind: string;
  stage: SshStage;
  status?: CheckStatus;
  pattern: RegExp;
  hint: (c: HintContext, line: string) => string;
};

const FIREWALL_FIX = (c: HintContext) =>
  `open TCP ${c.port} on the host's firewall (Windows: \`New-NetFirewallRule -Name sshd -DisplayName 'OpenSSH Server (sshd)' -Enabled True -Direction Inbound -Protocol TCP -Action Allow -LocalPort ${c.port}\`; Linux: \`sudo ufw allow ${c.port}/tcp\`)`;
const TAILSCALE_UP = (c: HintContext) =>
  c.tailnet ? `; ${c.hostname} is a Tailscale address: check both ends with \`tailscale status\`` : '';

/**
 * ssh's own failures (exit 255) told apart by their stderr, first match wins. Order matters: a
 * changed host key also prints "Host key verification failed", so the changed rule comes first.
 */
const RULES: Rule[] = [
  {
    kind: 'dns_not_found',
    stage: 'resolve',
    pattern:
      /Could not resolve hostname .*: (Name or service not known|nodename nor servname|No address associated|No such host)/i,
    hint: (c) =>
      `check the spelling of "${c.host}" and its HostName in ~/.ssh/config; for a Tailscale name, MagicDNS must be on (\`tailscale status\`), or use the host's 100.x address`,
  },
  {
    kind: 'dns_temporary',
    stage: 'resolve',
    status: 'unknown',
    pattern: /Could not resolve hostname .*(Temporary failure|try again)/i,
    hint: () =>
      "the resolver did not answer: check this machine's DNS (/etc/resolv.conf, `resolvectl status`) and retry",
  },
  {
    kind: 'refused',
    stage: 'tcp',
    pattern: /Connection refused/i,
    hint: (c) =>
      `nothing listens on ${c.hostname}:${c.port}: start the OpenSSH server (Linux: \`sudo systemctl enable --now ssh\`; Windows: \`Start-Service sshd; Set-Service sshd -StartupType Automatic\`, after \`Add-WindowsCapability -Online -Name OpenSSH.Server~~~~0.0.1.0\`) or pass the right --port${c.tailnet ? '; for Tailscale SSH instead, run `tailscale set --ssh` on the host' : ''}`,
  },
  {
    kind: 'tcp_timeout',
    stage: 'tcp',
    pattern: /connect to host .*(Connection timed out|Operation timed out)/i,
    hint: (c) =>
      `packets to port ${c.port} are dropped: ${FIREWALL_FIX(c)}, and check the host is up${TAILSCALE_UP(c)}`,
  },
  {
    kind: 'unreachable',
    stage: 'tcp',
    pattern: /No route to host|Network is unreachable/i,
    hint: (c) => `no route to ${c.hostname}: the host is down or on another network${TAILSCALE_UP(c)}`,
  },
  {
    kind: 'banner_timeout',
    stage: 'banner',
    pattern: /timed out during banner exchange/i,
    hint: (c) =>
      `port ${c.port} accepts TCP but sends no SSH banner: sshd is overloaded (MaxStartups) or another service or proxy holds the port; check --port`,
  },
  {
    kind: 'closed_by_remote',
    stage: 'banner',
    pattern: /kex_exchange_identification|Connection reset by peer|Connection closed by remote host/i,
    hint: () =>
      "sshd dropped the connection before authentication: read the server's log (Linux `journalctl -u ssh -n 50`, Windows Event Viewer → OpenSSH/Operational); MaxStartups, hosts.deny, fail2ban or a Tailscale ACL do this",
  },
  {
    kind: 'kex_no_common_algorithm',
    stage: 'hostkey',
    pattern: /Unable to negotiate with/i,
    hint: () =>
      'client and server share no key-exchange or host-key algorithm: update OpenSSH on the older side',
  },
  {
    kind: 'hostkey_changed',
    stage: 'hostkey',
    pattern: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/i,
    hint: (c) =>
      `do not connect: ${c.hostname} presented a different host key (${c.serverFingerprint ?? 'see ssh output'}) than ${c.knownHosts} records — possibly a man-in-the-middle. Confirm out of band that the host was rebuilt (on the host: \`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\`, Windows: C:\\ProgramData\\ssh\\ssh_host_ed25519_key.pub), and only then run \`ssh-keygen -R ${knownHostsName(c)} -f ${c.knownHosts}\` and add the new key`,
  },
  {
    kind: 'hostkey_unknown',
    stage: 'hostkey',
    pattern: /host key is known for|Host key verification failed/i,
    hint: (c) =>
      `${c.knownHosts} has no key for ${knownHostsName(c)} and ssh-check never accepts one on first use: compare the fingerprint on the host (\`ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub\`) with \`ssh-keyscan -p ${c.port} ${c.hostname} | ssh-keygen -lf -\`, then append \`ssh-keyscan -p ${c.port} ${c.hostname}\` to ${c.knownHosts}`,
  },
  {
    kind: 'tailscale_check_required',
    stage: 'auth',
    pattern: /Tailscale SSH requires an additional check/i,
    hint: (c) =>
      `the tailnet policy's ssh rule uses action "check", which needs a browser login that batch mode cannot give: run \`tailscale ssh ${c.user}@${c.hostname}\` once, or change the rule to "accept"`,
  },
  {
    kind: 'tailscale_policy_denied',
    stage: 'auth',
    pattern: /tailnet policy does not permit/i,
    hint: (c) =>
      `Tailscale SSH refused by the tailnet policy: its "ssh" rules must allow user "${c.user}" from this node (admin console → Access controls)`,
  },
  {
    kind: 'auth_too_many_keys',
    stage: 'auth',
    pattern: /Too many authentication failures/i,
    hint: () =>
      'the server gave up after too many keys were offered: pass --identity KEY so only that key is tried',
  },
  {
    kind: 'auth_no_publickey',
    stage: 'auth',
    pattern: /Permission denied \((?![^)]*publickey)[^)]*\)/i,
    hint: () =>
      'the server does not accept keys: set `PubkeyAuthentication yes` in sshd_config and restart sshd',
  },
  {
    kind: 'auth_denied',
    stage: 'auth',
    pattern: /Permission denied \(/i,
    hint: (c) =>
      `the server refused ${c.offeredKeys.length > 0 ? `key ${c.offeredKeys.join(', ')}` : 'every key (none could be offered: check --identity)'} for user "${c.user}". Either the user name is wrong (pass --user; on Windows the local account name, \`whoami\` on the host) or the public key is not in that user's ~/.ssh/authorized_keys (Windows administrators: C:\\ProgramData\\ssh\\administrators_authorized_keys, readable only by Administrators and SYSTEM): append it with \`ssh-copy-id -i ${c.identity ?? 'KEY'}.pub ${c.user}@${c.hostname}\` or paste the .pub line`,
  },
];

/** `[host]:port` as known_hosts names a host on a non-default port. */
export function knownHostsName(c: Pick<HintContext, 'hostname' | 'port'>): string {
  return c.port === 22 ? c.hostname : `'[${c.hostname}]:${c.port}'`;
}

/** Classify ssh's stderr after it failed (exit 255); null when no rule recognises it. */
export function classifySshFailure(stderr: string, ctx: HintContext): SshFault | null {
  const lines = stderr.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('debug'));
  for (const rule of RULES) {
    const line = lines.find((l) => rule.pattern.test(l));
    if (!line) continue;
    return {
      stage: rule.stage,
      kind: rule.kind,
      status: rule.status ?? 'fail',
      output: line.replace(/^[\s@]+|[\s@]+$/g, ''),
      hint: rule.hint(ctx, line),
    };
  }
  return null;
}

/** The fault the direct network probes found (no ssh process involved). */
export function networkFault(
  stage: 'resolve' | 'tcp' | 'banner',
  kind: string,
  output: string,
  ctx: HintContext,
): SshFault {
  const rule = RULES.find((r) => r.kind === kind);
  const status: CheckStatus = rule?.status ?? 'fail';
  if (rule) return { stage, kind, status, output, hint: rule.hint(ctx, output) };
  if (kind === 'not_ssh') {
    return {
      stage,
      kind,
      status,
      output,
      hint: `something other than SSH answers on ${ctx.hostname}:${ctx.port}: check --port`,
    };
  }
  return {
    stage,
    kind,
    status: 'unknown',
    output,
    hint: `could not finish the ${stage} stage; retry, or run \`ssh -v -p ${ctx.port} ${ctx.user}@${ctx.hostname}\``,
  };
}

/** Tailscale hands out 100.64.0.0/10 (CGNAT) addresses and fd7a:115c:a1e0::/48. */
export function isTailnetAddress(address: string): boolean {
  const m = /^100\.(\d+)\./.exec(address);
  if (m) return Number(m[1]) >= 64 && Number(m[1]) <= 127;
  return address.toLowerCase().startsWith('fd7a:115c:a1e0:') || address.endsWith('.ts.net');
}
