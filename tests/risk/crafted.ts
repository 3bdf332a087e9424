import { Database } from 'bun:sqlite';
import { writeFileSync } from 'node:fs';

export const HOUR_MS = 3_600_000;
export const CRAFT_START = Date.UTC(2025, 0, 1);

/**
 * A crafted hourly series for ETH/USDT: a steady rise (the technical rules buy it), broken every
 * `every` bars by a flash crash whose open gaps `gap`% below the last close and whose close is
 * back on the trend. Each long is stopped out at the gapped open, a loss of `gap`% of the
 * position, while the indicators (built from closes) keep the uptrend: a controlled loss
 * sequence. Not market data; a test fixture that says so in its header.
 */
export function writeFlashCrashCandles(
  path: string,
  gapsPct: number[],
  opts: { every?: number; warmup?: number; tail?: number } = {},
): number[] {
  const every = opts.every ?? 6;
  const rise = 0.0005;
  let t = CRAFT_START;
  let p = 3000;
  const crashOpens: number[] = [];
  const rows = [
    '# crafted test candles: steady rise with flash crashes (not market data)',
    'timestamp,open,high,low,close,volume',
  ];
  const bar = (o: number, h: number, l: number, c: number) => {
    rows.push(`${t},${o},${h},${l},${c},10`);
    t += HOUR_MS;
  };
  const step = () => {
    const o = p;
    p *= 1 + rise;
    bar(o, p * 1.0002, o * 0.9998, p);
  };
  for (let i = 0; i < (opts.warmup ?? 80); i++) step();
  for (const g of gapsPct) {
    for (let i = 0; i < every; i++) step();
    const o = p * (1 - g / 100);
    crashOpens.push(t);
    p *= 1 + rise;
    bar(o, p * 1.0002, o * 0.999, p);
  }
  for (let i = 0; i < (opts.tail ?? 20); i++) step();
  writeFileSync(path, `${rows.join('\n')}\n`);
  return crashOpens;
}

/** The ledger's `checkpoint` meta, read the way an operator's script would (read-only). */
export function readCheckpoint(
  ledgerPath: string,
): Record<string, unknown> & { risk: Record<string, unknown> } {
  const db = new Database(ledgerPath, { readonly: true });
  try {
    const row = db.query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'checkpoint'").get();
    if (!row) throw new Error(`no checkpoint in ${ledgerPath}`);
    return JSON.parse(row.value);
  } finally {
    db.close();
  }
}

export function ledgerTrades(ledgerPath: string): { pnl: number; mode: string }[] {
  const db = new Database(ledgerPath, { readonly: true });
  try {
    return db.query<{ pnl: number; mode: string }, []>('SELECT pnl, mode FROM trades ORDER BY id').all();
  } finally {
    db.close();
  }
}
