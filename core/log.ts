import { createConsola, type ConsolaInstance, LogLevels } from 'consola';

/** The one logger: everything goes to stderr so stdout carries only the report or `--json`. */
export const log: ConsolaInstance = createConsola({
  stdout: process.stderr,
  stderr: process.stderr,
  level: levelFromEnv(process.env.ATL_LOG_LEVEL),
  formatOptions: { date: true, colors: false, compact: true },
});

function levelFromEnv(value: string | undefined): number {
  if (!value) return LogLevels.info;
  const level = (LogLevels as Record<string, number>)[value];
  return level ?? LogLevels.info;
}

/** A logger whose every line carries the tick's (or request's) correlation id. */
export function correlated(correlationId: string): ConsolaInstance {
  return log.withTag(correlationId);
}
