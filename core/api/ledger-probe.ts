import type { Database } from 'bun:sqlite';
import { statSync } from 'node:fs';
import { openForReading } from '../ledger/ledger.ts';

export type LedgerReading =
  | { kind: 'missing' }
  | { kind: 'ok'; lastEquityTs: string | null }
  | { kind: 'error'; problem: string };

/**
 * A reading connection to the ledger (`openForReading`) kept across requests: opening SQLite
 * costs several times the query. Each query sees the engine's latest commit (WAL), and a replaced
 * file (`--fresh` archives the old one) is noticed by its inode and reopened.
 */
export class LedgerProbe {
  private db: Database | null = null;
  private ino = -1;

  constructor(readonly path: string) {}

  read(): LedgerReading {
    let ino: number;
    try {
      ino = statSync(this.path).ino;
    } catch {
      this.close();
      return { kind: 'missing' };
    }
    try {
      if (this.db && ino !== this.ino) this.close();
      if (!this.db) {
        this.db = openForReading(this.path);
        this.ino = ino;
      }
      const last = this.db
        .query<{ ts: number }, []>('SELECT ts FROM equity ORDER BY rowid DESC LIMIT 1')
        .get();
      return { kind: 'ok', lastEquityTs: last ? new Date(last.ts).toISOString() : null };
    } catch (err) {
      this.close(); // a damaged or half-written file: try afresh next time
      return { kind: 'error', problem: (err as Error).message };
    }
  }

  close(): void {
    this.db?.close();
    this.db = null;
    this.ino = -1;
  }
}
