import { describe, expect, it } from 'bun:test';
import { buildEvidence, check } from '../../core/evidence/envelope.ts';
import type { CheckStatus } from '../../core/exit-codes.ts';
import { judgeHost } from '../../ops/fleet-judge.ts';
import type { FleetHost } from '../../ops/hosts-file.ts';

const WIN: FleetHost = {
  name: 'win',
  host: '100.116.64.126',
  user: 'Trader',
  port: null,
  identity: null,
  knownHosts: null,
  timeoutS: 15,
  remoteVerify: true,
  remoteAtl: 'C:\\atl\\node_modules\\bun\\bin\\bun.exe C:\\atl\\cli\\main.ts',
  dataDir: 'C:\\atl-data',
};

/** What `atl ssh-check --json` prints for a host whose banner said OpenSSH_for_Windows. */
function sshCheckOutput(remote: CheckStatus, remoteOutput: string, hint: string | null = null) {
  const evidence = buildEvidence({
    verb: 'ssh-check',
    startedAt: new Date(),
    checks: [
      check({ id: 'ssh:remote-exec', status: 'pass', output: 'the remote shell ran `exit 0`' }),
      check({
        id: 'remote:verify',
        status: remote,
        output: remoteOutput,
        hint: remote === 'pass' ? null : hint,
      }),
    ],
    details: {
      transport: { ok: true, failed_stage: null },
      remote_os: 'windows',
      banner: 'SSH-2.0-OpenSSH_for_Windows_9.5',
    },
  });
  return { exitCode: evidence.exit_code, stdout: JSON.stringify(evidence), stderr: '' };
}

describe('the fleet judges a Windows host like any other', () => {
  it('a passing remote verify (WMI process identity) is a passing host, named as windows', () => {
    const o = judgeHost(WIN, sshCheckOutput('pass', 'remote verify on 100.116.64.126 passed (14 checks)'));
    expect(o.check.status).toBe('pass');
    expect(o.os).toBe('windows');
    expect(o.check.output).toBe('win (Trader@100.116.64.126, windows): transport ok; remote verify pass');
    expect(o.check.observed).toMatchObject({ os: 'windows', remote_status: 'pass', failed_stage: null });
  });

  it('a failing remote engine fails the host with the remote hint, not a transport fault', () => {
    const o = judgeHost(
      WIN,
      sshCheckOutput(
        'fail',
        'remote verify on 100.116.64.126: FAIL — engine:pidfile: pid 4321 is gone',
        'start it (`npx atl run …`), then re-run `npx atl verify`',
      ),
    );
    expect(o.check.status).toBe('fail');
    expect(o.check.output).toContain('transport ok; remote verify fail — remote verify on 100.116.64.126');
    expect(o.check.hint).toContain('npx atl verify');
  });

  it('no evidence at all is unknown, with the ssh-check to run by hand', () => {
    const o = judgeHost(WIN, { exitCode: 255, stdout: '', stderr: 'ssh: connect refused' });
    expect(o.check.status).toBe('unknown');
    expect(o.os).toBeNull();
    expect(o.check.hint).toBe("run `npx atl ssh-check 100.116.64.126` by hand with this host's settings");
  });
});
