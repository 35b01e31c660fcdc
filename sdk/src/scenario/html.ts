/**
 * The stress report as one self-contained HTML page (`reports/stress-<scenario>.html`): the scenario, the run's facts,
 * each tier's outcome and four inline SVG charts (sdk/src/scenario/svg.ts). The page loads nothing: no script, font,
 * stylesheet or image from anywhere, and its Content-Security-Policy forbids it. Every text taken from the report is
 * escaped. Quote amounts are formatted from their WAD strings with bigint arithmetic; only the charts use numbers.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";

import { escapeXml, lineChart, stackedBarChart, type ChartSeries } from "./svg.js";
import type { OracleSpec, SequencerOutage, StepTierRecord, StressReport } from "./types.js";

/** Each tier's colour, the same in the table and every chart. */
export const TIER_COLORS: Readonly<Record<"core" | "pro" | "edge", string>> = {
  core: "#2563eb",
  pro: "#d97706",
  edge: "#c026d3",
};

/** Colours of tiers without a known name, then of assets in the price chart (none is a tier colour). */
const OTHER_TIER_COLORS = ["#0891b2", "#65a30d", "#7c3aed"];
const ASSET_COLORS = ["#0f766e", "#334155", "#65a30d", "#0e7490", "#92400e", "#b91c1c"];

const CENT = 10n ** 16n;
/** Invariant failures listed in the page; the JSON report has all of them. */
const MAX_FAILURES_SHOWN = 100;

// ================================================================== formatting

function group(digits: string): string {
  return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/**
 * A quote amount (a decimal string of quote WAD, 18 decimals) as dollars and cents, rounded half up with bigint
 * arithmetic. A non-zero amount that rounds to zero shows as `<$0.01` (never as a misleading `$0.00`). `signed` puts
 * `+` before positive amounts (for PnL). Throws on a string that is not an integer.
 *
 * @example
 * formatUsd("41234567890000000000000"); // "$41,234.57"
 * formatUsd("-12500000000000000000000"); // "-$12,500.00"
 * formatUsd("18250420000000000000000", { signed: true }); // "+$18,250.42"
 * formatUsd("1"); // "<$0.01"
 */
export function formatUsd(wad: string, options: { signed?: boolean } = {}): string {
  const value = parseWad(wad);
  const negative = value < 0n;
  const abs = negative ? -value : value;
  const sign = negative ? "-" : options.signed === true && abs > 0n ? "+" : "";
  const cents = (abs + CENT / 2n) / CENT;
  if (cents === 0n && abs > 0n) return `${sign}<$0.01`;
  const whole = cents / 100n;
  const fraction = (cents % 100n).toString().padStart(2, "0");
  return `${sign}$${group(whole.toString())}.${fraction}`;
}

function parseWad(wad: string): bigint {
  if (!/^-?\d+$/.test(wad)) {
    throw new Error(`not a quote WAD amount (a decimal integer string): ${JSON.stringify(wad)}`);
  }
  return BigInt(wad);
}

/** Whole dollars (a chart number) with grouped thousands: `1234567.4` → `$1,234,567`. */
function wholeUsd(value: number): string {
  const rounded = Math.round(value);
  return `${rounded < 0 ? "-" : ""}$${group(Math.abs(rounded).toString())}`;
}

/** A count with grouped thousands. */
function count(value: number): string {
  return Number.isInteger(value) ? `${value < 0 ? "-" : ""}${group(Math.abs(value).toString())}` : String(value);
}

/** A count and a noun, plural unless the count is 1: `1 point`, `3 liquidations`. */
function plural(value: number, noun: string): string {
  return `${count(value)} ${noun}${value === 1 ? "" : "s"}`;
}

/** A y tick in dollars, compact (`$1.25M`, `$250k`), with as many decimals as the tick step needs. */
function compactUsd(value: number, step: number): string {
  const size = Math.max(Math.abs(value), step);
  const [unit, suffix] = size >= 1e9 ? [1e9, "B"] : size >= 1e6 ? [1e6, "M"] : size >= 1e3 ? [1e3, "k"] : [1, ""];
  const decimals = decimalsOf(step / unit);
  const scaled = Math.abs(value / unit).toFixed(decimals);
  return `${value < 0 ? "-" : ""}$${scaled}${suffix}`;
}

/** The decimals `x` needs to be written exactly (up to 6): `2.5` → 1, `0.0025` → 4, `20` → 0. */
function decimalsOf(x: number): number {
  for (let d = 0; d < 6; d++) {
    const scaled = x * 10 ** d;
    if (Math.abs(scaled - Math.round(scaled)) < 1e-6 * Math.max(1, Math.abs(scaled))) return d;
  }
  return 6;
}

/** A price from the report (a decimal string) with grouped thousands, its digits unchanged. */
function price(text: string): string {
  const match = /^(\d+)(\.\d+)?$/.exec(text);
  return match ? `$${group(match[1]!)}${match[2] ?? ""}` : text;
}

/** Seconds from the start as a clock: `t+5:00`, `t+1:02:03`. */
function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return hh > 0 ? `t+${hh}:${String(mm).padStart(2, "0")}:${ss}` : `t+${mm}:${ss}`;
}

