import { defineCommand } from 'citty';
import { runAudit } from '../../core/audit/audit.ts';
import { emitEvidence, renderChecksHuman, resolveFormat } from '../../core/evidence/outputs.ts';
import type { Evidence } from '../../core/schema/evidence.ts';
import { dataDirArg, evidenceArgs, jsonArg, pathsFromArgs, print } from '../_shared.ts';

type Break = { file: string; line: number; lines_after: number; problem: string };

/** The human view leads with where trust ends: file, line, and how much lies beyond it. */
function human(root: string, ev: Evidence, files: string[]): string {
  const b = ev.details?.first_break as Break | null | undefined;
  const head = b
    ? `first break: ${b.file} line ${b.line} (${b.problem}); ${b.lines_after} line(s) after it\n`
    : '';
  return `${head}${renderChecksHuman(`ATL AUDIT ${root}`, ev, files)}`;
}

export default defineCommand({
  meta: {
    name: 'audit',
    description:
      'Verify a data root end to end: decision-log hash chain from genesis, schema, unique ids, bar order; outcomes linked; ledger vs fills; evidence files. 0 clean / 2 broken / 3 unreadable',
  },
  args: { ...dataDirArg, ...jsonArg, ...evidenceArgs },
  run({ args }) {
    resolveFormat(args);
    const paths = pathsFromArgs(args);
    const out = emitEvidence({
      evidence: runAudit(paths),
      flags: args,
      reportsDir: paths.reportsDir,
      human: (ev, files) => human(paths.root, ev, files),
    });
    print(out.stdout);
    process.exitCode = out.exitCode;
  },
});
