import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EXIT } from '../../core/exit-codes.ts';
import { atl } from '../support/cli.ts';

/**
 * A data root with one file damaged at a time (the ledger gone or replaced, a directory where a
 * file belongs, garbage bytes): each verb says what is wrong in one line with the exit code of
 * SPEC §6, and changes nothing it was not asked to.
 */
let base: string;
let work: string;
let n = 0;
const DECISIONS = 'rl/shadow_decisions.jsonl';
const LEDGER = 'unified_trading/ledger.sqlite';

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'atl-damaged-'));
  base = join(work, 'base');
  const r = await atl(['run', '--mode', 'backtest', '--max-bars', '300', '--data-dir', base]);
  if (r.code !== 0) throw new Error(`backtest failed: ${r.stderr}`);
}, 60_000);
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** A fresh copy of the backtest's data root. */
function root(): string {
  const to = join(work, `r${n++}`);
  cpSync(base, to, { recursive: true });
  return to;
}

/** The verb's own complaint lines (`atl <verb>: …`), without log lines. */
const complaints = (stderr: string) => stderr.split('\n').filter((l) => /^atl [a-z-]+: /.test(l));

function expectOneLine(r: { stderr: string }, says: string): void {
  const lines = complaints(r.stderr);
  expect(lines).toHaveLength(1);
  expect(lines[0]).toContain(says);
  expect(r.stderr).not.toContain('    at ');
}

const bytesOf = (dir: string, files: string[]) =>
  files.map((f) => readFileSync(join(dir, f)).toString('base64'));

