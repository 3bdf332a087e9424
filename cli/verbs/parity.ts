import { defineCommand } from 'citty';
import { emitEvidence, resolveFormat } from '../../core/evidence/outputs.ts';
import { runParity } from '../../reports/parity.ts';
import { renderParityHuman } from '../../reports/parity-render.ts';
import { dataDirArg, evidenceArgs, jsonArg, numberFlag, pathsFromArgs, print } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'parity',
    description:
      "Replay the data root's candle tape (a paper_live_data/testnet run's closed candles) in backtest mode with the same config and models, and compare decision by decision: 0 identical, 2 diverged, 3 no tape",
  },
  args: {
    'scratch-dir': {
      type: 'string',
      description: "keep the replay's data root here (new or empty; default: a temp dir, removed after)",
      valueHint: 'DIR',
    },
    'max-differences': {
      type: 'string',
      description: 'differing decisions detailed in the evidence and the table',
      default: '10',
    },
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    resolveFormat(args);
    const paths = pathsFromArgs(args);
    const evidence = await runParity(paths, {
      scratchDir: args['scratch-dir'] ?? null,
      maxDifferences: numberFlag('max-differences', args['max-differences'], { min: 1, integer: true }) ?? 10,
    });
    const out = emitEvidence({
      evidence,
      flags: args,
      reportsDir: paths.reportsDir,
      human: renderParityHuman,
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});
