import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ArgsDef } from 'citty';
import { excerpt, usageError } from '../core/errors.ts';
import { dataPaths, resolveDataRoot } from '../core/paths.ts';
import { parseUtcTime } from '../core/time/iso.ts';

/** Flags every verb shares, spread into each verb's `args`. */
export const dataDirArg = {
  'data-dir': {
    type: 'string',
    description: 'data root (default: env ATL_HOME, else the repository data/)',
    valueHint: 'DIR',
  },
} as const satisfies ArgsDef;

export const jsonArg = {
  json: { type: 'boolean', description: 'print JSON on stdout instead of the human summary' },
} as const satisfies ArgsDef;

export const evidenceArgs = {
  evidence: { type: 'string', description: 'also write the evidence JSON to this path', valueHint: 'FILE' },
  junit: {
    type: 'string',
    description: 'also write JUnit XML (unknown → <error>, fail → <failure>)',
    valueHint: 'FILE',
  },
  'prom-dir': {
    type: 'string',
    description: 'also write a Prometheus textfile into this directory',
    valueHint: 'DIR',
  },
  format: {
    type: 'string',
    description: 'stdout format: human (default), json or nagios',
    valueHint: 'FORMAT',
  },
} as const satisfies ArgsDef;

/** The exchange a live mode or `doctor` talks to (run and doctor share them). */
export const exchangeArgs = {
  exchange: { type: 'string', description: 'ccxt exchange id for live data and orders', default: 'binance' },
  'exchange-url': {
    type: 'string',
    description:
      "another REST base for the exchange (tests, proxies; default: env ATL_EXCHANGE_URL, else ccxt's)",
    valueHint: 'URL',
  },
} as const satisfies ArgsDef;

export function pathsFromArgs(args: { 'data-dir'?: string }) {
  const root = resolveDataRoot(args['data-dir']);
  if (statSync(root, { throwIfNoEntry: false })?.isFile())
    throw usageError(
      `--data-dir ${excerpt(root, 200)} is a file, not a directory`,
      'give the data root directory (or set ATL_HOME)',
    );
  return dataPaths(root);
}

// console.log/console.error write natively; touching process.stdout/stderr first builds Node-style
// streams, which costs a third of a fast verb's start-up (`status` takes ~18 ms, README B4).
export function printJson(value: unknown): void {
  console.log(JSON.stringify(value, null, 2));
}

export function print(text: string): void {
  console.log(text.endsWith('\n') ? text.slice(0, -1) : text);
}

/** One line for the operator on stderr. */
export function printError(text: string): void {
  console.error(text.endsWith('\n') ? text.slice(0, -1) : text);
}

/** A time flag (`--since`, `--until`, a bar time), as epoch ms: what is not a time is a usage error (exit 64). */
export function timeFlag(name: string, value: string): number {
  const ms = parseUtcTime(value);
  if (ms === null)
    throw usageError(
      `${name} must be a UTC day or time, not "${excerpt(value)}"`,
      'give YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|±HH:MM], e.g. 2026-05-01T12:00Z (UTC when no zone)',
    );
  return ms;
}

/** The verb being run, for hints that point at its `--help` (set by main.ts before the verb runs). */
let verbInUse = '<verb>';
export function setVerbInUse(verb: string): void {
  verbInUse = verb;
}

/** A number flag, checked: bad values are usage errors (exit 64), never silently defaulted. */
export function numberFlag(
  name: string,
  value: string | undefined,
  opts: { min?: number; integer?: boolean } = {},
): number | null {
  if (value === undefined || value === '') return null;
  const n = Number(value);
  const bad =
    !Number.isFinite(n) || (opts.integer && !Number.isInteger(n)) || (opts.min !== undefined && n < opts.min);
  if (bad) {
    const kind = opts.integer ? 'a whole number' : 'a number';
    throw usageError(
      `--${name} must be ${kind}${opts.min !== undefined ? ` ≥ ${opts.min}` : ''} (got "${excerpt(value)}")`,
      `see \`npx atl ${verbInUse} --help\``,
    );
  }
  return n;
}

/** A path flag that must name an existing file: a typo is a usage error (64), never a failed check. */
export function existingFileFlag(name: string, value: string | undefined): string | null {
  if (!value) return null;
  const path = resolve(value);
  const st = statSync(path, { throwIfNoEntry: false });
  if (!st) throw usageError(`--${name} ${value}: no such file`, `give the path of an existing ${name} file`);
  if (st.isDirectory())
    throw usageError(`--${name} ${value} is a directory`, `give the path of the ${name} file`);
  return path;
}

/**
 * What citty's parser (node:util, `strict: false`) lets through and `atl` refuses with exit 64:
 * a flag the verb does not declare, a value flag without its value, a switch given something
 * other than true/false, and a stray argument. Everything after `--` is an argument.
 */
export function checkArgv(verb: string, args: ArgsDef, raw: string[]): void {
  const help = `run \`npx atl ${verb} --help\``;
  const end = raw.indexOf('--');
  const flags = end < 0 ? raw : raw.slice(0, end);
  const unknown: string[] = [];
  const positionals: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const a = flags[i]!;
    if (!a.startsWith('-') || a === '-') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(a.startsWith('--') ? 2 : 1, eq < 0 ? undefined : eq);
    const def = args[name];
    if (name === 'help' || name === 'h') continue;
    if (!def && name.startsWith('no-') && args[name.slice(3)]?.type === 'boolean' && eq < 0) continue;
    if (!def || def.type === 'positional') {
      unknown.push(name);
      continue;
    }
    if (def.type === 'boolean') {
      const v = eq < 0 ? 'true' : a.slice(eq + 1);
      if (v !== 'true' && v !== 'false')
        throw usageError(`--${name} is a switch (got "${v}")`, `give --${name} or --no-${name}`);
    } else {
      const value = eq < 0 ? flags[i + 1] : a.slice(eq + 1);
      if (value === undefined || (eq < 0 && value.startsWith('--')))
        throw usageError(`--${name} needs a value`, `give --${name} ${def.valueHint ?? name.toUpperCase()}`);
      if (value === '') throw emptyValue(`--${name}`, ' or leave the flag out');
      if (eq < 0) i++;
    }
  }
  if (unknown.length > 0)
    throw usageError(
      `unknown flag${unknown.length > 1 ? 's' : ''} ${unknown.map((u) => `--${u}`).join(', ')}`,
      help,
    );
  if (end >= 0) positionals.push(...raw.slice(end + 1));
  const declared = Object.entries(args).filter(([, d]) => d.type === 'positional');
  if (positionals.length > declared.length)
    throw usageError(`unexpected argument "${excerpt(positionals[declared.length]!)}"`, help);
  const empty = positionals.indexOf('');
  if (empty >= 0) throw emptyValue(declared[empty]![0].toUpperCase(), '');
}

/**
 * An empty value (`--date ""`, `--symbols=`) is a usage error for every verb: no flag means
 * anything by "", and reading it as "absent" would run the defaults silently.
 */
const emptyValue = (what: string, orLeaveOut: string) =>
  usageError(`${what} is empty`, `give ${what} a value${orLeaveOut} (see --help)`);
