/**
 * Kill -9 soak: a backtest killed again and again at random points (during start-up and replay
 * catch-up, mid-batch, mid-checkpoint) and resumed each time, until every cycle is used; each time
 * the replay reaches its end, what the data root holds — decision log, every ledger table, the
 * outcome lines, the advisor state and the checkpoint — is compared with one uninterrupted run
 * of the same command, and the replay starts over (`--fresh`). Exits 1 on any difference.
 *
 *   bun bench/soak-kill.ts [--cycles 100] [--symbols BTC/USDT,ETH/USDT] [--timeframe 1m]
 *                          [--seed 1] [--term-share 0] [--keep]
 *
 * `--term-share` mixes in that share of clean stops (SIGTERM) between the kills.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chainBreaks } from '../tests/support/records.ts';
import { runSnapshot, snapshotDiff } from '../tests/support/resume.ts';

const MAIN = resolve(import.meta.dir, '..', 'cli', 'main.ts');
const { values: flags } = parseArgs({
  options: {
    cycles: { type: 'string', default: '100' },
    symbols: { type: 'string', default: 'BTC/USDT,ETH/USDT' },
    timeframe: { type: 'string', default: '1m' },
    seed: { type: 'string', default: '1' },
    'term-share': { type: 'string', default: '0' },
    keep: { type: 'boolean', default: false },
  },
});
const cycles = Number(flags.cycles);
const termShare = Number(flags['term-share']);
if (!(cycles >= 1) || !(termShare >= 0 && termShare <= 1)) {
  console.error('usage: bun bench/soak-kill.ts [--cycles N≥1] [--term-share 0..1] [--seed N] [--keep]');
  process.exit(64);
}

// A seeded schedule, so a failing soak can be run again with the same kill points (roughly: timing still varies).
let state = Number(flags.seed) >>> 0 || 1;
const random = () => {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = state;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

const dir = mkdtempSync(join(tmpdir(), 'atl-soak-'));
// A random walk loses: capital preservation would halt the replay for good part-way (see bench/_replay.ts).
const riskConfig = join(dir, 'risk.json');
writeFileSync(riskConfig, JSON.stringify({ preservation: { drawdown: { lockdown: 1 } } }));
const args = (root: string) => [
  'run',
  '--mode',
  'backtest',
  '--symbols',
  flags.symbols!,
  '--timeframe',
  flags.timeframe!,
  '--risk-config',
  riskConfig,
  '--data-dir',
  root,
];
const spawn = (argv: string[]) =>
  Bun.spawn([process.execPath, MAIN, ...argv], {
    env: { ...process.env, ATL_LOG_LEVEL: 'warn' },
    stdout: 'pipe',
    stderr: 'pipe',
    stdin: 'ignore',
  });

/** Decisions this process has written, from the heartbeat it writes at each checkpoint. */
function writtenBy(root: string, pid: number): number {
  try {
    const hb = JSON.parse(readFileSync(join(root, 'rl', 'paper_live_heartbeat.json'), 'utf8'));
    return hb.pid === pid ? (hb.total_decisions_session ?? 0) : 0;
  } catch {
    return 0; // not written yet, or mid-replace
  }
}

async function runToEnd(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const p = spawn(argv);
  const [stdout, stderr, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, stdout, stderr };
}

const started = performance.now();
const whole = join(dir, 'whole');
const ref = await runToEnd(args(whole));
if (ref.code !== 0) {
  console.error(`the uninterrupted run failed (exit ${ref.code}):\n${ref.stderr}`);
  process.exit(1);
}
const refMs = performance.now() - started;
const reference = runSnapshot(whole);
console.log(
  `soak-kill: ${flags.symbols} ${flags.timeframe}, ${reference.decisions.length} decisions per replay; uninterrupted run ${(refMs / 1000).toFixed(1)} s; ${cycles} cycles, seed ${flags.seed}, clean-stop share ${termShare}`,
);

const soaked = join(dir, 'soaked');
const tally = { early: 0, running: 0, term: 0, finishedFirst: 0 };
const failures: string[] = [];
let round = 0;
let fresh = true;
let interruptions = 0;

/** Resume to the end of the replay and compare with the uninterrupted run. */
async function finishRound(): Promise<void> {
  round++;
  const last = await runToEnd(args(soaked));
  const diff =
    last.code === 0
      ? snapshotDiff(runSnapshot(soaked), reference)
      : [`final resume exited ${last.code}: ${last.stderr.trim().split('\n').at(-1)}`];
  const breaks = last.code === 0 ? chainBreaks(soaked) : [];
  if (breaks.length > 0)
    diff.push(`decision log hash chain breaks at lines ${breaks.slice(0, 5).join(', ')}`);
  console.log(
    `  round ${round}: ${interruptions} interruptions, ${diff.length === 0 ? 'identical to the uninterrupted run' : `${diff.length} differences`}`,
  );
  for (const d of diff) failures.push(`round ${round}: ${d}`);
  interruptions = 0;
  fresh = true;
}

for (let cycle = 1; cycle <= cycles; cycle++) {
  const p = spawn([...args(soaked), ...(fresh ? ['--fresh'] : [])]);
  fresh = false;
  const exited = p.exited.then((code) => ({ code }));
  const sigterm = random() < termShare;
  const early = !sigterm && random() < 0.15;
  let kind: 'early' | 'running' | 'term';
  if (early) {
    // Start-up: lock, ledger and checkpoint restore, outcome reconciliation, catch-up replay.
    kind = 'early';
    await Promise.race([Bun.sleep(random() * 700), exited]);
  } else {
    // Once this process has written a checkpoint of its own, anywhere in the next 600 ms.
    kind = sigterm ? 'term' : 'running';
    const deadline = Date.now() + 60_000;
    while (writtenBy(soaked, p.pid) === 0 && Date.now() < deadline) {
      if (await Promise.race([Bun.sleep(5).then(() => false), exited.then(() => true)])) break;
    }
    await Promise.race([Bun.sleep(random() * 600), exited]);
  }
  p.kill(sigterm ? 'SIGTERM' : 'SIGKILL');
  const { code } = await exited;
  await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text()]);
  if (code === 0 && !sigterm) {
    // The replay ended before the kill: this round is complete.
    tally.finishedFirst++;
    await finishRound();
    continue;
  }
  if (sigterm && code !== 0) failures.push(`cycle ${cycle}: a clean stop exited ${code}`);
  tally[kind]++;
  interruptions++;
}
if (interruptions > 0 || round === 0) await finishRound();

const secs = (performance.now() - started) / 1000;
console.log(
  `soak-kill: ${cycles} cycles (${tally.running} kill -9 while replaying, ${tally.early} during start-up, ${tally.term} clean stops, ${tally.finishedFirst} ended before the kill), ${round} replays compared, ${failures.length === 0 ? 'no difference' : `${failures.length} differences`}; ${secs.toFixed(1)} s (${(secs / (refMs / 1000)).toFixed(1)}× one uninterrupted run)`,
);
for (const f of failures.slice(0, 20)) console.log(`  ${f}`);
if (failures.length > 0 || flags.keep) console.log(`data roots kept under ${dir}`);
else if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
process.exitCode = failures.length > 0 ? 1 : 0;
