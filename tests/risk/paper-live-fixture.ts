import { mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { Ledger } from '../../core/ledger/ledger.ts';
import { dataPaths } from '../../core/paths.ts';
import { validateContract } from '../../core/schema/ajv.ts';
import type { ModeName } from '../../core/schema/common.ts';
import type { Heartbeat } from '../../core/schema/heartbeat.ts';

const DAY_MS = 86_400_000;

export type PaperLiveRecord = {
  days: number;
  wins: number;
  losses: number;
  win: number;
  loss: number;
  maxDrawdown: number;
  decisions: number;
  level?: string;
  /** The mode the ledger records (default paper_live_data). */
  mode?: ModeName;
};

/**
 * A data root as a paper_live_data engine leaves it after `days` in mode: ledger (checkpoint,
 * mode history, trades, equity), decision log, heartbeat. Written through the engine's own Ledger
 * class and record shapes, so check-transition reads exactly what it reads in production.
 */
export function writePaperLiveRoot(
  root: string,
  r: PaperLiveRecord,
  now = Date.now(),
): ReturnType<typeof dataPaths> {
  const paths = dataPaths(root);
  const mode = r.mode ?? 'paper_live_data';
  const started = new Date(now - r.days * DAY_MS).toISOString();
  const ledger = new Ledger(paths.ledger);
  ledger.modeHistory({
    ts: started,
    from_mode: null,
    to_mode: mode,
    reason: 'initial run',
    approver: null,
    stats_json: '{}',
  });
  const pnls = [
    ...Array.from({ length: r.wins }, () => r.win),
    ...Array.from({ length: r.losses }, () => -r.loss),
  ];
  pnls.forEach((pnl, i) => {
    const entry = new Date(Date.parse(started) + (i + 1) * 3_600_000).toISOString();
    const exit = new Date(Date.parse(entry) + 1_800_000).toISOString();
    ledger.trade({
      symbol: 'ETH/USDT',
      side: 'long',
      quantity: 0.1,
      entry_ts: entry,
      entry_price: 3000,
      exit_ts: exit,
      exit_price: 3000 + pnl * 10,
      pnl,
      pnl_pct: pnl / 300,
      fees: 0.6,
      exit_reason: pnl > 0 ? 'take_profit' : 'stop_loss',
      mode,
      entry_decision_id: `pl-ETHUSDT-1m-${i}`,
      exit_decision_id: `pl-ETHUSDT-1m-${i}x`,
      holding_s: 1800,
    });
  });
  const ts = Date.parse(started);
  ledger.equity({
    ts,
    equity: 10_000,
    cash: 10_000,
    positions_value: 0,
    drawdown_pct: 0,
    mode,
  });
  ledger.equity({
    ts: ts + 3_600_000,
    equity: 10_000 * (1 - r.maxDrawdown),
    cash: 10_000 * (1 - r.maxDrawdown),
    positions_value: 0,
    drawdown_pct: r.maxDrawdown,
    mode,
  });
  ledger.setMeta('checkpoint', {
    mode,
    mode_started_at: started,
    max_drawdown_pct: r.maxDrawdown,
    risk: { preservation: { level: r.level ?? 'normal' } },
  });
  ledger.close();

  mkdirSync(dirname(paths.decisions), { recursive: true });
  const lines = Array.from({ length: r.decisions }, (_, i) =>
    JSON.stringify({
      schema_version: '1.0.0',
      decision_id: `pl-ETHUSDT-1m-d${i}`,
      data_mode: 'PAPER_LIVE',
      mode: 'paper_live_data',
      preservation_level: r.level ?? 'normal',
      action: 'hold',
    }),
  );
  writeFileSync(paths.decisions, lines.length ? `${lines.join('\n')}\n` : '');
  const heartbeat: Heartbeat = {
    schema_version: '1.0.0',
    ts: new Date(now - 60_000).toISOString(),
    pid: 4242,
    process_start: null,
    boot_id: null,
    host: hostname(),
    mode: 'paper_live_data',
    data_mode: 'PAPER_LIVE',
    symbols: ['ETH/USDT'],
    timeframe: '1m',
    status: 'running',
    status_reason: null,
    seq: r.decisions,
    last_tick_started_at: null,
    last_tick_finished_at: null,
    last_bar_ts: null,
    last_decision_ts: null,
    total_decisions_session: r.decisions,
    paper_live_decisions_session: r.decisions,
    per_symbol: {},
    interval_s: 60,
    circuit_breakers: {},
    version: '0.1.0',
  };
  const checked = validateContract('Heartbeat', heartbeat);
  if (!checked.ok) throw new Error(`fixture heartbeat invalid: ${checked.errors.join('; ')}`);
  writeFileSync(paths.heartbeat, JSON.stringify(heartbeat));
  return paths;
}
