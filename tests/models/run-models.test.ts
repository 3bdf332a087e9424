import { describe, expect, it } from 'bun:test';
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_COUNT, FEATURE_NAMES } from '../../core/features/feature-set.ts';
import { encodeOnnx } from '../../core/models/onnx-export.ts';
import { BUNDLED_MODELS_DIR } from '../../core/paths.ts';
import type { DecisionRecord } from '../../core/schema/decision.ts';
import type { ModelManifest } from '../../core/schema/model-manifest.ts';
import { atl, tempDir } from '../support/cli.ts';
import { readDecisions, readOutcomes } from '../support/records.ts';
import { runSnapshot, snapshotDiff } from '../support/resume.ts';

const GOOD = ['BTC_USDT-1h-logreg', 'BTC_USDT-1h-mlp'];
const sha256 = (bytes: Uint8Array) => new Bun.CryptoHasher('sha256').update(bytes).digest('hex');
const manifestOf = (id: string): ModelManifest =>
  JSON.parse(readFileSync(join(BUNDLED_MODELS_DIR, `${id}.manifest.json`), 'utf8'));

/** A copy of a good model under a new id whose manifest is altered by `edit`. */
function badCopy(dir: string, id: string, edit: (m: ModelManifest) => void, onnx?: Uint8Array): void {
  const m = manifestOf('BTC_USDT-1h-logreg');
  const bytes = onnx ?? readFileSync(join(BUNDLED_MODELS_DIR, 'BTC_USDT-1h-logreg.onnx'));
  writeFileSync(join(dir, `${id}.onnx`), bytes);
  m.model_id = id;
  m.onnx_file = `${id}.onnx`;
  m.onnx_sha256 = sha256(bytes);
  edit(m);
  writeFileSync(join(dir, `${id}.manifest.json`), JSON.stringify(m, null, 2));
}

/** An ONNX graph that takes 64 features while its manifest claims the live 65. */
function narrowOnnx(): Uint8Array {
  const n = FEATURE_COUNT - 1;
  return encodeOnnx(
    {
      inputs: n,
      classes: 3,
      mean: new Float32Array(n),
      scale: new Float32Array(n).fill(1),
      clip: 5,
      layers: [{ inputs: n, outputs: 3, weights: new Float32Array(n * 3), bias: new Float32Array(3) }],
    },
    {
      modelId: 'narrow',
      featureSetId: 'atl-fs-1',
      features: FEATURE_NAMES.slice(0, n),
      producerVersion: 'test',
    },
  );
}

const modelWarnings = (stderr: string) => stderr.split('\n').filter((l) => /model \S+ skipped:/.test(l));
const traceOf = (r: DecisionRecord, id: string) => r.model_trace.find((t) => t.model_id === id);
const gate = (r: DecisionRecord, stage: string) => r.gate_trace.find((g) => g.stage === stage);

