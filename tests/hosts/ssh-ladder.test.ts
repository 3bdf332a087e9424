import { describe, expect, it } from 'bun:test';
import { createServer, type Server } from 'node:net';
import { OperatorError } from '../../core/errors.ts';
import { classifySshFailure, type HintContext, isTailnetAddress } from '../../core/ssh/classify.ts';
import {
  parseEffectiveConfig,
  posixQuote,
  remoteOsFromBanner,
  remoteVerifyArgv,
  type SshTarget,
  windowsQuote,
} from '../../core/ssh/command.ts';
import { checkSshHost } from '../../core/ssh/ladder.ts';
import { readVerboseLog } from '../../core/ssh/ladder-record.ts';
import { type ProcessResult, realSshProbes, type SshProbes } from '../../core/ssh/probes.ts';

const ctx: HintContext = {
  host: 'win-box',
  hostname: '100.116.64.126',
  port: 22,
  user: 'trader',
  identity: '/home/me/.ssh/id_ed25519',
  knownHosts: '/home/me/.ssh/known_hosts',
  offeredKeys: ['/home/me/.ssh/id_ed25519 (SHA256:abc)'],
  serverFingerprint: 'SHA256:new',
  tailnet: true,
};

const kindOf = (stderr: string) => classifySshFailure(stderr, ctx);

describe('ssh stderr → stage, kind and fix', () => {
  it.each([
    [
      'ssh: Could not resolve hostname win-box: Name or service not known',
      'resolve',
      'dns_not_found',
      'fail',
    ],
    [
      'ssh: Could not resolve hostname win-box: Temporary failure in name resolution',
      'resolve',
      'dns_temporary',
      'unknown',
    ],
    ['ssh: connect to host 100.116.64.126 port 22: Connection refused', 'tcp', 'refused', 'fail'],
    ['ssh: connect to host 100.116.64.126 port 22: Connection timed out', 'tcp', 'tcp_timeout', 'fail'],
    ['ssh: connect to host 100.116.64.126 port 22: No route to host', 'tcp', 'unreachable', 'fail'],
    ['Connection timed out during banner exchange', 'banner', 'banner_timeout', 'fail'],
    ['kex_exchange_identification: read: Connection reset by peer', 'banner', 'closed_by_remote', 'fail'],
    [
      'Unable to negotiate with 100.116.64.126 port 22: no matching host key type found. Their offer: ssh-dss',
      'hostkey',
      'kex_no_common_algorithm',
      'fail',
    ],
    [
      'No ED25519 host key is known for 100.116.64.126 and you have requested strict checking.\nHost key verification failed.',
      'hostkey',
      'hostkey_unknown',
      'fail',
    ],
    [
      'Received disconnect from 100.116.64.126 port 22:2: Too many authentication failures',
      'auth',
      'auth_too_many_keys',
      'fail',
    ],
    [
      'trader@100.116.64.126: Permission denied (password,keyboard-interactive).',
      'auth',
      'auth_no_publickey',
      'fail',
    ],
    [
      'trader@100.116.64.126: Permission denied (publickey,password,keyboard-interactive).',
      'auth',
      'auth_denied',
      'fail',
    ],
    [
      '# Tailscale SSH requires an additional check.\n# To authenticate, visit: https://login.tailscale.com/a/xyz',
      'auth',
      'tailscale_check_required',
      'fail',
    ],
    [
      'tailscale: tailnet policy does not permit you to SSH to this node\nConnection closed by 100.116.64.126 port 22',
      'auth',
      'tailscale_policy_denied',
      'fail',
    ],
  ])('%s', (stderr, stage, kind, status) => {
    expect(kindOf(stderr)).toMatchObject({ stage, kind, status });
    expect(kindOf(stderr)?.hint.length).toBeGreaterThan(20);
  });

  it('calls a changed host key a changed key (a security failure), not merely an unknown one', () => {
    const stderr = [
      '@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@',
      '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @',
      'Host key for 100.116.64.126 has changed and you have requested strict checking.',
      'Host key verification failed.',
    ].join('\n');
    const f = kindOf(stderr);
    expect(f).toMatchObject({
      stage: 'hostkey',
      kind: 'hostkey_changed',
      status: 'fail',
      output: 'WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!',
    });
    expect(f?.hint).toContain('ssh-keygen -R 100.116.64.126 -f /home/me/.ssh/known_hosts');
    expect(f?.hint).toContain('SHA256:new');
  });

  it('names the Windows fixes the original runbook needed: user, administrators_authorized_keys, sshd service, firewall', () => {
    expect(kindOf('trader@h: Permission denied (publickey).')?.hint).toContain(
      'administrators_authorized_keys',
    );
    expect(kindOf('ssh: connect to host h port 22: Connection refused')?.hint).toContain(
      'Start-Service sshd',
    );
    expect(kindOf('ssh: connect to host h port 22: Connection refused')?.hint).toContain(
      'tailscale set --ssh',
    );
    expect(kindOf('ssh: connect to host h port 22: Connection timed out')?.hint).toContain(
      'New-NetFirewallRule',
    );
  });

  it('ignores -v chatter and leaves what it does not recognise to the caller', () => {
    expect(
      kindOf('debug1: Connection refused somewhere in a debug line\nsomething new went wrong'),
    ).toBeNull();
  });

  it('knows Tailscale addresses (100.64.0.0/10) from their neighbours', () => {
    expect(
      ['100.64.0.1', '100.127.255.254', 'fd7a:115c:a1e0::1', 'box.tail1234.ts.net'].map(isTailnetAddress),
    ).toEqual([true, true, true, true]);
    expect(['100.63.255.255', '100.128.0.1', '10.0.0.1'].map(isTailnetAddress)).toEqual([
      false,
      false,
      false,
    ]);
  });
});

