import { describe, expect, it } from 'bun:test';
import type { OrderRequestRecord } from '../../core/schema/api.ts';
import type { TradeBook } from '../../reports/trade-book.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { orderRequest, queueOrders } from '../support/orders.ts';
import { readDecisions } from '../support/records.ts';

/** Poll `atl trades --json` (exit 0 only once the engine has written its state) until `until` holds. */
async function tradesWhen(root: string, until: (b: TradeBook) => boolean): Promise<TradeBook> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const r = await atl(['trades', '--json', '--data-dir', root]);
    if (r.code === 0) {
      const b = JSON.parse(r.stdout) as TradeBook;
      if (until(b)) return b;
    }
    if (Date.now() > deadline) throw new Error('trade book never reached the expected state');
    await Bun.sleep(100);
  }
}

async function trades(root: string, ...args: string[]): Promise<TradeBook> {
  const r = await atl(['trades', '--json', '--data-dir', root, ...args]);
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as TradeBook;
}

describe('operator verbs: status positions, trades, force-exit', () => {
  it('shows an open position with last price, unrealised P&L and stops; force-exit closes it on the next bar, audited, and refuses what it cannot do', async () => {
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
      // Stops far away, so a loaded machine's slow reads never find it closed by its stop meanwhile.
      queueOrders(dir.path, orderRequest('open-1', { stop_loss: 1, take_profit: 10_000_000 }));
      const book = await tradesWhen(dir.path, (b) => b.open.length > 0);
      const pos = book.open[0]!;
      expect(pos.symbol).toBe('BTC/USDT');
      expect(pos.side).toBe('long');
      expect(pos.stop_loss).toBeLessThan(pos.entry_price);
      expect(pos.take_profit).toBeGreaterThan(pos.entry_price);
      expect(pos.unrealized_pnl_pct).toBeCloseTo(
        (pos.unrealized_pnl / (pos.entry_price * pos.quantity)) * 100,
        8,
      );

      const status = await atl(['status', '--data-dir', dir.path]);
      expect(status.stdout).toMatch(
        /position {4}BTC\/USDT: long 0\.01 @ [\d,.]+, last [\d,.]+, unrealised [+-]?[\d,.]+ \([+-]?\d+\.\d\d%\), stop [\d,.]+, target [\d,.]+/,
      );
      const human = await atl(['trades', '--data-dir', dir.path]);
      expect(human.stdout).toContain('unrealised (quote)');
      expect(human.stdout).toContain('OPEN POSITIONS (1) — paper_synthetic');

      const exit = await atl([
        'force-exit',
        'btc/usdt',
        '--reason',
        'drill',
        '--json',
        '--data-dir',
        dir.path,
      ]);
      expect(exit.code).toBe(0);
      const request = JSON.parse(exit.stdout) as OrderRequestRecord;
      expect(request).toMatchObject({
        source: 'cli',
        order: {
          symbol: 'BTC/USDT',
          side: 'sell',
          quantity: 0.01,
          reduce_only: true,
          reason: 'force-exit: drill',
        },
      });
      expect(request.client).toContain('@');

      const [decision] = await waitFor(() => {
        const hits = readDecisions(dir.path).filter((d) =>
          d.gate_trace.some(
            (g) => g.stage === 'operator_order' && g.reason === `filled:${request.request_id}`,
          ),
        );
        return hits.length > 0 ? hits : null;
      });
      expect(decision!.action).toBe('sell');
      expect(decision!.execution!.fills.some((f) => f.reason === `force_exit:${request.request_id}`)).toBe(
        true,
      );
      const after = await tradesWhen(dir.path, (b) => b.open.length === 0 && b.closed.length > 0);
      expect(after.closed[0]!.exit_reason).toBe(`force_exit:${request.request_id}`);

      const none = await atl(['force-exit', 'BTC/USDT', '--data-dir', dir.path]);
      expect(none.code).toBe(2);
      expect(none.stderr).toContain('no open position in BTC/USDT');
    } finally {
      engine.kill('SIGTERM');
      await engine.exited;
    }
    const stopped = await atl(['force-exit', 'BTC/USDT', '--data-dir', dir.path]);
    expect(stopped.code).toBe(3);
    expect(stopped.stderr).toContain('no engine is running');
    expect((await atl(['emergency-stop', '--reason', 'drill', '--data-dir', dir.path])).code).toBe(0);
    const halted = await atl(['force-exit', 'BTC/USDT', '--data-dir', dir.path]);
    expect(halted.code).toBe(2);
    expect(halted.stderr).toContain('trading is halted');
    expect((await atl(['force-exit', 'BTC-USDT', '--data-dir', dir.path])).code).toBe(64);
  });

  it('lists closed trades newest first, filtered by --symbol and --since; a bad --since is a usage error', async () => {
    using dir = tempDir();
    expect((await atl(['run', '--max-bars', '400', '--data-dir', dir.path])).code).toBe(0);
    const all = await trades(dir.path, '--limit', '0');
    expect(all.closed.length).toBeGreaterThan(3);
    expect(all.closed_stats.trades).toBe(all.closed.length);
    const exits = all.closed.map((t) => t.exit_ts);
    expect([...exits].sort().reverse()).toEqual(exits);
    const symbol = all.closed[0]!.symbol;
    const one = await trades(dir.path, '--symbol', symbol.toLowerCase(), '--limit', '0');
    expect(one.closed.length).toBe(all.closed.filter((t) => t.symbol === symbol).length);
    const middle = exits[Math.floor(exits.length / 2)]!;
    const since = await trades(dir.path, '--since', middle, '--limit', '0');
    expect(since.closed.length).toBe(exits.filter((e) => e >= middle).length);
    expect((await trades(dir.path, '--limit', '2')).closed.length).toBe(2);
    const bad = await atl(['trades', '--since', 'last tuesday', '--data-dir', dir.path]);
    expect(bad.code).toBe(64);
    expect(bad.stderr).toContain('--since must be');
  });

  it('an exit whose position closed before its bar is refused by the engine, never opened as the opposite side', async () => {
    using dir = tempDir();
    queueOrders(dir.path, orderRequest('late', { side: 'sell', reduce_only: true }));
    const r = await atl(['run', '--max-bars', '3', '--symbols', 'BTC/USDT', '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    const first = readDecisions(dir.path)[0]!;
    expect(first.gate_trace.filter((g) => g.stage === 'operator_order').map((g) => g.reason)).toEqual([
      'rejected:no_position_to_exit:late',
    ]);
    expect(first.execution).toBeNull();
  });
});
