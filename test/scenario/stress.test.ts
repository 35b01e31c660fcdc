/**
 * The cascading-shock suite (DESIGN §8, issue #6): every historical scenario in scenarios/ and every generated
 * case, each on a fresh in-process chain with the full population (300 traders over three tiers, their makers,
 * LPs and insurance funds) and keepers liquidating at the scenario's capacity per block. The runner checks
 * DESIGN §6 after every step; here each run must end with no violation, the firewall intact in every tier, every
 * tier's bad debt absorbed by its own waterfall, and the outcomes each scenario states.
 */
import { expect } from "chai";

import { DEFAULT_POPULATION } from "../../sdk/src/scenario/population.js";
import { resolveScenario, runAndReport, scenarioNames } from "../../sdk/src/scenario/run.js";
import type { ScenarioRun } from "../../sdk/src/scenario/runner.js";
import type { Scenario, StressReport } from "../../sdk/src/scenario/types.js";
import { embeddedScenarioEnvironment } from "../helpers/scenario.js";

/** The reserve each tier may draw per epoch (deploy/tiers.ts): core 250,000, pro 100,000, edge none. */
const RESERVE_CAP = [250_000n, 100_000n, 0n].map((usd) => usd * 10n ** 18n);

const runs = new Map<string, { scenario: Scenario; run: ScenarioRun }>();

/** Runs `name` once (reports under reports/), memoized for the file's tests. */
async function run(name: string): Promise<{ scenario: Scenario; run: ScenarioRun; report: StressReport }> {
  let entry = runs.get(name);
  if (entry === undefined) {
    const scenario = await resolveScenario(name);
    const { run } = await runAndReport(scenario, await embeddedScenarioEnvironment());
    entry = { scenario, run };
    runs.set(name, entry);
  }
  return { ...entry, report: entry.run.report };
}

const tier = (report: StressReport, name: "core" | "pro" | "edge") => report.tiers.find((t) => t.name === name)!;
const sum = (...xs: string[]) => xs.reduce((a, x) => a + BigInt(x), 0n);

/** What every run must show, whatever the scenario. */
function expectSound(scenario: Scenario, { report, stats }: ScenarioRun): void {
  expect(report.invariants.failures, report.invariants.failures.join("\n")).to.deep.equal([]);
  expect(report.steps).to.have.length(scenario.points.length);
  expect(report.invariants.checks).to.be.at.least(3 * scenario.points.length);
  const traders = DEFAULT_POPULATION.tiers.reduce((n, t) => n + t.traders, 0);
  expect(report.tiers.reduce((n, t) => n + t.accounts, 0)).to.be.at.least(Math.min(300, traders));
  for (const t of report.tiers) {
    expect(t.firewall.ok, `${t.name}: ${t.firewall.detail}`).to.equal(true);
    // Every deficit absorbed by a named step of the tier's own waterfall (DESIGN §5, §6.5).
    const s = stats[t.tier]!;
    expect(s.insuranceUsed + s.reserveUsed + s.poolAbsorbed + s.adlAbsorbed, `${t.name} waterfall`).to.equal(
      BigInt(t.badDebt),
    );
    expect(BigInt(t.reserveUsed) <= RESERVE_CAP[t.tier]!, `${t.name} reserve within its allowance`).to.equal(true);
    const expectation = scenario.expectations?.[t.name];
    if (expectation?.noBadDebt === true) expect(t.badDebt, `${t.name} bad debt`).to.equal("0");
    if (expectation?.minLiquidations !== undefined) {
      expect(t.liquidations + t.backstops).to.be.at.least(expectation.minLiquidations);
    }
  }
  // Every liquidation transaction's gas is recorded; the peak block is the largest keeper block.
  if (report.gas.liquidations.length > 0) {
    expect(report.gas.peakBlockGas).to.be.at.least(Math.max(...report.gas.liquidations));
  }
}

