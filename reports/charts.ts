import type { TopLevelSpec } from 'vega-lite';
import type { WeeklyReport } from './weekly.ts';

const UTC_AXIS = { format: '%b %d %H:%M', labelAngle: -30, title: 'UTC' };
const WIDTH = 640;

/** Equity (top) and drawdown below its running peak (bottom), hourly, for the week. */
export function equityChartSpec(r: WeeklyReport): TopLevelSpec {
  const values = r.performance.curve.map((p) => ({
    t: p.ts,
    equity: p.equity,
    drawdown_pct: -p.drawdown * 100,
  }));
  const x = {
    field: 't',
    type: 'temporal' as const,
    scale: { type: 'utc' as const, domain: [Date.parse(r.window.start), Date.parse(r.window.end)] },
    axis: UTC_AXIS,
  };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Week ${r.week_number} ending ${r.week_ending}: paper equity and drawdown${values.length === 0 ? ' (no equity data in the ledger for this week)' : ''}`,
    data: { values },
    vconcat: [
      {
        width: WIDTH,
        height: 200,
        mark: { type: 'line', color: '#1f77b4' },
        encoding: {
          x,
          y: {
            field: 'equity',
            type: 'quantitative',
            scale: { zero: false },
            title: 'equity',
            axis: { format: ',.2f' },
          },
        },
      },
      {
        width: WIDTH,
        height: 110,
        mark: { type: 'area', color: '#d62728', opacity: 0.6 },
        encoding: {
          x,
          y: { field: 'drawdown_pct', type: 'quantitative', title: 'drawdown %', axis: { format: '.2f' } },
        },
      },
    ],
  } as TopLevelSpec;
}

/** Decisions per UTC day, stacked by outcome: executed, held without a block, or blocked (by the stage that blocked). */
export function decisionsChartSpec(r: WeeklyReport): TopLevelSpec {
  const values: Array<{ day: string; outcome: string; count: number }> = [];
  for (const d of r.data_collection.daily) {
    for (const [outcome, count] of Object.entries(d.totals.by_outcome))
      values.push({ day: d.date, outcome, count });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: `Week ${r.week_number} ending ${r.week_ending}: decisions and blocks by stage per UTC day`,
    width: WIDTH,
    height: 260,
    data: { values },
    mark: 'bar',
    encoding: {
      x: { field: 'day', type: 'ordinal', title: 'UTC day', axis: { labelAngle: 0 } },
      y: { field: 'count', type: 'quantitative', stack: 'zero', title: 'decisions' },
      color: {
        field: 'outcome',
        type: 'nominal',
        title: 'outcome',
        scale: { scheme: 'tableau20' },
        legend: { labelLimit: 320 },
      },
      order: { field: 'outcome' },
    },
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
