import { describe, expect, it } from 'bun:test';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from '../../core/schema/ajv.ts';
import { Evidence } from '../../core/schema/evidence.ts';
import { startPaperEngine } from '../api/_support.ts';
import { MAIN, tempDir } from '../support/cli.ts';
import { opsScript } from './run-ops.ts';
import { sshdUnavailable, startSshd } from './sshd.ts';

if (sshdUnavailable) console.warn(`skipping the loopback fleet test: ${sshdUnavailable}`);
const withSshd = sshdUnavailable ? describe.skip : describe;

function writeHosts(dir: string, doc: unknown): string {
  const file = join(dir, 'hosts.json');
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

withSshd('ops/fleet.ts over two loopback hosts', () => {
  it('writes ONE evidence file naming the failing host and exits non-zero', async () => {
    await using s = await startSshd();
    using roots = tempDir('atl-fleet-');
    const healthyRoot = join(roots.path, 'healthy');
    const engine = await startPaperEngine(healthyRoot, ['BTC/USDT']);
    try {
      // Key paths relative to hosts.json, as an operator keeps them beside it.
      const hosts = writeHosts(s.dir, {
        schema_version: '1.0.0',
        defaults: {
          user: s.user,
          port: s.port,
          identity: 'user_key',
          known_hosts: 'known_hosts',
          timeout_s: 5,
          remote_atl: `${process.execPath} ${MAIN}`,
        },
        hosts: [
          { name: 'healthy', host: '127.0.0.1', data_dir: healthyRoot },
          { name: 'broken', host: '127.0.0.1', data_dir: join(roots.path, 'never-started') },
        ],
      });
      const local = join(roots.path, 'local');
      const r = await opsScript('fleet.ts', [
        '--hosts',
        hosts,
        '--ssh-config',
        s.sshConfig,
        '--data-dir',
        local,
      ]);
      const checked = validate(Evidence, JSON.parse(r.stdout));
      if (!checked.ok) throw new Error(checked.errors.join('; '));
      const e = checked.value;
      expect(r.code).toBe(2);
      expect(e.exit_code).toBe(2);
      expect(e.verb).toBe('fleet');
      expect(e.checks.map((c) => [c.id, c.status])).toEqual([
        ['host:healthy', 'pass'],
        ['host:broken', 'fail'],
      ]);
      expect(e.details?.failing_hosts).toEqual(['broken']);
      expect(e.checks[1]?.output).toContain('transport ok; remote verify fail');
      const files = readdirSync(join(local, 'reports', 'fleet')).filter((f) => f !== 'latest.json');
      expect(files).toHaveLength(1);
      expect(JSON.parse(readFileSync(join(local, 'reports', 'fleet', files[0]!), 'utf8')).run_id).toBe(
        e.run_id,
      );
      const hostsDetail = (e.details?.hosts ?? []) as { name: string; evidence: Evidence }[];
      const nested = hostsDetail.find((h) => h.name === 'healthy')?.evidence;
      expect(nested?.details?.remote_verify).toMatchObject({ verb: 'verify', status: 'pass' });
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
    }
  }, 60_000);
});

describe('ops/fleet.ts on a bad hosts.json (exit 78, naming the field)', () => {
  const base = { schema_version: '1.0.0', hosts: [{ name: 'a', host: 'h' }] };

  it('names an unknown (misspelt) field', async () => {
    using dir = tempDir();
    const r = await opsScript('fleet.ts', [
      '--hosts',
      writeHosts(dir.path, { ...base, hosts: [{ name: 'a', host: 'h', usr: 'x' }] }),
      '--dry-run',
    ]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('/hosts/0/usr: unknown field');
  });

  it('names a field of the wrong type and a missing one', async () => {
    using dir = tempDir();
    const r = await opsScript('fleet.ts', [
      '--hosts',
      writeHosts(dir.path, { ...base, defaults: { port: 'ssh' }, hosts: [{ name: 'a' }] }),
      '--dry-run',
    ]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('/defaults/port');
    expect(r.stderr).toContain('/hosts/0/host: required');
  });

  it('refuses two hosts with one name', async () => {
    using dir = tempDir();
    const r = await opsScript('fleet.ts', [
      '--hosts',
      writeHosts(dir.path, { ...base, hosts: [base.hosts[0], base.hosts[0]] }),
      '--dry-run',
    ]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('/hosts/1/name "a" repeats /hosts/0/name');
  });

  it('names a key file that does not exist, relative to hosts.json', async () => {
    using dir = tempDir();
    const r = await opsScript('fleet.ts', [
      '--hosts',
      writeHosts(dir.path, { ...base, defaults: { identity: 'missing_key' } }),
      '--dry-run',
    ]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`/defaults/identity names ${join(dir.path, 'missing_key')}`);
  });

  it('is a config error when the file is missing or not JSON, and a usage error without --hosts', async () => {
    using dir = tempDir();
    expect((await opsScript('fleet.ts', ['--hosts', join(dir.path, 'nope.json')])).code).toBe(78);
    writeFileSync(join(dir.path, 'bad.json'), '{ "schema_version": ');
    expect((await opsScript('fleet.ts', ['--hosts', join(dir.path, 'bad.json')])).code).toBe(78);
    const r = await opsScript('fleet.ts', []);
    expect(r.code).toBe(64);
    expect(r.json()).toMatchObject({ script: 'ops/fleet.ts', exit_code: 64 });
  });
});
