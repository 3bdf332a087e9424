import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FEATURE_NAMES, FEATURE_SET_ID } from '../../core/features/feature-set.ts';
import { manifestMismatch, onnxInputMismatch } from '../../core/models/contract.ts';
import { combineVotes } from '../../core/models/ensemble.ts';
import { BUNDLED_MODELS_DIR, REPO_ROOT } from '../../core/paths.ts';
import type { ModelManifest } from '../../core/schema/model-manifest.ts';

const live = { featureSetId: FEATURE_SET_ID, names: FEATURE_NAMES };
const manifest = (): ModelManifest =>
  JSON.parse(readFileSync(join(BUNDLED_MODELS_DIR, 'ETH_USDT-1h-mlp.manifest.json'), 'utf8'));
const SHA = manifest().onnx_sha256;

describe('the model contract guard', () => {
  it('accepts a manifest that matches the live feature vector and its .onnx', () => {
    expect(manifestMismatch(manifest(), live, SHA, 'ETH_USDT-1h-mlp')).toBeNull();
  });

  it('names the first mismatch: id, sha256, feature set, count, order, name', () => {
    const cases: [(m: ModelManifest) => void, string][] = [
      [(m) => (m.model_id = 'other'), 'manifest_model_id_mismatch:manifest says other'],
      [
        (m) => (m.onnx_sha256 = '0'.repeat(64)),
        `sha256_mismatch:manifest 000000000000 file ${SHA.slice(0, 12)}`,
      ],
      [(m) => (m.feature_set_id = 'atl-fs-9'), 'feature_set_mismatch:model atl-fs-9 live atl-fs-1'],
      [
        (m) => m.features.pop(),
        `feature_count_mismatch:model ${FEATURE_NAMES.length - 1} live ${FEATURE_NAMES.length}`,
      ],
      [
        (m) => m.features.push('extra'),
        `feature_count_mismatch:model ${FEATURE_NAMES.length + 1} live ${FEATURE_NAMES.length}`,
      ],
      [(m) => m.features.reverse(), 'feature_order_mismatch:at 0 model volume_change_lag1 live ret_1'],
      [
        (m) => (m.features[64] = 'volume_change_lag2'),
        'feature_name_mismatch:at 64 model volume_change_lag2 live volume_change_lag1',
      ],
      [
        (m) => (m.input.shape = [null, 64]),
        'manifest_input_shape_mismatch:declares [batch,64] for 65 features',
      ],
    ];
    for (const [edit, reason] of cases) {
      const m = manifest();
      edit(m);
      expect(manifestMismatch(m, live, SHA, m.model_id === 'other' ? 'ETH_USDT-1h-mlp' : m.model_id)).toBe(
        reason,
      );
    }
  });

  it('checks the ONNX input the runtime reports: float32 [batch, 65] and nothing else', () => {
    expect(onnxInputMismatch('float32', ['batch', 65], 65)).toBeNull();
    expect(onnxInputMismatch('float32', ['batch', 64], 65)).toBe(
      'onnx_input_shape_mismatch:model [batch,64] live [batch,65]',
    );
    expect(onnxInputMismatch('float32', [1, 65], 65)).toBe(
      'onnx_input_shape_mismatch:model [1,65] live [batch,65]',
    );
    expect(onnxInputMismatch('float64', ['batch', 65], 65)).toBe(
      'onnx_input_type_mismatch:model float64 live float32',
    );
  });
});

describe('ensemble voting', () => {
  const scratch = new Float64Array(3);
  // Model A leans up weakly, model B says flat, model C leans up strongly.
  const a = Float32Array.of(0.2, 0.35, 0.45);
  const b = Float32Array.of(0.2, 0.6, 0.2);
  const c = Float32Array.of(0.1, 0.2, 0.7);

  it('majority: most votes win, confidence is the mean probability of the winner, a tie is flat', () => {
    const v = combineVotes('majority', [a, b, c], 0, [0.4, 0.4, 0.4], scratch);
    expect(v.classIndex).toBe(2);
    expect(v.confidence).toBeCloseTo((0.45 + 0.2 + 0.7) / 3, 6);
    const tie = combineVotes('majority', [Float32Array.of(0.6, 0.3, 0.1), c], 0, [0.5, 0.5], scratch);
    expect(tie.classIndex).toBe(1);
  });

  it('weighted: the equal-weight average probability; performance: weighted by test accuracy', () => {
    const w = combineVotes('weighted', [a, b], 0, [0.9, 0.1], scratch);
    expect(w.classIndex).toBe(1);
    expect(w.confidence).toBeCloseTo((0.35 + 0.6) / 2, 6);
    const p = combineVotes('performance', [a, b], 0, [0.9, 0.1], scratch);
    expect(p.classIndex).toBe(2);
    expect(p.confidence).toBeCloseTo((0.9 * 0.45 + 0.1 * 0.2) / 1.0, 6);
  });

  it('reads each model’s vector at the row offset of a batch', () => {
    const batchA = Float32Array.of(0.9, 0.05, 0.05, ...a);
    const batchC = Float32Array.of(0.9, 0.05, 0.05, ...c);
    expect(combineVotes('weighted', [batchA, batchC], 3, [1, 1], scratch).classIndex).toBe(2);
    expect(combineVotes('weighted', [batchA, batchC], 0, [1, 1], scratch).classIndex).toBe(0);
  });
});

describe('lazy loading', () => {
  const onnxModulesAfter = async (script: string) => {
    const code = `${script}; console.log(Object.keys(require.cache).filter((k) => k.includes('onnxruntime')).length)`;
    const proc = Bun.spawn([process.execPath, '-e', code], {
      cwd: REPO_ROOT,
      stdout: 'pipe',
      stderr: 'pipe',
    });
    return Number((await new Response(proc.stdout).text()).trim());
  };

  it('never loads onnxruntime for status, nor for run until a model is opened', async () => {
    expect(await onnxModulesAfter(`await import('./cli/verbs/status.ts')`)).toBe(0);
    expect(await onnxModulesAfter(`await import('./cli/verbs/run.ts')`)).toBe(0);
    const open = `const { openOnnxSession } = await import('./core/models/runtime.ts'); await openOnnxSession(require('node:fs').readFileSync('${join(BUNDLED_MODELS_DIR, 'BTC_USDT-1h-logreg.onnx')}'))`;
    expect(await onnxModulesAfter(open)).toBeGreaterThan(0);
  });
});
