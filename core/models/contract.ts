import type { ModelManifest } from '../schema/model-manifest.ts';

/** What the live pipeline feeds a model: the feature set id and names, in order. */
export type LiveFeatures = { featureSetId: string; names: readonly string[] };

/**
 * The contract guard, pure: the first way a manifest disagrees with the live feature vector or
 * with the .onnx it describes, as a stable `reason:detail` string, or null when it agrees.
 */
export function manifestMismatch(
  manifest: ModelManifest,
  live: LiveFeatures,
  onnxSha256: string,
  stem: string,
): string | null {
  if (manifest.model_id !== stem) return `manifest_model_id_mismatch:manifest says ${manifest.model_id}`;
  if (manifest.onnx_sha256 !== onnxSha256) {
    return `sha256_mismatch:manifest ${manifest.onnx_sha256.slice(0, 12)} file ${onnxSha256.slice(0, 12)}`;
  }
  if (manifest.feature_set_id !== live.featureSetId) {
    return `feature_set_mismatch:model ${manifest.feature_set_id} live ${live.featureSetId}`;
  }
  const want = manifest.features;
  if (want.length !== live.names.length)
    return `feature_count_mismatch:model ${want.length} live ${live.names.length}`;
  for (let i = 0; i < want.length; i++) {
    if (want[i] === live.names[i]) continue;
    const kind = live.names.includes(want[i]!) ? 'feature_order_mismatch' : 'feature_name_mismatch';
    return `${kind}:at ${i} model ${want[i]} live ${live.names[i]}`;
  }
  if (manifest.input.shape[1] !== live.names.length) {
    return `manifest_input_shape_mismatch:declares [batch,${manifest.input.shape[1]}] for ${live.names.length} features`;
  }
  return null;
}

/** The ONNX graph's own input must take `[batch, features]` float32 rows. */
export function onnxInputMismatch(
  inputType: string,
  inputShape: readonly (number | string)[],
  width: number,
): string | null {
  const shape = `[${inputShape.join(',')}]`;
  if (inputType !== 'float32') return `onnx_input_type_mismatch:model ${inputType} live float32`;
  if (inputShape.length !== 2 || inputShape[1] !== width || typeof inputShape[0] === 'number') {
    return `onnx_input_shape_mismatch:model ${shape} live [batch,${width}]`;
  }
  return null;
}
