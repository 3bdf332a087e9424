import { usageError } from '../errors.ts';

/** Where and how to reach one host; null fields fall back to ssh's own configuration. */
export type SshTarget = {
  host: string;
  user: string | null;
  port: number | null;
  identity: string | null;
  knownHosts: string | null;
  sshConfig: string | null;
  timeoutS: number;
  sshBinary: string;
};

/** What ssh will actually use once ~/.ssh/config (or `--ssh-config`) and our flags are merged (`ssh -G`). */
export type EffectiveConfig = {
  hostname: string;
  port: number;
  user: string;
  identityFiles: string[];
  knownHosts: string[];
  proxy: string | null;
};

export type RemoteOs = 'posix' | 'windows';

/** ssh's `-o` parser splits on whitespace unless the value is quoted. */
function optionValue(value: string): string {
  return /\s/.test(value) ? `"${value}"` : value;
}

/**
 * The options that make ssh a probe rather than a session: never prompt, never accept or update a
 * host key, offer only the chosen identity, never reuse a multiplexed connection (which would
 * skip the very stages we check), and give up on a silent peer.
 */
export function sshOptions(t: SshTarget): string[] {
  const o = (setting: string) => ['-o', setting];
  const args = [
    ...(t.sshConfig ? ['-F', t.sshConfig] : []),
    '-T',
    ...o('BatchMode=yes'),
    ...o('StrictHostKeyChecking=yes'),
    ...o('UpdateHostKeys=no'),
    ...o('IdentitiesOnly=yes'),
    ...o('PasswordAuthentication=no'),
    ...o('KbdInteractiveAuthentication=no'),
    ...o(`ConnectTimeout=${Math.max(1, Math.ceil(t.timeoutS))}`),
    ...o('ConnectionAttempts=1'),
    ...o('ControlMaster=no'),
    ...o('ControlPath=none'),
    ...o('ServerAliveInterval=5'),
    ...o('ServerAliveCountMax=3'),
  ];
  if (t.knownHosts)
    args.push(...o(`UserKnownHostsFile=${optionValue(t.knownHosts)}`), ...o('GlobalKnownHostsFile=none'));
  if (t.identity) args.push('-i', t.identity);
  if (t.user) args.push('-l', t.user);
  if (t.port !== null) args.push('-p', String(t.port));
  return args;
}

export function effectiveConfigArgv(t: SshTarget): string[] {
  return [t.sshBinary, '-G', ...sshOptions(t), '--', t.host];
}

/** `-v` so the log says which stages passed even when a later one fails. */
export function transportProbeArgv(t: SshTarget): string[] {
  return [t.sshBinary, '-v', ...sshOptions(t), '--', t.host, 'exit 0'];
}

export function remoteVerifyArgv(
  t: SshTarget,
  remoteAtl: string,
  dataDir: string | null,
  os: RemoteOs,
): string[] {
  const quote = os === 'windows' ? windowsQuote : posixQuote;
  const command = [remoteAtl, 'verify', '--json', ...(dataDir ? ['--data-dir', quote(dataDir)] : [])].join(
    ' ',
  );
  return [t.sshBinary, ...sshOptions(t), '--', t.host, command];
}

export function parseEffectiveConfig(text: string): EffectiveConfig {
  const values = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    const at = line.indexOf(' ');
    if (at <= 0) continue;
    const key = line.slice(0, at).toLowerCase();
    values.set(key, [...(values.get(key) ?? []), line.slice(at + 1).trim()]);
  }
  const one = (k: string) => values.get(k)?.[0] ?? null;
  const proxyJump = one('proxyjump');
  const proxyCommand = one('proxycommand');
  return {
    hostname: one('hostname') ?? '',
    port: Number(one('port') ?? 22),
    user: one('user') ?? '',
    identityFiles: values.get('identityfile') ?? [],
    knownHosts: (one('userknownhostsfile') ?? '').split(/\s+/).filter(Boolean),
    proxy:
      proxyJump && proxyJump !== 'none'
        ? `ProxyJump ${proxyJump}`
        : proxyCommand && proxyCommand !== 'none'
          ? `ProxyCommand ${proxyCommand}`
          : null,
  };
}

/** A word for a POSIX shell: single quotes, with each embedded quote closed, escaped and reopened. */
export function posixQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** A word for cmd.exe (OpenSSH for Windows' default shell), which knows only double quotes. */
export function windowsQuote(word: string): string {
  if (/["%^&|<>]/.test(word))
    throw usageError(
      `cannot pass ${JSON.stringify(word)} safely to cmd.exe on a Windows host`,
      'use a path without " % ^ & | < >',
    );
  return /\s/.test(word) ? `"${word}"` : word;
}

/** OpenSSH for Windows says so in its banner (`SSH-2.0-OpenSSH_for_Windows_9.5`). */
export function remoteOsFromBanner(banner: string | null): RemoteOs {
  return banner && /windows/i.test(banner) ? 'windows' : 'posix';
}
