import { type ConsolaInstance, type ConsolaReporter, createConsola, LogLevels } from 'consola/core';

/** Plain lines on stderr: `2026-11-24T08:00:00.000Z INFO [tick-id] message` (greppable, journald-friendly). */
const stderrReporter: ConsolaReporter = {
  log(entry) {
    const text = entry.args
      .map((a) => (a instanceof Error ? (a.stack ?? a.message) : typeof a === 'string' ? a : Bun.inspect(a)))
      .join(' ');
    const tag = entry.tag ? ` [${entry.tag}]` : '';
    // console.error writes natively (process.stderr would build a Node stream on first use).
    console.error(`${entry.date.toISOString()} ${entry.type.toUpperCase()}${tag} ${text}`);
  },
};

/** The one logger: everything goes to stderr so stdout carries only the report or `--json`. */
export const log: ConsolaInstance = createConsola({
  reporters: [stderrReporter],
  level: levelFromEnv(process.env.ATL_LOG_LEVEL),
});

function levelFromEnv(value: string | undefined): number {
  if (!value) return LogLevels.info;
  return (LogLevels as Record<string, number>)[value] ?? LogLevels.info;
}

/** A logger whose every line carries the tick's (or request's) correlation id. */
export function correlated(correlationId: string): ConsolaInstance {
  return log.withTag(correlationId);
}
