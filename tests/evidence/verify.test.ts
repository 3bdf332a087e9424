import { afterEach, describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import parsePrometheus from 'parse-prometheus-text-format';
import { readBootId, readProcessStart } from '../../core/control/process.ts';
import { validate } from '../../core/schema/ajv.ts';
import { Evidence } from '../../core/schema/evidence.ts';
import { atl, MAIN, REPO, spawnAtl, tempDir, waitFor } from '../support/cli.ts';

type Proc = ReturnType<typeof Bun.spawn>;
const started: Proc[] = [];

afterEach(async () => {
  for (const p of started.splice(0)) {
    p.kill('SIGCONT');
    p.kill('SIGKILL');
    await p.exited;
  }
});

function readJson(path: string): Record<string, unknown> {
  return JSON.parse(readFileSync(path, 'utf8'));
}

/** A paced paper_synthetic engine on `dir`, returned once it has completed a tick. */
async function startEngine(dir: string): Promise<Proc> {
  const proc = spawnAtl(['run', '--mode', 'paper_synthetic', '--interval', '1', '--data-dir', dir], {
    env: { ATL_LOG_LEVEL: 'warn' },
  });
  started.push(proc);
  const hb = join(dir, 'rl', 'paper_live_heartbeat.json');
  await waitFor(() => {
    if (proc.exitCode !== null) throw new Error(`engine exited ${proc.exitCode} before its first tick`);
    if (!existsSync(hb)) return false;
    try {
      const v = readJson(hb);
      return v.pid === proc.pid && (v.seq as number) >= 1;
    } catch {
      return false;
    }
  });
  return proc;
}

/** Run verify with --json; assert the envelope is valid and its exit_code is the process exit code. */
async function verify(dir: string, extra: string[] = [], env: Record<string, string> = {}) {
  const r = await atl(['verify', '--data-dir', dir, '--json', '--progress-wait', '5', ...extra], { env });
  const evidence = JSON.parse(r.stdout) as Evidence;
  expect(validate(Evidence, evidence).ok).toBe(true);
  expect(evidence.exit_code).toBe(r.code);
  for (const c of evidence.checks) if (c.status !== 'pass') expect(c.hint?.length ?? 0).toBeGreaterThan(0);
  const byId = Object.fromEntries(evidence.checks.map((c) => [c.id, c]));
  return { ...r, evidence, byId };
}

describe('atl verify against real processes', () => {
  it('passes (exit 0) while one paced engine runs on the data root', async () => {
    using dir = tempDir();
    await startEngine(dir.path);
    const { code, byId } = await verify(dir.path);
    expect(code).toBe(0);
    expect(byId['engine:process']!.observed).toBe(1);
    expect(byId['engine:progress']!.status).toBe('pass');
    expect(byId['service:systemd']!.status).toBe('pass');
  }, 30_000);

  it('exits 2 when the pidfile names an unrelated live process (a sleep), and never calls it the engine', async () => {
    using dir = tempDir();
    await startEngine(dir.path);
    const sleeper = Bun.spawn(['sleep', '60']);
    started.push(sleeper);
    const pidfile = join(dir.path, 'logs', 'engine.pid');
    // A forged pidfile with the sleeper's true identity: only the command line gives it away.
    const pf = readJson(pidfile);
    writeFileSync(
      pidfile,
      JSON.stringify({
        ...pf,
        pid: sleeper.pid,
        process_start: readProcessStart(sleeper.pid),
        boot_id: readBootId(),
      }),
    );
    const forged = await verify(dir.path);
    expect(forged.code).toBe(2);
    expect(forged.byId['engine:pidfile']!.status).toBe('fail');
    expect(forged.byId['engine:pidfile']!.output).toContain('not an engine');
    expect(forged.byId['engine:pid-parity']!.status).toBe('fail');
    // The same pid with a start time that is not its own: a reused pid.
    writeFileSync(
      pidfile,
      JSON.stringify({ ...pf, pid: sleeper.pid, process_start: '1', boot_id: readBootId() }),
    );
    const reused = await verify(dir.path);
    expect(reused.code).toBe(2);
    expect(reused.byId['engine:pidfile']!.output).toContain('pid was reused');
    expect(sleeper.killed).toBe(false);
  }, 30_000);

  it('on a stopped engine names one cause with one fix; the engine gates it explains point at it', async () => {
    using dir = tempDir();
    expect(
      (await atl(['run', '--symbols', 'BTC/USDT', '--max-bars', '120', '--data-dir', dir.path])).code,
    ).toBe(0);
    const r = await atl(['verify', '--data-dir', dir.path, '--progress-wait', '1']);
    expect(r.code).toBe(2);
    const failing = r.stdout.split('\n').filter((l) => l.includes('[FAIL') && l.includes('engine:'));
    const fixes = failing.filter((l) => l.includes('`npx atl run'));
    expect(fixes).toHaveLength(1); // before: five identical "start the engine" hints
    expect(fixes[0]).toContain('engine:process');
    for (const l of failing.filter((x) => !x.includes('engine:process')))
      expect(l).toContain('see engine:process');
  }, 30_000);

  it('exits 2 on a stale heartbeat when the engine is SIGSTOPped, naming it stalled rather than dead', async () => {
    using dir = tempDir();
    const engine = await startEngine(dir.path);
    engine.kill('SIGSTOP');
    await Bun.sleep(2500);
    const { code, byId } = await verify(dir.path, ['--progress-wait', '2'], {
      HEARTBEAT_MAX_AGE_SECONDS: '2',
    });
    expect(code).toBe(2);
    expect(byId['engine:heartbeat']!.status).toBe('fail');
    expect(byId['engine:heartbeat']!.output).toContain('stopped (SIGSTOP)');
    expect(byId['engine:progress']!.status).toBe('fail');
    expect(byId['engine:process']!.status).toBe('pass');
  }, 30_000);

  it('exits 2 and calls a heartbeat dated an hour ahead clock skew', async () => {
    using dir = tempDir();
    const engine = await startEngine(dir.path);
    engine.kill('SIGSTOP'); // frozen, so it cannot overwrite the heartbeat under test
    const hbPath = join(dir.path, 'rl', 'paper_live_heartbeat.json');
    const hb = readJson(hbPath);
    writeFileSync(hbPath, JSON.stringify({ ...hb, ts: new Date(Date.now() + 3_600_000).toISOString() }));
    const { code, byId } = await verify(dir.path, ['--progress-wait', '0']);
    expect(code).toBe(2);
    expect(byId['engine:heartbeat']!.status).toBe('fail');
    expect(byId['engine:heartbeat']!.output).toContain('clock skew');
  }, 30_000);

  it('exits 2 when two engines run on one data root (its lock file was deleted under the first)', async () => {
    using dir = tempDir();
    const first = await startEngine(dir.path);
    rmSync(join(dir.path, 'logs', 'engine.lock'));
    const second = await startEngine(dir.path);
    const { code, byId, evidence } = await verify(dir.path);
    expect(code).toBe(2);
    expect(byId['engine:process']!.observed).toBe(2);
    expect((evidence.details!.engines_on_root as number[]).sort()).toEqual([first.pid, second.pid].sort());
  }, 40_000);

  it('finds the turnover-override line of a paper_live_data engine in logs/engine.log, and fails without it', async () => {
    using dir = tempDir();
    const logPath = join(dir.path, 'logs', 'engine.log');
    mkdirSync(join(dir.path, 'logs'), { recursive: true });
    // As the ops scripts run it: stderr appended to logs/engine.log; the exchange is unreachable on purpose.
    const engine = Bun.spawn(
      [
        process.execPath,
        MAIN,
        'run',
        '--mode',
        'paper_live_data',
        '--exchange-url',
        'http://127.0.0.1:9',
        '--data-dir',
        dir.path,
      ],
      {
        cwd: REPO,
        env: {
          ...process.env,
          ATL_LOG_LEVEL: 'info',
          PAPER_LIVE_TURNOVER_MIN_RATIO: '2.5',
          PAPER_LIVE_TURNOVER_MAX_DAILY: '7',
        },
        stdout: 'ignore',
        stderr: Bun.file(logPath),
      },
    );
    started.push(engine);
    await waitFor(
      () =>
        existsSync(join(dir.path, 'rl', 'paper_live_heartbeat.json')) &&
        readFileSync(logPath, 'utf8').includes('turnover overrides'),
    );
    const found = await verify(dir.path, ['--progress-wait', '0']);
    expect(found.byId['engine:turnover-overrides']!.status).toBe('pass');
    expect(found.byId['engine:turnover-overrides']!.output).toContain('min_ratio=2.5 max_daily=7');
    expect(found.byId['exchange:reachability']!.skipped).toBeUndefined();
    writeFileSync(logPath, '');
    const missing = await verify(dir.path, ['--progress-wait', '0']);
    expect(missing.code).toBe(2);
    expect(missing.byId['engine:turnover-overrides']!.status).toBe('fail');
  }, 40_000);

  it('counts an engine by the data root it runs on, whether named by ATL_HOME or a --data-dir relative to its cwd', async () => {
    using dir = tempDir();
    const byEnv = join(dir.path, 'by-env');
    const byFlag = join(dir.path, 'by-flag');
    for (const [args, env] of [
      [['run', '--mode', 'paper_synthetic', '--interval', '1'], { ATL_HOME: byEnv }],
      [['run', '--mode', 'paper_synthetic', '--interval', '1', '--data-dir', 'by-flag'], {}],
    ] as const) {
      const p = Bun.spawn([process.execPath, MAIN, ...args], {
        cwd: dir.path,
        env: { ...process.env, ATL_LOG_LEVEL: 'warn', ...env },
        stdout: 'ignore',
        stderr: 'ignore',
      });
      started.push(p);
    }
    for (const root of [byEnv, byFlag]) {
      await waitFor(() => existsSync(join(root, 'rl', 'paper_live_heartbeat.json')));
      const { byId } = await verify(root, ['--progress-wait', '0']);
      expect(byId['engine:process']!.observed).toBe(1);
      expect(byId['engine:pidfile']!.status).toBe('pass');
    }
  }, 40_000);

  it('retries for --retry-timeout, lists every attempt, and exits 3 when the gates never pass', async () => {
    using dir = tempDir();
    const { code, evidence, byId } = await verify(dir.path, ['--retry-timeout', '1', '--sleep', '0.3']);
    expect(code).toBe(3);
    expect((evidence.details!.attempts as unknown[]).length).toBeGreaterThanOrEqual(2);
    expect(byId['verify:retry']!.status).toBe('unknown');
    expect(byId['engine:process']!.status).toBe('fail');
  }, 30_000);

  it('writes JUnit with <failure> per failed gate, a Prometheus textfile and a one-line Nagios status that agree with the exit code', async () => {
    using dir = tempDir();
    const junit = join(dir.path, 'out', 'verify.xml');
    const prom = join(dir.path, 'prom');
    const r = await atl([
      'verify',
      '--data-dir',
      dir.path,
      '--format',
      'nagios',
      '--junit',
      junit,
      '--prom-dir',
      prom,
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toStartWith('ATL VERIFY CRITICAL - engine:');
    const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(junit, 'utf8'));
    const suite = xml.testsuites.testsuite;
    const failing = suite.testcase.filter((t: Record<string, unknown>) => t.failure);
    expect(Number(suite['@_failures'])).toBe(failing.length);
    expect(failing.map((t: Record<string, string>) => t['@_name'])).toContain('engine:heartbeat');
    const families = parsePrometheus(readFileSync(join(prom, 'atl_verify.prom'), 'utf8'));
    const exit = families.find((f: { name: string }) => f.name === 'atl_exit_code');
    expect(Number(exit?.metrics[0]?.value)).toBe(2);
    expect(
      families.find((f: { name: string }) => f.name === 'atl_last_success_timestamp_seconds'),
    ).toBeUndefined();
  }, 30_000);

  it('rejects bad flags with 64 and a bad HEARTBEAT_MAX_AGE_SECONDS with 78, one line each', async () => {
    using dir = tempDir();
    for (const args of [
      ['--retry-timeout', 'abc'],
      ['--format', 'xml'],
      ['--json', '--format', 'nagios'],
      ['--retry-tiemout', '3'],
    ]) {
      const r = await atl(['verify', '--data-dir', dir.path, ...args]);
      expect(r.code).toBe(64);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const bad = await atl(['verify', '--data-dir', dir.path], { env: { HEARTBEAT_MAX_AGE_SECONDS: 'soon' } });
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('HEARTBEAT_MAX_AGE_SECONDS');
  }, 30_000);
});
