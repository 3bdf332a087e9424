import type { ConsolaInstance } from 'consola';
import { runEmergencyStop } from '../control/emergency-stop.ts';
import { formatOperatorError, OperatorError } from '../errors.ts';
import { filesystemError } from '../fsx/path-fault.ts';
import type { DataPaths } from '../paths.ts';
import { DecisionsQuery, EmergencyStopBody, OrderRequestBody, type RateLimitBucket } from '../schema/api.ts';
import type { ApiConfig } from './config.ts';
import { readDecisionPage } from './decision-page.ts';
import { evaluateHealth } from './health.ts';
import { errorResponse, jsonResponse } from './http.ts';
import type { LedgerProbe } from './ledger-probe.ts';
import type { ApiMetrics } from './metrics.ts';
import type { OrderDesk } from './orders.ts';
import { queryObject, readJsonBody } from './validation.ts';

export type RouteContext = {
  req: Request;
  url: URL;
  requestId: string;
  client: string;
  log: ConsolaInstance;
  /** Hands the request to the WebSocket handler; false when it is not a valid upgrade. */
  upgrade: () => boolean;
};

export type Route = {
  method: 'GET' | 'POST';
  path: string;
  /** Which per-client rate limit applies. */
  bucket: RateLimitBucket;
  /** Open routes are the probes; everything that reveals positions or acts needs the key. */
  auth: boolean;
  handle: (ctx: RouteContext) => Response | Promise<Response> | undefined;
};

export type RouteDeps = {
  paths: DataPaths;
  config: ApiConfig;
  keyConfigured: boolean;
  metrics: ApiMetrics;
  orders: OrderDesk;
  ledger: LedgerProbe;
  startedAt: number;
  /** Seconds an emergency stop waits for a graceful engine exit before SIGKILL. */
  stopGraceS: number;
};

const HEALTH_TYPE = { 'content-type': 'application/health+json' };

export function buildRoutes(d: RouteDeps): Route[] {
  const health = () => evaluateHealth(d.paths, { ledger: d.ledger, maxAgeS: d.config.heartbeatMaxAgeS });
  return [
    {
      method: 'GET',
      path: '/health',
      bucket: 'health',
      auth: false,
      handle: () => {
        const { doc } = health();
        return jsonResponse(doc, doc.status === 'fail' ? 503 : 200, HEALTH_TYPE);
      },
    },
    {
      // Liveness checks only this process: an engine or exchange problem must not get the API restarted.
      method: 'GET',
      path: '/health/live',
      bucket: 'health',
      auth: false,
      handle: () =>
        jsonResponse(
          { status: 'pass', uptime_s: Math.round((Date.now() - d.startedAt) / 1000) },
          200,
          HEALTH_TYPE,
        ),
    },
    {
      method: 'GET',
      path: '/health/ready',
      bucket: 'health',
      auth: false,
      handle: () => {
        const { doc } = health();
        const reasons = [
          ...(d.keyConfigured ? [] : ['no API key configured: protected routes answer 503']),
          ...(doc.status === 'fail' ? (doc.notes ?? ['engine health is fail']) : []),
        ];
        const ready = reasons.length === 0;
        return jsonResponse(
          { status: ready ? 'pass' : 'fail', ...(ready ? {} : { notes: reasons }) },
          ready ? 200 : 503,
          HEALTH_TYPE,
        );
      },
    },
    {
      method: 'GET',
      path: '/metrics',
      bucket: 'metrics',
      auth: true,
      handle: async () => {
        const { contentType, body } = await d.metrics.render();
        return new Response(body, { headers: { 'content-type': contentType } });
      },
    },
    {
      method: 'GET',
      path: '/api/status',
      bucket: 'read',
      auth: true,
      handle: () => {
        const { doc, view } = evaluateHealth(d.paths, {
          ledger: d.ledger,
          maxAgeS: d.config.heartbeatMaxAgeS,
        });
        return jsonResponse({ ...view, health: doc.status });
      },
    },
    {
      method: 'GET',
      path: '/api/decisions',
      bucket: 'read',
      auth: true,
      handle: (ctx) => listDecisions(d, ctx),
    },
    {
      method: 'POST',
      path: '/api/orders',
      bucket: 'orders',
      auth: true,
      handle: async (ctx) => {
        const body = await readJsonBody(ctx.req, OrderRequestBody, d.config.maxBodyBytes);
        if (!body.ok) return body.response;
        const res = d.orders.submit(body.value, { httpRequestId: ctx.requestId, client: ctx.client });
        if (res.status === 202)
          ctx.log.info(
            `order request queued: ${body.value.side} ${body.value.quantity} ${body.value.symbol}`,
          );
        return res;
      },
    },
    {
      method: 'POST',
      path: '/api/emergency-stop',
      bucket: 'emergency_stop',
      auth: true,
      handle: (ctx) => stopTrading(d, ctx),
    },
    {
      method: 'GET',
      path: '/ws/decisions',
      bucket: 'stream',
      auth: true,
      handle: (ctx) =>
        ctx.upgrade()
          ? undefined
          : errorResponse(
              'websocket_upgrade_required',
              'this route speaks WebSocket: connect with a WebSocket client',
            ),
    },
  ];
}

