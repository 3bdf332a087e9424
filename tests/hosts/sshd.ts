import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SSHD = '/usr/sbin/sshd';
/** Why the real-sshd tests cannot run here, or null when they can. */
export const sshdUnavailable: string | null = !existsSync(SSHD)
  ? `${SSHD} is missing: install it with \`apt-get install -y openssh-server openssh-client\` (.ci/run does)`
  : !Bun.which('ssh') || !Bun.which('ssh-keygen')
    ? 'ssh or ssh-keygen is missing: install openssh-client'
    : !privsepDirReady()
      ? 'sshd needs /run/sshd and it cannot be created here (run the tests as root, as CI does)'
      : null;

/** sshd refuses to start without its privilege-separation directory. */
function privsepDirReady(): boolean {
  try {
    mkdirSync('/run/sshd', { recursive: true });
    return true;
  } catch {
    return false;
  }
}

function keygen(path: string): void {
  const r = Bun.spawnSync(['ssh-keygen', '-q', '-t', 'ed25519', '-N', '', '-C', 'atl-test', '-f', path]);
  if (r.exitCode !== 0) throw new Error(`ssh-keygen failed: ${r.stderr.toString()}`);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

async function waitForBanner(
  port: number,
  proc: ReturnType<typeof Bun.spawn>,
  timeoutMs = 5000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null)
      throw new Error(
        `sshd exited ${proc.exitCode}: ${await new Response(proc.stderr as ReadableStream).text()}`,
      );
    const ok = await new Promise<boolean>((done) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('data', () => done(true));
      socket.once('error', () => done(false));
      socket.once('close', () => done(false));
    }).catch(() => false);
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error('sshd did not answer within 5 s');
}

/**
 * A throwaway OpenSSH server on 127.0.0.1 for one test file: its own host key, one authorised
 * user key, a known_hosts that trusts it, a second key that is not authorised and a known_hosts
 * holding a different ("changed") key. Runs as the current user; everything lives in one temp dir.
 */
export async function startSshd() {
  const dir = mkdtempSync(join(tmpdir(), 'atl-sshd-'));
  const path = (name: string) => join(dir, name);
  for (const k of ['host_key', 'user_key', 'stranger_key', 'other_host_key']) keygen(path(k));
  // Bun's os.userInfo() says "unknown" when $USER is unset (as under CI), so ask id(1).
  const user = Bun.spawnSync(['id', '-un']).stdout.toString().trim();
  writeFileSync(path(`authorized_keys_${user}`), readFileSync(path('user_key.pub')));
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    writeFileSync(
      path('sshd_config'),
      [
        `Port ${port}`,
        'ListenAddress 127.0.0.1',
        `HostKey ${path('host_key')}`,
        `PidFile ${path('sshd.pid')}`,
        `AuthorizedKeysFile ${path('authorized_keys_%u')}`,
        'StrictModes no',
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'PubkeyAuthentication yes',
        'LogLevel VERBOSE',
        '',
      ].join('\n'),
    );
    const hostLine = (pub: string) =>
      `[127.0.0.1]:${port} ${readFileSync(path(pub), 'utf8').split(' ').slice(0, 2).join(' ')}\n`;
    writeFileSync(path('known_hosts'), hostLine('host_key.pub'));
    writeFileSync(path('known_hosts_changed'), hostLine('other_host_key.pub'));
    writeFileSync(path('ssh_config'), '');
    const proc = Bun.spawn([SSHD, '-D', '-e', '-f', path('sshd_config')], {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
    });
    try {
      await waitForBanner(port, proc);
      return {
        dir,
        port,
        user,
        identity: path('user_key'),
        strangerIdentity: path('stranger_key'),
        knownHosts: path('known_hosts'),
        changedKnownHosts: path('known_hosts_changed'),
        /** An empty ssh config, so the caller's ~/.ssh/config cannot change the test. */
        sshConfig: path('ssh_config'),
        [Symbol.asyncDispose]: async () => {
          proc.kill('SIGTERM');
          await proc.exited;
          rmSync(dir, { recursive: true, force: true });
        },
      };
    } catch (err) {
      lastError = err;
      proc.kill('SIGKILL');
      await proc.exited;
    }
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error(`could not start sshd: ${String(lastError)}`);
}
export type TestSshd = Awaited<ReturnType<typeof startSshd>>;
