import { usageError } from '../core/errors.ts';

/**
 * Verb definitions and flag parsing. Small on purpose: every verb starts through here, and
 * `atl status` has a 30 ms start-up budget that a general CLI library (and the `node:util` it
 * loads) would spend a fifth of. Flags are `--name value`, `--name=value`, `--flag`,
 * `--no-flag`; positionals fill in declared order; anything undeclared is a usage error.
 */

export type ArgDef =
  | { type: 'string'; description: string; valueHint?: string; default?: string; required?: boolean }
  | { type: 'boolean'; description: string; default?: boolean }
  | { type: 'positional'; description: string; valueHint?: string; required?: boolean };
export type ArgsDef = Record<string, ArgDef>;

type ValueOf<D> = D extends { type: 'boolean' }
  ? boolean
  : D extends { default: string }
    ? string
    : D extends { required: true }
      ? string
      : string | undefined;
export type ParsedArgs<A extends ArgsDef> = { -readonly [K in keyof A]: ValueOf<A[K]> };

export type CommandDef<A extends ArgsDef = ArgsDef> = {
  meta: { name: string; description: string };
  args: A;
  run(ctx: { args: ParsedArgs<A>; rawArgs: string[] }): unknown;
};

export function defineCommand<const A extends ArgsDef>(cmd: CommandDef<A>): CommandDef<A> {
  return cmd;
}

/** Names a raw argument list uses that the verb does not declare (`help`/`h` always exist). */
export function unknownFlags(args: ArgsDef, rawArgs: string[]): string[] {
  const known = new Set<string>(['help', 'h']);
  for (const [name, def] of Object.entries(args)) {
    if (def.type === 'positional') continue;
    known.add(name);
    if (def.type === 'boolean') known.add(`no-${name}`);
  }
  const unknown: string[] = [];
  for (const a of beforeDoubleDash(rawArgs)) {
    if (!a.startsWith('-') || a === '-') continue;
    const name = a.replace(/^--?/, '').split('=')[0]!;
    if (!known.has(name)) unknown.push(name);
  }
  return unknown;
}

const hint = (name: string, d: ArgDef) =>
  'valueHint' in d && d.valueHint ? d.valueHint : name.toUpperCase();

const beforeDoubleDash = (raw: string[]) => {
  const end = raw.indexOf('--');
  return end < 0 ? raw : raw.slice(0, end);
};

/** The verb's flags and positionals from `raw` (undeclared flags are caught before, by `unknownFlags`). */
export function parseArgs<A extends ArgsDef>(args: A, raw: string[]): ParsedArgs<A> {
  const out: Record<string, string | boolean | undefined> = {};
  const positionals: string[] = [];
  for (const [name, def] of Object.entries(args))
    out[name] = def.type === 'positional' ? undefined : def.default;
  for (let i = 0; i < raw.length; i++) {
    const a = raw[i]!;
    if (a === '--') {
      positionals.push(...raw.slice(i + 1));
      break;
    }
    if (!a.startsWith('--') || a === '--') {
      positionals.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = a.slice(2, eq < 0 ? undefined : eq);
    const def = args[name];
    if (!def && name.startsWith('no-') && args[name.slice(3)]?.type === 'boolean') {
      out[name.slice(3)] = false;
      continue;
    }
    if (!def || def.type === 'positional') continue;
    if (def.type === 'boolean') {
      const v = eq < 0 ? 'true' : a.slice(eq + 1);
      if (v !== 'true' && v !== 'false')
        throw usageError(`--${name} is a switch (got "${v}")`, `give --${name} or --no-${name}`);
      out[name] = v === 'true';
    } else if (eq >= 0) out[name] = a.slice(eq + 1);
    else {
      const next = raw[i + 1];
      if (next === undefined || next.startsWith('--'))
        throw usageError(`--${name} needs a value`, `give --${name} ${hint(name, def)}`);
      out[name] = next;
      i++;
    }
  }
  const declared = Object.entries(args).filter(([, d]) => d.type === 'positional');
  declared.forEach(([name], i) => {
    out[name] = positionals[i];
  });
  if (positionals.length > declared.length)
    throw usageError(`unexpected argument "${positionals[declared.length]}"`, 'see the verb’s --help');
  for (const [name, def] of Object.entries(args)) {
    if (def.type !== 'boolean' && def.required && out[name] === undefined)
      throw usageError(
        def.type === 'positional' ? `missing ${name.toUpperCase()}` : `--${name} is required`,
        def.type === 'positional'
          ? `give it as the argument after the verb`
          : `give --${name} ${hint(name, def)}`,
      );
  }
  return out as ParsedArgs<A>;
}

/** `--help` for a verb: plain text (no colour codes: it is read in logs and pipes too). */
export function renderUsage(cmd: CommandDef): string {
  const entries = Object.entries(cmd.args);
  const positionals = entries.filter(([, d]) => d.type === 'positional');
  const flags = entries.filter(([, d]) => d.type !== 'positional');
  const flagName = ([name, d]: [string, ArgDef]) =>
    d.type === 'boolean' ? `--${name}` : `--${name} ${hint(name, d)}`;
  const detail = (d: ArgDef) =>
    `${d.description}${'required' in d && d.required ? ' (required)' : ''}${d.type === 'string' && d.default !== undefined ? ` (default: ${d.default})` : ''}`;
  const rows: [string, string][] = [
    ...positionals.map(([name, d]): [string, string] => [name.toUpperCase(), detail(d)]),
    ...flags.map((f): [string, string] => [flagName(f), detail(f[1])]),
    ['--help', 'this text'],
  ];
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    `atl ${cmd.meta.name} — ${cmd.meta.description}`,
    '',
    `Usage: npx atl ${cmd.meta.name}${flags.length > 0 ? ' [flags]' : ''}${positionals.map(([n]) => ` <${n.toUpperCase()}>`).join('')}`,
    '',
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
  ].join('\n');
}
