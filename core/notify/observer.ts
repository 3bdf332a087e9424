import { hostname } from 'node:os';
import type { Draft } from '../engine/pipeline.ts';
import type { DecisionObserver } from '../engine/stages.ts';
import type { NotifyEvent } from '../schema/notify.ts';
import type { WebhookNotifier } from './webhook.ts';

/**
 * Turns decisions into notifications: every fill, a halt (once per halt reason) and each change of
 * the capital-preservation level. It only hands events to the notifier's queue, never waits on it.
 */
export class NotifyObserver implements DecisionObserver {
  private level: string | null | undefined;
  private haltReason: string | null = null;
  private readonly host = hostname();

  constructor(private readonly notifier: WebhookNotifier) {}

  onDecision(d: Draft): void {
    const base = {
      schema_version: '1.0.0' as const,
      ts: new Date().toISOString(),
      host: this.host,
      mode: d.mode,
      symbol: d.symbol,
      decision_id: d.decision_id,
      bar_ts: d.bar_ts,
    };
    const events: NotifyEvent[] = [];
    d.execution?.fills.forEach((fill, i) => {
      events.push({ ...base, id: `${d.decision_id}:fill:${i}`, event: 'fill', fill });
    });
    const halt = d.blocked_stage === 'halt' ? (d.block_reason ?? 'halted') : null;
    if (halt && halt !== this.haltReason)
      events.push({
        ...base,
        id: `${d.decision_id}:halt`,
        event: 'halt',
        reason: halt.replace(/^halted:/, ''),
      });
    this.haltReason = halt ?? this.haltReason;
    const level = d.preservation_level;
    // The first decision only sets the baseline; a restart at a level is not a change.
    if (this.level !== undefined && level !== null && level !== this.level)
      events.push({
        ...base,
        id: `${d.decision_id}:preservation`,
        event: 'preservation',
        from: this.level,
        to: level,
      });
    this.level = level;
    for (const e of events) this.notifier.send(e);
  }

  close(): void {
    void this.notifier.close();
  }
}
