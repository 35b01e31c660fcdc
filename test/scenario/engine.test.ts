/**
 * The scenario engine (sdk/src/scenario) on the in-process chain, on paths written here: a correlated crash
 * with a long-tail collapse checks the run's accounting, and a counterfactual pair — the same path with and
 * without an edge-only collapse, from one snapshot — proves the tier firewall figure by figure (DESIGN §6.2).
 */
import { expect } from "chai";

import { Log } from "ethers";

import { accountBucket } from "../../sdk/src/client/buckets.js";
import type { FoundationDeployment } from "../../sdk/src/deploy/foundation.js";
import {
  checkFirewallLogs,
  checkTierConservation,
  tierSnapshot,
  type TierFlows,
} from "../../sdk/src/scenario/checks.js";
import { ClearingHouse__factory, CollateralVault__factory } from "../../types/index.js";
import { checkWaterfall, checkWaterfallOrder, type LiquidationEvent } from "../../sdk/src/scenario/events.js";
import { DEFAULT_POPULATION, type PopulationPlan } from "../../sdk/src/scenario/population.js";
import { prepareScenario, runPath, runScenario } from "../../sdk/src/scenario/runner.js";
import { formatUsd } from "../../sdk/src/scenario/html.js";
import { renderTierTable } from "../../sdk/src/scenario/table.js";
import type { Scenario, ScenarioPoint } from "../../sdk/src/scenario/types.js";
import { embeddedScenarioEnvironment } from "../helpers/scenario.js";

/** 40 traders per tier: the engine's logic, quickly (the historical scenarios run the full population). */
const SMALL: PopulationPlan = {
  ...DEFAULT_POPULATION,
  tiers: DEFAULT_POPULATION.tiers.map((t) => ({ ...t, traders: 40 })),
};

/** A path of `steps` points `every` seconds apart, each asset moving by its factor per step. */
function path(
  open: Record<string, number>,
  factor: Record<string, number>,
  steps: number,
  every = 300,
): ScenarioPoint[] {
  return Array.from({ length: steps + 1 }, (_, i) => ({
    t: i * every,
    prices: Object.fromEntries(
      Object.entries(open).map(([asset, price]) => [asset, (price * (factor[asset] ?? 1) ** i).toFixed(6)]),
    ),
  }));
}

function scenario(points: ScenarioPoint[]): Scenario {
  return {
    name: "engine-test",
    title: "engine test",
    description: "a path written by the test",
    sources: ["written by test/scenario/engine.test.ts"],
    kind: "generated",
    assets: [
      { id: "ETH/USD", tiers: [0, 1, 2] },
      { id: "BTC/USD", tiers: [0, 1, 2] },
      { id: "ALT/USD", tiers: [2], longTail: true },
    ],
    points,
    oracle: { mode: "live" },
    keeperCapacityPerBlock: 15,
  };
}