describe('a damaged data root', () => {
  test('run refuses a data root whose decision log has no ledger beside it, and changes nothing; --fresh starts over', async () => {
    const r = root();
    rmSync(join(r, LEDGER));
    const kept = ['rl/shadow_decisions.jsonl', 'unified_trading/state.json', 'rl/advisor_state.json'];
    const before = bytesOf(r, kept);
    const refused = await atl(['run', '--max-bars', '5', '--data-dir', r]);
    expect(refused.code).toBe(EXIT.fail);
    expectOneLine(refused, 'has a decision log but no ledger');
    expect(complaints(refused.stderr)[0]).toContain('--fresh');
    expect(bytesOf(r, kept)).toEqual(before);
    expect(readdirSync(join(r, 'unified_trading'))).not.toContain('ledger.sqlite');
    const fresh = await atl(['run', '--max-bars', '5', '--fresh', '--data-dir', r]);
    expect(fresh.code).toBe(EXIT.pass);
  });

  test('run refuses a ledger that is another SQLite database (2) or no database at all (3)', async () => {
    const foreign = root();
    rmSync(join(foreign, LEDGER));
    const db = new Database(join(foreign, LEDGER), { create: true });
    db.exec('CREATE TABLE notes (x TEXT)');
    db.close();
    const r1 = await atl(['run', '--max-bars', '5', '--data-dir', foreign]);
    expect(r1.code).toBe(EXIT.fail);
    expectOneLine(r1, 'not an atl ledger');

    const garbage = root();
    for (const f of readdirSync(join(garbage, 'unified_trading')))
      if (f.startsWith('ledger.sqlite')) rmSync(join(garbage, 'unified_trading', f));
    writeFileSync(join(garbage, LEDGER), Buffer.alloc(4096, 0x5a));
    const r2 = await atl(['run', '--max-bars', '5', '--data-dir', garbage]);
    expect(r2.code).toBe(EXIT.unknown);
    expectOneLine(r2, 'is not a readable SQLite ledger');
    expect(readFileSync(join(garbage, LEDGER))).toEqual(Buffer.alloc(4096, 0x5a));
  });

  test('a directory where the decision log belongs: every reader names it in one line, exit 3', async () => {
    const r = root();
    rmSync(join(r, DECISIONS));
    mkdirSync(join(r, DECISIONS));
    for (const args of [
      ['decisions'],
      ['why', 'BTC/USDT', '2024-01-01T02:00Z'],
      ['health-daily', '--date', '2024-01-01'],
      ['report-weekly', '--week', '1', '--end', '2024-01-07'],
      ['run', '--max-bars', '5'],
      ['serve', '--port', '0'],
    ]) {
      const out = await atl([...args, '--data-dir', r], { env: { ATL_API_KEY: 'Zq8-v7Lp2xR9tW4mK6nB3cY1' } });
      expect(out.code, args[0]).toBe(EXIT.unknown);
      expectOneLine(out, `${join(r, DECISIONS)} is a directory where a file belongs`);
    }
  });

  test('a decision log none of whose lines reads is unknown (3), not "0 decisions match" or a warning', async () => {
    const r = root();
    writeFileSync(join(r, DECISIONS), `${'\u0000garbage\n'.repeat(50)}`);
    const out = await atl(['decisions', '--data-dir', r]);
    expect(out.code).toBe(EXIT.unknown);
    expectOneLine(out, 'none of its 50 line(s) reads as a decision record');
    const health = await atl(['health-daily', '--date', '2024-01-01', '--data-dir', r]);
    expect(health.code).toBe(EXIT.unknown);
    expect(health.stdout).toContain(
      "[UNKNOWN] decisions:malformed: none of the log's lines reads as a decision record",
    );
  });

  test('an advisor state that does not read is kept beside the fresh one, and the warning says where', async () => {
    const dir = join(work, `advisor${n++}`);
    mkdirSync(join(dir, 'rl'), { recursive: true });
    writeFileSync(join(dir, 'rl', 'advisor_state.json'), 'garbage{');
    const out = await atl(['run', '--max-bars', '5', '--data-dir', dir]);
    expect(out.code).toBe(EXIT.pass);
    const kept = readdirSync(join(dir, 'rl')).filter((f) => f.startsWith('advisor_state.json.damaged-'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(dir, 'rl', kept[0]!), 'utf8')).toBe('garbage{');
    expect(out.stderr).toContain(`the file is kept as ${join(dir, 'rl', kept[0]!)}`);
  });

  test('trades reads only the state and the ledger, and names a damaged trade row (3)', async () => {
    const r = root();
    writeFileSync(join(r, 'rl/paper_live_heartbeat.json'), '{x');
    expect((await atl(['trades', '--data-dir', r])).code).toBe(EXIT.pass);
    const db = new Database(join(r, LEDGER));
    db.exec("UPDATE trades SET pnl = 'garbage' WHERE id = (SELECT min(id) FROM trades)");
    db.close();
    const out = await atl(['trades', '--data-dir', r]);
    expect(out.code).toBe(EXIT.unknown);
    expectOneLine(out, 'does not read (pnl is not a number) — the ledger is damaged');
  });

  test('control characters from a damaged file are shown escaped, on one line', async () => {
    const r = root();
    writeFileSync(join(r, 'rl/paper_live_heartbeat.json'), '{"a":\u0000}');
    const out = await atl(['status', '--data-dir', r]);
    expect(out.code).toBe(EXIT.unknown);
    expect(out.stderr).not.toContain('\u0000');
    expect(complaints(out.stderr)[0]).toContain('\\u0000');
  });

  test('audit counts a line without its chain field as a break, and does not call the chain verified', async () => {
    const r = root();
    const lines = readFileSync(join(r, DECISIONS), 'utf8').split('\n');
    lines.splice(5, 0, '{"decision_id":"inserted"}');
    writeFileSync(join(r, DECISIONS), lines.join('\n'));
    const out = await atl(['audit', '--data-dir', r]);
    expect(out.code).toBe(EXIT.fail);
    expect(out.stdout).toContain('line 6: the line carries no prev_hash');
    expect(out.stdout).toContain('chain checked from genesis');
    expect(out.stdout).not.toContain('chain verified');
  });

  test('audit fails a file named as evidence that is not an evidence envelope', async () => {
    const r = root();
    expect((await atl(['health-daily', '--date', '2024-01-01', '--data-dir', r])).code).toBeLessThan(3);
    expect((await atl(['audit', '--data-dir', r])).code).toBe(EXIT.pass);
    writeFileSync(join(r, 'reports', 'daily_shadow_health_2024-01-01.json'), '[1,2,3]');
    const out = await atl(['audit', '--data-dir', r]);
    expect(out.code).toBe(EXIT.fail);
    expect(out.stdout).toContain('daily_shadow_health_2024-01-01.json: is not an evidence envelope');
  });

  test('emergency-stop keeps a damaged halt file beside the one it writes, and refuses --reason with --clear (64)', async () => {
    const r = root();
    expect((await atl(['emergency-stop', '--reason', 'drill', '--data-dir', r])).code).toBe(EXIT.pass);
    const whole = readFileSync(join(r, 'safety_state.json'), 'utf8');
    const torn = whole.slice(0, 40);
    writeFileSync(join(r, 'safety_state.json'), torn);
    const both = await atl([
      'emergency-stop',
      '--reason',
      'x',
      '--clear',
      '--approver',
      'bob',
      '--data-dir',
      r,
    ]);
    expect(both.code).toBe(EXIT.usage);
    expectOneLine(both, '--clear lifts the halt and --reason sets one');
    expect(readFileSync(join(r, 'safety_state.json'), 'utf8')).toBe(torn);
    const cleared = await atl(['emergency-stop', '--clear', '--approver', 'bob', '--data-dir', r]);
    expect(cleared.code).toBe(EXIT.pass);
    const kept = readdirSync(r).filter((f) => f.startsWith('safety_state.json.damaged-'));
    expect(kept).toHaveLength(1);
    expect(readFileSync(join(r, kept[0]!), 'utf8')).toBe(torn);
  });
});