/** A duration in milliseconds: `850 ms`, `12.3 s`, `4 min 05 s`, `1 h 02 min`. */
function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const total = Math.round(s);
  if (total < 3600) return `${Math.floor(total / 60)} min ${String(total % 60).padStart(2, "0")} s`;
  return `${Math.floor(total / 3600)} h ${String(Math.floor((total % 3600) / 60)).padStart(2, "0")} min`;
}

function oracleText(oracle: OracleSpec): string {
  const limits = (label: string, bounds: Record<string, string> | undefined) =>
    bounds === undefined ? [] : Object.entries(bounds).map(([asset, value]) => `${label} ${asset} ${price(value)}`);
  switch (oracle.mode) {
    case "live":
      return "live (every point is pushed as it happens)";
    case "delayed":
      return oracle.delaySteps === undefined ? "delayed" : `delayed by ${plural(oracle.delaySteps, "point")}`;
    case "stalled":
      return oracle.stallFromStep === undefined || oracle.stallSteps === undefined
        ? "stalled"
        : `stalled from point ${oracle.stallFromStep} for ${plural(oracle.stallSteps, "point")}`;
    case "clamped": {
      const bounds = [...limits("floor", oracle.floor), ...limits("ceiling", oracle.ceiling)];
      return bounds.length > 0 ? `clamped (${bounds.join(", ")})` : "clamped";
    }
    default:
      return String(oracle.mode);
  }
}

function sequencerText(sequencer: SequencerOutage | undefined): string {
  if (sequencer === undefined) return "up throughout";
  return (
    `down from point ${sequencer.downFromStep} for ${plural(sequencer.downSteps, "point")},` +
    ` then ${sequencer.graceSeconds} s of grace`
  );
}

