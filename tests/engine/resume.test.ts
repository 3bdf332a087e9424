import { Database } from 'bun:sqlite';
import { describe, expect, it } from 'bun:test';
import { copyFileSync, existsSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atl, tempDir } from '../support/cli.ts';
import { countBy, readDecisions, readOutcomes } from '../support/records.ts';
import { runSnapshot, snapshotDiff } from '../support/resume.ts';

const RUN = ['run', '--mode', 'backtest', '--symbols', 'BTC/USDT', '--timeframe', '1h'];
const ledgerOf = (root: string) => join(root, 'unified_trading', 'ledger.sqlite');

/** Run `atl run … --json` on a data root; the run's own report. */
async function run(root: string, extra: string[] = []) {
  const r = await atl([...RUN, ...extra, '--json', '--data-dir', root], { timeoutMs: 120_000 });
  expect(r.code).toBe(0);
  return JSON.parse(r.stdout) as { decisions: number; skippedAlreadyDecided: number; resumed: boolean };
}

/** What a resume must never write twice: one equity row per bar time, one outcome per decision and kind. */
function duplicates(root: string) {
  const db = new Database(ledgerOf(root), { readonly: true });
  const eq = db
    .query<{ n: number; d: number }, []>('SELECT count(*) n, count(DISTINCT ts) d FROM equity')
    .get()!;
  db.close();
  const byKey = countBy(readOutcomes(root), (o) => `${o.decision_id} ${o.kind}`);
  return {
    equityRowsOverTimes: eq.n - eq.d,
    outcomeKeysTwice: Object.values(byKey).filter((n) => n > 1).length,
  };
}

async function maxDrawdown(root: string): Promise<unknown> {
  const r = await atl(['check-transition', 'paper_synthetic', '--json', '--data-dir', root]);
  const details = JSON.parse(r.stdout).details as { requirements: Array<{ id: string; current: unknown }> };
  return details.requirements.find((q) => q.id === 'max_drawdown')?.current;
}

/** check-transition's max drawdown and report-weekly's for the first week of the bundled 1h replay. */
async function drawdowns(root: string): Promise<{ transition: number; weekly: number }> {
  const t = await atl(['check-transition', 'paper_synthetic', '--json', '--data-dir', root]);
  const req = (JSON.parse(t.stdout).details as { requirements: Array<{ id: string; current: number }> })
    .requirements;
  const w = await atl(['report-weekly', '--week', '1', '--end', '2026-05-08', '--json', '--data-dir', root]);
  return {
    transition: req.find((q) => q.id === 'max_drawdown')!.current,
    weekly: (JSON.parse(w.stdout).details as { performance: { max_drawdown_pct: number } }).performance
      .max_drawdown_pct,
  };
}

