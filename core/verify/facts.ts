import type { IdentityCheck } from '../control/process.ts';
import { configError } from '../errors.ts';
import type { Heartbeat } from '../schema/heartbeat.ts';
import type { Pidfile } from '../schema/state.ts';

/** What `verify` observed on the host; the gates are a pure function of this. */
export type FileFact<T> =
  | { kind: 'ok'; value: T }
  | { kind: 'missing' }
  | { kind: 'invalid'; problem: string };

export type ProcessFact = {
  pid: number;
  identity: IdentityCheck;
  cmdline: string[] | null;
  isEngine: boolean;
  /** `/proc/<pid>/stat` state letter (`Z` zombie, `T` stopped), null where unreadable. */
  state: string | null;
};

export type ProgressFact =
  | {
      kind: 'sampled';
      firstSeq: number;
      lastSeq: number;
      waitedMs: number;
      budgetMs: number;
      intervalS: number;
    }
  | { kind: 'not_sampled'; reason: string };

export type SystemdFact =
  | { kind: 'absent'; reason: string }
  | {
      kind: 'unit';
      unit: string;
      loadState: string;
      activeState: string;
      subState: string;
      mainPid: number | null;
    }
  | { kind: 'error'; unit: string; problem: string };

export type VerifyFacts = {
  nowMs: number;
  dataRoot: string;
  pidfile: FileFact<Pidfile>;
  heartbeat: FileFact<Heartbeat>;
  /** The process the pidfile names (null without a readable pidfile). */
  pidfileProcess: ProcessFact | null;
  /** Engine processes whose data root is this one; null where processes cannot be listed. */
  enginesOnRoot: number[] | null;
  progress: ProgressFact;
  status: { exitCode: number | null; problem: string | null; durationMs: number };
  turnoverLog: { path: string; exists: boolean; line: string | null };
  systemd: SystemdFact;
  /** Per symbol: how many of its latest decisions in a row were blocked at `data_fetch`, and the last reason. */
  dataTail:
    | { kind: 'ok'; bySymbol: Record<string, { streak: number; reason: string | null }> }
    | { kind: 'missing' }
    | { kind: 'invalid'; problem: string };
  disk: { kind: 'ok'; freeBytes: number; totalBytes: number } | { kind: 'error'; problem: string };
  halt: { halted: boolean; reason: string | null; by: string | null };
};

export type VerifyThresholds = {
  heartbeatMaxAgeS: number;
  /** A heartbeat this far in the future is clock skew, not freshness. */
  clockSkewToleranceS: number;
  stuckDataWarn: number;
  stuckDataFail: number;
  diskWarnFreeBytes: number;
  diskWarnFreePct: number;
};

export const DEFAULT_THRESHOLDS: VerifyThresholds = {
  heartbeatMaxAgeS: 120,
  clockSkewToleranceS: 5,
  stuckDataWarn: 3,
  stuckDataFail: 20,
  diskWarnFreeBytes: 1 << 30,
  diskWarnFreePct: 5,
};

/** `HEARTBEAT_MAX_AGE_SECONDS` (default 120) as the original verify script read it; a bad value is a config error. */
export function thresholdsFromEnv(env: NodeJS.ProcessEnv = process.env): VerifyThresholds {
  const raw = env.HEARTBEAT_MAX_AGE_SECONDS;
  if (raw === undefined || raw === '') return DEFAULT_THRESHOLDS;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) {
    throw configError(
      `HEARTBEAT_MAX_AGE_SECONDS must be a positive number of seconds (got "${raw}")`,
      'unset it for the default 120, or set e.g. HEARTBEAT_MAX_AGE_SECONDS=180',
    );
  }
  return { ...DEFAULT_THRESHOLDS, heartbeatMaxAgeS: n };
}
