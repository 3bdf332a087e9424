import { existsSync, statSync } from 'node:fs';
import { unknownError } from '../errors.ts';
import { JsonlAppender, repairTornTail, scanJsonl, type TailRepair } from '../fsx/jsonl.ts';
import { validate } from '../schema/ajv.ts';
import { type TapeCandle, TapeLine, type TapeRunHeader } from '../schema/candle-tape.ts';
import type { Bar, FeedFailure, FeedTick } from './feeds.ts';

export type TapeRunInfo = Omit<TapeRunHeader, 'k' | 'v' | 'started_at' | 'resumed'>;

/**
 * The candle tape (`rl/candle_tape.jsonl`): every closed candle a run on a live feed decided on or
 * primed its indicators with, as the engine received them, so `atl parity` can replay them. Each
 * engine start writes a run header; each tick is written before its decisions are made, so every
 * logged decision has its candles on the tape (a crash leaves at most a torn tick, repaired on the
 * next start like the decision log's tail).
 */
export class CandleTapeWriter {
  private readonly out: JsonlAppender;
  private readonly index: Map<string, number>;
  repair: TailRepair | null = null;

  constructor(
    readonly path: string,
    private readonly run: TapeRunInfo,
  ) {
    this.out = new JsonlAppender(path);
    this.index = new Map(run.symbols.map((s, i) => [s, i]));
  }

  /** Repair a torn tail, open for append and write this run's header. */
  open(resumed: boolean): void {
    this.repair = repairTornTail(this.path);
    this.out.open();
    const header: TapeRunHeader = {
      k: 'run',
      v: 1,
      started_at: new Date().toISOString(),
      resumed,
      ...this.run,
    };
    this.write(header);
  }

  warmup(bars: Bar[]): void {
    this.write({ k: 'w', b: this.candles(bars) });
  }

  tick(tick: FeedTick): void {
    const line: TapeLine = { k: 't', t: tick.closeTs, b: this.candles(tick.bars) };
    if (tick.history?.length) line.h = this.candles(tick.history);
    const failures = tick.failures.filter((f) => this.index.has(f.symbol));
    if (failures.length)
      line.f = failures.map((f) => [this.index.get(f.symbol)!, f.reason, f.observed ?? null]);
    this.write(line);
  }

  /** Make what was written durable; called before the decision log is flushed at each checkpoint. */
  sync(): void {
    this.out.flush(true);
  }

  close(): void {
    this.out.close();
  }

  private candles(bars: Bar[]): TapeCandle[] {
    return bars
      .filter((b) => this.index.has(b.symbol))
      .map((b) => [this.index.get(b.symbol)!, b.openTs, b.open, b.high, b.low, b.close, b.volume]);
  }

  // Written at once (not buffered to a checkpoint): a tick is on disk before its decisions exist.
  private write(line: TapeLine): void {
    this.out.push(JSON.stringify(line));
    this.out.flush(false);
  }
}

/** One engine start as the tape recorded it: its header, warm-up history and ticks in order. */
export type TapeSegment = { header: TapeRunHeader; line: number; warmup: Bar[]; ticks: FeedTick[] };
export type CandleTape = {
  path: string;
  segments: TapeSegment[];
  lines: number;
  bytes: number;
  tornTail: { offset: number; bytes: number } | null;
};

const unreadable = (path: string, what: string) =>
  unknownError(
    `candle tape ${path} ${what}`,
    'parity replays the candles a paper_live_data/testnet run captured: run one (with --fresh) on this data root, then `npx atl parity`',
  );

/** Read and check the whole tape; a missing, empty or corrupt tape is an operator error (exit 3). */
export function readCandleTape(path: string): CandleTape {
  if (!existsSync(path)) throw unreadable(path, 'does not exist');
  if (!statSync(path).isFile()) throw unreadable(path, 'is not a file (a directory is in its place)');
  const segments: TapeSegment[] = [];
  let bad: string | null = null;
  const scan = scanJsonl(path, (e) => {
    if (bad) return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(e.line);
    } catch {
      bad = `line ${e.lineNo} is not JSON`;
      return;
    }
    const checked = validate(TapeLine, parsed);
    if (!checked.ok) {
      bad = `line ${e.lineNo} is not a tape line: ${checked.errors.join('; ')}`;
      return;
    }
    const line = checked.value;
    if (line.k === 'run') {
      segments.push({ header: line, line: e.lineNo, warmup: [], ticks: [] });
      return;
    }
    const seg = segments.at(-1);
    if (!seg) {
      bad = `line ${e.lineNo} comes before any run header`;
      return;
    }
    const bars = (cs: TapeCandle[] | undefined) => (cs ?? []).map((c) => barOf(seg.header, c));
    if (line.k === 'w') {
      seg.warmup.push(...bars(line.b));
      return;
    }
    const failures: FeedFailure[] = (line.f ?? []).map(([i, reason, observed]) => ({
      symbol: seg.header.symbols[i] ?? '',
      reason,
      observed,
    }));
    const tick: FeedTick = { closeTs: line.t, bars: bars(line.b), failures };
    if (line.h) tick.history = bars(line.h);
    if ([...tick.bars, ...failures].some((b) => b.symbol === '')) {
      bad = `line ${e.lineNo} names a symbol the run header does not list`;
      return;
    }
    seg.ticks.push(tick);
  });
  if (bad) throw unreadable(path, `is corrupt: ${bad}`);
  if (segments.length === 0) throw unreadable(path, 'holds no run');
  return { path, segments, lines: scan.lines, bytes: scan.bytes, tornTail: scan.tornTail };
}

function barOf(h: TapeRunHeader, c: TapeCandle): Bar {
  const [i, openTs, open, high, low, close, volume] = c;
  return {
    symbol: h.symbols[i] ?? '',
    openTs,
    closeTs: openTs + h.timeframe_ms,
    open,
    high,
    low,
    close,
    volume,
    ageS: null,
  };
}
