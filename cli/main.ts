#!/usr/bin/env bun
import { type ArgsDef, type CommandDef, defineCommand, renderUsage, runCommand } from 'citty';
import { formatOperatorError, OperatorError } from '../core/errors.ts';
import { EXIT, renderExitCodeTable } from '../core/exit-codes.ts';
import { filesystemError } from '../core/fsx/path-fault.ts';
import { ATL_VERSION } from '../core/version.ts';
import { checkArgv, print, printError, setVerbInUse } from './_shared.ts';

type Verb = () => Promise<CommandDef<ArgsDef>>;
const load = (m: Promise<{ default: unknown }>) => m.then((v) => v.default as CommandDef<ArgsDef>);

/** Lazy citty sub-commands (as nuxt's CLI does): `status` never loads ccxt or onnxruntime. */
export const verbs = {
  run: () => load(import('./verbs/run.ts')),
  status: () => load(import('./verbs/status.ts')),
  'emergency-stop': () => load(import('./verbs/emergency-stop.ts')),
  train: () => load(import('./verbs/train.ts')),
  serve: () => load(import('./verbs/serve.ts')),
  'ssh-check': () => load(import('./verbs/ssh-check.ts')),
  verify: () => load(import('./verbs/verify.ts')),
  'health-daily': () => load(import('./verbs/health-daily.ts')),
  'report-weekly': () => load(import('./verbs/report-weekly.ts')),
  'check-transition': () => load(import('./verbs/check-transition.ts')),
  doctor: () => load(import('./verbs/doctor.ts')),
  audit: () => load(import('./verbs/audit.ts')),
  why: () => load(import('./verbs/why.ts')),
  parity: () => load(import('./verbs/parity.ts')),
  trades: () => load(import('./verbs/trades.ts')),
  'force-exit': () => load(import('./verbs/force-exit.ts')),
  decisions: () => load(import('./verbs/decisions.ts')),
} satisfies Record<string, Verb>;

export type VerbName = keyof typeof verbs;

// Summaries live here, not in the verbs' meta, so `atl --help` loads no verb.
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
  audit:
    'verify the data root end to end: log hash chain from genesis, schema, ids, bars, outcome links, ledger vs fills, evidence; 0 / 2 broken / 3 unreadable',
  why: '<symbol> <time>: the decision at that bar for a person — stages, thresholds, models, shadow advisor, outcome; --json',
  parity:
    'replay a live run’s candle tape in backtest mode and diff decision by decision: 0 identical / 2 diverged / 3 no tape',
  trades: 'open positions with unrealised P&L and the closed-trade history; --symbol --since --json',
  'force-exit':
    'paper modes: queue an audited exit of <symbol> for the engine’s next bar; 0 queued / 2 refused / 3 no engine',
  decisions:
    'decisions from the log in the full view, by symbol, time, blocking stage, action; --json/--jsonl',
};

export const atlCommand = defineCommand({
  meta: { name: 'atl', version: ATL_VERSION, description: 'Algo Trading Lab' },
  subCommands: verbs,
});

function topUsage(): string {
  const width = Math.max(...Object.keys(verbs).map((v) => v.length));
  return [
    `atl ${ATL_VERSION} — Algo Trading Lab: shadow trading with decision-level evidence`,
    '',
    'Usage: npx atl <verb> [flags]   (npx atl <verb> --help for its flags)',
    '',
    'Verbs:',
    ...Object.entries(VERB_SUMMARIES).map(([v, s]) => `  ${v.padEnd(width)}  ${s}`),
    '',
    'Exit codes:',
    renderExitCodeTable('text'),
  ].join('\n');
}

// citty colours its help unless NO_COLOR/CI is set; logs and pipes get plain text. Bun.stripANSI,
// not node:util's stripVTControlCharacters: naming that export loads util/inspect (~2 ms per start).
const plain = (text: string) => (process.stdout.isTTY ? text : Bun.stripANSI(text));

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
  if (!Object.hasOwn(verbs, verb)) {
    printError(`atl: unknown verb "${verb}" — run \`npx atl --help\` for the list\n`);
    return EXIT.usage;
  }
  try {
    const cmd = await verbs[verb as VerbName]();
    if (rest.includes('--help') || rest.includes('-h')) {
      const usage = plain(await renderUsage(cmd, atlCommand))
        .replace(/[ \t]+$/gm, '')
        .trimEnd();
      print(`${usage}\n\nExit codes:\n${renderExitCodeTable('text')}\n`);
      return EXIT.pass;
    }
    setVerbInUse(verb);
    checkArgv(verb, (cmd.args ?? {}) as ArgsDef, rest);
    await runCommand(atlCommand, { rawArgs: argv });
    return (process.exitCode as number | undefined) ?? EXIT.pass;
  } catch (caught) {
    const err = filesystemError(caught) ?? caught;
    if (err instanceof OperatorError) {
      printError(`atl ${verb}: ${formatOperatorError(err)}\n`);
      return err.exitCode;
    }
    // citty's own refusals (a missing required argument): usage errors, one plain line.
    if ((err as { name?: string }).name === 'CLIError') {
      printError(`atl ${verb}: ${Bun.stripANSI((err as Error).message)} — run \`npx atl ${verb} --help\`\n`);
      return EXIT.usage;
    }
    // A bug: the stack goes to the log (consola is loaded only now, off the fast path).
    const { log } = await import('../core/log.ts');
    log.error(err);
    return EXIT.unknown;
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
