import { describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atl, REPO, spawnAtl, tempDir } from '../support/cli.ts';
import { GOOD_KEY } from './_support.ts';

async function readUrl(proc: ReturnType<typeof spawnAtl>): Promise<string> {
  const reader = proc.stdout.getReader();
  let text = '';
  while (!text.endsWith('}\n')) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`atl serve exited before listening: ${text}`);
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  return (JSON.parse(text) as { url: string }).url;
}

describe('atl serve as a process', () => {
  it('echoes X-Request-ID, tags every log line of the request with it, never logs the key, and exits 0 on SIGTERM', async () => {
    using dir = tempDir();
    const proc = spawnAtl(['serve', '--port', '0', '--json', '--data-dir', dir.path], {
      env: { ATL_API_KEY: GOOD_KEY },
    });
    try {
      const url = await readUrl(proc);
      const res = await fetch(`${url}/api/orders`, {
        method: 'POST',
        headers: { 'x-api-key': GOOD_KEY, 'content-type': 'application/json', 'x-request-id': 'req-abc.123' },
        body: JSON.stringify({ symbol: 'BTC/USDT', side: 'buy', quantity: 1 }),
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('x-request-id')).toBe('req-abc.123');
      const wrong = await fetch(`${url}/api/status`, {
        headers: { 'x-api-key': 'Not-The-Key-4321!', 'x-request-id': 'bad id\twith spaces' },
      });
      expect(wrong.status).toBe(403);
      const generated = wrong.headers.get('x-request-id')!;
      expect(generated).toMatch(/^[0-9a-f-]{36}$/);
      proc.kill('SIGTERM');
      expect(await proc.exited).toBe(0);
      const stderr = await new Response(proc.stderr).text();
      const tagged = stderr.split('\n').filter((l) => l.includes('req-abc.123'));
      expect(tagged.length).toBeGreaterThan(0);
      expect(tagged.every((l) => l.includes('[req-abc.123]'))).toBe(true);
      expect(stderr).toContain(`[${generated}]`);
      expect(stderr).toContain('X-Request-ID replaced');
      expect(stderr).not.toContain(GOOD_KEY);
      expect(stderr).not.toContain('Not-The-Key');
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
  });

  it('exits 78 naming the port when it is already taken', async () => {
    using dir = tempDir();
    const first = spawnAtl(['serve', '--port', '0', '--json', '--data-dir', dir.path], {
      env: { ATL_API_KEY: GOOD_KEY },
    });
    try {
      const port = new URL(await readUrl(first)).port;
      const second = await atl(['serve', '--port', port, '--data-dir', dir.path], {
        env: { ATL_API_KEY: GOOD_KEY },
      });
      expect(second.code).toBe(78);
      expect(second.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
    } finally {
      first.kill('SIGTERM');
      await first.exited;
    }
  });

  it('loads neither ccxt nor onnxruntime', async () => {
    using dir = tempDir();
    const probe = join(dir.path, 'probe.ts');
    writeFileSync(
      probe,
      `await import(${JSON.stringify(join(REPO, 'cli', 'verbs', 'serve.ts'))});
const loaded = Object.keys(require.cache);
console.log(JSON.stringify({ heavy: loaded.filter((k) => /ccxt|onnxruntime/.test(k)), promClient: loaded.some((k) => k.includes('prom-client')) }));`,
    );
    const p = Bun.spawn([process.execPath, probe], { cwd: REPO, stdout: 'pipe', stderr: 'pipe' });
    const out = JSON.parse(await new Response(p.stdout).text()) as { heavy: string[]; promClient: boolean };
    expect(await p.exited).toBe(0);
    expect(out.promClient).toBe(true); // the module list is real: a dependency serve does use is in it
    expect(out.heavy).toEqual([]);
  });
});
