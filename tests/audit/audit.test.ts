import { Database } from 'bun:sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { prepareReplay } from '../../bench/_replay.ts';
import { IdSet } from '../../core/audit/decisions.ts';
import { isHeaderLine } from '../../core/records/reader.ts';
import { atl, spawnAtl, tempDir, waitFor } from '../support/cli.ts';
import { rewriteAsV1 } from '../support/records.ts';

// One real engine run (a backtest, then a resumed second leg) serves every case as a fresh copy.
let base: ReturnType<typeof tempDir>;
beforeAll(async () => {
  base = tempDir('atl-audit-base-');
  for (const bars of ['150', '250']) {
    const r = await atl(['run', '--max-bars', bars, '--data-dir', base.path]);
    expect(r.code).toBe(0);
  }
}, 60_000);
afterAll(() => base[Symbol.dispose]());

function copyRoot() {
  const dir = tempDir('atl-audit-');
  cpSync(base.path, dir.path, { recursive: true });
  return dir;
}
const logOf = (root: string) => join(root, 'rl', 'shadow_decisions.jsonl');
const linesOf = (root: string) => readFileSync(logOf(root), 'utf8').split('\n').filter(Boolean);
/** Line indexes (0-based) of the run headers: the run's, then the resume's. */
const headersOf = (lines: string[]) => lines.flatMap((l, i) => (isHeaderLine(l) ? [i] : []));

async function audit(root: string) {
  const r = await atl(['audit', '--data-dir', root, '--json']);
  const evidence = JSON.parse(r.stdout);
  expect(evidence.verb).toBe('audit');
  expect(evidence.exit_code).toBe(r.code);
  const status = Object.fromEntries(
    evidence.checks.map((c: { id: string; status: string }) => [c.id, c.status]),
  );
  return { code: r.code, evidence, status, first: evidence.details.first_break };
}

