import { Database } from 'bun:sqlite';
import { describe, expect, it } from 'bun:test';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { evaluateHealth } from '../../core/api/health.ts';
import { LedgerProbe } from '../../core/api/ledger-probe.ts';
import { setHalt } from '../../core/control/halt.ts';
import { dataPaths } from '../../core/paths.ts';
import { tempDir } from '../support/cli.ts';
import { testServer, writeHeartbeat, writeState } from './_support.ts';

type HealthDoc = {
  status: string;
  checks: Record<string, Array<{ status: string; observedValue: unknown; output?: string }>>;
};

const ago = (s: number) => new Date(Date.now() - s * 1000).toISOString();

describe('health evaluation', () => {
  it('fails with no engine files, naming what is missing', () => {
    using dir = tempDir();
    const { doc } = evaluateHealth(dataPaths(dir.path));
    expect(doc.status).toBe('fail');
    expect(doc.checks['heartbeat:freshness']?.[0]?.output).toContain('no heartbeat');
  });

  it('passes the heartbeat at the age limit and fails it one second past', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    const now = Date.now();
    writeHeartbeat(paths, { ts: new Date(now - 120_000).toISOString() });
    expect(evaluateHealth(paths, { now, maxAgeS: 120 }).doc.checks['heartbeat:freshness']?.[0]?.status).toBe(
      'pass',
    );
    writeHeartbeat(paths, { ts: new Date(now - 121_000).toISOString() });
    const hb = evaluateHealth(paths, { now, maxAgeS: 120 }).doc.checks['heartbeat:freshness']?.[0];
    expect(hb?.status).toBe('fail');
    expect(hb?.output).toContain('not advancing');
  });

  it('fails a heartbeat from the future as clock skew', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    writeHeartbeat(paths, { ts: ago(-60) });
    expect(evaluateHealth(paths).doc.checks['heartbeat:freshness']?.[0]?.output).toContain('clock skew');
  });

  it('warns, not fails, for an engine that stopped cleanly or was halted', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    writeHeartbeat(paths, { ts: ago(3600), status: 'stopped', status_reason: 'signal' });
    writeState(paths);
    setHalt(paths, { reason: 'drill', by: 'tester', source: 'test' });
    const { doc } = evaluateHealth(paths);
    expect(doc.checks['heartbeat:freshness']?.[0]?.status).toBe('warn');
    expect(doc.checks['halt:flag']?.[0]).toMatchObject({ status: 'warn', observedValue: true });
    expect(doc.status).toBe('warn');
  });

  it('fails for a damaged state file or an unreadable halt flag', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    writeHeartbeat(paths);
    mkdirSync(dirname(paths.state), { recursive: true });
    writeFileSync(paths.state, '{"schema_version": "1.0.0", "torn');
    writeFileSync(paths.safety, 'garbage');
    const { doc } = evaluateHealth(paths);
    expect(doc.checks['state:readable']?.[0]?.status).toBe('fail');
    expect(doc.checks['halt:flag']?.[0]?.status).toBe('fail');
    expect(doc.status).toBe('fail');
  });

  it('fails for a ledger that is not a database', () => {
    using dir = tempDir();
    const paths = dataPaths(dir.path);
    mkdirSync(dirname(paths.ledger), { recursive: true });
    writeFileSync(paths.ledger, 'not sqlite at all, just text '.repeat(100));
    expect(evaluateHealth(paths).doc.checks['ledger:readable']?.[0]?.status).toBe('fail');
  });
});

describe('ledger probe', () => {
  it('keeps one read-only connection, sees new commits, and reopens a replaced ledger', () => {
    using dir = tempDir();
    const path = join(dir.path, 'ledger.sqlite');
    const write = (file: string, ts: number) => {
      const db = new Database(file, { create: true });
      db.exec('PRAGMA journal_mode = WAL; CREATE TABLE IF NOT EXISTS equity (ts INTEGER NOT NULL)');
      db.query('INSERT INTO equity VALUES (?)').run(ts);
      db.close();
    };
    const probe = new LedgerProbe(path);
    try {
      expect(probe.read()).toEqual({ kind: 'missing' });
      write(path, Date.UTC(2026, 0, 1));
      expect(probe.read()).toEqual({ kind: 'ok', lastEquityTs: '2026-01-01T00:00:00.000Z' });
      write(path, Date.UTC(2026, 0, 2));
      expect(probe.read()).toEqual({ kind: 'ok', lastEquityTs: '2026-01-02T00:00:00.000Z' });
      renameSync(path, `${path}.archived`);
      write(path, Date.UTC(2027, 5, 1));
      expect(probe.read()).toEqual({ kind: 'ok', lastEquityTs: '2027-06-01T00:00:00.000Z' });
    } finally {
      probe.close();
    }
  });
});

describe('health routes', () => {
  it('answers /health as application/health+json: 200 while fresh, 503 when the loop is stale', async () => {
    await using s = await testServer(
      {},
      {
        prepare: (paths) => {
          writeHeartbeat(paths);
          writeState(paths);
        },
      },
    );
    const fresh = await fetch(`${s.url}/health`);
    expect(fresh.headers.get('content-type')).toBe('application/health+json');
    const doc = (await fresh.json()) as HealthDoc;
    expect(fresh.status).toBe(200);
    expect(doc.checks['heartbeat:freshness']?.[0]?.status).toBe('pass');
    expect(Object.keys(doc.checks).sort()).toEqual([
      'engine:process',
      'halt:flag',
      'heartbeat:freshness',
      'ledger:readable',
      'state:readable',
    ]);
    writeHeartbeat(s.paths, { ts: ago(600) });
    const stale = await fetch(`${s.url}/health`);
    expect(stale.status).toBe(503);
    expect(((await stale.json()) as HealthDoc).status).toBe('fail');
    expect((await fetch(`${s.url}/health/ready`)).status).toBe(503);
    expect((await fetch(`${s.url}/health/live`)).status).toBe(200);
  });

  it('shows the status view with its health under /api/status', async () => {
    await using s = await testServer(
      {},
      {
        prepare: (paths) => {
          writeHeartbeat(paths);
          writeState(paths, { equity: 9_876 });
        },
      },
    );
    const body = (await (await s.get('/api/status')).json()) as {
      state: { equity: number };
      heartbeat: { seq: number };
      health: string;
      halt: { halted: boolean };
    };
    expect(body.state.equity).toBe(9_876);
    expect(body.heartbeat.seq).toBe(12);
    expect(body.halt.halted).toBe(false);
    expect(body.health).toBe('warn'); // the fixture's pid is this test process, not an engine with a pidfile
  });
});
