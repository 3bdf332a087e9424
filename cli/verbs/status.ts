import { defineCommand } from 'citty';
import { LedgerProbe } from '../../core/api/ledger-probe.ts';
import { pct, price, quantity, signedMoney } from '../../core/evidence/human.ts';
import { exitCodeForStatus } from '../../core/exit-codes.ts';
import type { PositionState } from '../../core/schema/state.ts';
import { judgeStatus, readStatus, type StatusView } from '../../core/status.ts';
import { dataDirArg, jsonArg, pathsFromArgs, print, printError, printJson } from '../_shared.ts';

export default defineCommand({
  meta: { name: 'status', description: 'Show engine state and heartbeat (safe while the engine runs)' },
  args: { ...dataDirArg, ...jsonArg },
  run({ args }) {
    const paths = pathsFromArgs(args);
    const view = readStatus(paths);
    const probe = new LedgerProbe(paths.ledger);
    const verdict = judgeStatus(view, probe.read(), paths.ledger);
    probe.close();
    for (const p of verdict.problems) printError(`atl status: ${p.problem} — ${p.hint}\n`);
    if (args.json) printJson(view);
    else print(render(view));
    process.exitCode = exitCodeForStatus(verdict.status);
  },
});

function render(v: StatusView): string {
  if (!v.heartbeat && !v.state) {
    return `No engine state under ${v.data_root}. Start one with \`npx atl run\` (or pass --data-dir).`;
  }
  const lines = ['TRADING ENGINE STATUS', `  data root   ${v.data_root}`];
  const s = v.state;
  if (s) {
    const winRate =
      s.total_trades > 0 ? ` (win rate ${((s.winning_trades / s.total_trades) * 100).toFixed(1)}%)` : '';
    lines.push(
      `  mode        ${s.mode} (${s.status})`,
      `  equity      ${s.equity.toFixed(2)} (cash ${s.cash.toFixed(2)}, start ${s.initial_capital.toFixed(2)}, max drawdown ${(s.max_drawdown_pct * 100).toFixed(2)}%)`,
      `  trades      ${s.total_trades}${winRate}, realised P&L ${s.realized_pnl.toFixed(2)}`,
      ...(s.preservation && s.preservation.level !== 'normal'
        ? [
            `  risk        capital preservation ${s.preservation.level.toUpperCase()}${s.preservation.since ? ` since ${s.preservation.since}` : ''}${s.preservation.reason ? ` (${s.preservation.reason})` : ''}`,
          ]
        : []),
      ...Object.values(s.positions).map(describePosition),
    );
  }
  const h = v.heartbeat;
  if (h) {
    lines.push(
      `  heartbeat   ${h.ts} (${v.engine.heartbeat_age_s}s ago), pid ${h.pid}, status ${h.status}${h.status_reason ? ` (${h.status_reason})` : ''}`,
      `  feed        ${h.data_mode} ${h.symbols.join(', ')} ${h.timeframe}, tick ${h.seq}, last bar ${h.last_bar_ts ?? '—'}`,
      `  decisions   ${h.total_decisions_session} this session (paper-live ${h.paper_live_decisions_session})`,
    );
    const breakers = Object.entries(h.circuit_breakers);
    if (breakers.length > 0) {
      const open = breakers.filter(([, state]) => state !== 'closed');
      lines.push(
        `  breakers    ${open.length === 0 ? `all ${breakers.length} closed` : open.map(([name, state]) => `${name} ${state.toUpperCase()}`).join(', ')}`,
      );
    }
  }
  lines.push(`  engine      ${describeProcess(v)}`);
  if (v.halt.halted)
    lines.push(
      `  HALTED      ${v.halt.reason} (by ${v.halt.by ?? '?'} at ${v.halt.at ?? '?'}) — clear with \`npx atl emergency-stop --clear --approver NAME\``,
    );
  return lines.join('\n');
}

/** One line per open position: entry, last price, unrealised P&L (amount and share of entry), stop and target. */
function describePosition(p: PositionState): string {
  const entryValue = p.entry_price * p.quantity;
  const share = entryValue > 0 ? (p.unrealized_pnl / entryValue) * 100 : null;
  return `  position    ${p.symbol}: ${p.side} ${quantity(p.quantity)} @ ${price(p.entry_price)}, last ${price(p.last_price)}, unrealised ${signedMoney(p.unrealized_pnl)} (${pct(share, 2, true)}), stop ${price(p.stop_loss)}, target ${price(p.take_profit)}`;
}

function describeProcess(v: StatusView): string {
  const pf = v.engine.pidfile;
  switch (v.engine.process) {
    case 'no_pidfile':
      return 'not running (no pidfile)';
    case 'same':
      return `running (pid ${pf?.pid}, since ${pf?.started_at})`;
    case 'gone':
      return `not running (stale pidfile names pid ${pf?.pid})`;
    case 'reused':
      return `not running (pid ${pf?.pid} now belongs to another process)`;
    default:
      return `pid ${pf?.pid} (identity cannot be verified on this platform)`;
  }
}
