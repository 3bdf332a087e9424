/**
 * The exchange failure taxonomy: every way a market-data or order call can fail becomes one
 * reason string that lands verbatim in a decision record (`block_reason`) or a doctor check.
 */

export type FailureKind =
  | 'dns_failure'
  | 'connection_refused'
  | 'timeout'
  | 'rate_limited'
  | 'exchange_unavailable'
  | 'bad_response'
  | 'stale_data'
  | 'insufficient_data'
  | 'rejected';

/** What the transport saw for one HTTP request, recorded before ccxt wraps it into its own error. */
export type TransportObservation = {
  status: number | null;
  retryAfterMs: number | null;
  /** Set when the request never produced a usable response (DNS, connect, timeout, unparsable body). */
  failure: { kind: FailureKind; reason: string } | null;
};

export class ExchangeFailure extends Error {
  constructor(
    readonly kind: FailureKind,
    /** The record's reason: `dns_failure:api.binance.com`, `rate_limited`, `stale_data:95`… */
    readonly reason: string,
    readonly opts: {
      /** Worth another attempt (network-level trouble), as opposed to a refusal or a bad symbol. */
      retryable: boolean;
      retryAfterMs?: number | null;
      /** The HTTP status behind the failure, when there was one. */
      status?: number | null;
      /** Rejected without a request because the exchange's circuit breaker is open. */
      circuitOpen?: boolean;
      cause?: unknown;
    },
  ) {
    super(`${reason}${opts.circuitOpen ? ' (circuit open)' : ''}`, { cause: opts.cause });
    this.name = 'ExchangeFailure';
  }

  get retryable(): boolean {
    return this.opts.retryable;
  }

  get retryAfterMs(): number | null {
    return this.opts.retryAfterMs ?? null;
  }

  /** Failures that say the exchange is unhealthy for everyone (they move the circuit breaker). */
  get countsAgainstExchange(): boolean {
    return (
      this.kind === 'dns_failure' ||
      this.kind === 'connection_refused' ||
      this.kind === 'timeout' ||
      this.kind === 'exchange_unavailable' ||
      this.kind === 'bad_response'
    );
  }
}

/** `Retry-After` in seconds or as an HTTP date; null when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs = Date.now()): number | null {
  if (value === null || value.trim() === '') return null;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - nowMs) : null;
}

/** The transport error's code (Bun and Node put it on `code`, sometimes on `cause`). */
function errnoCode(err: unknown): string | null {
  const e = err as { code?: unknown; cause?: { code?: unknown } } | null;
  if (typeof e?.code === 'string') return e.code;
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  return null;
}

/** Classify a low-level fetch error (before ccxt sees it). */
export function classifyTransportError(
  err: unknown,
  host: string,
  timedOut: boolean,
): { kind: FailureKind; reason: string } {
  if (timedOut) return { kind: 'timeout', reason: 'timeout' };
  const code = errnoCode(err);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EAI_NONAME' || code === 'DNSError')
    return { kind: 'dns_failure', reason: `dns_failure:${host}` };
  if (code === 'ECONNREFUSED' || code === 'ConnectionRefused')
    return { kind: 'connection_refused', reason: 'connection_refused' };
  if (code === 'ETIMEDOUT' || code === 'UND_ERR_CONNECT_TIMEOUT' || (err as Error)?.name === 'TimeoutError')
    return { kind: 'timeout', reason: 'timeout' };
  return { kind: 'exchange_unavailable', reason: 'exchange_unavailable' };
}

/** The ccxt class names an error descends from (ccxt's hierarchy: errorHierarchy.js). */
function ccxtLineage(err: unknown): Set<string> {
  const names = new Set<string>();
  for (
    let p = err ? Object.getPrototypeOf(err) : null;
    p && p !== Object.prototype;
    p = Object.getPrototypeOf(p)
  ) {
    names.add((p.constructor as { name: string }).name);
  }
  return names;
}

/**
 * One failure for a failed call: what the transport observed wins (it knows the host, the status
 * and Retry-After), then ccxt's class (retryable NetworkError vs. a refusal such as BadSymbol).
 */
export function classifyCallError(err: unknown, seen: TransportObservation | null): ExchangeFailure {
  if (err instanceof ExchangeFailure) return err;
  const retryAfterMs = seen?.retryAfterMs ?? null;
  if (seen?.failure)
    return new ExchangeFailure(seen.failure.kind, seen.failure.reason, {
      retryable: true,
      retryAfterMs,
      cause: err,
    });
  const status = seen?.status ?? null;
  if (status === 429 || status === 418)
    return new ExchangeFailure('rate_limited', 'rate_limited', {
      retryable: true,
      retryAfterMs,
      status,
      cause: err,
    });
  if (status !== null && status >= 500)
    return new ExchangeFailure('exchange_unavailable', 'exchange_unavailable', {
      retryable: true,
      retryAfterMs,
      status,
      cause: err,
    });
  const lineage = ccxtLineage(err);
  if (lineage.has('RateLimitExceeded') || lineage.has('DDoSProtection'))
    return new ExchangeFailure('rate_limited', 'rate_limited', { retryable: true, retryAfterMs, cause: err });
  if (lineage.has('RequestTimeout'))
    return new ExchangeFailure('timeout', 'timeout', { retryable: true, cause: err });
  if (lineage.has('BadResponse'))
    return new ExchangeFailure('bad_response', 'bad_response', { retryable: true, cause: err });
  if (lineage.has('NetworkError'))
    return new ExchangeFailure('exchange_unavailable', 'exchange_unavailable', {
      retryable: true,
      cause: err,
    });
  const name = (err as Error)?.constructor?.name ?? 'Error';
  return new ExchangeFailure('rejected', `rejected:${name}`, { retryable: false, cause: err });
}
