import { describe, expect, it } from 'bun:test';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import parsePrometheus from 'parse-prometheus-text-format';
import { buildEvidence, check, skippedCheck } from '../../core/evidence/envelope.ts';
import { renderJunit } from '../../core/evidence/junit.ts';
import { renderNagios } from '../../core/evidence/nagios.ts';
import { emitEvidence, resolveFormat } from '../../core/evidence/outputs.ts';
import { renderPrometheus, writePrometheusTextfile } from '../../core/evidence/prometheus.ts';
import { tempDir } from '../support/cli.ts';

const started = new Date('2026-11-24T07:52:00.123Z');

function mixed() {
  return buildEvidence({
    verb: 'verify',
    startedAt: started,
    checks: [
      check({ id: 'engine:process', status: 'pass', observed: 1, unit: 'count', output: 'one engine' }),
      check({
        id: 'engine:heartbeat',
        status: 'fail',
        observed: 183,
        unit: 's',
        thresholds: { crit: 120 },
        output: 'heartbeat is 183s old <stale> & "quoted"\u0007',
        hint: 'restart | check',
      }),
      check({ id: 'status:command', status: 'unknown', output: 'timed out', hint: 'run it by hand' }),
      check({
        id: 'host:disk',
        status: 'warn',
        observed: 2 ** 20,
        unit: 'bytes',
        output: 'low disk',
        hint: 'free space',
      }),
      skippedCheck('service:systemd', 'systemd is not running on this host'),
    ],
  });
}

