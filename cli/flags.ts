import { usageError } from '../core/errors.ts';
import type { ArgsDef } from './args.ts';

/**
 * A flag or argument given an empty value (`--date ""`, `--symbols=`) is a usage error for every
 * verb. No flag means anything by "" and reading it as "absent" would run the defaults silently
 * (`--date ""` judged today, `--symbols ""` traded the default symbols).
 */
export function rejectEmptyValues(args: ArgsDef, parsed: Record<string, unknown>): void {
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'boolean' || parsed[name] !== '') continue;
    const what = def.type === 'positional' ? name.toUpperCase() : `--${name}`;
    throw usageError(
      `${what} is empty`,
      `give ${what} a value${def.type === 'positional' ? '' : ' or leave the flag out'} (see --help)`,
    );
  }
}
