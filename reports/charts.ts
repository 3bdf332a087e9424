import type { TopLevelSpec } from 'vega-lite';
import type { WeeklyReport } from './weekly.ts';

const UTC_AXIS = { format: '%b %d', labelAngle: 0, title: 'UTC', tickCount: 7 };
const WIDTH = 640;
const DAY_MS = 86_400_000;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

/**
 * One colour per decision outcome, the same in every report (a scheme would reassign colours by
 * which categories a week happens to have). Executed is the only saturated green.
 */
export const OUTCOME_COLOURS: Record<string, string> = {
  executed: '#2ca02c',
  held: '#bdbdbd',
  'blocked: control': '#7f7f7f',
  'blocked: halt': '#000000',
  'blocked: data_fetch': '#8c564b',
  'blocked: features': '#c49c94',
  'blocked: ensemble': '#1f77b4',
  'blocked: technical': '#aec7e8',
  'blocked: scalping': '#9467bd',
  'blocked: htf_filter': '#c5b0d5',
  'blocked: confidence': '#17becf',
  'blocked: position': '#9edae5',
  'blocked: turnover': '#ff7f0e',
  'blocked: risk_budget': '#ffbb78',
  'blocked: safety': '#d62728',
  'blocked: preservation': '#ff9896',
  'blocked: sizing': '#e377c2',
  'blocked: live_guardrails': '#f7b6d2',
  'blocked: exchange_order': '#bcbd22',
  'blocked: operator_order': '#dbdb8d',
};
const OTHER_COLOUR = '#525252';

/** The week's window on every chart: the same x domain, so days line up across charts. */
const xWindow = (r: WeeklyReport) => ({
  type: 'utc' as const,
  domainMin: Date.parse(r.window.start),
  domainMax: Date.parse(r.window.end),
});

/** A big faint SYNTHETIC across a panel when the week's decisions were made on generated candles. */
function watermark(r: WeeklyReport, height: number) {
  if (r.data_collection.synthetic_decisions === 0) return [];
  return [
    {
      data: { values: [{}] },
      mark: {
        type: 'text',
        text: 'SYNTHETIC',
        fontSize: Math.min(72, height / 2),
        fontWeight: 'bold',
        color: '#d62728',
        opacity: 0.15,
        angle: -12,
      },
      encoding: { x: { value: WIDTH / 2 }, y: { value: height / 2 } },
    },
  ];
}

const dataNote = (r: WeeklyReport) =>
  r.data_collection.synthetic_decisions > 0 ? ' — SYNTHETIC data, not real market' : '';

/**
 * Equity as % of starting capital (0% = the starting capital, drawn as a line), and drawdown below
 * its running peak, hourly over the week's window.
 */
export function equityChartSpec(r: WeeklyReport, startingCapital: number | null): TopLevelSpec {
  const start = startingCapital ?? r.performance.equity.start ?? null;
  const values = r.performance.curve.map((p) => ({
    t: p.ts,
    equity: p.equity,
    vs_start_pct: start ? (p.equity / start - 1) * 100 : 0,
    drawdown_pct: -p.drawdown * 100,
  }));
  const x = { field: 't', type: 'temporal' as const, scale: xWindow(r), axis: UTC_AXIS };
  const startLabel = start
    ? `starting capital ${start.toLocaleString('en-US', { maximumFractionDigits: 2 })}`
    : 'starting capital unknown';
  return {
    $schema: SCHEMA,
    title: `Week ${r.week_number} ending ${r.week_ending}: paper equity vs starting capital, and drawdown${values.length === 0 ? ' (no equity data in the ledger for this week)' : ''}${dataNote(r)}`,
    vconcat: [
      {
        width: WIDTH,
        height: 200,
        layer: [
          {
            data: { values: [{ y: 0 }] },
            mark: { type: 'rule', color: '#555555', strokeDash: [6, 4] },
            encoding: { y: { field: 'y', type: 'quantitative' } },
          },
          {
            data: { values: [{ y: 0 }] },
            mark: { type: 'text', align: 'left', dx: 4, dy: -6, color: '#555555', text: startLabel },
            encoding: { x: { value: 0 }, y: { field: 'y', type: 'quantitative' } },
          },
          {
            data: { values },
            mark: { type: 'line', color: '#1f77b4', interpolate: 'step-after' },
            encoding: {
              x,
              y: {
                field: 'vs_start_pct',
                type: 'quantitative',
                title: 'equity vs starting capital (%)',
                axis: { format: '+.2f' },
              },
              tooltip: [
                { field: 't', type: 'temporal', format: '%Y-%m-%d %H:%M UTC' },
                { field: 'equity', type: 'quantitative', format: ',.2f', title: 'equity (quote)' },
              ],
            },
          },
          ...watermark(r, 200),
        ],
        resolve: { scale: { y: 'shared' } },
      },
      {
        width: WIDTH,
        height: 110,
        layer: [
          {
            data: { values },
            mark: { type: 'area', color: '#d62728', opacity: 0.6, interpolate: 'step-after' },
            encoding: {
              x,
              y: {
                field: 'drawdown_pct',
                type: 'quantitative',
                title: 'drawdown (%)',
                axis: { format: '.2f' },
              },
            },
          },
          ...watermark(r, 110),
        ],
      },
    ],
  } as TopLevelSpec;
}

