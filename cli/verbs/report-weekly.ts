import { defineCommand } from 'citty';
import { emitEvidence, resolveFormat } from '../../core/evidence/outputs.ts';
import { renderWeeklyHuman, runReportWeekly } from '../../reports/report-weekly.ts';
import { addDays, isoDay, parseDay } from '../../reports/windows.ts';
import { dataDirArg, evidenceArgs, jsonArg, numberFlag, pathsFromArgs, print } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'report-weekly',
    description:
      'Weekly shadow evidence: JSON + markdown summary with SVG charts (equity/drawdown, decisions and blocks per day), edges, costs, advisor counterfactual, drift, promotion progress',
  },
  args: {
    week: {
      type: 'string',
      description: 'program week number N (1, 2, …) for titles and progress',
      required: true,
      valueHint: 'N',
    },
    end: {
      type: 'string',
      description: 'last UTC day of the week (default: yesterday, the last complete day)',
      valueHint: 'YYYY-MM-DD',
    },
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    resolveFormat(args);
    const week = numberFlag('week', args.week, { min: 1, integer: true })!;
    const endDay = args.end ? parseDay('end', args.end) : addDays(isoDay(Date.now()), -1);
    const paths = pathsFromArgs(args);
    const result = await runReportWeekly(paths, week, endDay);
    const out = emitEvidence({
      evidence: result.evidence,
      flags: args,
      reportsDir: paths.reportsDir,
      primaryPath: result.reportPath,
      human: (_e, files) => renderWeeklyHuman(result, files),
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});