function listDecisions(d: RouteDeps, ctx: RouteContext): Response {
  const q = queryObject(ctx.url, DecisionsQuery, ['limit', 'before']);
  if (!q.ok) return q.response;
  const { limit = 50, before, symbol, action, blocked_stage, since, until } = q.value;
  const page = readDecisionPage(d.paths.decisions, {
    limit,
    before: before ?? null,
    filter: {
      symbol,
      action,
      blocked_stage,
      sinceMs: since ? Date.parse(since) : undefined,
      untilMs: until ? Date.parse(until) : undefined,
    },
  });
  if (page === 'invalid_cursor') {
    return errorResponse(
      'invalid_cursor',
      '`before` is not the start of a line in the current decision log',
      {
        hint: 'use the next_before value of a previous page, or omit it for the newest page',
      },
    );
  }
  // Records are embedded as the log holds them (already JSON), not parsed and re-serialised.
  const meta = JSON.stringify({
    count: page.lines.length,
    limit,
    next_before: page.nextBefore,
    scan_limited: page.scanLimited,
    scanned_bytes: page.scannedBytes,
    log_bytes: page.fileBytes,
    malformed_lines: page.malformedLines,
  });
  return new Response(`{"items":[${page.lines.join(',')}],${meta.slice(1)}`, {
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

async function stopTrading(d: RouteDeps, ctx: RouteContext): Promise<Response> {
  const body = await readJsonBody(ctx.req, EmergencyStopBody, d.config.maxBodyBytes);
  if (!body.ok) return body.response;
  ctx.log.warn(`emergency stop requested through the API by ${ctx.client}: ${body.value.reason}`);
  let stopped: Awaited<ReturnType<typeof runEmergencyStop>>;
  try {
    stopped = await runEmergencyStop(d.paths, {
      reason: body.value.reason.trim(),
      by: `api:${ctx.client}`,
      graceMs: d.stopGraceS * 1000,
      killGraceMs: 5000,
    });
  } catch (caught) {
    // The data root refused the halt file (a directory in its place, a full disk, read-only):
    // the caller must learn that nothing is halted, and what to fix, not "internal error".
    const err = filesystemError(caught) ?? caught;
    if (!(err instanceof OperatorError)) throw caught;
    ctx.log.error(`emergency stop NOT set: ${formatOperatorError(err)}`);
    return errorResponse(
      'halt_not_written',
      `the halt flag was not written, nothing is halted: ${err.message}`,
      {
        ...(err.hint ? { hint: `${err.hint}; until then stop the engine by hand` } : {}),
      },
    );
  }
  const { evidence, file } = stopped;
  const result = { halted: true, status: evidence.status, checks: evidence.checks, evidence: file };
  if (evidence.status === 'fail') {
    return errorResponse('engine_still_running', 'the halt flag is set but the engine did not stop', {
      details: result,
      hint: 'see the checks; stop it by hand',
    });
  }
  return jsonResponse(result);
}
