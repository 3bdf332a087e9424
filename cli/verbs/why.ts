import { defineCommand } from 'citty';
import { findDecision } from '../../core/audit/find-decision.ts';
import { usageError } from '../../core/errors.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { renderWhy } from '../../reports/why.ts';
import { dataDirArg, jsonArg, pathsFromArgs, print, printError, printJson, timeFlag } from '../_shared.ts';

/** `btc/usdt`, `BTC-USDT`, `BTC_USDT` → `BTC/USDT`. */
function symbolArg(value: string): string {
  const s = value.trim().toUpperCase().replace(/[-_]/, '/');
  if (!/^[A-Z0-9]{1,20}\/[A-Z0-9]{1,20}(:[A-Z0-9]{1,20})?$/.test(s))
    throw usageError(`"${value}" is not a symbol`, 'give it as BASE/QUOTE, e.g. BTC/USDT');
  return s;
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
    const bar = new Date(timeFlag('the bar time', args.time)).toISOString();
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
