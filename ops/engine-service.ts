import { usageError } from '../core/errors.ts';

/** How the supervised engine runs; both the systemd unit and the Windows task are built from it. */
export type EngineService = {
  name: string;
  bun: string;
  main: string;
  repo: string;
  dataDir: string;
  mode: string;
  intervalS: number;
  capital: number;
  symbols: string | null;
  minRatio: number;
  maxDaily: number;
};

export const SERVICE_DEFAULTS = {
  // The unit name `atl verify` looks for by default (atl-paper-live.service).
  name: 'atl-paper-live',
  mode: 'paper_live_data',
  interval: '60',
  capital: '10000',
  // SPEC §3.6 defaults; the engine logs the values it got once at start.
  'min-ratio': '2.0',
  'max-daily': '10',
};

export function checkServiceName(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name)) {
    throw usageError(`"${name}" cannot name a service or task`, 'use letters, digits, "-", "_" and "." only');
  }
  return name;
}

/** `atl run …` as the supervisor starts it (program first). */
export function engineArgv(s: EngineService): string[] {
  return [
    s.bun,
    s.main,
    'run',
    '--mode',
    s.mode,
    '--interval',
    String(s.intervalS),
    '--capital',
    String(s.capital),
    ...(s.symbols ? ['--symbols', s.symbols] : []),
    '--data-dir',
    s.dataDir,
  ];
}

/** The turnover overrides the engine reads from its environment (SPEC §3.6). */
export function turnoverEnv(s: EngineService): Record<string, string> {
  return {
    // A ratio reads as a ratio (2.0, not 2), as the engine's start line prints it.
    PAPER_LIVE_TURNOVER_MIN_RATIO: Number.isInteger(s.minRatio) ? s.minRatio.toFixed(1) : String(s.minRatio),
    PAPER_LIVE_TURNOVER_MAX_DAILY: String(s.maxDaily),
  };
}
