import { describe, expect, it } from 'bun:test';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from '../../core/schema/ajv.ts';
import { Evidence } from '../../core/schema/evidence.ts';
import { atl, MAIN, tempDir } from '../support/cli.ts';
import { freePort, sshdUnavailable, startSshd, type TestSshd } from './sshd.ts';

if (sshdUnavailable) console.warn(`skipping real-sshd ssh-check tests: ${sshdUnavailable}`);
const withSshd = sshdUnavailable ? describe.skip : describe;

function flags(s: TestSshd, overrides: Record<string, string> = {}): string[] {
  const all: Record<string, string> = {
    '--user': s.user,
    '--port': String(s.port),
    '--identity': s.identity,
    '--known-hosts': s.knownHosts,
    '--ssh-config': s.sshConfig,
    '--timeout': '5',
    '--data-dir': join(s.dir, 'local-data'),
    ...overrides,
  };
  return Object.entries(all).flat();
}

/** The evidence printed with --json: schema-valid, and its exit code is the process's. */
function evidenceOf(r: { code: number; stdout: string }): Evidence {
  const value = JSON.parse(r.stdout);
  const checked = validate(Evidence, value);
  if (!checked.ok) throw new Error(checked.errors.join('; '));
  expect(checked.value.exit_code).toBe(r.code);
  return checked.value;
}

const kindOf = (c: Evidence['checks'][number] | undefined) => (c?.observed as { kind?: string } | null)?.kind;
const failing = (e: Evidence) => e.checks.filter((c) => c.status !== 'pass');
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

