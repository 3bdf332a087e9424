import { afterAll, beforeAll, describe, expect, it } from 'bun:test';
import { cpSync, existsSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { listSegments } from '../../core/records/segments.ts';
import { atl, tempDir } from '../support/cli.ts';
import { chainBreaks, comparableDecisions, readDecisions, readOutcomes } from '../support/records.ts';
import { runSnapshot, snapshotDiff } from '../support/resume.ts';

const RUN = ['run', '--mode', 'backtest', '--symbols', 'BTC/USDT', '--timeframe', '1h'];
const MAX = '100000';
const decisionsOf = (root: string) => join(root, 'rl', 'shadow_decisions.jsonl');
const outcomesOf = (root: string) => join(root, 'rl', 'decision_outcomes.jsonl');

async function run(root: string, extra: string[], env: Record<string, string> = {}) {
  return atl([...RUN, ...extra, '--json', '--data-dir', root], { timeoutMs: 120_000, env });
}

async function json(args: string[]): Promise<{ code: number; body: Record<string, unknown> }> {
  const r = await atl([...args, '--json']);
  return { code: r.code, body: JSON.parse(r.stdout) as Record<string, unknown> };
}

const checkOf = (evidence: Record<string, unknown>, id: string) =>
  (evidence.checks as Array<{ id: string; status: string; output: string }>).find((c) => c.id === id)!;

/**
 * Evidence details with the data root's own paths taken out, so two roots compare; of the log's
 * file facts only the counts of records stay (the rotated log holds more header lines and bytes).
 */
function details(evidence: Record<string, unknown>, root: string) {
  const d = JSON.parse(JSON.stringify(evidence.details).replaceAll(root, '<root>'));
  const { generated_at: _at, log, ...rest } = d;
  return {
    ...rest,
    records: [log.records_all_time, log.window_records, log.chain.breaks, log.malformed.count],
  };
}

describe('decision and outcome log rotation', () => {
  const dir = tempDir();
  const plain = join(dir.path, 'plain');
  const rotated = join(dir.path, 'rotated');
  const kept = join(dir.path, 'kept');

  beforeAll(async () => {
    expect((await run(plain, ['--log-max-bytes', '0'])).code).toBe(0);
    expect((await run(rotated, ['--log-max-bytes', MAX])).code).toBe(0);
    expect((await run(kept, ['--log-max-bytes', MAX, '--log-keep', '2'])).code).toBe(0);
  }, 120_000);
  afterAll(() => dir[Symbol.dispose]());

  it('rotates both logs into ordered archives, each decision segment opening with the run header, the chain unbroken across the seams', () => {
    const d = listSegments(decisionsOf(rotated));
    const o = listSegments(outcomesOf(rotated));
    expect(d.segments.length).toBeGreaterThan(5);
    expect(o.segments.length).toBeGreaterThan(2);
    expect(d.segments.map((s) => s.seq)).toEqual([...d.segments.slice(0, -1).map((_, i) => i + 1), null]);
    for (const s of d.segments.slice(0, -1)) expect(s.size).toBeGreaterThanOrEqual(Number(MAX));
    for (const s of d.segments) expect(readFileSync(s.path, 'utf8').startsWith('{"kind":"run"')).toBe(true);
    expect(chainBreaks(rotated)).toEqual([]);
    expect(listSegments(decisionsOf(plain)).segments).toHaveLength(1);
  });

  it('reads back the same decisions and outcomes as an unrotated run: the reader, atl decisions, report-weekly and atl why', async () => {
    const strip = (r: Record<string, unknown>) =>
      JSON.parse(
        JSON.stringify(r, (k, v) =>
          ['ts', 'correlation_id', 'prev_hash', 'order_id'].includes(k) ? undefined : v,
        ),
      );
    expect(comparableDecisions(rotated)).toEqual(comparableDecisions(plain));
    expect(readOutcomes(rotated)).toEqual(readOutcomes(plain));

    const list = async (root: string) =>
      (
        await atl(['decisions', '--symbol', 'BTC/USDT', '--action', 'buy', '--jsonl', '--data-dir', root])
      ).stdout
        .split('\n')
        .filter(Boolean)
        .map((l) => strip(JSON.parse(l)));
    const bought = await list(rotated);
    expect(bought.length).toBeGreaterThan(0);
    expect(bought).toEqual(await list(plain));

    const weekly = async (root: string) =>
      json(['report-weekly', '--week', '1', '--end', '2026-05-08', '--data-dir', root]);
    const [wr, wp] = [await weekly(rotated), await weekly(plain)];
    expect(wr.code).toBe(wp.code);
    expect(details(wr.body, rotated)).toEqual(details(wp.body, plain));

    // A bar in the first archive, looked up by `atl why` (the same answer as the unrotated log's).
    const first = readDecisions(rotated)[10]!;
    const why = async (root: string) => {
      const r = await atl(['why', first.symbol, first.bar_ts, '--json', '--data-dir', root]);
      expect(r.code).toBe(0);
      return strip(JSON.parse(r.stdout.replaceAll(root, '')));
    };
    const wRot = await why(rotated);
    expect(JSON.stringify(wRot)).toContain(first.bar_ts);
    expect(wRot).toEqual(await why(plain));
  }, 60_000);

  it('audit verifies the chain from genesis across the segments', async () => {
    const a = await json(['audit', '--data-dir', rotated]);
    expect(a.code).toBe(0);
    expect(checkOf(a.body, 'decisions:anchor')).toMatchObject({ status: 'pass' });
    expect(checkOf(a.body, 'decisions:anchor').output).toMatch(/from genesis across \d+ segments/);
    expect(checkOf(a.body, 'decisions:chain')).toMatchObject({ status: 'pass' });
  });

  it('retention keeps the newest archives, records the removed ones in a manifest, and audit verifies from its anchor', async () => {
    const d = listSegments(decisionsOf(kept));
    expect(d.segments.filter((s) => s.seq !== null)).toHaveLength(2);
    expect(d.removed.length).toBeGreaterThan(3);
    expect(d.removed.map((r) => r.seq)).toEqual(d.removed.map((_, i) => i + 1));
    const manifest = JSON.parse(readFileSync(join(kept, 'rl', 'shadow_decisions.retention.json'), 'utf8'));
    expect(manifest.removed[0].first_prev_hash).toBe('0'.repeat(64));
    expect(existsSync(join(kept, 'rl', 'shadow_decisions.000001.jsonl'))).toBe(false);
    const a = await json(['audit', '--data-dir', kept]);
    expect(a.code).toBe(0);
    const anchor = checkOf(a.body, 'decisions:anchor');
    expect(anchor.status).toBe('pass');
    expect(anchor.output).toContain(`verified from anchor ${d.anchor.slice(0, 12)}`);
    expect(anchor.output).toContain(`after ${d.removed.length} removed segment(s)`);
    expect(checkOf(a.body, 'decisions:chain')).toMatchObject({ status: 'pass' });
    expect(checkOf(a.body, 'ledger:fills').status).toBe('pass');
    expect(checkOf(a.body, 'outcomes:links').status).toBe('pass');
    // The reports still read what is kept.
    expect((await atl(['decisions', '--jsonl', '--data-dir', kept])).code).toBe(0);
  });

  it('detects an archive edited or removed outside retention', async () => {
    using t = tempDir();
    const copy = join(t.path, 'copy');
    cpSync(rotated, copy, { recursive: true });
    const second = join(copy, 'rl', 'shadow_decisions.000002.jsonl');
    const lines = readFileSync(second, 'utf8').split('\n');
    lines[3] = lines[3]!.replace('"BTC/USDT"', '"ETH/USDT"');
    writeFileSync(second, lines.join('\n'));
    const edited = await json(['audit', '--data-dir', copy]);
    expect(edited.code).toBe(2);
    expect(checkOf(edited.body, 'decisions:chain').status).toBe('fail');

    cpSync(join(rotated, 'rl'), join(copy, 'rl'), { recursive: true });
    unlinkSync(join(copy, 'rl', 'shadow_decisions.000001.jsonl'));
    const removed = await json(['audit', '--data-dir', copy]);
    expect(checkOf(removed.body, 'decisions:chain').status).toBe('fail');
    expect(checkOf(removed.body, 'decisions:chain').output).toContain('line 1');

    const forgedRoot = join(t.path, 'forged');
    cpSync(kept, forgedRoot, { recursive: true });
    const m = join(forgedRoot, 'rl', 'shadow_decisions.retention.json');
    const manifest = JSON.parse(readFileSync(m, 'utf8'));
    manifest.removed.pop(); // the newest removal forgotten: the kept archives no longer tie to it
    writeFileSync(m, JSON.stringify(manifest));
    const forged = await json(['audit', '--data-dir', forgedRoot]);
    expect(checkOf(forged.body, 'decisions:chain').status).toBe('fail');
  }, 60_000);
});

describe('a kill -9 during rotation', () => {
  const outcomeFiles = (root: string) =>
    listSegments(outcomesOf(root)).segments.map((s) => [
      s.path.slice(root.length),
      readFileSync(s.path, 'utf8'),
    ]);

  /** Kill at `step`, resume, and hand both roots to `compare`. */
  async function killAndResume(step: string, flags: string[], whole: string, root: string) {
    const killed = await run(root, flags, { ATL_FAULT_KILL_AT: step });
    expect(killed.code, step).not.toBe(0);
    expect(killed.stdout, step).toBe(''); // it died mid-run, before its report
    expect((await run(root, flags)).code, step).toBe(0);
    expect(chainBreaks(root), step).toEqual([]);
    expect(outcomeFiles(root), step).toEqual(outcomeFiles(whole));
    const a = await json(['audit', '--data-dir', root]);
    expect(checkOf(a.body, 'decisions:chain').status, step).toBe('pass');
    expect(checkOf(a.body, 'decisions:anchor').status, step).toBe('pass');
  }

  it('loses nothing at any step of a rotation: resumed, it writes what an uninterrupted run writes (outcome files byte for byte)', async () => {
    using dir = tempDir();
    const flags = ['--log-max-bytes', MAX];
    const whole = join(dir.path, 'whole');
    expect((await run(whole, flags)).code).toBe(0);
    const wholeSnap = runSnapshot(whole);
    for (const step of [
      'shadow_decisions:rotate:synced',
      'shadow_decisions:rotate:renamed',
      'shadow_decisions:rotate:opened',
      'decision_outcomes:rotate:synced#7',
      'decision_outcomes:rotate:renamed#7',
      'decision_outcomes:rotate:opened#7',
    ]) {
      const root = join(dir.path, step.replaceAll(/[:#]/g, '-'));
      await killAndResume(step, flags, whole, root);
      expect(snapshotDiff(runSnapshot(root), wholeSnap), step).toEqual([]);
      rmSync(root, { recursive: true, force: true });
    }
  }, 300_000);

  it('loses nothing between the retention manifest and the unlink: the removal is finished on resume', async () => {
    using dir = tempDir();
    const flags = ['--log-max-bytes', MAX, '--log-keep', '3'];
    const whole = join(dir.path, 'whole');
    expect((await run(whole, flags)).code).toBe(0);
    const { decisions: wholeDecisions, ...wholeRest } = runSnapshot(whole);
    for (const step of ['shadow_decisions:retention:manifest', 'decision_outcomes:retention:manifest']) {
      const root = join(dir.path, step.replaceAll(/[:#]/g, '-'));
      await killAndResume(step, flags, whole, root);
      const { decisions, ...rest } = runSnapshot(root);
      expect(snapshotDiff(rest as never, wholeRest as never), step).toEqual([]);
      // A resumed log holds one more run header, so its segments end elsewhere and retention
      // keeps a different number of decisions: what each kept is the same tail of the run.
      const n = Math.min(decisions.length, wholeDecisions.length);
      expect(n, step).toBeGreaterThan(100);
      expect(decisions.slice(-n), step).toEqual(wholeDecisions.slice(-n));
      const segs = listSegments(decisionsOf(root));
      expect(segs.segments.filter((s) => s.seq !== null).length, step).toBe(3);
      rmSync(root, { recursive: true, force: true });
    }
  }, 300_000);
});
