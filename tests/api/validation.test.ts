import { describe, expect, it } from 'bun:test';
import { crossFieldErrors } from '../../core/api/orders.ts';
import { testServer } from './_support.ts';

type ErrorBody = {
  error: { code: string; message: string; fields?: Array<{ path: string; message: string }> };
};

const order = { symbol: 'BTC/USDT', side: 'buy', quantity: 0.01 };

describe('order request validation', () => {
  it('lists every bad field with a 400 validation_failed', async () => {
    await using s = await testServer();
    const res = await s.post('/api/orders', { symbol: 'btc', side: 'hodl', quantity: -1 });
    expect(res.status).toBe(400);
    const body = (await res.json()) as ErrorBody;
    expect(body.error.code).toBe('validation_failed');
    const paths = body.error.fields!.map((f) => f.path);
    expect(paths).toContain('/symbol');
    expect(paths).toContain('/side');
    expect(paths).toContain('/quantity');
  });

  it('rejects unknown fields by name', async () => {
    await using s = await testServer();
    const res = await s.post('/api/orders', { ...order, leverage: 100 });
    expect(res.status).toBe(400);
    expect((await res.json()) as ErrorBody).toMatchObject({
      error: { code: 'validation_failed', fields: [{ path: '/leverage', message: 'is not a known field' }] },
    });
  });

  it('turns injection strings into field errors without echoing them', async () => {
    await using s = await testServer();
    const attacks = [
      "BTC/USDT'; DROP TABLE orders;--",
      '<script>alert(1)</script>',
      '../../etc/passwd',
      'BTC/USDT\u0000',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a template-injection probe, sent literally
      '${process.env.ATL_API_KEY}',
      'A'.repeat(5000),
    ];
    for (const symbol of attacks) {
      const res = await s.post('/api/orders', { ...order, symbol });
      expect(res.status).toBe(400);
      const text = await res.text();
      expect(JSON.parse(text).error.fields[0].path).toBe('/symbol');
      expect(text).not.toContain('<script>');
      expect(text).not.toContain('DROP TABLE');
    }
    const res = await s.post('/api/orders', { ...order, reason: { $gt: '' } });
    expect(res.status).toBe(400);
  });

  it('rejects quantities and prices outside their bounds', async () => {
    await using s = await testServer();
    for (const bad of [
      { quantity: 0 },
      { quantity: 1e12 },
      { quantity: '1' },
      { order_type: 'limit', price: 0 },
      { order_type: 'limit', price: 1e9 },
    ]) {
      const res = await s.post('/api/orders', { ...order, ...bad });
      expect(res.status).toBe(400);
    }
  });

  it('answers 415 for a body that is not declared as JSON and 400 for broken JSON', async () => {
    await using s = await testServer();
    const form = await s.post('/api/orders', 'symbol=BTC', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.status).toBe(415);
    expect(((await form.json()) as ErrorBody).error.code).toBe('unsupported_media_type');
    const broken = await s.post('/api/orders', '{"symbol": "BTC/USDT",');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as ErrorBody).error.code).toBe('invalid_json');
  });

  it('answers 413 for an oversized body, declared or streamed', async () => {
    await using s = await testServer();
    const big = JSON.stringify({ ...order, reason: 'x'.repeat(20_000) });
    const declared = await s.post('/api/orders', big);
    expect(declared.status).toBe(413);
    expect(((await declared.json()) as ErrorBody).error.code).toBe('payload_too_large');
    const chunks = new ReadableStream({
      start(c) {
        for (let i = 0; i < 40; i++) c.enqueue(new TextEncoder().encode(' '.repeat(1024)));
        c.close();
      },
    });
    const streamed = await fetch(`${s.url}/api/orders`, {
      method: 'POST',
      headers: { 'x-api-key': (await import('./_support.ts')).GOOD_KEY, 'content-type': 'application/json' },
      body: chunks,
    });
    expect(streamed.status).toBe(413);
    const huge = await s.post('/api/orders', 'x'.repeat(3 * 1024 * 1024));
    expect(huge.status).toBe(413);
    expect((await fetch(`${s.url}/health/live`)).status).toBe(200);
  });

  it('passes a valid order on to the engine checks (503 when none runs)', async () => {
    await using s = await testServer();
    const res = await s.post('/api/orders', order);
    expect(res.status).toBe(503);
    expect(((await res.json()) as ErrorBody).error.code).toBe('engine_not_running');
  });
});

