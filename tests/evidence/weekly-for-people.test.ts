import { describe, expect, it } from 'bun:test';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OUTCOME_COLOURS } from '../../reports/charts.ts';
import { atl, tempDir } from '../support/cli.ts';

const END = '2026-05-07';

describe('report-weekly for people (a losing synthetic backtest week)', () => {
  it('rounds, names units, says insufficient for a week-long Sharpe, names the cost share, and marks only merits ✅', async () => {
    using dir = tempDir();
    expect((await atl(['run', '--max-bars', '600', '--data-dir', dir.path])).code).toBe(0);
    const r = await atl(['report-weekly', '--week', '1', '--end', END, '--json', '--data-dir', dir.path]);
    const evidence = JSON.parse(r.stdout);
    const d = evidence.details;
    const md = readFileSync(join(dir.path, 'reports', `weekly_shadow_summary_${END}.md`), 'utf8');

    // JSON keeps full precision and the sample length; the text refuses to annualise a week.
    expect(d.performance.ratios_sufficient).toBe(false);
    expect(d.performance.ratio_sample_days).toBeLessThan(30);
    expect(md).toMatch(/\| insufficient \(\d+\.\d of 30 days\) \|/);
    // The cost share is costs / gross turnover, named so, and the turnover is the ledger's fill notional.
    expect(d.costs.cost_pct_of_turnover).toBeCloseTo((d.costs.total / d.costs.gross_turnover) * 100, 3);
    expect(d.costs.cost_pct_of_gross_pnl).toBeUndefined();
    expect(md).toContain('Cost share of gross turnover (costs / notional of every fill');
    // Units on every column header of the performance and edge tables.
    for (const header of md.split('\n').filter((l) => /^\| (Sharpe|Symbol|Regime)/.test(l)))
      for (const col of header
        .split('|')
        .map((c) => c.trim())
        .filter(Boolean)
        .slice(1))
        expect(`${col}: ${/\(.+\)|Edge\+/.test(col)}`).toBe(`${col}: true`);
    // No long raw floats in the text for people.
    expect(md).not.toMatch(/\d\.\d{5,}/);
    // A losing week is not a ✅.
    expect(d.performance.trades.net_pnl).toBeLessThan(0);
    const perf = evidence.checks.find((c: { id: string }) => c.id === 'ledger:performance');
    expect(perf.status).toBe('warn');
    expect(md).toMatch(/- ⚠️ `ledger:performance` \d+ trades closed, net P&L -[\d,]+\.\d\d \(quote\)/);
    expect(md).not.toMatch(/✅ `ledger:performance`/);
  }, 60_000);

  it('draws both charts over the same UTC window, with fixed outcome colours, executed counts, a starting-capital line and a SYNTHETIC mark', async () => {
    using dir = tempDir();
    expect((await atl(['run', '--max-bars', '600', '--data-dir', dir.path])).code).toBe(0);
    expect((await atl(['report-weekly', '--week', '1', '--end', END, '--data-dir', dir.path])).code).not.toBe(
      64,
    );
    const svg = (name: string) =>
      readFileSync(join(dir.path, 'reports', `weekly_${name}_${END}.svg`), 'utf8');
    const equity = svg('equity');
    const decisions = svg('decisions');
    for (const s of [equity, decisions]) {
      expect(s).toContain('SYNTHETIC');
      // Same window: both x axes run May 01 … May 08.
      expect(s).toContain('>May 01<');
      expect(s).toContain('>May 08<');
    }
    expect(equity).toContain('starting capital 10,000');
    expect(equity).toContain('equity vs starting capital (%)');
    expect(decisions).toContain('executed (count)');
    expect(decisions).toContain(`fill="${OUTCOME_COLOURS.executed}"`);
    expect(decisions).toContain(`fill="${OUTCOME_COLOURS['blocked: data_fetch']}"`);
  }, 60_000);
});