describe('atl run with a models directory', () => {
  it('skips a mismatched model next to good ones with exactly one warning, shows the skip in every record, and uses the good models', async () => {
    using dir = tempDir();
    const models = join(dir.path, 'models');
    mkdirSync(models);
    for (const id of GOOD)
      for (const ext of ['.onnx', '.manifest.json'])
        copyFileSync(join(BUNDLED_MODELS_DIR, id + ext), join(models, id + ext));
    badCopy(models, 'BTC_USDT-1h-reordered', (m) => {
      [m.features[0], m.features[1]] = [m.features[1]!, m.features[0]!];
    });
    const root = join(dir.path, 'root');
    const run = await atl([
      'run',
      '--symbols',
      'BTC/USDT',
      '--max-bars',
      '300',
      '--models-dir',
      models,
      '--data-dir',
      root,
    ]);
    expect(run.code).toBe(0);
    const warnings = modelWarnings(run.stderr);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(
      'model BTC_USDT-1h-reordered skipped: feature_order_mismatch:at 0 model ret_3 live ret_1',
    );

    const records = readDecisions(root);
    expect(records.length).toBe(300);
    // The runners of the usable models, not the skipped one, are in the heartbeat's breakers.
    const hb = JSON.parse(readFileSync(join(root, 'rl', 'paper_live_heartbeat.json'), 'utf8'));
    expect(hb.circuit_breakers).toEqual({
      'model:BTC_USDT-1h-logreg': 'closed',
      'model:BTC_USDT-1h-mlp': 'closed',
    });
    for (const r of records) {
      expect(traceOf(r, 'BTC_USDT-1h-reordered')).toMatchObject({
        status: 'skipped',
        skip_reason: 'feature_order_mismatch:at 0 model ret_3 live ret_1',
      });
    }
    const ready = records.filter((r) => gate(r, 'features')?.verdict === 'pass');
    expect(ready.length).toBeGreaterThan(150);
    for (const r of ready) {
      for (const id of GOOD) {
        const t = traceOf(r, id)!;
        expect(t.status).toBe('used');
        expect(t.output!.probabilities!.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 3);
      }
      expect(['pass', 'block']).toContain(gate(r, 'ensemble')!.verdict);
      expect(gate(r, 'technical')!.verdict).toBe('skip');
      expect(r.features_hash).toMatch(/^atl-fs-1:[0-9a-f]{16}$/);
      expect(r.rl_recommendation).toMatchObject({ executed: false, learner: 'linucb-v1' });
    }
    // The first blocking stage is kept: a flat ensemble is never overwritten by the scalping fallback.
    const flat = ready.filter((r) => gate(r, 'ensemble')!.reason === 'ensemble_flat' && !r.signal);
    for (const r of flat) expect(r.blocked_stage).toBe('ensemble');

    const outcomes = readOutcomes(root);
    const ids = new Set(records.map((r) => r.decision_id));
    const forward = outcomes.filter((o) => o.kind === 'forward_return');
    expect(forward.length).toBe(records.length);
    for (const o of outcomes) expect(ids.has(o.decision_id)).toBe(true);
  }, 60_000);

  it('falls back to technical rules when every model is mismatched, says so in each record, and does not crash', async () => {
    using dir = tempDir();
    const models = join(dir.path, 'models');
    mkdirSync(models);
    copyFileSync(join(BUNDLED_MODELS_DIR, 'BTC_USDT-1h-mlp.onnx'), join(models, 'orphan.onnx')); // no manifest
    badCopy(models, 'BTC_USDT-1h-tampered', (m) => {
      m.onnx_sha256 = 'f'.repeat(64);
    });
    badCopy(models, 'BTC_USDT-1h-short', (m) => {
      m.features = m.features.slice(0, 60);
    });
    badCopy(models, 'BTC_USDT-1h-oldset', (m) => {
      m.feature_set_id = 'atl-fs-0';
    });
    badCopy(models, 'BTC_USDT-1h-narrow', () => {}, narrowOnnx());
    const root = join(dir.path, 'root');
    const run = await atl([
      'run',
      '--symbols',
      'BTC/USDT',
      '--max-bars',
      '150',
      '--models-dir',
      models,
      '--data-dir',
      root,
    ]);
    expect(run.code).toBe(0);
    const warnings = modelWarnings(run.stderr);
    expect(warnings).toHaveLength(5);
    const reasons: Record<string, string> = {
      orphan: 'manifest_missing:orphan.manifest.json',
      'BTC_USDT-1h-tampered': 'sha256_mismatch:manifest ffffffffffff file',
      'BTC_USDT-1h-short': 'feature_count_mismatch:model 60 live 65',
      'BTC_USDT-1h-oldset': 'feature_set_mismatch:model atl-fs-0 live atl-fs-1',
      'BTC_USDT-1h-narrow': 'onnx_input_shape_mismatch:model [batch,64] live [batch,65]',
    };
    for (const [id, reason] of Object.entries(reasons))
      expect(warnings.filter((w) => w.includes(`model ${id} skipped: ${reason}`))).toHaveLength(1);

    const records = readDecisions(root);
    expect(records.length).toBe(150);
    for (const r of records) {
      expect(r.model_trace).toHaveLength(5);
      for (const t of r.model_trace) expect(t.status).toBe('skipped');
      if (r.blocked_stage === 'data_fetch') continue;
      expect(gate(r, 'ensemble')).toMatchObject({ verdict: 'skip', reason: 'no_usable_models:5_skipped' });
      const technical = gate(r, 'technical')!;
      expect(['pass', 'block']).toContain(technical.verdict);
      expect(technical.observed).toMatchObject({
        fallback: true,
        fallback_reason: 'no_usable_models:5_skipped',
      });
    }
  }, 60_000);

  it('refuses a models directory that does not exist with exit 78 and what to do', async () => {
    using dir = tempDir();
    const run = await atl([
      'run',
      '--max-bars',
      '5',
      '--models-dir',
      join(dir.path, 'nope'),
      '--data-dir',
      dir.path,
    ]);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain('does not exist');
    expect(run.stderr).toContain('atl train --models-dir');
  });

  it('refuses an unknown voting strategy with exit 64', async () => {
    using dir = tempDir();
    const run = await atl(['run', '--max-bars', '5', '--voting', 'loudest', '--data-dir', dir.path]);
    expect(run.code).toBe(64);
    expect(run.stderr).toContain('majority, weighted, performance');
  });
});

