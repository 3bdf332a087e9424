import { constants, Database } from 'bun:sqlite';
import { accessSync, existsSync, constants as fsConstants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { refusedError, unknownError } from '../errors.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
  id TEXT PRIMARY KEY, ts TEXT NOT NULL, symbol TEXT NOT NULL, side TEXT NOT NULL, intent TEXT NOT NULL,
  type TEXT NOT NULL, quantity REAL NOT NULL, price REAL NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL,
  decision_id TEXT NOT NULL, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (
  id INTEGER PRIMARY KEY AUTOINCREMENT, order_id TEXT NOT NULL REFERENCES orders(id), ts TEXT NOT NULL,
  symbol TEXT NOT NULL, side TEXT NOT NULL, quantity REAL NOT NULL, price REAL NOT NULL, fee REAL NOT NULL,
  slippage REAL NOT NULL, realized_pnl REAL, decision_id TEXT NOT NULL, mode TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (
  id INTEGER PRIMARY KEY AUTOINCREMENT, symbol TEXT NOT NULL, side TEXT NOT NULL, quantity REAL NOT NULL,
  entry_ts TEXT NOT NULL, entry_price REAL NOT NULL, exit_ts TEXT NOT NULL, exit_price REAL NOT NULL,
  pnl REAL NOT NULL, pnl_pct REAL NOT NULL, fees REAL NOT NULL, exit_reason TEXT NOT NULL, mode TEXT NOT NULL,
  entry_decision_id TEXT NOT NULL, exit_decision_id TEXT NOT NULL, holding_s REAL NOT NULL);
CREATE TABLE IF NOT EXISTS positions (
  symbol TEXT PRIMARY KEY, side TEXT NOT NULL, quantity REAL NOT NULL, entry_price REAL NOT NULL,
  entry_ts TEXT NOT NULL, stop_loss REAL, take_profit REAL, entry_fee REAL NOT NULL, decision_id TEXT NOT NULL,
  last_price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS equity (
  ts INTEGER NOT NULL, equity REAL NOT NULL, cash REAL NOT NULL, positions_value REAL NOT NULL,
  drawdown_pct REAL NOT NULL, mode TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS equity_ts ON equity(ts);
CREATE TABLE IF NOT EXISTS mode_history (
  id INTEGER PRIMARY KEY AUTOINCREMENT, ts TEXT NOT NULL, from_mode TEXT, to_mode TEXT NOT NULL,
  reason TEXT NOT NULL, approver TEXT, stats_json TEXT NOT NULL);
`;

/**
 * The equity curve as a table expression, one row per bar time. Ledgers written before a resume
 * stopped re-adding the bars it replayed hold repeats of earlier times (with drawdowns of stale
 * marks); the first row of a time is the one its bar wrote.
 */
export const EQUITY_CURVE =
  '(SELECT * FROM equity WHERE rowid IN (SELECT min(rowid) FROM equity GROUP BY ts))';

/** Rows of the equity table that repeat an earlier time (0 in ledgers this version writes). */
export function equityRepeats(db: Database): number {
  return db.query<{ n: number }, []>('SELECT count(*) - count(DISTINCT ts) AS n FROM equity').get()?.n ?? 0;
}

export type OrderRow = {
  id: string;
  ts: string;
  symbol: string;
  side: 'buy' | 'sell';
  intent: 'open' | 'close';
  type: string;
  quantity: number;
  price: number;
  status: string;
  reason: string;
  decision_id: string;
  mode: string;
};
export type FillRow = {
  order_id: string;
  ts: string;
  symbol: string;
  side: 'buy' | 'sell';
  quantity: number;
  price: number;
  fee: number;
  slippage: number;
  realized_pnl: number | null;
  decision_id: string;
  mode: string;
};
export type TradeRow = {
  symbol: string;
  side: 'long' | 'short';
  quantity: number;
  entry_ts: string;
  entry_price: number;
  exit_ts: string;
  exit_price: number;
  pnl: number;
  pnl_pct: number;
  fees: number;
  exit_reason: string;
  mode: string;
  entry_decision_id: string;
  exit_decision_id: string;
  holding_s: number;
};
export type PositionRow = {
  symbol: string;
  side: 'long' | 'short';
  quantity: number;
  entry_price: number;
  entry_ts: string;
  stop_loss: number | null;
  take_profit: number | null;
  entry_fee: number;
  decision_id: string;
  last_price: number;
};
export type EquityRow = {
  ts: number;
  equity: number;
  cash: number;
  positions_value: number;
  drawdown_pct: number;
  mode: string;
};
export type ModeHistoryRow = {
  ts: string;
  from_mode: string | null;
  to_mode: string;
  reason: string;
  approver: string | null;
  stats_json: string;
};

/**
 * The ledger in SQLite (WAL). Writes are queued and committed in one transaction per checkpoint,
 * so a replay does not pay a transaction per bar and a crash never leaves half a checkpoint.
 */
export class Ledger {
  readonly db: Database;
  private queue: Array<{
    stmt: NonNullable<Ledger['stmts'][keyof Ledger['stmts']]>;
    row: Record<string, unknown>;
  }> = [];
  private readonly stmts;

  constructor(
    readonly path: string,
    opts: { readonly?: boolean } = {},
  ) {
    if (!opts.readonly) mkdirSync(dirname(path), { recursive: true });
    const created = !opts.readonly && !ledgerOnDisk(path);
    try {
      // strict (the writer): rows bind to `$name` parameters by their plain keys; readers bind by position.
      this.db = opts.readonly
        ? openForReading(path, { snapshot: true })
        : new Database(path, { create: true, strict: true });
      if (!opts.readonly) {
        this.db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 5000;');
        if (!created && !this.hasTable('meta')) {
          this.db.close();
          throw refusedError(
            `${path} is a SQLite database but not an atl ledger (it has no meta table)`,
            'restore the ledger from a backup, or move the file aside and start over with --fresh',
          );
        }
        this.db.exec(SCHEMA);
      }
    } catch (err) {
      throw ledgerError(err, path);
    }
    type Params = Record<string, string | number | null>;
    const prep = <_P>(sql: string) => (opts.readonly ? null : this.db.prepare<unknown, [Params]>(sql));
    this.stmts = {
      order: prep<Record<string, unknown>>(
        'INSERT INTO orders VALUES ($id,$ts,$symbol,$side,$intent,$type,$quantity,$price,$status,$reason,$decision_id,$mode)',
      ),
      fill: prep<Record<string, unknown>>(
        'INSERT INTO fills (order_id,ts,symbol,side,quantity,price,fee,slippage,realized_pnl,decision_id,mode) VALUES ($order_id,$ts,$symbol,$side,$quantity,$price,$fee,$slippage,$realized_pnl,$decision_id,$mode)',
      ),
      trade: prep<Record<string, unknown>>(
        'INSERT INTO trades (symbol,side,quantity,entry_ts,entry_price,exit_ts,exit_price,pnl,pnl_pct,fees,exit_reason,mode,entry_decision_id,exit_decision_id,holding_s) VALUES ($symbol,$side,$quantity,$entry_ts,$entry_price,$exit_ts,$exit_price,$pnl,$pnl_pct,$fees,$exit_reason,$mode,$entry_decision_id,$exit_decision_id,$holding_s)',
      ),
      upsertPosition: prep<Record<string, unknown>>(
        'INSERT OR REPLACE INTO positions VALUES ($symbol,$side,$quantity,$entry_price,$entry_ts,$stop_loss,$take_profit,$entry_fee,$decision_id,$last_price)',
      ),
      deletePosition: prep<Record<string, unknown>>('DELETE FROM positions WHERE symbol = $symbol'),
      equity: prep<Record<string, unknown>>(
        'INSERT INTO equity VALUES ($ts,$equity,$cash,$positions_value,$drawdown_pct,$mode)',
      ),
      meta: prep<Record<string, unknown>>('INSERT OR REPLACE INTO meta VALUES ($key,$value)'),
      modeHistory: prep<Record<string, unknown>>(
        'INSERT INTO mode_history (ts,from_mode,to_mode,reason,approver,stats_json) VALUES ($ts,$from_mode,$to_mode,$reason,$approver,$stats_json)',
      ),
    };
  }

  private enqueue(stmt: keyof typeof this.stmts, row: Record<string, unknown>): void {
    const s = this.stmts[stmt];
    if (!s) throw new Error('ledger opened read-only');
    // Named parameters bound from the row's own keys (`$name`), without building a second object per row.
    this.queue.push({ stmt: s, row });
  }

  order(row: OrderRow): void {
    this.enqueue('order', row);
  }
  fill(row: FillRow): void {
    this.enqueue('fill', row);
  }
  trade(row: TradeRow): void {
    this.enqueue('trade', row);
  }
  upsertPosition(row: PositionRow): void {
    this.enqueue('upsertPosition', row);
  }
  deletePosition(symbol: string): void {
    this.enqueue('deletePosition', { symbol });
  }
  equity(row: EquityRow): void {
    this.enqueue('equity', row);
  }
  setMeta(key: string, value: unknown): void {
    this.enqueue('meta', { key, value: JSON.stringify(value) });
  }
  modeHistory(row: ModeHistoryRow): void {
    this.enqueue('modeHistory', row);
  }

  /** Commit everything queued as one transaction (a checkpoint). */
  commit(): void {
    if (this.queue.length === 0) return;
    const work = this.queue;
    this.queue = [];
    this.db.transaction(() => {
      for (const op of work) op.stmt.run(op.row as Record<string, string | number | null>);
    })();
  }

  getMeta<T>(key: string): T | null {
    const row = this.db.query<{ value: unknown }, [string]>('SELECT value FROM meta WHERE key = ?').get(key);
    if (!row) return null;
    try {
      return JSON.parse(row.value as string) as T;
    } catch (err) {
      throw unknownError(
        `${this.path}: the ledger's ${key} does not read as JSON (${(err as Error).message})`,
        'restore the ledger from a backup, or move it aside and start over with --fresh',
        err,
      );
    }
  }

  private hasTable(name: string): boolean {
    return (
      this.db
        .query<{ n: number }, [string]>(
          "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = ?",
        )
        .get(name)!.n > 0
    );
  }

  positions(): PositionRow[] {
    return this.db.query<PositionRow, []>('SELECT * FROM positions').all();
  }

  /** Close time (epoch ms) of the newest equity row, 0 when there is none. */
  lastEquityTs(): number {
    return this.db.query<{ ts: number | null }, []>('SELECT max(ts) AS ts FROM equity').get()?.ts ?? 0;
  }

  trades(): TradeRow[] {
    return this.db.query<TradeRow, []>('SELECT * FROM trades ORDER BY id').all();
  }

  close(): void {
    this.commit();
    this.release();
  }

  /** Close without committing what is queued (a failed checkpoint: those rows belong to records not on disk). */
  discard(): void {
    this.queue = [];
    this.release();
  }

  /**
   * Finalize the prepared statements, then close: with one left open SQLite keeps the connection
   * until the process exits, and with it the `-wal` and `-shm` a last connection removes.
   */
  private release(): void {
    for (const s of Object.values(this.stmts)) s?.finalize();
    this.db.close();
  }
}

