import { describe, expect, it } from 'bun:test';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_BROKER } from '../../core/broker/paper.ts';
import type { DecisionRecord } from '../../core/schema/decision.ts';
import { evaluateCounterfactual } from '../../reports/counterfactual.ts';
import { tradeStats } from '../../reports/ledger-stats.ts';
import { briefOf, type DecisionBrief, type OutcomeIndex, readOutcomes } from '../../reports/outcomes.ts';
import { tempDir } from '../support/cli.ts';

const COST = DEFAULT_BROKER.feeRate + DEFAULT_BROKER.slippageRate;

function brief(i: number, over: Partial<DecisionBrief>): DecisionBrief {
  return {
    id: `d${i}`,
    symbol: 'BTC/USDT',
    bar_ts: `2026-05-01T${String(i % 24).padStart(2, '0')}:00:00.000Z`,
    regime: 'trend',
    action: 'hold',
    exposure: 0,
    advisor: 'hold',
    advisor_confidence: 0.8,
    ...over,
  };
}

function outcomes(returns: Record<string, number>): OutcomeIndex {
  return {
    exists: true,
    lines: 0,
    matched: 0,
    unreadable: 0,
    horizons: [1],
    returns: new Map(Object.entries(returns).map(([id, r]) => [id, new Map([[1, r]])])),
  };
}