describe('atl audit', () => {
  it('passes a clean log from a real run and its resume (exit 0), verified from genesis', async () => {
    using dir = copyRoot();
    const a = await audit(dir.path);
    expect(a.code).toBe(0);
    expect(a.first).toBeNull();
    expect(a.evidence.details.anchor).toBe('genesis');
    // Record v2: the run and its resume each open with a run header, in the chain like any line.
    const lines = linesOf(dir.path);
    const headers = headersOf(lines);
    expect(headers).toHaveLength(2);
    expect(headers[0]).toBe(0);
    expect(a.evidence.details.decisions.records).toBe(lines.length - 2);
    expect(a.evidence.details.decisions.lines).toBe(lines.length);
    for (const id of [
      'decisions:chain',
      'decisions:schema',
      'decisions:headers',
      'decisions:ids-unique',
      'decisions:bars-monotone',
    ])
      expect(a.status[id]).toBe('pass');
    for (const id of ['outcomes:links', 'ledger:fills', 'ledger:totals', 'evidence:integrity'])
      expect(a.status[id]).toBe('pass');
    const human = await atl(['audit', '--data-dir', dir.path]);
    expect(human.stdout).toContain('ATL AUDIT');
    expect(human.stdout).toContain('chain verified from genesis');
  });

  it('an edited byte breaks the chain on the next line: exit 2 naming file, line and lines after', async () => {
    using dir = copyRoot();
    const lines = linesOf(dir.path);
    // A digit of the market data on line 40: still valid JSON and schema, so only the chain can tell.
    const edited = lines[39]!.replace(
      /"market":\[(\d)/,
      (_m, d: string) => `"market":[${(Number(d) + 1) % 10}`,
    );
    expect(edited).not.toBe(lines[39]);
    lines[39] = edited;
    writeFileSync(logOf(dir.path), `${lines.join('\n')}\n`);
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.status['decisions:chain']).toBe('fail');
    expect(a.status['decisions:schema']).toBe('pass');
    expect(a.first).toMatchObject({
      file: logOf(dir.path),
      line: 41,
      lines_after: lines.length - 41,
      kind: 'chain',
    });
    const human = await atl(['audit', '--data-dir', dir.path]);
    expect(human.code).toBe(2);
    expect(human.stdout).toContain(`first break: ${logOf(dir.path)} line 41`);
    expect(human.stdout).toContain(`${lines.length - 41} line(s) after it`);
  });

  it('a deleted line breaks the chain where it was and orphans what pointed at it: exit 2', async () => {
    using dir = copyRoot();
    const lines = linesOf(dir.path);
    const executed = lines.findIndex((l, i) => i > 5 && l.includes('"execution":{'));
    lines.splice(executed, 1);
    writeFileSync(logOf(dir.path), `${lines.join('\n')}\n`);
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.first).toMatchObject({
      line: executed + 1,
      lines_after: lines.length - (executed + 1),
      kind: 'chain',
    });
    expect(a.status['ledger:fills']).toBe('fail'); // the ledger holds fills of a decision the log lost
    expect(a.status['outcomes:links']).toBe('fail');
  });

  it('a file truncated mid-line fails at its last line with nothing after it: exit 2', async () => {
    using dir = copyRoot();
    const text = readFileSync(logOf(dir.path));
    const lines = linesOf(dir.path).length;
    truncateSync(logOf(dir.path), text.length - 200);
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.status['decisions:tail']).toBe('fail');
    expect(a.first).toMatchObject({ line: lines, lines_after: 0, kind: 'truncated' });
  });

  it('lines cut from the end at a line boundary are caught against the ledger checkpoint: exit 2', async () => {
    using dir = copyRoot();
    const lines = linesOf(dir.path);
    writeFileSync(logOf(dir.path), `${lines.slice(0, -3).join('\n')}\n`);
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.status['decisions:chain']).toBe('pass');
    expect(a.status['ledger:totals']).toBe('fail');
  });

  it('a line copied onto the end repeats its id and goes back in time', async () => {
    using dir = copyRoot();
    // A line from under the last run header (a compact line reads only under its own header).
    const lines = linesOf(dir.path);
    appendFileSync(logOf(dir.path), `${lines[headersOf(lines).at(-1)! + 10]}\n`);
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.status['decisions:ids-unique']).toBe('fail');
    expect(a.status['decisions:bars-monotone']).toBe('fail');
    expect(a.evidence.details.decisions.faults.duplicate).toBe(1);
  });

  it('an edited byte of a run header breaks the chain on the line after it, the header still valid', async () => {
    using dir = copyRoot();
    const lines = linesOf(dir.path);
    const at = headersOf(lines)[1]!;
    const header = JSON.parse(lines[at]!);
    const hex = header.config_hash[0] === 'a' ? 'b' : 'a';
    lines[at] = lines[at]!.replace(`"config_hash":"${header.config_hash[0]}`, `"config_hash":"${hex}`);
    writeFileSync(logOf(dir.path), `${lines.join('\n')}\n`);
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.status['decisions:chain']).toBe('fail');
    expect(a.status['decisions:headers']).toBe('pass');
    expect(a.first).toMatchObject({ line: at + 2, kind: 'chain' });
  });

  it('a run header that breaks its schema, or compact lines with none before them, are header findings', async () => {
    using dir = copyRoot();
    const lines = linesOf(dir.path);
    const at = headersOf(lines)[1]!;
    const header = JSON.parse(lines[at]!);
    header.stages = 'none';
    lines[at] = JSON.stringify(header);
    writeFileSync(logOf(dir.path), `${lines.join('\n')}\n`);
    const bad = await audit(dir.path);
    expect(bad.code).toBe(2);
    expect(bad.status['decisions:headers']).toBe('fail');
    expect(bad.evidence.details.decisions.faults.header).toBe(lines.length - at);
    // The first header removed: the chain breaks at line 1 and the lines it opened have no header.
    writeFileSync(logOf(dir.path), `${linesOf(base.path).slice(1).join('\n')}\n`);
    const headless = await audit(dir.path);
    expect(headless.code).toBe(2);
    expect(headless.first).toMatchObject({ line: 1, kind: 'chain' });
    expect(headless.status['decisions:headers']).toBe('fail');
    expect(headless.evidence.details.decisions.faults.header).toBe(at - 1);
    expect(JSON.stringify(headless.evidence.checks)).toContain('no run header before it');
  });

  it('a log that is v1 up to a restart and v2 after it audits clean from genesis', async () => {
    using dir = tempDir();
    expect((await atl(['run', '--max-bars', '150', '--data-dir', dir.path])).code).toBe(0);
    rewriteAsV1(dir.path);
    const v1 = linesOf(dir.path).length;
    expect((await atl(['run', '--max-bars', '250', '--data-dir', dir.path])).code).toBe(0);
    const lines = linesOf(dir.path);
    expect(headersOf(lines)).toEqual([v1]);
    const a = await audit(dir.path);
    expect(a.code).toBe(0);
    expect(a.first).toBeNull();
    expect(a.evidence.details.decisions.records).toBe(lines.length - 1);
    for (const id of ['decisions:chain', 'decisions:schema', 'decisions:headers', 'ledger:totals'])
      expect(a.status[id]).toBe('pass');
  });

  it('a ledger fill changed outside the engine disagrees with the log: exit 2', async () => {
    using dir = copyRoot();
    const db = new Database(join(dir.path, 'unified_trading', 'ledger.sqlite'));
    db.run('UPDATE fills SET fee = fee * 2 WHERE id = (SELECT min(id) FROM fills)');
    db.close();
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.status['ledger:fills']).toBe('fail');
    expect(a.status['ledger:totals']).toBe('fail');
  });

  it('an evidence file whose exit code no longer follows from its status fails evidence:integrity', async () => {
    using dir = copyRoot();
    expect((await atl(['audit', '--data-dir', dir.path])).code).toBe(0);
    const latest = join(dir.path, 'reports', 'audit', 'latest.json');
    const ev = JSON.parse(readFileSync(latest, 'utf8'));
    writeFileSync(latest, JSON.stringify({ ...ev, exit_code: 2 }));
    const a = await audit(dir.path);
    expect(a.code).toBe(2);
    expect(a.status['evidence:integrity']).toBe('fail');
    expect(JSON.stringify(a.evidence.checks)).toContain(
      'audit/latest.json: exit_code 2 does not follow from status pass',
    );
  });

  it('exits 3 with evidence when the log is missing or unreadable', async () => {
    using dir = tempDir();
    const missing = await audit(dir.path);
    expect(missing.code).toBe(3);
    mkdirSync(logOf(dir.path), { recursive: true }); // a directory where the log should be
    const unreadable = await audit(dir.path);
    expect(unreadable.code).toBe(3);
    expect(unreadable.status['decisions:readable']).toBe('unknown');
    rmSync(logOf(dir.path), { recursive: true });
  });
});

