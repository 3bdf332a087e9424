import type { Found, WhyResult } from '../core/audit/find-decision.ts';
import type { GateStage } from '../core/schema/decision.ts';

const num = (v: unknown) =>
  typeof v === 'number' ? (Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(6)))) : String(v);
const values = (v: Record<string, unknown> | null) =>
  v
    ? Object.entries(v)
        .map(([k, x]) => `${k} ${x === null ? '—' : num(x)}`)
        .join(', ')
    : '';
const pct = (r: number | null) => (r === null ? '—' : `${r >= 0 ? '+' : ''}${(r * 100).toFixed(2)}%`);

function stageLine(s: GateStage, width: number): string {
  const parts = [
    s.reason ?? '',
    s.observed ? `observed ${values(s.observed)}` : '',
    s.thresholds ? `thresholds ${values(s.thresholds)}` : '',
  ];
  return `  ${s.stage.padEnd(width)}  ${s.verdict.toUpperCase().padEnd(5)}  ${parts.filter(Boolean).join('; ')}`.trimEnd();
}

function verdict(f: Found): string {
  const r = f.record;
  if (r.blocked_stage)
    return `BLOCKED at ${r.blocked_stage}: ${r.block_reason ?? 'no reason recorded'} → ${r.action}`;
  const fills = r.execution?.fills ?? [];
  if (fills.length === 0) return `no trade → ${r.action} (confidence ${num(r.confidence)})`;
  return `EXECUTED ${fills
    .map(
      (x) => `${x.side} ${num(x.quantity)} @ ${num(x.price)} (${x.intent}, ${x.reason}, fee ${num(x.fee)})`,
    )
    .join(' + ')}`;
}

function afterwards(f: Found): string[] {
  const lines: string[] = [];
  const fr = f.forward;
  if (fr)
    lines.push(
      `  forward returns from ${num(fr.entry_price)}: 1 bar ${pct(fr.forward_returns['1'])}, 5 bars ${pct(fr.forward_returns['5'])}, 20 bars ${pct(fr.forward_returns['20'])}${fr.complete ? '' : ' (run stopped before the 20-bar horizon)'}`,
    );
  for (const t of f.trades) {
    const role = t.decision_id === f.record.decision_id ? 'opened here' : 'closed here';
    lines.push(
      `  trade ${role}: ${t.side} ${num(t.quantity)} ${t.entry_ts} → ${t.exit_ts} (${t.exit_reason}), P&L ${num(t.pnl)} (${pct(t.pnl_pct)})`,
    );
  }
  return lines.length > 0
    ? lines
    : ['  no outcome recorded yet (forward returns are written once 20 more bars have closed)'];
}

/** One decision for a person: what was seen, each stage's verdict, the models, the advisor, what followed. */
export function renderDecision(f: Found): string {
  const r = f.record;
  const m = r.market;
  const width = Math.max(...r.gate_trace.map((s) => s.stage.length));
  const advisor = r.rl_recommendation as Record<string, unknown> | null;
  const idWidth = Math.max(0, ...r.model_trace.map((t) => t.model_id.length));
  return [
    `${r.symbol} ${r.timeframe} bar closing ${r.bar_ts} — ${r.decision_id} (log line ${f.line})`,
    `  ${r.mode} (${r.data_mode}${r.source.synthetic ? ', synthetic candles' : ''}), price ${m.price === null ? '—' : num(m.price)}, regime ${m.regime ?? '—'}, volatility ${m.volatility === null ? '—' : num(m.volatility)}, decided ${r.ts}`,
    `  ${verdict(f)}`,
    'Stages',
    ...r.gate_trace.map((s) => stageLine(s, width)),
    'Models',
    ...(r.model_trace.length === 0
      ? ['  none ran']
      : r.model_trace.map((t) =>
          t.status === 'used' && t.output
            ? `  ${t.model_id.padEnd(idWidth)}  ${t.output.action} ${num(t.output.confidence)}${t.output.probabilities ? ` (p ${t.output.probabilities.map(num).join(' / ')})` : ''}`
            : `  ${t.model_id.padEnd(idWidth)}  skipped (${t.skip_reason ?? 'no reason'})`,
        )),
    'Signal',
    `  ${r.signal ? `${r.signal.action} ${num(r.signal.confidence)} from ${r.signal.source}` : 'none'}; final ${r.action}, confidence ${num(r.confidence)}`,
    'Shadow advisor (logged only, never executed)',
    advisor
      ? `  would ${String(advisor.action ?? '—')} (confidence ${num(advisor.confidence ?? '—')}, learner ${String(advisor.learner ?? '—')}, agent ${String(advisor.primary_agent ?? '—')})`
      : '  not consulted for this decision',
    'Afterwards',
    ...afterwards(f),
  ].join('\n');
}

/** The whole answer: every decision at the bar, or where the nearest ones are. */
export function renderWhy(w: WhyResult): string {
  if (w.found.length > 0) return w.found.map(renderDecision).join('\n\n');
  if (!w.symbols.includes(w.symbol))
    return `no decisions for ${w.symbol} in ${w.log}${w.symbols.length > 0 ? `; it holds ${w.symbols.join(', ')}` : ''}`;
  const near = w.nearest.map((n) => `${n.bar_ts} (line ${n.line})`).join(' and ');
  return `no ${w.symbol} decision at bar ${w.bar_ts}; the nearest: ${near} — bar times are candle closes, UTC`;
}
