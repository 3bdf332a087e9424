import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { expandDecision } from '../../core/records/decision-codec.ts';
import { compactDecision } from '../../core/records/decision-compact.ts';
import { buildRunHeader, type RunInfo } from '../../core/records/header.ts';
import { isHeaderLine } from '../../core/records/reader.ts';
import { type DecisionRecord, GATE_STAGES } from '../../core/schema/decision.ts';
import type { RunHeader } from '../../core/schema/record.ts';
import { scanDecisionLog } from '../../reports/decision-scan.ts';
import { atl, tempDir } from '../support/cli.ts';
import { chainBreaks, readDecisions, rewriteAsV1 } from '../support/records.ts';

let root: string;
let records: DecisionRecord[];
const LOG = (r: string) => join(r, 'rl', 'shadow_decisions.jsonl');
const lines = (r: string) => readFileSync(LOG(r), 'utf8').split('\n').slice(0, -1);

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'atl-v2-'));
  const r = await atl(['run', '--mode', 'backtest', '--max-bars', '400', '--data-dir', root]);
  if (r.code !== 0) throw new Error(`backtest failed: ${r.stderr}`);
  records = readDecisions(root);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

function infoOf(r: DecisionRecord): RunInfo {
  return {
    run_id: 'test',
    config_hash: r.config_hash,
    mode: r.mode,
    data_mode: r.data_mode,
    timeframe: r.timeframe,
    symbols: [...new Set(records.map((x) => x.symbol))],
    source: Object.fromEntries(records.map((x) => [x.symbol, x.source])),
    correlation_prefix: r.correlation_id.replace(/\d+$/, ''),
  };
}

describe('record v2', () => {
  it('writes a run header first, then compact lines: each decision line is a fraction of the full view', () => {
    const raw = lines(root);
    expect(isHeaderLine(raw[0]!)).toBe(true);
    expect(raw.filter((l) => isHeaderLine(l))).toHaveLength(1);
    expect(records.length).toBe(raw.length - 1);
    const full = records.reduce((a, r) => a + JSON.stringify(r).length, 0);
    const compact = raw.slice(1).reduce((a, l) => a + l.length, 0);
    expect(compact / full).toBeLessThan(0.4);
    expect(chainBreaks(root)).toEqual([]);
  });

  it('the header lists the pipeline’s declared stages in order with their static thresholds, not learnt ones', () => {
    const header = JSON.parse(lines(root)[0]!) as RunHeader;
    const names = header.stages.map((s) => s.stage);
    expect(names.slice(0, 3)).toEqual(['halt', 'control', 'data_fetch']);
    for (const [a, b] of [
      ['data_fetch', 'technical'],
      ['technical', 'confidence'],
      ['confidence', 'position'],
      ['position', 'turnover'],
      ['turnover', 'sizing'],
    ] as const)
      expect(names.indexOf(a)).toBeLessThan(names.indexOf(b));
    const at = (s: string) => header.stages.find((x) => x.stage === s)!;
    // The configuration's values, whatever the first decisions happened to reach.
    expect(at('technical').thresholds).toEqual({ min_score: 1.5 });
    expect(at('sizing').thresholds).toEqual({ min_notional: expect.any(Number) });
    expect(Object.keys(at('turnover').thresholds!)).toEqual([
      'min_interval_minutes',
      'max_decisions_per_day',
      'min_ev_ratio',
    ]);
    // A judged gate whose thresholds equal the declared ones carries none on its line.
    const judged = records
      .flatMap((r) => r.gate_trace)
      .find((g) => g.stage === 'technical' && g.verdict !== 'skip');
    expect(judged?.thresholds).toEqual({ min_score: 1.5 });
  });

  it('expand(compact(r)) deep-equals r for every record of a replay, whatever decisions the header is learnt from', () => {
    fc.assert(
      fc.property(fc.subarray(records, { minLength: 0, maxLength: 300 }), fc.nat(), (sample, seed) => {
        const header = buildRunHeader(infoOf(records[0]!), sample, '2026-01-01T00:00:00.000Z') as RunHeader;
        const reread = JSON.parse(JSON.stringify(header)) as RunHeader;
        for (let i = seed % 7; i < records.length; i += 7) {
          const r = records[i]!;
          const line = JSON.parse(JSON.stringify({ ...compactDecision(header, r), prev_hash: r.prev_hash }));
          expect(expandDecision(reread, line)).toEqual(r);
        }
      }),
      { numRuns: 25 },
    );
    // And every record against the engine's own header.
    const header = JSON.parse(lines(root)[0]!) as RunHeader;
    for (const r of records)
      expect(expandDecision(header, { ...compactDecision(header, r), prev_hash: r.prev_hash })).toEqual(r);
  });

  it('leaves the bar time out of a line whose id ends with it, and keeps it when the id does not say it', () => {
    const header = JSON.parse(lines(root)[0]!) as RunHeader;
    const raw = lines(root).slice(1);
    expect(raw.every((l) => !l.includes('"bar_ts"'))).toBe(true);
    const r = records[records.length - 1]!;
    const renamed = { ...r, decision_id: 'operator-note-1' };
    const line = JSON.parse(JSON.stringify(compactDecision(header, renamed)));
    expect(line.bar_ts).toBe(r.bar_ts);
    expect(expandDecision(header, { ...line, prev_hash: r.prev_hash })).toEqual(renamed);
  });

  it('a gate whose observed values are null where the header’s usual ones are not, with its own thresholds, reads back as null', () => {
    const header = JSON.parse(lines(root)[0]!) as RunHeader;
    const r = records.find((x) =>
      x.gate_trace.some((g) => g.stage === 'data_fetch' && g.verdict === 'pass'),
    )!;
    // A header whose usual data_fetch values are not null (as one learnt from other decisions may be).
    const stage = header.stages.find((s) => s.stage === 'data_fetch')!;
    stage.observed = { rows: 50 };
    delete stage.observed_shape;
    const edited: DecisionRecord = {
      ...r,
      gate_trace: r.gate_trace.map((g) =>
        g.stage === 'data_fetch' ? { ...g, observed: null, thresholds: { min_rows: 7 } } : g,
      ),
    };
    const line = JSON.parse(JSON.stringify(compactDecision(header, edited)));
    const back = expandDecision(header, { ...line, prev_hash: r.prev_hash });
    expect(back.gate_trace.find((g) => g.stage === 'data_fetch')?.observed).toBeNull();
    expect(back).toEqual(edited);
  });

  it('reads a log that is v1 first and v2 after a restart, chain intact, as the same decisions', async () => {
    using dir = tempDir();
    const first = await atl(['run', '--mode', 'backtest', '--max-bars', '200', '--data-dir', dir.path]);
    expect(first.code).toBe(0);
    rewriteAsV1(dir.path);
    const v1 = readDecisions(dir.path);
    const more = await atl(['run', '--mode', 'backtest', '--max-bars', '300', '--data-dir', dir.path]);
    expect(more.code).toBe(0);
    const raw = lines(dir.path);
    expect(raw[0]!.startsWith('{"schema_version":"1.0.0"')).toBe(true);
    expect(raw.filter((l) => isHeaderLine(l))).toHaveLength(1);
    const all = readDecisions(dir.path);
    expect(all.slice(0, v1.length)).toEqual(v1);
    expect(all.length).toBeGreaterThan(v1.length);
    expect(new Set(all.map((r) => r.decision_id)).size).toBe(all.length);
    expect(chainBreaks(dir.path)).toEqual([]);
    const h = await atl(['decisions', '--jsonl', '--data-dir', dir.path]);
    expect(
      h.stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l)),
    ).toEqual(all);
  }, 60_000);

  it('detects an edited or deleted run header as a chain break', async () => {
    const window = { startDay: records[0]!.bar_ts.slice(0, 10), endDay: '2100-01-01' };
    for (const damage of ['edit', 'delete'] as const) {
      using dir = tempDir();
      const raw = lines(root);
      const header = JSON.parse(raw[0]!) as RunHeader;
      if (damage === 'edit') {
        header.stages[0]!.thresholds = { tampered: 1 };
        raw[0] = JSON.stringify(header);
      } else raw.shift();
      writeFileSync(join(dir.path, 'shadow_decisions.jsonl'), `${raw.join('\n')}\n`);
      const scan = await scanDecisionLog(join(dir.path, 'shadow_decisions.jsonl'), window, () => {});
      expect(scan.integrity.chain.breaks).toBeGreaterThan(0);
      if (damage === 'delete') expect(scan.integrity.malformed.count).toBeGreaterThan(0);
    }
  });
});

