import { existsSync, statSync, unlinkSync } from 'node:fs';
import { writeFileAtomic } from '../fsx/atomic.ts';
import { log } from '../log.ts';
import type { DataPaths } from '../paths.ts';
import { currentUser } from './halt.ts';

/** Why a stopped engine stopped: a signal (SIGINT/SIGTERM) or the stop-request file. */
export const STOP_BY_SIGNAL = 'signal';
export const STOP_BY_REQUEST = 'stop_request';

/**
 * Ask the engine on this data root to stop the way SIGTERM does (finish the tick, status
 * `stopped`, exit 0). Windows has no SIGTERM, so the Windows stop script uses this.
 */
export function requestStop(paths: DataPaths, by: string = currentUser()): void {
  writeFileAtomic(paths.stopRequest, stopRequestContent(by));
}

/** What the request file says (who asked); its mtime says when, which is all the engine reads. */
export function stopRequestContent(by: string): string {
  return `${JSON.stringify({ stop_requested_by: by })}\n`;
}

export function stopRequestPending(paths: DataPaths): boolean {
  return existsSync(paths.stopRequest);
}

export type StopWatch = { signal: AbortSignal; poll(): boolean; close(): void };

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone: another reader honoured it, or the operator withdrew it
  }
}

/**
 * A stop signal that fires on `stop` (the process signals) or when the stop-request file appears.
 * The loop polls once per tick or batch; a 1 s timer also polls so a paced wait ends promptly.
 * A request older than this process was addressed to an engine that is gone, so it is dropped.
 */
export function watchStopRequest(paths: DataPaths, stop: AbortSignal, everyMs = 1000): StopWatch {
  const controller = new AbortController();
  const forward = () => controller.abort(STOP_BY_SIGNAL);
  if (stop.aborted) forward();
  else stop.addEventListener('abort', forward, { once: true });
  if (existsSync(paths.stopRequest) && statSync(paths.stopRequest).mtimeMs < performance.timeOrigin) {
    log.warn(`ignoring a stop request left from before this engine started (${paths.stopRequest}); removed`);
    removeQuietly(paths.stopRequest);
  }
  const poll = () => {
    if (controller.signal.aborted) return controller.signal.reason === STOP_BY_REQUEST;
    if (!existsSync(paths.stopRequest)) return false;
    removeQuietly(paths.stopRequest);
    log.info(`stop requested (${paths.stopRequest}): finishing the current tick`);
    controller.abort(STOP_BY_REQUEST);
    return true;
  };
  const timer = setInterval(poll, everyMs);
  timer.unref();
  return {
    signal: controller.signal,
    poll,
    close: () => {
      clearInterval(timer);
      stop.removeEventListener('abort', forward);
    },
  };
}

/** The heartbeat's `status_reason` for a run that ended because it was asked to. */
export function stopReason(signal: AbortSignal): string {
  return signal.reason === STOP_BY_REQUEST ? STOP_BY_REQUEST : STOP_BY_SIGNAL;
}
