import type { TailedLine } from './decision-tail.ts';

/** More distinct label values than this fold into `other`: a bad log must not explode /metrics. */
const MAX_LABEL_VALUES = 64;

function bump(map: Map<string, number>, key: string): void {
  const k = map.has(key) || map.size < MAX_LABEL_VALUES ? key : 'other';
  map.set(k, (map.get(k) ?? 0) + 1);
}

/**
 * Counters over every decision line the tail has seen (the log as it was at start-up, then each
 * append): decisions by action, blocks by stage, data-fetch failures by reason class, and the
 * latest market-data age per symbol. Monotonic for the server's lifetime, as Prometheus counters are.
 */
export class DecisionStats {
  readonly byAction = new Map<string, number>();
  readonly blocksByStage = new Map<string, number>();
  /** `data_fetch` block reasons without their detail (`dns_failure:api.binance.com` → `dns_failure`). */
  readonly dataFetchFailures = new Map<string, number>();
  readonly dataAgeBySymbol = new Map<string, number>();
  records = 0;
  malformed = 0;

  observe(line: TailedLine): void {
    const r = line.record;
    if (!r) {
      this.malformed++;
      return;
    }
    this.records++;
    bump(this.byAction, r.action);
    if (r.blocked_stage) {
      bump(this.blocksByStage, r.blocked_stage);
      if (r.blocked_stage === 'data_fetch')
        bump(this.dataFetchFailures, (r.block_reason ?? 'unknown').split(':')[0] || 'unknown');
    }
    const age = r.market?.data_age_s;
    if (
      typeof age === 'number' &&
      Number.isFinite(age) &&
      (this.dataAgeBySymbol.has(r.symbol) || this.dataAgeBySymbol.size < MAX_LABEL_VALUES)
    ) {
      this.dataAgeBySymbol.set(r.symbol, age);
    }
  }
}
