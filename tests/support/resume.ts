import { Database } from 'bun:sqlite';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { comparableDecisions, logText } from './records.ts';

/**
 * Everything an engine run writes to a data root, in the form two runs of the same replay must
 * agree on — one stopped or killed and resumed, one uninterrupted: the decision log, every
 * ledger table, the outcome lines exactly as written, the shadow advisor's saved state and the
 * ledger checkpoint (rotated logs as their segments concatenated, archives in order, then the
 * active file). Only what differs by construction is left out: wall-clock times, the tick's correlation id, the hash chain over them and paper order ids (they carry the process's
 * run tag; the orders themselves, their fills and their order are compared).
 */
export type RunSnapshot = {
  decisions: unknown[];
  orders: unknown[];
  fills: unknown[];
  trades: unknown[];
  positions: unknown[];
  equity: unknown[];
  modeHistory: unknown[];
  checkpoint: unknown;
  outcomes: string[];
  advisor: unknown;
};

export function runSnapshot(root: string): RunSnapshot {
  const ledgerPath = join(root, 'unified_trading', 'ledger.sqlite');
  const db = new Database(ledgerPath, { readonly: true });
  try {
    const rows = (sql: string) => db.query<Record<string, unknown>, []>(sql).all();
    const checkpoint = db
      .query<{ value: string }, []>("SELECT value FROM meta WHERE key = 'checkpoint'")
      .get();
    const { mode_started_at: _started, ...cp } = checkpoint ? JSON.parse(checkpoint.value) : {};
    const outcomesPath = join(root, 'rl', 'decision_outcomes.jsonl');
    const advisorPath = join(root, 'rl', 'advisor_state.json');
    return {
      decisions: comparableDecisions(root),
      orders: rows('SELECT * FROM orders ORDER BY rowid').map(({ id: _id, ...o }) => o),
      fills: rows('SELECT * FROM fills ORDER BY id').map(({ order_id: _o, ...f }) => f),
      trades: rows('SELECT * FROM trades ORDER BY id'),
      positions: rows('SELECT * FROM positions ORDER BY symbol'),
      equity: rows('SELECT * FROM equity ORDER BY rowid'),
      modeHistory: rows('SELECT * FROM mode_history ORDER BY id').map(({ ts: _ts, ...m }) => m),
      checkpoint: cp,
      outcomes: logText(outcomesPath).split('\n').filter(Boolean),
      advisor: existsSync(advisorPath) ? JSON.parse(readFileSync(advisorPath, 'utf8')) : null,
    };
  } finally {
    db.close();
  }
}

const show = (v: unknown) => {
  const s = JSON.stringify(v);
  return s === undefined ? 'undefined' : s.length > 400 ? `${s.slice(0, 400)}…` : s;
};

/**
 * Where two snapshots differ, one line per part (empty when identical): row counts and the
 * first differing row, so a failed comparison says what a resume lost or wrote twice.
 */
export function snapshotDiff(resumed: RunSnapshot, whole: RunSnapshot): string[] {
  const out: string[] = [];
  for (const part of Object.keys(whole) as Array<keyof RunSnapshot>) {
    const a = resumed[part];
    const b = whole[part];
    if (Bun.deepEquals(a, b, true)) continue;
    if (Array.isArray(a) && Array.isArray(b)) {
      let i = 0;
      while (i < a.length && i < b.length && Bun.deepEquals(a[i], b[i], true)) i++;
      out.push(
        `${part}: ${a.length} vs ${b.length} rows; first difference at row ${i + 1}: resumed ${show(a[i])} vs uninterrupted ${show(b[i])}`,
      );
    } else {
      const at = firstDifference(a, b, part);
      out.push(`${at.path}: resumed ${show(at.a)} vs uninterrupted ${show(at.b)}`);
    }
  }
  return out;
}

/** The deepest key path at which two values first differ. */
function firstDifference(a: unknown, b: unknown, path: string): { path: string; a: unknown; b: unknown } {
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    for (const k of keys) {
      const x = (a as Record<string, unknown>)[k];
      const y = (b as Record<string, unknown>)[k];
      if (!Bun.deepEquals(x, y, true)) return firstDifference(x, y, `${path}.${k}`);
    }
  }
  return { path, a, b };
}
