import { defineCommand } from 'citty';
import { EXIT } from '../../core/exit-codes.ts';
import { parseSymbol } from '../../core/market/symbols.ts';
import { readTradeBook, renderTradeBook } from '../../reports/trade-book.ts';
import {
  dataDirArg,
  jsonArg,
  numberFlag,
  pathsFromArgs,
  print,
  printError,
  printJson,
  timeFlag,
} from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'trades',
    description:
      'Open positions with unrealised P&L, and the closed-trade history from the ledger (newest first)',
  },
  args: {
    symbol: { type: 'string', description: 'only this symbol (BTC/USDT)', valueHint: 'SYMBOL' },
    since: {
      type: 'string',
      description: 'only trades closed (positions opened) at or after this UTC day or time',
      valueHint: 'YYYY-MM-DD|ISO',
    },
    limit: { type: 'string', description: 'closed trades to list (default 20; 0 for all)', default: '20' },
    ...dataDirArg,
    ...jsonArg,
  },
  run({ args }) {
    const symbol = parseSymbol(args.symbol);
    const limit = numberFlag('limit', args.limit, { min: 0, integer: true });
    const book = readTradeBook(pathsFromArgs(args), {
      symbol,
      sinceIso: args.since === undefined ? null : new Date(timeFlag('--since', args.since)).toISOString(),
      limit: limit ? limit : null,
    });
    for (const p of book.problems) printError(`atl trades: ${p.problem} — ${p.hint}\n`);
    if (args.json) printJson(book);
    else print(renderTradeBook(book));
    process.exitCode = book.problems.length > 0 ? EXIT.unknown : EXIT.pass;
  },
});
