import { describe, expect, it } from 'bun:test';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Portfolio } from '../../core/broker/portfolio.ts';
import type { Bar } from '../../core/engine/feeds.ts';
import type { Draft } from '../../core/engine/pipeline.ts';
import type { StageContext } from '../../core/engine/stages.ts';
import { OutcomeRecorder } from '../../core/outcomes/recorder.ts';
import { expandOutcome } from '../../core/records/reader.ts';
import { validate } from '../../core/schema/ajv.ts';
import type { Fill } from '../../core/schema/decision.ts';
import { DecisionOutcome, type ForwardReturnOutcome, type TradeOutcome } from '../../core/schema/outcome.ts';
import { HTF_NOT_READY, HtfTrend } from '../../core/signals/htf.ts';
import { IndicatorSet } from '../../core/signals/indicator-set.ts';
import { adaptiveThreshold, classifyRegime } from '../../core/signals/regime.ts';
import { compactUtc } from '../../core/time/iso.ts';
import { tempDir } from '../support/cli.ts';

const HOUR = 3_600_000;
const T0 = Date.UTC(2026, 2, 1);

function bar(i: number, close: number, high = close, low = close): Bar {
  return {
    symbol: 'BTC/USDT',
    openTs: T0 + i * HOUR,
    closeTs: T0 + (i + 1) * HOUR,
    open: close,
    high,
    low,
    close,
    volume: 1,
    ageS: null,
  };
}

/** Decision ids as the pipeline makes them: a prefix, then the bar's close time (bar i closes at T0 + (i + 1) h). */
const idOf = (i: number) => `d-${compactUtc(T0 + (i + 1) * HOUR)}`;

/** What the recorder reads of a decision's stage context: its bar and the portfolio, the id in its parts. */
const ctxOf = (b: Bar, portfolio: Portfolio) =>
  ({
    bar: b,
    portfolio,
    decisionId: `d-${compactUtc(b.closeTs)}`,
    idPrefix: 'd-',
    idSuffix: '',
  }) as StageContext;

/** The parts of a decision the recorder reads, for bar i. */
function draft(i: number, b: Bar, fills: Fill[] = [], action: Draft['action'] = 'hold'): Draft {
  return {
    decision_id: idOf(i),
    symbol: b.symbol,
    bar_ts: new Date(b.closeTs).toISOString(),
    market: { price: b.close },
    action,
    signal: action === 'hold' ? null : { action, confidence: 0.7, source: 'test' },
    rl_recommendation: { action: 'short' },
    execution: fills.length ? { fills } : null,
  } as unknown as Draft;
}

const fill = (
  intent: 'open' | 'close',
  side: 'buy' | 'sell',
  price: number,
  pnl: number | null,
  reason: string,
): Fill => ({
  order_id: 'o',
  side,
  intent,
  reason,
  quantity: 2,
  price,
  fee: 0.1,
  slippage: 0,
  realized_pnl: pnl,
});

function readLines(path: string) {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => {
      const checked = validate(DecisionOutcome, expandOutcome(JSON.parse(l)));
      if (!checked.ok) throw new Error(`${checked.errors.join('; ')}: ${l}`);
      return checked.value;
    });
}

