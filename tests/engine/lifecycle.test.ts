import { describe, expect, it } from 'bun:test';
import { appendFileSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setHalt } from '../../core/control/halt.ts';
import { dataPaths } from '../../core/paths.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { chainBreaks, readDecisions, readHeartbeat } from '../support/records.ts';
import { runSnapshot, snapshotDiff } from '../support/resume.ts';

const paced = (root: string, extra: string[] = []) =>
  spawnAtl([
    'run',
    '--mode',
    'paper_synthetic',
    '--timeframe',
    '1m',
    '--interval',
    '0.3',
    '--symbols',
    'BTC/USDT,ETH/USDT',
    '--data-dir',
    root,
    ...extra,
  ]);

const running =
  (root: string, minSeq = 1) =>
  () => {
    const hb = readHeartbeat(root);
    return hb && hb.status === 'running' && hb.seq >= minSeq ? hb : null;
  };

describe('one engine per data root', () => {
  it('refuses a second run on the same data root with exit 2 naming the running pid, while status keeps working', async () => {
    using dir = tempDir();
    const engine = paced(dir.path);
    try {
      await waitFor(running(dir.path));
      const second = await atl(['run', '--mode', 'backtest', '--max-bars', '5', '--data-dir', dir.path]);
      expect(second.code).toBe(2);
      expect(second.stderr).toContain(`pid ${engine.pid}`);
      const status = await atl(['status', '--json', '--data-dir', dir.path]);
      expect(status.code).toBe(0);
      const view = JSON.parse(status.stdout);
      expect(view.engine.process).toBe('same');
      expect(view.heartbeat.pid).toBe(engine.pid);
      expect(view.engine.pidfile.pid).toBe(engine.pid);
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
    }
  });

  it('runs other modes side by side on other data roots', async () => {
    using a = tempDir();
    using b = tempDir();
    const engine = paced(a.path);
    try {
      await waitFor(running(a.path));
      const other = await atl(['run', '--max-bars', '10', '--data-dir', b.path]);
      expect(other.code).toBe(0);
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
    }
  });
});

describe('signals', () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    it(`${sig} finishes the current tick, writes status stopped, removes the pidfile and exits 0`, async () => {
      using dir = tempDir();
      const engine = paced(dir.path);
      await waitFor(running(dir.path, 2));
      engine.kill(sig);
      expect(await engine.exited).toBe(0);
      const hb = readHeartbeat(dir.path)!;
      expect(hb.status).toBe('stopped');
      expect(existsSync(join(dir.path, 'logs', 'engine.pid'))).toBe(false);
      const records = readDecisions(dir.path);
      expect(hb.total_decisions_session).toBe(records.length);
      expect(records.every((d) => d.data_mode === 'SYNTHETIC' && d.source.synthetic)).toBe(true);
      expect(chainBreaks(dir.path)).toEqual([]);
    });
  }
});

