import { describe, expect, test } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
import { tempDir } from '../support/cli.ts';
import { opsScript } from './run-ops.ts';

/**
 * ops/linux.ts against a systemctl and loginctl of our own on PATH (this machine has no user
 * manager): each call is logged, and the one whose arguments contain FAKE_FAIL fails the way
 * systemctl does, with FAKE_SAYS on stderr. systemd-analyze is the real one.
 */
function fakeHost() {
  const dir = tempDir('atl-fake-systemd-');
  const bin = join(dir.path, 'bin');
  const home = join(dir.path, 'home');
  const data = join(dir.path, 'data');
  const log = join(dir.path, 'systemctl.log');
  mkdirSync(bin);
  mkdirSync(home);
  writeFileSync(
    join(bin, 'systemctl'),
    `#!/bin/sh
echo "$*" >> '${log}'
if [ -n "$FAKE_FAIL" ] && echo "$*" | grep -q -- "$FAKE_FAIL"; then
  echo "$FAKE_SAYS" >&2
  exit "\${FAKE_EXIT:-1}"
fi
case "$*" in *is-active*) echo active ;; esac
exit 0
`,
    { mode: 0o755 },
  );
  writeFileSync(join(bin, 'loginctl'), '#!/bin/sh\necho yes\n', { mode: 0o755 });
  const unit = join(home, '.config', 'systemd', 'user', 'atl-paper-live.service');
  const envFile = join(data, 'ops', 'atl-paper-live.env');
  const linux = (args: string[], env: Record<string, string> = {}) =>
    opsScript('linux.ts', [...args, '--data-dir', data], {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: home,
      XDG_RUNTIME_DIR: '/run/user/1000',
      ...env,
    });
  const calls = () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []);
  const reset = () => writeFileSync(log, '');
  return { dir, unit, envFile, linux, calls, reset, [Symbol.dispose]: () => dir[Symbol.dispose]() };
}

const BUS = 'Failed to connect to bus: No such file or directory';
const operatorLines = (stderr: string) => stderr.split('\n').filter((l) => l.startsWith('ops/linux.ts'));

describe('ops/linux.ts reports what systemctl refused (fake systemctl on PATH)', () => {
  test('install: daemon-reload, enable, restart, is-active; exit 0 when each works', async () => {
    using host = fakeHost();
    const r = await host.linux(['install']);
    expect(r.code).toBe(EXIT.pass);
    expect(host.calls()).toEqual([
      '--user daemon-reload',
      '--user enable atl-paper-live',
      '--user restart atl-paper-live',
      '--user is-active atl-paper-live',
    ]);
    expect(existsSync(host.unit)).toBe(true);
    expect(existsSync(host.envFile)).toBe(true);
  });

  test('uninstall without a user bus: exit 2, one line naming the command and the fix, unit and env file kept', async () => {
    using host = fakeHost();
    expect((await host.linux(['install'])).code).toBe(EXIT.pass);
    host.reset();
    const r = await host.linux(['uninstall'], { FAKE_FAIL: 'disable', FAKE_SAYS: BUS });
    expect(r.code).toBe(EXIT.fail); // before: exit 0, "status": "pass"
    const out = r.json();
    expect(out).toMatchObject({ status: 'fail', exit_code: EXIT.fail });
    expect(out.checks).toHaveLength(1);
    expect(out.checks[0]).toMatchObject({ id: 'service:disabled', status: 'fail' });
    expect(out.checks[0].output).toBe(
      `systemctl --user disable --now atl-paper-live failed (exit 1: ${BUS}); unit and env file kept`,
    );
    expect(out.checks[0].hint).toContain('XDG_RUNTIME_DIR=/run/user/$(id -u)');
    const lines = operatorLines(r.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toStartWith('ops/linux.ts uninstall: service:disabled: systemctl --user disable --now');
    // Nothing removed behind a service systemd may still run and start at boot; no reload.
    expect(existsSync(host.unit)).toBe(true);
    expect(existsSync(host.envFile)).toBe(true);
    expect(host.calls()).toEqual(['--user disable --now atl-paper-live']);
    // Once the manager answers, the same command finishes the job.
    const again = await host.linux(['uninstall']);
    expect(again.code).toBe(EXIT.pass);
    expect(existsSync(host.unit)).toBe(false);
    expect(existsSync(host.envFile)).toBe(false);
  });

  test('uninstall refused by the manager: exit 2 pointing at systemctl status and the journal', async () => {
    using host = fakeHost();
    expect((await host.linux(['install'])).code).toBe(EXIT.pass);
    const r = await host.linux(['uninstall'], {
      FAKE_FAIL: 'disable',
      FAKE_SAYS: 'Failed to stop atl-paper-live.service: Access denied',
      FAKE_EXIT: '4',
    });
    expect(r.code).toBe(EXIT.fail);
    const check = r.json().checks[0];
    expect(check.output).toContain('(exit 4: Failed to stop atl-paper-live.service: Access denied)');
    expect(check.hint).toContain('systemctl --user status atl-paper-live');
    expect(existsSync(host.unit)).toBe(true);
  });

  test('uninstall that works: stopped, disabled, files removed, reloaded; a failed reload is a warning', async () => {
    using host = fakeHost();
    expect((await host.linux(['install'])).code).toBe(EXIT.pass);
    host.reset();
    const r = await host.linux(['uninstall'], { FAKE_FAIL: 'daemon-reload', FAKE_SAYS: BUS });
    expect(r.code).toBe(EXIT.warn);
    expect(r.json().checks.map((c: { id: string; status: string }) => [c.id, c.status])).toEqual([
      ['systemd:reload', 'warn'],
    ]);
    expect(host.calls()).toEqual(['--user disable --now atl-paper-live', '--user daemon-reload']);
    expect(existsSync(host.unit)).toBe(false);
    expect(existsSync(host.envFile)).toBe(false);
  });

  test('uninstall of a unit that is not installed: exit 0, saying so', async () => {
    using host = fakeHost();
    const r = await host.linux(['uninstall'], {
      FAKE_FAIL: 'disable',
      FAKE_SAYS: 'Failed to disable unit, unit atl-paper-live.service does not exist.',
    });
    expect(r.code).toBe(EXIT.pass);
    expect(r.json().checks[0]).toMatchObject({ id: 'service:disabled', status: 'pass' });
    expect(r.json().checks[0].output).toContain('is not installed');
  });

  test('install whose enable fails: exit 2 (the engine would not come back after a reboot)', async () => {
    using host = fakeHost();
    const r = await host.linux(['install'], { FAKE_FAIL: 'enable', FAKE_SAYS: BUS });
    expect(r.code).toBe(EXIT.fail);
    const failed = r.json().checks.filter((c: { status: string }) => c.status === 'fail');
    expect(failed.map((c: { id: string }) => c.id)).toEqual(['service:enabled']);
    expect(operatorLines(r.stderr)).toHaveLength(1);
  });

  test('stop whose systemctl stop fails says so, not only that the heartbeat is not stopped', async () => {
    using host = fakeHost();
    const r = await host.linux(['stop'], { FAKE_FAIL: 'stop', FAKE_SAYS: BUS });
    expect(r.code).toBe(EXIT.fail);
    const ids = r.json().checks.map((c: { id: string }) => c.id);
    expect(ids[0]).toBe('service:stopped');
  });
});
