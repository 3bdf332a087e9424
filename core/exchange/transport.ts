import { AsyncLocalStorage } from 'node:async_hooks';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { classifyTransportError, parseRetryAfter, type TransportObservation } from './errors.ts';

/** Name resolution, behind an interface so tests can script DNS without sending real queries. */
export interface Resolver {
  /** One address for `host`; throws an error with `code` ENOTFOUND / EAI_AGAIN when it cannot. */
  lookup(host: string): Promise<string>;
}

function notFound(host: string): Error {
  return Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
}

/** The host's resolver; names under `.invalid` fail at once without a query (RFC 6761 §6.4). */
export const systemResolver: Resolver = {
  async lookup(host: string): Promise<string> {
    if (isIP(host)) return host;
    if (host === 'invalid' || host.endsWith('.invalid')) throw notFound(host);
    return (await lookup(host)).address;
  },
};

const observations = new AsyncLocalStorage<TransportObservation>();

/** Run one exchange call and return what its HTTP requests looked like (status, Retry-After, failure). */
export async function observed<T>(
  fn: () => Promise<T>,
): Promise<{ value: T } | { error: unknown; seen: TransportObservation }> {
  const seen: TransportObservation = { status: null, retryAfterMs: null, failure: null };
  try {
    return { value: await observations.run(seen, fn) };
  } catch (error) {
    return { error, seen };
  }
}

export type TransportOptions = {
  resolver: Resolver;
  timeoutMs: number;
  /**
   * The shared "no request before" time (epoch ms) after a 429/418. Checked here, when the request
   * is about to leave, because ccxt's throttler may hold a request that was admitted before the 429.
   */
  notBefore?: () => number;
};

type FetchLike = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/**
 * The fetch ccxt uses for one exchange: the whole request (DNS, connect, headers and body) is
 * bounded by one timeout, connections are kept alive by Bun's pool, and each request records its
 * status, `Retry-After` and transport failure where the caller can classify them precisely.
 */
export function createTransport(opts: TransportOptions): FetchLike {
  return async (input, init) => {
    const seen = observations.getStore();
    const url = new URL(input instanceof Request ? input.url : String(input));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const timeout = AbortSignal.timeout(opts.timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
    const held = (opts.notBefore?.() ?? 0) - Date.now();
    if (held > 0) {
      // Not sent: the caller waits out the window (retryAfterMs) and tries again if it may.
      if (seen) {
        seen.retryAfterMs = held;
        seen.failure = { kind: 'rate_limited', reason: 'rate_limited' };
      }
      throw new TypeError(`${url.origin}: held back, rate-limit window open for ${held} ms more`);
    }
    try {
      const address = await raceAbort(opts.resolver.lookup(host), signal);
      const headers = new Headers(init?.headers);
      // Plain HTTP goes to the address we resolved (so a scripted resolver is honoured); TLS keeps
      // the name for certificate checks and lets the runtime resolve it the same way.
      if (url.protocol === 'http:' && address !== host) {
        headers.set('host', url.host);
        url.hostname = isIP(address) === 6 ? `[${address}]` : address;
      }
      const res = await fetch(url, { ...init, headers, signal, keepalive: true });
      const body = await res.text();
      if (seen) {
        seen.status = res.status;
        seen.retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      }
      if (res.ok && body !== '' && !isJson(body)) {
        if (seen) seen.failure = { kind: 'bad_response', reason: 'bad_response' };
        throw new TypeError(
          `${url.pathname}: ${res.status} with a body that is not JSON (${body.length} bytes)`,
        );
      }
      // The body is already decoded text: its wire encoding and length no longer apply.
      const replyHeaders = new Headers(res.headers);
      replyHeaders.delete('content-encoding');
      replyHeaders.delete('content-length');
      return new Response(body, { status: res.status, statusText: res.statusText, headers: replyHeaders });
    } catch (err) {
      if (seen && !seen.failure) seen.failure = classifyTransportError(err, host, signal.aborted);
      throw err instanceof TypeError
        ? err
        : new TypeError(`${url.origin}: ${(err as Error).message}`, { cause: err });
    }
  };
}

function isJson(body: string): boolean {
  try {
    JSON.parse(body);
    return true;
  } catch {
    return false;
  }
}

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
