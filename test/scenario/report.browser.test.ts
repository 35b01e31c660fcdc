/**
 * The stress report's HTML in a real browser: Debian's Chromium, driven by playwright-core (no browser download).
 * The sample report is written to a temporary directory and served on 127.0.0.1; the test checks that the four charts
 * laid out (non-empty boxes, the expected series, points and bars), that the page logged no error and requested
 * nothing but itself, and saves a full-page screenshot to reports/stress-sample.png (ignored by git).
 *
 * Chromium must be installed (`apt-get install -y chromium`; .ci/run does it in CI): without it the test fails.
 */
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import path from "node:path";

import { expect } from "chai";
import { chromium } from "playwright-core";

import { writeStressReport } from "../../sdk/src/scenario/html.js";
import { sampleReport } from "./fixtures/sampleReport.js";

/** Debian's Chromium (package `chromium`); CHROMIUM_PATH points elsewhere on other systems. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
/** Headless, and quiet: this machine's network is closed, so Chromium's own background connections are turned off. */
const FLAGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const SCREENSHOT = path.resolve("reports", "stress-sample.png");

describe("stress report in Chromium", function () {
  const report = sampleReport();
  const steps = report.steps.length;
  let dir: string;
  let server: Server;
  let url: string;
  const served: string[] = [];

  before(async function () {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `Chromium not found at ${CHROMIUM}. This browser test needs Debian's Chromium: install it with ` +
          "`apt-get update && apt-get install -y chromium` (as root; .ci/run does this in CI), " +
          "or set CHROMIUM_PATH to a Chromium binary.",
      );
    }
    dir = await mkdtemp(path.join(tmpdir(), "strata-report-browser-"));
    const { html } = writeStressReport(report, dir);
    const page = await readFile(html);
    server = createServer((req, res) => {
      served.push(req.url ?? "");
      if (req.url === "/stress-sample.html") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const { port } = server.address() as { port: number };
    url = `http://127.0.0.1:${port}/stress-sample.html`;
  });

  after(async function () {
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it("renders the four charts with their series, without errors or any other request, and saves a screenshot", async function () {
    const profile = await mkdtemp(path.join(tmpdir(), "strata-chromium-profile-"));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = await context.newPage();
      const errors: string[] = [];
      page.on("console", (message) => {
        if (message.type() === "error") errors.push(message.text());
      });
      page.on("pageerror", (error) => errors.push(error.message));
      const requested: string[] = [];
      context.on("request", (request) => {
        if (!request.url().startsWith("data:")) requested.push(request.url());
      });

      const response = await page.goto(url, { waitUntil: "load" });
      expect(response?.status()).to.equal(200);
      expect(await page.title()).to.equal(`Stress report: ${report.scenario.title}`);

      const nonZeroBars = report.steps.flatMap((s) => s.tiers.filter((t) => t.liquidations > 0)).length;
      const expected = [
        { kind: "price", series: 6, points: 6 * steps, bars: 0 },
        { kind: "liquidations", series: 0, points: 0, bars: nonZeroBars },
        { kind: "insurance", series: 3, points: 3 * steps, bars: 0 },
        { kind: "pool", series: 3, points: 3 * steps, bars: 0 },
      ];
      for (const chart of expected) {
        const svg = page.locator(`svg[data-chart="${chart.kind}"]`);
        expect(await svg.count(), chart.kind).to.equal(1);
        const box = await svg.boundingBox();
        expect(box, chart.kind).to.not.equal(null);
        expect(box!.width, `${chart.kind} width`).to.be.greaterThan(600);
        expect(box!.height, `${chart.kind} height`).to.be.greaterThan(150);
        expect(await svg.locator("path.series").count(), `${chart.kind} series`).to.equal(chart.series);
        expect(await svg.locator("circle.point").count(), `${chart.kind} points`).to.equal(chart.points);
        expect(await svg.locator("rect.bar").count(), `${chart.kind} bars`).to.equal(chart.bars);
        // What was drawn has a size of its own: a line's path, a bar's rectangle.
        const mark = chart.bars > 0 ? svg.locator("rect.bar").first() : svg.locator("path.series").first();
        const markBox = await mark.boundingBox();
        expect(markBox, `${chart.kind} mark`).to.not.equal(null);
        expect(markBox!.width * markBox!.height, `${chart.kind} mark area`).to.be.greaterThan(0);
        expect(await svg.locator(".legend text").count(), `${chart.kind} legend`).to.equal(
          chart.kind === "price" ? 6 : 3,
        );
      }
      expect(await page.locator("table.tiers tbody tr").count()).to.equal(3);

      await mkdir(path.dirname(SCREENSHOT), { recursive: true });
      await page.screenshot({ path: SCREENSHOT, fullPage: true });
      expect((await stat(SCREENSHOT)).size).to.be.greaterThan(10_000);

      expect(errors, "console errors").to.deep.equal([]);
      expect(requested, "requests").to.deep.equal([url]);
      expect(served, "served").to.deep.equal(["/stress-sample.html"]);
    } finally {
      await context.close();
      await rm(profile, { recursive: true, force: true });
    }
  });
});
