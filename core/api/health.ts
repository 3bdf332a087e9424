import { ATL_VERSION } from '../engine/snapshots.ts';
import { worstStatus } from '../exit-codes.ts';
import type { DataPaths } from '../paths.ts';
import { readStatus, type StatusView } from '../status.ts';
import { DEFAULT_THRESHOLDS } from '../verify/facts.ts';
import { LedgerProbe } from './ledger-probe.ts';

type HealthStatus = 'pass' | 'warn' | 'fail';

/** One entry of the IETF health-check draft's `checks` map (`"component:measurement": [entry]`). */
export type HealthCheck = {
  componentId: string;
  status: HealthStatus;
  observedValue: unknown;
  observedUnit?: string;
  time: string;
  output?: string;
};

export type HealthDocument = {
  status: HealthStatus;
  version: string;
  serviceId: string;
  description: string;
  notes?: string[];
  checks: Record<string, HealthCheck[]>;
};

/** Clock skew we tolerate before a heartbeat "from the future" counts as broken. */
const FUTURE_TOLERANCE_S = 5;

/**
 * Overall health plus components (`application/health+json`): heartbeat freshness, engine
 * process, state file, ledger, halt flag. `pass` and `warn` answer 200, `fail` answers 503.
 */
export function evaluateHealth(
  paths: DataPaths,
  opts: { ledger?: LedgerProbe; now?: number; maxAgeS?: number } = {},
): { doc: HealthDocument; view: StatusView } {
  const now = opts.now ?? Date.now();
  const maxAgeS = opts.maxAgeS ?? DEFAULT_THRESHOLDS.heartbeatMaxAgeS;
  const view = readStatus(paths, now);
  const time = new Date(now).toISOString();
  const entry = (
    componentId: string,
    status: HealthStatus,
    observedValue: unknown,
    output?: string,
    observedUnit?: string,
  ): HealthCheck[] => [
    {
      componentId,
      status,
      observedValue,
      ...(observedUnit ? { observedUnit } : {}),
      time,
      ...(output && status !== 'pass' ? { output } : {}),
    },
  ];
  const checks: Record<string, HealthCheck[]> = {
    'heartbeat:freshness': heartbeatCheck(view, paths, maxAgeS, entry),
    'engine:process': entry(
      'engine',
      view.engine.process === 'same' ? 'pass' : 'warn',
      view.engine.process,
      `engine process: ${view.engine.process}`,
    ),
    'state:readable': stateCheck(view, paths, entry),
    'ledger:readable': ledgerCheck(paths, opts.ledger, entry),
    'halt:flag': view.halt.halted
      ? entry(
          'halt',
          view.halt.reason?.startsWith('safety_state_unreadable') ? 'fail' : 'warn',
          true,
          `trading halted: ${view.halt.reason}`,
        )
      : entry('halt', 'pass', false),
  };
  const status = worstStatus(Object.values(checks).flatMap((c) => c.map((e) => e.status))) as HealthStatus;
  const notes = Object.values(checks).flatMap((c) => c.filter((e) => e.output).map((e) => e.output!));
  return {
    doc: {
      status,
      version: ATL_VERSION,
      serviceId: `atl:${paths.root}`,
      description: 'atl shadow trading engine',
      ...(notes.length ? { notes } : {}),
      checks,
    },
    view,
  };
}

type Entry = (
  id: string,
  status: HealthStatus,
  observed: unknown,
  output?: string,
  unit?: string,
) => HealthCheck[];

function heartbeatCheck(view: StatusView, paths: DataPaths, maxAgeS: number, entry: Entry): HealthCheck[] {
  const hb = view.heartbeat;
  const problem = view.problems.find((p) => p.startsWith(paths.heartbeat));
  if (problem) return entry('heartbeat', 'fail', null, problem);
  if (!hb)
    return entry(
      'heartbeat',
      'fail',
      null,
      `no heartbeat at ${paths.heartbeat}: no engine has run on this data root`,
    );
  const age = view.engine.heartbeat_age_s ?? Number.POSITIVE_INFINITY;
  if (age < -FUTURE_TOLERANCE_S)
    return entry('heartbeat', 'fail', age, `heartbeat is ${-age}s in the future (clock skew)`, 's');
  if (hb.status === 'stopped' || hb.status === 'halted') {
    return entry(
      'heartbeat',
      'warn',
      age,
      `engine ${hb.status}${hb.status_reason ? ` (${hb.status_reason})` : ''}; last heartbeat ${age}s ago`,
      's',
    );
  }
  if (age > maxAgeS)
    return entry(
      'heartbeat',
      'fail',
      age,
      `heartbeat is ${age}s old (limit ${maxAgeS}s): the loop is not advancing`,
      's',
    );
  return entry('heartbeat', 'pass', age, undefined, 's');
}

function stateCheck(view: StatusView, paths: DataPaths, entry: Entry): HealthCheck[] {
  const problem = view.problems.find((p) => p.startsWith(paths.state));
  if (problem) return entry('state', 'fail', null, problem);
  if (!view.state) return entry('state', 'warn', null, `no state file at ${paths.state} yet`);
  return entry('state', 'pass', { mode: view.state.mode, status: view.state.status });
}

function ledgerCheck(paths: DataPaths, shared: LedgerProbe | undefined, entry: Entry): HealthCheck[] {
  const probe = shared ?? new LedgerProbe(paths.ledger);
  const reading = probe.read();
  if (!shared) probe.close();
  if (reading.kind === 'missing') return entry('ledger', 'warn', null, `no ledger at ${paths.ledger} yet`);
  if (reading.kind === 'error') return entry('ledger', 'fail', null, `ledger unreadable: ${reading.problem}`);
  return entry('ledger', 'pass', { last_equity_point: reading.lastEquityTs });
}
