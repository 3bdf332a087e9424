import { OperatorError, usageError } from '../core/errors.ts';
import { EXIT } from '../core/exit-codes.ts';
import { parseMode } from '../core/modes/modes.ts';
import { paperLiveTurnoverOverrides } from '../core/risk/config.ts';
import { numberArg } from './_script.ts';

/** Exits a restart cannot cure: 2 halted or refused, 64 usage, 78 configuration (SPEC §6). */
export const NO_RESTART_EXITS = [EXIT.fail, EXIT.usage, EXIT.config];

/**
 * A supervisor gives up after `burst` starts within `intervalS`: that is a crash loop, not a crash.
 * The Windows launcher counts runs shorter than `intervalS` the same way.
 */
export const START_LIMIT = { burst: 10, intervalS: 600 };

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

/** A mode a supervisor can keep running: a backtest ends, and every restart would replay it again. */
function supervisedMode(value: string): string {
  const mode = parseMode(value);
  if (mode === 'backtest')
    throw usageError(
      '--mode backtest ends by itself; a supervised engine must be a paced mode',
      'use --mode paper_live_data (the default) or paper_synthetic',
    );
  return mode;
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

/** The flags both host scripts take to describe the engine they supervise (plus their own). */
export const SERVICE_FLAGS = {
  strings: ['data-dir', 'mode', 'interval', 'capital', 'symbols', 'min-ratio', 'max-daily', 'bun', 'repo'],
  defaults: {
    mode: SERVICE_DEFAULTS.mode,
    interval: SERVICE_DEFAULTS.interval,
    capital: SERVICE_DEFAULTS.capital,
    'min-ratio': SERVICE_DEFAULTS['min-ratio'],
    'max-daily': SERVICE_DEFAULTS['max-daily'],
  },
};

/**
 * The engine a script's flags describe; bad values are usage errors (exit 64). What the engine
 * would refuse at start is refused here, by the engine's own check: a supervisor would otherwise
 * restart a config error (exit 78) for ever.
 */
export function serviceFromFlags(
  f: Record<string, string | undefined>,
  where: { name: string; repo: string; main: string; dataDir: string },
): EngineService {
  const service: EngineService = {
    name: checkServiceName(where.name),
    bun: f.bun ?? process.execPath,
    main: where.main,
    repo: where.repo,
    dataDir: where.dataDir,
    mode: supervisedMode(f.mode ?? SERVICE_DEFAULTS.mode),
    intervalS: numberArg('interval', f.interval, { min: 1 }),
    capital: numberArg('capital', f.capital, { min: 1 }),
    symbols: f.symbols ?? null,
    minRatio: numberArg('min-ratio', f['min-ratio']),
    maxDaily: numberArg('max-daily', f['max-daily']),
  };
  try {
    paperLiveTurnoverOverrides(turnoverEnv(service));
  } catch (err) {
    if (!(err instanceof OperatorError)) throw err;
    throw usageError(
      `--min-ratio ${f['min-ratio']} --max-daily ${f['max-daily']}: the engine would refuse to start (${err.message})`,
      'give --min-ratio a number > 0 and --max-daily a whole number ≥ 1',
    );
  }
  return service;
}
