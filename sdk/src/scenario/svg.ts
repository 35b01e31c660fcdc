/**
 * Small inline-SVG charts for the stress report (sdk/src/scenario/html.ts): a line chart (one shared y-axis, or one
 * panel per series when the series differ in scale) and a stacked bar chart. No library and no script: the output is
 * static markup with `<title>` tooltips, sized by its `viewBox` so that it scales with the page.
 *
 * Every chart shares one x layout (one band per x position, points at the band's centre), so charts of the same
 * steps line up under each other. Markup conventions, relied on by the tests:
 * - the root `<svg>` carries `data-chart`, `data-series` (number of series) and `data-points` (x positions);
 * - each line series is one `<path class="series">`, each of its non-null values one `<circle class="point">`;
 * - each non-zero bar segment is one `<rect class="bar">`; each x position has one transparent `<rect class="hit">`
 *   whose tooltip sums up the column.
 */

/** One data series. */
export interface ChartSeries {
  /** Legend label. */
  name: string;
  /** CSS colour. */
  color: string;
  /** One value per x position; `null` (or a non-finite number) is a gap. */
  values: readonly (number | null)[];
  /** Draws the line dashed (line charts only). */
  dashed?: boolean;
  /** Tooltip of each value; defaults to "<name> · <x label>: <formatted value>". */
  tooltips?: readonly string[];
}

/** What every chart needs. */
export interface ChartSpec {
  /** The `data-chart` attribute. */
  kind: string;
  /** Accessible name of the chart (the `<svg>`'s own `<title>`). */
  title: string;
  /** Label of each x position (one per point of the series). */
  xLabels: readonly string[];
  /** Axis titles. */
  xTitle: string;
  yTitle: string;
  /** Formats a y value; `step` is the distance between two ticks, to choose the precision. */
  formatY: (value: number, step: number) => string;
  series: readonly ChartSeries[];
  /** Text shown instead of the plot when there are no x positions. */
  emptyText?: string;
  /** viewBox width (default 960). */
  width?: number;
}

/** A line chart. */
export interface LineChartSpec extends ChartSpec {
  /** `shared`: one plot and y-axis for all series; `panels`: one small plot per series, each with its own y-axis. */
  layout?: "shared" | "panels";
  /** A y value drawn as a dashed reference line (shared layout), e.g. 100 for an index. */
  reference?: number;
}

/** A stacked bar chart (values ≥ 0; negative values are drawn as 0). */
export interface BarChartSpec extends ChartSpec {
  /** Tooltip of each column (x position), e.g. the values of every series at that step. */
  columnTooltips?: readonly string[];
  /** Ticks at whole numbers only (counts). */
  integer?: boolean;
}

/**
 * Escapes text for XML and HTML content and for quoted attribute values.
 *
 * @example
 * escapeXml(`<b title="x">Tom & Jerry's</b>`); // "&lt;b title=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/b&gt;"
 */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c]!);
}

const ENTITIES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };

/**
 * Evenly spaced "nice" ticks (steps of 1, 2, 2.5 or 5 times a power of ten) covering `[min, max]`.
 *
 * @example
 * niceTicks(3, 97); // { ticks: [0, 25, 50, 75, 100], step: 25 }
 * niceTicks(0, 3, 5, true); // { ticks: [0, 1, 2, 3], step: 1 }
 */
export function niceTicks(min: number, max: number, target = 5, integer = false): { ticks: number[]; step: number } {
  let lo = Math.min(min, max);
  let hi = Math.max(min, max);
  if (hi === lo) {
    const pad = lo === 0 ? 1 : Math.abs(lo) * 0.05;
    lo -= lo === 0 ? 0 : pad;
    hi += pad;
  }
  let step = niceStep((hi - lo) / Math.max(1, target - 1));
  if (integer) step = Math.max(1, Math.round(step));
  const first = Math.floor(lo / step + 1e-9) * step;
  const last = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let k = 0; first + k * step <= last + step * 1e-9; k++) ticks.push(Number((first + k * step).toPrecision(12)));
  return { ticks, step };
}

