import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { excerpt, unknownError, usageError } from '../errors.ts';
import { writeFileAtomic, writeJsonAtomic } from '../fsx/atomic.ts';
import type { Evidence } from '../schema/evidence.ts';
import { writeEvidence } from './envelope.ts';
import { renderJunit } from './junit.ts';
import { renderNagios } from './nagios.ts';
import { writePrometheusTextfile } from './prometheus.ts';

export const OUTPUT_FORMATS = ['human', 'json', 'nagios'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

/** The flags every judging verb shares (`--json`, `--format`, `--evidence`, `--junit`, `--prom-dir`). */
export type EvidenceFlags = {
  json?: boolean;
  format?: string;
  evidence?: string;
  junit?: string;
  'prom-dir'?: string;
};

/** `--json` is `--format json`; asking for two different formats is a usage error, not a guess. */
export function resolveFormat(flags: EvidenceFlags): OutputFormat {
  const format = flags.format ?? (flags.json ? 'json' : 'human');
  if (!(OUTPUT_FORMATS as readonly string[]).includes(format)) {
    throw usageError(`--format must be one of ${OUTPUT_FORMATS.join(', ')} (got "${excerpt(format)}")`);
  }
  if (flags.json && format !== 'json')
    throw usageError(`--json conflicts with --format ${format}`, 'pass only one of them');
  return format as OutputFormat;
}

export type EmitRequest = {
  evidence: Evidence;
  flags: EvidenceFlags;
  /** `reports/` under the data root; the envelope lands in `reports/<verb>/` unless `primaryPath` names its file. */
  reportsDir: string;
  primaryPath?: string;
  /** The human summary, given the files written (evidence first). */
  human: (evidence: Evidence, files: string[]) => string;
};

export type Emitted = { stdout: string; files: string[]; exitCode: number };

function writing<T>(what: string, path: string, write: () => T): T {
  try {
    return write();
  } catch (err) {
    throw unknownError(
      `cannot write ${what} ${path}: ${(err as Error).message}`,
      'check the directory exists and is writable, and that the disk is not full',
      err,
    );
  }
}

/** A `--evidence` or `--junit` path: a directory there is a usage error, never a temp file beside it. */
function fileFlag(flag: string, value: string): string {
  const path = resolve(value);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory())
    throw usageError(`--${flag} ${path} is a directory`, 'give the path of a file (in it, or elsewhere)');
  return path;
}

/**
 * Every output of a judging verb from its one evidence object: the evidence file (always),
 * `--evidence` copy, `--junit` XML, `--prom-dir` textfile, and the stdout text for the chosen
 * format. The exit code returned is the evidence's own; failing to write any output is exit 3.
 */
export function emitEvidence(req: EmitRequest): Emitted {
  const { evidence, flags } = req;
  const format = resolveFormat(flags);
  const files: string[] = [];
  if (req.primaryPath) {
    writing('evidence', req.primaryPath, () => writeJsonAtomic(req.primaryPath!, evidence));
    files.push(req.primaryPath);
  } else {
    files.push(writing('evidence under', req.reportsDir, () => writeEvidence(req.reportsDir, evidence)));
  }
  if (flags.evidence) {
    const path = fileFlag('evidence', flags.evidence);
    writing('evidence', path, () => writeJsonAtomic(path, evidence));
    files.push(path);
  }
  if (flags.junit) {
    const path = fileFlag('junit', flags.junit);
    writing('JUnit file', path, () => writeFileAtomic(path, renderJunit(evidence)));
    files.push(path);
  }
  if (flags['prom-dir']) {
    const dir = resolve(flags['prom-dir']);
    files.push(writing('Prometheus textfile in', dir, () => writePrometheusTextfile(dir, evidence)));
  }
  const stdout =
    format === 'json'
      ? `${JSON.stringify(evidence, null, 2)}\n`
      : format === 'nagios'
        ? `${renderNagios(evidence)}\n`
        : req.human(evidence, files);
  return { stdout, files, exitCode: evidence.exit_code };
}

const MARK: Record<Evidence['status'], string> = {
  pass: 'pass',
  warn: 'WARN',
  fail: 'FAIL',
  unknown: 'UNKNOWN',
};

/** The default human view: a title, one line per check (hint after a dash), then the files written. */
export function renderChecksHuman(title: string, evidence: Evidence, files: string[]): string {
  const width = Math.max(...evidence.checks.map((c) => c.id.length), 4);
  return [
    `${title} — ${evidence.status.toUpperCase()} (exit ${evidence.exit_code})`,
    ...evidence.checks.map((c) => {
      const mark = c.skipped ? 'skip' : MARK[c.status];
      return `  [${mark.padEnd(7)}] ${c.id.padEnd(width)}  ${c.output}${c.status !== 'pass' && c.hint ? ` — ${c.hint}` : ''}`;
    }),
    ...evidence.warnings.map((w) => `  warning: ${w}`),
    ...files.map((f, i) => `  ${i === 0 ? 'evidence' : 'wrote'}: ${f}`),
  ]
    .join('\n')
    .concat('\n');
}
