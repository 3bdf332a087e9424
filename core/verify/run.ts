import { buildEvidence, check } from '../evidence/envelope.ts';
import { worstStatus } from '../exit-codes.ts';
import type { DataPaths } from '../paths.ts';
import type { Check, Evidence } from '../schema/evidence.ts';
import { type CollectOptions, collectVerifyFacts } from './collect.ts';
import type { VerifyFacts, VerifyThresholds } from './facts.ts';
import { evaluateVerify } from './gates.ts';

export type VerifyRequest = {
  paths: DataPaths;
  thresholds: VerifyThresholds;
  collect: CollectOptions;
  /** goss semantics: retry failing gates until this many seconds have passed; null = one attempt. */
  retryTimeoutS: number | null;
  sleepS: number;
};

type Attempt = { n: number; at: string; status: Evidence['status']; not_passing: string[] };

/**
 * `atl verify`: collect facts, judge them, and with `--retry-timeout` try again while a gate
 * fails (after a restart the engine needs a tick or two). Every attempt is in the evidence; a
 * deadline that passes while a gate still fails is `unknown` (exit 3), as goss does.
 */
export async function runVerify(
  req: VerifyRequest,
  collect: typeof collectVerifyFacts = collectVerifyFacts,
): Promise<Evidence> {
  const startedAt = new Date();
  const deadline = req.retryTimeoutS === null ? null : startedAt.getTime() + req.retryTimeoutS * 1000;
  const attempts: Attempt[] = [];
  let facts: VerifyFacts;
  let checks: Check[];
  for (;;) {
    facts = await collect(req.paths, req.collect);
    checks = evaluateVerify(facts, req.thresholds);
    const status = worstStatus(checks.map((c) => c.status));
    attempts.push({
      n: attempts.length + 1,
      at: new Date().toISOString(),
      status,
      not_passing: checks.filter((c) => c.status !== 'pass').map((c) => c.id),
    });
    const settled = status === 'pass' || status === 'warn';
    if (settled || deadline === null || Date.now() + req.sleepS * 1000 > deadline) break;
    await Bun.sleep(req.sleepS * 1000);
  }
  const last = attempts.at(-1)!;
  const expired = deadline !== null && (last.status === 'fail' || last.status === 'unknown');
  if (expired) {
    checks.push(
      check({
        id: 'verify:retry',
        status: 'unknown',
        observed: attempts.length,
        unit: 'count',
        thresholds: { retry_timeout_s: req.retryTimeoutS },
        output: `still not passing after ${attempts.length} attempts in ${req.retryTimeoutS}s: ${last.not_passing.join(', ')}`,
        hint: 'the gates did not settle within --retry-timeout: read the failing checks above, or allow more time',
      }),
    );
  }
  return buildEvidence({
    verb: 'verify',
    startedAt,
    checks,
    status: expired ? 'unknown' : undefined,
    inputs: [req.paths.pidfile, req.paths.heartbeat, req.paths.state, req.paths.safety],
    details: {
      data_root: req.paths.root,
      thresholds: req.thresholds,
      attempts,
      engines_on_root: facts.enginesOnRoot,
    },
  });
}