describe('a replay resumed after a stop', () => {
  it('writes exactly what one uninterrupted run writes — decisions, orders, fills, trades, positions, equity, outcomes, advisor state — also when resumed with nothing left', async () => {
    using dir = tempDir();
    const split = join(dir.path, 'split');
    const whole = join(dir.path, 'whole');
    await run(split, ['--max-bars', '2000']);
    const atStop = readOutcomes(split).filter((o) => o.kind === 'forward_return' && !o.complete);
    expect(atStop).toHaveLength(20); // the stop says what it knows of the horizons still open
    const advisorFile = join(split, 'rl', 'advisor_state.json');
    const advisorAtStop = readFileSync(advisorFile);
    const second = await run(split);
    expect(second.resumed).toBe(true);
    expect(second.skippedAlreadyDecided).toBe(2000);
    // A kill after the last checkpoint, before the advisor's file was saved, leaves it behind the ledger.
    writeFileSync(advisorFile, advisorAtStop);
    const third = await run(split); // the replay's end: nothing left to decide
    expect(third.decisions).toBe(0);
    await run(whole);

    expect(snapshotDiff(runSnapshot(split), runSnapshot(whole))).toEqual([]);
    expect(duplicates(split)).toEqual({ equityRowsOverTimes: 0, outcomeKeysTwice: 0 });
    // The provisional lines of the stop were replaced by complete ones, not joined by them.
    const final = new Map(readOutcomes(split).map((o) => [`${o.decision_id} ${o.kind}`, o]));
    for (const o of atStop)
      expect(final.get(`${o.decision_id} forward_return`)).toMatchObject({ complete: true });
    // The gates read the drawdown of the curve the market made, not of bars counted twice.
    expect(await maxDrawdown(split)).toBe(await maxDrawdown(whole));
  }, 120_000);

  it('after a crash between the log flush and the ledger commit, keeps what reached the files and writes none of it twice; the summary counts it as already decided', async () => {
    using dir = tempDir();
    const crashed = join(dir.path, 'crashed');
    const whole = join(dir.path, 'whole');
    await run(crashed, ['--max-bars', '2000']);
    const ledger = ledgerOf(crashed);
    for (const ext of ['', '-wal', '-shm'])
      if (existsSync(ledger + ext)) copyFileSync(ledger + ext, join(dir.path, `committed${ext}`));
    await run(crashed, ['--max-bars', '500']);
    // The state `kill -9` leaves after the last checkpoint flushed the decision log and the
    // outcomes but before its ledger commit: the files hold 500 bars the ledger has not seen.
    const db = new Database(ledger, { readonly: true });
    const cp = JSON.parse(
      db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'checkpoint'").get()!.value,
    );
    db.close();
    truncateSync(join(crashed, 'rl', 'decision_outcomes.jsonl'), cp.observers.outcomes.file_bytes); // before the stop's provisional lines
    for (const ext of ['', '-wal', '-shm']) {
      const saved = join(dir.path, `committed${ext}`);
      if (existsSync(saved)) copyFileSync(saved, ledger + ext);
      else rmSync(ledger + ext, { force: true });
    }
    const logged = readDecisions(crashed).length;
    expect(logged).toBe(2500);

    const resumed = await run(crashed);
    await run(whole);
    expect(snapshotDiff(runSnapshot(crashed), runSnapshot(whole))).toEqual([]);
    expect(duplicates(crashed)).toEqual({ equityRowsOverTimes: 0, outcomeKeysTwice: 0 });
    // "N written this run; M bars already decided": together, what the log holds.
    expect(resumed.decisions + resumed.skippedAlreadyDecided).toBe(readDecisions(crashed).length);
    expect(resumed.skippedAlreadyDecided).toBe(logged);
    expect(readFileSync(join(crashed, 'rl', 'decision_outcomes.jsonl'), 'utf8')).toBe(
      readFileSync(join(whole, 'rl', 'decision_outcomes.jsonl'), 'utf8'),
    );
  }, 120_000);

  it('after a kill -9 in its first checkpoint, before any ledger commit, the shadow advisor learns the replayed bars again as an uninterrupted run did', async () => {
    using dir = tempDir();
    const killed = join(dir.path, 'killed');
    const whole = join(dir.path, 'whole');
    // One batch of bars, so the end-of-run checkpoint is the first; it dies while flushing the
    // outcomes (the first rotation of their file), after the decision log flush, before the commit.
    const flags = ['--max-bars', '1500', '--log-max-bytes', '100000'];
    const k = await atl([...RUN, ...flags, '--json', '--data-dir', killed], {
      timeoutMs: 120_000,
      env: { ATL_FAULT_KILL_AT: 'decision_outcomes:rotate:synced' },
    });
    expect(k.code).not.toBe(0);
    expect(k.stdout).toBe('');
    const db = new Database(ledgerOf(killed), { readonly: true });
    expect(db.query("SELECT value FROM meta WHERE key = 'checkpoint'").get()).toBeNull();
    db.close();
    expect(readDecisions(killed)).toHaveLength(1500);
    // Learned state reaches its file only after a commit: none here, so nothing ahead of the ledger.
    expect(existsSync(join(killed, 'rl', 'advisor_state.json'))).toBe(false);

    const resumed = await run(killed, flags);
    expect(resumed.skippedAlreadyDecided).toBe(1500);
    await run(whole, flags);
    expect(snapshotDiff(runSnapshot(killed), runSnapshot(whole))).toEqual([]);
    expect(duplicates(killed)).toEqual({ equityRowsOverTimes: 0, outcomeKeysTwice: 0 });
  }, 120_000);

  it('gates read the drawdown of the curve the market made from a ledger an older resume filled with repeated bars', async () => {
    using dir = tempDir();
    const clean = join(dir.path, 'clean');
    const repeated = join(dir.path, 'repeated');
    await run(clean);
    await run(repeated);
    // What resumes before this version left: every replayed bar written again at stale marks,
    // and the checkpoint's maximum drawdown taken from them.
    const db = new Database(ledgerOf(repeated));
    db.run(
      'INSERT INTO equity SELECT ts, equity * CASE WHEN (ts / 3600000) % 5 = 0 THEN 0.9 ELSE 1.02 END, cash, positions_value, 0.0909, mode FROM equity WHERE ts < (SELECT min(ts) + 2000 * 3600000 FROM equity)',
    );
    const cp = JSON.parse(
      db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'checkpoint'").get()!.value,
    );
    db.run("UPDATE meta SET value = ? WHERE key = 'checkpoint'", [
      JSON.stringify({ ...cp, max_drawdown_pct: 0.0909 }),
    ]);
    db.close();
    const want = await drawdowns(clean);
    const got = await drawdowns(repeated);
    expect(want.transition).toBeLessThan(0.05);
    expect(got.transition).toBeCloseTo(want.transition, 12);
    expect(want.weekly).toBeGreaterThan(0);
    expect(got.weekly).toBe(want.weekly);
  }, 120_000);
});
