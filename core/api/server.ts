import type { Server, ServerWebSocket } from 'bun';
import { configError } from '../errors.ts';
import { correlated, log } from '../log.ts';
import type { DataPaths } from '../paths.ts';
import { readStatus } from '../status.ts';
import { ApiKeyGuard } from './auth.ts';
import { type ApiConfig, loadApiConfig } from './config.ts';
import { DecisionStats } from './decision-stats.ts';
import { DecisionTail } from './decision-tail.ts';
import { clientKey, errorResponse, requestIdFor } from './http.ts';
import { LedgerProbe } from './ledger-probe.ts';
import { ApiMetrics } from './metrics.ts';
import { OrderDesk } from './orders.ts';
import { RateLimiter, rateLimitHeaders } from './rate-limit.ts';
import { buildRoutes, type Route } from './routes.ts';
import { DecisionStream, type StreamClient } from './stream.ts';

export type ApiServerOptions = {
  paths: DataPaths;
  config: ApiConfig;
  host: string;
  port: number;
  /** How often the decision tail stats the log when fs.watch is silent. */
  pollMs?: number;
  stopGraceS?: number;
};

export type ApiServer = { url: string; port: number; stop(): Promise<void> };

type SocketData = StreamClient['data'];

/**
 * Bun's own body cap answers with an empty 413, so it sits far above `max_body_bytes`: our check
 * answers first, in JSON, from the declared length or after reading at most the limit.
 */
const HARD_BODY_CAP = 1024 * 1024 * 1024;

/**
 * `atl serve`: one pass per request — route, rate limit, auth, handler — with the request id on
 * the response and on every log line of the request. The decision tail feeds both the live
 * stream and the /metrics counters.
 */
