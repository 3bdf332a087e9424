import { defineCommand } from 'citty';
import { emitEvidence, resolveFormat } from '../../core/evidence/outputs.ts';
import { dailyReportPath, renderDailyHuman, runHealthDaily } from '../../reports/health-daily.ts';
import { isoDay, parseDay } from '../../reports/windows.ts';
import { dataDirArg, evidenceArgs, jsonArg, pathsFromArgs, print } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'health-daily',
    description:
      'Daily shadow health of one UTC day from the decision log and heartbeat: HEALTHY 0, WARNING 1, CRITICAL 2',
  },
  args: {
    date: {
      type: 'string',
      description: 'the UTC day to judge (default: today, UTC)',
      valueHint: 'YYYY-MM-DD',
    },
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    resolveFormat(args);
    const paths = pathsFromArgs(args);
    const date = args.date ? parseDay('date', args.date) : isoDay(Date.now());
    const evidence = await runHealthDaily(paths, date);
    const out = emitEvidence({
      evidence,
      flags: args,
      reportsDir: paths.reportsDir,
      primaryPath: dailyReportPath(paths, date),
      human: renderDailyHuman,
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});
