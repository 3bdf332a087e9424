import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { type CandleTape, readCandleTape } from '../core/engine/candle-tape.ts';
import { OperatorError, usageError } from '../core/errors.ts';
import { buildEvidence, check } from '../core/evidence/envelope.ts';
import { replayTape } from '../core/parity/replay.ts';
import { type DataPaths, dataPaths } from '../core/paths.ts';
import type { Check, Evidence } from '../core/schema/evidence.ts';
import { scanDecisionLog } from './decision-scan.ts';
import { integrityWarnings } from './integrity.ts';
import {
  compare,
  type DecisionView,
  type Diff,
  type Indexed,
  ORDER_MODE_EXCLUDED,
  ORDER_MODE_STAGES,
  PARITY_EXCLUDED,
  type PartDiff,
  parityKey,
  partValues,
  signatureOf,
  viewOf,
} from './parity-diff.ts';

const ORDER_MODES: ReadonlySet<string> = new Set(['testnet', 'live_limited', 'live_full']);
const ALL_TIME = { startDay: '0000-01-01', endDay: '9999-12-31' };

export type ParityOptions = {
  /** Keep the replay's data root here (must be new or empty); default: a temp dir, removed after. */
  scratchDir: string | null;
  /** How many differing decisions the evidence details in full. */
  maxDifferences: number;
};

export type ParityDifference = {
  decision_id: string;
  symbol: string;
  bar_ts: string;
  first_stage: string;
  kind: PartDiff['kind'] | 'only_live' | 'only_replay';
  differing: string[];
  live: unknown;
  replay: unknown;
};

/** Where the replay writes: never the data root it judges, nor anything inside it. */
function scratchRoot(paths: DataPaths, dir: string | null): { root: string; keep: boolean } {
  if (!dir) return { root: mkdtempSync(join(tmpdir(), 'atl-parity-')), keep: false };
  const root = resolve(dir);
  const rel = relative(paths.root, root);
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel)))
    throw usageError(
      `--scratch-dir ${dir} is inside the data root ${paths.root}`,
      'give a directory elsewhere',
    );
  if (existsSync(root) && readdirSync(root).length > 0)
    throw usageError(`--scratch-dir ${dir} is not empty`, 'give a new or empty directory');
  mkdirSync(root, { recursive: true });
  return { root, keep: true };
}

async function signatures(
  path: string,
  leftOut: ReadonlySet<string>,
  warnings: string[],
  label: string,
): Promise<Map<string, Indexed>> {
  const out = new Map<string, Indexed>();
  const scan = await scanDecisionLog(
    path,
    ALL_TIME,
    (r) =>
      out.set(parityKey(r.decision_id), {
        sig: signatureOf(viewOf(r, leftOut)),
        order: out.size,
        closeTs: Date.parse(r.bar_ts),
      }),
    { recentLimit: 0 },
  );
  warnings.push(...integrityWarnings(scan.integrity).map((w) => `${label} log: ${w}`));
  return out;
}

async function views(
  path: string,
  leftOut: ReadonlySet<string>,
  keys: Set<string>,
): Promise<Map<string, DecisionView>> {
  const out = new Map<string, DecisionView>();
  if (keys.size === 0) return out;
  await scanDecisionLog(
    path,
    ALL_TIME,
    (r) => {
      const key = parityKey(r.decision_id);
      if (keys.has(key)) out.set(key, viewOf(r, leftOut));
    },
    { recentLimit: 0 },
  );
  return out;
}

/**
 * `atl parity`: replay the data root's candle tape in backtest mode into a scratch root and
 * compare the decisions, one by one, with the live log. A tape that is missing or unreadable is
 * unknown (3), not a difference.
 */
export async function runParity(paths: DataPaths, opts: ParityOptions, now = new Date()): Promise<Evidence> {
  const scratch = scratchRoot(paths, opts.scratchDir);
  // Whatever stops the replay (no tape, a corrupt one, a models directory gone) leaves it unjudged.
  const unknown = (id: string, err: unknown) => {
    if (!(err instanceof OperatorError)) throw err;
    return buildEvidence({
      verb: 'parity',
      startedAt: now,
      checks: [check({ id, status: 'unknown', output: err.message, hint: err.hint ?? null })],
      inputs: [paths.candleTape, paths.decisions],
    });
  };
  try {
    let tape: CandleTape;
    try {
      tape = readCandleTape(paths.candleTape);
    } catch (err) {
      return unknown('tape', err);
    }
    return await replayAndCompare(paths, tape, scratch, opts, now).catch((err) => unknown('replay', err));
  } finally {
    if (!scratch.keep) rmSync(scratch.root, { recursive: true, force: true });
  }
}

