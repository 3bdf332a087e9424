import { describe, expect, it } from 'bun:test';
import { ledgerChecks } from '../../core/audit/checks.ts';
import { type DecisionLogFacts, IdSet } from '../../core/audit/decisions.ts';
import type { LedgerFacts } from '../../core/audit/ledger.ts';

const BAR = '2026-05-03T02:00:00.000Z';
const LATER = '2026-05-03T05:00:00.000Z';

function log(fills: Array<[string, string]>): DecisionLogFacts {
  return {
    path: 'log',
    exists: true,
    lines: 10,
    bytes: 1000,
    records: 10,
    headers: 0,
    faults: [],
    counts: { chain: 0, schema: 0, header: 0, duplicate: 0, order: 0, truncated: 0, link: 0 },
    tail: null,
    bySymbol: { 'BTC/USDT': { decisions: 10, first_bar: BAR, last_bar: LATER } },
    ids: new IdSet(),
    fills: new Map(
      fills.map(([id, bar]) => [id, { symbol: 'BTC/USDT', bar_ts: bar, fills: 1, quantity: 0.5, fee: 1 }]),
    ),
  };
}

function ledger(byDecision: string[]): LedgerFacts {
  const n = byDecision.length;
  return {
    path: 'ledger',
    exists: true,
    checkpoint: {
      initial_capital: 1000,
      cash: 1000 - 100 * n - n,
      realized_pnl: 0,
      fees_paid: n,
      total_trades: 0,
      decisions_total: 10,
      last_bar_ts: { 'BTC/USDT': BAR },
    },
    fills: { count: n, fees: n, realized: 0, closes: 0, cashflow: -100 * n - n },
    trades: { count: 0, pnl: 0 },
    orphan_fills: 0,
    byDecision: new Map(
      byDecision.map((id) => [id, { symbol: 'BTC/USDT', fills: 1, quantity: 0.5, fee: 1 }]),
    ),
  };
}

const status = (checks: ReturnType<typeof ledgerChecks>, id: string) =>
  checks.find((c) => c.id === id)?.status;

describe('ledger checks (pure, over facts)', () => {
  it('pass when every executed decision has the same fills in the ledger and the totals agree', () => {
    const checks = ledgerChecks(ledger(['a']), log([['a', BAR]]));
    expect(status(checks, 'ledger:fills')).toBe('pass');
    expect(status(checks, 'ledger:totals')).toBe('pass');
  });

  it('warn for fills of a bar past the ledger checkpoint (a crash between log and commit), fail for one at or before it', () => {
    expect(
      status(
        ledgerChecks(
          ledger(['a']),
          log([
            ['a', BAR],
            ['b', LATER],
          ]),
        ),
        'ledger:fills',
      ),
    ).toBe('warn');
    expect(status(ledgerChecks(ledger([]), log([['a', BAR]])), 'ledger:fills')).toBe('fail');
  });

  it('fail for a ledger fill the log does not explain, or a quantity that differs', () => {
    expect(status(ledgerChecks(ledger(['a', 'x']), log([['a', BAR]])), 'ledger:fills')).toBe('fail');
    const l = ledger(['a']);
    l.byDecision.set('a', { symbol: 'BTC/USDT', fills: 1, quantity: 0.6, fee: 1 });
    expect(status(ledgerChecks(l, log([['a', BAR]])), 'ledger:fills')).toBe('fail');
  });

  it('fail when the checkpoint counts more decisions, or a later bar, than the log holds', () => {
    const d = log([['a', BAR]]);
    d.records = 9;
    expect(status(ledgerChecks(ledger(['a']), d), 'ledger:totals')).toBe('fail');
    const behind = log([['a', BAR]]);
    behind.bySymbol['BTC/USDT']!.last_bar = '2026-05-03T01:00:00.000Z';
    expect(status(ledgerChecks(ledger(['a']), behind), 'ledger:totals')).toBe('fail');
  });

  it('money summed in another order still agrees (last-bit differences are not breaks)', () => {
    const l = ledger(['a']);
    l.fills.fees = 1 + 1e-12;
    expect(status(ledgerChecks(l, log([['a', BAR]])), 'ledger:totals')).toBe('pass');
  });
});
