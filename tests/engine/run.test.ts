import { describe, expect, it } from 'bun:test';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atl, SHARED_MARKET, tempDir } from '../support/cli.ts';
import { chainBreaks, countBy, readDecisions, readHeartbeat } from '../support/records.ts';

const REAL = join(SHARED_MARKET, 'UNITTEST_BTC-5m.json');
const haveReal = existsSync(REAL);
if (!haveReal) console.warn(`skipping real-candle tests: ${REAL} is absent`);

describe('atl run --mode backtest', () => {
  it.skipIf(!haveReal)(
    'writes exactly one schema-valid record per closed bar of a ccxt candle file, and the heartbeat counts them',
    async () => {
      using dir = tempDir();
      const candles = JSON.parse(readFileSync(REAL, 'utf8')) as number[][];
      const r = await atl([
        'run',
        '--mode',
        'backtest',
        '--replay-file',
        REAL,
        '--symbols',
        'UNITTEST/BTC',
        '--data-dir',
        dir.path,
      ]);
      expect(r.code).toBe(0);
      const records = readDecisions(dir.path);
      expect(records.length).toBe(candles.length);
      expect(new Set(records.map((d) => d.decision_id)).size).toBe(records.length);
      expect(new Set(records.map((d) => d.bar_ts))).toEqual(
        new Set(candles.map((c) => new Date(c[0]! + 300_000).toISOString())),
      );
      expect(
        records.every((d) => d.data_mode === 'REPLAY' && d.symbol === 'UNITTEST/BTC' && d.ts.endsWith('Z')),
      ).toBe(true);
      expect(chainBreaks(dir.path)).toEqual([]);
      const hb = readHeartbeat(dir.path)!;
      expect(hb.total_decisions_session).toBe(records.length);
      expect(hb.status).toBe('stopped');
      expect(hb.per_symbol['UNITTEST/BTC']!.decisions).toBe(records.length);
      const status = await atl(['status', '--json', '--data-dir', dir.path], { cwd: '/' });
      expect(status.code).toBe(0);
      const view = JSON.parse(status.stdout);
      expect(view.heartbeat.total_decisions_session).toBe(records.length);
      expect(view.state.mode).toBe('backtest');
      expect(view.engine.process).toBe('no_pidfile');
    },
  );

  it('replays the bundled synthetic candles for three symbols and labels every record synthetic', async () => {
    using dir = tempDir();
    const r = await atl(['run', '--max-bars', '120', '--data-dir', dir.path]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SYNTHETIC');
    const records = readDecisions(dir.path);
    expect(countBy(records, (d) => d.symbol)).toEqual({ 'BTC/USDT': 120, 'ETH/USDT': 120, 'SOL/USDT': 120 });
    expect(records.every((d) => d.source.synthetic)).toBe(true);
    // One correlation id per tick, shared by that tick's three records.
    expect(new Set(records.map((d) => d.correlation_id)).size).toBe(120);
    // The bundled models' runners (two per symbol) are in the status view.
    expect((await atl(['status', '--data-dir', dir.path])).stdout).toContain('breakers    all 6 closed');
  });

  it('records every gate verdict and names the first blocking stage', async () => {
    using dir = tempDir();
    expect(
      (await atl(['run', '--max-bars', '300', '--symbols', 'BTC/USDT', '--data-dir', dir.path])).code,
    ).toBe(0);
    const records = readDecisions(dir.path);
    const warmup = records[0]!;
    expect(warmup.blocked_stage).toBe('data_fetch');
    expect(warmup.block_reason).toBe('insufficient_data:1');
    for (const d of records) {
      const firstBlock = d.gate_trace.find((g) => g.verdict === 'block');
      if (d.action === 'hold' && d.blocked_stage)
        expect(d.gate_trace.some((g) => g.stage === d.blocked_stage && g.verdict === 'block')).toBe(true);
      if (d.blocked_stage === 'technical') expect(firstBlock?.stage).toBe('technical');
      expect(d.gate_trace[0]!.stage).toBe('control');
    }
    expect(records.some((d) => d.execution !== null)).toBe(true);
  });

  it('accepts CSV with ISO-8601 timestamps', async () => {
    using dir = tempDir();
    const csv = join(dir.path, 'X_USDT-1h.csv');
    const rows = ['timestamp,open,high,low,close,volume'];
    for (let i = 0; i < 80; i++) {
      const p = 100 + Math.sin(i / 5) * 3;
      rows.push(
        `${new Date(Date.UTC(2025, 0, 1) + i * 3_600_000).toISOString()},${p},${p + 1},${p - 1},${p + 0.5},${10 + i}`,
      );
    }
    writeFileSync(csv, `${rows.join('\n')}\n`);
    const r = await atl(['run', '--replay-file', csv, '--data-dir', join(dir.path, 'root')]);
    expect(r.code).toBe(0);
    const records = readDecisions(join(dir.path, 'root'));
    expect(records.length).toBe(80);
    expect(records[0]!.symbol).toBe('X/USDT');
    expect(records[0]!.timeframe).toBe('1h');
    expect(records[0]!.bar_ts).toBe('2025-01-01T01:00:00.000Z');
  });
});

describe('bad candle files are a configuration error naming the file, line and problem', () => {
  const header = 'timestamp,open,high,low,close,volume';
  const cases: Array<[string, string, RegExp]> = [
    ['missing column', `${header}\n1700000000000,1,2,0.5,1.5\n`, /:2: expected 6 columns/],
    ['non-numeric value', `${header}\n1700000000000,1,2,0.5,abc,3\n`, /:2: close is not a number \("abc"\)/],
    [
      'unsorted timestamps',
      `${header}\n1700000060000,1,2,0.5,1.5,3\n1700000000000,1,2,0.5,1.5,3\n`,
      /:3: timestamps not sorted/,
    ],
    [
      'duplicate timestamps',
      `${header}\n1700000000000,1,2,0.5,1.5,3\n1700000000000,1,2,0.5,1.5,3\n`,
      /:3: duplicate timestamp/,
    ],
    ['high below low', `${header}\n1700000000000,1,0.5,2,1.5,3\n`, /:2: high 0.5 is below low 2/],
    ['bad header', 'time,open,close\n', /:1: header must be/],
    ['empty file', '', /candle file is empty/],
    ['JSON that is not candles', '{"a":1}', /:1: expected an array of candles/],
    [
      'JSON candle with a string price',
      '[[1700000000000,1,2,0.5,1.5,3],\n[1700000060000,"x",2,0.5,1.5,3]]',
      /:2: candle #2 open is not a finite number/,
    ],
    ['torn JSON', '[[1700000000000,1,2,0.5,1.5,3],[17000', /not valid JSON/],
  ];
  for (const [name, content, pattern] of cases) {
    it(`exits 78 on ${name}`, async () => {
      using dir = tempDir();
      const file = join(dir.path, name.includes('JSON') ? 'bad.json' : 'bad.csv');
      writeFileSync(file, content);
      const r = await atl([
        'run',
        '--replay-file',
        file,
        '--symbols',
        'A/B',
        '--data-dir',
        join(dir.path, 'root'),
      ]);
      expect(r.code).toBe(78);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).toContain(file);
      expect(
        r.stderr
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('atl run:')).length,
      ).toBe(1);
    });
  }

  it('exits 78 for a file that does not exist', async () => {
    using dir = tempDir();
    const r = await atl(['run', '--replay-file', join(dir.path, 'nope.csv'), '--data-dir', dir.path]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('ENOENT');
  });
});

