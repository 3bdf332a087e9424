/** The one exit-code table (SPEC §6): `--help`, the README and every verb derive from it. */
export const EXIT_CODES = [
  { code: 0, name: 'pass', meaning: 'pass / healthy / allowed' },
  { code: 1, name: 'warn', meaning: 'warning: degraded, no gate broken' },
  { code: 2, name: 'fail', meaning: 'gate failed / critical / refused' },
  { code: 3, name: 'unknown', meaning: 'unknown: could not evaluate (missing or unreadable input, timeout)' },
  { code: 64, name: 'usage', meaning: 'usage error: bad flag or argument' },
  { code: 78, name: 'config', meaning: 'configuration error' },
  { code: 130, name: 'sigint', meaning: 'interrupted (SIGINT) while judging' },
  { code: 143, name: 'sigterm', meaning: 'terminated (SIGTERM) while judging' },
] as const;

export type ExitName = (typeof EXIT_CODES)[number]['name'];
export type ExitCode = (typeof EXIT_CODES)[number]['code'];

export const EXIT = Object.fromEntries(EXIT_CODES.map((e) => [e.name, e.code])) as {
  [K in ExitName]: Extract<(typeof EXIT_CODES)[number], { name: K }>['code'];
};

export type CheckStatus = 'pass' | 'warn' | 'fail' | 'unknown';

const STATUS_EXIT: Record<CheckStatus, ExitCode> = { pass: 0, warn: 1, fail: 2, unknown: 3 };
// Gate decision order: a broken gate outranks "could not tell", which outranks a warning.
const STATUS_RANK: Record<CheckStatus, number> = { pass: 0, warn: 1, unknown: 2, fail: 3 };

export function exitCodeForStatus(status: CheckStatus): ExitCode {
  return STATUS_EXIT[status];
}

/** The worst of several statuses (`fail > unknown > warn > pass`). */
export function worstStatus(statuses: Iterable<CheckStatus>): CheckStatus {
  let worst: CheckStatus = 'pass';
  for (const s of statuses) if (STATUS_RANK[s] > STATUS_RANK[worst]) worst = s;
  return worst;
}

/** The table as markdown rows (README) or aligned text (`--help`). */
export function renderExitCodeTable(format: 'markdown' | 'text'): string {
  if (format === 'markdown') {
    return [
      '| code | name | meaning |',
      '|---|---|---|',
      ...EXIT_CODES.map((e) => `| ${e.code} | ${e.name} | ${e.meaning} |`),
    ].join('\n');
  }
  return EXIT_CODES.map((e) => `  ${String(e.code).padStart(3)}  ${e.name.padEnd(8)} ${e.meaning}`).join(
    '\n',
  );
}
