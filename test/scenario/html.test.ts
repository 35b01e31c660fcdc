/**
 * The stress report's HTML (sdk/src/scenario/html.ts, svg.ts), read as text: the four charts and their series, the
 * tier table's exact figures, escaping, edge cases (no steps, one step) and the files writeStressReport writes.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";

import { formatUsd, renderStressHtml, TIER_COLORS, writeStressReport } from "../../sdk/src/scenario/html.js";
import { escapeXml, niceTicks } from "../../sdk/src/scenario/svg.js";
import { renderTierTable } from "../../sdk/src/scenario/table.js";
import type { StressReport } from "../../sdk/src/scenario/types.js";
import { sampleReport } from "./fixtures/sampleReport.js";

/** The `<svg data-chart=…>` elements of a page, by chart. */
function charts(html: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const match of html.matchAll(/<svg\b[^>]*\bdata-chart="([^"]+)"[\s\S]*?<\/svg>/g))
    found.set(match[1]!, match[0]);
  return found;
}

function countOf(text: string, pattern: RegExp): number {
  return [...text.matchAll(pattern)].length;
}

/** The text of the table cell `field` in the row of tier `name`. */
function cell(html: string, name: string, field: string): string {
  const row = new RegExp(`<tr data-tier="${name}">([\\s\\S]*?)</tr>`).exec(html)?.[1];
  expect(row, `row of ${name}`).to.be.a("string");
  const td = new RegExp(`<td[^>]*data-field="${field}"[^>]*>([\\s\\S]*?)</td>`).exec(row!)?.[1];
  expect(td, `${name}.${field}`).to.be.a("string");
  return td!;
}

function attr(svg: string, name: string): string | undefined {
  return new RegExp(`^<svg\\b[^>]*\\b${name}="([^"]*)"`).exec(svg)?.[1];
}