/**
 * Decisions per UTC day over the week's window: executed ones in their own panel (a handful next
 * to thousands of holds would be invisible in one stack), held and blocked (by stage) below.
 */
export function decisionsChartSpec(r: WeeklyReport): TopLevelSpec {
  // Each day's bar spans its UTC day exactly (start → next midnight), on the same axis as the equity chart.
  type Row = { t0: number; t1: number; mid: number; count: number };
  const executed: Row[] = [];
  // Stacked by hand (y0 → y1), in outcome order: with x/x2 spans Vega-Lite does not stack.
  const others: Array<Row & { outcome: string; y0: number; y1: number }> = [];
  for (const d of r.data_collection.daily) {
    const t0 = Date.parse(`${d.date}T00:00:00Z`);
    const span = { t0, t1: t0 + DAY_MS, mid: t0 + DAY_MS / 2 };
    executed.push({ ...span, count: d.totals.by_outcome.executed ?? 0 });
    let y0 = 0;
    for (const [outcome, count] of Object.entries(d.totals.by_outcome).sort(([a], [b]) =>
      a.localeCompare(b),
    )) {
      if (outcome === 'executed') continue;
      others.push({ ...span, outcome, count, y0, y1: y0 + count });
      y0 += count;
    }
  }
  const present = [...new Set(others.map((o) => o.outcome))].sort();
  const x = { field: 't0', type: 'temporal' as const, scale: xWindow(r), axis: UTC_AXIS };
  const x2 = { field: 't1' };
  return {
    $schema: SCHEMA,
    title: `Week ${r.week_number} ending ${r.week_ending}: decisions per UTC day — executed, held, blocked by stage${dataNote(r)}`,
    vconcat: [
      {
        width: WIDTH,
        height: 90,
        layer: [
          {
            data: { values: executed },
            mark: { type: 'bar', color: OUTCOME_COLOURS.executed, stroke: 'white' },
            encoding: {
              x,
              x2,
              y: { field: 'count', type: 'quantitative', title: 'executed (count)' },
              y2: { datum: 0 },
            },
          },
          {
            data: { values: executed },
            mark: { type: 'text', dy: -6, fontWeight: 'bold', color: '#1a6b1a' },
            encoding: {
              x: { field: 'mid', type: 'temporal' },
              y: { field: 'count', type: 'quantitative' },
              text: { field: 'count', type: 'quantitative' },
            },
          },
          ...watermark(r, 90),
        ],
      },
      {
        width: WIDTH,
        height: 240,
        layer: [
          {
            data: { values: others },
            mark: { type: 'bar', stroke: 'white', strokeWidth: 0.5 },
            encoding: {
              x,
              x2,
              y: { field: 'y1', type: 'quantitative', title: 'held or blocked (count)' },
              y2: { field: 'y0' },
              color: {
                field: 'outcome',
                type: 'nominal',
                title: 'outcome',
                scale: { domain: present, range: present.map((o) => OUTCOME_COLOURS[o] ?? OTHER_COLOUR) },
                legend: { labelLimit: 320 },
              },
              tooltip: [
                { field: 'outcome', type: 'nominal' },
                { field: 'count', type: 'quantitative' },
              ],
            },
          },
          ...watermark(r, 240),
        ],
      },
    ],
  } as TopLevelSpec;
}

/** Render a Vega-Lite spec to SVG headless (no browser, no canvas: text is measured by estimate). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const [vega, vegaLite] = await Promise.all([import('vega'), import('vega-lite')]);
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
