import { defineCommand } from 'citty';
import { unknownError, usageError } from '../../core/errors.ts';
import { parseSymbol } from '../../core/market/symbols.ts';
import { type DecisionQuery, parseAction, parseStage, queryDecisions } from '../../core/records/query.ts';
import { dataDirArg, pathsFromArgs, print, printError, timeFlag } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'decisions',
    description:
      'Decisions from the log in the full view (v1 and v2 lines alike), filtered; human lines, --json or --jsonl',
  },
  args: {
    symbol: { type: 'string', description: 'only this symbol', valueHint: 'BTC/USDT' },
    since: {
      type: 'string',
      description: 'bar time at or after (UTC day or ISO-8601 with Z)',
      valueHint: 'TIME',
    },
    until: { type: 'string', description: 'bar time at or before', valueHint: 'TIME' },
    'blocked-by': { type: 'string', description: 'only decisions blocked at this stage', valueHint: 'STAGE' },
    action: {
      type: 'string',
      description: 'only this action (buy, sell, short, cover, hold)',
      valueHint: 'A',
    },
    json: { type: 'boolean', description: 'one JSON array of the records' },
    jsonl: { type: 'boolean', description: 'one record per line' },
    ...dataDirArg,
  },
  async run({ args }) {
    if (args.json && args.jsonl) throw usageError('--json and --jsonl are exclusive', 'pick one');
    const q: DecisionQuery = {};
    const symbol = parseSymbol(args.symbol);
    if (symbol) q.symbol = symbol;
    if (args.since !== undefined) q.sinceMs = timeFlag('--since', args.since);
    if (args.until !== undefined) q.untilMs = timeFlag('--until', args.until);
    if (q.sinceMs !== undefined && q.untilMs !== undefined && q.sinceMs > q.untilMs)
      throw usageError('--since is after --until', 'swap them');
    if (args['blocked-by'] !== undefined) q.blockedBy = parseStage(args['blocked-by']);
    if (args.action !== undefined) q.action = parseAction(args.action);
    const path = pathsFromArgs(args).decisions;
    const lines: string[] = [];
    const flushEvery = 1000;
    const emit = (text: string) => {
      lines.push(text);
      if (lines.length >= flushEvery) print(lines.splice(0).join('\n'));
    };
    if (args.json) print('[');
    let first = true;
    const r = queryDecisions(path, q, (d) => {
      if (args.json) {
        emit(`${first ? '' : ','}${JSON.stringify(d)}`);
        first = false;
      } else if (args.jsonl) emit(JSON.stringify(d));
      else
        emit(
          `${d.bar_ts}  ${d.symbol.padEnd(10)} ${d.action.padEnd(5)} ${d.blocked_stage ? `${d.blocked_stage}: ${d.block_reason ?? ''}` : `conf ${d.confidence}`}`,
        );
    });
    if (r.malformed > 0 && r.scanned === 0)
      throw unknownError(
        `${path}: none of its ${r.malformed.toLocaleString()} line(s) reads as a decision record`,
        'the log is damaged or not a decision log: `npx atl audit` names the lines; restore it from a backup',
      );
    if (lines.length > 0) print(lines.join('\n'));
    if (args.json) print(']');
    if (!args.json && !args.jsonl)
      print(`${r.matched.toLocaleString()} of ${r.scanned.toLocaleString()} decisions match`);
    if (r.malformed > 0) printError(`${r.malformed} unreadable line(s) skipped (npx atl audit names them)`);
    if (r.tornTail)
      printError('the log ends in an unterminated fragment (a write in progress or a crash); skipped');
  },
});
