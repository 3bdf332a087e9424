import { isAbsolute, join, resolve } from 'node:path';

/** The repository root (where the bundled `data/market` and `data/models` live). */
export const REPO_ROOT = resolve(import.meta.dir, '..');
export const BUNDLED_MARKET_DIR = join(REPO_ROOT, 'data', 'market');
export const BUNDLED_MODELS_DIR = join(REPO_ROOT, 'data', 'models');

/**
 * The data root: `--data-dir`, else env `ATL_HOME`, else the repository's `data/` — an absolute
 * path either way, so every verb finds the same files from any working directory.
 */
export function resolveDataRoot(flag?: string | null, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag || env.ATL_HOME;
  if (!chosen) return join(REPO_ROOT, 'data');
  return isAbsolute(chosen) ? chosen : resolve(process.cwd(), chosen);
}

/** Every path of the file contract (SPEC §4), under one data root. */
export function dataPaths(root: string) {
  return {
    root,
    decisions: join(root, 'rl', 'shadow_decisions.jsonl'),
    outcomes: join(root, 'rl', 'decision_outcomes.jsonl'),
    advisorState: join(root, 'rl', 'advisor_state.json'),
    heartbeat: join(root, 'rl', 'paper_live_heartbeat.json'),
    /** Closed candles a run on a live feed decided on, for `atl parity`. */
    candleTape: join(root, 'rl', 'candle_tape.jsonl'),
    rlArchive: join(root, 'rl', 'archive'),
    state: join(root, 'unified_trading', 'state.json'),
    ledger: join(root, 'unified_trading', 'ledger.sqlite'),
    safety: join(root, 'safety_state.json'),
    logsDir: join(root, 'logs'),
    pidfile: join(root, 'logs', 'engine.pid'),
    lockfile: join(root, 'logs', 'engine.lock'),
    engineLog: join(root, 'logs', 'engine.log'),
    stopRequest: join(root, 'logs', 'stop.request'),
    reportsDir: join(root, 'reports'),
    apiConfig: join(root, 'config', 'api.json'),
    orderRequests: join(root, 'unified_trading', 'order_requests.jsonl'),
    /** Models trained for this host (`atl train --data-dir`); for the default root, the bundled ones. */
    models: join(root, 'models'),
    /** Synthetic candles generated for a bundled symbol at a timeframe the repository does not ship. */
    marketCache: join(root, 'market'),
  };
}
export type DataPaths = ReturnType<typeof dataPaths>;
