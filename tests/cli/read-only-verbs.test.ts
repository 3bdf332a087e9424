/**
 * The verbs that only read a data root leave the engine's files as they found them: no `-wal`
 * or `-shm` beside the ledger (SQLite's read-only mode used to leave both after every
 * `atl status`), the ledger and the logs byte for byte the same, and they still read a root on a
 * read-only filesystem.
 */
import { describe, expect, test } from 'bun:test';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { LedgerProbe } from '../../core/api/ledger-probe.ts';
import { Ledger, openForReading } from '../../core/ledger/ledger.ts';
import { atl, MAIN, spawnAtl, tempDir, waitFor } from '../support/cli.ts';

/** Every file under the ledger's and the logs' folders, with its sha256. */
function engineFiles(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of ['unified_trading', 'rl']) {
    const walk = (dir: string) => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) walk(p);
        else out[relative(root, p)] = createHash('sha256').update(readFileSync(p)).digest('hex');
      }
    };
    walk(join(root, sub));
  }
  return out;
}

const READERS: string[][] = [
  ['status'],
  ['status', '--json'],
  ['trades', '--json'],
  ['audit', '--json'],
  ['check-transition', 'paper_live_data', '--json'],
  ['verify', '--json'],
  ['decisions', '--json'],
  ['health-daily', '--date', '2026-05-02'], // the bundled candles' last day
  ['report-weekly', '--week', '1', '--end', '2026-05-02'],
];

const readOnlyMounts = (() => {
  if (process.platform !== 'linux') return 'read-only bind mounts need Linux';
  const r = Bun.spawnSync(['unshare', '--mount', 'true'], { stderr: 'pipe' });
  return r.exitCode === 0
    ? null
    : `cannot create a mount namespace here (${r.stderr.toString().trim() || 'not root?'})`;
})();
if (readOnlyMounts)
  console.warn(`tests/cli/read-only-verbs.test.ts: read-only filesystem case skipped: ${readOnlyMounts}`);

