import { defineCommand } from 'citty';
import { emitEvidence, renderChecksHuman, resolveFormat } from '../../core/evidence/outputs.ts';
import { timeframeToMs } from '../../core/market/candles.ts';
import { parseSymbolList } from '../../core/market/symbols.ts';
import {
  dataDirArg,
  evidenceArgs,
  exchangeArgs,
  jsonArg,
  numberFlag,
  pathsFromArgs,
  print,
} from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'doctor',
    description:
      "Data-source preflight: DNS for the exchange's hosts, TCP/TLS reach, loadMarkets (count, your symbols listed), a small fetchOHLCV, server clock offset",
  },
  args: {
    symbols: {
      type: 'string',
      description: 'comma list that must be listed (default BTC/USDT,ETH/USDT,SOL/USDT)',
    },
    timeframe: { type: 'string', description: 'candles for the fetchOHLCV probe', default: '1m' },
    timeout: {
      type: 'string',
      description: 'bound on each probe, seconds',
      default: '10',
      valueHint: 'SECONDS',
    },
    ...exchangeArgs,
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    resolveFormat(args); // a bad --format is a usage error before any probe
    const timeoutS = numberFlag('timeout', args.timeout, { min: 0.1 }) ?? 10;
    const paths = pathsFromArgs(args);
    timeframeToMs(args.timeframe); // an unknown timeframe is refused (78) as `run` refuses it, not probed
    // Loaded here, not at the top: only doctor and run pay for ccxt.
    const { runDoctor } = await import('../../core/exchange/doctor.ts');
    const evidence = await runDoctor({
      exchange: args.exchange,
      exchangeUrl: args['exchange-url'] ?? process.env.ATL_EXCHANGE_URL ?? null,
      symbols: parseSymbolList(args.symbols),
      timeframe: args.timeframe,
      timeoutMs: timeoutS * 1000,
    });
    const out = emitEvidence({
      evidence,
      flags: args,
      reportsDir: paths.reportsDir,
      human: (ev, files) =>
        renderChecksHuman(
          `ATL DOCTOR ${args.exchange}${args['exchange-url'] ? ` @ ${args['exchange-url']}` : ''}`,
          ev,
          files,
        ),
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});