describe('advisor counterfactual', () => {
  it('credits the advisor with the forward return of the exposure it recommended, minus the cost of getting there', () => {
    const cf = evaluateCounterfactual(
      [brief(1, { advisor: 'buy' }), brief(2, { advisor: 'buy' })],
      outcomes({ d1: 0.01, d2: -0.02 }),
      8760,
    );
    expect(cf.available).toBe(true);
    expect(cf.evaluated).toBe(2);
    expect(cf.advisor_return_sum).toBeCloseTo(0.01 - COST + (-0.02 - COST), 9);
    expect(cf.actual_return_sum).toBe(0);
    expect(cf.delta_sum).toBeCloseTo(-0.01 - 2 * COST, 9);
    expect(cf.agreement_rate).toBe(0);
    expect(cf.advisor_hit_rate).toBe(0.5);
  });

  it('matches actions case-insensitively and lets an advised hold keep the held position', () => {
    const record = {
      decision_id: 'd1',
      symbol: 'BTC/USDT',
      bar_ts: '2026-05-01T01:00:00.000Z',
      market: { regime: null },
      action: 'hold',
      position: { side: 'long', quantity: 1, entry_price: 1 },
      rl_recommendation: { action: 'HOLD', confidence: 0.7 },
    };
    const held = briefOf(record as unknown as DecisionRecord);
    expect(held).toMatchObject({ advisor: 'hold', exposure: 1, regime: 'unknown', advisor_confidence: 0.7 });
    const cf = evaluateCounterfactual([held], outcomes({ d1: 0.03 }), 8760);
    expect(cf.agreement_rate).toBe(1);
    expect(cf.delta_sum).toBe(0);
    expect(cf.actual_return_sum).toBeCloseTo(0.03, 9);
  });

  it('says "no data" without advisor records or without an outcomes file, never a pass', () => {
    expect(evaluateCounterfactual([brief(1, { advisor: null })], outcomes({}), 8760).reason).toContain(
      'no shadow-advisor',
    );
    const missing = evaluateCounterfactual(
      [brief(1, {})],
      { exists: false, lines: 0, matched: 0, unreadable: 0, horizons: [], returns: new Map() },
      8760,
    );
    expect(missing.available).toBe(false);
    expect(missing.reason).toContain('decision_outcomes.jsonl');
  });

  it('sweeps confidence thresholds and picks the best only with at least 30 decisions', () => {
    const briefs = Array.from({ length: 60 }, (_, i) =>
      brief(i, { advisor: 'buy', advisor_confidence: i < 40 ? 0.65 : 0.95 }),
    );
    const returns = Object.fromEntries(briefs.map((b, i) => [b.id, i % 3 === 0 ? -0.004 : 0.006]));
    const cf = evaluateCounterfactual(briefs, outcomes(returns), 8760);
    expect(cf.confidence_sweep.rows.map((r) => r.decisions)).toEqual([60, 60, 20, 20, 20]);
    expect([0.5, 0.6]).toContain(cf.confidence_sweep.best_threshold!);
  });

  it('reads forward-return outcomes by contract, parsing only the decisions asked for and counting bad lines', () => {
    using dir = tempDir();
    const path = join(dir.path, 'decision_outcomes.jsonl');
    const fwd = (id: string, returns: Record<string, number | null>) =>
      JSON.stringify({
        schema_version: '1.0.0',
        kind: 'forward_return',
        decision_id: id,
        symbol: 'BTC/USDT',
        bar_ts: '2026-05-01T01:00:00.000Z',
        entry_price: 100,
        forward_returns: { '1': null, '5': null, '20': null, ...returns },
        realised_bar_ts: '2026-05-01T21:00:00.000Z',
        complete: true,
        action: 'hold',
        signal_action: null,
        shadow_action: 'buy',
      });
    writeFileSync(
      path,
      [
        fwd('a', { '1': 0.01, '5': 0.02 }),
        fwd('b', { '1': -0.01 }),
        fwd('c', { '1': 0.5 }),
        'garbage',
        '{"decision_id":"a","kind":"forward_return"}',
        fwd('b', {}),
        '{"decision_id":"b","fwd',
      ].join('\n'),
    );
    const idx = readOutcomes(path, new Set(['a', 'b']));
    expect(idx.horizons).toEqual([1, 5]);
    expect(idx.returns.get('a')?.get(5)).toBe(0.02);
    expect(idx.returns.get('b')?.get(1)).toBe(-0.01);
    expect(idx.returns.has('c')).toBe(false);
    expect(idx.unreadable).toBe(2); // 'garbage' names no decision; the schema-less line for "a" fails the contract
  });

  it('passes over outcome lines outside the window and trade lines, and merges a decision completed by a later run', () => {
    using dir = tempDir();
    const path = join(dir.path, 'decision_outcomes.jsonl');
    const fwd = (id: string, barTs: string, returns: Record<string, number | null>, complete: boolean) =>
      JSON.stringify({
        schema_version: '1.0.0',
        kind: 'forward_return',
        decision_id: id,
        symbol: 'BTC/USDT',
        bar_ts: barTs,
        entry_price: 100,
        forward_returns: { '1': null, '5': null, '20': null, ...returns },
        realised_bar_ts: barTs,
        complete,
        action: 'hold',
        signal_action: null,
        shadow_action: 'buy',
      });
    writeFileSync(
      path,
      [
        fwd('before', '2026-04-30T23:00:00.000Z', { '1': 0.1 }, true),
        fwd('open', '2026-05-01T01:00:00.000Z', { '1': 0.01 }, false), // the run stopped here
        '{"schema_version":"1.0.0","kind":"trade","decision_id":"open","not":"read"}',
        fwd('open', '2026-05-01T01:00:00.000Z', { '1': 0.01, '5': 0.02, '20': 0.03 }, true), // the next run
        fwd('last', '2026-05-07T23:00:00.000Z', { '1': -0.01 }, true),
        fwd('after', '2026-05-08T00:00:00.000Z', { '1': 0.2 }, true),
      ].join('\n'),
    );
    const wanted = new Set(['before', 'open', 'last', 'after']);
    const idx = readOutcomes(path, wanted, { startDay: '2026-05-01', endDay: '2026-05-08' });
    expect([...idx.returns.keys()]).toEqual(['open', 'last']);
    expect(idx.returns.get('open')).toEqual(
      new Map([
        [1, 0.01],
        [5, 0.02],
        [20, 0.03],
      ]),
    );
    expect(idx.matched).toBe(2);
    expect(idx.unreadable).toBe(0); // the trade line is never parsed: trades come from the ledger
  });

  it('computes profit factor as gross profit over gross loss and leaves it null without a loss', () => {
    expect(
      tradeStats([
        { pnl: 30, fees: 1 },
        { pnl: -10, fees: 1 },
        { pnl: -5, fees: 1 },
      ]).profit_factor,
    ).toBe(2);
    expect(tradeStats([{ pnl: 30, fees: 1 }]).profit_factor).toBeNull();
  });
});
