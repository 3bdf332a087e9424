import { afterEach, describe, expect, it } from 'bun:test';
import { runEngine } from '../../core/engine/engine.ts';
import type { EntryGuard } from '../../core/engine/stages.ts';
import { CcxtFeed } from '../../core/exchange/ccxt-feed.ts';
import { ExchangeClient } from '../../core/exchange/client.ts';
import type { Resolver } from '../../core/exchange/transport.ts';
import { dataPaths } from '../../core/paths.ts';
import { RuleSignalChain } from '../../core/signals/rule-chain.ts';
import { tempDir, waitFor } from '../support/cli.ts';
import { FakeBinance } from '../support/fake-binance.ts';
import { chainBreaks, readDecisions, readHeartbeat } from '../support/records.ts';

const HOST = 'api.exchange.test';
const SYMBOLS = ['BTC/USDT', 'ETH/USDT'];

let fake: FakeBinance | null = null;
afterEach(() => {
  fake?.stop();
  fake = null;
});

/** DNS the test controls: the exchange's name resolves to the loopback server only while `up`. */
function scriptedDns(): Resolver & { up: boolean } {
  return {
    up: true,
    async lookup(host: string) {
      if (host !== HOST || !this.up)
        throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
      return '127.0.0.1';
    },
  };
}

// The data path is under test, not entries: every signal is held at a recorded gate.
const holdEntries: EntryGuard = {
  evaluate: () => {
    const gate = {
      stage: 'entry',
      verdict: 'block' as const,
      reason: 'entries_disabled_in_test',
      observed: null,
      thresholds: null,
    };
    return { gates: [gate], blocked: gate, notional: null, turnover: null, riskBudget: null };
  },
  preservationLevel: () => null,
  raisedHalt: () => null,
  snapshot: () => null,
  restore: () => {},
};

describe('engine on the live feed', () => {
  it('keeps running through a DNS outage: data_fetch holds name the host, and normal decisions resume when the name resolves again', async () => {
    using dir = tempDir();
    fake = new FakeBinance();
    const dns = scriptedDns();
    const client = await ExchangeClient.create({
      exchangeId: 'binance',
      url: `http://${HOST}:${fake.port}`,
      sandbox: false,
      credentials: null,
      timeoutMs: 800,
      maxAttempts: 2,
      breaker: { failureThreshold: 3, cooldownMs: 1_000 },
      resolver: dns,
    });
    const feed = new CcxtFeed({
      client,
      symbols: SYMBOLS,
      timeframe: '1s',
      timeframeMs: 1_000,
      intervalMs: 1_000,
      warmupBars: 120,
      dataMode: 'PAPER_LIVE',
    });
    const paths = dataPaths(dir.path);
    const run = runEngine(
      {
        paths,
        mode: 'paper_live_data',
        capital: 10_000,
        intervalS: 1,
        maxBars: 9,
        untilMs: null,
        fresh: false,
        argv: ['test'],
        pipeline: { allowShorting: false, minHistoryBars: 50, configHash: 'test' },
        stages: { signal: new RuleSignalChain(0.55), entry: holdEntries, observers: [] },
      },
      feed,
      new AbortController().signal,
    );
    await waitFor(() => (readHeartbeat(dir.path)?.seq ?? 0) >= 2, 15_000);
    dns.up = false;
    await waitFor(() => (readHeartbeat(dir.path)?.seq ?? 0) >= 5, 15_000);
    dns.up = true;
    const result = await run;
    expect(result.outcome).toBe('completed');

    const records = readDecisions(dir.path);
    expect(chainBreaks(dir.path)).toEqual([]);
    const dnsHolds = records.filter((r) => r.block_reason === `dns_failure:${HOST}`);
    expect(dnsHolds.length).toBeGreaterThanOrEqual(2 * SYMBOLS.length);
    expect(
      dnsHolds.every(
        (r) => r.blocked_stage === 'data_fetch' && r.action === 'hold' && r.market.price === null,
      ),
    ).toBe(true);
    for (const s of SYMBOLS) {
      const mine = records.filter((r) => r.symbol === s);
      const closes = mine.map((r) => Date.parse(r.bar_ts));
      expect(closes.every((c, i) => i === 0 || c - closes[i - 1]! === 1_000)).toBe(true);
      const lastOutage = mine.findLastIndex((r) => r.block_reason === `dns_failure:${HOST}`);
      const before = mine.slice(
        0,
        mine.findIndex((r) => r.block_reason === `dns_failure:${HOST}`),
      );
      const after = mine.slice(lastOutage + 1);
      for (const normal of [before, after]) {
        expect(normal.length).toBeGreaterThan(0);
        expect(
          normal.every(
            (r) =>
              r.market.price !== null &&
              r.gate_trace.some((g) => g.stage === 'data_fetch' && g.verdict === 'pass'),
          ),
        ).toBe(true);
      }
    }
    const hb = readHeartbeat(dir.path)!;
    expect(hb.total_decisions_session).toBe(records.length);
    expect(hb.paper_live_decisions_session).toBe(records.length);
    for (const s of SYMBOLS)
      expect(hb.per_symbol[s]!.decisions).toBe(records.filter((r) => r.symbol === s).length);
    expect(hb.circuit_breakers).toEqual({ binance: 'closed' });
  }, 40_000);
});
