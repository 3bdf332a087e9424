#!/usr/bin/env bun
import { ATL_VERSION } from '../core/engine/snapshots.ts';
import { formatOperatorError, OperatorError } from '../core/errors.ts';
import { EXIT, renderExitCodeTable } from '../core/exit-codes.ts';
import { log } from '../core/log.ts';
import { print, printError } from './_shared.ts';
import { type CommandDef, parseArgs, renderUsage, unknownFlags } from './args.ts';

/** Lazy verb registry: `status` never loads ccxt or onnxruntime. */
export const verbs = {
  run: () => import('./verbs/run.ts'),
  status: () => import('./verbs/status.ts'),
  'emergency-stop': () => import('./verbs/emergency-stop.ts'),
  train: () => import('./verbs/train.ts'),
  serve: () => import('./verbs/serve.ts'),
  'ssh-check': () => import('./verbs/ssh-check.ts'),
  verify: () => import('./verbs/verify.ts'),
  'health-daily': () => import('./verbs/health-daily.ts'),
  'report-weekly': () => import('./verbs/report-weekly.ts'),
  'check-transition': () => import('./verbs/check-transition.ts'),
  doctor: () => import('./verbs/doctor.ts'),
  decisions: () => import('./verbs/decisions.ts'),
} satisfies Record<string, () => Promise<{ default: unknown }>>;

export type VerbName = keyof typeof verbs;

const VERB_SUMMARIES: Record<VerbName, string> = {
  run: 'the engine: replay, synthetic or live candles through the decision pipeline',
  status: 'state and heartbeat, human or --json; works while the engine runs',
  'emergency-stop': 'set the persistent halt flag, stop the engine and confirm; --clear lifts it',
  train: 'train the model family (logistic regression, MLP) on candles; export ONNX + manifest',
  serve:
    'HTTP API: health, Prometheus metrics, status, decisions, paper orders, emergency stop, WS decision stream',
  'ssh-check':
    'walk resolve → tcp → banner → host key → auth → remote exec to a host; --remote-verify runs verify there',
  verify:
    'host gates: one engine, pid identity, fresh heartbeat, loop advancing, status, systemd, data, disk',
  'health-daily':
    'daily shadow health of one UTC day: HEALTHY 0 / WARNING 1 / CRITICAL 2, top blocking gates',
  'report-weekly':
    'weekly evidence JSON + markdown with SVG charts: edges, costs, advisor counterfactual, drift, promotion progress',
  'check-transition':
    'may this mode move to <target>? requirements from the ledger, readiness gates, approvals; 0 allowed / 2 blocked',
  doctor: 'data-source preflight: exchange DNS, TCP/TLS, loadMarkets, a small fetchOHLCV, clock offset',
  decisions:
    'decisions from the log in the full view, by symbol, time, blocking stage, action; --json/--jsonl',
};

function topUsage(): string {
  const width = Math.max(...Object.keys(verbs).map((v) => v.length));
  return [
    `atl ${ATL_VERSION} — Algo Trading Lab: shadow trading with decision-level evidence`,
    '',
    'Usage: atl <verb> [flags]   (atl <verb> --help for its flags)',
    '',
    'Verbs:',
    ...Object.entries(VERB_SUMMARIES).map(([v, s]) => `  ${v.padEnd(width)}  ${s}`),
    '',
    'Exit codes:',
    renderExitCodeTable('text'),
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [verb, ...rest] = argv;
  if (!verb || verb === '--help' || verb === '-h' || verb === 'help') {
    print(`${topUsage()}\n`);
    return verb ? EXIT.pass : EXIT.usage;
  }
  if (verb === '--version' || verb === '-v') {
    print(`${ATL_VERSION}\n`);
    return EXIT.pass;
  }
  const load = (verbs as Record<string, (typeof verbs)[VerbName]>)[verb];
  if (!load) {
    printError(`atl: unknown verb "${verb}" — run \`atl --help\` for the list\n`);
    return EXIT.usage;
  }
  const cmd = (await load()).default as unknown as CommandDef;
  if (rest.includes('--help') || rest.includes('-h')) {
    print(`${renderUsage(cmd)}\n\nExit codes:\n${renderExitCodeTable('text')}\n`);
    return EXIT.pass;
  }
  // Flags the verb does not declare are usage errors (exit 64), never ignored.
  const unknown = unknownFlags(cmd.args, rest);
  if (unknown.length > 0) {
    printError(
      `atl ${verb}: unknown flag${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `--${u}`).join(', ')} — run \`atl ${verb} --help\`\n`,
    );
    return EXIT.usage;
  }
  try {
    await cmd.run({ args: parseArgs(cmd.args, rest), rawArgs: rest });
    return (process.exitCode as number | undefined) ?? EXIT.pass;
  } catch (err) {
    if (err instanceof OperatorError) {
      printError(`atl ${verb}: ${formatOperatorError(err)}\n`);
      return err.exitCode;
    }
    log.error(err);
    return EXIT.unknown;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
