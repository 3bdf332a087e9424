import { existsSync } from 'node:fs';
import { money, pct, price, quantity, signedMoney } from '../core/evidence/human.ts';
import { readJsonFile } from '../core/fsx/json-file.ts';
import { openForReading, type TradeRow } from '../core/ledger/ledger.ts';
import type { DataPaths } from '../core/paths.ts';
import type { EngineState, PositionState } from '../core/schema/state.ts';
import { type TradeStats, tradeStats } from './ledger-stats.ts';

export type TradeFilters = { symbol: string | null; sinceIso: string | null; limit: number | null };

export type OpenPosition = PositionState & { unrealized_pnl_pct: number | null };

/** `atl trades`: open positions (marked at the last price) and the closed-trade history. */
export type TradeBook = {
  data_root: string;
  mode: string | null;
  filters: TradeFilters;
  open: OpenPosition[];
  closed: TradeRow[];
  /** Over every closed trade that matches the filters, before `limit`. */
  closed_stats: TradeStats;
  /** What could not be read, and what to do; non-empty means the book is incomplete (exit 3). */
  problems: { problem: string; hint: string }[];
};

const REPAIR =
  'the file is damaged: restore it from a backup (the engine rewrites state.json at its next checkpoint)';
const NUMBERS = ['quantity', 'entry_price', 'exit_price', 'pnl', 'pnl_pct', 'fees', 'holding_s'] as const;
const TEXTS = ['symbol', 'side', 'entry_ts', 'exit_ts', 'exit_reason'] as const;

/** What is wrong with a trades row, or null: the ledger's types are SQLite's, so a damaged row can hold anything. */
function rowProblem(t: TradeRow): string | null {
  for (const k of NUMBERS)
    if (typeof t[k] !== 'number' || !Number.isFinite(t[k])) return `${k} is not a number`;
  for (const k of TEXTS) if (typeof t[k] !== 'string') return `${k} is not text`;
  if (Number.isNaN(Date.parse(t.exit_ts)) || Number.isNaN(Date.parse(t.entry_ts)))
    return 'a time does not read';
  return null;
}

/**
 * The trade book of a data root, read without touching the engine: open positions from the state
 * snapshot (the engine marks them each tick), closed trades from the ledger, opened read-only and
 * newest first. `since` keeps trades that closed at or after it (and positions opened since).
 */
export function readTradeBook(paths: DataPaths, filters: TradeFilters): TradeBook {
  // Only what the book is made of: the state snapshot and the ledger (not the heartbeat or pidfile).
  const read = readJsonFile(paths.state, 'EngineState');
  const state = read.kind === 'ok' ? (read.value as EngineState) : null;
  const problems: TradeBook['problems'] = [];
  if (read.kind === 'invalid') problems.push({ problem: `${paths.state}: ${read.problem}`, hint: REPAIR });
  const bySymbol = (s: string) => filters.symbol === null || s === filters.symbol;
  const open = Object.values(state?.positions ?? {})
    .filter((p) => bySymbol(p.symbol) && (filters.sinceIso === null || p.entry_ts >= filters.sinceIso))
    .map((p) => {
      const entryValue = p.entry_price * p.quantity;
      return { ...p, unrealized_pnl_pct: entryValue > 0 ? (p.unrealized_pnl / entryValue) * 100 : null };
    });
  let closed: TradeRow[] = [];
  if (!existsSync(paths.ledger)) {
    if (state)
      problems.push({ problem: `${paths.ledger}: missing`, hint: 'restore the ledger from a backup' });
  } else {
    try {
      const db = openForReading(paths.ledger, { snapshot: true });
      try {
        closed = db
          .query<TradeRow, [string | null, string | null]>(
            'SELECT * FROM trades WHERE (?1 IS NULL OR symbol = ?1) AND (?2 IS NULL OR exit_ts >= ?2) ORDER BY exit_ts DESC, id DESC',
          )
          .all(filters.symbol, filters.sinceIso);
        const faults = closed.map(rowProblem);
        const bad = faults.findIndex((f) => f !== null);
        if (bad >= 0) {
          problems.push({
            problem: `${paths.ledger}: a trade row (newest first, #${bad + 1}) does not read (${faults[bad]})`,
            hint: 'the ledger is damaged: restore it from a backup; `npx atl audit` checks it against the decision log',
          });
          closed = closed.filter((_, i) => faults[i] === null);
        }
      } finally {
        db.close();
      }
    } catch (err) {
      problems.push({
        problem: `${paths.ledger}: unreadable (${(err as Error).message})`,
        hint: 'restore the ledger from a backup',
      });
    }
  }
  if (!state && !existsSync(paths.ledger) && problems.length === 0)
    problems.push({
      problem: `no engine state or ledger under ${paths.root}`,
      hint: 'run the engine on this data root (`npx atl run`) or pass --data-dir',
    });
  return {
    data_root: paths.root,
    mode: state?.mode ?? null,
    filters,
    open,
    closed: filters.limit === null ? closed : closed.slice(0, filters.limit),
    closed_stats: tradeStats(closed),
    problems,
  };
}

/** Aligned columns: `align` has one letter per column, l (text) or r (numbers). */
function table(head: string[], align: string, rows: string[][]): string[] {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    `  ${cells.map((c, i) => (align[i] === 'l' ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')}`.trimEnd();
  return [line(head), ...rows.map(line)];
}

/** The book for people: one table of open positions, one of closed trades, units in the headers. */
export function renderTradeBook(b: TradeBook): string {
  const out = [`OPEN POSITIONS (${b.open.length})${b.mode ? ` — ${b.mode}` : ''}`];
  if (b.open.length === 0) out.push('  none');
  else
    out.push(
      ...table(
        [
          'symbol',
          'side',
          'opened (UTC)',
          'qty (base)',
          'entry (quote)',
          'last (quote)',
          'unrealised (quote)',
          'unrealised (%)',
          'stop (quote)',
          'target (quote)',
        ],
        'lllrrrrrrr',
        b.open.map((p) => [
          p.symbol,
          p.side,
          p.entry_ts.slice(0, 16),
          quantity(p.quantity),
          price(p.entry_price),
          price(p.last_price),
          signedMoney(p.unrealized_pnl),
          pct(p.unrealized_pnl_pct, 2, true),
          price(p.stop_loss),
          price(p.take_profit),
        ]),
      ),
    );
  const s = b.closed_stats;
  out.push(
    '',
    `CLOSED TRADES (${s.trades}; won ${s.wins}, net ${signedMoney(s.net_pnl)} quote, fees ${money(s.fees)} quote)${s.trades > b.closed.length ? ` — newest ${b.closed.length} shown` : ''}`,
  );
  if (b.closed.length === 0) out.push('  none');
  else
    out.push(
      ...table(
        [
          'closed (UTC)',
          'symbol',
          'side',
          'qty (base)',
          'entry (quote)',
          'exit (quote)',
          'P&L (quote)',
          'P&L (%)',
          'fees (quote)',
          'held (h)',
          'exit reason',
        ],
        'lllrrrrrrrl',
        b.closed.map((t) => [
          t.exit_ts.slice(0, 16),
          t.symbol,
          t.side,
          quantity(t.quantity),
          price(t.entry_price),
          price(t.exit_price),
          signedMoney(t.pnl),
          pct(t.pnl_pct * 100, 2, true),
          money(t.fees),
          (t.holding_s / 3600).toFixed(1),
          t.exit_reason,
        ]),
      ),
    );
  return out.join('\n');
}