describe("stress report HTML", () => {
  describe("formatUsd", () => {
    it("formats quote WAD strings as dollars and cents with bigint arithmetic, rounding half up", () => {
      expect(formatUsd("0")).to.equal("$0.00");
      expect(formatUsd("41234567890000000000000")).to.equal("$41,234.57");
      expect(formatUsd("6120905000000000000000")).to.equal("$6,120.91");
      expect(formatUsd("6120904999999999999999")).to.equal("$6,120.90");
      expect(formatUsd("-12500000000000000000000")).to.equal("-$12,500.00");
      expect(formatUsd("18250420000000000000000", { signed: true })).to.equal("+$18,250.42");
      expect(formatUsd("0", { signed: true })).to.equal("$0.00");
      // Beyond a double's 53 bits: exact to the cent.
      expect(formatUsd("123456789012345678901234567890000000000")).to.equal("$123,456,789,012,345,678,901.23");
      expect(formatUsd("999999999999999999")).to.equal("$1.00");
    });

    it("never shows a non-zero amount as $0.00 and rejects what is not an integer string", () => {
      expect(formatUsd("1")).to.equal("<$0.01");
      expect(formatUsd("-4999999999999999")).to.equal("-<$0.01");
      expect(formatUsd("5000000000000000")).to.equal("$0.01");
      for (const bad of ["1.5", "", "1e18", "0x10", " 1", "NaN"])
        expect(() => formatUsd(bad), bad).to.throw(/quote WAD/);
    });
  });

  describe("svg helpers", () => {
    it("escapes markup and quotes", () => {
      expect(escapeXml(`<a href="x">Tom & Jerry's</a>`)).to.equal(
        "&lt;a href=&quot;x&quot;&gt;Tom &amp; Jerry&#39;s&lt;/a&gt;",
      );
    });

    it("picks nice ticks that cover the range", () => {
      expect(niceTicks(3, 97)).to.deep.equal({ ticks: [0, 25, 50, 75, 100], step: 25 });
      expect(niceTicks(0, 3, 5, true)).to.deep.equal({ ticks: [0, 1, 2, 3], step: 1 });
      expect(niceTicks(96.2, 100).ticks).to.deep.equal([96, 97, 98, 99, 100]);
      const flat = niceTicks(5, 5);
      expect(flat.ticks[0]).to.be.below(5);
      expect(flat.ticks[flat.ticks.length - 1]).to.be.above(5);
    });
  });

  describe("renderStressHtml", () => {
    const report = sampleReport();
    const html = renderStressHtml(report);
    const svgs = charts(html);
    const steps = report.steps.length;

    it("is one self-contained page: no script, no external resource, a CSP that forbids loading any", () => {
      expect(html.startsWith("<!doctype html>")).to.be.true;
      expect(html).to.not.match(/<script\b/i);
      expect(html).to.not.match(/<(link|img|iframe|object|embed)\b[^>]*\b(src|href)="(?!data:)/i);
      expect(html).to.not.match(/@import|url\(/i);
      expect(html).to.include(`content="default-src 'none'; style-src 'unsafe-inline'`);
      expect(html).to.not.match(/NaN|Infinity|undefined/);
    });

    it("has the title, the description, the sources (URLs as links) and the run's facts", () => {
      expect(html).to.include(`<h1>${escapeXml(report.scenario.title)}</h1>`);
      expect(html).to.include("The oracle reports each point one minute late.");
      expect(html).to.include('<a href="https://www.coinbase.com/price/ethereum" rel="noreferrer noopener">');
      expect(html).to.include("JELLY/USD: a synthetic long-tail path");
      for (const fact of [
        "<dd>hardhat (in-process)</dd>",
        "<dd>48.2 s</dd>",
        '<dd>20 <span class="muted">(20 steps run)</span></dd>',
        "<dd>4 liquidations / block</dd>",
        "<dd>delayed by 1 point</dd>",
        "<dd>ETH/USD, BTC/USD, JELLY/USD</dd>",
        "<dd>up throughout</dd>",
        "<dd>32 txs · median ",
        "· max 412,318</dd>",
        '<dd>280 checks · <strong class="ok">0 failures</strong></dd>',
      ]) {
        expect(html).to.include(fact);
      }
      expect(html).to.include('<p class="verdict ok" role="status">Firewall held in all 3 tiers');
    });

    it("renders the four charts, each with a title, axes, a legend and one <title> tooltip per point", () => {
      expect([...svgs.keys()]).to.deep.equal(["price", "liquidations", "insurance", "pool"]);
      for (const [kind, svg] of svgs) {
        expect(attr(svg, "data-points"), kind).to.equal(String(steps));
        expect(svg, kind).to.match(/^<svg[^>]*viewBox="0 0 960 [\d.]+"/);
        expect(svg, kind).to.match(/^<svg[^>]*><title>[^<]+<\/title>/);
        expect(svg, kind).to.include('<g class="legend">');
        expect(svg, kind).to.include('<g class="x-axis">');
        expect(svg, kind).to.include('<g class="y-axis">');
        expect(svg, kind).to.include(">Step</text>");
      }
    });

    it("price chart: market and oracle per asset (6 series of 20 points), indexed to 100 at the open", () => {
      const svg = svgs.get("price")!;
      expect(attr(svg, "data-series")).to.equal("6");
      expect(countOf(svg, /<path class="series"/g)).to.equal(6);
      expect(countOf(svg, /<path class="series"[^>]*stroke-dasharray/g)).to.equal(3);
      expect(countOf(svg, /<circle class="point"/g)).to.equal(6 * steps);
      for (const name of ["ETH/USD market", "ETH/USD oracle", "BTC/USD market", "BTC/USD oracle", "JELLY/USD market"]) {
        expect(svg).to.include(`>${name}</text>`);
      }
      // Step 12: ETH at 3,498.76 of 4,350.00 (80.4); the oracle one point behind (3,521.09: 80.9).
      expect(svg).to.include("<title>ETH/USD market · Step 12 (t+12:00): $3,498.76 (index 80.4)</title>");
      expect(svg).to.include("<title>ETH/USD oracle · Step 12 (t+12:00): $3,521.09 (index 80.9)</title>");
      expect(svg).to.include("<title>JELLY/USD market · Step 0 (t+0:00): $0.2150 (index 100.0)</title>");
      expect(svg).to.include('class="reference"');
    });

    it("liquidations chart: one stacked bar per tier and step with liquidations, one column per step", () => {
      const svg = svgs.get("liquidations")!;
      const nonZero = report.steps.flatMap((s) => s.tiers.filter((t) => t.liquidations > 0));
      expect(nonZero.length).to.be.greaterThan(0);
      expect(attr(svg, "data-series")).to.equal("3");
      expect(countOf(svg, /<rect class="bar"/g)).to.equal(nonZero.length);
      expect(countOf(svg, /<rect class="hit"/g)).to.equal(steps);
      for (const tier of ["core", "pro", "edge"] as const) {
        const bars = countOf(
          svg,
          new RegExp(`<rect class="bar" data-series="${tier}"[^>]*fill="${TIER_COLORS[tier]}"`, "g"),
        );
        const expected = nonZero.filter((t) => report.tiers[t.tier]!.name === tier).length;
        expect(bars, tier).to.equal(expected);
      }
      expect(svg).to.include("<title>edge · Step 7 (t+7:00): 2 liquidations, 1 backstop</title>");
      expect(svg).to.include("<title>Step 7 (t+7:00) · liquidations: core 1, pro 2, edge 2 (1 backstop)</title>");
    });

    it("insurance and pool charts: one panel and series per tier, tier colours as everywhere", () => {
      for (const kind of ["insurance", "pool"]) {
        const svg = svgs.get(kind)!;
        expect(attr(svg, "data-series"), kind).to.equal("3");
        expect(countOf(svg, /<path class="series"/g), kind).to.equal(3);
        expect(countOf(svg, /<circle class="point"/g), kind).to.equal(3 * steps);
        expect(countOf(svg, /<text class="panel-title"/g), kind).to.equal(3);
        for (const tier of ["core", "pro", "edge"] as const) {
          expect(svg, `${kind} ${tier}`).to.match(new RegExp(`<path class="series"[^>]*stroke="${TIER_COLORS[tier]}"`));
        }
      }
      const insurance = svgs.get("insurance")!;
      // 250,000 + 11 liquidations × 400 of fees − the backstop's 41,235.
      expect(insurance).to.include("<title>edge · Step 7 (t+7:00): insurance fund $213,165</title>");
      expect(svgs.get("pool")).to.include("<title>core · Step 19 (t+19:00): pool equity $8,018,250</title>");
    });

    it("tier table: counts and dollar amounts formatted exactly, firewall ✓ with its detail", () => {
      expect(cell(html, "core", "liquidations")).to.equal("4");
      expect(cell(html, "pro", "liquidations")).to.equal("11");
      expect(cell(html, "edge", "liquidations")).to.equal("17");
      expect(cell(html, "edge", "backstops")).to.equal("1");
      expect(cell(html, "core", "accounts")).to.equal("60");
      expect(cell(html, "core", "badDebt")).to.equal("$0.00");
      expect(cell(html, "edge", "badDebt")).to.equal("$41,234.57");
      expect(cell(html, "edge", "insuranceUsed")).to.equal("$41,234.57");
      expect(cell(html, "edge", "reserveUsed")).to.equal("$0.00");
      expect(cell(html, "core", "poolPnl")).to.equal("+$18,250.42");
      expect(cell(html, "pro", "poolPnl")).to.equal("+$6,120.91");
      expect(cell(html, "edge", "poolPnl")).to.equal("-$12,500.00");
      expect(cell(html, "edge", "adlCount")).to.equal("0");
      expect(cell(html, "edge", "firewall")).to.equal(
        '<span class="check ok" aria-label="passed">✓</span>' +
          '<span class="detail">1 backstop deficit absorbed by edge&#39;s own insurance fund</span>',
      );
      expect(html).to.match(/<td class="num bad" data-field="badDebt">\$41,234\.57<\/td>/);
    });

    it("shows a breached firewall, invariant failures and a failing verdict", () => {
      const broken = sampleReport();
      broken.tiers[1]!.firewall = { ok: false, detail: "pool PnL moved by a core liquidation" };
      broken.invariants.failures = ["step 7: Σ collateral != vault balance (pro)"];
      const page = renderStressHtml(broken);
      expect(cell(page, "pro", "firewall")).to.include('<span class="check fail" aria-label="failed">✗</span>');
      expect(cell(page, "pro", "firewall")).to.include("pool PnL moved by a core liquidation");
      expect(page).to.include('<p class="verdict fail" role="status">Firewall breached in pro · 1 invariant failure');
      expect(page).to.include('<dd>280 checks · <strong class="fail">1 failure</strong></dd>');
      expect(page).to.include("<h2>Invariant failures (1)</h2>");
      expect(page).to.include("<li>step 7: Σ collateral != vault balance (pro)</li>");
      expect(html).to.not.include("Invariant failures");
    });

    it("shows the whale's outcome when the scenario has one, and no whale section otherwise", () => {
      expect(html).to.not.include('data-section="whale"');
      const report = sampleReport();
      report.whale = {
        account: "0x00000000000000000000000000000000000000000000000000000000000000a7",
        notional: "3000000000000000000000000",
        margin: "150000000000000000000000",
        withdrawn: "62059610000000000000000",
        liquidations: 0,
        takenOver: false,
        finalEquity: "-1250500000000000000000",
      };
      const page = renderStressHtml(report);
      const section = /<section class="card" data-section="whale">[\s\S]*?<\/section>/.exec(page)?.[0];
      expect(section, "whale section").to.be.a("string");
      expect(section).to.include("<dt>Notional at open</dt><dd>$3,000,000.00</dd>");
      expect(section).to.include("<dt>Margin deposited</dt><dd>$150,000.00</dd>");
      expect(section).to.include("<dt>Margin withdrawn</dt><dd>$62,059.61</dd>");
      expect(section).to.include('<dt>Ended</dt><dd><strong class="ok">never liquidated</strong></dd>');
      expect(section).to.include("<dt>Final equity</dt><dd>-$1,250.50</dd>");
      expect(renderTierTable(report)).to.match(
        /\nwhale: \$3,000,000\.00 notional on \$150,000\.00 margin, withdrew \$62,059\.61; never liquidated, final equity -\$1,250\.50$/,
      );
      expect(renderTierTable(sampleReport())).to.not.include("whale");

      report.whale.takenOver = true;
      expect(renderStressHtml(report)).to.include('<strong class="fail">taken over by the backstop</strong>');
      report.whale.takenOver = false;
      report.whale.liquidations = 2;
      expect(renderStressHtml(report)).to.include("<strong>2 partial liquidations</strong>");
    });

    it("escapes every text taken from the report", () => {
      const evil = sampleReport();
      const payload = `</title><script>alert("x")</script><img src=x onerror=alert(1)>`;
      evil.scenario.title = payload;
      evil.scenario.description = payload;
      evil.scenario.name = `x"><script>alert(2)</script>`;
      evil.scenario.sources = [payload, "javascript:alert(3)"];
      evil.scenario.assets = [payload];
      evil.chain = payload;
      evil.startedAt = payload;
      for (const step of evil.steps) {
        step.marketPrices = { [payload]: payload };
        step.oraclePrices = { [payload]: "1" };
      }
      evil.tiers[0]!.firewall.detail = payload;
      evil.invariants.failures = [payload];
      const page = renderStressHtml(evil);
      expect(page).to.not.match(/<script|<img|javascript:alert\(3\)"|href="javascript/i);
      expect(page).to.include("<title>Stress report: &lt;/title&gt;&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;");
      expect(page).to.include("&lt;img src=x onerror=alert(1)&gt;");
      expect(countOf(page, /<title>/g)).to.equal(countOf(page, /<\/title>/g));
    });

    it("renders a report without steps: four empty charts that say so, and the table", () => {
      const empty: StressReport = { ...sampleReport(), steps: [] };
      empty.gas = { liquidations: [], peakBlockGas: 0 };
      const page = renderStressHtml(empty);
      const found = charts(page);
      expect([...found.keys()]).to.deep.equal(["price", "liquidations", "insurance", "pool"]);
      for (const [kind, svg] of found) {
        expect(attr(svg, "data-points"), kind).to.equal("0");
        expect(svg, kind).to.include(">No steps recorded</text>");
        expect(svg, kind).to.not.match(/class="(series|point|bar|hit)"/);
      }
      expect(page).to.include("<dd>no liquidation transactions</dd>");
      expect(cell(page, "edge", "badDebt")).to.equal("$41,234.57");
      expect(page).to.not.match(/NaN|Infinity|undefined/);
    });

    it("renders a single step and flat series without NaN", () => {
      const one: StressReport = { ...sampleReport() };
      one.steps = one.steps.slice(0, 1);
      const page = renderStressHtml(one);
      const found = charts(page);
      expect(countOf(found.get("price")!, /<circle class="point"/g)).to.equal(6);
      expect(countOf(found.get("liquidations")!, /<rect class="bar"/g)).to.equal(0);
      expect(page).to.not.match(/NaN|Infinity|undefined/);
    });
  });

  describe("writeStressReport", () => {
    let dir: string;
    beforeEach(async () => {
      dir = await mkdtemp(path.join(tmpdir(), "strata-report-"));
    });
    afterEach(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it("writes reports/stress-<name>.json (pretty, round-trips) and .html", async () => {
      const report = sampleReport();
      const out = path.join(dir, "reports");
      const written = writeStressReport(report, out);
      expect(written).to.deep.equal({
        json: path.join(out, "stress-sample.json"),
        html: path.join(out, "stress-sample.html"),
      });
      const json = await readFile(written.json, "utf8");
      expect(json.startsWith('{\n  "scenario": {')).to.be.true;
      expect(JSON.parse(json)).to.deep.equal(report);
      expect(await readFile(written.html, "utf8")).to.equal(renderStressHtml(report));
    });

    it("writes a stray bigint as a decimal string, and refuses a name that is not a file stem", async () => {
      const report = sampleReport();
      (report.gas as { peakBlockGas: unknown }).peakBlockGas = 1_030_000n;
      const written = writeStressReport(report, dir);
      expect((JSON.parse(await readFile(written.json, "utf8")) as StressReport).gas.peakBlockGas).to.equal("1030000");
      for (const name of ["../evil", "a/b", "", ".hidden"]) {
        const bad = sampleReport();
        bad.scenario.name = name;
        expect(() => writeStressReport(bad, dir), name).to.throw(/not a file stem/);
      }
    });
  });
});
