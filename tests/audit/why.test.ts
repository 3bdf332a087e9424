import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import type { DecisionRecord } from '../../core/schema/decision.ts';
import { atl, tempDir } from '../support/cli.ts';
import { readDecisions, readOutcomes } from '../support/records.ts';

let root: ReturnType<typeof tempDir>;
let records: DecisionRecord[];
beforeAll(async () => {
  root = tempDir('atl-why-');
  expect((await atl(['run', '--max-bars', '200', '--data-dir', root.path])).code).toBe(0);
  records = readDecisions(root.path);
}, 60_000);
afterAll(() => root[Symbol.dispose]());

const why = (...args: string[]) => atl(['why', ...args, '--data-dir', root.path]);

describe('atl why <symbol> <time>', () => {
  it('a blocked bar: names the blocking stage and reason, every stage with observed values and thresholds', async () => {
    const r = records.find((x) => x.blocked_stage === 'turnover')!;
    const out = await why(r.symbol, r.bar_ts);
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`${r.symbol} ${r.timeframe} bar closing ${r.bar_ts} — ${r.decision_id}`);
    expect(out.stdout).toContain(`BLOCKED at turnover: ${r.block_reason}`);
    for (const s of r.gate_trace)
      expect(out.stdout).toMatch(new RegExp(`\\n  ${s.stage} +${s.verdict.toUpperCase()}`));
    const turnover = r.gate_trace.find((s) => s.stage === 'turnover')!;
    const [key, limit] = Object.entries(turnover.thresholds!)[0]!;
    expect(out.stdout).toContain(`thresholds ${key} ${limit}`);
    expect(out.stdout).toContain('Shadow advisor (logged only, never executed)');
    for (const m of r.model_trace) expect(out.stdout).toContain(m.model_id);
  });

  it('an executed bar: the fills, the trade it opened and the forward returns afterwards', async () => {
    const opened = readOutcomes(root.path).find((o) => o.kind === 'trade')!;
    const r = records.find((x) => x.decision_id === opened.decision_id)!;
    const out = await why(r.symbol.toLowerCase(), r.bar_ts.replace(':00.000Z', 'Z'));
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`EXECUTED ${r.execution!.fills[0]!.side}`);
    expect(out.stdout).toMatch(/trade opened here: .*P&L/);
    expect(out.stdout).toMatch(/forward returns from .*1 bar [+-]\d/);
    const json = JSON.parse((await why(r.symbol, r.bar_ts, '--json')).stdout);
    expect(json.found).toHaveLength(1);
    expect(json.found[0].record).toEqual(r);
    expect(json.found[0].trades[0]).toEqual(opened);
  });

  it('no decision at that bar: names the nearest bars either side and exits 3', async () => {
    const r = records[30]!;
    const between = new Date(Date.parse(r.bar_ts) + 30 * 60_000).toISOString();
    const out = await why(r.symbol, between);
    expect(out.code).toBe(3);
    expect(out.stdout).toContain(`no ${r.symbol} decision at bar ${between}; the nearest: ${r.bar_ts}`);
    const other = await why('XRP/USDT', r.bar_ts);
    expect(other.code).toBe(3);
    expect(other.stdout).toContain('it holds BTC/USDT, ETH/USDT, SOL/USDT');
  });

  it('a bad symbol or time, or a missing one, is a usage error (64) in one line', async () => {
    for (const args of [
      ['BTCUSDT', '2026-05-03T03:00Z'],
      ['BTC/USDT', 'yesterday'],
      ['BTC/USDT'],
      ['BTC/USDT', '2026-13-01T00:00Z'],
    ]) {
      const out = await why(...args);
      expect(out.code).toBe(64);
      expect(out.stderr.trim().split('\n')).toHaveLength(1);
    }
  });
});
