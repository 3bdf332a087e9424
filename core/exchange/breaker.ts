import { BrokenCircuitError, ConsecutiveBreaker, circuitBreaker, handleWhen } from 'cockatiel';
import { type BreakerStateName, breakerStateName } from '../breaker-state.ts';
import { ExchangeFailure } from './errors.ts';

export type BreakerOptions = {
  /** Consecutive exchange-health failures that open the circuit. */
  failureThreshold: number;
  /** How long the circuit stays open before one trial call is let through (half-open). */
  cooldownMs: number;
};

/**
 * One circuit breaker per exchange: closed → (threshold consecutive failures) → open, calls
 * rejected without a request → after the cooldown one trial call (half-open) → closed on success,
 * open again on failure. Only failures that say the exchange is unhealthy count: a rate limit or
 * a refused order proves the exchange is there.
 */
export class ExchangeBreaker {
  private readonly policy;
  private lastReason: ExchangeFailure | null = null;

  constructor(opts: BreakerOptions) {
    this.policy = circuitBreaker(
      handleWhen((err) => err instanceof ExchangeFailure && err.countsAgainstExchange),
      { halfOpenAfter: opts.cooldownMs, breaker: new ConsecutiveBreaker(opts.failureThreshold) },
    );
  }

  get state(): BreakerStateName {
    return breakerStateName(this.policy.state);
  }

  /** Run `fn` through the breaker; an open circuit rejects with the failure that opened it. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await this.policy.execute(fn);
    } catch (err) {
      if (err instanceof BrokenCircuitError) {
        const last = this.lastReason;
        throw new ExchangeFailure(
          last?.kind ?? 'exchange_unavailable',
          last?.reason ?? 'exchange_unavailable',
          { retryable: false, circuitOpen: true },
        );
      }
      if (err instanceof ExchangeFailure && err.countsAgainstExchange) this.lastReason = err;
      throw err;
    }
  }
}
