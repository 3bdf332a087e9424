import { describe, expect, it } from 'bun:test';
import { appendFileSync, mkdirSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readDecisionPage } from '../../core/api/decision-page.ts';
import { DecisionTail, type TailedLine } from '../../core/api/decision-tail.ts';
import type { DecisionRecord } from '../../core/schema/decision.ts';
import { tempDir, waitFor } from '../support/cli.ts';
import { appendDecisions, decision, testServer } from './_support.ts';

const lines = (records: DecisionRecord[]) => records.map((r) => `${JSON.stringify(r)}\n`).join('');

function logWith(records: DecisionRecord[], tail = ''): { path: string; [Symbol.dispose](): void } {
  const dir = tempDir();
  const path = join(dir.path, 'rl', 'shadow_decisions.jsonl');
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, lines(records) + tail);
  return { path, [Symbol.dispose]: () => dir[Symbol.dispose]() };
}

describe('decision pages read from the end of the log', () => {
  it('returns the newest records first and a cursor that walks back to the start without gaps', () => {
    const records = Array.from({ length: 25 }, (_, i) =>
      decision({ symbol: i % 2 ? 'ETH/USDT' : 'BTC/USDT' }),
    );
    using log = logWith(records);
    const seen: string[] = [];
    let before: number | null = null;
    let pages = 0;
    do {
      const page = readDecisionPage(log.path, { limit: 10, before, filter: {} });
      if (page === 'invalid_cursor') throw new Error('cursor rejected');
      seen.push(...page.lines.map((l) => JSON.parse(l).decision_id));
      before = page.nextBefore;
      pages++;
    } while (before !== null);
    expect(pages).toBe(3);
    expect(seen).toEqual(records.map((r) => r.decision_id).reverse());
  });

  it('reads only a small tail of a large log for the newest page', () => {
    const records = Array.from({ length: 3000 }, () => decision());
    using log = logWith(records);
    const page = readDecisionPage(log.path, { limit: 5, before: null, filter: {} });
    if (page === 'invalid_cursor') throw new Error('cursor rejected');
    expect(page.lines).toHaveLength(5);
    expect(page.scannedBytes).toBeLessThanOrEqual(64 * 1024);
    expect(page.fileBytes).toBeGreaterThan(2_000_000);
  });

  it('filters by symbol, action, blocked stage and time window', () => {
    const t = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s)).toISOString();
    const records = [
      decision({ ts: t(1), symbol: 'BTC/USDT', action: 'buy' }),
      decision({
        ts: t(2),
        symbol: 'ETH/USDT',
        action: 'hold',
        blocked_stage: 'data_fetch',
        block_reason: 'timeout',
      }),
      decision({
        ts: t(3),
        symbol: 'BTC/USDT',
        action: 'hold',
        blocked_stage: 'turnover',
        block_reason: 'x',
      }),
      decision({ ts: t(4), symbol: 'BTC/USDT', action: 'sell' }),
    ];
    using log = logWith(records);
    const ids = (filter: Parameters<typeof readDecisionPage>[1]['filter']) => {
      const page = readDecisionPage(log.path, { limit: 50, before: null, filter });
      if (page === 'invalid_cursor') throw new Error('cursor rejected');
      return page.lines.map((l) => JSON.parse(l).decision_id);
    };
    const id = (i: number) => records[i]!.decision_id;
    expect(ids({ symbol: 'BTC/USDT' })).toEqual([id(3), id(2), id(0)]);
    expect(ids({ action: 'hold' })).toEqual([id(2), id(1)]);
    expect(ids({ blocked_stage: 'data_fetch' })).toEqual([id(1)]);
    expect(ids({ sinceMs: Date.parse(t(2)), untilMs: Date.parse(t(3)) })).toEqual([id(2), id(1)]);
  });

  it('skips an unterminated final fragment and counts a damaged complete line', () => {
    const records = [decision(), decision()];
    using log = logWith(records, '{"decision_id":"half-writ');
    const page = readDecisionPage(log.path, { limit: 10, before: null, filter: {} });
    if (page === 'invalid_cursor') throw new Error('cursor rejected');
    expect(page.lines.map((l) => JSON.parse(l).decision_id)).toEqual([
      records[1]!.decision_id,
      records[0]!.decision_id,
    ]);
    using damaged = logWith([records[0]!], 'not json\n');
    const p2 = readDecisionPage(damaged.path, { limit: 10, before: null, filter: {} });
    if (p2 === 'invalid_cursor') throw new Error('cursor rejected');
    expect(p2.malformedLines).toBe(1);
    expect(p2.lines).toHaveLength(1);
  });

  it('stops a sparse filter at the scan budget and continues from the cursor', () => {
    const records = Array.from({ length: 200 }, () => decision());
    using log = logWith(records);
    const first = readDecisionPage(
      log.path,
      { limit: 10, before: null, filter: { symbol: 'NONE/USDT' } },
      8192,
    );
    if (first === 'invalid_cursor') throw new Error('cursor rejected');
    expect(first.lines).toEqual([]);
    expect(first.scanLimited).toBe(true);
    expect(first.nextBefore).toBeGreaterThan(0);
    const next = readDecisionPage(log.path, { limit: 10, before: first.nextBefore, filter: {} });
    if (next === 'invalid_cursor') throw new Error('cursor rejected');
    // the next page starts with the record whose line ends exactly at the cursor
    const ends = records.map((_, i) => lines(records.slice(0, i + 1)).length);
    expect(JSON.parse(next.lines[0]!).decision_id).toBe(
      records[ends.indexOf(first.nextBefore!)]!.decision_id,
    );
  });

  it('refuses a cursor that is not the start of a line or lies past the end', () => {
    using log = logWith([decision(), decision()]);
    expect(readDecisionPage(log.path, { limit: 1, before: 7, filter: {} })).toBe('invalid_cursor');
    expect(readDecisionPage(log.path, { limit: 1, before: 10_000_000, filter: {} })).toBe('invalid_cursor');
  });

  it('serves pages over HTTP with next_before and 400 invalid_cursor', async () => {
    await using s = await testServer();
    const records = Array.from({ length: 7 }, () => decision());
    appendDecisions(s.paths, records);
    const first = (await (await s.get('/api/decisions?limit=4')).json()) as {
      items: DecisionRecord[];
      next_before: number;
      count: number;
    };
    expect(first.count).toBe(4);
    expect(first.items[0]!.decision_id).toBe(records[6]!.decision_id);
    const second = (await (await s.get(`/api/decisions?limit=4&before=${first.next_before}`)).json()) as {
      items: DecisionRecord[];
      next_before: number | null;
    };
    expect(second.items.map((r) => r.decision_id)).toEqual(
      records
        .slice(0, 3)
        .map((r) => r.decision_id)
        .reverse(),
    );
    expect(second.next_before).toBeNull();
    const bad = await s.get('/api/decisions?before=3');
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { code: string } }).error.code).toBe('invalid_cursor');
  });
});

