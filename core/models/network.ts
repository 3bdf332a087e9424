/**
 * A small dense classifier as exported: standardise (x − mean) · scale, clip to ±clip, then dense
 * layers (ReLU between them) and a softmax. Weights are float32, as in the ONNX file.
 */
export type DenseLayer = {
  inputs: number;
  outputs: number;
  /** Row-major `inputs × outputs` (the ONNX Gemm B operand). */
  weights: Float32Array;
  bias: Float32Array;
};

export type DenseNetwork = {
  inputs: number;
  classes: number;
  mean: Float32Array;
  scale: Float32Array;
  clip: number;
  layers: DenseLayer[];
};

/**
 * Class probabilities for `rows` feature rows (row-major, `rows × inputs`): the reference forward
 * pass the training metrics are computed with, and that the ONNX runtime is checked against.
 */
export function predictProbabilities(
  net: DenseNetwork,
  x: Float64Array | Float32Array,
  rows: number,
): Float64Array {
  const out = new Float64Array(rows * net.classes);
  const width = Math.max(net.inputs, ...net.layers.map((l) => l.outputs));
  let a = new Float64Array(width);
  let z = new Float64Array(width);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < net.inputs; j++) {
      const v = (Math.fround(x[r * net.inputs + j]!) - net.mean[j]!) * net.scale[j]!;
      a[j] = v > net.clip ? net.clip : Math.max(v, -net.clip);
    }
    net.layers.forEach((layer, li) => {
      for (let o = 0; o < layer.outputs; o++) {
        let s = layer.bias[o]!;
        for (let i = 0; i < layer.inputs; i++) s += a[i]! * layer.weights[i * layer.outputs + o]!;
        z[o] = li < net.layers.length - 1 && s < 0 ? 0 : s;
      }
      [a, z] = [z, a];
    });
    softmaxInto(a, net.classes, out, r * net.classes);
  }
  return out;
}

/** Softmax of `logits[0…n)` written to `out[at…at+n)`, shifted by the max for stability. */
export function softmaxInto(logits: Float64Array, n: number, out: Float64Array, at: number): void {
  let max = Number.NEGATIVE_INFINITY;
  for (let c = 0; c < n; c++) max = Math.max(max, logits[c]!);
  let sum = 0;
  for (let c = 0; c < n; c++) {
    const e = Math.exp(logits[c]! - max);
    out[at + c] = e;
    sum += e;
  }
  for (let c = 0; c < n; c++) out[at + c] = out[at + c]! / sum;
}
