import { afterEach, describe, expect, it } from 'bun:test';
import type { ForwardReturnOutcome } from '../../core/schema/outcome.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { FakeBinance } from '../support/fake-binance.ts';
import { fmt, priceAt } from '../support/fake-binance-market.ts';
import { chainBreaks, readDecisions, readHeartbeat, readOutcomes } from '../support/records.ts';

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

// `--timeframe 1s --interval 1` is the accelerated form of `--timeframe 1m --interval 60`: the
// same code path with real timing, sixty times faster (README: the 5-minute version by hand).
const LIVE = ['run', '--mode', 'paper_live_data', '--timeframe', '1s', '--interval', '1'];

describe('atl run --mode paper_live_data against the loopback exchange', () => {
  it('writes one PAPER_LIVE record per symbol per closed candle, and the heartbeat counters match the log', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const r = await atl([...LIVE, '--max-bars', '5', '--exchange-url', fake.url, '--data-dir', dir.path]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ccxt');
    const records = readDecisions(dir.path);
    expect(records.length).toBe(15);
    expect(chainBreaks(dir.path)).toEqual([]);
    expect(
      records.every(
        (d) =>
          d.data_mode === 'PAPER_LIVE' &&
          d.mode === 'paper_live_data' &&
          d.source.kind === 'ccxt' &&
          d.source.ref === `binance@${fake!.url}`,
      ),
    ).toBe(true);
    expect(new Set(records.map((d) => d.decision_id)).size).toBe(15);
    for (const s of ['BTC/USDT', 'ETH/USDT', 'SOL/USDT']) {
      const closes = records.filter((d) => d.symbol === s).map((d) => Date.parse(d.bar_ts));
      expect(closes.length).toBe(5);
      expect(closes.every((c, i) => i === 0 || c - closes[i - 1]! === 1_000)).toBe(true);
    }
    expect(records.every((d) => d.market.price !== null && d.market.data_age_s! < 2)).toBe(true);
    const hb = readHeartbeat(dir.path)!;
    expect(hb.total_decisions_session).toBe(15);
    expect(hb.paper_live_decisions_session).toBe(15);
    expect(hb.seq).toBe(5);
    expect(hb.per_symbol['ETH/USDT']!.decisions).toBe(5);
    expect(hb.circuit_breakers).toEqual({ binance: 'closed' });
    // Every kline request after a symbol's first starts at the newest candle the one before it
    // covered (or repeats it, waiting for a candle to close): never a re-scan of history per poll.
    // How many candles it asks for depends on how late the poll is, which a loaded machine decides.
    const windows = new Map<string, { start: number; limit: number }[]>();
    for (const q of fake.requestsTo('/api/v3/klines')) {
      const p = new URLSearchParams(q.query);
      const w = windows.get(p.get('symbol')!) ?? [];
      w.push({ start: Number(p.get('startTime')), limit: Number(p.get('limit')) });
      windows.set(p.get('symbol')!, w);
    }
    expect(windows.size).toBe(3);
    for (const w of windows.values()) {
      expect(w.length).toBeGreaterThan(1);
      const rescans = w.filter((cur, i) => {
        const prev = w[i - 1];
        return prev && cur.start !== prev.start && cur.start < prev.start + (prev.limit - 1) * 1_000;
      });
      expect(rescans).toEqual([]);
    }
  }, 40_000);

  it('keeps running with the exchange host unresolvable, writing data_fetch holds that name the host', async () => {
    using dir = tempDir();
    const r = await atl([
      ...LIVE,
      '--max-bars',
      '3',
      '--exchange-url',
      'http://exchange.invalid:9',
      '--symbols',
      'BTC/USDT,ETH/USDT',
      '--data-dir',
      dir.path,
    ]);
    expect(r.code).toBe(0);
    const records = readDecisions(dir.path);
    expect(records.length).toBe(6);
    expect(
      records.every(
        (d) =>
          d.block_reason === 'dns_failure:exchange.invalid' &&
          d.blocked_stage === 'data_fetch' &&
          d.action === 'hold' &&
          d.market.price === null,
      ),
    ).toBe(true);
    const hb = readHeartbeat(dir.path)!;
    expect(hb.total_decisions_session).toBe(6);
    expect(hb.circuit_breakers).toEqual({ binance: 'open' });
  }, 40_000);

  it('holds with insufficient_data:<rows> for a newly listed symbol with too little history', async () => {
    using dir = tempDir();
    fake = new FakeBinance({ symbols: { 'NEW/USDT': { historyBars: 10 } } });
    const r = await atl([
      ...LIVE,
      '--max-bars',
      '2',
      '--symbols',
      'NEW/USDT',
      '--exchange-url',
      fake.url,
      '--data-dir',
      dir.path,
    ]);
    expect(r.code).toBe(0);
    const records = readDecisions(dir.path);
    expect(records.length).toBe(2);
    for (const d of records) {
      const rows = Number(/^insufficient_data:(\d+)$/.exec(d.block_reason ?? '')?.[1]);
      expect(rows).toBeGreaterThan(9);
      expect(rows).toBeLessThan(50);
      expect(d.blocked_stage).toBe('data_fetch');
    }
  }, 40_000);

  it('fills an outcome horizon that fell into a restart from the candles fetched at start, not from a later bar', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const run = () =>
      atl([
        ...LIVE,
        '--symbols',
        'BTC/USDT',
        '--max-bars',
        '3',
        '--exchange-url',
        fake!.url,
        '--data-dir',
        dir.path,
      ]);
    expect((await run()).code).toBe(0);
    const last = readDecisions(dir.path).at(-1)!;
    await Bun.sleep(2_500); // the engine is down for two or three bars
    expect((await run()).code).toBe(0);
    const closeTs = Date.parse(last.bar_ts);
    // The bar one second after the last decision closed while no engine ran: it was never decided…
    expect(readDecisions(dir.path).some((d) => Date.parse(d.bar_ts) === closeTs + 1_000)).toBe(false);
    // …but its close, from the history fetched at start, is that decision's 1-bar return (the
    // 20-bar horizon is still open, so the second run's exit wrote what it knew).
    const latest = readOutcomes(dir.path)
      .filter(
        (o): o is ForwardReturnOutcome => o.kind === 'forward_return' && o.decision_id === last.decision_id,
      )
      .at(-1)!;
    const closeAt = (ms: number) => Number(fmt(priceAt('BTCUSDT', 'BTC', ms)));
    // Every decision saw its candle's final close, never one still forming.
    for (const d of readDecisions(dir.path)) expect(d.market.price).toBe(closeAt(Date.parse(d.bar_ts)));
    expect(latest.complete).toBe(false);
    expect(latest.forward_returns['1']).toBe(closeAt(closeTs + 1_000) / last.market.price! - 1);
  }, 40_000);

  it('reads the exchange URL from ATL_EXCHANGE_URL when the flag is absent', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const r = await atl([...LIVE, '--max-bars', '1', '--symbols', 'SOL/USDT', '--data-dir', dir.path], {
      env: { ATL_EXCHANGE_URL: fake.url },
    });
    expect(r.code).toBe(0);
    expect(readDecisions(dir.path)[0]!.source.ref).toBe(`binance@${fake.url}`);
  }, 40_000);

  it('stops within one request timeout on SIGTERM while the exchange hangs, and exits 0', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const proc = spawnAtl([
      ...LIVE,
      '--symbols',
      'BTC/USDT',
      '--exchange-url',
      fake.url,
      '--data-dir',
      dir.path,
    ]);
    await waitFor(() => readHeartbeat(dir.path)?.status === 'running', 20_000);
    fake.inject('/api/v3/klines', { kind: 'hang' }, 1_000);
    await waitFor(() => fake!.requests.some((r) => r.fault === 'hang'), 10_000);
    const signalled = Date.now();
    proc.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(Date.now() - signalled).toBeLessThan(4_000); // the request timeout is 2 s at --interval 1
    expect(readHeartbeat(dir.path)!.status).toBe('stopped');
  }, 40_000);

  const refusals: [string, string[], number, RegExp][] = [
    [
      'a malformed --exchange-url',
      ['--exchange-url', 'not a url'],
      64,
      /--exchange-url must be an absolute URL/,
    ],
    [
      'an exchange ccxt does not know',
      ['--exchange', 'nosuchexchange', '--exchange-url', 'http://127.0.0.1:9'],
      78,
      /unknown exchange "nosuchexchange"/,
    ],
    [
      'a timeframe the exchange does not serve',
      ['--timeframe', '7m', '--exchange-url', 'http://127.0.0.1:9'],
      78,
      /binance has no 7m candles/,
    ],
  ];
  for (const [what, flags, code, message] of refusals) {
    it(`exits ${code} with one line for ${what}`, async () => {
      using dir = tempDir();
      const r = await atl([...LIVE, '--max-bars', '1', '--data-dir', dir.path, ...flags]);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n').length).toBe(1);
    }, 40_000);
  }

  it('exits 64 naming a symbol the exchange does not list (a bad --symbols)', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const r = await atl([
      ...LIVE,
      '--max-bars',
      '1',
      '--symbols',
      'BTC/USDT,FOO/BAR',
      '--exchange-url',
      fake.url,
      '--data-dir',
      dir.path,
    ]);
    expect(r.code).toBe(64);
    expect(r.stderr).toContain('FOO/BAR is not listed on binance');
  }, 40_000);
});
