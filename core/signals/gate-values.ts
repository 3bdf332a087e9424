import { FEATURE_COUNT, FEATURE_SET_ID } from '../features/feature-set.ts';
import type { GateStage } from '../schema/decision.ts';

/** Gate verdicts shared by every record, and the record's feature fingerprint. */

const skipGates = new Map<string, Map<string, GateStage>>();
/** A skip verdict; the same few objects serve every record (the log serialises, nothing mutates them). */
export function skip(stage: string, reason: string): GateStage {
  let byReason = skipGates.get(stage);
  if (!byReason) {
    byReason = new Map();
    skipGates.set(stage, byReason);
  }
  let g = byReason.get(reason);
  if (!g) {
    g = { stage, verdict: 'skip', reason, observed: null, thresholds: null };
    byReason.set(reason, g);
  }
  return g;
}
/** A pass verdict without thresholds. */
export const pass = (
  stage: string,
  reason: string | null = null,
  observed: GateStage['observed'] = null,
): GateStage => ({ stage, verdict: 'pass', reason, observed, thresholds: null });

export const FEATURES_PASS: GateStage = {
  stage: 'features',
  verdict: 'pass',
  reason: null,
  observed: { feature_set: FEATURE_SET_ID, count: FEATURE_COUNT },
  thresholds: null,
};

/** A short hash of the feature row the decision saw (wyhash of its float64 bytes). */
export function featuresHash(row: Float64Array, offset: number): string {
  const bytes = new Uint8Array(row.buffer, row.byteOffset + offset * 8, FEATURE_COUNT * 8);
  return `${FEATURE_SET_ID}:${Bun.hash(bytes).toString(16).padStart(16, '0')}`;
}
