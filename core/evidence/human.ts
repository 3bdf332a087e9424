/**
 * A number for people to read: four significant digits, and never fewer than two decimals above
 * 1 (12.35, 9933.01, 0.06592). Only text is rounded: evidence JSON carries the full value, so a
 * gate or a script reading it sees what was measured.
 */
export function human(x: number | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return '—';
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'NaN' : x > 0 ? '∞' : '-∞';
  if (Number.isInteger(x)) return String(x);
  const whole = Math.abs(x) >= 1 ? Math.floor(Math.log10(Math.abs(x))) + 1 : 0;
  return String(Number(x.toPrecision(Math.min(21, Math.max(digits, whole + 2)))));
}