function niceStep(raw: number): number {
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 2.5 ? 2.5 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

// ================================================================== layout

const FONT = 12;
/** Average advance of a character at FONT px in the page's sans-serif font (for legend layout). */
const CHAR_WIDTH = 6.8;
const MARGIN = { left: 76, right: 20, bottom: 46 };
const LEGEND_ROW = 20;
const SHARED_PLOT_HEIGHT = 230;
const PANEL_HEIGHT = 92;
const PANEL_GAP = 46;

interface Frame {
  width: number;
  left: number;
  plotWidth: number;
  band: number;
  n: number;
}

function frameOf(spec: ChartSpec): Frame {
  const width = spec.width ?? 960;
  const n = spec.xLabels.length;
  const plotWidth = width - MARGIN.left - MARGIN.right;
  return { width, left: MARGIN.left, plotWidth, band: plotWidth / Math.max(1, n), n };
}

function xAt(frame: Frame, i: number): number {
  return frame.left + (i + 0.5) * frame.band;
}

function num(value: number): string {
  return Number(value.toFixed(2)).toString();
}

function finite(value: number | null | undefined): value is number {
  return typeof value === "number" && Number.isFinite(value);
}

function svgOpen(spec: ChartSpec, width: number, height: number, extra = ""): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="${escapeXml(spec.kind)}"` +
    ` data-series="${spec.series.length}" data-points="${spec.xLabels.length}"${extra}` +
    ` viewBox="0 0 ${width} ${num(height)}" role="img" font-size="${FONT}">` +
    `<title>${escapeXml(spec.title)}</title>`
  );
}

/** Lays the legend out in rows; returns its markup and height. */
function legend(spec: ChartSpec, frame: Frame, swatch: "line" | "box"): { markup: string; height: number } {
  const parts: string[] = [];
  let x = frame.left;
  let row = 0;
  for (const s of spec.series) {
    const itemWidth = 26 + s.name.length * CHAR_WIDTH + 18;
    if (x > frame.left && x + itemWidth > frame.left + frame.plotWidth) {
      row++;
      x = frame.left;
    }
    const y = 14 + row * LEGEND_ROW;
    const mark =
      swatch === "line"
        ? `<line x1="${num(x)}" y1="${y - 4}" x2="${num(x + 20)}" y2="${y - 4}" stroke="${escapeXml(s.color)}"` +
          ` stroke-width="2.5"${s.dashed === true ? ' stroke-dasharray="5 3"' : ""}/>`
        : `<rect class="swatch" x="${num(x + 4)}" y="${y - 10}" width="12" height="12" rx="2" fill="${escapeXml(s.color)}"/>`;
    parts.push(`${mark}<text x="${num(x + 26)}" y="${y}">${escapeXml(s.name)}</text>`);
    x += itemWidth;
  }
  const rows = spec.series.length === 0 ? 0 : row + 1;
  return { markup: `<g class="legend">${parts.join("")}</g>`, height: rows * LEGEND_ROW + 14 };
}

/** The x-axis: a baseline, ticks at every k-th position (at most about 12 labels) and the axis title. */
function xAxis(spec: ChartSpec, frame: Frame, y: number, labels: boolean): string {
  const stride = niceStride(frame.n);
  const parts = [
    `<line class="axis" x1="${frame.left}" y1="${num(y)}" x2="${frame.left + frame.plotWidth}" y2="${num(y)}"/>`,
  ];
  for (let i = 0; i < frame.n; i += stride) {
    const x = num(xAt(frame, i));
    parts.push(`<line class="tick" x1="${x}" y1="${num(y)}" x2="${x}" y2="${num(y + 5)}"/>`);
    if (labels) {
      parts.push(`<text x="${x}" y="${num(y + 18)}" text-anchor="middle">${escapeXml(spec.xLabels[i] ?? "")}</text>`);
    }
  }
  if (labels) {
    parts.push(
      `<text class="axis-title" x="${num(frame.left + frame.plotWidth / 2)}" y="${num(y + 38)}"` +
        ` text-anchor="middle">${escapeXml(spec.xTitle)}</text>`,
    );
  }
  return `<g class="x-axis">${parts.join("")}</g>`;
}

function niceStride(n: number): number {
  const raw = Math.ceil(n / 12);
  for (const candidate of [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500]) if (candidate >= raw) return candidate;
  return niceStep(raw);
}

/** Horizontal grid lines and y tick labels for a plot spanning `[top, top + height]`. */
function yAxis(
  spec: ChartSpec,
  frame: Frame,
  ticks: { ticks: number[]; step: number },
  scale: (v: number) => number,
): string {
  const parts: string[] = [];
  for (const tick of ticks.ticks) {
    const y = num(scale(tick));
    parts.push(
      `<line class="grid" x1="${frame.left}" y1="${y}" x2="${frame.left + frame.plotWidth}" y2="${y}"/>` +
        `<text x="${frame.left - 8}" y="${y}" dy="0.35em" text-anchor="end">${escapeXml(spec.formatY(tick, ticks.step))}</text>`,
    );
  }
  return `<g class="y-axis">${parts.join("")}</g>`;
}

function yTitle(spec: ChartSpec, top: number, height: number): string {
  const y = num(top + height / 2);
  return (
    `<text class="axis-title" transform="translate(16 ${y}) rotate(-90)" text-anchor="middle">` +
    `${escapeXml(spec.yTitle)}</text>`
  );
}

function emptyChart(spec: ChartSpec, swatch: "line" | "box"): string {
  const frame = frameOf(spec);
  const lg = legend(spec, frame, swatch);
  const height = lg.height + 120;
  return (
    svgOpen(spec, frame.width, height) +
    lg.markup +
    `<rect class="empty" x="${frame.left}" y="${lg.height}" width="${frame.plotWidth}" height="96" rx="6"/>` +
    `<text class="empty-text" x="${num(frame.left + frame.plotWidth / 2)}" y="${lg.height + 52}"` +
    ` text-anchor="middle">${escapeXml(spec.emptyText ?? "No data")}</text></svg>`
  );
}

function tooltipOf(spec: ChartSpec, s: ChartSeries, i: number, value: number, step: number): string {
  return s.tooltips?.[i] ?? `${s.name} · ${spec.xTitle} ${spec.xLabels[i] ?? i}: ${spec.formatY(value, step)}`;
}

// ================================================================== line chart

/**
 * A line chart as one `<svg>` element: one `<path class="series">` per series, a `<circle class="point">` with a
 * `<title>` tooltip per value, axes, grid, axis titles and a legend.
 *
 * @example
 * const svg = lineChart({
 *   kind: "pool",
 *   title: "Pool equity per tier",
 *   xLabels: ["0", "1", "2"],
 *   xTitle: "Step",
 *   yTitle: "USD",
 *   formatY: (v) => `$${v}`,
 *   series: [{ name: "core", color: "#1d4ed8", values: [100, 98, 99] }],
 * });
 */
export function lineChart(spec: LineChartSpec): string {
  if (spec.xLabels.length === 0) return emptyChart(spec, "line");
  const frame = frameOf(spec);
  const lg = legend(spec, frame, "line");
  const panels = spec.layout === "panels" ? spec.series.map((s) => [s]) : [spec.series];
  const plotHeight = spec.layout === "panels" ? PANEL_HEIGHT : SHARED_PLOT_HEIGHT;
  const gap = spec.layout === "panels" ? PANEL_GAP : 0;
  const body: string[] = [];
  let top = lg.height + (spec.layout === "panels" ? 22 : 4);
  const plotsTop = top;

  panels.forEach((group, p) => {
    const values = group.flatMap((s) => s.values.filter(finite));
    const extent = values.length > 0 ? [Math.min(...values), Math.max(...values)] : [0, 1];
    if (spec.reference !== undefined && spec.layout !== "panels") {
      extent[0] = Math.min(extent[0]!, spec.reference);
      extent[1] = Math.max(extent[1]!, spec.reference);
    }
    const ticks = niceTicks(extent[0]!, extent[1]!, spec.layout === "panels" ? 3 : 6);
    const lo = ticks.ticks[0]!;
    const hi = ticks.ticks[ticks.ticks.length - 1]!;
    const scale = (v: number) => top + plotHeight - ((v - lo) / (hi - lo)) * plotHeight;
    if (spec.layout === "panels") {
      const s = group[0]!;
      body.push(
        `<text class="panel-title" x="${frame.left + 4}" y="${num(top - 12)}" fill="${escapeXml(s.color)}">` +
          `${escapeXml(s.name)}</text>`,
      );
    }
    body.push(yAxis(spec, frame, ticks, scale));
    if (spec.reference !== undefined && spec.layout !== "panels") {
      const y = num(scale(spec.reference));
      body.push(
        `<line class="reference" x1="${frame.left}" y1="${y}" x2="${frame.left + frame.plotWidth}" y2="${y}"/>`,
      );
    }
    const last = p === panels.length - 1;
    body.push(xAxis(spec, frame, top + plotHeight, last));
    for (const s of group) body.push(seriesMarkup(spec, frame, s, scale, ticks.step));
    top += plotHeight + (last ? 0 : gap);
  });

  const height = top + MARGIN.bottom;
  return (
    svgOpen(spec, frame.width, height) + lg.markup + yTitle(spec, plotsTop, top - plotsTop) + body.join("") + "</svg>"
  );
}

function seriesMarkup(
  spec: ChartSpec,
  frame: Frame,
  s: ChartSeries,
  scale: (v: number) => number,
  step: number,
): string {
  let d = "";
  let pen = false;
  const points: string[] = [];
  const visible = frame.n <= 60;
  s.values.forEach((value, i) => {
    if (!finite(value)) {
      pen = false;
      return;
    }
    const x = num(xAt(frame, i));
    const y = num(scale(value));
    d += `${pen ? "L" : "M"}${x} ${y}`;
    pen = true;
    points.push(
      `<circle class="point" cx="${x}" cy="${y}" r="${visible ? 3 : 2.5}"` +
        `${visible ? "" : ' fill-opacity="0"'}><title>${escapeXml(tooltipOf(spec, s, i, value, step))}</title></circle>`,
    );
  });
  const color = escapeXml(s.color);
  return (
    `<g class="line" data-series="${escapeXml(s.name)}" fill="${color}">` +
    `<path class="series" d="${d}" fill="none" stroke="${color}" stroke-width="2" stroke-linejoin="round"` +
    ` stroke-linecap="round"${s.dashed === true ? ' stroke-dasharray="6 4"' : ""}/>` +
    points.join("") +
    "</g>"
  );
}

// ================================================================== stacked bar chart

/**
 * A stacked bar chart as one `<svg>` element: per x position, one `<rect class="bar">` per series with a non-zero
 * value (stacked in series order, each with a `<title>` tooltip) over a transparent `<rect class="hit">` whose
 * tooltip describes the whole column.
 *
 * @example
 * const svg = stackedBarChart({
 *   kind: "liquidations",
 *   title: "Liquidations per step",
 *   xLabels: ["0", "1"],
 *   xTitle: "Step",
 *   yTitle: "Liquidations",
 *   formatY: (v) => String(v),
 *   integer: true,
 *   series: [{ name: "core", color: "#1d4ed8", values: [0, 2] }],
 * });
 */
export function stackedBarChart(spec: BarChartSpec): string {
  if (spec.xLabels.length === 0) return emptyChart(spec, "box");
  const frame = frameOf(spec);
  const lg = legend(spec, frame, "box");
  const top = lg.height + 4;
  const totals = spec.xLabels.map((_, i) =>
    spec.series.reduce((sum, s) => sum + Math.max(0, finite(s.values[i]) ? s.values[i] : 0), 0),
  );
  const ticks = niceTicks(0, Math.max(1, ...totals), 5, spec.integer === true);
  const hi = ticks.ticks[ticks.ticks.length - 1]!;
  const scale = (v: number) => top + SHARED_PLOT_HEIGHT - (v / hi) * SHARED_PLOT_HEIGHT;
  const barWidth = Math.max(1, Math.min(frame.band * 0.7, 48));
  const hits: string[] = [];
  const bars: string[] = [];
  for (let i = 0; i < frame.n; i++) {
    const x = xAt(frame, i);
    const tip = spec.columnTooltips?.[i] ?? `${spec.xTitle} ${spec.xLabels[i] ?? i}: ${spec.formatY(totals[i]!, 1)}`;
    hits.push(
      `<rect class="hit" x="${num(x - frame.band / 2)}" y="${top}" width="${num(frame.band)}"` +
        ` height="${SHARED_PLOT_HEIGHT}" fill="transparent"><title>${escapeXml(tip)}</title></rect>`,
    );
    let base = 0;
    for (const s of spec.series) {
      const raw = s.values[i];
      const value = finite(raw) ? Math.max(0, raw) : 0;
      if (value === 0) continue;
      const y0 = scale(base);
      const y1 = scale(base + value);
      bars.push(
        `<rect class="bar" data-series="${escapeXml(s.name)}" x="${num(x - barWidth / 2)}" y="${num(y1)}"` +
          ` width="${num(barWidth)}" height="${num(y0 - y1)}" fill="${escapeXml(s.color)}">` +
          `<title>${escapeXml(tooltipOf(spec, s, i, value, 1))}</title></rect>`,
      );
      base += value;
    }
  }
  const bottom = top + SHARED_PLOT_HEIGHT;
  return (
    svgOpen(spec, frame.width, bottom + MARGIN.bottom) +
    lg.markup +
    yTitle(spec, top, SHARED_PLOT_HEIGHT) +
    yAxis(spec, frame, ticks, scale) +
    `<g class="hits">${hits.join("")}</g>` +
    `<g class="bars">${bars.join("")}</g>` +
    xAxis(spec, frame, bottom, true) +
    "</svg>"
  );
}