export async function startApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const { paths, config } = opts;
  const guard = new ApiKeyGuard(config.apiKey);
  const limiter = new RateLimiter(config.rateLimits, config.rateLimitMaxClients);
  const stats = new DecisionStats();
  const stream = new DecisionStream(config.wsMaxBufferedBytes);
  const tail = new DecisionTail(paths.decisions, {
    pollMs: opts.pollMs ?? 250,
    // a client that keeps up drains one slice before the next, so only a lagging one passes the bound
    liveBytesPerTurn: Math.max(4096, Math.floor(config.wsMaxBufferedBytes / 4)),
    onLine: (line, live) => {
      stats.observe(line);
      stream.onLine(line, live);
    },
  });
  const metrics = new ApiMetrics({
    status: () => readStatus(paths),
    decisions: stats,
    decisionLogBytesRead: () => tail.position,
    wsClients: () => stream.size,
    wsSent: () => stream.sent,
    wsDropped: () => stream.dropped,
    rateLimitKeys: () => limiter.trackedKeys,
  });
  const startedAt = Date.now();
  const ledger = new LedgerProbe(paths.ledger);
  const routes = buildRoutes({
    paths,
    config,
    keyConfigured: guard.configured,
    metrics,
    orders: new OrderDesk(paths),
    ledger,
    startedAt,
    stopGraceS: opts.stopGraceS ?? 15,
  });
  const byPath = new Map<string, Route[]>();
  for (const r of routes) byPath.set(r.path, [...(byPath.get(r.path) ?? []), r]);
  const routeList = routes.map((r) => `${r.method} ${r.path}`).join(', ');

  async function handle(req: Request, server: Server<SocketData>): Promise<Response | undefined> {
    const began = performance.now();
    const { id: requestId, replaced } = requestIdFor(req);
    const reqLog = correlated(requestId);
    const url = new URL(req.url);
    const client = clientKey(req, server.requestIP(req)?.address ?? null, config.trustProxy);
    const candidates = byPath.get(url.pathname);
    const route = candidates?.find((r) => r.method === req.method);
    let extraHeaders: Record<string, string> = {};
    let res: Response | undefined;
    if (!candidates) {
      res = errorResponse('not_found', `no route ${url.pathname}`, { hint: `routes: ${routeList}` });
    } else if (!route) {
      res = errorResponse('method_not_allowed', `${req.method} is not allowed on ${url.pathname}`, {
        headers: { allow: candidates.map((r) => r.method).join(', ') },
      });
    } else {
      const rate = limiter.take(route.bucket, client);
      extraHeaders = rateLimitHeaders(rate);
      if (!rate.allowed) {
        metrics.rateLimited.inc({ bucket: route.bucket });
        res = errorResponse(
          'rate_limited',
          `rate limit exceeded: ${rate.limit} requests per ${config.rateLimits[route.bucket].window_s}s on ${route.bucket} routes`,
          { hint: `retry after ${rate.retryAfterS}s` },
        );
      } else {
        // Wrong keys spend a per-address allowance of their own; once it is spent, protected routes
        // answer 429 without looking at the key, so guessing is bounded whatever routes it spreads over.
        const lockout = route.auth ? limiter.peek('auth_failures', client) : null;
        if (lockout && !lockout.allowed) {
          extraHeaders = rateLimitHeaders(lockout);
          metrics.rateLimited.inc({ bucket: 'auth_failures' });
          res = errorResponse(
            'rate_limited',
            `too many wrong API keys from this address: ${lockout.limit} per ${config.rateLimits.auth_failures.window_s}s`,
            { hint: `retry after ${lockout.retryAfterS}s with the right key` },
          );
        } else {
          res = (route.auth ? guard.check(req) : null) ?? undefined;
          if (res?.status === 403) limiter.take('auth_failures', client);
        }
        if (!res) {
          try {
            res = await route.handle({
              req,
              url,
              requestId,
              client,
              log: reqLog,
              upgrade: () =>
                server.upgrade(req, {
                  data: { requestId, client, log: reqLog },
                  headers: { 'x-request-id': requestId },
                }),
            });
          } catch (err) {
            reqLog.error(`${req.method} ${url.pathname} failed:`, err);
            res = errorResponse(
              'internal',
              'internal error; the server log has the details under this request id',
            );
          }
        }
      }
    }
    const routeLabel = route?.path ?? 'unmatched';
    const seconds = (performance.now() - began) / 1000;
    metrics.duration.observe({ route: routeLabel }, seconds);
    if (res === undefined) {
      metrics.requests.inc({ route: routeLabel, method: req.method, status: '101' });
      reqLog.info(`websocket ${url.pathname} opened by ${client}`);
      return undefined;
    }
    for (const [k, v] of Object.entries({
      ...extraHeaders,
      'x-request-id': requestId,
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
    })) {
      res.headers.set(k, v);
    }
    metrics.requests.inc({ route: routeLabel, method: req.method, status: String(res.status) });
    const line = `${req.method} ${url.pathname} ${res.status} ${(seconds * 1000).toFixed(1)}ms client=${client}${replaced ? ' (X-Request-ID replaced: not a safe token)' : ''}`;
    if (res.status === 500) reqLog.error(line);
    else if (res.status >= 400 || req.method !== 'GET') reqLog.info(line);
    else reqLog.debug(line);
    return res;
  }

  const server = Bun.serve<SocketData>({
    hostname: opts.host,
    port: opts.port,
    maxRequestBodySize: HARD_BODY_CAP,
    fetch: handle,
    error(err) {
      log.error('request failed outside its handler:', err);
      return errorResponse('internal', 'internal error');
    },
    websocket: {
      maxPayloadLength: 4096,
      backpressureLimit: config.wsMaxBufferedBytes * 2,
      closeOnBackpressureLimit: true,
      idleTimeout: 120,
      sendPings: true,
      open(ws: ServerWebSocket<SocketData>) {
        stream.add(ws);
        ws.send(
          JSON.stringify({
            type: 'hello',
            log: 'rl/shadow_decisions.jsonl',
            from_offset: tail.position,
            server_time: new Date().toISOString(),
          }),
        );
      },
      message() {
        // the stream is one-way; client messages (bounded by maxPayloadLength) are ignored
      },
      close(ws: ServerWebSocket<SocketData>, code: number) {
        stream.remove(ws);
        ws.data.log.info(`websocket closed by ${ws.data.client} (code ${code})`);
      },
    },
  });
  try {
    await tail.start();
  } catch (err) {
    // The decision stream cannot follow its log (a directory in its place): nothing listens half-started.
    await server.stop(true);
    ledger.close();
    throw err;
  }
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${server.port}`;
  log.info(
    `atl serve listening on ${url} (data root ${paths.root}; API key ${guard.configured ? `from ${config.keySource}` : 'NOT configured: protected routes answer 503'})`,
  );
  if (config.overriddenBuckets.length > 0) {
    log.warn(
      `rate limits changed by ${paths.apiConfig}: ${config.overriddenBuckets.map((b) => `${b}=${config.rateLimits[b].limit}/${config.rateLimits[b].window_s}s`).join(', ')}`,
    );
  }
  return {
    url,
    port: server.port ?? opts.port,
    async stop() {
      tail.stop();
      await server.stop(true);
      ledger.close();
    },
  };
}

/**
 * The `atl serve` entry point: load the configuration (a weak key stops here, exit 78), listen,
 * serve until `stop` fires, then close every connection.
 */
export async function serveApi(
  args: { paths: DataPaths; host: string; port: number },
  stop: AbortSignal,
  onListening: (server: ApiServer) => void,
): Promise<void> {
  const config = loadApiConfig(args.paths);
  let server: ApiServer;
  try {
    server = await startApiServer({ paths: args.paths, config, host: args.host, port: args.port });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // ENOENT and EINVAL: a --host that names no address (a typo, 999.1.1.1).
    if (
      code === 'EADDRINUSE' ||
      code === 'EADDRNOTAVAIL' ||
      code === 'EACCES' ||
      code === 'ENOENT' ||
      code === 'EINVAL'
    ) {
      throw configError(
        `cannot listen on ${args.host}:${args.port} (${code})`,
        'choose another --port, or a --host that is an address of this machine (127.0.0.1, ::1, 0.0.0.0)',
        err,
      );
    }
    throw err;
  }
  onListening(server);
  if (!stop.aborted) await new Promise((resolve) => stop.addEventListener('abort', resolve, { once: true }));
  await server.stop();
}