withSshd('atl ssh-check against a real OpenSSH server on 127.0.0.1', () => {
  it('passes every stage from resolve to remote exec and writes the evidence under reports/ssh-check', async () => {
    await using s = await startSshd();
    const r = await atl(['ssh-check', '127.0.0.1', ...flags(s), '--json']);
    const e = evidenceOf(r);
    expect(r.code).toBe(0);
    expect(e.checks.map((c) => [c.id, c.status])).toEqual([
      ['ssh:resolve', 'pass'],
      ['ssh:tcp', 'pass'],
      ['ssh:banner', 'pass'],
      ['ssh:hostkey', 'pass'],
      ['ssh:auth', 'pass'],
      ['ssh:remote-exec', 'pass'],
    ]);
    expect(e.details?.transport).toEqual({ ok: true, failed_stage: null, kind: null });
    const onDisk = JSON.parse(
      readFileSync(join(s.dir, 'local-data', 'reports', 'ssh-check', 'latest.json'), 'utf8'),
    );
    expect(onDisk.run_id).toBe(e.run_id);
  });

  it('prints a Nagios line with the connect and session times as perfdata', async () => {
    await using s = await startSshd();
    const r = await atl(['ssh-check', '127.0.0.1', ...flags(s), '--format', 'nagios']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toMatch(
      /^ATL SSH_CHECK OK - 6 checks OK \| 'ssh:tcp:connect'=\d+ms;;;; .*'ssh:remote-exec:elapsed'=\d+ms;;;;$/,
    );
  });

  it('fails at auth for a user whose authorized_keys lacks the key, naming --user and authorized_keys', async () => {
    await using s = await startSshd();
    const r = await atl(['ssh-check', '127.0.0.1', ...flags(s, { '--user': 'nobody' }), '--json']);
    const [bad] = failing(evidenceOf(r));
    expect(r.code).toBe(2);
    expect(bad?.id).toBe('ssh:auth');
    expect(bad?.status).toBe('fail');
    expect(bad?.hint).toContain('--user');
    expect(bad?.hint).toContain('authorized_keys');
    expect(bad?.hint).toContain('"nobody"');
  });

  it('fails at auth for a key that is not authorised, naming the key offered and how to add it', async () => {
    await using s = await startSshd();
    const r = await atl([
      'ssh-check',
      '127.0.0.1',
      ...flags(s, { '--identity': s.strangerIdentity }),
      '--json',
    ]);
    const e = evidenceOf(r);
    const [bad] = failing(e);
    expect(r.code).toBe(2);
    expect(bad?.id).toBe('ssh:auth');
    expect(kindOf(bad)).toBe('auth_denied');
    expect(bad?.hint).toContain(s.strangerIdentity);
    expect(bad?.hint).toContain('ssh-copy-id');
    expect(e.checks.find((c) => c.id === 'ssh:hostkey')?.status).toBe('pass');
  });

  it('fails at tcp when nothing listens on the port, pointing at the OpenSSH server', async () => {
    await using s = await startSshd();
    const r = await atl([
      'ssh-check',
      '127.0.0.1',
      ...flags(s, { '--port': String(await freePort()) }),
      '--json',
    ]);
    const [bad] = failing(evidenceOf(r));
    expect(r.code).toBe(2);
    expect(bad?.id).toBe('ssh:tcp');
    expect(kindOf(bad)).toBe('refused');
    expect(bad?.hint).toContain('Start-Service sshd');
  });

  it('fails at resolve for a name that cannot exist (.invalid), before any connection', async () => {
    await using s = await startSshd();
    const r = await atl(['ssh-check', 'atl-ssh-check.invalid', ...flags(s), '--json']);
    const e = evidenceOf(r);
    expect(r.code).toBe(2);
    expect(e.checks.map((c) => c.id)).toEqual(['ssh:resolve']);
    expect(e.checks[0]?.hint).toContain('spelling');
    expect(
      ((e.details?.stages as { status: string }[] | undefined) ?? [])
        .slice(1)
        .every((st) => st.status === 'not_reached'),
    ).toBe(true);
  });

  it('fails (never warns) at hostkey when the server key changed, and leaves known_hosts untouched', async () => {
    await using s = await startSshd();
    const before = sha256(s.changedKnownHosts);
    const r = await atl([
      'ssh-check',
      '127.0.0.1',
      ...flags(s, { '--known-hosts': s.changedKnownHosts }),
      '--json',
    ]);
    const [bad] = failing(evidenceOf(r));
    expect(r.code).toBe(2);
    expect(bad).toMatchObject({ id: 'ssh:hostkey', status: 'fail' });
    expect(kindOf(bad)).toBe('hostkey_changed');
    expect(bad?.hint).toContain(`ssh-keygen -R '[127.0.0.1]:${s.port}'`);
    expect(sha256(s.changedKnownHosts)).toBe(before);
  });

  it('never accepts an unknown host key on first use', async () => {
    await using s = await startSshd();
    const empty = join(s.dir, 'known_hosts_empty');
    writeFileSync(empty, '');
    const r = await atl(['ssh-check', '127.0.0.1', ...flags(s, { '--known-hosts': empty }), '--json']);
    const [bad] = failing(evidenceOf(r));
    expect(r.code).toBe(2);
    expect(kindOf(bad)).toBe('hostkey_unknown');
    expect(bad?.hint).toContain(`ssh-keyscan -p ${s.port} 127.0.0.1`);
    expect(readFileSync(empty, 'utf8')).toBe('');
  });

  it('embeds a failing remote verify as nested evidence, distinct from a healthy transport', async () => {
    await using s = await startSshd();
    using remoteRoot = tempDir('atl-remote-root-');
    const r = await atl([
      'ssh-check',
      '127.0.0.1',
      ...flags(s),
      '--json',
      '--remote-verify',
      '--remote-atl',
      `${process.execPath} ${MAIN}`,
      '--remote-data-dir',
      remoteRoot.path,
    ]);
    const e = evidenceOf(r);
    expect(r.code).toBe(2);
    expect(e.details?.transport).toMatchObject({ ok: true });
    const remote = e.checks.find((c) => c.id === 'remote:verify');
    expect(remote?.status).toBe('fail');
    const nested = e.details?.remote_verify as Evidence;
    expect(validate(Evidence, nested).ok).toBe(true);
    expect(nested.verb).toBe('verify');
    expect(nested.status).toBe('fail');
  });

  it('reports unknown (exit 3) with a PATH hint when atl is missing on the host', async () => {
    await using s = await startSshd();
    const r = await atl([
      'ssh-check',
      '127.0.0.1',
      ...flags(s),
      '--json',
      '--remote-verify',
      '--remote-atl',
      '/nonexistent/atl',
    ]);
    const remote = evidenceOf(r).checks.find((c) => c.id === 'remote:verify');
    expect(r.code).toBe(3);
    expect(remote?.status).toBe('unknown');
    expect(remote?.hint).toContain('--remote-atl');
  });
});

describe('atl ssh-check on bad input', () => {
  it('exits 64 without a host', async () => {
    const r = await atl(['ssh-check']);
    expect(r.code).toBe(64);
  });

  it('exits 64 when --port is not a port', async () => {
    const r = await atl(['ssh-check', '127.0.0.1', '--port', '70000']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--port');
  });

  it('exits 64 naming the file when --identity does not exist', async () => {
    const r = await atl(['ssh-check', '127.0.0.1', '--identity', '/nonexistent/key']);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('/nonexistent/key');
  });

  it('exits 64 for a host that would be read as an ssh option', async () => {
    const r = await atl(['ssh-check', '--', '-oProxyCommand=touch /tmp/pwned']);
    expect(r.code).toBe(64);
  });
});
