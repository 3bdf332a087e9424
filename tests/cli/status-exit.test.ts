import { describe, expect, test } from 'bun:test';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
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
