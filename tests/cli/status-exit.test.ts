import { describe, expect, test } from 'bun:test';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
import {
  describeStorageFault,
  type StorageFault,
  storageFaultFromReason,
} from '../../core/fsx/storage-fault.ts';
import { atl, tempDir } from '../support/cli.ts';

const run = (root: string) => atl(['run', '--symbols', 'BTC/USDT', '--max-bars', '20', '--data-dir', root]);
const damageLedger = (root: string) => {
  const ledger = join(root, 'unified_trading', 'ledger.sqlite');
  for (const f of [`${ledger}-wal`, `${ledger}-shm`]) rmSync(f, { force: true });
  writeFileSync(ledger, 'this is not an SQLite database, it was overwritten by mistake\n'.repeat(50));
};

describe('atl status exits by what it found (0 fine, 2 halted, 3 nothing or damaged)', () => {
  test('an empty data root: exit 3, saying there is no engine state', async () => {
    using root = tempDir();
    const r = await atl(['status', '--data-dir', root.path]);
    expect(r.code).toBe(EXIT.unknown);
    expect(r.stdout).toContain('No engine state under');
  });

  test('after a run: exit 0; halted: exit 2 and says so, human and --json', async () => {
    using root = tempDir();
    expect((await run(root.path)).code).toBe(0);
    expect((await atl(['status', '--data-dir', root.path])).code).toBe(EXIT.pass);
    const stop = await atl(['emergency-stop', '--reason', 'drill', '--data-dir', root.path]);
    expect(stop.code).toBe(0);
    const human = await atl(['status', '--data-dir', root.path]);
    expect(human.code).toBe(EXIT.fail);
    expect(human.stdout).toContain('HALTED      drill');
    const json = await atl(['status', '--json', '--data-dir', root.path]);
    expect(json.code).toBe(EXIT.fail);
    expect(JSON.parse(json.stdout).halt).toMatchObject({ halted: true, reason: 'drill' });
    // halted outranks a damaged file
    damageLedger(root.path);
    expect((await atl(['status', '--data-dir', root.path])).code).toBe(EXIT.fail);
    expect(
      (await atl(['emergency-stop', '--clear', '--approver', 'alice', '--data-dir', root.path])).code,
    ).toBe(0);
    expect((await atl(['status', '--data-dir', root.path])).code).toBe(EXIT.unknown);
  });

  test('an unreadable ledger: exit 3 with one line naming it and what to do', async () => {
    using root = tempDir();
    expect((await run(root.path)).code).toBe(0);
    damageLedger(root.path);
    const r = await atl(['status', '--data-dir', root.path]);
    expect(r.code).toBe(EXIT.unknown);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('atl status:'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(
      `${join(root.path, 'unified_trading', 'ledger.sqlite')}: file is not a database`,
    );
    expect(lines[0]).toContain('restore it from a backup');
    expect(r.stdout).toContain('TRADING ENGINE STATUS'); // what can be read is still shown
  });
});

describe('atl status on an engine stopped by a storage fault exits 2 (down until the disk is fixed)', () => {
  // The heartbeat as the engine leaves it on a fault (core/engine/engine.ts: describeStorageFault);
  // tests/faults/disk.test.ts gets there with a real full tmpfs where the host lets it mount one.
  const stoppedOn = (root: string, fault: StorageFault) => {
    const file = join(root, 'rl', 'paper_live_heartbeat.json');
    const hb = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(
      file,
      JSON.stringify({ ...hb, status: 'stopped', status_reason: describeStorageFault(fault) }),
    );
  };

  test.each([
    ['full', 'ENOSPC', 'df -h'],
    ['readonly', 'EROFS', 'remount it read-write'],
    ['io', 'SQLITE_IOERR_WRITE', 'dmesg'],
  ] as const)(
    '%s (%s): exit 2, human and --json, one line with the cause and the fix',
    async (kind, code, fix) => {
      using root = tempDir();
      expect((await run(root.path)).code).toBe(0);
      const path = join(root.path, 'unified_trading', 'ledger.sqlite');
      stoppedOn(root.path, { kind, code, path });
      for (const flags of [[], ['--json']]) {
        const r = await atl(['status', ...flags, '--data-dir', root.path]);
        expect(r.code).toBe(EXIT.fail);
        const lines = r.stderr.split('\n').filter((l) => l.startsWith('atl status:'));
        expect(lines).toHaveLength(1);
        expect(lines[0]).toContain(`(${code})`);
        expect(lines[0]).toContain(path);
        expect(lines[0]).toContain(fix);
      }
    },
  );

  test('a clean stop is not a fault: exit 0', async () => {
    using root = tempDir();
    expect((await run(root.path)).code).toBe(0);
    const r = await atl(['status', '--json', '--data-dir', root.path]);
    expect(JSON.parse(r.stdout).heartbeat.status).toBe('stopped');
    expect(r.code).toBe(EXIT.pass);
  });

  test('the reason reads back as the fault it describes, for every kind', () => {
    for (const f of [
      { kind: 'full', code: 'ENOSPC', path: '/srv/atl/rl/shadow_decisions.jsonl' },
      { kind: 'readonly', code: 'SQLITE_READONLY_DBMOVED', path: '/d (x)/a b.json' },
      { kind: 'io', code: 'EIO', path: null },
    ] as StorageFault[])
      expect(storageFaultFromReason(describeStorageFault(f))).toEqual(f);
    expect(storageFaultFromReason('completed')).toBeNull();
    expect(storageFaultFromReason(null)).toBeNull();
  });
});
