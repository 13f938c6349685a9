/**
 * SVG line charts via Vega-Lite compiled to Vega and rendered headless
 * (`renderer: 'none'` + toSVG needs no canvas or DOM, and inline data needs
 * no network). Reused by benchmark plots (bytes vs l_x, time vs batch size).
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface LineSeries {
  name: string;
  points: ReadonlyArray<readonly [number, number]>;
  /** Draw dashed (e.g. the exact function behind its approximations). */
  dashed?: boolean;
}

export interface LineChartOptions {
  title?: string;
  xTitle: string;
  yTitle: string;
  series: readonly LineSeries[];
  width?: number;
  height?: number;
  xScale?: 'linear' | 'log';
  yScale?: 'linear' | 'log';
  /** Fix the axis ranges instead of fitting the data. */
  xDomain?: readonly [number, number];
  yDomain?: readonly [number, number];
}

/** Vega-Lite spec of the chart (exposed for callers that want to tweak it). */
export function lineChartSpec(opts: LineChartOptions): TopLevelSpec {
  if (opts.series.length === 0) throw new Error('lineChart: no series to plot');
  const values = opts.series.flatMap((s, order) => s.points.map(([x, y]) => ({ x, y, series: s.name, order, dashed: !!s.dashed })));
  const names = opts.series.map((s) => s.name);
  const scale = (type: 'linear' | 'log' | undefined, domain: readonly [number, number] | undefined): Record<string, unknown> => ({
    type: type ?? 'linear',
    zero: false,
    ...(domain ? { domain: [...domain] } : {}),
  });
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    ...(opts.title ? { title: opts.title } : {}),
    width: opts.width ?? 520,
    height: opts.height ?? 340,
    background: 'white',
    data: { values },
    mark: { type: 'line', clip: true, strokeWidth: 2 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.xTitle, scale: scale(opts.xScale, opts.xDomain) },
      y: { field: 'y', type: 'quantitative', title: opts.yTitle, scale: scale(opts.yScale, opts.yDomain) },
      color: { field: 'series', type: 'nominal', title: null, sort: names, legend: { labelLimit: 0 } },
      strokeDash: { field: 'dashed', type: 'nominal', legend: null, scale: { domain: [false, true], range: [[1, 0], [6, 4]] } },
      order: { field: 'x', type: 'quantitative' },
    },
  };
  return spec as unknown as TopLevelSpec;
}

/** Renders the chart to an SVG string. */
export async function lineChartSvg(opts: LineChartOptions): Promise<string> {
  const view = new vega.View(vega.parse(compile(lineChartSpec(opts)).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** A chart spec as one panel of a vertical stack: points on the lines, the x axis ticked at exactly `xTicks`. */
function stackPanel(spec: TopLevelSpec, xTicks: readonly number[]): Record<string, unknown> {
  const { $schema: _s, background: _b, ...rest } = spec as unknown as Record<string, unknown>;
  const encoding = rest['encoding'] as Record<string, Record<string, unknown>>;
  return {
    ...rest,
    mark: { ...(rest['mark'] as object), point: true },
    encoding: { ...encoding, x: { ...encoding['x'], axis: { values: [...xTicks], format: 'd' } } },
  };
}

/** Several line charts one above the other (e.g. bytes and time against l_x), as one SVG. */
export async function stackedChartsSvg(charts: readonly LineChartOptions[], xTicks: readonly number[]): Promise<string> {
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    background: 'white',
    vconcat: charts.map((c) => stackPanel(lineChartSpec(c), xTicks)),
    resolve: { scale: { color: 'independent', strokeDash: 'independent' } },
  } as unknown as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}