async function replayAndCompare(
  paths: DataPaths,
  tape: CandleTape,
  scratch: { root: string; keep: boolean },
  opts: ParityOptions,
  now: Date,
): Promise<Evidence> {
  const scratchPaths = dataPaths(scratch.root);
  const replayed = await replayTape(tape.segments, tape.path, scratchPaths);
  const warnings: string[] = [];
  if (tape.tornTail)
    warnings.push(
      `candle tape ends in a torn line (${tape.tornTail.bytes} bytes): the engine is writing it, or crashed mid-write; not replayed`,
    );
  const placedOrders = tape.segments.some((s) => ORDER_MODES.has(s.header.mode));
  const leftOut = placedOrders ? ORDER_MODE_STAGES : new Set<string>();
  const live = await signatures(paths.decisions, leftOut, warnings, 'live decision');
  const replay = await signatures(scratchPaths.decisions, leftOut, warnings, 'replay decision');
  const result = compare(tape, live, replay);
  if (result.unlogged > 0)
    warnings.push(
      `${result.unlogged} replayed decisions of a run's last tick are not in the live log: that run stopped (crashed) after taping the tick and before logging its decisions`,
    );
  const shown = result.diffs.slice(0, opts.maxDifferences);
  const keys = new Set(shown.map((d) => d.key));
  const [liveViews, replayViews] = await Promise.all([
    views(paths.decisions, leftOut, keys),
    views(scratchPaths.decisions, leftOut, keys),
  ]);
  const differences = shown.map((d) => detail(d, liveViews, replayViews));
  return buildEvidence({
    verb: 'parity',
    startedAt: now,
    checks: parityChecks(tape, replayed, result, differences[0] ?? null),
    warnings,
    inputs: [paths.candleTape, paths.decisions],
    details: {
      tape: { path: tape.path, runs: tape.segments.length, lines: tape.lines, bytes: tape.bytes },
      replay: { scratch_dir: scratch.keep ? scratch.root : null, runs: replayed },
      compared: result.counts,
      first_stage_counts: result.firstStages,
      excluded: placedOrders ? [...PARITY_EXCLUDED, ...ORDER_MODE_EXCLUDED] : PARITY_EXCLUDED,
      differences,
    },
  });
}

function detail(
  d: Diff,
  live: Map<string, DecisionView>,
  replay: Map<string, DecisionView>,
): ParityDifference {
  const l = live.get(d.key);
  const r = replay.get(d.key);
  const v = (l ?? r)!;
  const first = d.diff?.first ?? 'decision';
  const values =
    l && r && d.diff
      ? partValues(l, r, first)
      : { live: l ? 'present' : 'absent', replay: r ? 'present' : 'absent' };
  return {
    decision_id: d.id,
    symbol: v.symbol,
    bar_ts: v.bar_ts,
    first_stage: first,
    kind: d.kind,
    differing: d.diff?.parts ?? [],
    ...values,
  };
}

function parityChecks(
  tape: CandleTape,
  runs: Awaited<ReturnType<typeof replayTape>>,
  result: ReturnType<typeof compare>,
  first: ParityDifference | null,
): Check[] {
  const ticks = tape.segments.reduce((n, s) => n + s.ticks.length, 0);
  const changed = runs.filter((r) => r.live_config_hash !== r.replay_config_hash);
  const c = result.counts;
  const same = c.diverged === 0 && c.only_live === 0 && c.only_replay === 0;
  return [
    check({
      id: 'tape',
      status: 'pass',
      output: `${tape.segments.length} engine start(s), ${ticks} ticks replayed from ${tape.path}`,
      observed: { runs: tape.segments.length, ticks },
    }),
    check({
      id: 'config',
      status: changed.length === 0 ? 'pass' : 'fail',
      output:
        changed.length === 0
          ? `replayed with the captured config (config hash ${runs[0]?.live_config_hash})`
          : `config hash ${changed[0]!.live_config_hash} live, ${changed[0]!.replay_config_hash} replayed (run at tape line ${changed[0]!.line}): models or risk config changed since capture`,
      observed: runs.map((r) => ({ live: r.live_config_hash, replay: r.replay_config_hash })),
      hint: changed.length
        ? 'parity replays with the models on disk now: restore the captured models to test the engine itself'
        : null,
    }),
    check({
      id: 'decisions',
      status: same ? 'pass' : 'fail',
      output: `${c.identical} of ${c.live} live decisions identical in replay; ${c.diverged} differ, ${c.only_live} only live, ${c.only_replay} only replayed`,
      observed: c,
      hint: same ? null : 'see the first differences below (`--json` for every field)',
    }),
    check({
      id: 'first_difference',
      status: first ? 'fail' : 'pass',
      output: first
        ? `${first.symbol} ${first.bar_ts} (${first.decision_id}): ${first.kind === 'only_live' || first.kind === 'only_replay' ? first.kind.replace('_', ' ') : `stage ${first.first_stage} (${first.kind})`}`
        : 'none',
      observed: first?.first_stage ?? null,
      hint: first
        ? `compare that decision's ${first.first_stage} in the live log and the replay: npx atl parity --json`
        : null,
    }),
    check({
      id: 'actions',
      status: c.actions_differ === 0 ? 'pass' : 'fail',
      output: `${c.actions_differ} decisions took another action in replay`,
      observed: c.actions_differ,
      hint: c.actions_differ ? 'the first differing stage of those decisions is why' : null,
    }),
    check({
      id: 'fills',
      status: c.fills_differ === 0 ? 'pass' : 'fail',
      output: `${c.fills_differ} decisions filled differently in replay`,
      observed: c.fills_differ,
      hint: c.fills_differ ? 'fills follow the action and sizing: see the first differing stage' : null,
    }),
  ];
}
