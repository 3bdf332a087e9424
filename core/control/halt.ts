import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeJsonAtomic } from '../fsx/atomic.ts';
import { keepDamagedCopy, readJsonFile } from '../fsx/json-file.ts';
import type { DataPaths } from '../paths.ts';
import type { SafetyState } from '../schema/state.ts';

export type HaltView =
  | { halted: false; state: SafetyState }
  | { halted: true; reason: string; by: string | null; at: string | null; state: SafetyState | null };

const EMPTY: SafetyState = {
  schema_version: '1.0.0',
  halted: false,
  reason: null,
  source: null,
  by: null,
  at: null,
  history: [],
};

/**
 * The persistent halt flag. An unreadable flag file counts as halted: when we cannot tell
 * whether an operator stopped trading, we do not trade.
 */
export function readHalt(paths: DataPaths): HaltView {
  const read = readJsonFile(paths.safety, 'SafetyState');
  if (read.kind === 'missing') return { halted: false, state: EMPTY };
  if (read.kind === 'invalid') {
    return {
      halted: true,
      reason: `safety_state_unreadable: ${read.problem}`,
      by: null,
      at: null,
      state: null,
    };
  }
  const s = read.value;
  return s.halted
    ? { halted: true, reason: s.reason ?? 'halted', by: s.by, at: s.at, state: s }
    : { halted: false, state: s };
}

/** Who is acting, for the halt history (Bun reports "unknown" when $USER is unset, as under cron). */
export function currentUser(): string {
  const fromEnv = process.env.USER ?? process.env.LOGNAME ?? process.env.USERNAME;
  if (fromEnv) return fromEnv;
  try {
    // node:os only here: loading it costs `status` (which reads the flag) ~1 ms of start-up.
    const { userInfo } = require('node:os') as typeof import('node:os');
    const name = userInfo().username;
    if (name && name !== 'unknown') return name;
  } catch {
    // fall through to the passwd lookup
  }
  const uid = process.getuid?.();
  if (uid !== undefined && existsSync('/etc/passwd')) {
    const entry = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.split(':')[2] === String(uid));
    if (entry) return entry.split(':')[0]!;
  }
  return uid !== undefined ? `uid:${uid}` : 'unknown';
}

/** Set the flag (idempotent: an existing halt keeps its first reason, the new request is in history). */
export function setHalt(
  paths: DataPaths,
  args: { reason: string; by?: string; source: string },
): SafetyState {
  const view = readHalt(paths);
  const base = view.state ?? EMPTY;
  const at = new Date().toISOString();
  const by = args.by ?? currentUser();
  const event = { action: 'halt' as const, at, by, reason: args.reason };
  const next: SafetyState =
    view.halted && view.state
      ? { ...base, history: [...base.history, event] }
      : {
          ...base,
          halted: true,
          reason: args.reason,
          source: args.source,
          by,
          at,
          history: [...base.history, event],
        };
  replaceHaltFile(paths, view, next);
  return next;
}

/**
 * Write the flag file. A damaged one (it did not read) is kept beside it first, as
 * `safety_state.json.damaged-<time>`: its halt history is the operator's record, not ours to drop.
 */
function replaceHaltFile(paths: DataPaths, view: HaltView, next: SafetyState): void {
  if (view.state === null) keepDamagedCopy(paths.safety);
  writeJsonAtomic(paths.safety, next);
}

export function clearHalt(paths: DataPaths, approver: string): SafetyState {
  const view = readHalt(paths);
  const base = view.state ?? EMPTY;
  const at = new Date().toISOString();
  const next: SafetyState = {
    ...base,
    halted: false,
    reason: null,
    source: null,
    by: approver,
    at,
    history: [
      ...base.history,
      { action: 'clear', at, by: approver, reason: view.halted ? view.reason : null },
    ],
  };
  replaceHaltFile(paths, view, next);
  return next;
}

/** Cheap change detector so a fast replay can poll the flag without parsing it every bar. */
export function haltFileStamp(paths: DataPaths): number {
  try {
    return statSync(paths.safety).mtimeMs;
  } catch {
    return 0;
  }
}
