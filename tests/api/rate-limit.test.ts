import { describe, expect, it } from 'bun:test';
import { DEFAULT_RATE_LIMITS } from '../../core/api/config.ts';
import { clientKey } from '../../core/api/http.ts';
import { RateLimiter } from '../../core/api/rate-limit.ts';
import { testServer } from './_support.ts';

const rules = { ...DEFAULT_RATE_LIMITS, read: { limit: 10, window_s: 60 } };

describe('rate limiter (GCRA)', () => {
  it('lets a full allowance through at once, then refuses with the wait until one request refills', () => {
    const rl = new RateLimiter(rules, 100);
    const now = 1_000_000;
    const decisions = Array.from({ length: 11 }, () => rl.take('read', 'a', now));
    expect(decisions.slice(0, 10).every((d) => d.allowed)).toBe(true);
    expect(decisions.map((d) => d.remaining).slice(0, 10)).toEqual([9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
    const refused = decisions[10]!;
    expect(refused.allowed).toBe(false);
    expect(refused.retryAfterS).toBe(6); // one request per 6 s refills
    expect(rl.take('read', 'a', now + 5_999).allowed).toBe(false);
    expect(rl.take('read', 'a', now + 6_000).allowed).toBe(true);
  });

  it('keeps clients and buckets apart', () => {
    const rl = new RateLimiter(rules, 100);
    for (let i = 0; i < 10; i++) rl.take('read', 'a', 0);
    expect(rl.take('read', 'a', 0).allowed).toBe(false);
    expect(rl.take('read', 'b', 0).allowed).toBe(true);
    expect(rl.take('health', 'a', 0).allowed).toBe(true);
  });

  it('holds at most its cap of client entries however many addresses come', () => {
    const rl = new RateLimiter(rules, 100);
    for (let i = 0; i < 5_000; i++) rl.take('read', `10.0.${i >> 8}.${i & 255}`, 0);
    expect(rl.trackedKeys).toBe(100);
  });
});

describe('client identity', () => {
  const req = (xff?: string) => new Request('http://x/', { headers: xff ? { 'x-forwarded-for': xff } : {} });

  it('ignores X-Forwarded-For unless a proxy is declared', () => {
    expect(clientKey(req('1.2.3.4'), '127.0.0.1', 0)).toBe('127.0.0.1');
  });

  it('behind proxies, takes the address the outermost trusted one appended (counted from the right)', () => {
    // The client wrote 1.2.3.4; the proxy appended the address it saw, 10.0.0.1.
    expect(clientKey(req('1.2.3.4, 10.0.0.1'), '127.0.0.1', 1)).toBe('10.0.0.1');
    expect(clientKey(req('1.2.3.4, 203.0.113.7, 10.0.0.2'), '127.0.0.1', 2)).toBe('203.0.113.7');
    expect(clientKey(req('203.0.113.7'), '127.0.0.1', 3)).toBe('203.0.113.7'); // fewer hops than proxies
    expect(clientKey(req(), '127.0.0.1', 1)).toBe('127.0.0.1');
    expect(clientKey(req('1.2.3.4, not-an-address'), '127.0.0.1', 1)).toBe('127.0.0.1');
  });

  it('keys an IPv6 client by its /64 and unwraps IPv4-mapped addresses', () => {
    expect(clientKey(req(), '2001:db8:1:2:aaaa::1', 0)).toBe('2001:db8:1:2::/64');
    expect(clientKey(req(), '2001:db8:1:2:bbbb::9', 0)).toBe('2001:db8:1:2::/64');
    expect(clientKey(req(), '::ffff:10.1.2.3', 0)).toBe('10.1.2.3');
  });
});

describe('rate limits over HTTP', () => {
  it('answers a 1,000-request burst with the allowance, then 429s with Retry-After, and nothing else', async () => {
    await using s = await testServer({
      rateLimits: { ...DEFAULT_RATE_LIMITS, read: { limit: 100, window_s: 60 } },
    });
    const responses = await Promise.all(Array.from({ length: 1000 }, () => s.get('/api/status')));
    const statuses = new Map<number, number>();
    for (const r of responses) statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    expect([...statuses.keys()].sort()).toEqual([200, 429]);
    // one more may refill while the burst is in flight (0.6 s per request)
    expect(statuses.get(200)).toBeGreaterThanOrEqual(100);
    expect(statuses.get(200)).toBeLessThanOrEqual(103);
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as Array<{
      error?: { code: string; message: string };
    }>;
    expect(bodies.filter((b) => b.error?.code === 'rate_limited').length).toBe(statuses.get(429)!);
    const limited = responses.find((r) => r.status === 429)!;
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('100');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('x-ratelimit-reset'))).toBeGreaterThan(Date.now() / 1000);
    expect(bodies.find((b) => b.error)?.error?.message).toContain('100 requests per 60s');
    // other buckets still answer, and the server is healthy
    expect((await fetch(`${s.url}/health/live`)).status).toBe(200);
    const metrics = await (await s.get('/metrics')).text();
    expect(metrics).toContain(`atl_api_rate_limited_total{bucket="read"} ${statuses.get(429)}`);
  });

  it('counts unauthenticated attempts against the limit, so keys cannot be guessed at speed', async () => {
    await using s = await testServer({
      rateLimits: { ...DEFAULT_RATE_LIMITS, read: { limit: 5, window_s: 60 } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push((await s.get('/api/status', { 'x-api-key': `Guess-${i}-Key!abcdef` })).status);
    expect(statuses).toEqual([403, 403, 403, 403, 403, 429, 429, 429]);
  });

  it('behind a trusted proxy, a client rotating the leftmost X-Forwarded-For is still one client', async () => {
    await using s = await testServer({
      trustProxy: 1,
      rateLimits: { ...DEFAULT_RATE_LIMITS, read: { limit: 5, window_s: 60 } },
    });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++)
      statuses.push(
        (await s.get('/api/status', { 'x-forwarded-for': `198.51.100.${i}, 203.0.113.7` })).status,
      );
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429]);
    // another address the proxy appended has its own allowance
    expect((await s.get('/api/status', { 'x-forwarded-for': '198.51.100.1, 203.0.113.8' })).status).toBe(200);
  });

  it('bounds wrong-key guesses per address across routes, apart from the route buckets', async () => {
    await using s = await testServer({
      trustProxy: 1,
      rateLimits: { ...DEFAULT_RATE_LIMITS, auth_failures: { limit: 4, window_s: 60 } },
    });
    const from = (i: number) => ({ 'x-forwarded-for': `198.51.100.${i}, 203.0.113.9` });
    const guesses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const path = i % 2 === 0 ? '/api/status' : '/api/decisions';
      guesses.push((await s.get(path, { ...from(i), 'x-api-key': `Guess-${i}-Key!abcdef` })).status);
    }
    expect(guesses).toEqual([403, 403, 403, 403, 429, 429]);
    const locked = await s.get('/api/status', from(99));
    expect(locked.status).toBe(429); // the right key waits out the lockout too: no oracle for a guess
    const body = (await locked.json()) as { error: { message: string; hint: string } };
    expect(body.error.message).toContain('too many wrong API keys from this address: 4 per 60s');
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // a missing key is not a guess; other addresses and open routes are unaffected
    expect((await s.get('/api/status', { 'x-forwarded-for': '203.0.113.10' })).status).toBe(200);
    expect((await fetch(`${s.url}/health/live`, { headers: from(1) })).status).toBe(200);
    const metrics = await (await s.get('/metrics', { 'x-forwarded-for': '203.0.113.10' })).text();
    expect(metrics).toContain('atl_api_rate_limited_total{bucket="auth_failures"} 3');
  });

  it('sends X-RateLimit headers on allowed responses too', async () => {
    await using s = await testServer();
    const res = await fetch(`${s.url}/health`);
    expect(res.headers.get('x-ratelimit-limit')).toBe('600');
    expect(res.headers.get('x-ratelimit-remaining')).toBe('599');
    expect(res.headers.get('retry-after')).toBeNull();
  });
});
