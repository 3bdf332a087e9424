/**
 * Numbers for people: rounded to what a reader can use, with the sign or unit they need. The JSON
 * beside every human text keeps full precision; these helpers are for text and markdown only.
 */

const DASH = '—';
type Maybe = number | null | undefined;

const grouped = (n: number, digits: number) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

/** Quote-currency amounts: thousands grouped, 2 decimals (`12,345.68`). */
export function money(n: Maybe): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : grouped(n, 2);
}

/** A signed amount, for P&L (`+12.30`, `-4.00`). */
export function signedMoney(n: Maybe): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return `${n > 0 ? '+' : ''}${money(n)}`;
}

/** A price with the decimals its magnitude needs: 5 significant digits below 1000, cents above. */
export function price(n: Maybe): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  const abs = Math.abs(n);
  if (abs >= 1000) return grouped(n, 2);
  if (abs === 0) return '0';
  const digits = Math.min(8, Math.max(2, 4 - Math.floor(Math.log10(abs))));
  return n.toFixed(digits);
}

/** A quantity of the base asset: up to 6 significant digits, no trailing zeros. */
export function quantity(n: Maybe): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : String(Number(n.toPrecision(6)));
}

/** A fraction shown as a percent (`0.0772` → `7.7%`). */
export function pctOfFraction(n: Maybe, digits = 1): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : `${(n * 100).toFixed(digits)}%`;
}

/** A value already in percent (`3.14159` → `3.14%`); `signed` adds `+` to gains. */
export function pct(n: Maybe, digits = 2, signed = false): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return DASH;
  return `${signed && n > 0 ? '+' : ''}${n.toFixed(digits)}%`;
}

/** A plain ratio (profit factor, Sharpe) at 2 decimals. */
export function ratio(n: Maybe, digits = 2): string {
  return n === null || n === undefined || !Number.isFinite(n) ? DASH : n.toFixed(digits);
}

/**
 * An annualised ratio (Sharpe, Sortino, Calmar) for people: the number only when its sample spans
 * `minDays`; below that it reads "insufficient", since √(periods per year) turns a week's noise
 * into a large, meaningless number.
 */
export function annualised(value: Maybe, sampleDays: number, minDays: number): string {
  if (value === null || value === undefined || !Number.isFinite(value)) return DASH;
  return sampleDays >= minDays
    ? value.toFixed(2)
    : `insufficient (${sampleDays.toFixed(1)} of ${minDays} days)`;
}

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
