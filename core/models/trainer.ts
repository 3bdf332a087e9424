import { softmaxInto } from './network.ts';
import { SeededRandom } from './random.ts';

/** Standardised rows (`rows × cols`, row-major) with class labels 0…classes−1. */
export type LabeledRows = { x: Float64Array; y: Uint8Array; rows: number; cols: number };

export type TrainOptions = {
  /** Hidden layer widths; none makes it multinomial logistic regression. */
  hidden: number[];
  /** L2 penalty on weights (not biases). */
  l2: number;
  learningRate: number;
  batchSize: number;
  maxEpochs: number;
  /** Stop after this many epochs without a better validation log loss. */
  patience: number;
  seed: number;
};

export type TrainedLayer = { inputs: number; outputs: number; weights: Float64Array; bias: Float64Array };
export type TrainResult = {
  layers: TrainedLayer[];
  epochsRun: number;
  bestEpoch: number;
  validationLogLoss: number;
};

const ADAM_B1 = 0.9;
const ADAM_B2 = 0.999;
const ADAM_EPS = 1e-8;

/**
 * Mini-batch Adam on softmax cross-entropy with L2, ReLU hidden layers, seeded initialisation and
 * shuffling, early stopping on the validation log loss (the best epoch's weights are returned).
 * Deterministic: the same data, options and seed give the same weights bit for bit.
 */
export function trainClassifier(
  train: LabeledRows,
  validation: LabeledRows,
  classes: number,
  opts: TrainOptions,
): TrainResult {
  const rng = new SeededRandom(opts.seed);
  const sizes = [train.cols, ...opts.hidden, classes];
  const layers: TrainedLayer[] = [];
  for (let l = 0; l + 1 < sizes.length; l++) {
    const inputs = sizes[l]!;
    const outputs = sizes[l + 1]!;
    const weights = new Float64Array(inputs * outputs);
    // He initialisation for ReLU layers, small Xavier-like for the softmax layer.
    const std = l + 2 < sizes.length ? Math.sqrt(2 / inputs) : Math.sqrt(1 / inputs) * 0.1;
    for (let i = 0; i < weights.length; i++) weights[i] = rng.gaussian() * std;
    layers.push({ inputs, outputs, weights, bias: new Float64Array(outputs) });
  }
  const adam = layers.map((l) => ({
    mW: new Float64Array(l.weights.length),
    vW: new Float64Array(l.weights.length),
    mB: new Float64Array(l.outputs),
    vB: new Float64Array(l.outputs),
    gW: new Float64Array(l.weights.length),
    gB: new Float64Array(l.outputs),
  }));
  const batch = opts.batchSize;
  const acts = sizes.map((s) => new Float64Array(batch * s));
  const grads = sizes.map((s) => new Float64Array(batch * s));
  const logits = new Float64Array(classes);
  const order = Int32Array.from({ length: train.rows }, (_, i) => i);
  let best = { loss: Number.POSITIVE_INFINITY, epoch: 0, layers: cloneLayers(layers) };
  let step = 0;
  let epoch = 0;
  while (epoch < opts.maxEpochs && epoch - best.epoch < opts.patience) {
    epoch++;
    rng.shuffle(order);
    for (let start = 0; start < train.rows; start += batch) {
      const n = Math.min(batch, train.rows - start);
      const a0 = acts[0]!;
      for (let r = 0; r < n; r++)
        a0.set(
          train.x.subarray(order[start + r]! * train.cols, (order[start + r]! + 1) * train.cols),
          r * train.cols,
        );
      forward(layers, acts, n);
      // Output gradient of mean cross-entropy through the softmax: (p − onehot) / n.
      const out = acts[layers.length]!;
      const gOut = grads[layers.length]!;
      for (let r = 0; r < n; r++) {
        for (let c = 0; c < classes; c++) logits[c] = out[r * classes + c]!;
        softmaxInto(logits, classes, gOut, r * classes);
        gOut[r * classes + train.y[order[start + r]!]!]! -= 1;
        for (let c = 0; c < classes; c++) gOut[r * classes + c]! /= n;
      }
      backward(layers, acts, grads, adam, n, opts.l2);
      step++;
      const lrT = (opts.learningRate * Math.sqrt(1 - ADAM_B2 ** step)) / (1 - ADAM_B1 ** step);
      layers.forEach((l, i) => {
        const s = adam[i]!;
        adamStep(l.weights, s.gW, s.mW, s.vW, lrT);
        adamStep(l.bias, s.gB, s.mB, s.vB, lrT);
      });
    }
    const loss = logLoss(layers, validation, classes);
    if (loss < best.loss) best = { loss, epoch, layers: cloneLayers(layers) };
  }
  return { layers: best.layers, epochsRun: epoch, bestEpoch: best.epoch, validationLogLoss: best.loss };
}

