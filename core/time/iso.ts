const DAY_MS = 86_400_000;
let cachedDay = Number.NaN;
let cachedPrefix = '';
let cachedCompact = '';

/** The UTC day of `ms`, with its `YYYY-MM-DDT` and `YYYYMMDDT` prefixes cached. */
function dayOf(ms: number): number {
  const day = Math.floor(ms / DAY_MS);
  if (day !== cachedDay) {
    cachedDay = day;
    cachedPrefix = new Date(day * DAY_MS).toISOString().slice(0, 11);
    cachedCompact = cachedPrefix.replaceAll('-', '');
  }
  return day;
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);

/**
 * `new Date(ms).toISOString()` for the hot path: the date part is cached per UTC day, so a
 * replay formats a bar's time with a few small concatenations instead of a Date per bar.
 */
export function isoUtc(ms: number): string {
  const day = dayOf(ms);
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  return `${cachedPrefix}${pad2(h)}:${pad2(m)}:${pad2(s)}.${pad3(rest - s * 1000)}Z`;
}

/** The compact basic-format UTC time to the second, for ids: `2024-03-10T10:40:00.000Z` → `20240310T104000Z`. */
export function compactUtc(ms: number): string {
  const day = dayOf(ms);
  const secs = Math.floor((ms - day * DAY_MS) / 1000);
  const h = Math.floor(secs / 3600);
  const m = Math.floor((secs - h * 3600) / 60);
  return `${cachedCompact}${pad2(h)}${pad2(m)}${pad2(secs - h * 3600 - m * 60)}Z`;
}

const TIME_TEXT =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A time as an operator types it: `YYYY-MM-DD` (that UTC day's start) or
 * `YYYY-MM-DDTHH:MM[:SS[.fff]]` with `Z`, `±HH:MM` or no zone (UTC, as every time in the log is).
 * Epoch ms, or null when the text is no such time, a day or hour that does not exist included.
 */
export function parseUtcTime(text: string): number | null {
  const m = TIME_TEXT.exec(text.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i] ?? 0)) as number[];
  const ms = Number((m[7] ?? '').slice(0, 3).padEnd(3, '0'));
  const at = Date.UTC(y!, mo! - 1, d!, h!, mi!, s!, ms);
  const t = new Date(at);
  // Date.UTC rolls 2026-02-30 over to March: a field that moved was out of range.
  if (t.getUTCFullYear() !== y || t.getUTCMonth() !== mo! - 1 || t.getUTCDate() !== d) return null;
  if (t.getUTCHours() !== h || t.getUTCMinutes() !== mi || t.getUTCSeconds() !== s) return null;
  const zone = (m[8] ?? 'Z').toUpperCase();
  if (zone === 'Z') return at;
  const [zh, zm] = [Number(zone.slice(1, 3)), Number(zone.slice(-2))];
  if (zh > 23 || zm > 59) return null;
  return at - (zone[0] === '-' ? -1 : 1) * (zh * 60 + zm) * 60_000;
}
