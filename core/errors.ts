import { EXIT, type ExitCode } from './exit-codes.ts';

/**
 * An error the operator can act on: a missing file, a bad flag, a refused start. Printed as one
 * line (message, then what to do) without a stack. Anything else thrown is a bug.
 */
export class OperatorError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, options: { exitCode: ExitCode; hint?: string; cause?: unknown }) {
    super(message, { cause: options.cause });
    this.name = 'OperatorError';
    this.exitCode = options.exitCode;
    this.hint = options.hint;
  }
}

export const usageError = (message: string, hint?: string) =>
  new OperatorError(message, { exitCode: EXIT.usage, hint });
export const configError = (message: string, hint?: string, cause?: unknown) =>
  new OperatorError(message, { exitCode: EXIT.config, hint, cause });
export const refusedError = (message: string, hint?: string) =>
  new OperatorError(message, { exitCode: EXIT.fail, hint });
export const unknownError = (message: string, hint?: string, cause?: unknown) =>
  new OperatorError(message, { exitCode: EXIT.unknown, hint, cause });

/**
 * `value` when `names` lists it; else `refuse(problem, "use one of …")` — a usage error (64)
 * unless told otherwise — so every refusal of an unlisted value names all the accepted ones alike.
 */
export function oneOf<T extends string>(
  value: string,
  names: readonly T[],
  problem: string,
  refuse: (message: string, hint: string) => OperatorError = usageError,
): T {
  if (!(names as readonly string[]).includes(value)) throw refuse(problem, `use one of ${names.join(', ')}`);
  return value as T;
}

const MAX_MESSAGE = 2_000;

/**
 * One line for the operator: `what happened — what to do`. Capped (head … tail) as a last guard,
 * so no input that slipped into a message unshortened can flood stderr or break it into lines.
 */
export function formatOperatorError(err: OperatorError): string {
  // One line whatever the input put in it: control characters (a NUL from a hostile file, a newline) shown escaped.
  const line = (err.hint ? `${err.message} — ${err.hint}` : err.message).replace(
    // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
    /[\u0000-\u001f\u007f]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  if (line.length <= MAX_MESSAGE) return line;
  const keep = MAX_MESSAGE / 2;
  return `${line.slice(0, keep)} … [${(line.length - MAX_MESSAGE).toLocaleString('en-US')} characters cut] … ${line.slice(-keep)}`;
}

/**
 * Input echoed into a message, cut to `max` characters with the full length noted, so a hostile
 * 300 MB field or flag cannot flood stderr or a log; control characters are shown escaped.
 */
export function excerpt(text: string, max = 60): string {
  const clean = (s: string) => JSON.stringify(s).slice(1, -1);
  if (text.length <= max) return clean(text);
  return `${clean(text.slice(0, max))}… (${text.length.toLocaleString('en-US')} characters)`;
}