/** Logits (pre-softmax) of the last layer into acts[L]; ReLU on hidden layers. */
function forward(layers: TrainedLayer[], acts: Float64Array[], n: number): void {
  layers.forEach((l, li) => {
    const a = acts[li]!;
    const z = acts[li + 1]!;
    const relu = li < layers.length - 1;
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < l.outputs; o++) {
        let s = l.bias[o]!;
        for (let i = 0; i < l.inputs; i++) s += a[r * l.inputs + i]! * l.weights[i * l.outputs + o]!;
        z[r * l.outputs + o] = relu && s < 0 ? 0 : s;
      }
    }
  });
}

type AdamState = {
  mW: Float64Array;
  vW: Float64Array;
  mB: Float64Array;
  vB: Float64Array;
  gW: Float64Array;
  gB: Float64Array;
};

function backward(
  layers: TrainedLayer[],
  acts: Float64Array[],
  grads: Float64Array[],
  adam: AdamState[],
  n: number,
  l2: number,
): void {
  for (let li = layers.length - 1; li >= 0; li--) {
    const l = layers[li]!;
    const a = acts[li]!;
    const gz = grads[li + 1]!;
    const s = adam[li]!;
    for (let k = 0; k < l.weights.length; k++) s.gW[k] = l2 * l.weights[k]!;
    s.gB.fill(0);
    for (let r = 0; r < n; r++) {
      for (let o = 0; o < l.outputs; o++) {
        const g = gz[r * l.outputs + o]!;
        if (g === 0) continue;
        s.gB[o]! += g;
        for (let i = 0; i < l.inputs; i++) s.gW[i * l.outputs + o]! += a[r * l.inputs + i]! * g;
      }
    }
    if (li === 0) continue;
    const ga = grads[li]!;
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < l.inputs; i++) {
        // ReLU derivative: the hidden activation was clamped at zero.
        if (a[r * l.inputs + i]! <= 0) {
          ga[r * l.inputs + i] = 0;
          continue;
        }
        let g = 0;
        for (let o = 0; o < l.outputs; o++) g += gz[r * l.outputs + o]! * l.weights[i * l.outputs + o]!;
        ga[r * l.inputs + i] = g;
      }
    }
  }
}

function adamStep(w: Float64Array, g: Float64Array, m: Float64Array, v: Float64Array, lr: number): void {
  for (let k = 0; k < w.length; k++) {
    const gk = g[k]!;
    m[k] = ADAM_B1 * m[k]! + (1 - ADAM_B1) * gk;
    v[k] = ADAM_B2 * v[k]! + (1 - ADAM_B2) * gk * gk;
    w[k] = w[k]! - (lr * m[k]!) / (Math.sqrt(v[k]!) + ADAM_EPS);
  }
}

/** Mean cross-entropy of the labelled rows (probabilities floored at 1e-15). */
export function logLoss(layers: TrainedLayer[], data: LabeledRows, classes: number): number {
  const chunk = 256;
  const sizes = [data.cols, ...layers.map((l) => l.outputs)];
  const acts = sizes.map((s) => new Float64Array(chunk * s));
  const logits = new Float64Array(classes);
  const p = new Float64Array(classes);
  let total = 0;
  for (let start = 0; start < data.rows; start += chunk) {
    const n = Math.min(chunk, data.rows - start);
    acts[0]!.set(data.x.subarray(start * data.cols, (start + n) * data.cols));
    forward(layers, acts, n);
    const out = acts[layers.length]!;
    for (let r = 0; r < n; r++) {
      for (let c = 0; c < classes; c++) logits[c] = out[r * classes + c]!;
      softmaxInto(logits, classes, p, 0);
      total -= Math.log(Math.max(p[data.y[start + r]!]!, 1e-15));
    }
  }
  return data.rows > 0 ? total / data.rows : Number.NaN;
}

function cloneLayers(layers: TrainedLayer[]): TrainedLayer[] {
  return layers.map((l) => ({ ...l, weights: l.weights.slice(), bias: l.bias.slice() }));
}