describe('crash safety', () => {
  it('after kill -9 mid-replay a new run starts over the stale pidfile and the log ends with every bar exactly once', async () => {
    using dir = tempDir();
    const args = [
      'run',
      '--mode',
      'backtest',
      '--symbols',
      'BTC/USDT',
      '--timeframe',
      '1m',
      '--data-dir',
      dir.path,
    ];
    const engine = spawnAtl(args);
    await waitFor(() => (readHeartbeat(dir.path)?.total_decisions_session ?? 0) > 2000, 30_000, 10);
    engine.kill('SIGKILL');
    await engine.exited;
    expect(existsSync(join(dir.path, 'logs', 'engine.pid'))).toBe(true); // left behind by the crash
    const resumed = await atl(args, { timeoutMs: 120_000 });
    expect(resumed.code).toBe(0);
    const records = readDecisions(dir.path); // throws on a torn or glued line
    const ids = records.map((d) => d.decision_id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(records.length).toBe(31 * 24 * 60); // every bundled 1m bar of BTC/USDT, once
    expect(chainBreaks(dir.path)).toEqual([]);
    // Decided and written exactly as a run that was never killed: the checkpoint carries every
    // piece of state, and the ledger, outcomes and advisor state agree row for row.
    using whole = tempDir();
    const uninterrupted = await atl(
      args.map((a) => (a === dir.path ? whole.path : a)),
      { timeoutMs: 120_000 },
    );
    expect(uninterrupted.code).toBe(0);
    expect(snapshotDiff(runSnapshot(dir.path), runSnapshot(whole.path))).toEqual([]);
  });

  it('moves a torn final line to a sidecar before appending, so no record is glued to it', async () => {
    using dir = tempDir();
    expect(
      (await atl(['run', '--max-bars', '30', '--symbols', 'BTC/USDT', '--data-dir', dir.path])).code,
    ).toBe(0);
    const log = dataPaths(dir.path).decisions;
    appendFileSync(log, '{"schema_version":"1.0.0","decision_id":"bt-BTCUSDT-1h-2026');
    const r = await atl(['run', '--max-bars', '30', '--symbols', 'BTC/USDT', '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('repaired');
    const records = readDecisions(dir.path);
    expect(records.length).toBe(60);
    expect(chainBreaks(dir.path)).toEqual([]);
    const sidecars = readdirSync(join(dir.path, 'rl')).filter((f) => f.includes('.torn-'));
    expect(sidecars.length).toBe(1);
    expect(readFileSync(join(dir.path, 'rl', sidecars[0]!), 'utf8')).toBe(
      '{"schema_version":"1.0.0","decision_id":"bt-BTCUSDT-1h-2026',
    );
  });
});

describe('emergency stop', () => {
  it('halts a running engine within one tick, flattens positions, and a restart refuses to trade until cleared', async () => {
    using dir = tempDir();
    const engine = paced(dir.path);
    await waitFor(running(dir.path, 3));
    const started = Date.now();
    const stop = await atl(['emergency-stop', '--reason', 'operator drill', '--data-dir', dir.path]);
    expect(stop.code).toBe(0);
    expect(await engine.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(readHeartbeat(dir.path)!.status).toBe('halted');
    const records = readDecisions(dir.path);
    const halts = records.filter((d) => d.blocked_stage === 'halt');
    expect(halts.map((d) => d.symbol).sort()).toEqual(['BTC/USDT', 'ETH/USDT']);
    expect(halts.every((d) => d.block_reason === 'halted:operator drill' && d.position === null)).toBe(true);
    const state = JSON.parse(readFileSync(dataPaths(dir.path).state, 'utf8'));
    expect(Object.keys(state.positions)).toEqual([]);
    const evidence = readdirSync(join(dir.path, 'reports', 'emergency-stop'));
    expect(evidence).toContain('latest.json');

    const oneTick = [
      'run',
      '--mode',
      'paper_synthetic',
      '--interval',
      '0.2',
      '--max-bars',
      '1',
      '--data-dir',
      dir.path,
    ];
    const refused = await atl(oneTick);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('trading is halted: operator drill');
    expect(refused.stderr).toContain('atl emergency-stop --clear --approver NAME');

    expect(
      (await atl(['emergency-stop', '--clear', '--approver', 'alice', '--data-dir', dir.path])).code,
    ).toBe(0);
    const again = await atl(oneTick);
    expect(again.code).toBe(0);
  });

  it('an engine sees a halt flag written without any signal at its next tick and exits 2', async () => {
    using dir = tempDir();
    const engine = paced(dir.path);
    await waitFor(running(dir.path, 2));
    setHalt(dataPaths(dir.path), { reason: 'daily loss limit', source: 'test' });
    expect(await engine.exited).toBe(2);
    const hb = readHeartbeat(dir.path)!;
    expect(hb.status).toBe('halted');
    expect(hb.status_reason).toBe('daily loss limit');
  });

  it('never signals a process that is not the engine', async () => {
    using dir = tempDir();
    const sleeper = Bun.spawn(['sleep', '30']);
    try {
      const paths = dataPaths(dir.path);
      const { readProcessStart, readBootId } = await import('../../core/control/process.ts');
      const { writeJsonAtomic } = await import('../../core/fsx/atomic.ts');
      writeJsonAtomic(paths.pidfile, {
        pid: sleeper.pid,
        process_start: readProcessStart(sleeper.pid),
        boot_id: readBootId(),
        host: 'h',
        mode: 'backtest',
        started_at: new Date().toISOString(),
        argv: ['run'],
      });
      const r = await atl(['emergency-stop', '--reason', 'drill', '--json', '--data-dir', dir.path]);
      expect(r.code).toBe(3);
      const evidence = JSON.parse(r.stdout);
      expect(evidence.exit_code).toBe(3);
      expect(evidence.checks.find((c: { id: string }) => c.id === 'engine:stopped').output).toContain(
        'cannot prove',
      );
      expect(sleeper.killed).toBe(false);
      expect(sleeper.exitCode).toBeNull();
    } finally {
      sleeper.kill();
    }
  });
});
