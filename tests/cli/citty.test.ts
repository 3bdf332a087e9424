import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EXIT, renderExitCodeTable } from '../../core/exit-codes.ts';
import { atl, REPO, tempDir } from '../support/cli.ts';

// The CLI base is citty (the project's stack); these pin what atl adds on top: exit 64 with one
// line for what citty's lenient parser lets through, and plain help with the exit-code table.
describe('citty as the CLI base', () => {
  it('every verb file defines its command with citty', () => {
    const main = readFileSync(join(REPO, 'cli', 'main.ts'), 'utf8');
    expect(main).toMatch(/from 'citty'/);
    for (const f of new Bun.Glob('*.ts').scanSync({ cwd: join(REPO, 'cli', 'verbs') }))
      expect(readFileSync(join(REPO, 'cli', 'verbs', f), 'utf8')).toMatch(
        /import \{ defineCommand \} from 'citty';/,
      );
  });

  const refusals: [string[], RegExp][] = [
    [['status', '--jsn'], /^atl status: unknown flag --jsn — run `npx atl status --help`$/],
    [['status', '--jsn', '-x'], /unknown flags --jsn, --x/],
    [['status', '--data-dir'], /--data-dir needs a value — give --data-dir DIR/],
    [['status', '--data-dir', '--json'], /--data-dir needs a value/],
    [['status', '--json=yes'], /--json is a switch \(got "yes"\)/],
    [['status', 'stray'], /unexpected argument "stray"/],
    [['check-transition'], /Missing required positional argument: TARGET/],
    [['nosuchverb'], /unknown verb "nosuchverb"/],
  ];
  for (const [args, says] of refusals) {
    it(`\`atl ${args.join(' ')}\` exits 64 with one line on stderr`, async () => {
      const r = await atl(args);
      expect(r.code).toBe(64);
      expect(r.stdout).toBe('');
      expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
      expect(r.stderr.trimEnd()).toMatch(says);
      expect(r.stderr).not.toContain('\u001b[');
    });
  }

  it('accepts what it declares: --flag=value, --no-switch, and the run goes through citty', async () => {
    using dir = tempDir();
    const r = await atl(['status', `--data-dir=${dir.path}`, '--no-json']);
    // An empty data root is "could not evaluate" (3), not a usage error: the flags were taken.
    expect(r.code).toBe(EXIT.unknown);
    expect(r.stdout).toContain('No engine state under');
    const j = await atl(['status', '--data-dir', dir.path, '--json']);
    expect(JSON.parse(j.stdout).data_root).toBe(dir.path);
  });

  it('verb help is plain text (no colour codes when not a TTY), lists the flags and ends with the exit codes', async () => {
    const r = await atl(['check-transition', '--help'], { env: { NO_COLOR: '', CI: '', TEST: '' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('\u001b[');
    expect(r.stdout).toMatch(/USAGE atl check-transition \[OPTIONS\] <TARGET>/);
    expect(r.stdout).toMatch(/--data-dir=<DIR> +data root/);
    expect(r.stdout.trimEnd().endsWith(renderExitCodeTable('text'))).toBe(true);
  });
});
