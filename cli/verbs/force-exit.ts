import { defineCommand } from 'citty';
import { queueForceExit } from '../../core/control/force-exit.ts';
import { usageError } from '../../core/errors.ts';
import { EXIT } from '../../core/exit-codes.ts';
import { parseSymbolList } from '../../core/market/symbols.ts';
import { dataDirArg, jsonArg, pathsFromArgs, print, printJson } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'force-exit',
    description:
      'Paper modes: queue an audited market exit of SYMBOL’s open position; the running engine closes it on the symbol’s next bar (gate_trace operator_order). Exit 0 queued, 2 refused (halted, not paper, no position), 3 no engine or unreadable state',
  },
  args: {
    symbol: { type: 'positional', description: 'the position to close (BTC/USDT)', required: true },
    reason: {
      type: 'string',
      description: 'why, for the audit trail (kept in the order request)',
      valueHint: 'TEXT',
    },
    ...dataDirArg,
    ...jsonArg,
  },
  run({ args }) {
    const symbols = parseSymbolList(args.symbol, '--symbol') ?? [];
    if (symbols.length !== 1 || !/^[A-Z0-9]{1,15}\/[A-Z0-9]{1,15}$/.test(symbols[0]!))
      throw usageError(`"${args.symbol}" is not one symbol`, 'give it as BASE/QUOTE, e.g. BTC/USDT');
    const record = queueForceExit(pathsFromArgs(args), {
      symbol: symbols[0]!,
      reason: args.reason?.trim() || null,
    });
    if (args.json) printJson(record);
    else
      print(
        `Exit of ${record.order.symbol} queued (request ${record.request_id}: ${record.order.side} ${record.order.quantity} at market, by ${record.client}). The engine closes it on the next ${record.order.symbol} bar; check with \`npx atl trades --symbol ${record.order.symbol}\`.`,
      );
    process.exitCode = EXIT.pass;
  },
});
