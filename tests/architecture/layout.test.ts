import { describe, expect, it } from 'bun:test';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { verbs } from '../../cli/main.ts';
import { EXIT, renderExitCodeTable } from '../../core/exit-codes.ts';
import { atl, MAIN, REPO, tempDir } from '../support/cli.ts';

const sources = (dir: string) =>
  [...new Bun.Glob('**/*.ts').scanSync({ cwd: join(REPO, dir) })].map((f) => join(REPO, dir, f));
const importsOf = (file: string) =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*import\s+(?!type\b)[^'"]*?['"]([^'"]+)['"]/gm)].map(
    (m) => m[1]!,
  );

/** Every module a file pulls in at load time (static, non-type imports), following relative paths. */
function staticImportClosure(entry: string): Set<string> {
  const seen = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!file.endsWith('.ts')) continue;
    for (const spec of importsOf(file)) {
      if (spec.startsWith('.')) {
        const target = resolve(dirname(file), spec);
        if (existsSync(target)) queue.push(target);
      } else seen.add(spec);
    }
  }
  return seen;
}

describe('three rooms', () => {
  it('core/ never imports the CLI layer or citty, never writes to stdout and never calls process.exit', () => {
    const offenders: string[] = [];
    for (const file of sources('core')) {
      const text = readFileSync(file, 'utf8');
      if (/from ['"][./]*cli\//.test(text)) offenders.push(`${file}: imports from cli/`);
      if (/from ['"]citty['"]/.test(text)) offenders.push(`${file}: imports citty`);
      if (/process\.exit\(/.test(text)) offenders.push(`${file}: calls process.exit`);
      if (/process\.stdout\.write|console\.log\(/.test(text)) offenders.push(`${file}: writes to stdout`);
    }
    expect(offenders).toEqual([]);
  });

  it('`atl status` loads neither ccxt nor onnxruntime', () => {
    const closure = staticImportClosure(join(REPO, 'cli', 'verbs', 'status.ts'));
    for (const heavy of ['ccxt', 'onnxruntime-node']) expect(closure.has(heavy)).toBe(false);
  });

  it('`atl status` through citty loads neither at run time (the lazy sub-command is the only verb loaded)', async () => {
    using dir = tempDir();
    const script = `const { main } = await import(${JSON.stringify(MAIN)});
      await main(['status', '--data-dir', ${JSON.stringify(dir.path)}, '--json']);
      console.error(JSON.stringify(Object.keys(require.cache)));`;
    const proc = Bun.spawn([process.execPath, '-e', script], { stdout: 'ignore', stderr: 'pipe' });
    const loaded: string[] = JSON.parse((await new Response(proc.stderr).text()).trim().split('\n').at(-1)!);
    expect(await proc.exited).toBe(EXIT.unknown); // status on an empty data root: could not evaluate
    expect(loaded.some((m) => m.includes('/node_modules/citty/'))).toBe(true);
    expect(loaded.filter((m) => /node_modules\/(ccxt|onnxruntime-node)\//.test(m))).toEqual([]);
    expect(loaded.filter((m) => m.includes('/cli/verbs/')).map((m) => m.split('/').at(-1))).toEqual([
      'status.ts',
    ]);
  });
});

describe('one exit-code table', () => {
  it('the README table is the one generated from core/exit-codes.ts', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const block = /<!-- exit-codes:start[^>]*-->\n([\s\S]*?)\n<!-- exit-codes:end -->/.exec(readme)?.[1];
    expect(block).toBe(renderExitCodeTable('markdown'));
  });

  it('every registered verb has a row in the README verb table', () => {
    const readme = readFileSync(join(REPO, 'README.md'), 'utf8');
    const rows = readme.split('\n').filter((l) => l.startsWith('| `'));
    for (const verb of Object.keys(verbs))
      expect(
        rows.some((r) => r.startsWith(`| \`${verb}\``) || r.startsWith(`| \`${verb} `)),
        verb,
      ).toBe(true);
  });

  it('`atl --help` and each verb’s --help print the same table and exit 0', async () => {
    const top = await atl(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toContain(renderExitCodeTable('text'));
    const verb = await atl(['status', '--help']);
    expect(verb.code).toBe(0);
    expect(verb.stdout).toContain(renderExitCodeTable('text'));
  });

  it('no verb at all is a usage error (64), with the usage on stdout', async () => {
    const r = await atl([]);
    expect(r.code).toBe(64);
    expect(r.stdout).toContain('Usage: npx atl <verb>');
  });
});