describe("scenario engine (sdk/src/scenario)", function () {
  this.timeout(300_000);

  it("the waterfall checks: insurance first, then whole reserve units within the allowance, then the pool", () => {
    const WAD = 10n ** 18n;
    const scale = 10n ** 12n;
    const account = (2n << 248n) | 7n;
    const pro = (1n << 248n) | 9n;
    // Pro: a partial liquidation feeds pro's insurance by penalty − reward; a takeover's deficit of 1,000.5 and
    // 5 wei then takes 300 from insurance, 700.5 from the reserve in whole token units (micro-USDC: the 5 wei do
    // not make one), and the 5 wei from the pool.
    const events: LiquidationEvent[] = [
      {
        kind: "liquidated",
        account: pro,
        tier: 1,
        market: 1,
        closedSize: WAD,
        penalty: 120n * WAD,
        keeperReward: 20n * WAD,
      },
      {
        kind: "backstop",
        account: pro,
        tier: 1,
        positions: 1n,
        equity: -((10_005n * WAD) / 10n + 5n),
        keeperReward: WAD,
      },
      { kind: "step", account: pro, tier: 1, step: 1, amount: 50n * WAD },
      { kind: "step", account: pro, tier: 1, step: 2, amount: 300n * WAD },
      { kind: "step", account: pro, tier: 1, step: 3, amount: (7_005n * WAD) / 10n },
      { kind: "step", account: pro, tier: 1, step: 4, amount: 5n },
    ];
    const funds = { insurance: new Map([[1, 200n * WAD]]), reserve: new Map([[1, 5_000n * 10n ** 6n]]), scale };
    expect(checkWaterfallOrder(events, funds)).to.deep.equal([]);
    expect(checkWaterfall(events)).to.deep.equal([]);
    // The pool taking what the insurance fund could have paid is out of order, and the sums no longer close.
    const skipped = events.map((e) =>
      e.kind === "step" && e.step === 2
        ? { ...e, amount: 0n }
        : e.kind === "step" && e.step === 4
          ? { ...e, amount: 300n * WAD + 5n }
          : e,
    );
    expect(checkWaterfallOrder(skipped, funds)).to.have.length(2);
    expect(checkWaterfall(skipped)).to.deep.equal([]);
    // Without allowance (edge is ineligible) the reserve pays nothing.
    const edge = events.map((e) => ({ ...e, account, tier: 2 }));
    expect(
      checkWaterfallOrder(edge, { ...funds, insurance: new Map([[2, 200n * WAD]]), reserve: new Map([[2, 0n]]) }),
    ).to.include(`§5 tier 2 account 0x${account.toString(16)} step 3: absorbed ${(7_005n * WAD) / 10n}, expected 0`);
    // A step missing from a takeover with a deficit breaks the sums.
    expect(checkWaterfall(events.filter((e) => !(e.kind === "step" && e.step === 4)))).to.deep.equal([
      `account 0x${pro.toString(16)}: step 4 missing`,
      `account 0x${pro.toString(16)}: steps 2–4 absorbed ${(10_005n * WAD) / 10n} of a deficit of ${(10_005n * WAD) / 10n + 5n}`,
    ]);
  });

  it("the firewall checks name every tier a breach involves (a fill across tiers fails both), and pass a clean log", () => {
    const vault = "0x00000000000000000000000000000000000000a1";
    const clearing = "0x00000000000000000000000000000000000000c1";
    const usdc = "0x00000000000000000000000000000000000000d1";
    const d = { addresses: { vault, clearing } } as unknown as FoundationDeployment;
    const owner = "0x00000000000000000000000000000000000000e1";
    const [core, pro, edge] = [0, 1, 2].map((tier) => accountBucket(owner, tier, 1n));
    const log = (address: string, encoded: { data: string; topics: string[] }, tx: string) =>
      new Log(
        {
          ...encoded,
          address,
          transactionHash: tx,
          blockHash: `0x${"0".repeat(64)}`,
          blockNumber: 1,
          index: 0,
          transactionIndex: 0,
          removed: false,
        },
        null as never,
      );
    const CH = ClearingHouse__factory.createInterface();
    const VAULT = CollateralVault__factory.createInterface();
    const fill = (taker: bigint, maker: bigint, tx: string) =>
      log(clearing, CH.encodeEventLog("FillApplied", [taker, maker, 1, 10n, 3000n, 0n, 0n, 0n, 0n, 0n, 0n]), tx);
    const flows: TierFlows = { net: new Map() };

    expect(checkFirewallLogs(d, [fill(pro!, pro!, "0x01")], flows)).to.deep.equal([]);
    expect(checkFirewallLogs(d, [fill(core!, pro!, "0x02")], flows)).to.deep.equal([
      { tiers: [0, 1], message: "§6.2 a fill across tiers 0 → 1 (tx 0x02)" },
    ]);
    const draw = log(vault, VAULT.encodeEventLog("ReserveDrawn", [1, edge!, usdc, 5n, 0n]), "0x03");
    expect(checkFirewallLogs(d, [draw], flows)).to.deep.equal([
      { tiers: [1, 2], message: "§6.2 tier 1's reserve draw went to tier 2" },
    ]);
    // The reserve draw counts as tier 1's inflow: tier 1 holding 5 more is explained; tier 2 holding 5 more is not.
    const start = new Map([
      [1, new Map([[usdc, 100n]])],
      [2, new Map([[usdc, 100n]])],
    ]);
    const now = new Map([
      [1, new Map([[usdc, 105n]])],
      [2, new Map([[usdc, 105n]])],
    ]);
    expect(checkTierConservation(start, now, flows)).to.deep.equal([
      { tiers: [2], message: `§6.2 tier 2 holds 105 of ${usdc}; its own flows explain 100` },
    ]);
  });

  it("a correlated crash and a long-tail collapse: every tier's loss is absorbed by its own waterfall, §6 holds after every step", async () => {
    const points = path(
      { "ETH/USD": 3000, "BTC/USD": 60000, "ALT/USD": 2 },
      { "ETH/USD": 0.96, "BTC/USD": 0.97, "ALT/USD": 0.8 },
      12,
    );
    const env = await embeddedScenarioEnvironment();
    const { report, stats, events } = await runScenario(scenario(points), env, {
      feedPoints: points,
      population: SMALL,
    });

    expect(report.invariants.failures, report.invariants.failures.join("\n")).to.deep.equal([]);
    expect(report.invariants.checks).to.be.greaterThan(3 * points.length);
    expect(report.steps).to.have.length(points.length);
    for (const t of report.tiers) expect(t.firewall.ok, `${t.name}: ${t.firewall.detail}`).to.equal(true);
    // −39% on ETH liquidates in every tier; edge's 25x and the alt's −93% take accounts over.
    for (const t of report.tiers) expect(t.liquidations + t.backstops, t.name).to.be.greaterThan(0);
    expect(report.tiers[2]!.backstops).to.be.greaterThan(0);

    // The report's figures are the events' sums, tier by tier; bad debt is the takeovers' deficits, and what
    // the insurance fund, the reserve and the pool absorbed adds up to it (ADL never ran: no pool went negative).
    for (const [tier, s] of stats.entries()) {
      const t = report.tiers[tier]!;
      const mine = events.filter((e) => e.tier === tier);
      expect(t.liquidations).to.equal(mine.filter((e) => e.kind === "liquidated").length);
      expect(t.backstops).to.equal(mine.filter((e) => e.kind === "backstop").length);
      const deficits = mine.reduce((sum, e) => (e.kind === "backstop" && e.equity < 0n ? sum - e.equity : sum), 0n);
      expect(BigInt(t.badDebt)).to.equal(deficits);
      expect(s.insuranceUsed + s.reserveUsed + s.poolAbsorbed + s.adlAbsorbed).to.equal(deficits);
    }
    // Edge is not eligible for the reserve.
    expect(report.tiers[2]!.reserveUsed).to.equal("0");
    // Every liquidation transaction's gas is recorded, and the peak block is the largest of them.
    expect(report.gas.liquidations.length).to.be.greaterThan(0);
    expect(report.gas.peakBlockGas).to.be.at.least(Math.max(...report.gas.liquidations));

    const table = renderTierTable(report);
    for (const t of report.tiers) expect(table).to.contain(formatUsd(t.badDebt));
    expect(table).to.contain("all passed");
  });

  it("the firewall, counterfactually: an edge-only collapse leaves every figure of core and pro unchanged", async () => {
    // Majors flat; the alt (listed in edge only) collapses by 90%, or stays flat.
    const open = { "ETH/USD": 3000, "BTC/USD": 60000, "ALT/USD": 2 };
    const crash = path(open, { "ALT/USD": 0.75 }, 8);
    const flat = path(open, {}, 8);
    const env = await embeddedScenarioEnvironment();
    const prepared = await prepareScenario(scenario(crash), env, { population: SMALL });
    // Both runs are read at one time, long after either ends: pending funding is then the same function of time.
    const closeAt = (await env.provider.getBlock("latest"))!.timestamp + 200_000;
    const figures = async () => {
      await env.node.send("evm_setNextBlockTimestamp", [closeAt]);
      await env.node.send("evm_mine", []);
      return {
        inner: await tierSnapshot(prepared.d, prepared.everyAccount, prepared.marketsOfTier, [0, 1]),
        edge: await tierSnapshot(prepared.d, prepared.everyAccount, prepared.marketsOfTier, [2]),
      };
    };
    const snapshot = await env.node.send("evm_snapshot", []);
    const a = await runPath(prepared, { feedPoints: crash, points: crash });
    const withCrash = await figures();
    await env.node.send("evm_revert", [snapshot]);
    const b = await runPath(prepared, { feedPoints: flat, points: flat });
    const withoutCrash = await figures();

    expect(a.report.tiers[2]!.liquidations + a.report.tiers[2]!.backstops).to.be.greaterThan(0);
    expect(b.report.tiers.every((t) => t.liquidations + t.backstops === 0)).to.equal(true);
    expect(a.report.invariants.failures).to.deep.equal([]);
    expect(Object.keys(withCrash.inner).length).to.be.greaterThan(80);
    expect(withCrash.inner).to.deep.equal(withoutCrash.inner);
    expect(withCrash.edge).to.not.deep.equal(withoutCrash.edge);
  });
});
