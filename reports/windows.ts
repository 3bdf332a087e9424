import { excerpt, usageError } from '../core/errors.ts';
import { barOfLine } from '../core/records/outcome-codec.ts';
import { isHeaderLine } from '../core/records/reader.ts';
import { openLog } from '../core/records/segments.ts';

const DAY_MS = 86_400_000;

/** Whole UTC days, half-open `[startDay, endDay)`, compared as `YYYY-MM-DD` strings (DST never shifts them). */
export type DayWindow = { startDay: string; endDay: string };

export const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** A `YYYY-MM-DD` flag value, checked (a bad date is a usage error, never a silent "today"). */
export function parseDay(flag: string, value: string): string {
  const ms = Date.parse(`${value}T00:00:00Z`);
  if (!/^\d{4}-\d{2}-\d{2}$/.test(value) || Number.isNaN(ms) || isoDay(ms) !== value) {
    throw usageError(`--${flag} must be a date YYYY-MM-DD (got "${excerpt(value)}")`, 'dates are UTC days');
  }
  return value;
}

export const addDays = (day: string, n: number) => isoDay(Date.parse(`${day}T00:00:00Z`) + n * DAY_MS);

export const dayWindow = (day: string): DayWindow => ({ startDay: day, endDay: addDays(day, 1) });

/** The 7 UTC days ending with `endDay` (inclusive). */
export const weekWindow = (endDay: string): DayWindow => ({
  startDay: addDays(endDay, -6),
  endDay: addDays(endDay, 1),
});

export function daysOf(w: DayWindow): string[] {
  const days: string[] = [];
  for (let d = w.startDay; d < w.endDay; d = addDays(d, 1)) days.push(d);
  return days;
}

export const windowBounds = (w: DayWindow) => ({
  start: `${w.startDay}T00:00:00.000Z`,
  end: `${w.endDay}T00:00:00.000Z`,
});

/** The UTC bar day of a decision log's first record (its oldest, as the engine appends in bar order), or null. */
export function firstBarDay(path: string): string | null {
  // A v2 segment opens with its run header (a few KiB): the first decision line follows it.
  const buf = Buffer.alloc(1 << 20);
  let n = 0;
  try {
    const log = openLog(path); // the oldest segment kept
    try {
      n = log.read(buf, 0, buf.length, log.start);
    } finally {
      log.close();
    }
  } catch {
    return null;
  }
  for (const line of buf.subarray(0, n).toString('utf8').split('\n')) {
    if (isHeaderLine(line)) continue;
    const bar = barOfLine(line);
    return bar !== null && /^\d{4}-\d{2}-\d{2}T/.test(bar) ? bar.slice(0, 10) : null;
  }
  return null;
}
