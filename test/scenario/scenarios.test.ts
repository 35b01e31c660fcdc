import { expect } from "chai";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";

import {
  formatPrice,
  generatedScenario,
  generatedScenarioNames,
  generateScenario,
  GENERATED_SCENARIOS,
  listScenarios,
  loadScenario,
  MIN_PRICE,
  mulberry32,
  oracleView,
  parseScenario,
  readScenario,
  resolvePrices,
  ScenarioError,
  type GeneratorParams,
  type Scenario,
} from "../../sdk/src/scenario/index.js";
import { Wallet } from "ethers";

import { localFoundationConfig } from "../../deploy/local.js";
import { actorsFromSigners } from "../../sdk/src/scenario/run.js";
import { expectNear } from "../helpers/approx.js";

const HISTORICAL = ["eth-whale-2025", "jelly-2025", "luna-2022", "mango-2022", "mar-2020", "oct-2025"];
const MAJORS = ["ETH/USD", "BTC/USD"];
const HOUR = 3600;
const ZERO = "0x0000000000000000000000000000000000000000";
const MINUTE = 60;

/** The price series of one asset: every point's time and price (carried forward where a point leaves it out). */
function series(points: Scenario["points"], asset: string): { t: number; price: number }[] {
  return resolvePrices(points).map((prices, i) => ({ t: points[i]!.t, price: Number(prices[asset]) }));
}

/** The lowest point of a series and its relative move from the first point. */
function low(s: { t: number; price: number }[]): { t: number; price: number; move: number } {
  const min = s.reduce((a, b) => (b.price < a.price ? b : a));
  return { ...min, move: min.price / s[0]!.price - 1 };
}

function high(s: { t: number; price: number }[]): { t: number; price: number; move: number } {
  const max = s.reduce((a, b) => (b.price > a.price ? b : a));
  return { ...max, move: max.price / s[0]!.price - 1 };
}

/** The ScenarioError a function throws (fails if it returns or throws anything else). */
function refusal(fn: () => unknown): ScenarioError {
  try {
    fn();
  } catch (error) {
    expect(error).to.be.instanceOf(ScenarioError);
    return error as ScenarioError;
  }
  expect.fail("expected a ScenarioError");
}

async function refusalAsync(promise: Promise<unknown>): Promise<ScenarioError> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(ScenarioError);
    return error as ScenarioError;
  }
  expect.fail("expected a ScenarioError");
}

/** A small valid scenario to break one field at a time. */
function base(): Scenario {
  return {
    name: "tiny",
    title: "Tiny",
    description: "A two-asset, four-point path.",
    sources: ["made up for a test"],
    kind: "generated",
    assets: [
      { id: "ETH/USD", tiers: [0, 1, 2] },
      { id: "BTC/USD", tiers: [0, 1, 2] },
    ],
    points: [
      { t: 0, prices: { "ETH/USD": "3000", "BTC/USD": "60000" } },
      { t: 60, prices: { "ETH/USD": "2900" } },
      { t: 120, prices: { "ETH/USD": "2800", "BTC/USD": "58000" } },
      { t: 180, prices: { "ETH/USD": "2700" } },
    ],
    oracle: { mode: "live" },
    keeperCapacityPerBlock: 10,
  };
}

/** The issues of a scenario that must not validate (the parse throws `InvalidScenario`). */
function invalid(mutate: (s: Scenario & Record<string, unknown>) => void): ScenarioError {
  const s = structuredClone(base()) as Scenario & Record<string, unknown>;
  mutate(s);
  const error = refusal(() => parseScenario(s, { source: "tiny.json" }));
  expect(error.code).to.equal("InvalidScenario");
  expect(error.message).to.contain("tiny.json is not a valid scenario");
  return error;
}

const CRASH: GeneratorParams = {
  name: "test-crash",
  open: { "ETH/USD": "3000", "BTC/USD": "60000", "SOL/USD": "150" },
  dropBpsPerStep: -200,
  stepSeconds: 60,
  steps: 20,
  correlation: 0.9,
  seed: 42,
  oracle: { mode: "live" },
  keeperCapacityPerBlock: 20,
};

