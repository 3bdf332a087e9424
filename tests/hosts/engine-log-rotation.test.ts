import { describe, expect, it } from 'bun:test';
import { closeSync, existsSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import {
  carryIntoEngineLog,
  EngineLogRotator,
  rotatedFiles,
  rotationPolicyFromEnv,
} from '../../core/logs/engine-log.ts';
import { MAIN, REPO, tempDir } from '../support/cli.ts';

/** The engine as systemd runs it: stdout and stderr appended (O_APPEND) to DATA/logs/engine.log. */
async function supervisedRun(root: string, env: Record<string, string>, redirect = '>>') {
  const log = join(root, 'logs', 'engine.log');
  const proc = Bun.spawn(
    [
      'sh',
      '-c',
      `mkdir -p "$(dirname "$LOG")" && exec "$0" "$@" ${redirect} "$LOG" 2>&1`,
      process.execPath,
      MAIN,
      'run',
      '--mode',
      'paper_synthetic',
      '--interval',
      '1',
      '--speed',
      '50',
      '--max-bars',
      '120',
      '--data-dir',
      root,
    ],
    { cwd: REPO, env: { ...process.env, ATL_LOG_LEVEL: 'info', LOG: log, ...env }, stdin: 'ignore' },
  );
  return { code: await proc.exited, log };
}

const tickOf = (line: string) => Number(/\[t\w+-(\d+)\]/.exec(line)?.[1] ?? Number.NaN);

describe('engine.log rotation through a supervised run', () => {
  it('keeps engine.log near its size limit and N old files, losing no line at the boundaries', async () => {
    using dir = tempDir();
    const r = await supervisedRun(dir.path, { ATL_ENGINE_LOG_MAX_BYTES: '4096', ATL_ENGINE_LOG_KEEP: '2' });
    expect(r.code).toBe(0);
    expect(rotatedFiles(r.log)).toEqual([`${r.log}.1`, `${r.log}.2`]);
    expect(existsSync(`${r.log}.3`)).toBe(false);
    // Checked between ticks: at most one tick (three symbols' lines) past the limit.
    for (const f of [r.log, `${r.log}.1`, `${r.log}.2`]) expect(statSync(f).size).toBeLessThan(4096 + 1024);
    const text = [`${r.log}.2`, `${r.log}.1`, r.log].map((f) => readFileSync(f, 'utf8')).join('');
    expect(text).not.toContain('\0'); // truncation never left a hole
    const lines = text.split('\n').filter(Boolean);
    expect(lines.filter((l) => l.includes('engine.log rotated')).length).toBeGreaterThanOrEqual(2);
    expect(readFileSync(r.log, 'utf8').split('\n')[0]).toContain(`moved to ${r.log}.1`);
    // Every tick from the oldest kept to the last has all three symbols' lines: nothing fell between files.
    const ticks = lines.map(tickOf).filter((n) => !Number.isNaN(n));
    const first = ticks[0]!;
    const last = ticks.at(-1)!;
    expect(last).toBeGreaterThan(first + 20);
    for (let t = first + 1; t < last; t++) expect(ticks.filter((n) => n === t)).toHaveLength(3);
  }, 60_000);

  it('leaves a log opened without append (>) alone, saying why once, rather than cutting a hole', async () => {
    using dir = tempDir();
    const r = await supervisedRun(dir.path, { ATL_ENGINE_LOG_MAX_BYTES: '4096' }, '>');
    expect(r.code).toBe(0);
    expect(rotatedFiles(r.log)).toEqual([]);
    const warned = readFileSync(r.log, 'utf8')
      .split('\n')
      .filter((l) => l.includes('not opened for append'));
    expect(warned).toHaveLength(1);
  }, 60_000);

  it('exits 78 on a bad ATL_ENGINE_LOG_MAX_BYTES, naming it', async () => {
    using dir = tempDir();
    const r = await supervisedRun(dir.path, { ATL_ENGINE_LOG_MAX_BYTES: '10MB' });
    expect(r.code).toBe(78);
    expect(readFileSync(r.log, 'utf8')).toContain('ATL_ENGINE_LOG_MAX_BYTES must be 0 (no rotation)');
  }, 60_000);
});

describe('the rotator', () => {
  it('repeats the carried lines (the turnover overrides verify reads) at the top of each new file', () => {
    using dir = tempDir();
    const path = join(dir.path, 'engine.log');
    const fd = openSync(path, 'a');
    try {
      carryIntoEngineLog('Paper-live turnover overrides: min_ratio=2.5 max_daily=6');
      writeSync(fd, `${'x'.repeat(99)}\n`.repeat(50));
      const rotator = new EngineLogRotator(path, { maxBytes: 4096, keep: 3 }, fd);
      expect(rotator.maybeRotate(new Date('2026-12-04T12:00:00Z'))).toEqual({
        rotatedBytes: 5000,
        to: `${path}.1`,
      });
      expect(readFileSync(`${path}.1`, 'utf8')).toBe(`${'x'.repeat(99)}\n`.repeat(50));
      const fresh = readFileSync(path, 'utf8').split('\n');
      expect(fresh[1]).toBe(
        '2026-12-04T12:00:00.000Z INFO (carried over) Paper-live turnover overrides: min_ratio=2.5 max_daily=6',
      );
      expect(rotator.maybeRotate()).toBeNull(); // under the limit now
    } finally {
      closeSync(fd);
    }
  });

  it('reads its policy from the environment: defaults, 0 for off, and a config error otherwise', () => {
    expect(rotationPolicyFromEnv({})).toEqual({ maxBytes: 10 * 1024 * 1024, keep: 5 });
    expect(rotationPolicyFromEnv({ ATL_ENGINE_LOG_MAX_BYTES: '0' }).maxBytes).toBe(0);
    expect(() => rotationPolicyFromEnv({ ATL_ENGINE_LOG_MAX_BYTES: '100' })).toThrow('≥ 4096');
    expect(() => rotationPolicyFromEnv({ ATL_ENGINE_LOG_KEEP: '0' })).toThrow('ATL_ENGINE_LOG_KEEP');
  });
});