describe('ssh command building', () => {
  const target: SshTarget = {
    host: 'h',
    user: 'u',
    port: 2222,
    identity: '/k',
    knownHosts: '/kh with space',
    sshConfig: null,
    timeoutS: 5,
    sshBinary: 'ssh',
  };

  it('quotes the remote data dir for the remote shell: POSIX single quotes, cmd.exe double quotes', () => {
    expect(remoteVerifyArgv(target, 'atl', "/srv/it's here", 'posix').at(-1)).toBe(
      "atl verify --json --data-dir '/srv/it'\\''s here'",
    );
    expect(remoteVerifyArgv(target, 'atl', 'C:\\atl data', 'windows').at(-1)).toBe(
      'atl verify --json --data-dir "C:\\atl data"',
    );
    expect(posixQuote('/plain/path')).toBe('/plain/path');
    expect(() => windowsQuote('C:\\a"b')).toThrow(OperatorError);
  });

  it('never lets ssh prompt, accept or update a host key, or reuse a connection', () => {
    const argv = remoteVerifyArgv(target, 'atl', null, 'posix').join(' ');
    for (const o of [
      'BatchMode=yes',
      'StrictHostKeyChecking=yes',
      'UpdateHostKeys=no',
      'IdentitiesOnly=yes',
      'ControlMaster=no',
      'UserKnownHostsFile="/kh with space"',
    ]) {
      expect(argv).toContain(o);
    }
  });

  it('reads the effective ssh configuration, proxies included', () => {
    const cfg = parseEffectiveConfig(
      'user trader\nhostname 10.0.0.5\nport 2200\nidentityfile ~/.ssh/a\nidentityfile ~/.ssh/b\nuserknownhostsfile ~/.ssh/known_hosts ~/.ssh/known_hosts2\nproxyjump bastion\n',
    );
    expect(cfg).toEqual({
      hostname: '10.0.0.5',
      port: 2200,
      user: 'trader',
      identityFiles: ['~/.ssh/a', '~/.ssh/b'],
      knownHosts: ['~/.ssh/known_hosts', '~/.ssh/known_hosts2'],
      proxy: 'ProxyJump bastion',
    });
    expect(remoteOsFromBanner('SSH-2.0-OpenSSH_for_Windows_9.5')).toBe('windows');
    expect(remoteOsFromBanner('SSH-2.0-OpenSSH_9.2p1 Debian-2')).toBe('posix');
  });

  it('reads which stages ssh -v got through', () => {
    const log = readVerboseLog(
      'debug1: Server host key: ssh-ed25519 SHA256:xyz\ndebug1: Host \'[127.0.0.1]:2222\' is known and matches the ED25519 host key.\ndebug1: Offering public key: /k ED25519 SHA256:key explicit\nAuthenticated to 127.0.0.1 ([127.0.0.1]:2222) using "publickey".',
    );
    expect(log).toEqual({
      fingerprint: 'SHA256:xyz',
      hostKeyMatched: true,
      authMethod: 'publickey',
      offered: ['/k (SHA256:key)'],
    });
  });
});