describe('read-only verbs leave the engine’s files alone', () => {
  test('after a run: each reader leaves the ledger and the logs byte-identical, with no -wal or -shm', async () => {
    using root = tempDir();
    expect(
      (await atl(['run', '--symbols', 'BTC/USDT', '--max-bars', '30', '--data-dir', root.path])).code,
    ).toBe(0);
    const before = engineFiles(root.path);
    expect(Object.keys(before)).toContain(join('unified_trading', 'ledger.sqlite'));
    expect(Object.keys(before).filter((f) => /-(wal|shm)$/.test(f))).toEqual([]);
    for (const args of READERS) {
      const r = await atl([...args, '--data-dir', root.path]);
      expect(r.stderr).not.toContain('SQLiteError');
      // Each read the root and judged it (0 pass, 1 warn, 2 fail), none stopped short (3, 64).
      expect({ verb: args.join(' '), judged: r.code <= 2, files: engineFiles(root.path) }).toEqual({
        verb: args.join(' '),
        judged: true,
        files: before,
      });
    }
  });

  test('beside a running engine: status reads its commits and leaves its -wal to it; once it stops, nothing is left', async () => {
    using root = tempDir();
    const ledger = join(root.path, 'unified_trading', 'ledger.sqlite');
    const engine = spawnAtl([
      'run',
      '--mode',
      'paper_synthetic',
      '--interval',
      '0.2',
      '--symbols',
      'BTC/USDT',
      '--data-dir',
      root.path,
    ]);
    try {
      await waitFor(() => {
        try {
          return statSync(`${ledger}-wal`).size > 0;
        } catch {
          return false;
        }
      });
      const r = await atl(['status', '--json', '--data-dir', root.path]);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).engine).toBeTruthy();
      // The engine still has the database open: its -wal stays.
      expect(statSync(`${ledger}-wal`).isFile()).toBe(true);
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
    }
    expect((await atl(['status', '--data-dir', root.path])).code).toBe(0);
    expect(readdirSync(join(root.path, 'unified_trading')).filter((f) => /-(wal|shm)$/.test(f))).toEqual([]);
  });

  test('a reader holding the ledger across `run --fresh` leaves the new ledger and the archived one whole', async () => {
    using root = tempDir();
    const ledger = join(root.path, 'unified_trading', 'ledger.sqlite');
    const run = (...extra: string[]) =>
      atl(['run', '--symbols', 'BTC/USDT', '--max-bars', '30', '--data-dir', root.path, ...extra]);
    expect((await run()).code).toBe(0);
    const probe = new LedgerProbe(ledger); // as `atl serve` holds it
    try {
      expect(probe.read().kind).toBe('ok');
      // The archive moves the ledger with its -wal and -shm while the probe's connection is open.
      expect((await run('--fresh', '--max-bars', '40')).code).toBe(0);
      expect(probe.read().kind).toBe('ok'); // a new inode: the old connection closed, the new ledger opened
    } finally {
      probe.close();
    }
    const left = readdirSync(join(root.path, 'unified_trading')).filter((f) => /-(wal|shm)$/.test(f));
    expect(left).toEqual([]);
    const status = await atl(['status', '--json', '--data-dir', root.path]);
    expect(status.code).toBe(0);
    const archived = readdirSync(join(root.path, 'unified_trading', 'archive')).filter((f) =>
      f.endsWith('ledger.sqlite'),
    );
    expect(archived.length).toBe(1);
    const equityRows = (path: string) => {
      const db = openForReading(path);
      try {
        return (db.query('SELECT count(*) AS n FROM equity').get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    // Each ledger holds its own run's curve: nothing of one was checkpointed into, or deleted from, the other.
    expect(equityRows(ledger)).toBeGreaterThan(0);
    expect(equityRows(join(root.path, 'unified_trading', 'archive', archived[0]!))).toBeGreaterThan(0);
    expect(equityRows(ledger)).not.toBe(
      equityRows(join(root.path, 'unified_trading', 'archive', archived[0]!)),
    );
  });

  test('a snapshot reader sees one commit however many the engine makes meanwhile; the API probe sees each', () => {
    using root = tempDir();
    const path = join(root.path, 'ledger.sqlite');
    const writer = new Ledger(path);
    const row = (ts: number) => ({
      ts,
      equity: 10_000,
      cash: 10_000,
      positions_value: 0,
      drawdown_pct: 0,
      mode: 'backtest',
    });
    const count = (db: ReturnType<typeof openForReading>) =>
      (db.query('SELECT count(*) AS n FROM equity').get() as { n: number }).n;
    writer.equity(row(1));
    writer.commit();
    const snapshot = openForReading(path, { snapshot: true });
    const live = openForReading(path);
    try {
      expect([count(snapshot), count(live)]).toEqual([1, 1]);
      writer.equity(row(2));
      writer.commit();
      expect([count(snapshot), count(live)]).toEqual([1, 2]);
      expect(() => live.exec('DELETE FROM equity')).toThrow(/readonly/);
    } finally {
      snapshot.close();
      live.close();
      writer.close();
    }
    // The last to close (the writer, its statements finalized) takes the -wal and -shm with it.
    expect(readdirSync(root.path)).toEqual(['ledger.sqlite']);
  });

  test.skipIf(readOnlyMounts !== null)(
    'a data root on a read-only filesystem reads the same as a writable one',
    async () => {
      using root = tempDir();
      expect(
        (await atl(['run', '--symbols', 'BTC/USDT', '--max-bars', '30', '--data-dir', root.path])).code,
      ).toBe(0);
      const before = engineFiles(root.path);
      // (audit, check-transition and the reports write their evidence under reports/: not on a read-only root)
      for (const args of [['status'], ['trades', '--json'], ['decisions', '--json']]) {
        const writable = await atl([...args, '--data-dir', root.path]);
        const p = root.path;
        const ro = Bun.spawnSync(
          [
            'unshare',
            '--mount',
            'sh',
            '-c',
            `mount --bind "${p}" "${p}" && mount -o remount,ro,bind "${p}" "${p}" && exec "$0" "$@"`,
            process.execPath,
            MAIN,
            ...args,
            '--data-dir',
            p,
          ],
          { env: { ...process.env, ATL_LOG_LEVEL: 'warn' }, stdout: 'pipe', stderr: 'pipe' },
        );
        const seen = (code: number, stdout: string) => ({
          verb: args.join(' '),
          code,
          // status prints the heartbeat's age, which moves between the two reads
          stdout: args[0] === 'status' ? '' : stdout,
        });
        expect(seen(ro.exitCode, ro.stdout.toString())).toEqual(seen(writable.code, writable.stdout));
        expect(writable.code).toBe(0);
      }
      expect(engineFiles(root.path)).toEqual(before);
    },
  );
});
