import { describe, expect, it } from 'bun:test';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { readJsonFile } from '../../core/fsx/json-file.ts';
import { dataPaths } from '../../core/paths.ts';
import { validate } from '../../core/schema/ajv.ts';
import { OrderRequestRecord } from '../../core/schema/api.ts';
import { Heartbeat } from '../../core/schema/heartbeat.ts';
import { SafetyState } from '../../core/schema/state.ts';
import { tempDir } from '../support/cli.ts';
import { startPaperEngine, testServer } from './_support.ts';

type Json = Record<string, unknown> & { error?: { code: string; message: string } };

describe('orders and emergency stop against a running engine', () => {
  it('queues paper order requests, then halts the engine through the API and refuses further orders', async () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    const engine = await startPaperEngine(dir.path, ['BTC/USDT', 'ETH/USDT']);
    try {
      await using s = await testServer({}, { root: dir.path });

      const order = {
        symbol: 'ETH/USDT',
        side: 'buy',
        quantity: 0.5,
        order_type: 'limit',
        price: 2000,
        stop_loss: 1900,
        take_profit: 2300,
        client_order_id: 'ord-1',
      };
      const res = await s.post('/api/orders', order, { 'x-request-id': 'test-order-1' });
      expect(res.status).toBe(202);
      const accepted = (await res.json()) as { request_id: string; status: string };
      expect(accepted.status).toBe('queued');
      const queued = readFileSync(paths.orderRequests, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l));
      expect(queued).toHaveLength(1);
      expect(validate(OrderRequestRecord, queued[0]).ok).toBe(true);
      expect(queued[0]).toMatchObject({
        request_id: accepted.request_id,
        http_request_id: 'test-order-1',
        engine: { mode: 'paper_synthetic', pid: engine.pid },
      });
      expect(queued[0].order).toMatchObject({
        symbol: 'ETH/USDT',
        side: 'buy',
        quantity: 0.5,
        price: 2000,
        stop_loss: 1900,
      });

      const retry = await s.post('/api/orders', order);
      expect(retry.status).toBe(200);
      expect(((await retry.json()) as { request_id: string }).request_id).toBe(accepted.request_id);
      expect(readFileSync(paths.orderRequests, 'utf8').trim().split('\n')).toHaveLength(1);

      const otherSymbol = await s.post('/api/orders', { symbol: 'DOGE/USDT', side: 'sell', quantity: 1 });
      expect(otherSymbol.status).toBe(409);
      expect(((await otherSymbol.json()) as Json).error?.code).toBe('symbol_not_traded');

      expect((await s.post('/api/emergency-stop', { reason: '' })).status).toBe(400);
      const stop = await s.post('/api/emergency-stop', { reason: 'api test: drill' });
      const stopBody = (await stop.json()) as {
        halted: boolean;
        status: string;
        checks: Array<{ id: string; status: string }>;
        evidence: string;
      };
      expect(stop.status).toBe(200);
      expect(stopBody.halted).toBe(true);
      expect(stopBody.checks.find((c) => c.id === 'engine:stopped')?.status).toBe('pass');
      expect(existsSync(stopBody.evidence)).toBe(true);
      expect([0, 2]).toContain(await engine.exited);
      const hb = readJsonFile(paths.heartbeat, Heartbeat);
      expect(hb.kind === 'ok' && hb.value.status).toBe('halted');
      const safety = readJsonFile(paths.safety, SafetyState);
      expect(safety.kind === 'ok' && safety.value.halted && safety.value.by).toBe('api:127.0.0.1');

      const refused = await s.post('/api/orders', { symbol: 'BTC/USDT', side: 'sell', quantity: 0.1 });
      expect(refused.status).toBe(409);
      expect(((await refused.json()) as Json).error?.code).toBe('trading_halted');
      const health = (await (await fetch(`${s.url}/health`)).json()) as {
        checks: Record<string, Array<{ status: string }>>;
      };
      expect(health.checks['halt:flag']?.[0]?.status).toBe('warn');
    } finally {
      if (engine.exitCode === null) engine.kill('SIGKILL');
      await engine.exited;
    }
  }, 40_000);

  it('answers an emergency stop the data root refuses with halt_not_written, naming the path: never "internal error"', async () => {
    await using s = await testServer(
      {},
      { prepare: (paths) => mkdirSync(paths.safety, { recursive: true }) },
    );
    const res = await s.post('/api/emergency-stop', { reason: 'api test: halt file blocked' });
    expect(res.status).toBe(500);
    const body = (await res.json()) as Json & { error: { hint?: string } };
    expect(body.error?.code).toBe('halt_not_written');
    expect(body.error.message).toContain('nothing is halted');
    expect(body.error.message).toContain(s.paths.safety);
    expect(body.error.hint).toContain('stop the engine by hand');
  });
});