describe('batch and live inference', () => {
  it('give the same decisions: a replay in chunks and the same replay paced bar by bar', async () => {
    using dir = tempDir();
    // Wall-clock time, per-run ids and the hash chain over them differ by construction; the decisions must not.
    const semantic = (r: DecisionRecord) => {
      const { ts: _ts, correlation_id: _c, prev_hash: _p, execution, ...rest } = r;
      return { ...rest, fills: execution?.fills.map(({ order_id: _o, ...f }) => f) ?? null };
    };
    const batch = join(dir.path, 'batch');
    const paced = join(dir.path, 'paced');
    const args = ['run', '--symbols', 'BTC/USDT,ETH/USDT', '--max-bars', '260'];
    expect((await atl([...args, '--data-dir', batch])).code).toBe(0);
    expect((await atl([...args, '--speed', '2000000000', '--data-dir', paced])).code).toBe(0);
    const a = readDecisions(batch).map(semantic);
    const b = readDecisions(paced).map(semantic);
    expect(a.length).toBe(520);
    expect(a.some((r) => r.model_trace.some((t) => t.status === 'used'))).toBe(true);
    expect(b).toEqual(a);
  }, 60_000);
});

describe('outcomes across a restart', () => {
  it('a run stopped and resumed decides and records outcomes exactly as one uninterrupted run', async () => {
    using dir = tempDir();
    const split = join(dir.path, 'split');
    const whole = join(dir.path, 'whole');
    const run = (bars: number, root: string) =>
      atl(['run', '--symbols', 'BTC/USDT', '--max-bars', String(bars), '--data-dir', root]);
    expect((await run(400, split)).code).toBe(0);
    const atStop = readOutcomes(split).filter((o) => o.kind === 'forward_return' && !o.complete);
    expect(atStop).toHaveLength(20); // the last 20 decisions' horizons were still open
    expect((await run(400, split)).code).toBe(0);
    expect((await run(800, whole)).code).toBe(0);
    // The advisor, risk and outcome state all resume from the checkpoint: nothing learned twice or
    // lost, and the decision log, ledger, outcome file and advisor state are those of one run.
    expect(snapshotDiff(runSnapshot(split), runSnapshot(whole))).toEqual([]);

    const completed = (root: string) =>
      new Map(
        readOutcomes(root).flatMap((o) =>
          o.kind === 'forward_return' && o.complete ? [[o.decision_id, o] as const] : [],
        ),
      );
    const resumed = completed(split);
    const uninterrupted = completed(whole);
    expect(resumed.size).toBe(800 - 20);
    expect(resumed).toEqual(uninterrupted);
    for (const o of atStop) expect(resumed.get(o.decision_id)?.complete).toBe(true);
    // Trades open across the restart are followed through it, not restarted as partial.
    const trades = (root: string) => readOutcomes(root).filter((o) => o.kind === 'trade');
    expect(trades(whole).length).toBeGreaterThan(0);
    expect(trades(split)).toEqual(trades(whole));
  }, 60_000);
});
