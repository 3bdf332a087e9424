import { describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { requestStop } from '../../core/control/stop-request.ts';
import { dataPaths } from '../../core/paths.ts';
import { spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { opsScript } from './run-ops.ts';

const heartbeatOf = (path: string) => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as {
      status: string;
      status_reason: string | null;
      seq: number;
    };
  } catch {
    return null;
  }
};

/** A paced engine whose first tick is 30 s away, so only the stop request can end it quickly. */
function startPacedEngine(root: string) {
  return spawnAtl([
    'run',
    '--mode',
    'paper_synthetic',
    '--interval',
    '30',
    '--symbols',
    'BTC/USDT',
    '--data-dir',
    root,
  ]);
}

describe('the stop-request file (how Windows stops the engine without signals)', () => {
  it('ends a paced run like SIGTERM: tick finished, status stopped (stop_request), exit 0, file removed', async () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    const engine = startPacedEngine(dir.path);
    await waitFor(() => heartbeatOf(paths.heartbeat));
    const asked = performance.now();
    requestStop(paths, 'test');
    const code = await engine.exited;
    const tookMs = performance.now() - asked;
    expect(code).toBe(0);
    expect(tookMs).toBeLessThan(5000);
    expect(heartbeatOf(paths.heartbeat)).toMatchObject({ status: 'stopped', status_reason: 'stop_request' });
    expect(existsSync(paths.stopRequest)).toBe(false);
  }, 20_000);

  it('drops a request left over from before the engine started instead of stopping at once', async () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    mkdirSync(paths.logsDir, { recursive: true });
    writeFileSync(paths.stopRequest, '{}');
    const old = new Date(Date.now() - 60_000);
    utimesSync(paths.stopRequest, old, old);
    const engine = startPacedEngine(dir.path);
    await waitFor(() => heartbeatOf(paths.heartbeat));
    await Bun.sleep(1500);
    expect(engine.exitCode).toBeNull();
    expect(existsSync(paths.stopRequest)).toBe(false);
    engine.kill('SIGTERM');
    expect(await engine.exited).toBe(0);
    expect(heartbeatOf(paths.heartbeat)?.status_reason).toBe('signal');
  }, 20_000);

  it('is what `ops/windows.ts stop` uses: the engine stops cleanly and no task is ended', async () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    const engine = startPacedEngine(dir.path);
    await waitFor(() => heartbeatOf(paths.heartbeat));
    const r = await opsScript('windows.ts', ['stop', '--data-dir', dir.path, '--grace', '15']);
    expect(r.code).toBe(0);
    const result = r.json();
    expect(result.checks).toEqual([expect.objectContaining({ id: 'engine:stopped', status: 'pass' })]);
    expect(result.steps.some((s: { run?: string }) => s.run?.startsWith('schtasks'))).toBe(false);
    expect(await engine.exited).toBe(0);
    expect(heartbeatOf(paths.heartbeat)?.status_reason).toBe('stop_request');
  }, 30_000);
});