describe('the outcome recorder', () => {
  it('records each decision’s 1/5/20-bar forward returns once known, and what is known at the end of the run', () => {
    using dir = tempDir();
    const path = join(dir.path, 'decision_outcomes.jsonl');
    const rec = new OutcomeRecorder(path);
    const portfolio = new Portfolio(1000);
    const prices = Array.from({ length: 30 }, (_, i) => 100 + i * i * 0.1);
    prices.forEach((p, i) => {
      const b = bar(i, p);
      rec.onDecision(draft(i, b), ctxOf(b, portfolio));
      if (i === 24) rec.checkpoint();
    });
    rec.close();
    const lines = readLines(path) as ForwardReturnOutcome[];
    expect(lines).toHaveLength(30);
    const first = lines.find((l) => l.decision_id === idOf(0))!;
    expect(first).toMatchObject({ complete: true, action: 'hold', shadow_action: 'short', entry_price: 100 });
    expect(first.forward_returns['1']).toBeCloseTo(prices[1]! / 100 - 1, 12);
    expect(first.forward_returns['5']).toBeCloseTo(prices[5]! / 100 - 1, 12);
    expect(first.forward_returns['20']).toBeCloseTo(prices[20]! / 100 - 1, 12);
    const late = lines.find((l) => l.decision_id === idOf(27))!;
    expect(late).toMatchObject({ complete: false, forward_returns: { '20': null, '5': null } });
    expect(late.forward_returns['1']).toBeCloseTo(prices[28]! / prices[27]! - 1, 12);
    expect(lines.find((l) => l.decision_id === idOf(29))!.forward_returns['1']).toBeNull();
  });

  it('records a closed trade with its P&L, excursions while open and holding time, linked to the opening decision', () => {
    using dir = tempDir();
    const path = join(dir.path, 'decision_outcomes.jsonl');
    const rec = new OutcomeRecorder(path);
    const portfolio = new Portfolio(1000);
    const path3 = [
      { b: bar(0, 100), fills: [fill('open', 'buy', 100, null, 'signal_technical')], action: 'buy' as const },
      { b: bar(1, 101, 104, 97), fills: [], action: 'hold' as const },
      { b: bar(2, 102, 103, 99), fills: [], action: 'hold' as const },
      {
        b: bar(3, 105, 110, 101),
        fills: [fill('close', 'sell', 106, 11.8, 'take_profit')],
        action: 'hold' as const,
      },
    ];
    path3.forEach(({ b, fills, action }, i) => {
      if (i === 1)
        portfolio.positions.set('BTC/USDT', {
          symbol: 'BTC/USDT',
          side: 'long',
          quantity: 2,
          entry_price: 100,
          entry_ts: draft(0, bar(0, 100)).bar_ts,
          stop_loss: null,
          take_profit: null,
          last_price: 101,
          unrealized_pnl: 0,
          entry_fee: 0.1,
          decision_id: idOf(0),
        });
      if (i === 3) portfolio.positions.delete('BTC/USDT');
      rec.onDecision(draft(i, b, fills, action), ctxOf(b, portfolio));
    });
    rec.close();
    const trade = readLines(path).find((l) => l.kind === 'trade') as TradeOutcome;
    expect(trade).toMatchObject({
      decision_id: idOf(0),
      exit_decision_id: idOf(3),
      side: 'long',
      entry_price: 100,
      exit_price: 106,
      pnl: 11.8,
      holding_bars: 2,
      exit_reason: 'take_profit',
      partial: false,
    });
    expect(trade.mae_pct).toBeCloseTo(0.03, 12); // low 97 while open
    expect(trade.mfe_pct).toBeCloseTo(0.06, 12); // the closing bar counts up to the exit (106), not its high (110)
    expect(trade.holding_s).toBe(3 * 3600);
    expect(trade.pnl_pct).toBeCloseTo(11.8 / 200, 12);
  });

  it('repairs a torn final line left by a crash before appending', () => {
    using dir = tempDir();
    const path = join(dir.path, 'decision_outcomes.jsonl');
    writeFileSync(path, '{"schema_version":"1.0.0","kind":"forw');
    const rec = new OutcomeRecorder(path);
    const portfolio = new Portfolio(1000);
    for (let i = 0; i < 3; i++) rec.onDecision(draft(i, bar(i, 100 + i)), ctxOf(bar(i, 100 + i), portfolio));
    rec.close();
    expect(readLines(path)).toHaveLength(3);
  });

  it('counts horizons in bars of time: a bar missed in an outage leaves its horizon null, one observed late fills it', () => {
    using dir = tempDir();
    const run = (observeGap: boolean) => {
      const path = join(dir.path, `gap-${observeGap}.jsonl`);
      const rec = new OutcomeRecorder(path);
      const portfolio = new Portfolio(1000);
      for (let i = 0; i < 40; i++) {
        const b = bar(i, 100 + i);
        if (i >= 10 && i < 15) {
          // Bars 10–14 were not decided: the engine was down, or their candles came late.
          if (observeGap) rec.onBar('BTC/USDT', b);
          continue;
        }
        rec.onDecision(draft(i, b), ctxOf(b, portfolio));
      }
      rec.close();
      const byId = new Map(
        readLines(path).flatMap((o) => (o.kind === 'forward_return' ? [[o.decision_id, o] as const] : [])),
      );
      return (id: string) => byId.get(id)!;
    };
    const down = run(false);
    expect(down(idOf(9)).forward_returns).toEqual({ '1': null, '5': null, '20': 129 / 109 - 1 });
    expect(down(idOf(9)).complete).toBe(true);
    expect(down(idOf(5)).forward_returns).toEqual({ '1': 106 / 105 - 1, '5': null, '20': 125 / 105 - 1 });
    expect(down(idOf(15)).forward_returns['1']).toBe(116 / 115 - 1);
    const late = run(true);
    expect(late(idOf(9)).forward_returns).toEqual({
      '1': 110 / 109 - 1,
      '5': 114 / 109 - 1,
      '20': 129 / 109 - 1,
    });
    expect(late(idOf(4)).forward_returns).toEqual({
      '1': 105 / 104 - 1,
      '5': 109 / 104 - 1,
      '20': 124 / 104 - 1,
    });
  });

  it('continues open horizons from a snapshot, and ignores unreadable saved state rather than failing the run', () => {
    using dir = tempDir();
    const path = join(dir.path, 'decision_outcomes.jsonl');
    const portfolio = new Portfolio(1000);
    const feed = (rec: OutcomeRecorder, from: number, to: number) => {
      for (let i = from; i < to; i++)
        rec.onDecision(draft(i, bar(i, 100 + i)), ctxOf(bar(i, 100 + i), portfolio));
    };
    const first = new OutcomeRecorder(path);
    feed(first, 0, 12);
    const saved = JSON.parse(JSON.stringify(first.snapshot())) as unknown;
    const second = new OutcomeRecorder(path);
    second.restore(saved);
    feed(second, 12, 40);
    second.close();
    const d0 = readLines(path).find(
      (o) => o.decision_id === idOf(0) && o.kind === 'forward_return',
    ) as ForwardReturnOutcome;
    expect(d0.complete).toBe(true);
    expect(d0.forward_returns).toEqual({ '1': 101 / 100 - 1, '5': 105 / 100 - 1, '20': 120 / 100 - 1 });

    const third = new OutcomeRecorder(join(dir.path, 'other.jsonl'));
    expect(() => third.restore({ pending: { 'BTC/USDT': 'not a ring' }, trades: {} })).not.toThrow();
    feed(third, 0, 3);
    third.close();
    expect(readLines(join(dir.path, 'other.jsonl'))).toHaveLength(3);
  });

  describe('resumed from a checkpoint, writes the file one uninterrupted recorder writes', () => {
    const portfolio = new Portfolio(1000);
    // A trade opened at bar 3 and closed at bar 38, so trade outcomes cross the restart too.
    const feed = (rec: OutcomeRecorder, from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const b = bar(i, 100 + ((i * 7) % 13), 120, 90);
        const fills =
          i === 3
            ? [fill('open', 'buy', b.close, null, 'signal')]
            : i === 38
              ? [fill('close', 'sell', b.close, 1, 'signal')]
              : [];
        if (i === 3) portfolio.positions.set('BTC/USDT', { decision_id: idOf(3), side: 'long' } as never);
        if (i === 38) portfolio.positions.delete('BTC/USDT');
        rec.onDecision(draft(i, b, fills), ctxOf(b, portfolio));
      }
    };
    /** The engine's checkpoint order: flush the lines, then snapshot (the ledger commits it). */
    const checkpoint = (rec: OutcomeRecorder) => {
      rec.checkpoint();
      return JSON.parse(JSON.stringify(rec.snapshot())) as unknown;
    };
    const uninterrupted = (dir: string) => {
      const path = join(dir, 'whole.jsonl');
      const rec = new OutcomeRecorder(path);
      feed(rec, 0, 70);
      rec.close();
      expect(readLines(path).filter((o) => o.kind === 'trade')).toHaveLength(1);
      return readFileSync(path, 'utf8');
    };

    /** A recorder over bars 0–29, checkpointed; `stop` says how its process ended. */
    const firstRun = (path: string, stop: (rec: OutcomeRecorder) => void) => {
      const rec = new OutcomeRecorder(path);
      feed(rec, 0, 30);
      const saved = checkpoint(rec);
      stop(rec);
      return saved;
    };
    /** The next process: resumed from the committed checkpoint, deciding bars 30–69. */
    const resume = (path: string, saved: unknown) => {
      const rec = new OutcomeRecorder(path);
      rec.restore(saved);
      feed(rec, 30, 70);
      rec.close();
      return readFileSync(path, 'utf8');
    };

    it('after a clean stop: its provisional lines are replaced by the complete ones, not joined by them', () => {
      using dir = tempDir();
      const path = join(dir.path, 'decision_outcomes.jsonl');
      const saved = firstRun(path, (rec) => rec.close());
      const atStop = readLines(path) as ForwardReturnOutcome[];
      expect(atStop.filter((o) => o.kind === 'forward_return' && !o.complete)).toHaveLength(20);
      expect(resume(path, saved)).toBe(uninterrupted(dir.path));
    });

    it('after a crash between the outcome flush and the ledger commit: what reached the file is not written twice', () => {
      using dir = tempDir();
      const path = join(dir.path, 'decision_outcomes.jsonl');
      const saved = firstRun(path, (rec) => {
        feed(rec, 30, 45);
        rec.checkpoint(); // flushed; the commit of this checkpoint never happens (kill -9)
      });
      // The bars after the committed checkpoint are decided again.
      expect(resume(path, saved)).toBe(uninterrupted(dir.path));
    });

    it('after a crash during the stop itself: the torn provisional tail is superseded as well', () => {
      using dir = tempDir();
      const path = join(dir.path, 'decision_outcomes.jsonl');
      const saved = firstRun(path, (rec) => rec.close());
      const text = readFileSync(path, 'utf8');
      writeFileSync(path, text.slice(0, text.length - 40)); // killed while writing the provisional lines
      expect(resume(path, saved)).toBe(uninterrupted(dir.path));
    });
  });
});