const done = (over: Partial<ProcessResult>): ProcessResult => ({
  code: 0,
  stdout: '',
  stderr: '',
  timedOut: false,
  spawnError: null,
  elapsedMs: 1,
  ...over,
});
const baseTarget: SshTarget = {
  host: 'h',
  user: null,
  port: null,
  identity: null,
  knownHosts: null,
  sshConfig: null,
  timeoutS: 2,
  sshBinary: 'ssh',
};

/** Probes answering from fixtures: `ssh -G` with `config`, the probe run with `probe`. */
function fixtureProbes(config: string, probe: ProcessResult): SshProbes {
  return {
    resolve: async () => ({ ok: true, addresses: ['10.0.0.5'] }),
    tcpBanner: async (address) => ({
      stage: 'banner',
      ok: true,
      banner: 'SSH-2.0-OpenSSH_9.2',
      address,
      connectMs: 1,
    }),
    run: async (argv) => (argv.includes('-G') ? done({ stdout: config }) : probe),
  };
}

describe('the ladder', () => {
  it('checks the direct stages through ssh only when a proxy is configured, and says so', async () => {
    const r = await checkSshHost(
      { target: baseTarget, remoteVerify: null },
      fixtureProbes(
        'hostname 10.0.0.5\nport 22\nuser u\nproxyjump bastion\n',
        done({ code: 0, stderr: 'Authenticated to 10.0.0.5 using "publickey".' }),
      ),
    );
    expect(r.warnings[0]).toContain('ProxyJump bastion');
    expect(r.details.stages.slice(0, 3).map((s) => s.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(r.checks.map((c) => [c.id, c.skipped ?? false])).toEqual([
      ['ssh:resolve', true],
      ['ssh:tcp', true],
      ['ssh:banner', true],
      ['ssh:hostkey', false],
      ['ssh:auth', false],
      ['ssh:remote-exec', false],
    ]);
  });

  it('turns an ssh that hangs after the host key into unknown at the auth stage', async () => {
    const hung = done({
      code: null,
      timedOut: true,
      stderr: "debug1: Host 'h' is known and matches the ED25519 host key.",
    });
    const r = await checkSshHost(
      { target: baseTarget, remoteVerify: null },
      fixtureProbes('hostname 10.0.0.5\nport 22\nuser u\n', hung),
    );
    expect(r.checks.at(-1)).toMatchObject({ id: 'ssh:auth', status: 'unknown' });
    expect(r.details.transport).toEqual({ ok: false, failed_stage: 'auth', kind: 'timeout' });
  });

  it('refuses a configuration ssh itself rejects (exit 78)', async () => {
    const probes = {
      ...fixtureProbes('', done({})),
      run: async () => done({ code: 255, stderr: 'command-line line 0: Bad configuration option: bogus' }),
    };
    const err = await checkSshHost({ target: baseTarget, remoteVerify: null }, probes).catch((e) => e);
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).exitCode).toBe(78);
  });
});

async function listen(
  onConnect: (socket: import('node:net').Socket) => void,
): Promise<{ port: number; server: Server }> {
  const server = createServer(onConnect);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as { port: number }).port, server };
}

describe('the banner stage against loopback listeners', () => {
  it('fails at banner when the port accepts TCP but never speaks', async () => {
    const { port, server } = await listen(() => {});
    try {
      const r = await realSshProbes.tcpBanner('127.0.0.1', port, 500);
      expect(r).toMatchObject({ stage: 'banner', ok: false, kind: 'banner_timeout' });
    } finally {
      server.close();
    }
  });

  it('fails at banner naming a non-SSH service on the port', async () => {
    const { port, server } = await listen((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
    try {
      const r = await realSshProbes.tcpBanner('127.0.0.1', port, 2000);
      expect(r).toMatchObject({ stage: 'banner', ok: false });
      expect((r as { kind: string }).kind).toBe('not_ssh');
    } finally {
      server.close();
    }
  });
});
