import { defineCommand } from 'citty';
import { emitEvidence, renderChecksHuman, resolveFormat } from '../../core/evidence/outputs.ts';
import { checkTransition } from '../../core/modes/check-transition.ts';
import type { Evidence } from '../../core/schema/evidence.ts';
import {
  dataDirArg,
  evidenceArgs,
  exchangeArgs,
  existingFileFlag,
  jsonArg,
  numberFlag,
  pathsFromArgs,
  print,
} from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'check-transition',
    description:
      'May this data root move to <target>? Days in mode, trades, win rate, max drawdown, profit factor (gross profit / gross loss), expectancy and approvals from the ledger; readiness gates for testnet and beyond. Exit 0 allowed, 2 blocked, 3 ledger missing',
  },
  args: {
    target: {
      type: 'positional',
      description: 'backtest | paper_synthetic | paper_live_data | testnet | live_limited | live_full',
      required: true,
    },
    approver: {
      type: 'string',
      description: 'record this approval in the ledger once every other requirement passes',
      valueHint: 'NAME',
    },
    requirements: {
      type: 'string',
      description:
        'JSON file overriding the minimums per target mode (min_win_rate, min_profit_factor, min_expectancy_bps, …; see the README)',
      valueHint: 'FILE',
    },
    timeout: {
      type: 'string',
      description: 'seconds the exchange probe may take in all (testnet and beyond; default 20)',
      default: '20',
    },
    ...exchangeArgs,
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    resolveFormat(args); // a bad --format is a usage error before reading anything
    const requirementsFile = existingFileFlag('requirements', args.requirements);
    const timeoutS = numberFlag('timeout', args.timeout, { min: 0.1 }) ?? 20;
    const paths = pathsFromArgs(args);
    const evidence = await checkTransition({
      paths,
      target: args.target,
      approver: args.approver?.trim() || null,
      exchange: args.exchange,
      exchangeUrl: args['exchange-url'] ?? null,
      env: process.env,
      requirementsFile,
      exchangeTimeoutMs: timeoutS * 1000,
    });
    const out = emitEvidence({
      evidence,
      flags: args,
      reportsDir: paths.reportsDir,
      human: (ev, files) => summary(ev, files),
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});

type Details = {
  from?: string;
  to: string;
  allowed?: boolean;
  overall_progress_pct?: number;
  estimated_days_remaining?: number | null;
};

function summary(ev: Evidence, files: string[]): string {
  const d = (ev.details ?? {}) as Details;
  const head = d.from
    ? [
        `Transition: ${d.from} -> ${d.to}`,
        `Progress: ${d.overall_progress_pct?.toFixed(1)}%${d.estimated_days_remaining ? ` (about ${d.estimated_days_remaining} days to go)` : ''}`,
        `Allowed: ${d.allowed ? 'Yes' : 'No'}`,
      ]
    : [`Transition: ? -> ${d.to}`];
  return `${head.join('\n')}\n${renderChecksHuman('ATL CHECK-TRANSITION', ev, files)}`;
}