describe('regime and higher timeframe', () => {
  it('clamps the regime-adaptive threshold to [0.35, 0.70] and eases it with the trend', () => {
    expect(adaptiveThreshold(0.55, 'strong_bull', 'buy')).toBeCloseTo(0.47, 12);
    expect(adaptiveThreshold(0.55, 'strong_bull', 'short')).toBeCloseTo(0.6, 12);
    expect(adaptiveThreshold(0.65, 'crash', 'buy')).toBe(0.7);
    expect(adaptiveThreshold(0.3, 'sideways', 'buy')).toBe(0.35);
  });

  it('classifies a steady climb as a bull regime and a flat market as sideways', () => {
    const up = new IndicatorSet();
    for (let i = 0; i < 120; i++) up.update(100 + i * 1.01, 99 + i, 100 + i);
    expect(['bull', 'strong_bull']).toContain(classifyRegime(up));
    const flat = new IndicatorSet();
    for (let i = 0; i < 120; i++) flat.update(100 + (i % 2), 99 - (i % 2), 100 + (i % 2) * 0.5);
    expect(classifyRegime(flat)).toBe('sideways');
  });

  it('reads the higher-timeframe trend only from completed 4× candles and only once SMA200 exists', () => {
    const htf = new HtfTrend(HOUR, 4);
    for (let i = 0; i < 4 * 199; i++) htf.update(T0 + i * HOUR, HOUR, 100 + i);
    expect(htf.code).toBe(HTF_NOT_READY);
    expect(htf.closes).toBe(199);
    for (let i = 4 * 199; i < 4 * 200; i++) htf.update(T0 + i * HOUR, HOUR, 100 + i);
    expect(htf.code).toBe(2);
    for (let i = 800; i < 1000; i++) htf.update(T0 + i * HOUR, HOUR, 1000 - (i - 800) * 3);
    expect(htf.code).toBeLessThan(0);
  });
});
