/**
 * B1's ceiling (bench/_decisions-alone.ts) claims to make `atl run`'s decisions with nothing
 * recorded; the README's "10× is out of reach" rests on it. The same candles through both must
 * give the same trades and the same actions, decision for decision counted.
 */
import { describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSyntheticCsv } from '../../core/market/bundled.ts';
import { atl, REPO, tempDir } from '../support/cli.ts';
import { countBy, readDecisions } from '../support/records.ts';

describe('the B1 ceiling harness', () => {
  it('decides as `atl run` does on the same replay: the same trades and actions', async () => {
    using dir = tempDir();
    const csv = join(dir.path, 'BTC_USDT-1m.csv');
    writeFileSync(csv, renderSyntheticCsv('BTC/USDT', '1m', 20_000, Date.UTC(2024, 0, 1)));
    const root = join(dir.path, 'root');
    const run = await atl([
      'run',
      '--replay-file',
      csv,
      '--symbols',
      'BTC/USDT',
      '--data-dir',
      root,
      '--json',
    ]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout) as { decisions: number; trades: number };
    const proc = Bun.spawnSync(
      [process.execPath, join(REPO, 'bench', '_decisions-alone.ts'), csv, join(dir.path, 'ceiling')],
      { env: { ...process.env, ATL_LOG_LEVEL: 'warn' }, stdout: 'pipe', stderr: 'pipe' },
    );
    expect(proc.exitCode).toBe(0);
    const ceiling = JSON.parse(proc.stdout.toString().trim().split('\n').at(-1)!) as {
      decisions: number;
      trades: number;
      actions: Record<string, number>;
    };
    expect(report.trades).toBeGreaterThan(0);
    expect({ decisions: ceiling.decisions, trades: ceiling.trades, actions: ceiling.actions }).toEqual({
      decisions: report.decisions,
      trades: report.trades,
      actions: countBy(readDecisions(root), (d) => d.action),
    });
  });
});