describe('flags', () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['run', '--bogus'], 64, /unknown flag --bogus/],
    [['run', '--capital', 'lots'], 64, /--capital must be a number/],
    [['run', '--max-bars', '1.5'], 64, /--max-bars must be a whole number/],
    [['run', '--mode', 'yolo'], 64, /unknown mode "yolo"/],
    [['run', '--until', 'someday'], 64, /--until must be a UTC day or time/],
    [['run', '--mode', 'backtest', '--until', '2001-01-01'], 64, /before the replay's first candle closes/],
    [['run', '--mode', 'live_full'], 2, /needs --confirm/],
    [['frobnicate'], 64, /unknown verb "frobnicate"/],
    [['emergency-stop'], 64, /needs --reason/],
    [['emergency-stop', '--clear'], 64, /--clear needs --approver/],
  ];
  for (const [args, code, pattern] of cases) {
    it(`\`atl ${args.join(' ')}\` exits ${code} with a one-line message`, async () => {
      using dir = tempDir();
      const r = await atl([...args, ...(args[0] === 'frobnicate' ? [] : ['--data-dir', dir.path])]);
      expect(r.code).toBe(code);
      expect(r.stderr).toMatch(pattern);
      expect(r.stdout).toBe('');
    });
  }
});

describe('config_hash', () => {
  it('is the same for the same configuration and changes when the usable models change', async () => {
    using dir = tempDir();
    const { mkdirSync } = await import('node:fs');
    const none = join(dir.path, 'no-models');
    mkdirSync(none);
    const hashOf = async (root: string, extra: string[]) => {
      expect(
        (
          await atl([
            'run',
            '--max-bars',
            '2',
            '--symbols',
            'BTC/USDT',
            '--data-dir',
            join(dir.path, root),
            ...extra,
          ])
        ).code,
      ).toBe(0);
      return readDecisions(join(dir.path, root))[0]!.config_hash;
    };
    const bundled = await hashOf('a', []);
    expect(await hashOf('b', [])).toBe(bundled);
    expect(await hashOf('c', ['--models-dir', none])).not.toBe(bundled);
  });
});
