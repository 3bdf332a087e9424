import { afterEach, describe, expect, it } from 'bun:test';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { readCandleTape } from '../../core/engine/candle-tape.ts';
import { BUNDLED_MODELS_DIR } from '../../core/paths.ts';
import type { ModelManifest } from '../../core/schema/model-manifest.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { FakeBinance } from '../support/fake-binance.ts';
import { readDecisions } from '../support/records.ts';

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

const LIVE = ['run', '--mode', 'paper_live_data', '--timeframe', '1s', '--interval', '1'];
const tapeOf = (root: string) => join(root, 'rl', 'candle_tape.jsonl');
const sha = (path: string) => new Bun.CryptoHasher('sha256').update(readFileSync(path)).digest('hex');

/**
 * Two of the bundled BTC networks, relabelled to serve 1s candles so a fast live run consults
 * them; `swapped` puts ETH's MLP network in the MLP slot (a consistent manifest, another sha256).
 */
function writeModels(dir: string, swapped = false): void {
  mkdirSync(dir, { recursive: true });
  for (const kind of ['logreg', 'mlp']) {
    const m = JSON.parse(
      readFileSync(join(BUNDLED_MODELS_DIR, `BTC_USDT-1h-${kind}.manifest.json`), 'utf8'),
    ) as ModelManifest;
    const from = swapped && kind === 'mlp' ? 'ETH' : 'BTC';
    const bytes = readFileSync(join(BUNDLED_MODELS_DIR, `${from}_USDT-1h-${kind}.onnx`));
    const id = `BTC_USDT-1s-${kind}`;
    Object.assign(m, { model_id: id, timeframe: '1s', onnx_file: `${id}.onnx` });
    m.onnx_sha256 = new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
    writeFileSync(join(dir, `${id}.onnx`), bytes);
    writeFileSync(join(dir, `${id}.manifest.json`), JSON.stringify(m, null, 2));
  }
}

