import { describe, expect, it } from 'bun:test';
import { defineCommand, parseArgs, renderUsage, unknownFlags } from '../../cli/args.ts';
import { OperatorError } from '../../core/errors.ts';

const cmd = defineCommand({
  meta: { name: 'demo', description: 'a verb for tests' },
  args: {
    target: { type: 'positional', description: 'where to', required: true },
    'data-dir': { type: 'string', description: 'data root', valueHint: 'DIR' },
    exchange: { type: 'string', description: 'exchange id', default: 'binance' },
    json: { type: 'boolean', description: 'JSON out' },
  },
  run: () => undefined,
});

const usageErrorOf = (f: () => unknown) => {
  try {
    f();
  } catch (err) {
    expect(err).toBeInstanceOf(OperatorError);
    expect((err as OperatorError).exitCode).toBe(64);
    return (err as Error).message;
  }
  throw new Error('expected a usage error');
};

describe('flag parsing', () => {
  it('reads --name value, --name=value, switches, --no-switch, defaults and positionals in order', () => {
    expect(parseArgs(cmd.args, ['testnet', '--data-dir', '/d', '--json'])).toEqual({
      target: 'testnet',
      'data-dir': '/d',
      exchange: 'binance',
      json: true,
    });
    expect(parseArgs(cmd.args, ['--exchange=kraken', '--no-json', 'live_full'])).toMatchObject({
      target: 'live_full',
      exchange: 'kraken',
      json: false,
    });
    // After `--` everything is an argument, even what looks like a flag.
    expect(parseArgs(cmd.args, ['--', '--weird']).target).toBe('--weird');
  });

  it('refuses a missing value, a switch given a value, a missing positional and a stray argument, each with exit 64', () => {
    expect(usageErrorOf(() => parseArgs(cmd.args, ['x', '--data-dir']))).toContain(
      '--data-dir needs a value',
    );
    expect(usageErrorOf(() => parseArgs(cmd.args, ['x', '--data-dir', '--json']))).toContain('needs a value');
    expect(usageErrorOf(() => parseArgs(cmd.args, ['x', '--json=yes']))).toContain('--json is a switch');
    expect(usageErrorOf(() => parseArgs(cmd.args, ['--json']))).toContain('missing TARGET');
    expect(usageErrorOf(() => parseArgs(cmd.args, ['a', 'b']))).toContain('unexpected argument "b"');
  });

  it('names undeclared flags (but not --no- forms of switches, nor anything after --)', () => {
    expect(unknownFlags(cmd.args, ['--no-json', '--jsn', '-x', '--target', '--', '--later'])).toEqual([
      'jsn',
      'x',
      'target',
    ]);
  });

  it('renders plain help: usage line, positionals, flags with their value hints and defaults', () => {
    const help = renderUsage(cmd);
    expect(help).not.toContain('\u001b[');
    expect(help).toContain('Usage: npx atl demo [flags] <TARGET>');
    expect(help).toMatch(/--data-dir DIR +data root/);
    expect(help).toMatch(/--exchange EXCHANGE +exchange id \(default: binance\)/);
    expect(help).toMatch(/TARGET +where to \(required\)/);
  });
});
