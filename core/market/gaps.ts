import { configError, usageError } from '../errors.ts';
import { log } from '../log.ts';
import { isoUtc } from '../time/iso.ts';
import type { CandleSeries } from './candles.ts';

export type CandleGap = {
  /** Open time of the first missing candle and of the last one (epoch ms). */
  fromTs: number;
  toTs: number;
  bars: number;
};

export type GapPolicy = 'warn' | 'fail';

export function parseGapPolicy(value: string): GapPolicy {
  if (value === 'warn' || value === 'fail') return value;
  throw usageError(`--on-gap must be warn or fail (got "${value.slice(0, 20)}")`);
}

/** Runs of missing candles: neighbours more than one timeframe apart. */
export function findGaps(s: CandleSeries): CandleGap[] {
  const gaps: CandleGap[] = [];
  const tf = s.timeframeMs;
  for (let i = 1; i < s.length; i++) {
    const step = s.ts[i]! - s.ts[i - 1]!;
    if (step <= tf) continue;
    const bars = Math.max(1, Math.round(step / tf) - 1);
    gaps.push({ fromTs: s.ts[i - 1]! + tf, toTs: s.ts[i]! - tf, bars });
  }
  return gaps;
}

const SHOWN = 3;

/**
 * A replay across missing candles decides as if no time had passed, so a gap is never silent:
 * one warning line with each gap's first and last missing candle and how many (the first few,
 * then a count), or with `--on-gap fail` a configuration error (exit 78) naming the same.
 */
export function checkGaps(s: CandleSeries, policy: GapPolicy): CandleGap[] {
  const gaps = findGaps(s);
  if (gaps.length === 0) return gaps;
  const missing = gaps.reduce((n, g) => n + g.bars, 0);
  const shown = gaps
    .slice(0, SHOWN)
    .map((g) => `${isoUtc(g.fromTs)} → ${isoUtc(g.toTs)} (${g.bars} bar${g.bars > 1 ? 's' : ''})`)
    .join(', ');
  const more = gaps.length > SHOWN ? ` and ${gaps.length - SHOWN} more` : '';
  const what = `${s.source.ref}: ${gaps.length} gap${gaps.length > 1 ? 's' : ''} in the ${s.symbol} ${s.timeframe} candles, ${missing} bar${missing > 1 ? 's' : ''} missing: ${shown}${more}`;
  if (policy === 'fail')
    throw configError(
      what,
      'fill the missing candles (re-download that range) or pass --on-gap warn to replay across them',
    );
  log.warn(`${what}; the replay steps over them (pass --on-gap fail to refuse such a file)`);
  return gaps;
}
