import { mkdirSync, rmSync } from 'node:fs';
import { basename } from 'node:path';
import { clearHalt, readHalt } from '../control/halt.ts';
import type { TapeSegment } from '../engine/candle-tape.ts';
import { runEngine } from '../engine/engine.ts';
import type { Bar, Feed, FeedSource, FeedTick } from '../engine/feeds.ts';
import { buildStages, ENGINE_DEFAULTS, runConfigHash } from '../engine/start.ts';
import { unknownError } from '../errors.ts';
import type { DataPaths } from '../paths.ts';
import type { DataModeName } from '../schema/common.ts';
import { buildModelChain } from '../signals/build.ts';

/**
 * One engine start from the tape: its warm-up history, then its ticks one at a time, as the live
 * feed delivered them (a live feed hands the engine one tick per batch, so model inference runs
 * on the same batches), without waiting for the clock.
 */
export class TapeFeed implements Feed {
  readonly dataMode: DataModeName = 'REPLAY';
  readonly unpaced = true;
  readonly source: FeedSource;
  readonly symbols: string[];
  readonly timeframe: string;
  readonly timeframeMs: number;
  private at = 0;

  constructor(
    private readonly segment: TapeSegment,
    tapePath: string,
  ) {
    this.symbols = segment.header.symbols;
    this.timeframe = segment.header.timeframe;
    this.timeframeMs = segment.header.timeframe_ms;
    this.source = { kind: 'tape', ref: basename(tapePath), synthetic: segment.header.source.synthetic };
  }

  sourceOf(): FeedSource {
    return this.source;
  }

  async warmup(): Promise<Bar[]> {
    return this.segment.warmup;
  }

  async next(): Promise<FeedTick[] | null> {
    const tick = this.segment.ticks[this.at++];
    return tick ? [tick] : null;
  }

  close(): void {}
}

export type ReplayedSegment = {
  line: number;
  started_at: string;
  resumed: boolean;
  ticks: number;
  /** The config hash the live run recorded, and the one the same config with today's models gives. */
  live_config_hash: string;
  replay_config_hash: string;
};

/**
 * Replay the tape in backtest mode into `scratch` (an empty data root), one engine run per engine
 * start on the tape, so a restart replays as one (fresh indicators primed from that start's
 * history, state resumed from the checkpoint). Each run gets the captured run's configuration:
 * the same risk config (with the turnover overrides it ran with), per-mode limits, capital,
 * models directory, voting and bounds (--max-bars, --until).
 */
export async function replayTape(
  segments: TapeSegment[],
  tapePath: string,
  scratch: DataPaths,
): Promise<ReplayedSegment[]> {
  const out: ReplayedSegment[] = [];
  let ticksSoFar = 0;
  for (const [i, seg] of segments.entries()) {
    const h = seg.header;
    // A start that failed before its first checkpoint (a symbol not listed) left nothing to resume.
    if (i > 0 && !h.resumed && ticksSoFar === 0) {
      rmSync(scratch.root, { recursive: true, force: true });
      mkdirSync(scratch.root, { recursive: true });
    } else if (h.resumed !== i > 0) {
      throw unknownError(
        i === 0
          ? `candle tape ${tapePath} starts with a resumed run (line ${seg.line}): the decisions before it were made without a tape`
          : `candle tape ${tapePath} line ${seg.line}: the run there started from scratch without --fresh archiving the tape`,
        'start a fresh capture: `npx atl run --mode paper_live_data --fresh …`, then `npx atl parity`',
      );
    }
    // The live engine could only start again once the operator cleared a halt the guard raised.
    if (i > 0 && readHalt(scratch).halted) clearHalt(scratch, 'atl-parity');
    const chain = await buildModelChain({
      modelsDir: h.models_dir,
      dataRootModelsDir: scratch.models,
      voting: h.voting,
      timeframe: h.timeframe,
      timeframeMs: h.timeframe_ms,
      minConfidence: ENGINE_DEFAULTS.minConfidence,
      advisorStatePath: scratch.advisorState,
    });
    const configHash = runConfigHash(h.mode, h.symbols, h.timeframe, h.risk, chain.modelFingerprint);
    await runEngine(
      {
        paths: scratch,
        mode: 'backtest',
        capital: h.capital,
        intervalS: 0,
        maxBars: h.max_bars,
        untilMs: h.until_ms,
        fresh: false,
        argv: ['parity', '--segment', String(i + 1)],
        pipeline: { allowShorting: h.allow_shorting, minHistoryBars: h.min_history_bars, configHash },
        stages: buildStages(h.mode, scratch, h.risk, chain, null),
      },
      new TapeFeed(seg, tapePath),
      new AbortController().signal,
    );
    ticksSoFar += seg.ticks.length;
    out.push({
      line: seg.line,
      started_at: h.started_at,
      resumed: h.resumed,
      ticks: seg.ticks.length,
      live_config_hash: h.config_hash,
      replay_config_hash: configHash,
    });
  }
  return out;
}
