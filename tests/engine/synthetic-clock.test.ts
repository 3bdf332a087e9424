import { describe, expect, it } from 'bun:test';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyntheticFeed } from '../../core/engine/feeds.ts';
import { servedTimeframe } from '../../core/models/registry.ts';
import { BUNDLED_MODELS_DIR } from '../../core/paths.ts';
import { atl, tempDir } from '../support/cli.ts';
import { readDecisions } from '../support/records.ts';

const H = 3_600_000;

describe('paper_synthetic time and timeframe', () => {
  it('never dates a bar after the wall clock: a fast run starts in the past and stops at now', async () => {
    const now = Date.now();
    // A 1h bar every millisecond, three bars of lead: those three come at once, the fourth waits for its close.
    const feed = new SyntheticFeed(['BTC/USDT'], '1h', H, 1, 5, 7, {}, now, 3);
    const warm = await feed.warmup();
    expect(warm.at(-1)!.closeTs).toBeLessThanOrEqual(now - 3 * H);
    const never = new AbortController();
    for (let i = 0; i < 3; i++) {
      const [tick] = (await feed.next(1, never.signal))!;
      expect(tick!.closeTs).toBeLessThanOrEqual(now);
    }
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(), 100);
    const started = performance.now();
    expect(await feed.next(1, waiting.signal)).toEqual([]); // still waiting for 1h bar to close when aborted
    expect(performance.now() - started).toBeGreaterThanOrEqual(90);
  });

  it('with --speed, decides the bundled models’ timeframe (1h) with bars that closed before each record was written', async () => {
    using dir = tempDir();
    const r = await atl([
      'run',
      '--mode',
      'paper_synthetic',
      '--speed',
      '360000',
      '--max-bars',
      '12',
      '--data-dir',
      dir.path,
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('BTC/USDT, ETH/USDT, SOL/USDT 1h');
    const records = readDecisions(dir.path);
    expect(records.length).toBe(36);
    for (const rec of records) {
      expect(rec.timeframe).toBe('1h');
      expect(Date.parse(rec.bar_ts)).toBeLessThanOrEqual(Date.parse(rec.ts));
      // The bundled models decide, not the technical fallback.
      expect(rec.model_trace.some((m) => m.status === 'used')).toBe(true);
    }
    // 12 bars ending with the last whole hour: the run covered the last 12 hours, not the next 12.
    const last = Math.max(...records.map((rec) => Date.parse(rec.bar_ts)));
    expect(Date.now() - last).toBeLessThan(2 * H);
  });

  it('takes the default timeframe from the manifests of the models the run uses', () => {
    expect(servedTimeframe(BUNDLED_MODELS_DIR, ['BTC/USDT', 'ETH/USDT', 'SOL/USDT'])).toBe('1h');
    using dir = tempDir();
    const models = join(dir.path, 'models');
    mkdirSync(models);
    expect(servedTimeframe(models, ['BTC/USDT'])).toBeNull();
    const bundled = JSON.parse(
      readFileSync(join(BUNDLED_MODELS_DIR, 'BTC_USDT-1h-logreg.manifest.json'), 'utf8'),
    );
    const manifest = (id: string, fields: Record<string, unknown>) =>
      writeFileSync(
        join(models, `${id}.manifest.json`),
        JSON.stringify({ ...bundled, model_id: id, ...fields }),
      );
    manifest('a', { timeframe: '15m' });
    manifest('b', { timeframe: '15m' });
    manifest('c', { timeframe: '1h' });
    manifest('d', { timeframe: '4h', symbol: 'ETH/USDT' }); // another symbol
    manifest('e', { timeframe: '4h', features: 'torn' }); // invalid: ignored
    expect(servedTimeframe(models, ['BTC/USDT'])).toBe('15m');
    expect(servedTimeframe(models, ['ETH/USDT'])).toBe('4h');
    expect(servedTimeframe(join(dir.path, 'absent'), ['BTC/USDT'])).toBeNull();
  });
});