describe('flags and candle files', () => {
  test("a bad number flag's hint names the verb's own --help", async () => {
    const out = await atl(['trades', '--limit', '-1', '--data-dir', base]);
    expect(out.code).toBe(EXIT.usage);
    expectOneLine(out, 'see `npx atl trades --help`');
  });

  test('a file given where a directory belongs (--data-dir, --models-dir) or a directory where a file does (--evidence) is named as such', async () => {
    const file = join(work, 'a-file');
    writeFileSync(file, 'x');
    const dataDir = await atl(['status', '--data-dir', file]);
    expect(dataDir.code).toBe(EXIT.usage);
    expectOneLine(dataDir, `--data-dir ${file} is a file, not a directory`);
    const models = await atl([
      'run',
      '--max-bars',
      '2',
      '--models-dir',
      file,
      '--data-dir',
      join(work, `m${n++}`),
    ]);
    expect(models.code).toBe(EXIT.config);
    expectOneLine(models, `models directory ${file} is a file, not a directory`);
    const evidence = await atl(['audit', '--evidence', work, '--data-dir', root()]);
    expect(evidence.code).toBe(EXIT.usage);
    expectOneLine(evidence, `--evidence ${work} is a directory`);
  });

  test("a damaged pidfile gets the pidfile's fix, not the heartbeat's", async () => {
    const r = root();
    mkdirSync(join(r, 'logs'), { recursive: true });
    writeFileSync(join(r, 'logs', 'engine.pid'), '{bad');
    const out = await atl(['status', '--data-dir', r]);
    expect(out.code).toBe(EXIT.unknown);
    expect(complaints(out.stderr).find((l) => l.includes('engine.pid'))).toContain(
      'if no engine runs on this data root, remove it',
    );
  });

  test('flags are checked whether or not the part that uses them runs, with the same code in every verb', async () => {
    const cases: [string[], number, string][] = [
      [
        ['ssh-check', 'localhost', '--remote-timeout', 'abc'],
        EXIT.usage,
        '--remote-timeout must be a number',
      ],
      [['ssh-check', 'localhost', '--identity', work], EXIT.usage, `--identity ${work} is a directory`],
      [
        ['check-transition', 'testnet', '--exchange', 'nosuchex', '--data-dir', base],
        EXIT.config,
        'unknown exchange "nosuchex"',
      ],
      [['doctor', '--timeframe', '9x', '--data-dir', base], EXIT.config, 'unknown timeframe "9x"'],
    ];
    for (const [args, code, says] of cases) {
      const out = await atl(args);
      expect(out.code, args.join(' ')).toBe(code);
      expectOneLine(out, says);
    }
  });

  test('check-transition gives an exchange that never answers --timeout seconds in all, then fails the reachability gate', async () => {
    const silent = Bun.serve({
      port: 0,
      hostname: '127.0.0.1',
      fetch: () => new Promise<Response>(() => {}),
    });
    try {
      const url = `http://127.0.0.1:${silent.port}`;
      const args = [
        'check-transition',
        'testnet',
        '--exchange-url',
        url,
        '--timeout',
        '1',
        '--data-dir',
        root(),
      ];
      // Killed after 15 s: without the bound the probe took 20 s.
      const out = await atl(args, { timeoutMs: 15_000 });
      expect(out.code).toBe(EXIT.fail);
      expect(out.stdout).toMatch(/readiness:exchange_reachable +binance: timeout/);
    } finally {
      silent.stop(true);
    }
  });

  test('a candle time no Date can hold is a configuration error naming the line (78)', async () => {
    const dir = join(work, 'candles');
    mkdirSync(dir, { recursive: true });
    const csv = join(dir, 'BTC_USDT-1m.csv');
    writeFileSync(
      csv,
      'timestamp,open,high,low,close,volume\n1704067200000,1,1,1,1,1\n99999999999999999999,1,1,1,1,1\n',
    );
    const out = await atl([
      'run',
      '--mode',
      'backtest',
      '--symbols',
      'BTC/USDT',
      '--replay-file',
      csv,
      '--data-dir',
      join(dir, 'root'),
    ]);
    expect(out.code).toBe(EXIT.config);
    expectOneLine(out, `${csv}:3: timestamp`);
  });
});
