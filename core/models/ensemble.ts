export const VOTING_STRATEGIES = ['majority', 'weighted', 'performance'] as const;
export type VotingStrategy = (typeof VOTING_STRATEGIES)[number];

const CLASSES = 3;
const FLAT = 1;

export type Vote = { classIndex: number; confidence: number };

/**
 * Combine per-model class probabilities (model m's vector at `probs[m][offset … offset+3)`).
 * - `majority`: each model votes its most likely class; most votes wins (a tie is flat); the
 *   confidence is the models' mean probability of the winning class.
 * - `weighted`: equal-weight average of the probability vectors; the winner's averaged probability.
 * - `performance`: the same average weighted by each model's test accuracy.
 * Confidences are probabilities, so agreement between weak models never reads as certainty
 * (the original's winner-share confidence did).
 */
export function combineVotes(
  strategy: VotingStrategy,
  probs: readonly Float32Array[],
  offset: number,
  accuracy: readonly number[],
  scratch: Float64Array,
): Vote {
  const n = probs.length;
  scratch.fill(0, 0, CLASSES);
  if (strategy === 'majority') {
    for (let m = 0; m < n; m++) scratch[argmax(probs[m]!, offset)]! += 1;
    let best = FLAT;
    for (let c = 0; c < CLASSES; c++) if (scratch[c]! > scratch[best]!) best = c;
    // A tie with the leader that is not flat means the models disagree: flat.
    for (let c = 0; c < CLASSES; c++) if (c !== best && scratch[c] === scratch[best]) best = FLAT;
    let mean = 0;
    for (let m = 0; m < n; m++) mean += probs[m]![offset + best]!;
    return { classIndex: best, confidence: mean / n };
  }
  let total = 0;
  for (let m = 0; m < n; m++) {
    const w = strategy === 'performance' ? Math.max(accuracy[m] ?? 0, 1e-6) : 1;
    total += w;
    for (let c = 0; c < CLASSES; c++) scratch[c]! += w * probs[m]![offset + c]!;
  }
  let best = FLAT;
  for (let c = 0; c < CLASSES; c++) if (scratch[c]! > scratch[best]!) best = c;
  return { classIndex: best, confidence: scratch[best]! / total };
}

export function argmax(p: Float32Array, offset: number): number {
  let best = 0;
  for (let c = 1; c < CLASSES; c++) if (p[offset + c]! > p[offset + best]!) best = c;
  return best;
}
