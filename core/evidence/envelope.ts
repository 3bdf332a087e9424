import { createHash, randomUUID } from 'node:crypto';
import { closeSync, existsSync, readSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { ATL_VERSION } from '../engine/snapshots.ts';
import { type CheckStatus, exitCodeForStatus, worstStatus } from '../exit-codes.ts';
import { writeJsonAtomic } from '../fsx/atomic.ts';
import { openFileForReading } from '../fsx/path-fault.ts';
import { validate } from '../schema/ajv.ts';
import { type Check, EVIDENCE_SCHEMA_VERSION, Evidence } from '../schema/evidence.ts';

export type CheckInput = {
  id: string;
  status: CheckStatus;
  output: string;
  observed?: unknown;
  unit?: string | null;
  thresholds?: Record<string, unknown> | null;
  hint?: string | null;
};

export function check(c: CheckInput): Check {
  return {
    id: c.id,
    status: c.status,
    observed: c.observed ?? null,
    unit: c.unit ?? null,
    thresholds: c.thresholds ?? null,
    output: c.output,
    hint: c.hint ?? null,
  };
}

/** A check that does not apply here (no systemd, not a paper-live engine): it passes, says why, and JUnit shows it skipped. */
export function skippedCheck(id: string, reason: string, observed: unknown = null): Check {
  return { ...check({ id, status: 'pass', output: `skipped: ${reason}`, observed }), skipped: true };
}

/** Every check that is not a pass tells what happened and what to do (a missing hint is a bug in the gate). */
function assertExplained(verb: string, checks: Check[]): void {
  for (const c of checks) {
    if (c.status === 'pass') continue;
    if (!c.output.trim() || !c.hint?.trim())
      throw new Error(`${verb} check ${c.id} is ${c.status} without output and hint`);
  }
}

/** Path, size and sha256 of an input; hashed in 1 MiB reads so a large ledger never sits in memory. */
export function describeInput(path: string): Evidence['inputs'][number] {
  if (!existsSync(path)) return { path, sha256: null, bytes: null };
  try {
    const st = statSync(path);
    if (!st.isFile()) return { path, sha256: null, bytes: null };
    // Logs beyond this are named, not hashed: the chain inside them is what the reports check.
    if (st.size > 64 << 20) return { path, sha256: null, bytes: st.size };
    const hash = createHash('sha256');
    const buf = Buffer.alloc(1 << 20);
    const fd = openFileForReading(path);
    try {
      for (let n = readSync(fd, buf, 0, buf.length, null); n > 0; n = readSync(fd, buf, 0, buf.length, null))
        hash.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    return { path, sha256: hash.digest('hex'), bytes: st.size };
  } catch {
    return { path, sha256: null, bytes: null };
  }
}

/** Assemble the envelope; its status is the worst check's and its exit code follows from that alone. */
export function buildEvidence(args: {
  verb: string;
  startedAt: Date;
  checks: Check[];
  inputs?: string[];
  warnings?: string[];
  details?: Record<string, unknown>;
  status?: CheckStatus;
}): Evidence {
  assertExplained(args.verb, args.checks);
  const status =
    args.status ?? (args.checks.length === 0 ? 'unknown' : worstStatus(args.checks.map((c) => c.status)));
  const evidence: Evidence = {
    schema_version: EVIDENCE_SCHEMA_VERSION,
    verb: args.verb,
    tool: { name: 'atl', version: ATL_VERSION },
    run_id: randomUUID(),
    host: hostname(),
    started_at: args.startedAt.toISOString(),
    finished_at: new Date().toISOString(),
    status,
    exit_code: exitCodeForStatus(status),
    checks: args.checks,
    inputs: (args.inputs ?? []).map(describeInput),
    warnings: args.warnings ?? [],
    ...(args.details ? { details: args.details } : {}),
  };
  const checked = validate(Evidence, evidence);
  if (!checked.ok)
    throw new Error(`evidence for ${args.verb} violates its schema: ${checked.errors.join('; ')}`);
  return evidence;
}

/** Write evidence under `reports/<verb>/` (timestamped plus `latest.json`, a copy that works on Windows). */
export function writeEvidence(reportsDir: string, evidence: Evidence, extraPath?: string): string {
  const dir = join(reportsDir, evidence.verb);
  const stamp = evidence.finished_at.replace(/[:.]/g, '').replace('T', '_');
  const path = join(dir, `${evidence.verb}_${stamp}.json`);
  writeJsonAtomic(path, evidence);
  writeJsonAtomic(join(dir, 'latest.json'), evidence);
  if (extraPath) writeJsonAtomic(extraPath, evidence);
  return path;
}