describe("Scenarios (sdk/src/scenario)", () => {
  const scenarios = new Map<string, Scenario>();
  before(async () => {
    for (const name of HISTORICAL) scenarios.set(name, await loadScenario(name));
  });
  const get = (name: string): Scenario => scenarios.get(name)!;

  describe("historical files in scenarios/", () => {
    it("lists exactly the six scenario files, not the replay tool's paths/ folder", async () => {
      expect(await listScenarios()).to.deep.equal(HISTORICAL);
    });

    it("every file validates, is historical, has 20-60 points, cites sources and says what it approximated", () => {
      for (const name of HISTORICAL) {
        const s = get(name);
        expect(s.name, name).to.equal(name);
        expect(s.kind, name).to.equal("historical");
        expect(s.points.length, `${name}: points`).to.be.within(20, 60);
        expect(
          s.sources.some((src) => src.startsWith("https://")),
          `${name}: a URL source`,
        ).to.be.true;
        expect(s.sources.join(" "), `${name}: approximations stated`).to.match(/approximated/i);
        expect(s.keeperCapacityPerBlock, `${name}: keeper capacity`).to.be.within(10, 30);
      }
    });

    it("lists majors in every tier, SOL and LUNA in pro and edge, long-tail assets in edge only", () => {
      for (const name of HISTORICAL) {
        for (const asset of get(name).assets) {
          const expected = MAJORS.includes(asset.id) ? [0, 1, 2] : asset.longTail === true ? [2] : [1, 2];
          expect(asset.tiers, `${name} ${asset.id}`).to.deep.equal(expected);
        }
      }
      const longTail = HISTORICAL.flatMap((n) =>
        get(n)
          .assets.filter((a) => a.longTail === true)
          .map((a) => a.id),
      );
      expect(longTail).to.have.members(["JELLY/USD", "MNGO/USD", "ALT/USD"]);
    });

    it("mar-2020: ETH -30% around 12 h, low -51% vs open at about 26 h; BTC falls with it", () => {
      const s = get("mar-2020");
      const eth = series(s.points, "ETH/USD");
      const first30 = eth.find((p) => p.price / eth[0]!.price - 1 <= -0.3)!;
      expect(first30.t / HOUR).to.be.within(11, 13);
      const ethLow = low(eth);
      expectNear(ethLow.move, -0.51, 0.01);
      expectNear(ethLow.t / HOUR, 26, 1);
      expect(eth[0]!.price).to.equal(194.97);
      expect(ethLow.price).to.equal(95.87);
      const btcLow = low(series(s.points, "BTC/USD"));
      expectNear(btcLow.move, -0.51, 0.02);
      expect(btcLow.t).to.equal(ethLow.t);
      expect(s.oracle.mode).to.equal("live");
    });

    it("luna-2022: the feed never reports under its 0.10 floor while the market falls 90% and more below it", () => {
      const s = get("luna-2022");
      expect(s.oracle).to.deep.equal({ mode: "clamped", floor: { "LUNA/USD": "0.1" } });
      const market = series(s.points, "LUNA/USD");
      const feed = series(oracleView(s), "LUNA/USD");
      expect(low(market).price).to.be.at.most(0.01);
      expect(1 - low(market).price / 0.1).to.be.at.least(0.9);
      market.forEach((m, i) => {
        expect(feed[i]!.price, `t ${m.t}`).to.be.at.least(0.1);
        expect(feed[i]!.price, `t ${m.t}`).to.equal(Math.max(0.1, m.price));
      });
      // Hours below the floor while the feed sits on it.
      expect(market.filter((m) => m.price < 0.1).length).to.be.at.least(8);
      // ETH (no floor) is reported as it is.
      expect(series(oracleView(s), "ETH/USD")).to.deep.equal(series(s.points, "ETH/USD"));
    });

    it("mango-2022: MNGO +2,000% and more within about 10 minutes, then -97% from the peak", () => {
      const mngo = series(get("mango-2022").points, "MNGO/USD");
      const pump = high(mngo.filter((p) => p.t <= 10 * MINUTE));
      expect(pump.move).to.be.at.least(20); // +2,000%
      expect(pump.move).to.be.below(25);
      const after = low(mngo.filter((p) => p.t > pump.t));
      expectNear(after.price / pump.price - 1, -0.97, 0.01);
      // MNGO is long-tail (edge only); ETH/USD is held flat to populate every tier.
      expect(get("mango-2022").assets).to.deep.equal([
        { id: "MNGO/USD", tiers: [2], longTail: true },
        { id: "ETH/USD", tiers: [0, 1, 2] },
      ]);
      expect([...new Set(series(get("mango-2022").points, "ETH/USD").map((p) => p.price))]).to.deep.equal([1300]);
    });

    it("jelly-2025: JELLY +400-500% within about an hour", () => {
      const jelly = series(get("jelly-2025").points, "JELLY/USD");
      const squeeze = high(jelly.filter((p) => p.t <= HOUR));
      expect(squeeze.move).to.be.within(4, 5);
      expect(high(jelly)).to.deep.equal(squeeze);
    });

    it("oct-2025: BTC -12%, ETH -16%, SOL -31%, ALT -80% (each within 1 pp) within 45 minutes", () => {
      const s = get("oct-2025");
      const expected: Record<string, number> = {
        "BTC/USD": -0.12,
        "ETH/USD": -0.16,
        "SOL/USD": -0.31,
        "ALT/USD": -0.8,
      };
      for (const [asset, move] of Object.entries(expected)) {
        const l = low(series(s.points, asset));
        expectNear(l.move, move, 0.01, asset);
        expect(l.t, asset).to.be.at.most(45 * MINUTE);
      }
      expect(s.expectations).to.deep.equal({
        core: { noBadDebt: true, absorbedInTier: true },
        pro: { absorbedInTier: true },
        edge: { absorbedInTier: true },
      });
    });

    it("eth-whale-2025: one 50x edge-tier whale withdraws at its profit peak; ETH then falls through 1,915 and 1,896.7", () => {
      const s = get("eth-whale-2025");
      const whale = s.whale!;
      expect(whale).to.include({ asset: "ETH/USD", tier: 2, side: "long", leverage: 50, openAtStep: 0 });
      expect(s.description).to.contain("one account");
      const eth = series(s.points, "ETH/USD");
      const entry = eth[whale.openAtStep]!.price;
      const withdrawal = whale.withdrawals[0]!;
      const atWithdrawal = eth[withdrawal.atStep]!.price;
      expect(entry).to.equal(1884.4);
      expect(atWithdrawal).to.equal(high(eth).price); // it withdraws at its unrealised-profit peak
      expect(atWithdrawal / entry - 1).to.be.within(0.02, 0.03);
      const later = eth.slice(withdrawal.atStep + 1).map((p) => p.price);
      expect(later).to.include.members([1915, 1896.7]);
      expect(Math.min(...later) / atWithdrawal - 1).to.be.below(-0.02);
      // The path alone is calm: every point within 5% of the entry.
      for (const p of eth) expect(Math.abs(p.price / entry - 1)).to.be.below(0.05);
    });
  });

  describe("validation", () => {
    it("accepts the base scenario and returns it unchanged", () => {
      expect(parseScenario(base())).to.deep.equal(base());
    });

    it("refuses times that do not start at 0 or do not strictly increase", () => {
      expect(invalid((s) => (s.points[0]!.t = 5)).issues).to.include(
        "points[0].t: the first point is the start: set t to 0 (found 5)",
      );
      expect(invalid((s) => (s.points[2]!.t = 60)).issues).to.include(
        "points[2].t: 60 is not after the previous point's t (60): times strictly increase",
      );
      expect(invalid((s) => (s.points[1]!.t = 30.5)).issues).to.include(
        "points[1].t: 30.5 is not a whole, non-negative number of seconds",
      );
    });

    it("refuses a first point without every asset, and prices of undeclared assets", () => {
      expect(invalid((s) => delete s.points[0]!.prices["BTC/USD"]).issues).to.include(
        'points[0].prices: "BTC/USD" has no opening price: the first point prices every asset',
      );
      expect(invalid((s) => (s.points[1]!.prices["DOGE/USD"] = "0.1")).issues).to.include(
        'points[1].prices: "DOGE/USD" is not in assets; add it to assets or fix the name',
      );
    });

    it("refuses prices that are not positive decimal strings", () => {
      const zero = invalid((s) => (s.points[1]!.prices["ETH/USD"] = "0"));
      expect(zero.issues).to.include('points[1].prices["ETH/USD"]: "0" is zero; a price must be positive');
      const negative = invalid((s) => (s.points[1]!.prices["ETH/USD"] = "-5"));
      expect(negative.issues[0]).to.match(/^points\[1\]\.prices\["ETH\/USD"\]: "-5" is not a decimal price/);
      const number = invalid((s) => ((s.points[1]!.prices as Record<string, unknown>)["ETH/USD"] = 2900));
      expect(number.issues).to.include(
        'points[1].prices["ETH/USD"]: write the price 2900 as a string ("2900"), so that no digit is lost to floating point',
      );
    });

    it("refuses an oracle spec inconsistent with its mode", () => {
      expect(invalid((s) => (s.oracle = { mode: "delayed" })).issues).to.include(
        'oracle.delaySteps: missing: mode "delayed" needs the lag in points',
      );
      expect(invalid((s) => (s.oracle = { mode: "delayed", delaySteps: 4 })).issues).to.include(
        "oracle.delaySteps: 4 is not shorter than the path (4 points): lower it",
      );
      expect(invalid((s) => (s.oracle = { mode: "live", floor: { "ETH/USD": "1" } })).issues).to.include(
        'oracle.floor: is not used in mode "live": remove it, or set the mode that uses it',
      );
      expect(invalid((s) => (s.oracle = { mode: "stalled", stallFromStep: 2, stallSteps: 3 })).issues).to.include(
        "oracle.stallSteps: the stall (points 2..4) runs past the path's last point (3): shorten it or add points",
      );
      expect(invalid((s) => (s.oracle = { mode: "clamped" })).issues).to.include(
        'oracle: mode "clamped" needs a floor or a ceiling for at least one asset',
      );
      const crossed = invalid(
        (s) => (s.oracle = { mode: "clamped", floor: { "ETH/USD": "3000" }, ceiling: { "ETH/USD": "2000" } }),
      );
      expect(crossed.issues).to.include('oracle.floor["ETH/USD"]: 3000 is not below the ceiling 2000');
      expect(invalid((s) => (s.oracle = { mode: "clamped", floor: { "LUNA/USD": "0.1" } })).issues).to.include(
        'oracle.floor: "LUNA/USD" is not in assets',
      );
      expect(invalid((s) => ((s.oracle as unknown as Record<string, unknown>).mode = "frozen")).issues).to.include(
        'oracle.mode: mode is one of "live", "delayed", "stalled", "clamped"',
      );
    });

    it("refuses a sequencer outage outside the path", () => {
      expect(invalid((s) => (s.sequencer = { downFromStep: 2, downSteps: 5, graceSeconds: 60 })).issues).to.include(
        "sequencer.downSteps: the outage (points 2..6) runs past the path's last point (3): shorten it or add points",
      );
      expect(invalid((s) => (s.sequencer = { downFromStep: 0, downSteps: 1, graceSeconds: 60 })).issues).to.include(
        "sequencer.downFromStep: is 0: the sequencer is up at the opening point; start the outage at 1 or later",
      );
    });

    it("refuses tiers outside {0, 1, 2}, repeated tiers, and a long-tail asset outside the edge tier", () => {
      expect(invalid((s) => (s.assets[0]!.tiers = [0, 3])).issues).to.include(
        "assets[0].tiers: tier 3 does not exist; tiers are 0, 1, 2 (core, pro, edge)",
      );
      expect(invalid((s) => (s.assets[0]!.tiers = [1, 1])).issues).to.include(
        "assets[0].tiers: tier 1 is listed twice",
      );
      expect(invalid((s) => (s.assets[1] = { id: "BTC/USD", tiers: [1, 2], longTail: true })).issues).to.include(
        "assets[1].tiers: a long-tail asset is listed in the outer tier only: set tiers to [2] (or drop longTail)",
      );
    });

    it("names missing and unknown fields, and reports every problem at once", () => {
      const error = invalid((s) => {
        delete (s as Record<string, unknown>).keeperCapacityPerBlock;
        s.colour = "red";
      });
      expect(error.issues).to.have.members([
        "keeperCapacityPerBlock: missing; add it (see Scenario in sdk/src/scenario/types.ts)",
        '(the scenario): unknown field(s) "colour"; remove or rename (see Scenario in sdk/src/scenario/types.ts)',
      ]);
      const many = invalid((s) => {
        s.points[0]!.t = 1;
        s.assets[0]!.tiers = [7];
        s.oracle = { mode: "delayed" };
      });
      expect(many.issues).to.have.length(3);
      expect(many.message.split("\n").filter((l) => l.startsWith("  - "))).to.have.length(3);
      expect(many.hint).to.contain("sdk/src/scenario/types.ts");
    });

    it("checks the whale: its market and tier, and withdrawals after the open inside the path", () => {
      const whale = { asset: "ETH/USD", tier: 2, side: "long", leverage: 50, notionalUsd: "1000000", openAtStep: 1 };
      expect(parseScenario({ ...base(), whale: { ...whale, withdrawals: [{ atStep: 2, share: 1 }] } }).whale).to.exist;
      const error = refusal(() =>
        parseScenario({ ...base(), whale: { ...whale, asset: "SOL/USD", withdrawals: [{ atStep: 1, share: 0.5 }] } }),
      );
      expect(error.issues).to.have.members([
        'whale.asset: "SOL/USD" is not in assets',
        "whale.withdrawals[0].atStep: 1 is not after openAtStep (1)",
      ]);
      const share = refusal(() =>
        parseScenario({ ...base(), whale: { ...whale, withdrawals: [{ atStep: 2, share: 2 }] } }),
      );
      expect(share.issues).to.include("whale.withdrawals[0].share: share is at most 1 (all the margin check allows)");
    });

    describe("files", () => {
      let dir: string;
      before(async () => {
        dir = await mkdtemp(path.join(tmpdir(), "strata-scenarios-"));
        await writeFile(path.join(dir, "tiny.json"), JSON.stringify(base()));
        await writeFile(path.join(dir, "renamed.json"), JSON.stringify(base()));
        await writeFile(path.join(dir, "broken.json"), '{ "name": "broken", }');
        await writeFile(path.join(dir, "notes.txt"), "not a scenario");
        await mkdir(path.join(dir, "paths"));
        await writeFile(path.join(dir, "paths", "eth.json"), "[]");
      });
      after(async () => {
        await rm(dir, { recursive: true, force: true });
      });

      it("lists only the JSON files directly in the folder", async () => {
        expect(await listScenarios(dir)).to.deep.equal(["broken", "renamed", "tiny"]);
      });

      it("loads a scenario by name", async () => {
        expect(await loadScenario("tiny", dir)).to.deep.equal(base());
      });

      it("refuses a file whose name field differs from the file name", async () => {
        const error = await refusalAsync(readScenario(path.join(dir, "renamed.json")));
        expect(error.issues).to.deep.equal(['name: "tiny" differs from the file name (renamed.json): make them equal']);
      });

      it("refuses a file that is not JSON", async () => {
        const error = await refusalAsync(loadScenario("broken", dir));
        expect(error.code).to.equal("InvalidScenario");
        expect(error.message).to.match(/broken\.json is not JSON: /);
      });

      it("refuses an unknown or malformed name, listing the scenarios there", async () => {
        const missing = await refusalAsync(loadScenario("nope", dir));
        expect(missing.code).to.equal("ScenarioNotFound");
        expect(missing.message).to.contain("nope.json does not exist");
        expect(missing.hint).to.equal("Use one of: broken, renamed, tiny.");
        const traversal = await refusalAsync(loadScenario("../tiny", dir));
        expect(traversal.code).to.equal("ScenarioNotFound");
        expect(traversal.message).to.contain('a scenario name is kebab-case, e.g. "oct-2025"');
      });
    });
  });

  describe("generator", () => {
    it("mulberry32 is deterministic and uniform in [0, 1)", () => {
      const a = mulberry32(7);
      const b = mulberry32(7);
      const draws = Array.from({ length: 1000 }, () => a());
      expect(draws).to.deep.equal(Array.from({ length: 1000 }, () => b()));
      expect(Math.min(...draws)).to.be.at.least(0);
      expect(Math.max(...draws)).to.be.below(1);
      expectNear(draws.reduce((x, y) => x + y, 0) / draws.length, 0.5, 0.05);
      expect(mulberry32(8)()).to.not.equal(mulberry32(7)());
    });

    it("formats prices with 8 significant digits as plain decimals, never at or below 0", () => {
      expect(formatPrice(2940.123456789)).to.equal("2940.1235");
      expect(formatPrice(0.000123456789)).to.equal("0.00012345679");
      expect(formatPrice(123456789.4)).to.equal("123456789");
      expect(formatPrice(3000)).to.equal("3000");
      expect(formatPrice(1e-12)).to.equal("0.00000001");
      expect(formatPrice(0)).to.equal("0.00000001");
      expect(MIN_PRICE).to.equal(1e-8);
    });

    it("is deterministic: the same parameters give the same scenario, another seed other noise", () => {
      const one = generateScenario(CRASH);
      expect(generateScenario(CRASH)).to.deep.equal(one);
      const other = generateScenario({ ...CRASH, seed: 43 });
      expect(series(other.points, "ETH/USD")).to.deep.equal(series(one.points, "ETH/USD"));
      expect(series(other.points, "BTC/USD")).to.not.deep.equal(series(one.points, "BTC/USD"));
    });

    it("drops the lead asset (the first key of open) by dropBpsPerStep per step, compounded", () => {
      const s = generateScenario(CRASH);
      expect(s.points).to.have.length(21);
      expect(s.points.map((p) => p.t)).to.deep.equal(Array.from({ length: 21 }, (_, k) => k * 60));
      series(s.points, "ETH/USD").forEach((p, k) => {
        expectNear(p.price / (3000 * 0.98 ** k) - 1, 0, 1e-7, `step ${k}`);
      });
      expect(s.points[0]!.prices).to.deep.equal(CRASH.open);
    });

    it("with correlation 1 every asset makes the lead's relative move; below 1 they diverge", () => {
      const same = generateScenario({ ...CRASH, correlation: 1 });
      const eth = series(same.points, "ETH/USD");
      for (const asset of ["BTC/USD", "SOL/USD"]) {
        series(same.points, asset).forEach((p, k) => {
          const moved = p.price / Number(CRASH.open[asset]);
          expectNear(moved / (eth[k]!.price / 3000) - 1, 0, 2e-7, `${asset} step ${k}`);
        });
      }
      const loose = generateScenario({ ...CRASH, correlation: 0.5 });
      const btc = series(loose.points, "BTC/USD").map((p) => p.price / 60000);
      const lead = series(loose.points, "ETH/USD").map((p) => p.price / 3000);
      expect(btc.some((m, k) => Math.abs(m / lead[k]! - 1) > 0.01)).to.be.true;
    });

    it("writes prices as positive decimal strings of at most 8 significant digits", () => {
      const s = generateScenario({ ...CRASH, dropBpsPerStep: -9_000, steps: 12, correlation: 0.3 });
      for (const point of s.points.slice(1)) {
        for (const price of Object.values(point.prices)) {
          expect(price).to.match(/^\d+(\.\d+)?$/);
          expect(Number(price)).to.be.at.least(MIN_PRICE);
          expect(price.replace(".", "").replace(/^0+/, "").length).to.be.at.most(8);
        }
      }
      expect(s.points.at(-1)!.prices["ETH/USD"]).to.equal("0.00000001");
    });

    it("passes the oracle, the sequencer and the keeper capacity through; assets default to every tier", () => {
      const s = generateScenario({
        ...CRASH,
        oracle: { mode: "delayed", delaySteps: 3 },
        sequencer: { downFromStep: 4, downSteps: 2, graceSeconds: 120 },
        keeperCapacityPerBlock: 3,
      });
      expect(s.oracle).to.deep.equal({ mode: "delayed", delaySteps: 3 });
      expect(s.sequencer).to.deep.equal({ downFromStep: 4, downSteps: 2, graceSeconds: 120 });
      expect(s.keeperCapacityPerBlock).to.equal(3);
      expect(s.kind).to.equal("generated");
      expect(s.assets.map((a) => a.tiers)).to.deep.equal([
        [0, 1, 2],
        [0, 1, 2],
        [0, 1, 2],
      ]);
      expect(parseScenario(JSON.parse(JSON.stringify(s)))).to.deep.equal(s);
      const custom = generateScenario({
        ...CRASH,
        assets: [
          { id: "ETH/USD", tiers: [0, 1, 2] },
          { id: "BTC/USD", tiers: [0, 1, 2] },
          { id: "SOL/USD", tiers: [1, 2] },
        ],
      });
      expect(custom.assets[2]).to.deep.equal({ id: "SOL/USD", tiers: [1, 2] });
    });

    it("refuses parameters out of range, and ones whose scenario would not validate", () => {
      const params = refusal(() => generateScenario({ ...CRASH, correlation: 1.5, steps: 0, dropBpsPerStep: -10_000 }));
      expect(params.code).to.equal("InvalidGeneratorParams");
      expect(params.issues).to.have.members([
        "correlation: 1.5 is not within 0..1",
        "steps: 0 is not a whole number ≥ 1",
        "dropBpsPerStep: -10000 is not above -10000 (a -100% step would price the lead at 0)",
      ]);
      const delay = refusal(() => generateScenario({ ...CRASH, oracle: { mode: "delayed", delaySteps: 30 } }));
      expect(delay.code).to.equal("InvalidGeneratorParams");
      expect(delay.issues).to.deep.equal(["oracle.delaySteps: 30 is not shorter than the path (21 points): lower it"]);
    });
  });

  describe("oracle view", () => {
    const crash = (oracle: GeneratorParams["oracle"]): Scenario => generateScenario({ ...CRASH, oracle });

    it("live: the market points (a copy)", () => {
      const s = crash({ mode: "live" });
      const view = oracleView(s);
      expect(view).to.deep.equal(s.points);
      expect(view[1]).to.not.equal(s.points[1]);
    });

    it("delayed: the feed's price at point i is the market's at point i - k (the opening before k)", () => {
      const s = crash({ mode: "delayed", delaySteps: 3 });
      const market = resolvePrices(s.points);
      const feed = resolvePrices(oracleView(s));
      feed.forEach((prices, i) => expect(prices, `point ${i}`).to.deep.equal(market[Math.max(0, i - 3)]));
      expect(oracleView(s)[1]!.prices).to.deep.equal({});
    });

    it("stalled: no round during the window (stale at the last price), then a catch-up of every asset", () => {
      const s = crash({ mode: "stalled", stallFromStep: 5, stallSteps: 6 });
      const view = oracleView(s);
      const market = resolvePrices(s.points);
      const feed = resolvePrices(view);
      for (let i = 5; i <= 10; i++) {
        expect(view[i]!.prices, `point ${i}`).to.deep.equal({});
        expect(feed[i], `point ${i}`).to.deep.equal(market[4]);
      }
      expect(view[11]!.prices).to.deep.equal(market[11]);
      for (const i of [0, 1, 4, 11, 12, 20]) expect(feed[i], `point ${i}`).to.deep.equal(market[i]);
      expect(view.map((p) => p.t)).to.deep.equal(s.points.map((p) => p.t));
    });

    it("stalled on a sparse path: the catch-up reports assets the market point left out", () => {
      // BTC moves at point 2, inside the stall; point 3 moves ETH only.
      const s = parseScenario({ ...base(), oracle: { mode: "stalled", stallFromStep: 1, stallSteps: 2 } });
      const view = oracleView(s);
      expect(view.map((p) => p.prices)).to.deep.equal([
        { "ETH/USD": "3000", "BTC/USD": "60000" },
        {},
        {},
        { "ETH/USD": "2700", "BTC/USD": "58000" },
      ]);
      expect(resolvePrices(view).at(-1)).to.deep.equal(resolvePrices(s.points).at(-1));
    });

    it("clamped: max(floor, min(ceiling, price)) for assets with bounds, others untouched", () => {
      const s = crash({ mode: "clamped", floor: { "ETH/USD": "2500" }, ceiling: { "BTC/USD": "59000" } });
      const market = resolvePrices(s.points);
      const feed = resolvePrices(oracleView(s));
      feed.forEach((prices, i) => {
        expect(Number(prices["ETH/USD"])).to.equal(Math.max(2500, Number(market[i]!["ETH/USD"])));
        expect(Number(prices["BTC/USD"])).to.equal(Math.min(59000, Number(market[i]!["BTC/USD"])));
        expect(prices["SOL/USD"]).to.equal(market[i]!["SOL/USD"]);
      });
      expect(feed.at(-1)!["ETH/USD"]).to.equal("2500");
    });
  });

  describe("named generated scenarios", () => {
    it("all six generate, validate and isolate their failure mode", () => {
      expect(generatedScenarioNames()).to.deep.equal([
        "gen-dead-feed",
        "gen-delayed-crash",
        "gen-low-keeper-capacity",
        "gen-sequencer-outage",
        "gen-stalled-feed",
        "gen-steady-crash",
      ]);
      const steady = generatedScenario("gen-steady-crash");
      expect(steady.oracle).to.deep.equal({ mode: "live" });
      expect(steady.points).to.have.length(21);
      expectNear(low(series(steady.points, "ETH/USD")).move, 0.98 ** 20 - 1, 1e-6);
      expect(generatedScenario("gen-delayed-crash").oracle).to.deep.equal({ mode: "delayed", delaySteps: 2 });
      expect(generatedScenario("gen-stalled-feed").oracle.mode).to.equal("stalled");
      expect(generatedScenario("gen-sequencer-outage").sequencer).to.deep.equal({
        downFromStep: 6,
        downSteps: 4,
        graceSeconds: 300,
      });
      expect(generatedScenario("gen-low-keeper-capacity").keeperCapacityPerBlock).to.equal(2);
      for (const name of generatedScenarioNames()) {
        const s = generatedScenario(name);
        expect(s.name).to.equal(name);
        expect(GENERATED_SCENARIOS[name]!.name).to.equal(name);
        // The same crash minute by minute; the dead feed needs longer points to outlive the feeds' maximum age.
        if (name !== "gen-dead-feed")
          expect(series(s.points, "ETH/USD")).to.deep.equal(series(steady.points, "ETH/USD"));
      }
    });

    it("gen-dead-feed: no round for longer than the feeds' maximum age while the market falls, then a catch-up", () => {
      const dead = generatedScenario("gen-dead-feed");
      expect(dead.points.map((p) => p.t)).to.deep.equal(Array.from({ length: 13 }, (_, k) => k * 600));
      expect(dead.oracle).to.deep.equal({ mode: "stalled", stallFromStep: 2, stallSteps: 9 });
      const feed = oracleView(dead);
      const rounds = feed.filter((p) => p.prices["ETH/USD"] !== undefined).map((p) => p.t);
      expect(rounds).to.deep.equal([0, 600, 6600, 7200]);
      // The ETH feed's maximum age in the deployment every scenario runs on (deploy/local.ts).
      const holders = { risk: ZERO, guardian: ZERO, oracle: ZERO, controller: ZERO };
      const maxAge = localFoundationConfig(holders).assets.find((a) => a.id === "ETH/USD")!.primaryMaxAgeSeconds!;
      expect(6600 - 600).to.be.greaterThan(maxAge);
      // The market fell 2% a point through the silence: the catch-up round is 0.98^10 of the last one.
      const eth = resolvePrices(feed).map((p) => Number(p["ETH/USD"]));
      expectNear(eth[11]! / eth[1]! - 1, 0.98 ** 10 - 1, 1e-6);
    });

    it("takes a run's seven roles from the first seven signers, and refuses a node with fewer", () => {
      const signers = Array.from({ length: 8 }, () => Wallet.createRandom());
      const actors = actorsFromSigners(signers);
      const roles = [actors.deployer, actors.executor, actors.oracle, actors.lp, actors.traderOwner];
      expect([...roles, actors.makerOwner, actors.keeper]).to.deep.equal(signers.slice(0, 7));
      const error = refusal(() => actorsFromSigners(signers.slice(0, 6)));
      expect(error.code).to.equal("UnsuitableNode");
      expect(error.message).to.equal("The node has 6 funded accounts; a scenario needs 7.");
      expect(error.hint).to.contain("hardhat node, or anvil");
    });

    it("refuses an unknown name, listing the known ones", () => {
      const error = refusal(() => generatedScenario("gen-nope"));
      expect(error.code).to.equal("ScenarioNotFound");
      expect(error.hint).to.contain("gen-steady-crash");
    });
  });
});