/** Escaped text with its http(s) URLs as links. */
function linked(text: string): string {
  return text
    .split(/(https?:\/\/[^\s<>"']+)/)
    .map((part, i) =>
      i % 2 === 1 ? `<a href="${escapeXml(part)}" rel="noreferrer noopener">${escapeXml(part)}</a>` : escapeXml(part),
    )
    .join("");
}

// ================================================================== the report's shape

interface Tier {
  id: number;
  name: string;
  color: string;
}

/** The report's tiers (outcomes first, in tier order), with any tier only the steps name. */
function tiersOf(report: StressReport): Tier[] {
  const names = new Map<number, string>();
  for (const t of report.tiers) names.set(t.tier, t.name);
  for (const step of report.steps)
    for (const t of step.tiers) if (!names.has(t.tier)) names.set(t.tier, `tier ${t.tier}`);
  let other = 0;
  return [...names.entries()]
    .sort(([a], [b]) => a - b)
    .map(([id, name]) => ({
      id,
      name,
      color: tierColor(name) ?? OTHER_TIER_COLORS[other++ % OTHER_TIER_COLORS.length]!,
    }));
}

function tierColor(name: string): string | undefined {
  return name === "core" || name === "pro" || name === "edge" ? TIER_COLORS[name] : undefined;
}

function assetsOf(report: StressReport): string[] {
  if (report.scenario.assets.length > 0) return report.scenario.assets;
  return Object.keys(report.steps[0]?.marketPrices ?? {});
}

function toNumber(text: string | undefined): number | null {
  if (text === undefined) return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

// ================================================================== charts

function stepLabel(report: StressReport, i: number): string {
  const step = report.steps[i]!;
  return `Step ${step.step} (${clock(step.t)})`;
}

function priceChart(report: StressReport): string {
  const series: ChartSeries[] = [];
  assetsOf(report).forEach((asset, a) => {
    const color = ASSET_COLORS[a % ASSET_COLORS.length]!;
    const open = report.steps.map((s) => toNumber(s.marketPrices[asset])).find((v) => v !== null && v > 0) ?? null;
    for (const [source, label] of [
      ["marketPrices", "market"],
      ["oraclePrices", "oracle"],
    ] as const) {
      const raw = report.steps.map((s) => s[source][asset]);
      const values = raw.map((text) => {
        const value = toNumber(text);
        return value === null || open === null ? null : (value / open) * 100;
      });
      series.push({
        name: `${asset} ${label}`,
        color,
        dashed: label === "oracle",
        values,
        tooltips: values.map(
          (v, i) =>
            `${asset} ${label} · ${stepLabel(report, i)}: ${price(raw[i] ?? "—")}` +
            (v === null ? "" : ` (index ${v.toFixed(1)})`),
        ),
      });
    }
  });
  return lineChart({
    kind: "price",
    title: "Price path: market (solid) and oracle (dashed) per asset, indexed to 100 at the open",
    xLabels: report.steps.map((s) => String(s.step)),
    xTitle: "Step",
    yTitle: "Price index (open = 100)",
    formatY: (v, step) => v.toFixed(decimalsOf(step)),
    reference: 100,
    series,
    emptyText: "No steps recorded",
  });
}

function tierValues(report: StressReport, tier: number, pick: (t: StepTierRecord) => number): (number | null)[] {
  return report.steps.map((s) => {
    const record = s.tiers.find((t) => t.tier === tier);
    return record === undefined ? null : pick(record);
  });
}

function liquidationsChart(report: StressReport, tiers: Tier[]): string {
  const series: ChartSeries[] = tiers.map((tier) => {
    const values = tierValues(report, tier.id, (t) => t.liquidations);
    const backstops = tierValues(report, tier.id, (t) => t.backstops);
    return {
      name: tier.name,
      color: tier.color,
      values,
      tooltips: values.map(
        (v, i) =>
          `${tier.name} · ${stepLabel(report, i)}: ${plural(v ?? 0, "liquidation")}, ${plural(backstops[i] ?? 0, "backstop")}`,
      ),
    };
  });
  const columnTooltips = report.steps.map((step, i) => {
    const parts = tiers.map((tier) => {
      const record = step.tiers.find((t) => t.tier === tier.id);
      const backstops =
        record !== undefined && record.backstops > 0 ? ` (${plural(record.backstops, "backstop")})` : "";
      return `${tier.name} ${count(record?.liquidations ?? 0)}${backstops}`;
    });
    return `${stepLabel(report, i)} · liquidations: ${parts.join(", ")}`;
  });
  return stackedBarChart({
    kind: "liquidations",
    title: "Liquidations per step, stacked by tier",
    xLabels: report.steps.map((s) => String(s.step)),
    xTitle: "Step",
    yTitle: "Liquidations",
    formatY: (v) => count(v),
    integer: true,
    series,
    columnTooltips,
    emptyText: "No steps recorded",
  });
}

function dollarsChart(
  report: StressReport,
  tiers: Tier[],
  kind: "insurance" | "pool",
  title: string,
  label: string,
  pick: (t: StepTierRecord) => number,
): string {
  const series: ChartSeries[] = tiers.map((tier) => {
    const values = tierValues(report, tier.id, pick);
    return {
      name: tier.name,
      color: tier.color,
      values,
      tooltips: values.map(
        (v, i) => `${tier.name} · ${stepLabel(report, i)}: ${label} ${v === null ? "—" : wholeUsd(v)}`,
      ),
    };
  });
  return lineChart({
    kind,
    title,
    xLabels: report.steps.map((s) => String(s.step)),
    xTitle: "Step",
    yTitle: "USD",
    formatY: compactUsd,
    layout: "panels",
    series,
    emptyText: "No steps recorded",
  });
}

// ================================================================== page

function fact(term: string, value: string): string {
  return `<div><dt>${escapeXml(term)}</dt><dd>${value}</dd></div>`;
}

function factsSection(report: StressReport): string {
  const { scenario, gas, invariants } = report;
  const sortedGas = [...gas.liquidations].sort((a, b) => a - b);
  const median = sortedGas.length === 0 ? null : sortedGas[Math.floor((sortedGas.length - 1) / 2)]!;
  const facts = [
    fact("Chain", escapeXml(report.chain)),
    fact("Started", escapeXml(report.startedAt)),
    fact("Wall time", escapeXml(duration(report.wallTimeMs))),
    fact(
      "Points",
      `${escapeXml(count(scenario.points))} <span class="muted">(${count(report.steps.length)} steps run)</span>`,
    ),
    fact("Assets", escapeXml(scenario.assets.join(", ") || "—")),
    fact("Keeper capacity", `${escapeXml(count(scenario.keeperCapacityPerBlock))} liquidations / block`),
    fact("Oracle", escapeXml(oracleText(scenario.oracle))),
    fact("Sequencer", escapeXml(sequencerText(scenario.sequencer))),
    fact(
      "Liquidation gas",
      sortedGas.length === 0
        ? "no liquidation transactions"
        : escapeXml(
            `${count(sortedGas.length)} txs · median ${count(median!)} · max ${count(sortedGas[sortedGas.length - 1]!)}`,
          ),
    ),
    fact("Peak block gas", escapeXml(count(gas.peakBlockGas))),
    fact(
      "Invariant checks",
      `${escapeXml(count(invariants.checks))} checks · ` +
        `<strong class="${invariants.failures.length === 0 ? "ok" : "fail"}">` +
        `${escapeXml(plural(invariants.failures.length, "failure"))}</strong>`,
    ),
  ];
  return `<section class="card"><h2>Run</h2><dl class="facts">${facts.join("")}</dl></section>`;
}

/** What the whale (DESIGN §8, the March 2025 ETH whale) did and how it ended; nothing when the scenario has none. */
function whaleSection(report: StressReport): string {
  const w = report.whale;
  if (w === undefined) return "";
  const ended = w.takenOver
    ? '<strong class="fail">taken over by the backstop</strong>'
    : w.liquidations > 0
      ? `<strong>${escapeXml(plural(w.liquidations, "partial liquidation"))}</strong>`
      : '<strong class="ok">never liquidated</strong>';
  const facts = [
    fact("Account", `<code>${escapeXml(w.account)}</code>`),
    fact("Notional at open", escapeXml(formatUsd(w.notional))),
    fact("Margin deposited", escapeXml(formatUsd(w.margin))),
    fact("Margin withdrawn", escapeXml(formatUsd(w.withdrawn))),
    fact("Ended", ended),
    fact("Final equity", escapeXml(formatUsd(w.finalEquity, { signed: true }))),
  ];
  return (
    '<section class="card" data-section="whale"><h2>Whale</h2>' +
    '<p class="muted">A leveraged account that withdrew every unit of margin the clearing house let go ' +
    "(unrealized profit is not withdrawable) and then rode the path.</p>" +
    `<dl class="facts">${facts.join("")}</dl></section>`
  );
}

function sourcesSection(report: StressReport): string {
  const sources = report.scenario.sources;
  const body =
    sources.length === 0
      ? '<p class="muted">No sources given.</p>'
      : `<ul class="sources">${sources.map((s) => `<li>${linked(s)}</li>`).join("")}</ul>`;
  return `<section class="card"><h2>Sources</h2>${body}</section>`;
}

function tierTable(report: StressReport, tiers: Tier[]): string {
  const color = new Map(tiers.map((t) => [t.id, t.color]));
  const rows = [...report.tiers]
    .sort((a, b) => a.tier - b.tier)
    .map((t) => {
      const amount = (field: string, wad: string, signed = false) => {
        const text = formatUsd(wad, { signed });
        const value = parseWad(wad);
        const cls = value < 0n ? "neg" : value === 0n ? "zero" : signed ? "pos" : "";
        return `<td class="num ${cls}" data-field="${field}">${escapeXml(text)}</td>`;
      };
      const badDebtClass = parseWad(t.badDebt) === 0n ? "zero" : "bad";
      const firewall = t.firewall.ok
        ? `<span class="check ok" aria-label="passed">✓</span>`
        : `<span class="check fail" aria-label="failed">✗</span>`;
      return (
        `<tr data-tier="${escapeXml(t.name)}">` +
        `<th scope="row"><span class="dot" style="background:${escapeXml(color.get(t.tier) ?? "#64748b")}"></span>` +
        `${escapeXml(t.name)}</th>` +
        `<td class="num" data-field="accounts">${escapeXml(count(t.accounts))}</td>` +
        `<td class="num" data-field="liquidations">${escapeXml(count(t.liquidations))}</td>` +
        `<td class="num" data-field="backstops">${escapeXml(count(t.backstops))}</td>` +
        `<td class="num ${badDebtClass}" data-field="badDebt">${escapeXml(formatUsd(t.badDebt))}</td>` +
        amount("insuranceUsed", t.insuranceUsed) +
        amount("reserveUsed", t.reserveUsed) +
        amount("poolPnl", t.poolPnl, true) +
        `<td class="num" data-field="adlCount">${escapeXml(count(t.adlCount))}</td>` +
        `<td class="firewall" data-field="firewall" data-ok="${t.firewall.ok}">${firewall}` +
        `<span class="detail">${escapeXml(t.firewall.detail)}</span></td>` +
        "</tr>"
      );
    });
  const head = [
    "Tier",
    "Accounts",
    "Liquidations",
    "Backstops",
    "Bad debt",
    "Insurance used",
    "Reserve used",
    "Pool PnL",
    "ADL",
    "Firewall",
  ]
    .map((h, i) => `<th scope="col"${i > 0 && i < 9 ? ' class="num"' : ""}>${h}</th>`)
    .join("");
  const body =
    rows.length === 0 ? `<tr><td colspan="10" class="muted">No tier outcomes recorded.</td></tr>` : rows.join("");
  return (
    `<section class="card"><h2>Outcome per tier</h2>` +
    `<p class="note">Bad debt: deficits beyond the defaulter's collateral. Insurance, reserve, pool and ADL: the` +
    ` waterfall steps that absorbed them. Firewall: every figure of the tier is explained by its own events.</p>` +
    `<div class="scroll"><table class="tiers"><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>` +
    `</section>`
  );
}

/** The invariant failures, when there are any (their count is one of the run's facts). */
function invariantFailures(report: StressReport): string {
  const { failures } = report.invariants;
  if (failures.length === 0) return "";
  const shown = failures.slice(0, MAX_FAILURES_SHOWN).map((f) => `<li>${escapeXml(f)}</li>`);
  const more =
    failures.length > MAX_FAILURES_SHOWN
      ? `<li class="muted">… and ${count(failures.length - MAX_FAILURES_SHOWN)} more in the JSON report</li>`
      : "";
  return (
    `<section class="card alert"><h2>Invariant failures (${escapeXml(count(failures.length))})</h2>` +
    `<ul class="failures">${shown.join("")}${more}</ul></section>`
  );
}

function verdict(report: StressReport): string {
  const breached = report.tiers.filter((t) => !t.firewall.ok).map((t) => t.name);
  const failures = report.invariants.failures.length;
  const withBadDebt = report.tiers.filter((t) => parseWad(t.badDebt) !== 0n);
  const parts = [
    breached.length === 0
      ? `Firewall held in ${report.tiers.length === 1 ? "the tier" : `all ${report.tiers.length} tiers`}`
      : `Firewall breached in ${breached.join(", ")}`,
    failures === 0 ? "no invariant failures" : `${plural(failures, "invariant failure")}`,
    withBadDebt.length === 0
      ? "no bad debt"
      : `bad debt in ${withBadDebt.map((t) => `${t.name} (${formatUsd(t.badDebt)})`).join(", ")}`,
  ];
  const ok = breached.length === 0 && failures === 0;
  return `<p class="verdict ${ok ? "ok" : "fail"}" role="status">${escapeXml(parts.join(" · "))}</p>`;
}

function figure(title: string, note: string, svg: string): string {
  return `<figure class="card chart-card"><figcaption><h3>${escapeXml(title)}</h3><p class="note">${escapeXml(note)}</p></figcaption><div class="scroll">${svg}</div></figure>`;
}

const CSS = `
:root{--ink:#0f172a;--muted:#64748b;--line:#e2e8f0;--bg:#f8fafc;--card:#fff;--ok:#15803d;--fail:#b91c1c}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1160px;margin:0 auto;padding:32px 24px 48px}
header h1{font-size:26px;line-height:1.25;margin:4px 0 8px}
.eyebrow{margin:0;color:var(--muted);font-size:12px;letter-spacing:.06em;text-transform:uppercase}
.description{max-width:80ch;margin:0 0 6px}
h2{font-size:16px;margin:0 0 10px}
h3{font-size:15px;margin:0}
.card{background:var(--card);border:1px solid var(--line);border-radius:10px;padding:18px 20px;margin:16px 0}
.grid2{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:16px}
.grid2 .card{margin:0}
@media (max-width:860px){.grid2{grid-template-columns:minmax(0,1fr)}}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(220px,1fr));gap:10px 20px;margin:0}
.facts dt{color:var(--muted);font-size:12px}
.facts dd{margin:0;font-weight:500}
.muted{color:var(--muted);font-weight:400}
.note{color:var(--muted);font-size:12.5px;margin:2px 0 10px}
.sources{margin:0;padding-left:18px}
.sources li{margin:2px 0}
a{color:#1d4ed8}
.verdict{display:inline-block;margin:10px 0 0;padding:6px 12px;border-radius:999px;font-weight:600;font-size:13px}
.verdict.ok{background:#dcfce7;color:var(--ok)}
.verdict.fail{background:#fee2e2;color:var(--fail)}
.scroll{overflow-x:auto}
table.tiers{border-collapse:collapse;width:100%;font-size:13px;white-space:nowrap}
.tiers th,.tiers td{padding:8px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
.tiers thead th{color:var(--muted);font-weight:600;font-size:12px;border-bottom:2px solid var(--line)}
.tiers tbody th{font-weight:600}
.tiers .num{text-align:right;font-variant-numeric:tabular-nums}
.tiers .zero{color:var(--muted)}
.tiers .neg,.tiers .bad{color:var(--fail)}
.tiers .pos{color:var(--ok)}
.tiers .bad{font-weight:600}
.dot{display:inline-block;width:10px;height:10px;border-radius:50%;margin-right:8px;vertical-align:baseline}
.firewall{white-space:normal;min-width:220px}
.check{font-weight:700;margin-right:6px}
.check.ok,strong.ok{color:var(--ok)}
.check.fail,strong.fail{color:var(--fail)}
.detail{color:var(--muted);font-size:12px}
.failures{margin:0;padding-left:18px;color:var(--fail);font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px}
.alert{border-color:#fecaca;background:#fef2f2}
.alert h2{color:var(--fail)}
.chart-card figcaption{margin-bottom:4px}
.chart-card{margin:16px 0}
svg.chart{display:block;width:100%;min-width:640px;height:auto;font-family:inherit}
svg.chart text:not(.panel-title){fill:#475569}
svg.chart .legend text{fill:var(--ink)}
svg.chart .axis-title{fill:var(--muted);font-size:12px}
svg.chart .panel-title{font-weight:600}
svg.chart .axis,svg.chart .tick{stroke:#94a3b8;stroke-width:1}
svg.chart .grid{stroke:#eef2f7;stroke-width:1}
svg.chart .reference{stroke:#94a3b8;stroke-width:1;stroke-dasharray:3 3}
svg.chart .point{stroke:#fff;stroke-width:1}
svg.chart .hit:hover{fill:rgba(15,23,42,.05)}
svg.chart .bar{stroke:#fff;stroke-width:1}
svg.chart .bar:hover{opacity:.8}
svg.chart .empty{fill:#f1f5f9}
svg.chart .empty-text{fill:var(--muted);font-size:14px}
footer{color:var(--muted);font-size:12px;margin-top:24px}
`;

/**
 * Renders a stress report as one self-contained HTML page: the scenario and its sources, the run's facts, the outcome
 * per tier, the invariant checks and four SVG charts (`data-chart` = `price`, `liquidations`, `insurance`, `pool`).
 * The page loads nothing from anywhere (no script, font or stylesheet; a Content-Security-Policy enforces it) and
 * every text from the report is escaped.
 *
 * @example
 * import { writeFileSync } from "node:fs";
 * writeFileSync("reports/stress-oct-2025.html", renderStressHtml(report));
 */
export function renderStressHtml(report: StressReport): string {
  const { scenario } = report;
  const tiers = tiersOf(report);
  const description = scenario.description
    .split(/\n\s*\n/)
    .filter((p) => p.trim() !== "")
    .map((p) => `<p class="description">${escapeXml(p.trim())}</p>`)
    .join("");
  const charts = [
    figure(
      "Price path",
      "Market (solid) and oracle (dashed) price per asset, indexed to 100 at the open. Hover a point for the price.",
      priceChart(report),
    ),
    figure(
      "Liquidations per step",
      "Liquidations the keepers landed at each step, stacked by tier. Hover a bar or a column for the counts.",
      liquidationsChart(report, tiers),
    ),
    figure(
      "Insurance fund",
      "Each tier's insurance fund after each step (one scale per tier).",
      dollarsChart(
        report,
        tiers,
        "insurance",
        "Insurance fund per tier per step",
        "insurance fund",
        (t) => t.insuranceFund,
      ),
    ),
    figure(
      "Pool equity",
      "Each tier's pool (LP) equity after each step (one scale per tier).",
      dollarsChart(report, tiers, "pool", "Pool equity per tier per step", "pool equity", (t) => t.poolEquity),
    ),
  ];
  return (
    "<!doctype html>\n" +
    '<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'">` +
    '<link rel="icon" href="data:,">' +
    `<title>Stress report: ${escapeXml(scenario.title)}</title>` +
    `<style>${CSS}</style></head>\n<body><main>` +
    `<header><p class="eyebrow">Strata stress report · ${escapeXml(scenario.kind)} scenario · ` +
    `<code>${escapeXml(scenario.name)}</code></p><h1>${escapeXml(scenario.title)}</h1>${description}` +
    `${verdict(report)}</header>` +
    `<div class="grid2">${factsSection(report)}${sourcesSection(report)}</div>` +
    invariantFailures(report) +
    tierTable(report, tiers) +
    whaleSection(report) +
    charts.join("") +
    `<footer>Generated from <code>stress-${escapeXml(scenario.name)}.json</code> · run started` +
    ` ${escapeXml(report.startedAt)} on ${escapeXml(report.chain)}</footer>` +
    "</main></body></html>\n"
  );
}

/**
 * Writes a stress report as `<dir>/stress-<name>.json` (pretty JSON; a bigint, should one slip in, is written as a
 * decimal string) and `<dir>/stress-<name>.html` ({@link renderStressHtml}), creating `dir` if needed. The JSON is
 * written first, so it survives a report the HTML renderer rejects. The scenario's name must be a plain file stem.
 *
 * @example
 * const { json, html } = writeStressReport(report); // "reports/stress-oct-2025.json", "reports/stress-oct-2025.html"
 */
export function writeStressReport(report: StressReport, dir = "reports"): { json: string; html: string } {
  const name = report.scenario.name;
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]*$/.test(name)) {
    throw new Error(`scenario name ${JSON.stringify(name)} is not a file stem (letters, digits, "-" and "_")`);
  }
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, `stress-${name}.json`);
  const html = path.join(dir, `stress-${name}.html`);
  const text = JSON.stringify(
    report,
    (_key, value: unknown) => (typeof value === "bigint" ? value.toString() : value),
    2,
  );
  writeFileSync(json, `${text}\n`);
  writeFileSync(html, renderStressHtml(report));
  return { json, html };
}