/** A shock on a market listed in edge only: edge liquidates, core and pro see nothing at all. */
async function expectEdgeOnlyShock(name: string): Promise<void> {
  const { scenario, run: r, report } = await run(name);
  expectSound(scenario, r);
  expect(tier(report, "edge").liquidations + tier(report, "edge").backstops).to.be.greaterThan(0);
  for (const inner of ["core", "pro"] as const) {
    const t = tier(report, inner);
    expect([t.liquidations, t.backstops, t.adlCount], inner).to.deep.equal([0, 0, 0]);
    expect(sum(t.badDebt, t.insuranceUsed, t.reserveUsed, t.poolPnl), inner).to.equal(0n);
  }
}

describe("cascading-shock scenarios (DESIGN §8)", function () {
  this.timeout(600_000);

  it("lists six historical scenarios and six generated cases", async () => {
    const names = await scenarioNames();
    for (const name of ["mar-2020", "luna-2022", "mango-2022", "eth-whale-2025", "jelly-2025", "oct-2025"]) {
      expect(names).to.include(name);
    }
    expect(names.filter((n) => n.startsWith("gen-"))).to.have.length(6);
  });

  describe("historical", () => {
    it("10 Oct 2025: the innermost tier ends with no bad debt; pro and edge absorb theirs in-tier", async () => {
      const { scenario, run: r, report } = await run("oct-2025");
      expectSound(scenario, r);
      expect(tier(report, "core").badDebt).to.equal("0");
      expect(tier(report, "pro").liquidations + tier(report, "pro").backstops).to.be.greaterThan(0);
      expect(tier(report, "edge").backstops).to.be.greaterThan(0);
      // Edge is not eligible for the reserve: its deficits fall on its insurance fund and its LPs only.
      expect(tier(report, "edge").reserveUsed).to.equal("0");
    });

    it("March 2020: −51% over 26 hours liquidates in every tier; the reserve helps only eligible tiers, within their allowance", async () => {
      const { scenario, run: r, report } = await run("mar-2020");
      expectSound(scenario, r);
      for (const t of report.tiers) expect(t.liquidations + t.backstops, t.name).to.be.greaterThan(0);
      expect(tier(report, "edge").reserveUsed).to.equal("0");
    });

    it("LUNA May 2022: the feed clamps at its floor while the market falls 90% further; the loss stays in pro and edge", async () => {
      const { scenario, run: r, report } = await run("luna-2022");
      expectSound(scenario, r);
      const floor = Number(scenario.oracle.floor!["LUNA/USD"]);
      const market = report.steps.map((s) => Number(s.marketPrices["LUNA/USD"]));
      const oracle = report.steps.map((s) => Number(s.oraclePrices["LUNA/USD"]));
      expect(Math.min(...market)).to.be.at.most(floor / 10);
      expect(Math.min(...oracle)).to.equal(floor);
      // LUNA is not listed in core: core's figures move with ETH only, and it takes no LUNA loss.
      expect(tier(report, "core").badDebt).to.equal("0");
    });

    it("Mango Oct 2022: +2,000% then −97% on a thin edge-only market; core and pro see nothing", async () => {
      await expectEdgeOnlyShock("mango-2022");
    });

    it("JELLY March 2025: +400–500% in an hour on a low-cap edge market; core and pro see nothing", async () => {
      await expectEdgeOnlyShock("jelly-2025");
    });

    it("the March 2025 whale: it can withdraw only margin in hand above IM, never its unrealized profit, and leaves no bad debt", async () => {
      const { scenario, run: r, report } = await run("eth-whale-2025");
      expectSound(scenario, r);
      const whale = report.whale!;
      expect(whale, "the whale's outcome").to.not.equal(undefined);
      expect(BigInt(whale.withdrawn)).to.be.greaterThan(0n);
      expect(BigInt(whale.withdrawn) < BigInt(whale.margin)).to.equal(true);
      for (const t of report.tiers) expect(t.badDebt, t.name).to.equal("0");
    });
  });

  describe("generated", () => {
    it("a steady crash: every tier liquidates, every loss absorbed in its tier", async () => {
      const { scenario, run: r, report } = await run("gen-steady-crash");
      expectSound(scenario, r);
      expect(tier(report, "edge").liquidations + tier(report, "edge").backstops).to.be.greaterThan(0);
    });

    it("a delayed oracle: liquidations trail the market, losses still stay in their tiers", async () => {
      const { scenario, run: r, report } = await run("gen-delayed-crash");
      expectSound(scenario, r);
      // The feeds report two points late: at point 2 they still show the open.
      expect(report.steps[2]!.oraclePrices["ETH/USD"]).to.equal(scenario.points[0]!.prices["ETH/USD"]);
    });

    it("a stalled feed: no round while it stalls, one catch-up jump after", async () => {
      const { scenario, run: r, report } = await run("gen-stalled-feed");
      expectSound(scenario, r);
      const { stallFromStep, stallSteps } = scenario.oracle;
      const frozen = report.steps[stallFromStep! - 1]!.oraclePrices["ETH/USD"];
      for (let k = stallFromStep!; k < stallFromStep! + stallSteps!; k++) {
        expect(report.steps[k]!.oraclePrices["ETH/USD"], `point ${k}`).to.equal(frozen);
      }
    });

    it("a dead feed: 90 minutes without a round while the market falls; the catch-up's losses stay in their tiers", async () => {
      const { scenario, run: r, report } = await run("gen-dead-feed");
      expectSound(scenario, r);
      const { stallFromStep, stallSteps } = scenario.oracle;
      const end = stallFromStep! + stallSteps!;
      const frozen = report.steps[stallFromStep! - 1]!.oraclePrices["ETH/USD"];
      for (let k = stallFromStep!; k < end; k++) {
        expect(report.steps[k]!.oraclePrices["ETH/USD"], `point ${k}`).to.equal(frozen);
      }
      expect(report.steps[end]!.oraclePrices["ETH/USD"]).to.equal(report.steps[end]!.marketPrices["ETH/USD"]);
      // The losses the silence hid land at the catch-up: takeovers in the leveraged tiers, none in core.
      const atCatchUp = report.steps[end]!.tiers;
      expect(atCatchUp[1]!.backstops + atCatchUp[2]!.backstops).to.be.greaterThan(0);
      expect(tier(report, "core").badDebt).to.equal("0");
      expect(BigInt(tier(report, "pro").badDebt) + BigInt(tier(report, "edge").badDebt)).to.be.greaterThan(0n);
    });

    it("a sequencer outage: nothing lands while it is down, then the grace period, then the keepers catch up", async () => {
      const { scenario, run: r, report } = await run("gen-sequencer-outage");
      expectSound(scenario, r);
      const { downFromStep, downSteps } = scenario.sequencer!;
      for (let k = downFromStep; k < downFromStep + downSteps; k++) {
        const step = report.steps[k]!;
        expect(
          step.tiers.every((t) => t.liquidations === 0 && t.backstops === 0),
          `point ${k}`,
        ).to.equal(true);
        expect(step.blocks, `point ${k}: only the sequencer's status`).to.be.at.most(1);
      }
    });

    it("low keeper capacity: at most two liquidations per block, and more bad debt than with room to act", async () => {
      const { scenario, run: r, report } = await run("gen-low-keeper-capacity");
      expectSound(scenario, r);
      expect(scenario.keeperCapacityPerBlock).to.equal(2);
      const steady = (await run("gen-steady-crash")).report;
      const badDebt = (rep: StressReport) => rep.tiers.reduce((a, t) => a + BigInt(t.badDebt), 0n);
      expect(badDebt(report) >= badDebt(steady), "a slower keeper never lowers bad debt").to.equal(true);
      // No step lands more than two per keeper block.
      for (const step of report.steps) {
        const landed = step.tiers.reduce((n, t) => n + t.liquidations + t.backstops, 0);
        expect(landed, `point ${step.step}`).to.be.at.most(2 * step.blocks);
      }
    });
  });
});
