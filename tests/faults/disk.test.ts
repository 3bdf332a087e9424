import { describe, expect, test } from 'bun:test';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
import { writeJsonLastGasp } from '../../core/fsx/atomic.ts';
import { JsonlAppender } from '../../core/fsx/jsonl.ts';
import { storageFault } from '../../core/fsx/storage-fault.ts';
import { atl, tempDir } from '../support/cli.ts';
import { chainBreaks, readDecisions, readHeartbeat, readOutcomes } from '../support/records.ts';
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
    // Whichever of the engine's files the disk filled on: it is named, with its path.
    const named = /disk full: no space left writing (\S+) \(ENOSPC\)/.exec(lines[0] ?? '')?.[1];
    expect([decisionsFile(root), join(root, 'rl', 'decision_outcomes.jsonl')]).toContain(named!);
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

    // `atl status` on the stopped engine: not healthy (before: exit 0), the cause and the fix in one line.
    const status = await atl(['status', '--data-dir', root]);
    expect(status.code).toBe(EXIT.fail);
    expect(status.stdout).toContain('status stopped (disk full: no space left writing');
    const said = status.stderr.split('\n').filter((l) => l.startsWith('atl status:'));
    expect(said).toHaveLength(1);
    expect(said[0]).toContain(`disk full: no space left writing ${named} (ENOSPC)`);
    expect(said[0]).toContain(`df -h ${join(root, 'rl')}`);
    expect((await atl(['status', '--json', '--data-dir', root])).code).toBe(EXIT.fail);

    disk.resize('64m'); // the operator frees space
    const resumed = await atl([...RUN, '--max-bars', '20000', '--data-dir', root]);
    expect(resumed.code).toBe(0);
    expect((await atl(['status', '--data-dir', root])).code).toBe(EXIT.pass);
    if (named === decisionsFile(root)) expect(resumed.stdout).toContain('repaired    a torn final log line');
    expect(chainBreaks(root)).toEqual([]);
    // One record per bar, the same decisions as a run that never met a full disk.
    expect(readDecisions(root).map(keyOf)).toEqual(readDecisions(reference.path).map(keyOf));
    // And every outcome, complete, as the uninterrupted run wrote them.
    expect(readOutcomes(root)).toEqual(readOutcomes(reference.path));
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

describe.skipIf(!mount.ok)('writers on a full disk', () => {
  test('an appender that hit ENOSPC refuses from then on instead of writing its buffer twice', () => {
    using disk = new Tmpfs('64k');
    const path = join(disk.path, 'x.jsonl');
    const out = new JsonlAppender(path);
    out.open();
    for (let i = 0; i < 2_000; i++) out.push(JSON.stringify({ i, pad: 'y'.repeat(60) }));
    const first = (() => {
      try {
        out.flush();
      } catch (err) {
        return err as Error;
      }
      return null;
    })();
    expect(storageFault(first)).toEqual({ kind: 'full', code: 'ENOSPC', path });
    const size = statSync(path).size;
    expect(() => out.flush()).toThrow(first!);
    expect(statSync(path).size).toBe(size); // nothing glued or repeated after the torn line
    out.close(); // releases the descriptor without a second attempt
  });

  test('last words: a status file is rewritten in place when not even a temp file fits', () => {
    using disk = new Tmpfs('64k');
    const path = join(disk.path, 'hb.json');
    writeFileSync(path, JSON.stringify({ status: 'running', pad: 'z'.repeat(500) }));
    writeFileSync(join(disk.path, 'filler'), Buffer.alloc(0));
    try {
      writeFileSync(join(disk.path, 'filler'), Buffer.alloc(1 << 20));
    } catch {
      // the disk is full now
    }
    expect(writeJsonLastGasp(path, { status: 'stopped', status_reason: 'disk full' })).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ status: 'stopped', status_reason: 'disk full' });
  });
});
