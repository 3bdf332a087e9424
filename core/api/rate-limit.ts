import { LRUCache } from 'lru-cache';
import type { RateLimitBucket, RateLimitRule } from '../schema/api.ts';

export type RateDecision = {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch seconds when the caller's allowance is full again. */
  resetEpochS: number;
  /** Whole seconds to wait before the next request can pass (0 when allowed). */
  retryAfterS: number;
};

/**
 * Per-client, per-bucket limits with GCRA (a token bucket kept as one timestamp per key):
 * `limit` requests may come at once, then one per `window_s / limit`. The table is an LRU with a
 * fixed cap, so a flood of new addresses costs bounded memory; an evicted client simply starts fresh.
 */
export class RateLimiter {
  /** Theoretical arrival time (epoch ms) per `bucket|client`. */
  private readonly tat: LRUCache<string, number>;

  constructor(
    private readonly rules: Record<RateLimitBucket, RateLimitRule>,
    maxClients: number,
  ) {
    this.tat = new LRUCache<string, number>({ max: maxClients });
  }

  get trackedKeys(): number {
    return this.tat.size;
  }

  /** Would `take` allow this request now? (Nothing is spent.) */
  peek(bucket: RateLimitBucket, client: string, now = Date.now()): RateDecision {
    return this.decide(bucket, client, now, false);
  }

  take(bucket: RateLimitBucket, client: string, now = Date.now()): RateDecision {
    return this.decide(bucket, client, now, true);
  }

  private decide(bucket: RateLimitBucket, client: string, now: number, spend: boolean): RateDecision {
    const rule = this.rules[bucket];
    const windowMs = rule.window_s * 1000;
    const intervalMs = windowMs / rule.limit;
    const key = `${bucket}|${client}`;
    const tat = Math.max(this.tat.get(key) ?? now, now);
    const nextTat = tat + intervalMs;
    const allowAt = nextTat - windowMs;
    if (allowAt > now) {
      return {
        allowed: false,
        limit: rule.limit,
        remaining: 0,
        resetEpochS: Math.ceil(tat / 1000),
        retryAfterS: Math.max(1, Math.ceil((allowAt - now) / 1000)),
      };
    }
    if (spend) this.tat.set(key, nextTat);
    return {
      allowed: true,
      limit: rule.limit,
      remaining: Math.max(0, Math.floor((windowMs - (nextTat - now)) / intervalMs + 1e-9)),
      resetEpochS: Math.ceil(nextTat / 1000),
      retryAfterS: 0,
    };
  }
}

export function rateLimitHeaders(d: RateDecision): Record<string, string> {
  const headers: Record<string, string> = {
    'x-ratelimit-limit': String(d.limit),
    'x-ratelimit-remaining': String(d.remaining),
    'x-ratelimit-reset': String(d.resetEpochS),
  };
  if (!d.allowed) headers['retry-after'] = String(d.retryAfterS);
  return headers;
}