/**
 * A connection that reads the ledger and never writes to it, for the verbs, the reports and the
 * API. SQLite's read-only mode creates `-wal` and `-shm` files beside a WAL database and cannot
 * remove them when it closes, so every `atl status` left them behind. Where the ledger may be
 * written, the connection is read-write with `query_only`: closing last, it removes them as the
 * engine's own connection does (one that is not last leaves them to the one still open; one whose
 * file was moved since it opened, as `--fresh` archives the ledger with its `-wal` and `-shm`,
 * neither checkpoints nor deletes: SQLite checks the path still names its file). A
 * write-protected ledger with no `-wal` is read as immutable: no process of ours writes it, and a
 * read-only directory could not hold the `-shm` SQLite needs. The file must exist (no create).
 *
 * With `snapshot`, every query until `close()` reads the same commit (one read transaction): a
 * verb that adds up several tables while the engine commits must not mix two checkpoints.
 */
export function openForReading(path: string, opts: { snapshot?: boolean } = {}): Database {
  const protectedFile = !writable(path) || !writable(dirname(path));
  let db: Database;
  if (!protectedFile) db = new Database(path, { readwrite: true });
  else if (existsSync(`${path}-wal`)) db = new Database(path, { readonly: true });
  else {
    const uri = `file:${encodeURI(path).replace(/\?/g, '%3F').replace(/#/g, '%23')}?immutable=1`;
    db = new Database(uri, constants.SQLITE_OPEN_READONLY | constants.SQLITE_OPEN_URI);
  }
  try {
    if (!protectedFile) db.exec('PRAGMA query_only = ON');
    if (opts.snapshot) db.exec('BEGIN');
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

function writable(path: string): boolean {
  try {
    accessSync(path, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Whether a ledger (a non-empty file) is at `path`. */
export function ledgerOnDisk(path: string): boolean {
  try {
    return statSync(path).size > 0;
  } catch {
    return false;
  }
}

/** A ledger that is not a database, or a damaged one, is unreadable input (exit 3) naming the file. */
function ledgerError(err: unknown, path: string): unknown {
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && /^SQLITE_(NOTADB|CORRUPT)/.test(code))
    return unknownError(
      `${path} is not a readable SQLite ledger (${code})`,
      'restore it from a backup, or move it aside and start over with --fresh',
      err,
    );
  return err;
}
