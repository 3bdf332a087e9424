import { DecisionRecord } from './decision.ts';
import { Evidence } from './evidence.ts';
import { Heartbeat } from './heartbeat.ts';
import { ModelManifest } from './model-manifest.ts';
import { DecisionOutcome, OutcomeRecorderState } from './outcome.ts';
import { RunHeader } from './record.ts';
import { GuardSnapshot, RiskConfig } from './risk.ts';
import { EngineState, Pidfile, SafetyState } from './state.ts';

/**
 * The file contracts whose validators are generated ahead of time (core/schema/generated/):
 * verbs such as `status` then validate on read without compiling schemas at start-up.
 * Add a contract here and run `bun run schemas`; a test fails while the generated file is stale.
 */
export const CONTRACTS = {
  DecisionRecord,
  DecisionOutcome,
  Heartbeat,
  EngineState,
  SafetyState,
  Pidfile,
  Evidence,
  ModelManifest,
  RiskConfig,
  GuardSnapshot,
  OutcomeRecorderState,
  RunHeader,
} as const;
