import { CircuitState } from 'cockatiel';

/** A circuit breaker's state as the heartbeat's `circuit_breakers` names it. */
export type BreakerStateName = 'closed' | 'open' | 'half_open';

const STATE_NAMES: Record<CircuitState, BreakerStateName> = {
  [CircuitState.Closed]: 'closed',
  [CircuitState.Open]: 'open',
  [CircuitState.HalfOpen]: 'half_open',
  [CircuitState.Isolated]: 'open',
};

export const breakerStateName = (state: CircuitState): BreakerStateName => STATE_NAMES[state];

/** Heartbeat key of a model runner's breaker: `model:<id>` (the exchange's is its exchange id). */
export const MODEL_BREAKER_PREFIX = 'model:';
