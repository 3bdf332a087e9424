import { defineCommand } from 'citty';
import { emitEvidence, renderChecksHuman, resolveFormat } from '../../core/evidence/outputs.ts';
import { thresholdsFromEnv } from '../../core/verify/facts.ts';
import { runVerify } from '../../core/verify/run.ts';
import { dataDirArg, evidenceArgs, jsonArg, numberFlag, pathsFromArgs, print } from '../_shared.ts';

export default defineCommand({
  meta: {
    name: 'verify',
    description:
      'Host gates: one engine per data root, pidfile ↔ heartbeat identity, heartbeat fresh (HEARTBEAT_MAX_AGE_SECONDS, default 120), loop advancing, status works, turnover overrides logged, systemd unit, data pipeline, disk',
  },
  args: {
    'retry-timeout': {
      type: 'string',
      description: 'retry failing gates for up to this many seconds (exit 3 if still failing)',
      valueHint: 'SECONDS',
    },
    sleep: { type: 'string', description: 'seconds between retries', default: '1', valueHint: 'SECONDS' },
    'progress-wait': {
      type: 'string',
      description: 'longest wait for the tick counter to advance',
      default: '90',
      valueHint: 'SECONDS',
    },
    unit: {
      type: 'string',
      description: 'systemd user unit running the engine (env ATL_SYSTEMD_UNIT)',
      valueHint: 'NAME',
    },
    ...dataDirArg,
    ...jsonArg,
    ...evidenceArgs,
  },
  async run({ args }) {
    resolveFormat(args); // a bad --format is a usage error before any waiting
    const paths = pathsFromArgs(args);
    const evidence = await runVerify({
      paths,
      thresholds: thresholdsFromEnv(),
      retryTimeoutS: numberFlag('retry-timeout', args['retry-timeout'], { min: 0 }),
      sleepS: numberFlag('sleep', args.sleep, { min: 0 }) ?? 1,
      collect: {
        progressWaitS: numberFlag('progress-wait', args['progress-wait'], { min: 0 }) ?? 90,
        systemdUnit: args.unit || process.env.ATL_SYSTEMD_UNIT || 'atl-paper-live.service',
        statusTimeoutMs: 15_000,
      },
    });
    const out = emitEvidence({
      evidence,
      flags: args,
      reportsDir: paths.reportsDir,
      human: (ev, files) => renderChecksHuman(`ATL VERIFY ${paths.root}`, ev, files),
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});
