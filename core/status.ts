import { readHalt } from './control/halt.ts';
import { checkIdentity, type IdentityCheck } from './control/process.ts';
import { readJsonFile } from './fsx/json-file.ts';
import type { DataPaths } from './paths.ts';
import type { Heartbeat } from './schema/heartbeat.ts';
import type { EngineState, Pidfile } from './schema/state.ts';

export type FileView<T> = { value: T | null; problem: string | null };

export type StatusView = {
  data_root: string;
  heartbeat: Heartbeat | null;
  state: EngineState | null;
  engine: { pidfile: Pidfile | null; process: IdentityCheck | 'no_pidfile'; heartbeat_age_s: number | null };
  halt: { halted: boolean; reason: string | null; by: string | null; at: string | null };
  problems: string[];
};

function view<T>(path: string, read: ReturnType<typeof readJsonFile>): FileView<T> {
  if (read.kind === 'ok') return { value: read.value as T, problem: null };
  if (read.kind === 'missing') return { value: null, problem: null };
  return { value: null, problem: `${path}: ${read.problem}` };
}

/** Everything `status` shows, read without touching the engine (safe while it runs). */
export function readStatus(paths: DataPaths, now = Date.now()): StatusView {
  const hb = view<Heartbeat>(paths.heartbeat, readJsonFile(paths.heartbeat, 'Heartbeat'));
  const st = view<EngineState>(paths.state, readJsonFile(paths.state, 'EngineState'));
  const pf = view<Pidfile>(paths.pidfile, readJsonFile(paths.pidfile, 'Pidfile'));
  const halt = readHalt(paths);
  const pid = pf.value;
  return {
    data_root: paths.root,
    heartbeat: hb.value,
    state: st.value,
    engine: {
      pidfile: pid,
      process: pid
        ? checkIdentity({ pid: pid.pid, processStart: pid.process_start, bootId: pid.boot_id })
        : 'no_pidfile',
      heartbeat_age_s: hb.value ? Math.round((now - Date.parse(hb.value.ts)) / 100) / 10 : null,
    },
    halt: halt.halted
      ? { halted: true, reason: halt.reason, by: halt.by, at: halt.at }
      : { halted: false, reason: null, by: null, at: null },
    problems: [hb.problem, st.problem, pf.problem].filter((p): p is string => p !== null),
  };
}