describe('IdSet (decision-id fingerprints)', () => {
  it('holds a quarter million ids through its growth, finds each, and flags only the repeat', () => {
    const ids = new IdSet();
    for (let i = 0; i < 250_000; i++) ids.add(`bt-BTCUSDT-1m-${i}`);
    ids.add('bt-BTCUSDT-1m-77');
    expect(ids.size).toBe(250_000);
    expect(ids.suspects.size).toBe(1);
    expect([0, 123_456, 249_999].every((i) => ids.has(`bt-BTCUSDT-1m-${i}`))).toBe(true);
    expect(ids.has('bt-BTCUSDT-1m-250000')).toBe(false);
  });
});

describe('atl audit alongside a running engine', () => {
  it('finds nothing broken while a replay appends, commits and writes outcomes (exit 0, or 1 for work in flight)', async () => {
    using dir = tempDir();
    // A long replay (the benchmarks' one-minute candles) so the audits overlap its appends and checkpoints.
    const root = join(dir.path, 'root');
    const engine = spawnAtl(prepareReplay(dir.path, 150_000, root));
    try {
      await waitFor(
        () => existsSync(join(root, 'unified_trading', 'ledger.sqlite')) && existsSync(logOf(root)),
      );
      let audits = 0;
      while (engine.exitCode === null && audits < 6) {
        const a = await audit(root);
        const failed = a.evidence.checks.filter(
          (c: { status: string }) => c.status === 'fail' || c.status === 'unknown',
        );
        expect(failed).toEqual([]);
        expect([0, 1]).toContain(a.code);
        audits++;
      }
      expect(audits).toBeGreaterThan(1); // each started while the engine was writing
    } finally {
      engine.kill();
      await engine.exited;
    }
  }, 60_000);
});
