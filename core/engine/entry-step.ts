import type { PaperBroker } from '../broker/paper.ts';
import { r6OrNull } from '../round.ts';
import type { ActionName } from '../schema/common.ts';
import type { Fill, GateStage } from '../schema/decision.ts';
import { pass } from '../signals/gate-values.ts';
import type { Signal } from '../signals/rules.ts';
import type { EntryGuard, StageContext } from './stages.ts';

/** Position → entry guard → execution, for a bar whose signal survived the gates. */
export function enterOnSignal(
  p: { symbol: string; allowShorting: boolean; entry: EntryGuard },
  signal: Signal,
  ctx: StageContext,
  broker: PaperBroker,
  gates: GateStage[],
  block: (g: GateStage) => void,
  setBlocked: (g: GateStage) => void,
  fills: Fill[],
): { action: ActionName; entry: ReturnType<EntryGuard['evaluate']> | null } {
  const { portfolio, bar, barIso, decisionId: id } = ctx;
  const pos = portfolio.positions.get(p.symbol);
  const wantLong = signal.action === 'buy';
  if (pos && (pos.side === 'long') === wantLong) {
    block({
      stage: 'position',
      verdict: 'block',
      reason: 'position_already_open',
      observed: { side: pos.side },
      thresholds: null,
    });
    return { action: 'hold', entry: null };
  }
  if (pos) {
    gates.push(pass('position', 'close_opposite', { side: pos.side }));
    const f = broker.close({
      symbol: p.symbol,
      price: bar.close,
      ts: barIso,
      decisionId: id,
      reason: 'signal_reverse',
    });
    if (f) fills.push(f);
    return { action: pos.side === 'long' ? 'sell' : 'cover', entry: null };
  }
  if (!wantLong && !p.allowShorting) {
    block({
      stage: 'position',
      verdict: 'block',
      reason: 'shorting_disabled',
      observed: null,
      thresholds: null,
    });
    return { action: 'hold', entry: null };
  }
  gates.push(pass('position', 'open'));
  const entry = p.entry.evaluate(ctx, signal);
  gates.push(...entry.gates);
  if (entry.blocked || entry.notional === null) {
    if (entry.blocked) setBlocked(entry.blocked);
    return { action: 'hold', entry };
  }
  const fill = broker.open({
    symbol: p.symbol,
    side: wantLong ? 'long' : 'short',
    quantity: entry.notional / bar.close,
    price: bar.close,
    ts: barIso,
    decisionId: id,
    stopPct: signal.stopPct,
    takeProfitPct: signal.takeProfitPct,
    reason: `signal_${signal.source}`,
  });
  fills.push(fill);
  gates.push(pass('execution', 'filled', { notional: r6OrNull(entry.notional), price: fill.price }));
  return { action: wantLong ? 'buy' : 'short', entry };
}
