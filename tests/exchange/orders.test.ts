import { afterEach, describe, expect, it } from 'bun:test';
import { ExchangeClient } from '../../core/exchange/client.ts';
import { clientOrderIdFor, ExchangeOrders } from '../../core/exchange/orders.ts';
import { BINANCE_ERRORS, FAKE_API_KEY, FAKE_API_SECRET, FakeBinance } from '../support/fake-binance.ts';

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

async function gateway(ex: FakeBinance): Promise<ExchangeOrders> {
  const client = await ExchangeClient.create({
    exchangeId: 'binance',
    url: ex.url,
    sandbox: true,
    credentials: { apiKey: FAKE_API_KEY, secret: FAKE_API_SECRET },
    timeoutMs: 800,
    maxAttempts: 2,
    breaker: { failureThreshold: 100, cooldownMs: 1_000 },
  });
  return new ExchangeOrders(client, 800);
}

const posts = (ex: FakeBinance) =>
  ex.requests.filter((r) => r.method === 'POST' && r.path === '/api/v3/order');
const intent = (id: string) => ({
  symbol: 'BTC/USDT',
  side: 'buy' as const,
  quantity: 0.001,
  clientOrderId: clientOrderIdFor(id, 0),
});

describe('exchange orders (testnet sandbox URLs, signed requests)', () => {
  it('looks the order up, places it once with a deterministic client id, and returns the exchange fill', async () => {
    fake = new FakeBinance();
    const orders = await gateway(fake);
    const out = await orders.place(intent('tn-BTCUSDT-1m-20261124T090000Z'));
    expect(out.status).toBe('filled');
    if (!('orderId' in out)) throw new Error('expected a fill');
    expect(out.reconciled).toBe(false);
    expect(out.filled).toBe(0.001);
    expect(out.average).toBeGreaterThan(0);
    expect(fake.orders.has(out.clientOrderId)).toBe(true);
    expect(
      fake.requests.filter((r) => r.path === '/api/v3/order').map((r) => `${r.method} ${r.status}`),
    ).toEqual(['GET 400', 'POST 200']);
    expect(clientOrderIdFor('tn-BTCUSDT-1m-20261124T090000Z', 0)).toMatch(/^[A-Za-z0-9_-]{1,36}$/);
  });

  it('treats a 5xx after the order was accepted as outcome unknown and reconciles by query instead of placing it twice', async () => {
    fake = new FakeBinance();
    const orders = await gateway(fake);
    fake.inject('/api/v3/order', BINANCE_ERRORS.orderNotFound);
    fake.inject('/api/v3/order', { kind: 'placed-then-5xx', status: 502 });
    const out = await orders.place(intent('tn-BTCUSDT-1m-20261124T090100Z'));
    expect(out.status).toBe('filled');
    expect('reconciled' in out && out.reconciled).toBe(true);
    expect(posts(fake).length).toBe(1);
    expect(fake.orders.size).toBe(1);
  });

  it('places the order once more, with the same id, only after the query says the exchange never got it', async () => {
    fake = new FakeBinance();
    const orders = await gateway(fake);
    fake.inject('/api/v3/order', BINANCE_ERRORS.orderNotFound);
    fake.inject('/api/v3/order', BINANCE_ERRORS.internalError);
    const out = await orders.place(intent('tn-BTCUSDT-1m-20261124T090200Z'));
    expect(out.status).toBe('filled');
    const sent = posts(fake);
    expect(sent.map((r) => r.status)).toEqual([503, 200]);
    expect([...fake.orders.keys()]).toEqual([clientOrderIdFor('tn-BTCUSDT-1m-20261124T090200Z', 0)]);
  });

  it('reports unknown (never a guess) when neither placement nor the queries can tell', async () => {
    fake = new FakeBinance();
    const orders = await gateway(fake);
    fake.inject('/api/v3/order', BINANCE_ERRORS.orderNotFound);
    fake.inject('/api/v3/order', { kind: 'placed-then-5xx', status: 500 });
    fake.inject('/api/v3/order', BINANCE_ERRORS.internalError, 20);
    const out = await orders.place(intent('tn-BTCUSDT-1m-20261124T090300Z'));
    expect(out.status).toBe('unknown');
    expect(posts(fake).length).toBe(1);
  }, 20_000);

  it('finds the order a re-derived decision already placed and does not place it again', async () => {
    fake = new FakeBinance();
    const orders = await gateway(fake);
    const first = await orders.place(intent('tn-BTCUSDT-1m-20261124T090400Z'));
    const again = await orders.place(intent('tn-BTCUSDT-1m-20261124T090400Z'));
    expect(first.status).toBe('filled');
    expect(again.status).toBe('filled');
    expect('reconciled' in again && again.reconciled).toBe(true);
    expect(posts(fake).length).toBe(1);
  });

  it('returns a refusal as rejected without retrying it', async () => {
    fake = new FakeBinance();
    const orders = await gateway(fake);
    fake.inject('/api/v3/order', BINANCE_ERRORS.orderNotFound);
    fake.inject('/api/v3/order', BINANCE_ERRORS.insufficientBalance);
    const out = await orders.place(intent('tn-BTCUSDT-1m-20261124T090500Z'));
    expect(out.status).toBe('rejected');
    expect('reason' in out && out.reason).toMatch(/^rejected:/);
    expect(posts(fake).length).toBe(1);
  });
});