describe('atl decisions', () => {
  it('filters by symbol, time, blocking stage and action through the reader', async () => {
    const pick = records.find((r) => r.blocked_stage !== null)!;
    const r = await atl([
      'decisions',
      '--json',
      '--symbol',
      pick.symbol,
      '--blocked-by',
      pick.blocked_stage!,
      '--since',
      pick.bar_ts,
      '--until',
      pick.bar_ts,
      '--data-dir',
      root,
    ]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(records.filter((x) => x.decision_id === pick.decision_id));
    const holds = await atl(['decisions', '--jsonl', '--action', 'hold', '--data-dir', root]);
    const got = holds.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as DecisionRecord);
    expect(got).toEqual(records.filter((x) => x.action === 'hold'));
    const human = await atl(['decisions', '--symbol', pick.symbol, '--data-dir', root]);
    expect(human.stdout).toContain(`of ${records.length.toLocaleString()} decisions match`);
  }, 60_000);

  it('knows every stage the run header declares and every gate names (so --blocked-by can refuse a typo)', () => {
    const known = new Set<string>(GATE_STAGES);
    const header = JSON.parse(lines(root)[0]!) as RunHeader;
    expect(header.stages.map((s) => s.stage).filter((s) => !known.has(s))).toEqual([]);
    const named = new Set(records.flatMap((r) => r.gate_trace.map((g) => g.stage)));
    expect([...named].filter((s) => !known.has(s))).toEqual([]);
  });

  it('refuses bad input with 64 and one line, and a missing log with 3', async () => {
    for (const args of [
      ['--since', 'yesterday'],
      ['--until', '2026-13-01'],
      ['--action', 'yolo'],
      ['--symbol', 'btc'],
      ['--blocked-by', 'Turn Over'],
      ['--blocked-by', 'turnovr'],
      ['--json', '--jsonl'],
      ['--since', '2026-02-01', '--until', '2026-01-01'],
      ['--bogus'],
    ]) {
      const r = await atl(['decisions', ...args, '--data-dir', root]);
      expect(r.code).toBe(64);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    using dir = tempDir();
    expect((await atl(['decisions', '--data-dir', dir.path])).code).toBe(3);
  }, 60_000);
});
