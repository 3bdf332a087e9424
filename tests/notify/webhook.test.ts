import { describe, expect, it } from 'bun:test';
import { WebhookNotifier } from '../../core/notify/webhook.ts';
import { validate } from '../../core/schema/ajv.ts';
import { NotifyEvent } from '../../core/schema/notify.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { orderRequest, queueOrders } from '../support/orders.ts';
import { readHeartbeat } from '../support/records.ts';

type Received = { at: number; body: NotifyEvent; eventId: string | null };

/** A loopback webhook receiver; `respond` decides each answer (status, delay) from the request count. */
function receiver(respond: (n: number) => { status: number; delayMs?: number; retryAfter?: string }) {
  const got: Received[] = [];
  let n = 0;
  const server = Bun.serve({
    port: 0,
    hostname: '127.0.0.1',
    async fetch(req) {
      const body = (await req.json()) as NotifyEvent;
      const r = respond(++n);
      if (r.delayMs) await Bun.sleep(r.delayMs);
      if (r.status < 300) got.push({ at: Date.now(), body, eventId: req.headers.get('x-atl-event-id') });
      return new Response(null, {
        status: r.status,
        headers: r.retryAfter ? { 'retry-after': r.retryAfter } : {},
      });
    },
  });
  return {
    url: `http://127.0.0.1:${server.port}/hook`,
    got,
    requests: () => n,
    [Symbol.dispose]: () => server.stop(true),
  };
}

const event = (i: number): NotifyEvent => ({
  schema_version: '1.0.0',
  id: `d${i}:halt`,
  ts: new Date().toISOString(),
  host: 'h',
  mode: 'paper_synthetic',
  symbol: 'BTC/USDT',
  decision_id: `d${i}`,
  bar_ts: '2026-05-01T00:00:00.000Z',
  event: 'halt',
  reason: `r${i}`,
});

describe('webhook notifier (loopback receivers)', () => {
  it('delivers events in order, each once, with its id in a header', async () => {
    using rx = receiver(() => ({ status: 204 }));
    const n = new WebhookNotifier(rx.url);
    for (let i = 0; i < 5; i++) n.send(event(i));
    await n.close();
    expect(rx.got.map((g) => g.body.id)).toEqual(['d0:halt', 'd1:halt', 'd2:halt', 'd3:halt', 'd4:halt']);
    expect(rx.got.every((g) => g.eventId === g.body.id)).toBe(true);
    expect(n.stats()).toMatchObject({ sent: 5, failed: 0, dropped: 0, pending: 0 });
  });

  it('retries a failing receiver with backoff (honouring Retry-After), then gives up on that event and sends the next', async () => {
    using flaky = receiver((k) => (k <= 2 ? { status: 503, retryAfter: '0' } : { status: 200 }));
    const a = new WebhookNotifier(flaky.url, { baseDelayMs: 20 });
    a.send(event(1));
    await a.close();
    expect(flaky.requests()).toBe(3);
    expect(flaky.got.map((g) => g.body.id)).toEqual(['d1:halt']);
    expect(a.stats()).toMatchObject({ sent: 1, retries: 2 });

    using broken = receiver((k) => (k <= 3 ? { status: 500 } : { status: 200 }));
    const b = new WebhookNotifier(broken.url, { attempts: 3, baseDelayMs: 10 });
    b.send(event(1));
    b.send(event(2));
    await b.close();
    expect(broken.got.map((g) => g.body.id)).toEqual(['d2:halt']);
    expect(b.stats()).toMatchObject({ sent: 1, failed: 1 });

    using refusing = receiver(() => ({ status: 400 }));
    const c = new WebhookNotifier(refusing.url, { baseDelayMs: 10 });
    c.send(event(1));
    await c.close();
    expect(refusing.requests()).toBe(1); // a 400 will not get better: not retried
  });

  it('never makes the sender wait on a slow receiver, times requests out, and stays bounded', async () => {
    using slow = receiver(() => ({ status: 200, delayMs: 1000 }));
    const n = new WebhookNotifier(slow.url, { maxQueue: 3, attempts: 1, timeoutMs: 100, drainMs: 2000 });
    const started = performance.now();
    for (let i = 0; i < 10; i++) n.send(event(i));
    expect(performance.now() - started).toBeLessThan(50); // send only enqueues
    // The queue holds three, the one in flight included: the seven oldest behind it were dropped.
    expect(n.stats()).toMatchObject({ dropped: 7, pending: 3 });
    await n.close();
    expect(n.stats()).toMatchObject({ failed: 3, sent: 0, pending: 0 });
  });

  it('gives up what is still queued once the drain time after close() is spent', async () => {
    using slow = receiver(() => ({ status: 200, delayMs: 400 }));
    const n = new WebhookNotifier(slow.url, { drainMs: 300, timeoutMs: 5000 });
    for (let i = 0; i < 5; i++) n.send(event(i));
    const started = performance.now();
    await n.close();
    expect(performance.now() - started).toBeLessThan(1500);
    expect(n.stats().pending).toBe(0);
    expect(n.stats().dropped + n.stats().failed).toBeGreaterThanOrEqual(4);
  });
});

describe('atl run --notify-url', () => {
  it('posts every fill and each capital-preservation level change of a backtest, in the event schema', async () => {
    using rx = receiver(() => ({ status: 200 }));
    using dir = tempDir();
    const r = await atl(['run', '--max-bars', '600', '--notify-url', rx.url, '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    const fills = rx.got.filter((g) => g.body.event === 'fill');
    const levels = rx.got.filter((g) => g.body.event === 'preservation');
    expect(fills.length).toBeGreaterThan(10);
    expect(levels.length).toBeGreaterThan(0);
    expect(levels.at(-1)!.body).toMatchObject({ event: 'preservation', to: 'critical' });
    for (const g of rx.got) expect(validate(NotifyEvent, g.body)).toMatchObject({ ok: true });
    expect(new Set(rx.got.map((g) => g.body.id)).size).toBe(rx.got.length);
  });

  it('keeps ticking while the receiver hangs, and reports the halt of an emergency stop', async () => {
    using rx = receiver(() => ({ status: 200, delayMs: 1500 }));
    using dir = tempDir();
    const engine = spawnAtl([
      'run',
      '--mode',
      'paper_synthetic',
      '--interval',
      '0.1',
      '--symbols',
      'BTC/USDT',
      '--notify-url',
      rx.url,
      '--data-dir',
      dir.path,
    ]);
    try {
      queueOrders(dir.path, orderRequest('notify-buy'));
      await waitFor(() => rx.requests() >= 1); // the fill's event is at the receiver, which sits on it
      const seq = readHeartbeat(dir.path)!.seq;
      await Bun.sleep(800);
      expect(rx.got.length).toBe(0);
      expect(readHeartbeat(dir.path)!.seq - seq).toBeGreaterThanOrEqual(4); // 0.1 s ticks went on
      const stop = await atl(['emergency-stop', '--reason', 'drill', '--data-dir', dir.path]);
      expect(stop.code).toBe(0);
      await engine.exited;
      expect(rx.got.map((g) => g.body.event)).toEqual(['fill', 'fill', 'halt']); // open, flatten, halt
      expect(rx.got.at(-1)!.body).toMatchObject({ event: 'halt', reason: 'drill' });
    } finally {
      engine.kill('SIGKILL');
    }
  }, 60_000);

  it('exits 64 on a URL that is not http(s)', async () => {
    using dir = tempDir();
    const r = await atl(['run', '--max-bars', '2', '--notify-url', 'ftp://x', '--data-dir', dir.path]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('--notify-url must be an http(s) URL');
  });
});
