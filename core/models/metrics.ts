import { r6 } from '../round.ts';

export type PerClass = { down: number | null; flat: number | null; up: number | null };
export type ClassifierMetrics = {
  accuracy: number;
  log_loss: number;
  precision: PerClass;
  recall: PerClass;
  baseline_accuracy: number;
  test_class_share: PerClass;
};

const perClass = (v: (c: number) => number | null): PerClass => ({ down: v(0), flat: v(1), up: v(2) });

/**
 * Accuracy, mean log loss and per-class precision/recall of 3-class probabilities against labels,
 * with the accuracy of always predicting `baselineClass` (the fit segment's majority) beside it.
 * Precision is null for a class never predicted, recall for a class never present.
 */
export function classifierMetrics(
  probs: Float64Array,
  labels: Uint8Array,
  baselineClass: number,
): ClassifierMetrics {
  const n = labels.length;
  const predicted = new Float64Array(3);
  const actual = new Float64Array(3);
  const hits = new Float64Array(3);
  let correct = 0;
  let loss = 0;
  for (let r = 0; r < n; r++) {
    let best = 0;
    for (let c = 1; c < 3; c++) if (probs[r * 3 + c]! > probs[r * 3 + best]!) best = c;
    const y = labels[r]!;
    predicted[best]!++;
    actual[y]!++;
    if (best === y) {
      hits[y]!++;
      correct++;
    }
    loss -= Math.log(Math.max(probs[r * 3 + y]!, 1e-15));
  }
  return {
    accuracy: r6(correct / n),
    log_loss: r6(loss / n),
    precision: perClass((c) => (predicted[c]! > 0 ? r6(hits[c]! / predicted[c]!) : null)),
    recall: perClass((c) => (actual[c]! > 0 ? r6(hits[c]! / actual[c]!) : null)),
    baseline_accuracy: r6(actual[baselineClass]! / n),
    test_class_share: perClass((c) => r6(actual[c]! / n)),
  };
}
