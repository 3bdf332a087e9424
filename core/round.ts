/** The rounding every record's numbers get: to 2 places (percentages, money shown) or 6 (ratios, prices' fractions). */
export const r2 = (x: number) => Math.round(x * 100) / 100;
export const r6 = (x: number) => Math.round(x * 1e6) / 1e6;
/** `r6`, or null for NaN and ±Infinity (which JSON cannot carry). */
export const r6OrNull = (x: number) => (Number.isFinite(x) ? r6(x) : null);