describe('evidence outputs', () => {
  it('refuses a non-pass check without a hint (a gate bug, not operator data)', () => {
    expect(() =>
      buildEvidence({
        verb: 'x',
        startedAt: started,
        checks: [check({ id: 'a', status: 'warn', output: 'w' })],
      }),
    ).toThrow('without output and hint');
  });

  it('maps fail to <failure>, unknown to <error>, n/a to <skipped>, and escapes text into valid XML', () => {
    const xml = renderJunit(mixed());
    expect(xml).not.toContain('\u0007');
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(xml);
    const suite = parsed.testsuites.testsuite;
    expect([suite['@_tests'], suite['@_failures'], suite['@_errors'], suite['@_skipped']]).toEqual([
      '5',
      '1',
      '1',
      '1',
    ]);
    const byName = Object.fromEntries(suite.testcase.map((t: Record<string, unknown>) => [t['@_name'], t]));
    expect(byName['engine:heartbeat'].failure['@_message']).toBe(
      'heartbeat is 183s old <stale> & "quoted" — restart | check',
    );
    expect(byName['status:command'].error).toBeDefined();
    expect(byName['service:systemd'].skipped).toBeDefined();
    expect(suite['@_timestamp']).toBe('2026-11-24T07:52:00');
    // The strict Ant/windyroad shape: a bare <testsuites>, package and id on the suite, warnings in its system-out.
    expect(Object.keys(parsed.testsuites).filter((k) => k.startsWith('@_'))).toEqual([]);
    expect([suite['@_package'], suite['@_id']]).toEqual(['atl', '0']);
    expect(suite['system-out']).toContain('WARN host:disk: low disk');
    expect(byName['host:disk']).toEqual({
      '@_classname': 'atl.verify',
      '@_name': 'host:disk',
      '@_time': '0.000',
    });
    expect(suite['@_time']).toMatch(/^\d+\.\d{3}$/);
  });

  it('writes a Prometheus textfile a parser accepts, keeping the last success across a failing run', () => {
    using dir = tempDir();
    const pass = buildEvidence({
      verb: 'health-daily',
      startedAt: started,
      checks: [check({ id: 'decisions:window', status: 'pass', observed: 72, unit: 'count', output: 'ok' })],
    });
    const path = writePrometheusTextfile(dir.path, pass);
    expect(path).toEndWith('atl_health_daily.prom');
    const lastSuccess = Date.parse(pass.finished_at) / 1000;
    writePrometheusTextfile(dir.path, mixed());
    writePrometheusTextfile(dir.path, { ...mixed(), verb: 'health-daily' });
    const families = parsePrometheus(readFileSync(path, 'utf8'));
    const metric = (name: string) => families.find((f) => f.name === name)?.metrics[0];
    expect(Number(metric('atl_last_success_timestamp_seconds')?.value)).toBeCloseTo(lastSuccess, 3);
    expect(Number(metric('atl_exit_code')?.value)).toBe(2);
    expect(readdirSync(dir.path).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(renderPrometheus(mixed(), null)).not.toMatch(/\de[+-]?\d/);
    const promtool = Bun.which('promtool');
    if (!promtool) console.warn('promtool not installed (Debian package prometheus): textfile lint skipped');
    else {
      const lint = Bun.spawnSync([promtool, 'check', 'metrics'], { stdin: Buffer.from(readFileSync(path)) });
      expect(lint.stderr.toString() + lint.stdout.toString()).toBe('');
      expect(lint.exitCode).toBe(0);
    }
  });

  it('prints one Nagios line whose state matches the exit code, worst check first, with perfdata', () => {
    const line = renderNagios(mixed());
    expect(line.split('\n')).toHaveLength(1);
    expect(line).toStartWith('ATL VERIFY CRITICAL - engine:heartbeat: heartbeat is 183s old');
    expect(line).toContain("'engine:heartbeat'=183s;;120;;");
    expect(line).toContain("'host:disk'=1048576B;;;;");
    expect(line.split(' | ')).toHaveLength(2);
  });

  it('says "N OK, M skipped" when every check passes but some did not apply', () => {
    const e = buildEvidence({
      verb: 'verify',
      startedAt: started,
      checks: [
        check({ id: 'engine:process', status: 'pass', observed: 1, unit: 'count', output: 'one engine' }),
        check({ id: 'host:disk', status: 'pass', output: 'plenty' }),
        skippedCheck('service:systemd', 'systemd is not running on this host'),
      ],
    });
    expect(renderNagios(e)).toStartWith('ATL VERIFY OK - 2 OK, 1 skipped | ');
    const none = buildEvidence({
      verb: 'verify',
      startedAt: started,
      checks: [check({ id: 'a', status: 'pass', output: 'ok' })],
    });
    expect(renderNagios(none)).toBe('ATL VERIFY OK - 1 checks OK');
  });

  it("gives ssh-check perfdata: each stage's *_ms timings, in ms", () => {
    const e = buildEvidence({
      verb: 'ssh-check',
      startedAt: started,
      checks: [
        check({
          id: 'ssh:resolve',
          status: 'pass',
          output: 'resolved',
          observed: { addresses: ['10.0.0.5'] },
        }),
        check({
          id: 'ssh:tcp',
          status: 'pass',
          output: 'connected in 6 ms',
          observed: { address: '10.0.0.5', port: 22, connect_ms: 6 },
        }),
        check({
          id: 'ssh:remote-exec',
          status: 'pass',
          output: 'ran',
          observed: { exit: 0, elapsed_ms: 412.5 },
        }),
      ],
    });
    expect(renderNagios(e)).toBe(
      "ATL SSH_CHECK OK - 3 checks OK | 'ssh:tcp:connect'=6ms;;;; 'ssh:remote-exec:elapsed'=412.5ms;;;;",
    );
  });

  it('writes the evidence, JUnit and textfile from one object and returns its exit code', () => {
    using dir = tempDir();
    const out = emitEvidence({
      evidence: mixed(),
      flags: { junit: join(dir.path, 'j.xml'), 'prom-dir': join(dir.path, 'prom'), format: 'json' },
      reportsDir: join(dir.path, 'reports'),
      human: () => '',
    });
    expect(out.exitCode).toBe(2);
    expect(out.files.every((f) => existsSync(f))).toBe(true);
    expect(JSON.parse(out.stdout).exit_code).toBe(2);
    expect(() => resolveFormat({ json: true, format: 'nagios' })).toThrow('conflicts');
  });
});