describe('decision tail', () => {
  async function collect(path: string) {
    const got: Array<TailedLine & { live: boolean }> = [];
    const tail = new DecisionTail(path, { pollMs: 20, onLine: (l, live) => got.push({ ...l, live }) });
    await tail.start();
    return { got, tail };
  }

  it('reports existing lines as backlog, then new appends as live, with their byte offsets', async () => {
    const first = decision();
    using log = logWith([first]);
    const { got, tail } = await collect(log.path);
    try {
      expect(got).toHaveLength(1);
      expect(got[0]!.live).toBe(false);
      const second = decision();
      appendFileSync(log.path, lines([second]));
      await waitFor(() => got.length === 2, 3_000, 10);
      expect(got[1]).toMatchObject({
        live: true,
        offset: lines([first]).length,
        record: { decision_id: second.decision_id },
      });
      expect(tail.position).toBe(lines([first, second]).length);
    } finally {
      tail.stop();
    }
  });

  it('holds back a partial line until its newline arrives', async () => {
    using log = logWith([]);
    const { got, tail } = await collect(log.path);
    try {
      const text = JSON.stringify(decision());
      appendFileSync(log.path, text.slice(0, 100));
      await Bun.sleep(120);
      expect(got).toHaveLength(0);
      appendFileSync(log.path, `${text.slice(100)}\n`);
      await waitFor(() => got.length === 1, 3_000, 10);
      expect(got[0]!.line).toBe(text);
      expect(got[0]!.record).not.toBeNull();
    } finally {
      tail.stop();
    }
  });

  it('follows a log that is archived and started anew, and one that is truncated', async () => {
    using log = logWith([decision()]);
    const { got, tail } = await collect(log.path);
    try {
      renameSync(log.path, `${log.path}.archived`);
      writeFileSync(log.path, lines([decision({ action: 'buy' })]));
      await waitFor(() => got.length === 2, 3_000, 10);
      expect(got[1]).toMatchObject({ live: true, offset: 0, record: { action: 'buy' } });
      truncateSync(log.path, 0);
      await Bun.sleep(60);
      appendFileSync(log.path, lines([decision({ action: 'sell' })]));
      await waitFor(() => got.length === 3, 3_000, 10);
      expect(got[2]).toMatchObject({ offset: 0, record: { action: 'sell' } });
    } finally {
      tail.stop();
    }
  });

  it('starts before the log exists and picks it up when the engine creates it', async () => {
    using dir = tempDir();
    const path = join(dir.path, 'rl', 'shadow_decisions.jsonl');
    const { got, tail } = await collect(path);
    try {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, lines([decision()]));
      await waitFor(() => got.length === 1, 3_000, 10);
      expect(got[0]!.live).toBe(true);
    } finally {
      tail.stop();
    }
  });
});