describe('stop-loss and take-profit ordering', () => {
  const buy = { symbol: 'BTC/USDT', side: 'buy' as const, quantity: 1 };
  const sell = { ...buy, side: 'sell' as const };

  it('accepts a buy with SL below price below TP, and a sell mirrored', () => {
    expect(
      crossFieldErrors({ ...buy, order_type: 'limit', price: 100, stop_loss: 90, take_profit: 120 }),
    ).toEqual([]);
    expect(
      crossFieldErrors({ ...sell, order_type: 'limit', price: 100, stop_loss: 110, take_profit: 80 }),
    ).toEqual([]);
  });

  it('refuses a buy whose stop is above its price or target', () => {
    const errors = crossFieldErrors({
      ...buy,
      order_type: 'limit',
      price: 100,
      stop_loss: 105,
      take_profit: 120,
    });
    expect(errors).toEqual([{ path: '/stop_loss', message: 'must be below price for a buy order' }]);
    expect(crossFieldErrors({ ...buy, stop_loss: 120, take_profit: 110 })[0]?.path).toBe('/stop_loss');
  });

  it('refuses a sell whose target is above its price, and equal levels on either side', () => {
    expect(crossFieldErrors({ ...sell, order_type: 'limit', price: 100, take_profit: 101 })[0]?.path).toBe(
      '/take_profit',
    );
    expect(crossFieldErrors({ ...buy, order_type: 'limit', price: 100, stop_loss: 100 })[0]?.path).toBe(
      '/stop_loss',
    );
  });

  it('needs a price for a limit order and refuses one for a market order', () => {
    expect(crossFieldErrors({ ...buy, order_type: 'limit' })).toEqual([
      { path: '/price', message: 'is required for a limit order' },
    ]);
    expect(crossFieldErrors({ ...buy, price: 100 })[0]?.path).toBe('/price');
  });

  it('reports an ordering error over HTTP as a 400 with the field', async () => {
    await using s = await testServer();
    const res = await s.post('/api/orders', { ...buy, order_type: 'limit', price: 100, stop_loss: 101 });
    expect(res.status).toBe(400);
    expect(((await res.json()) as ErrorBody).error.fields).toEqual([
      { path: '/stop_loss', message: 'must be below price for a buy order' },
    ]);
  });
});

describe('decision query validation', () => {
  it('rejects an out-of-range limit, an unknown parameter and a repeated one', async () => {
    await using s = await testServer();
    for (const q of [
      'limit=0',
      'limit=1001',
      'limit=ten',
      'page=2',
      'symbol=BTC/USDT&symbol=ETH/USDT',
      'since=yesterday',
      'action=panic',
      'before=-5',
    ]) {
      const res = await s.get(`/api/decisions?${q}`);
      expect(res.status).toBe(400);
      expect(((await res.json()) as ErrorBody).error.code).toBe('validation_failed');
    }
  });

  it('accepts the documented filters together', async () => {
    await using s = await testServer();
    const res = await s.get(
      '/api/decisions?limit=1000&symbol=BTC/USDT&action=hold&blocked_stage=data_fetch&since=2026-01-01T00:00:00Z&until=2026-12-31T00:00:00Z',
    );
    expect(res.status).toBe(200);
  });
});

describe('routing', () => {
  it('answers unknown routes with 404 listing the routes, and wrong methods with 405 and Allow', async () => {
    await using s = await testServer();
    const missing = await s.get('/api/../../etc/passwd');
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as ErrorBody).error.code).toBe('not_found');
    const wrong = await fetch(`${s.url}/api/orders`, { method: 'DELETE' });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });
});
