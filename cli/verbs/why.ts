import { defineCommand } from 'citty';
import { findDecision } from '../../core/audit/find-decision.ts';
import { usageError } from '../../core/errors.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { renderWhy } from '../../reports/why.ts';
import { dataDirArg, jsonArg, pathsFromArgs, print, printError, printJson } from '../_shared.ts';

const TIME = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2})(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/** `btc/usdt`, `BTC-USDT`, `BTC_USDT` → `BTC/USDT`. */
function symbolArg(value: string): string {
  const s = value.trim().toUpperCase().replace(/[-_]/, '/');
  if (!/^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$/.test(s))
    throw usageError(`"${value}" is not a symbol`, 'give it as BASE/QUOTE, e.g. BTC/USDT');
  return s;
}

/** A bar's close time; without a zone it is UTC (every time in the log is). */
function timeArg(value: string): string {
  const m = TIME.exec(value.trim());
  const ms = m ? Date.parse(`${m[1]}T${m[2]}${m[3] ?? ':00'}${(m[5] ?? 'Z').toUpperCase()}`) : Number.NaN;
  if (Number.isNaN(ms))
    throw usageError(
      `"${value}" is not a time`,
      'give the bar close as YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM], e.g. 2026-05-03T03:00Z (UTC when no zone)',
    );
  return new Date(ms).toISOString();
}

export default defineCommand({
  meta: {
    name: 'why',
    description:
      'The decision at one bar, for a person: each stage with observed values and thresholds, model votes, the shadow advisor, what followed. 0 found / 3 no decision at that bar',
  },
  args: {
    symbol: { type: 'positional', description: 'the symbol, e.g. BTC/USDT', required: true },
    time: {
      type: 'positional',
      description: 'the bar close time (UTC unless a zone is given), e.g. 2026-05-03T03:00Z',
      required: true,
    },
    ...dataDirArg,
    ...jsonArg,
  },
  run({ args }) {
    const symbol = symbolArg(args.symbol);
    const bar = timeArg(args.time);
    const paths = pathsFromArgs(args);
    const w = findDecision(paths.decisions, paths.outcomes, symbol, bar);
    if (!w.exists) {
      printError(`atl why: no decision log at ${paths.decisions} — run the engine first, or pass --data-dir`);
      process.exitCode = EXIT.unknown;
      return;
    }
    if (w.unreadable > 0)
      printError(
        `atl why: ${w.unreadable} line(s) at that bar are not valid records — run \`npx atl audit\``,
      );
    if (args.json) printJson(w);
    else print(renderWhy(w));
    process.exitCode = w.found.length > 0 ? EXIT.pass : EXIT.unknown;
  },
});
