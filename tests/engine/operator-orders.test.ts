import { describe, expect, it } from 'bun:test';
import { validateContract } from '../../core/schema/ajv.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { orderRequest, queueOrders } from '../support/orders.ts';
import { readDecisions, readHeartbeat } from '../support/records.ts';

const filledBy = (root: string, id: string) =>
  readDecisions(root).filter((d) =>
    d.gate_trace.some((g) => g.stage === 'operator_order' && g.reason?.endsWith(id)),
  );

describe('operator orders from POST /api/orders', () => {
  it('a queued market order is filled on the symbol’s next bar and recorded in that decision, once', async () => {
    using dir = tempDir();
    const engine = spawnAtl([
      'run',
      '--mode',
      'paper_synthetic',
      '--interval',
      '0.3',
      '--symbols',
      'BTC/USDT',
      '--data-dir',
      dir.path,
    ]);
    try {
      await waitFor(() => (readHeartbeat(dir.path)?.seq ?? 0) >= 2);
      queueOrders(
        dir.path,
        orderRequest('req-1', { symbol: 'BTC/USDT', side: 'sell', quantity: 0.02 }),
        orderRequest('req-2', { symbol: 'ETH/USDT', side: 'buy' }),
      );
      const [decision] = await waitFor(() => {
        const hits = filledBy(dir.path, 'req-1');
        return hits.length > 0 ? hits : null;
      });
      const gate = decision!.gate_trace.find((g) => g.stage === 'operator_order')!;
      expect(gate.verdict === 'pass' ? 'filled' : gate.reason).toBe('filled');
      const fill = decision!.execution!.fills.find((f) => f.reason === 'api:req-1')!;
      // A sell against an open long closes it; otherwise it opens a 0.02 short.
      if (fill.intent === 'open') expect(fill.quantity).toBe(0.02);
      else expect(fill.side).toBe('sell');
      // Filled at the bar's close with the paper broker's 0.05% slippage against us.
      expect(Math.abs(fill.price - decision!.market.price!) / decision!.market.price!).toBeCloseTo(0.0005, 8);
      expect(validateContract('DecisionRecord', decision).ok).toBe(true);
      await Bun.sleep(800);
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
    }
    expect(filledBy(dir.path, 'req-1').length).toBe(1);
    // Another symbol's order never touches this engine's book; a restart does not replay req-1.
    expect(filledBy(dir.path, 'req-2').length).toBe(0);
    const again = await atl([
      'run',
      '--mode',
      'paper_synthetic',
      '--interval',
      '0.2',
      '--max-bars',
      '2',
      '--symbols',
      'BTC/USDT',
      '--data-dir',
      dir.path,
    ]);
    expect(again.code).toBe(0);
    expect(filledBy(dir.path, 'req-1').length).toBe(1);
  });

  it('a limit order waits until a bar trades through its price; an order that would add to an open side is refused', async () => {
    using dir = tempDir();
    queueOrders(
      dir.path,
      orderRequest('far', { symbol: 'BTC/USDT', side: 'buy', order_type: 'limit', price: 1 }),
      orderRequest('now', { symbol: 'BTC/USDT', side: 'buy', order_type: 'limit', price: 10_000_000 }),
      orderRequest('again', { symbol: 'BTC/USDT', side: 'buy' }),
    );
    const r = await atl(['run', '--max-bars', '3', '--symbols', 'BTC/USDT', '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    const first = readDecisions(dir.path)[0]!;
    const gates = first.gate_trace.filter((g) => g.stage === 'operator_order');
    expect(gates.map((g) => [g.verdict, g.reason])).toEqual([
      ['pass', 'filled:now'],
      ['block', 'rejected:position_already_open:again'],
    ]);
    expect(first.action).toBe('buy');
    expect(readDecisions(dir.path).some((d) => d.gate_trace.some((g) => g.reason?.endsWith(':far')))).toBe(
      false,
    );
  });
});
