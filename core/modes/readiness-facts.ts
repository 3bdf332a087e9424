import { accessSync, constants, existsSync } from 'node:fs';
import { emergencyStop } from '../control/emergency-stop.ts';
import { readHalt } from '../control/halt.ts';
import { readPause } from '../control/pause.ts';
import { OperatorError } from '../errors.ts';
import { EXCHANGE_DEFAULTS, exchangeClient, parseBaseUrl } from '../exchange/client.ts';
import { ExchangeFailure } from '../exchange/errors.ts';
import { readJsonFile } from '../fsx/json-file.ts';
import type { DataPaths } from '../paths.ts';
import { readDecisionLog } from '../records/reader.ts';
import type { ModeName } from '../schema/common.ts';
import { Heartbeat } from '../schema/heartbeat.ts';
import { SafetyState } from '../schema/state.ts';
import { type ExchangeProbe, LIVE_LIMIT_BOUNDS, type ReadinessFacts } from './readiness.ts';

const REAL_DATA = new Set(['PAPER_LIVE', 'TESTNET', 'LIVE']);

/**
 * Count decisions, real-data decisions and critical/lockdown levels in the decision log, every
 * line through the one reader (v1 and v2 alike). Only complete lines count; an unterminated
 * final fragment is reported, not read.
 */
export function scanDecisionLog(path: string): ReadinessFacts['decisions'] {
  const out = {
    present: existsSync(path),
    total: 0,
    realData: 0,
    critical: 0,
    lockdown: 0,
    tornTailBytes: 0,
  };
  if (!out.present) return out;
  const scan = readDecisionLog(path, (r) => {
    out.total++;
    if (REAL_DATA.has(r.data_mode)) out.realData++;
    if (r.preservation_level === 'critical') out.critical++;
    else if (r.preservation_level === 'lockdown') out.lockdown++;
  });
  out.tornTailBytes = scan.tornTail?.bytes ?? 0;
  return out;
}

/** Env names of the exchange keys a mode trades with (the same names `atl run` reads). */
export function keyVars(exchange: string, target: ModeName): [string, string] {
  const prefix = `${exchange.toUpperCase()}${target === 'testnet' ? '_TESTNET' : ''}`;
  return [`${prefix}_API_KEY`, `${prefix}_API_SECRET`];
}

/**
 * Reach the exchange through the engine's client: an authenticated balance read when keys are
 * present (proving them), else the public server time. Sandbox for testnet.
 */
export async function probeExchange(
  exchange: string,
  url: string | null,
  target: ModeName,
  env: NodeJS.ProcessEnv,
  timeoutMs = 2 * EXCHANGE_DEFAULTS.timeoutMs,
): Promise<ExchangeProbe> {
  const [keyVar, secretVar] = keyVars(exchange, target);
  const credentials =
    env[keyVar] && env[secretVar] ? { apiKey: env[keyVar]!, secret: env[secretVar]! } : null;
  try {
    if (url) parseBaseUrl(url);
    const client = await exchangeClient({
      exchangeId: exchange,
      url,
      sandbox: target === 'testnet',
      credentials,
      timeoutMs: Math.max(100, Math.round(timeoutMs / 2)),
      maxAttempts: 2,
      breaker: EXCHANGE_DEFAULTS.breaker,
    });
    const t0 = Date.now();
    const deadline = t0 + timeoutMs;
    if (credentials) await client.call((ex) => ex.fetchBalance(), { deadline, idempotent: true });
    else await client.serverClock(deadline);
    return {
      status: 'reachable',
      exchange: client.label,
      latencyMs: Date.now() - t0,
      authenticated: credentials !== null,
    };
  } catch (err) {
    if (err instanceof ExchangeFailure)
      return {
        status: 'unreachable',
        exchange,
        reason: err.message.startsWith(err.kind) ? err.message : `${err.kind}: ${err.message}`,
      };
    // A bad flag or configuration (an unknown exchange id) is the operator's to fix, not the exchange's state.
    if (err instanceof OperatorError && (err.exitCode === 64 || err.exitCode === 78)) throw err;
    return { status: 'unknown', exchange, reason: err instanceof Error ? err.message : String(err) };
  }
}

export type ReadinessSources = {
  exchange: string;
  exchangeUrl: string | null;
  env: NodeJS.ProcessEnv;
  currentLevel: string | null;
  /** The exchange probe's whole budget, ms (each request gets at most half of it). */
  timeoutMs: number;
};

/** Gather what the readiness gates judge: the decision log, control flags, heartbeat, env, the exchange. */
export async function gatherReadinessFacts(
  paths: DataPaths,
  target: ModeName,
  src: ReadinessSources,
): Promise<ReadinessFacts> {
  const hb = readJsonFile(paths.heartbeat, Heartbeat);
  const halt = readHalt(paths);
  const safety = readJsonFile(paths.safety, SafetyState);
  const vars = keyVars(src.exchange, target);
  let rootWritable = false;
  try {
    accessSync(paths.root, constants.W_OK);
    rootWritable = true;
  } catch {
    rootWritable = false;
  }
  return {
    decisions: scanDecisionLog(paths.decisions),
    currentLevel: src.currentLevel,
    pause: readPause(paths)?.reason ?? null,
    halt: halt.halted ? halt.reason : null,
    heartbeat:
      hb.kind === 'ok'
        ? { ts: hb.value.ts, problem: null }
        : { ts: null, problem: hb.kind === 'invalid' ? hb.problem : null },
    apiKeys: [{ broker: src.exchange, present: vars.every((v) => Boolean(src.env[v]?.trim())), vars }],
    exchange: await probeExchange(
      src.exchange,
      src.exchangeUrl ?? src.env.ATL_EXCHANGE_URL ?? null,
      target,
      src.env,
      src.timeoutMs,
    ),
    liveEnv: Object.fromEntries(LIVE_LIMIT_BOUNDS.map((b) => [b.env, src.env[b.env]])),
    emergencyPath: {
      safetyProblem: safety.kind === 'invalid' ? `safety_state.json unreadable: ${safety.problem}` : null,
      rootWritable,
      drills: safety.kind === 'ok' ? safety.value.history.filter((e) => e.action === 'clear').length : 0,
      entryPoint: typeof emergencyStop === 'function',
    },
  };
}