describe('atl parity: a live run replayed from its candle tape', () => {
  it('exits 0 for a paper_live_data run on the loopback exchange, names what it excluded, and leaves the data root as it was', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const run = await atl([...LIVE, '--max-bars', '4', '--exchange-url', fake.url, '--data-dir', dir.path]);
    expect(run.code).toBe(0);
    const tape = readCandleTape(tapeOf(dir.path));
    expect(tape.segments).toHaveLength(1);
    expect(tape.segments[0]!.header.mode).toBe('paper_live_data');
    expect(tape.segments[0]!.warmup.length).toBeGreaterThan(3 * 50); // the start-up history, all three symbols
    expect(tape.segments[0]!.ticks).toHaveLength(4);
    const before = ['rl/shadow_decisions.jsonl', 'rl/candle_tape.jsonl', 'unified_trading/ledger.sqlite'].map(
      (f) => sha(join(dir.path, f)),
    );

    const r = await atl(['parity', '--json', '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    const e = JSON.parse(r.stdout);
    expect(e.verb).toBe('parity');
    expect(e.exit_code).toBe(0);
    expect(e.details.compared).toMatchObject({ live: 12, replay: 12, identical: 12, diverged: 0 });
    const excluded = e.details.excluded.map((x: { field: string }) => x.field);
    for (const f of ['ts', 'data_mode', 'correlation_id', 'market.data_age_s', 'decision_id (mode tag)'])
      expect(excluded).toContain(f);
    expect(
      ['rl/shadow_decisions.jsonl', 'rl/candle_tape.jsonl', 'unified_trading/ledger.sqlite'].map((f) =>
        sha(join(dir.path, f)),
      ),
    ).toEqual(before);
    const human = await atl(['parity', '--data-dir', dir.path]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('IDENTICAL');
  }, 60_000);

  it('exits 2 naming the models stage first when a model file changed between capture and replay', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const models = join(dir.path, 'models');
    const root = join(dir.path, 'root');
    writeModels(models);
    const args = [...LIVE, '--max-bars', '3', '--symbols', 'BTC/USDT', '--models-dir', models];
    expect((await atl([...args, '--exchange-url', fake.url, '--data-dir', root])).code).toBe(0);
    expect(readDecisions(root).every((d) => d.model_trace.some((m) => m.status === 'used'))).toBe(true);
    expect((await atl(['parity', '--data-dir', root])).code).toBe(0);

    writeModels(models, true);
    const r = await atl(['parity', '--json', '--data-dir', root]);
    expect(r.code).toBe(2);
    const e = JSON.parse(r.stdout);
    expect(e.checks.find((c: { id: string }) => c.id === 'config').status).toBe('fail');
    const first = e.details.differences[0];
    expect(first.first_stage).toBe('models');
    expect(first.decision_id).toBe(readDecisions(root)[0]!.decision_id);
    const mlp = (t: Array<{ model_id: string; sha256: string }>) =>
      t.find((m) => m.model_id === 'BTC_USDT-1s-mlp')!;
    expect(mlp(first.live).sha256).not.toBe(mlp(first.replay).sha256);
    expect(e.details.first_stage_counts).toEqual({ models: 3 });
    const human = await atl(['parity', '--data-dir', root]);
    expect(human.code).toBe(2);
    expect(human.stdout).toMatch(/DIVERGED[\s\S]*first differences[\s\S]*BTC\/USDT\s+\S+\s+models/);
  }, 60_000);

  it('keeps the tape valid across a kill -9 and a resume (torn tail repaired), and the resumed run still replays identically', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const symbols = ['--symbols', 'BTC/USDT,ETH/USDT', '--exchange-url', fake.url, '--data-dir', dir.path];
    const proc = spawnAtl([...LIVE, ...symbols]);
    await waitFor(() => existsSync(tapeOf(dir.path)) && readDecisions(dir.path).length >= 6, 30_000);
    proc.kill('SIGKILL');
    await proc.exited;
    appendFileSync(tapeOf(dir.path), '{"k":"t","t":17'); // a write the kill cut short
    await Bun.sleep(1_500); // candles close while no engine runs
    expect((await atl([...LIVE, '--max-bars', '3', ...symbols])).code).toBe(0);
    const sidecars = readdirSync(join(dir.path, 'rl')).filter((f) => f.startsWith('candle_tape.jsonl.torn-'));
    expect(sidecars).toHaveLength(1);
    const tape = readCandleTape(tapeOf(dir.path));
    expect(tape.tornTail).toBeNull();
    expect(tape.segments.map((s) => s.header.resumed)).toEqual([false, true]);

    const r = await atl(['parity', '--json', '--data-dir', dir.path]);
    const e = JSON.parse(r.stdout);
    expect(e.details.differences).toEqual([]);
    expect(r.code).toBe(0);
    expect(e.details.compared.live).toBe(readDecisions(dir.path).length);
  }, 60_000);

  it('exits 3 without a tape or with a corrupt one, 64 on a bad flag, and --fresh archives the tape', async () => {
    using dir = tempDir();
    const none = await atl(['parity', '--data-dir', dir.path]);
    expect(none.code).toBe(3);
    expect(none.stdout).toMatch(/candle tape .* does not exist/);
    fake = new FakeBinance();
    const run = [
      ...LIVE,
      '--max-bars',
      '1',
      '--symbols',
      'SOL/USDT',
      '--exchange-url',
      fake.url,
      '--data-dir',
      dir.path,
    ];
    expect((await atl(run)).code).toBe(0);
    const lines = readFileSync(tapeOf(dir.path), 'utf8').split('\n');
    lines[1] = lines[1]!.replace('"k":"w"', '"k":"x"');
    writeFileSync(tapeOf(dir.path), lines.join('\n'));
    const corrupt = await atl(['parity', '--json', '--data-dir', dir.path]);
    expect(corrupt.code).toBe(3);
    expect(JSON.parse(corrupt.stdout).checks[0].output).toMatch(/line 2 is not a tape line/);
    expect((await atl(['parity', '--max-differences', '0', '--data-dir', dir.path])).code).toBe(64);
    expect((await atl(['parity', '--scratch-dir', join(dir.path, 'x'), '--data-dir', dir.path])).code).toBe(
      64,
    );

    expect((await atl([...run, '--fresh'])).code).toBe(0);
    expect(readdirSync(join(dir.path, 'rl', 'archive')).some((f) => f.endsWith('.candle_tape.jsonl'))).toBe(
      true,
    );
    expect((await atl(['parity', '--data-dir', dir.path])).code).toBe(0);

    // A tape that begins with a resumed run misses the decisions before it: not judged.
    rmSync(tapeOf(dir.path));
    expect((await atl(run)).code).toBe(0);
    const resumed = await atl(['parity', '--json', '--data-dir', dir.path]);
    expect(resumed.code).toBe(3);
    expect(JSON.parse(resumed.stdout).checks[0].output).toMatch(/starts with a resumed run/);
  }, 60_000);
});
