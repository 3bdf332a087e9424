import { afterEach, describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Evidence } from '../../core/schema/evidence.ts';
import { atl, tempDir } from '../support/cli.ts';
import { FakeBinance } from '../support/fake-binance.ts';

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

async function doctor(
  dir: string,
  flags: string[],
): Promise<{ code: number; evidence: Evidence; stdout: string }> {
  const r = await atl(['doctor', '--json', '--timeout', '2', '--data-dir', dir, ...flags]);
  const evidence = JSON.parse(r.stdout) as Evidence;
  const latest = JSON.parse(readFileSync(join(dir, 'reports', 'doctor', 'latest.json'), 'utf8')) as Evidence;
  expect(latest.run_id).toBe(evidence.run_id);
  expect(evidence.exit_code).toBe(r.code);
  return { code: r.code, evidence, stdout: r.stdout };
}

const statusOf = (e: Evidence) => Object.fromEntries(e.checks.map((c) => [c.id, c.status]));

describe('atl doctor', () => {
  it('passes against a healthy exchange: DNS, TCP, markets with the symbols listed, fresh candles, clock in sync', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const { code, evidence } = await doctor(dir.path, ['--exchange-url', fake.url]);
    expect(code).toBe(0);
    expect(statusOf(evidence)).toEqual({
      'dns:127.0.0.1': 'pass',
      [`tcp:127.0.0.1:${fake.port}`]: 'pass',
      'tls:127.0.0.1': 'pass',
      markets: 'pass',
      symbols: 'pass',
      ohlcv: 'pass',
      clock: 'pass',
    });
    expect(evidence.checks.find((c) => c.id === 'markets')!.observed).toBe(3);
    expect(evidence.checks.find((c) => c.id === 'tls:127.0.0.1')!.skipped).toBe(true);
    expect(fake.requestsTo('/api/v3/time').length).toBe(3);
  });

  it('fails at DNS for an unresolvable host, names it, and does not pretend to know the rest', async () => {
    using dir = tempDir();
    const { code, evidence } = await doctor(dir.path, ['--exchange-url', 'http://exchange.invalid:9']);
    expect(code).toBe(2);
    const dns = evidence.checks.find((c) => c.id === 'dns:exchange.invalid')!;
    expect(dns.status).toBe('fail');
    expect(dns.output).toContain('dns_failure:exchange.invalid');
    expect(dns.hint).toContain('getent hosts exchange.invalid');
    expect(['markets', 'symbols', 'ohlcv', 'clock'].map((id) => statusOf(evidence)[id])).toEqual([
      'unknown',
      'unknown',
      'unknown',
      'unknown',
    ]);
  });

  it('fails the TCP check when nothing listens on the port', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const port = fake.port;
    fake.down();
    const { code, evidence } = await doctor(dir.path, ['--exchange-url', `http://127.0.0.1:${port}`]);
    expect(code).toBe(2);
    const tcp = evidence.checks.find((c) => c.id === `tcp:127.0.0.1:${port}`)!;
    expect(tcp.status).toBe('fail');
    expect(tcp.output).toStartWith('connection_refused');
    // On loopback a refusal means the server is down, never a firewall or a region block.
    expect(tcp.hint).toStartWith(`nothing listens on 127.0.0.1:${port}`);
    expect(tcp.hint).not.toContain('firewall, an HTTP(S) proxy');
  });

  it.skipIf(!Bun.which('openssl'))(
    'fails the TLS check against a certificate no CA vouches for',
    async () => {
      using dir = tempDir();
      const key = join(dir.path, 'key.pem');
      const cert = join(dir.path, 'cert.pem');
      const made = Bun.spawnSync([
        'openssl',
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
      ]);
      expect(made.exitCode).toBe(0);
      const server = Bun.serve({
        hostname: '127.0.0.1',
        port: 0,
        tls: { key: Bun.file(key), cert: Bun.file(cert) },
        fetch: () => Response.json({}),
      });
      try {
        const { code, evidence } = await doctor(join(dir.path, 'root'), [
          '--exchange-url',
          `https://127.0.0.1:${server.port}`,
        ]);
        expect(code).toBe(2);
        expect(statusOf(evidence)[`tcp:127.0.0.1:${server.port}`]).toBe('pass');
        const tls = evidence.checks.find((c) => c.id === `tls:127.0.0.1:${server.port}`)!;
        expect(tls.status).toBe('fail');
        expect(tls.output).toMatch(/self[- ]signed/i);
        expect(tls.hint).toContain('CA certificates');
        expect(statusOf(evidence).markets).toBe('unknown');
      } finally {
        server.stop(true);
      }
    },
  );

  it('fails naming the symbols the exchange does not list', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const { code, evidence } = await doctor(dir.path, [
      '--exchange-url',
      fake.url,
      '--symbols',
      'BTC/USDT,FOO/BAR',
    ]);
    expect(code).toBe(2);
    expect(evidence.checks.find((c) => c.id === 'symbols')!.output).toBe('not listed: FOO/BAR');
    expect(statusOf(evidence).ohlcv).toBe('pass');
  });

  it('warns with stale_data when the newest candle is older than two candles', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    fake.freezeCandles(Date.now() - 5 * 60_000);
    const { code, evidence } = await doctor(dir.path, ['--exchange-url', fake.url]);
    expect(code).toBe(1);
    const ohlcv = evidence.checks.find((c) => c.id === 'ohlcv')!;
    expect(ohlcv.status).toBe('warn');
    expect(ohlcv.output).toMatch(/stale_data:\d+/);
  });

  it('fails the clock check when the host is 3 s behind the exchange', async () => {
    using dir = tempDir();
    fake = new FakeBinance({ now: () => Date.now() + 3_000 });
    const { code, evidence } = await doctor(dir.path, ['--exchange-url', fake.url]);
    expect(code).toBe(2);
    const clock = evidence.checks.find((c) => c.id === 'clock')!;
    expect(clock.status).toBe('fail');
    expect(Math.abs((clock.observed as { offset_ms: number }).offset_ms - 3_000)).toBeLessThan(100);
    expect(clock.hint).toContain('timedatectl');
  });

  it('reports rate_limited when the exchange answers loadMarkets with 429', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    fake.inject('/api/v3/exchangeInfo', { kind: 'status', status: 429, retryAfterS: 1 });
    const { code, evidence } = await doctor(dir.path, ['--exchange-url', fake.url]);
    expect(code).toBe(2);
    expect(evidence.checks.find((c) => c.id === 'markets')!.output).toBe('rate_limited');
    expect(fake.requestsTo('/api/v3/exchangeInfo').length).toBe(1);
  });

  it('prints one line per check and exits 64 on bad flags', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const human = await atl(['doctor', '--exchange-url', fake.url, '--data-dir', dir.path]);
    expect(human.code).toBe(0);
    expect(human.stdout).toContain('ATL DOCTOR binance');
    expect(human.stdout).toMatch(/\[pass\s*\] markets\s+loadMarkets: 3 markets/);
    for (const bad of [
      ['--timeout', '0'],
      ['--format', 'xml'],
      ['--exchange-url', 'ftp://x'],
    ]) {
      const r = await atl(['doctor', '--data-dir', dir.path, ...bad]);
      expect(r.code).toBe(64);
    }
  });
});
