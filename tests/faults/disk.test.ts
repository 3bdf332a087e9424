import { describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
import { atl, tempDir } from '../support/cli.ts';
import { chainBreaks, readDecisions, readHeartbeat } from '../support/records.ts';
import { probeMount, Tmpfs } from './_mount.ts';

// A real full disk and a real read-only mount (tmpfs), so the errno comes from the kernel.
const mount = probeMount();
if (!mount.ok) console.warn(`tests/faults/disk.test.ts skipped: ${mount.reason}`);

const RUN = ['run', '--mode', 'backtest', '--symbols', 'BTC/USDT', '--timeframe', '1h'];
const decisionsFile = (root: string) => join(root, 'rl', 'shadow_decisions.jsonl');
const keyOf = (d: { symbol: string; bar_ts: string; action: string }) =>
  `${d.symbol} ${d.bar_ts} ${d.action}`;

describe.skipIf(!mount.ok)('storage faults stop the engine with one clear line', () => {
  test('full disk: exit 3 naming the disk, heartbeat says so, acknowledged records kept, resume completes', async () => {
    using reference = tempDir();
    const full = await atl([...RUN, '--max-bars', '20000', '--data-dir', reference.path]);
    expect(full.code).toBe(0);

    using disk = new Tmpfs('3m');
    const root = join(disk.path, 'd');
    // 300 bars fit and are acknowledged; the rest of the replay then fills the disk.
    expect((await atl([...RUN, '--max-bars', '300', '--data-dir', root])).code).toBe(0);
    const acknowledged = readFileSync(decisionsFile(root));
    const started = performance.now();
    const r = await atl([...RUN, '--max-bars', '20000', '--data-dir', root], { timeoutMs: 30_000 });
    const tookMs = performance.now() - started;
    expect(r.code).toBe(EXIT.unknown); // before: no exit at all (killed by the timeout)
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('atl run:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`disk full: no space left writing ${decisionsFile(root)} (ENOSPC)`);
    expect(lines[0]).toContain('df -h');
    expect(r.stderr).not.toContain('    at '); // no stack trace
    expect(tookMs).toBeLessThan(30_000);
    const hb = readHeartbeat(root)!;
    expect(hb.status).toBe('stopped');
    expect(hb.status_reason).toContain('disk full');
    // What the first run acknowledged is still the file's head, byte for byte.
    expect(readFileSync(decisionsFile(root)).subarray(0, acknowledged.length).equals(acknowledged)).toBe(
      true,
    );

    disk.resize('64m'); // the operator frees space
    const resumed = await atl([...RUN, '--max-bars', '20000', '--data-dir', root]);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toContain('repaired    a torn final log line');
    expect(chainBreaks(root)).toEqual([]);
    // One record per bar, the same decisions as a run that never met a full disk.
    expect(readDecisions(root).map(keyOf)).toEqual(readDecisions(reference.path).map(keyOf));
  });

  test('read-only filesystem: exit 3 with what to do, not a raw EROFS', async () => {
    using disk = new Tmpfs('16m');
    const root = join(disk.path, 'd');
    expect((await atl([...RUN, '--max-bars', '50', '--data-dir', root])).code).toBe(0);
    const before = readFileSync(decisionsFile(root));
    // Only rl/ is read-only: the lock is taken, then the first rl/ file opened for writing fails.
    const undo = disk.readOnly(join(root, 'rl'));
    try {
      const r = await atl([...RUN, '--max-bars', '100', '--data-dir', root], { timeoutMs: 30_000 });
      expect(r.code).toBe(EXIT.unknown);
      expect(r.stderr).toMatch(
        new RegExp(
          `read-only filesystem: cannot write ${join(root, 'rl')}/(shadow_decisions|decision_outcomes)\\.jsonl \\(EROFS\\)`,
        ),
      );
      expect(r.stderr).toContain('remount it read-write');
      expect(r.stderr).not.toContain('    at ');
    } finally {
      undo();
    }
    // The whole data root read-only: refused at the lock, same kind of line.
    const undoAll = disk.readOnly(root);
    try {
      const r = await atl([...RUN, '--max-bars', '100', '--data-dir', root], { timeoutMs: 30_000 });
      expect(r.code).toBe(EXIT.unknown);
      expect(r.stderr).toMatch(/read-only filesystem: cannot write \S+engine\.lock \(EROFS\)/);
    } finally {
      undoAll();
    }
    expect(readFileSync(decisionsFile(root)).equals(before)).toBe(true);
    mkdirSync(join(root, 'rl'), { recursive: true });
    expect((await atl([...RUN, '--max-bars', '100', '--data-dir', root])).code).toBe(0);
  });
});
