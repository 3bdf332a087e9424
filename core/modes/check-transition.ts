import { OperatorError } from '../errors.ts';
import { buildEvidence, check } from '../evidence/envelope.ts';
import { EXCHANGE_DEFAULTS } from '../exchange/client.ts';
import { worstStatus } from '../exit-codes.ts';
import type { DataPaths } from '../paths.ts';
import type { Check, Evidence } from '../schema/evidence.ts';
import {
  approvalsFor,
  type ModeStats,
  openLedgerReadOnly,
  readModeStats,
  recordApproval,
  statsForHistory,
} from './ledger-stats.ts';
import { modeRank, parseMode } from './modes.ts';
import { readinessChecks } from './readiness.ts';
import { gatherReadinessFacts } from './readiness-facts.ts';
import { loadRequirements } from './requirements-file.ts';
import { evaluateTransition } from './transition.ts';

export type CheckTransitionRequest = {
  paths: DataPaths;
  target: string;
  /** Record an approval by this person when every other requirement passes. */
  approver: string | null;
  exchange: string;
  exchangeUrl: string | null;
  env: NodeJS.ProcessEnv;
  /** `--requirements FILE`: overrides of the default minimums per step (null: the defaults). */
  requirementsFile?: string | null;
  /** How long the exchange probe may take in all, ms (default: two of the exchange client's request timeouts). */
  exchangeTimeoutMs?: number;
  now?: number;
};

const READINESS_FROM = modeRank('testnet');

/**
 * `atl check-transition <target>`: may this data root's mode be promoted (or demoted) to
 * `target`? Requirements are computed from the ledger, opened read-only; for targets testnet and
 * beyond the readiness gates are judged too. Allowed → pass (0), blocked → fail (2), ledger
 * missing or unreadable → unknown (3); an unknown target is a usage error (64).
 */
export async function checkTransition(req: CheckTransitionRequest): Promise<Evidence> {
  const startedAt = new Date();
  const now = req.now ?? startedAt.getTime();
  const target = parseMode(req.target);
  const table = loadRequirements(req.requirementsFile ?? null);
  const { paths } = req;
  const inputs = [paths.ledger, paths.decisions, paths.heartbeat, paths.safety];
  let stats: ModeStats;
  let approvals: ReturnType<typeof approvalsFor>;
  try {
    const ledger = openLedgerReadOnly(paths.ledger);
    try {
      stats = readModeStats(ledger, now);
      approvals = approvalsFor(ledger, stats.mode, target, stats.modeStartedAt);
    } finally {
      ledger.close();
    }
  } catch (err) {
    if (!(err instanceof OperatorError) || err.exitCode !== 3) throw err;
    const unreadable = check({
      id: 'ledger:readable',
      status: 'unknown',
      output: err.message,
      hint: err.hint ?? null,
    });
    return buildEvidence({
      verb: 'check-transition',
      startedAt,
      checks: [unreadable],
      inputs,
      details: { to: target },
    });
  }

  const warnings: string[] = [];
  let verdict = evaluateTransition(stats.mode, target, stats, approvals, table);
  const readiness =
    modeRank(target) >= READINESS_FROM && (verdict.kind === 'forward' || verdict.kind === 'skip')
      ? readinessChecks(
          await gatherReadinessFacts(paths, target, {
            exchange: req.exchange,
            exchangeUrl: req.exchangeUrl,
            env: req.env,
            currentLevel: stats.preservationLevel,
            timeoutMs: req.exchangeTimeoutMs ?? 2 * EXCHANGE_DEFAULTS.timeoutMs,
          }),
          target,
          now,
        )
      : [];

  if (req.approver) {
    const needsApproval = verdict.requirements.some((r) => r.id === 'approval');
    const others = [...verdict.checks, ...readiness].filter((c) => c.id !== 'requirement:approval');
    const failing = others.filter((c) => c.status !== 'pass');
    if (!needsApproval) warnings.push(`no approval recorded: ${stats.mode} → ${target} needs none`);
    else if (failing.length > 0)
      warnings.push(
        `no approval recorded: ${failing.length} other check(s) do not pass (${failing.map((c) => c.id).join(', ')})`,
      );
    else {
      const row = recordApproval(paths.ledger, stats.mode, target, req.approver, stats);
      approvals = [...approvals, row];
      verdict = evaluateTransition(stats.mode, target, stats, approvals, table);
    }
  }

  const checks: Check[] = [...verdict.checks, ...readiness];
  return buildEvidence({
    verb: 'check-transition',
    startedAt,
    checks,
    inputs,
    warnings,
    details: {
      allowed: worstStatus(checks.map((c) => c.status)) === 'pass',
      from: verdict.from,
      to: verdict.to,
      kind: verdict.kind,
      judged_as: verdict.judgedAs,
      requirements: verdict.requirements,
      overall_progress_pct: verdict.overallProgressPct,
      estimated_days_remaining: verdict.estimatedDaysRemaining,
      readiness_evaluated: readiness.length > 0,
      stats: {
        ...statsForHistory(stats),
        mode_started_at: stats.modeStartedAt,
        winning_trades: stats.wins,
        losing_trades: stats.losses,
      },
      approvals: approvals.map((a) => ({ ts: a.ts, approver: a.approver })),
    },
  });
}
