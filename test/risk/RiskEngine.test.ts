import { expect } from "chai";
import { encodeBytes32String, MaxUint256, ZeroAddress, type ContractTransactionResponse } from "ethers";

import { MockERC20__factory } from "../../types/index.js";
import { connectChain } from "../helpers/foundation.js";
import {
  BPS,
  BTC,
  BTC_MARKET,
  CORE,
  CORE_BTC,
  CORE_ETH,
  DAY,
  EDGE,
  EDGE_BTC,
  EDGE_ETH,
  ETH,
  ETH_MARKET,
  MAX_PARAM_STEP_BPS,
  MAX_UINT128,
  MAX_UINT96,
  PARAM_COOLDOWN,
  PRO,
  PRO_BTC,
  PRO_ETH,
  QUOTE_RISK,
  RAMP_DURATION,
  WAD,
  WBTC_CORE,
  WETH_CORE,
  WETH_PRO,
  allowedStep,
  collateralKey,
  collateralTuple,
  deployRiskFixture,
  marketKey,
  marketRiskTuple,
  param,
  rampedRatios,
  ratios,
  ratiosTuple,
  requirements,
  toCollateralRisk,
  toMarketRisk,
  toRatios,
  w,
  weightedValue,
  withRatios,
  type CollateralRisk,
  type MarketRisk,
  type Ratios,
  type RiskFixture,
} from "./riskFixture.js";

const chain = await connectChain();
const { ethers, networkHelpers } = chain;
const { time } = networkHelpers;

/** The engine as listed: ETH in core, pro and edge; BTC in pro; every listing's cooldown still running. */
function fixture() {
  return deployRiskFixture(chain);
}

/** The fixture one cooldown later: every tier × market and tier × collateral may change once. */
async function settledFixture() {
  const f = await deployRiskFixture(chain);
  await time.increase(PARAM_COOLDOWN);
  return f;
}

/** BTC listed in every tier (core CORE_BTC >= pro PRO_BTC >= edge EDGE_BTC), one cooldown later. */
async function btcEverywhereFixture() {
  const f = await deployRiskFixture(chain);
  await (await f.engine.addMarketToTier(CORE, BTC_MARKET, CORE_BTC)).wait();
  await (await f.engine.addMarketToTier(EDGE, BTC_MARKET, EDGE_BTC)).wait();
  await time.increase(PARAM_COOLDOWN);
  return f;
}

// ====================================================================== helpers

const SOL = encodeBytes32String("SOL/USD");
const E24 = 10n ** 24n;

/** The latest block's timestamp: the `block.timestamp` that view calls run at. */
const now = async (): Promise<bigint> => BigInt(await time.latest());

/** Moves the chain to exactly `t` (views then run at `t`). */
async function timeTo(t: bigint): Promise<void> {
  const n = await now();
  if (t < n) throw new Error(`timeTo: cannot go back from ${n} to ${t}`);
  if (t > n) await time.increaseTo(t);
}

async function currentRatios(f: RiskFixture, tier: number, market: number): Promise<Ratios> {
  return toRatios(await f.engine.currentRatios(tier, market));
}

async function marketRiskOf(f: RiskFixture, tier: number, market: number): Promise<MarketRisk> {
  return toMarketRisk(await f.engine.marketRisk(tier, market));
}

async function collateralRiskOf(f: RiskFixture, tier: number, token: string): Promise<CollateralRisk> {
  return toCollateralRisk(await f.engine.collateralRisk(tier, token));
}

async function requirementsOf(f: RiskFixture, tier: number, market: number, notional: bigint): Promise<bigint[]> {
  return [...(await f.engine.requirements(tier, market, notional))];
}

async function newToken(f: RiskFixture, decimals: number): Promise<string> {
  const t = await new MockERC20__factory(f.deployer).deploy(`T${decimals}`, `T${decimals}`, decimals);
  await t.waitForDeployment();
  return t.getAddress();
}

/** Deploys raw init code and returns the new contract's address. */
async function deployRaw(f: RiskFixture, initCode: string): Promise<string> {
  const receipt = (await (await f.deployer.sendTransaction({ data: initCode })).wait())!;
  return receipt.contractAddress!;
}

/** Init code of a contract whose runtime is a single STOP: every call succeeds and returns no data. */
const SILENT_CONTRACT = "0x6001600c60003960016000f300";
/** Init code of a contract that returns uint256(1000) to every call (not a valid uint8). */
const RETURNS_1000 = "0x600b600c600039600b6000f3" + "6103e860005260206000f3";

// ---------------------------------------------------------------------- envelope rows (addMarketToTier, setMarketRisk)

type Expected = [error: "ParameterOutOfEnvelope" | "RiskInconsistentRatios", args: unknown[]];

const envelope = (name: string, value: bigint, min: bigint, max: bigint): Expected => [
  "ParameterOutOfEnvelope",
  [param(name), value, min, max],
];
const inconsistent = (m: MarketRisk): Expected => [
  "RiskInconsistentRatios",
  [m.ratios.imr, m.ratios.mmr, m.ratios.bmr, m.liquidationPenaltyBps],
];

/** [label, change of a valid config, expected error of the changed config]. */
const ENVELOPE_ROWS: [string, (r: MarketRisk) => MarketRisk, (m: MarketRisk) => Expected][] = [
  ["imr below 50", (r) => withRatios(r, { imr: 49n }), () => envelope("imr", 49n, 50n, BPS)],
  ["imr above 100%", (r) => withRatios(r, { imr: 10_001n }), () => envelope("imr", 10_001n, 50n, BPS)],
  ["mmr below 25", (r) => withRatios(r, { mmr: 24n }), () => envelope("mmr", 24n, 25n, BPS)],
  ["mmr above 100%", (r) => withRatios(r, { mmr: 10_001n }), () => envelope("mmr", 10_001n, 25n, BPS)],
  ["bmr below 10", (r) => withRatios(r, { bmr: 9n }), () => envelope("bmr", 9n, 10n, BPS)],
  ["bmr above 100%", (r) => withRatios(r, { bmr: 10_001n }), () => envelope("bmr", 10_001n, 10n, BPS)],
  ["imr == mmr", (r) => withRatios(r, { imr: r.ratios.mmr }), inconsistent],
  ["imr < mmr", (r) => withRatios(r, { imr: r.ratios.mmr - 1n }), inconsistent],
  ["mmr == bmr", (r) => ({ ...withRatios(r, { mmr: r.ratios.bmr }), liquidationPenaltyBps: 0n }), inconsistent],
  ["mmr < bmr", (r) => ({ ...withRatios(r, { mmr: r.ratios.bmr - 1n }), liquidationPenaltyBps: 0n }), inconsistent],
  ["penalty above mmr - bmr", (r) => ({ ...r, liquidationPenaltyBps: r.ratios.mmr - r.ratios.bmr + 1n }), inconsistent],
  [
    "penalty above bmr (within mmr - bmr)",
    (r) => ({ ...withRatios(r, { imr: 500n, mmr: 250n, bmr: 100n }), liquidationPenaltyBps: 101n }),
    inconsistent,
  ],
  ["maxLeverage 0", (r) => ({ ...r, maxLeverage: 0n }), (m) => envelope("maxLeverage", 0n, 1n, BPS / m.ratios.imr)],
  [
    "maxLeverage above 10000 / imr",
    (r) => ({ ...r, maxLeverage: BPS / r.ratios.imr + 1n }),
    (m) => envelope("maxLeverage", m.maxLeverage, 1n, BPS / m.ratios.imr),
  ],
  [
    "maxLeverage above floor(10000 / imr) for imr 300",
    (r) => ({ ...withRatios(r, { imr: 300n }), maxLeverage: 34n }),
    () => envelope("maxLeverage", 34n, 1n, 33n),
  ],
  [
    "bracketAddBps1 above 2000",
    (r) => ({ ...r, bracketAddBps1: 2_001n }),
    () => envelope("bracketAddBps1", 2_001n, 0n, 2_000n),
  ],
  [
    "bracketAddBps2 above 2000",
    (r) => ({ ...r, bracketAddBps2: 2_001n }),
    () => envelope("bracketAddBps2", 2_001n, 0n, 2_000n),
  ],
  [
    "bracketNotional2 below bracketNotional1",
    (r) => ({ ...r, bracketNotional1: w("100000"), bracketNotional2: w("100000") - 1n }),
    () => envelope("bracketNotional2", w("100000") - 1n, w("100000"), MAX_UINT96),
  ],
  [
    "keeperShareBps above 100%",
    (r) => ({ ...r, keeperShareBps: 10_001n }),
    () => envelope("keeperShareBps", 10_001n, 0n, BPS),
  ],
  [
    "keeperRewardCap above 1e24",
    (r) => ({ ...r, keeperRewardCap: E24 + 1n }),
    () => envelope("keeperRewardCap", E24 + 1n, 0n, E24),
  ],
  ["oiCap 0", (r) => ({ ...r, oiCap: 0n }), () => envelope("oiCap", 0n, 1n, MAX_UINT128)],
  ["priceBandBps below 10", (r) => ({ ...r, priceBandBps: 9n }), () => envelope("priceBandBps", 9n, 10n, 2_000n)],
  [
    "priceBandBps above 2000",
    (r) => ({ ...r, priceBandBps: 2_001n }),
    () => envelope("priceBandBps", 2_001n, 10n, 2_000n),
  ],
  ["makerFeeBps above 100", (r) => ({ ...r, makerFeeBps: 101n }), () => envelope("makerFeeBps", 101n, 0n, 100n)],
  ["takerFeeBps above 100", (r) => ({ ...r, takerFeeBps: 101n }), () => envelope("takerFeeBps", 101n, 0n, 100n)],
  [
    "maxFundingBpsPerDay above 1000",
    (r) => ({ ...r, maxFundingBpsPerDay: 1_001n }),
    () => envelope("maxFundingBpsPerDay", 1_001n, 0n, 1_000n),
  ],
  [
    "fundingSkewScale 0",
    (r) => ({ ...r, fundingSkewScale: 0n }),
    () => envelope("fundingSkewScale", 0n, 1n, MAX_UINT128),
  ],
];

/** Every field at the low end of its envelope (ratios, fees...) or the high end (adds, leverage, caps). */
const LOW_BOUNDS: MarketRisk = {
  ratios: ratios(50n, 25n, 10n),
  bracketNotional1: WAD,
  bracketAddBps1: 2_000n,
  bracketNotional2: WAD, // equal to bracketNotional1: allowed
  bracketAddBps2: 2_000n,
  maxLeverage: 200n,
  liquidationPenaltyBps: 10n, // = bmr (<= mmr - bmr = 15)
  keeperShareBps: BPS,
  keeperRewardCap: E24,
  oiCap: MAX_UINT128,
  priceBandBps: 2_000n,
  makerFeeBps: 100n,
  takerFeeBps: 100n,
  maxFundingBpsPerDay: 1_000n,
  fundingSkewScale: MAX_UINT128,
};

/** The opposite ends. bracketNotional2 = 0 (off) although bracketNotional1 is set. */
const HIGH_BOUNDS: MarketRisk = {
  ratios: ratios(BPS, BPS - 1n, BPS - 2n),
  bracketNotional1: MAX_UINT96,
  bracketAddBps1: 0n,
  bracketNotional2: 0n,
  bracketAddBps2: 0n,
  maxLeverage: 1n,
  liquidationPenaltyBps: 1n,
  keeperShareBps: 0n,
  keeperRewardCap: 0n,
  oiCap: 1n,
  priceBandBps: 10n,
  makerFeeBps: 0n,
  takerFeeBps: 0n,
  maxFundingBpsPerDay: 0n,
  fundingSkewScale: 1n,
};

// ====================================================================== tests

describe("RiskEngine", () => {
  describe("deployment", () => {
    it("exposes the documented bounds", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const engine = f.engine;
      expect(await engine.MAX_TIERS()).to.equal(16n);
      expect(await engine.MAX_MARKETS_PER_TIER()).to.equal(16n);
      expect(await engine.MAX_COLLATERALS_PER_TIER()).to.equal(4n);
      expect(await engine.MAX_POSITIONS_PER_ACCOUNT()).to.equal(8n);
      expect(await engine.MIN_IMR()).to.equal(50n);
      expect(await engine.MIN_MMR()).to.equal(25n);
      expect(await engine.MIN_BMR()).to.equal(10n);
      expect(await engine.MAX_LEVERAGE()).to.equal(200n);
      expect(await engine.MAX_BRACKET_ADD()).to.equal(2_000n);
      expect(await engine.MAX_KEEPER_REWARD_CAP()).to.equal(E24);
      expect(await engine.MIN_PRICE_BAND()).to.equal(10n);
      expect(await engine.MAX_PRICE_BAND()).to.equal(2_000n);
      expect(await engine.MAX_FEE()).to.equal(100n);
      expect(await engine.MAX_FUNDING_PER_DAY()).to.equal(1_000n);
      expect(await engine.MIN_WEIGHT()).to.equal(100n);
      expect(await engine.MAX_PARAM_STEP_BPS()).to.equal(MAX_PARAM_STEP_BPS);
      expect(await engine.PARAM_COOLDOWN()).to.equal(PARAM_COOLDOWN);
      expect(await engine.RAMP_DURATION()).to.equal(RAMP_DURATION);
      expect(await engine.authority()).to.equal(await f.manager.getAddress());
    });

    it("holds the fixture's tiers, markets and collaterals", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      expect([...(await f.engine.tierConfig(CORE))]).to.deep.equal([true, 0n, 6n, 8n, f.usdcAddress]);
      expect([...(await f.engine.tierConfig(PRO))]).to.deep.equal([true, 1n, 6n, 8n, f.usdcAddress]);
      expect([...(await f.engine.tierConfig(EDGE))]).to.deep.equal([true, 2n, 6n, 4n, f.usdcAddress]);
      expect([...(await f.engine.tierConfig(9))]).to.deep.equal([false, 0n, 0n, 0n, ZeroAddress]);
      expect([...(await f.engine.tierMarkets(CORE))]).to.deep.equal([1n]);
      expect([...(await f.engine.tierMarkets(PRO))]).to.deep.equal([1n, 2n]);
      expect([...(await f.engine.tierMarkets(EDGE))]).to.deep.equal([1n]);
      expect([...(await f.engine.tierMarkets(9))]).to.deep.equal([]);
      expect([...(await f.engine.tierCollaterals(CORE))]).to.deep.equal([f.usdcAddress, f.wethAddress, f.wbtcAddress]);
      expect([...(await f.engine.tierCollaterals(PRO))]).to.deep.equal([f.usdcAddress, f.wethAddress]);
      expect([...(await f.engine.tierCollaterals(EDGE))]).to.deep.equal([f.usdcAddress]);
      expect(await marketRiskOf(f, CORE, ETH_MARKET)).to.deep.equal(CORE_ETH);
      expect(await marketRiskOf(f, PRO, ETH_MARKET)).to.deep.equal(PRO_ETH);
      expect(await marketRiskOf(f, EDGE, ETH_MARKET)).to.deep.equal(EDGE_ETH);
      expect(await marketRiskOf(f, PRO, BTC_MARKET)).to.deep.equal(PRO_BTC);
      expect(await currentRatios(f, CORE, ETH_MARKET)).to.deep.equal(CORE_ETH.ratios);
      expect(await currentRatios(f, EDGE, ETH_MARKET)).to.deep.equal(EDGE_ETH.ratios);
      expect(await collateralRiskOf(f, CORE, f.usdcAddress)).to.deep.equal(QUOTE_RISK);
      expect(await collateralRiskOf(f, CORE, f.wethAddress)).to.deep.equal(WETH_CORE);
      expect(await collateralRiskOf(f, CORE, f.wbtcAddress)).to.deep.equal(WBTC_CORE);
      expect(await collateralRiskOf(f, PRO, f.wethAddress)).to.deep.equal(WETH_PRO);
      expect((await collateralRiskOf(f, EDGE, f.wethAddress)).listed).to.equal(false);
      expect(await f.engine.marketOracleAsset(ETH_MARKET)).to.equal(ETH);
      expect(await f.engine.marketOracleAsset(BTC_MARKET)).to.equal(BTC);
    });
  });

  // -------------------------------------------------------------------- access control

  describe("access control", () => {
    it("maps each restricted function to its role and rejects everyone else with AccessManagedUnauthorized", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      type Who = "deployer" | "risk" | "mallory";
      const calls: [fn: string, allowed: Who, send: (who: Who) => Promise<ContractTransactionResponse>][] = [
        ["listTier", "deployer", (s) => f.engine.connect(f[s]).listTier(3, 3, f.usdcAddress, 8)],
        ["listMarket", "deployer", (s) => f.engine.connect(f[s]).listMarket(3, SOL)],
        ["addMarketToTier", "deployer", (s) => f.engine.connect(f[s]).addMarketToTier(EDGE, BTC_MARKET, EDGE_BTC)],
        [
          "addCollateralToTier",
          "deployer",
          (s) => f.engine.connect(f[s]).addCollateralToTier(EDGE, f.wethAddress, WETH_PRO),
        ],
        [
          "setMarketRisk",
          "risk",
          (s) => f.engine.connect(f[s]).setMarketRisk(PRO, ETH_MARKET, { ...PRO_ETH, oiCap: PRO_ETH.oiCap + WAD }),
        ],
        [
          "setCollateralRisk",
          "risk",
          (s) => f.engine.connect(f[s]).setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, weightBps: 7_900n }),
        ],
      ];
      const everyone: Who[] = ["deployer", "risk", "mallory"];
      for (const [fn, allowed, send] of calls) {
        for (const who of everyone.filter((x) => x !== allowed)) {
          await expect(send(who), `${fn} by ${who}`)
            .to.be.revertedWithCustomError(f.engine, "AccessManagedUnauthorized")
            .withArgs(f[who].address);
        }
      }
      for (const [, allowed, send] of calls) await (await send(allowed)).wait();
      expect((await f.engine.tierConfig(3)).listed).to.equal(true);
      expect(await f.engine.marketOracleAsset(3)).to.equal(SOL);
      expect(await marketRiskOf(f, EDGE, BTC_MARKET)).to.deep.equal(EDGE_BTC);
      expect(await collateralRiskOf(f, EDGE, f.wethAddress)).to.deep.equal(WETH_PRO);
      expect((await marketRiskOf(f, PRO, ETH_MARKET)).oiCap).to.equal(PRO_ETH.oiCap + WAD);
      expect((await collateralRiskOf(f, CORE, f.wethAddress)).weightBps).to.equal(7_900n);
    });
  });

  // -------------------------------------------------------------------- listTier

  describe("listTier", () => {
    it("lists a tier with its quote token as first collateral at full weight, emitting TierListed and CollateralRiskSet", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const tx = f.engine.listTier(3, 5, f.wethAddress, 1);
      await expect(tx).to.emit(f.engine, "TierListed").withArgs(3, 5, f.wethAddress, 1);
      await expect(tx).to.emit(f.engine, "CollateralRiskSet").withArgs(3, f.wethAddress, collateralTuple(QUOTE_RISK));
      expect([...(await f.engine.tierConfig(3))]).to.deep.equal([true, 5n, 18n, 1n, f.wethAddress]);
      expect([...(await f.engine.tierCollaterals(3))]).to.deep.equal([f.wethAddress]);
      expect([...(await f.engine.tierMarkets(3))]).to.deep.equal([]);
      expect(await collateralRiskOf(f, 3, f.wethAddress)).to.deep.equal(QUOTE_RISK);
      expect(await f.engine.weightedCollateralValue(3, f.wethAddress, 12_345n)).to.equal(12_345n);
      expect(await f.engine.weightedCollateralValue(3, f.wethAddress, w("7000000.000000000000000001"))).to.equal(
        w("7000000.000000000000000001"),
      );
    });

    it("emits TierListed before CollateralRiskSet, in one transaction", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const receipt = (await (await f.engine.listTier(3, 1, f.usdcAddress, 8)).wait())!;
      const names = receipt.logs.map((l) => f.engine.interface.parseLog(l)?.name);
      expect(names).to.deep.equal(["TierListed", "CollateralRiskSet"]);
    });

    it("reverts with RiskTierAlreadyListed for a listed tier", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      for (const tier of [CORE, PRO, EDGE]) {
        await expect(f.engine.listTier(tier, 7, f.wethAddress, 8))
          .to.be.revertedWithCustomError(f.engine, "RiskTierAlreadyListed")
          .withArgs(tier);
      }
      expect([...(await f.engine.tierConfig(CORE))]).to.deep.equal([true, 0n, 6n, 8n, f.usdcAddress]);
    });

    it("reverts with RiskUnsupportedQuoteToken for an address without code, without decimals(), or above 18 decimals", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const bad = [
        ["an EOA", f.mallory.address],
        ["the zero address", ZeroAddress],
        ["a contract without decimals()", await f.manager.getAddress()],
        ["a 19-decimal token", await newToken(f, 19)],
        ["a 24-decimal token", await newToken(f, 24)],
      ];
      for (const [what, token] of bad) {
        await expect(f.engine.listTier(3, 3, token!, 8), what)
          .to.be.revertedWithCustomError(f.engine, "RiskUnsupportedQuoteToken")
          .withArgs(token);
      }
      expect((await f.engine.tierConfig(3)).listed).to.equal(false);
    });

    // IRiskEngine: RiskUnsupportedQuoteToken — "The quote token has more than 18 decimals, or no readable decimals."
    for (const [what, initCode, code] of [
      ["returns no data", SILENT_CONTRACT, "0x00"],
      ["returns uint256(1000), not a uint8", RETURNS_1000, "0x6103e860005260206000f3"],
    ]) {
      it(`reverts with RiskUnsupportedQuoteToken for a contract whose decimals() ${what}`, async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const token = await deployRaw(f, initCode!);
        expect(await ethers.provider.getCode(token)).to.equal(code);
        await expect(f.engine.listTier(3, 3, token, 8))
          .to.be.revertedWithCustomError(f.engine, "RiskUnsupportedQuoteToken")
          .withArgs(token);
      });
    }

    it("accepts 18 and 0 decimals, and records them", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const t18 = await newToken(f, 18);
      const t0 = await newToken(f, 0);
      await (await f.engine.listTier(3, 3, t18, 8)).wait();
      await (await f.engine.listTier(4, 3, t0, 8)).wait();
      expect((await f.engine.tierConfig(3)).quoteDecimals).to.equal(18n);
      expect((await f.engine.tierConfig(4)).quoteDecimals).to.equal(0n);
    });

    it('bounds maxPositions to [1, 8]: ParameterOutOfEnvelope("maxPositions", v, 1, 8)', async () => {
      const f = await networkHelpers.loadFixture(fixture);
      for (const v of [0, 9, 255]) {
        await expect(f.engine.listTier(3, 3, f.usdcAddress, v))
          .to.be.revertedWithCustomError(f.engine, "ParameterOutOfEnvelope")
          .withArgs(param("maxPositions"), v, 1, 8);
      }
      await (await f.engine.listTier(3, 3, f.usdcAddress, 1)).wait();
      await (await f.engine.listTier(4, 3, f.usdcAddress, 8)).wait();
      expect((await f.engine.tierConfig(3)).maxPositions).to.equal(1n);
      expect((await f.engine.tierConfig(4)).maxPositions).to.equal(8n);
    });

    it("lists at most 16 tiers: RiskTierFull(tier, 16)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      for (let tier = 3; tier < 16; ++tier) await (await f.engine.listTier(tier, tier, f.usdcAddress, 8)).wait();
      await expect(f.engine.listTier(200, 3, f.usdcAddress, 8))
        .to.be.revertedWithCustomError(f.engine, "RiskTierFull")
        .withArgs(200, 16);
      expect((await f.engine.tierConfig(200)).listed).to.equal(false);
      expect((await f.engine.tierConfig(15)).listed).to.equal(true);
    });
  });

  // -------------------------------------------------------------------- listMarket

  describe("listMarket", () => {
    it("lists a market globally and emits MarketListed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.engine.listMarket(3, SOL)).to.emit(f.engine, "MarketListed").withArgs(3, SOL);
      expect(await f.engine.marketOracleAsset(3)).to.equal(SOL);
      await expect(f.engine.listMarket(65_535, ETH)).to.emit(f.engine, "MarketListed").withArgs(65_535, ETH);
      expect(await f.engine.marketOracleAsset(65_535)).to.equal(ETH);
      // Listing globally adds it to no tier.
      for (const tier of [CORE, PRO, EDGE]) expect([...(await f.engine.tierMarkets(tier))]).to.not.include(3n);
    });

    it("reverts with RiskMarketAlreadyListed for a listed market, whatever the asset", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      for (const asset of [ETH, SOL]) {
        await expect(f.engine.listMarket(ETH_MARKET, asset))
          .to.be.revertedWithCustomError(f.engine, "RiskMarketAlreadyListed")
          .withArgs(ETH_MARKET);
      }
      expect(await f.engine.marketOracleAsset(ETH_MARKET)).to.equal(ETH);
    });

    it("reverts with RiskUnknownMarket for a zero oracle asset, and leaves the market unknown", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.engine.listMarket(3, encodeBytes32String("")))
        .to.be.revertedWithCustomError(f.engine, "RiskUnknownMarket")
        .withArgs(3);
      await expect(f.engine.marketOracleAsset(3))
        .to.be.revertedWithCustomError(f.engine, "RiskUnknownMarket")
        .withArgs(3);
    });

    it("marketOracleAsset reverts with RiskUnknownMarket for an unknown market", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      for (const market of [0, 3, 99, 65_535]) {
        await expect(f.engine.marketOracleAsset(market))
          .to.be.revertedWithCustomError(f.engine, "RiskUnknownMarket")
          .withArgs(market);
      }
    });
  });

  // -------------------------------------------------------------------- addMarketToTier

  describe("addMarketToTier", () => {
    it("lists the market in the tier with no ramp and emits MarketRiskSet(from = to, start = end = now)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const t = (await now()) + 7n;
      await time.setNextBlockTimestamp(t);
      await expect(f.engine.addMarketToTier(EDGE, BTC_MARKET, EDGE_BTC))
        .to.emit(f.engine, "MarketRiskSet")
        .withArgs(EDGE, BTC_MARKET, marketRiskTuple(EDGE_BTC), ratiosTuple(EDGE_BTC.ratios), t, t);
      expect(await marketRiskOf(f, EDGE, BTC_MARKET)).to.deep.equal(EDGE_BTC);
      expect(await currentRatios(f, EDGE, BTC_MARKET)).to.deep.equal(EDGE_BTC.ratios);
      expect([...(await f.engine.tierMarkets(EDGE))]).to.deep.equal([1n, 2n]);
      // No ramp: the ratios stay put.
      await time.increase(RAMP_DURATION);
      expect(await currentRatios(f, EDGE, BTC_MARKET)).to.deep.equal(EDGE_BTC.ratios);
    });

    it("keeps listing order in tierMarkets", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await (await f.engine.listMarket(7, SOL)).wait();
      await (await f.engine.addMarketToTier(EDGE, 7, EDGE_BTC)).wait();
      await (await f.engine.addMarketToTier(EDGE, BTC_MARKET, EDGE_BTC)).wait();
      expect([...(await f.engine.tierMarkets(EDGE))]).to.deep.equal([1n, 7n, 2n]);
    });

    it("reverts with RiskUnknownTier, RiskUnknownMarket and RiskMarketAlreadyInTier", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.engine.addMarketToTier(9, ETH_MARKET, EDGE_ETH))
        .to.be.revertedWithCustomError(f.engine, "RiskUnknownTier")
        .withArgs(9);
      await expect(f.engine.addMarketToTier(EDGE, 99, EDGE_ETH))
        .to.be.revertedWithCustomError(f.engine, "RiskUnknownMarket")
        .withArgs(99);
      await expect(f.engine.addMarketToTier(PRO, ETH_MARKET, PRO_ETH))
        .to.be.revertedWithCustomError(f.engine, "RiskMarketAlreadyInTier")
        .withArgs(PRO, ETH_MARKET);
      await expect(f.engine.addMarketToTier(PRO, BTC_MARKET, { ...PRO_BTC, oiCap: 1n }))
        .to.be.revertedWithCustomError(f.engine, "RiskMarketAlreadyInTier")
        .withArgs(PRO, BTC_MARKET);
      expect(await marketRiskOf(f, PRO, BTC_MARKET)).to.deep.equal(PRO_BTC);
    });

    it("lists at most 16 markets per tier: RiskTierFull(tier, 16) for the 17th", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      // Edge lists ETH; markets 3..18 are listed only in edge, so depth monotonicity never binds.
      for (let market = 3; market <= 18; ++market) {
        await (await f.engine.listMarket(market, encodeBytes32String(`M${market}`))).wait();
        if (market < 18) await (await f.engine.addMarketToTier(EDGE, market, EDGE_ETH)).wait();
      }
      expect((await f.engine.tierMarkets(EDGE)).length).to.equal(16);
      await expect(f.engine.addMarketToTier(EDGE, 18, EDGE_ETH))
        .to.be.revertedWithCustomError(f.engine, "RiskTierFull")
        .withArgs(EDGE, 16);
      // Another tier is not affected.
      await (await f.engine.addMarketToTier(PRO, 18, PRO_ETH)).wait();
    });

    describe("envelopes", () => {
      for (const [label, change, expected] of ENVELOPE_ROWS) {
        it(`refuses ${label}`, async () => {
          const f = await networkHelpers.loadFixture(fixture);
          const bad = change(EDGE_BTC);
          const [error, args] = expected(bad);
          await expect(f.engine.addMarketToTier(EDGE, BTC_MARKET, bad))
            .to.be.revertedWithCustomError(f.engine, error)
            .withArgs(...args);
          expect([...(await f.engine.tierMarkets(EDGE))]).to.deep.equal([1n]);
        });
      }

      it("accepts every field at either end of its envelope", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await (await f.engine.listMarket(3, SOL)).wait();
        await (await f.engine.listMarket(4, encodeBytes32String("XRP/USD"))).wait();
        await (await f.engine.addMarketToTier(EDGE, 3, LOW_BOUNDS)).wait();
        await (await f.engine.addMarketToTier(EDGE, 4, HIGH_BOUNDS)).wait();
        expect(await marketRiskOf(f, EDGE, 3)).to.deep.equal(LOW_BOUNDS);
        expect(await marketRiskOf(f, EDGE, 4)).to.deep.equal(HIGH_BOUNDS);
      });

      it("takes maxLeverage up to floor(10000 / imr) exactly", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        // Core's 3334 bps allows 2x (not 3x); 300 bps allows 33x.
        expect(CORE_ETH.maxLeverage).to.equal(BPS / CORE_ETH.ratios.imr);
        await (
          await f.engine.addMarketToTier(EDGE, BTC_MARKET, { ...withRatios(EDGE_BTC, { imr: 300n }), maxLeverage: 33n })
        ).wait();
        expect((await marketRiskOf(f, EDGE, BTC_MARKET)).maxLeverage).to.equal(33n);
      });
    });

    describe("depth monotonicity (a deeper tier is never looser)", () => {
      it("refuses an edge market stricter than pro's in any one ratio: RiskDepthMonotonicityViolated(market, PRO, EDGE)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const stricter: [string, MarketRisk][] = [
          ["imr", { ...withRatios(EDGE_BTC, { imr: 501n }), maxLeverage: 19n }],
          ["mmr", withRatios(EDGE_BTC, { mmr: 251n })],
          ["bmr", { ...withRatios(EDGE_BTC, { bmr: 121n }), liquidationPenaltyBps: 50n }],
        ];
        for (const [what, risk] of stricter) {
          await expect(f.engine.addMarketToTier(EDGE, BTC_MARKET, risk), what)
            .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
            .withArgs(BTC_MARKET, PRO, EDGE);
        }
        // Equal to pro is allowed.
        const equal = { ...withRatios(EDGE_BTC, PRO_BTC.ratios), maxLeverage: 20n };
        await (await f.engine.addMarketToTier(EDGE, BTC_MARKET, equal)).wait();
        expect(await currentRatios(f, EDGE, BTC_MARKET)).to.deep.equal(PRO_BTC.ratios);
      });

      it("refuses an edge market stricter than core's: RiskDepthMonotonicityViolated(market, CORE, EDGE)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await (await f.engine.addMarketToTier(CORE, BTC_MARKET, CORE_BTC)).wait();
        // Stricter than core (600/300/150) and than pro (500/250/120): core comes first.
        const risk = { ...withRatios(EDGE_BTC, ratios(700n, 350n, 175n)), maxLeverage: 14n };
        await expect(f.engine.addMarketToTier(EDGE, BTC_MARKET, risk))
          .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
          .withArgs(BTC_MARKET, CORE, EDGE);
      });

      it("refuses a core market looser than pro's in any one ratio: RiskDepthMonotonicityViolated(market, CORE, PRO)", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const looser: [string, MarketRisk][] = [
          ["imr", withRatios(CORE_BTC, { imr: 499n })],
          ["mmr", { ...withRatios(CORE_BTC, { mmr: 249n }), liquidationPenaltyBps: 50n }],
          ["bmr", withRatios(CORE_BTC, { bmr: 119n })],
        ];
        for (const [what, risk] of looser) {
          await expect(f.engine.addMarketToTier(CORE, BTC_MARKET, risk), what)
            .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
            .withArgs(BTC_MARKET, CORE, PRO);
        }
        await (
          await f.engine.addMarketToTier(CORE, BTC_MARKET, {
            ...withRatios(CORE_BTC, PRO_BTC.ratios),
            maxLeverage: 20n,
          })
        ).wait();
        expect(await currentRatios(f, CORE, BTC_MARKET)).to.deep.equal(PRO_BTC.ratios);
      });

      it("does not constrain tiers of equal depth against each other, but each of them against other depths", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        await (await f.engine.listTier(3, 1, f.usdcAddress, 8)).wait();
        await (await f.engine.listTier(4, 1, f.usdcAddress, 8)).wait();
        await (await f.engine.listTier(5, 2, f.usdcAddress, 8)).wait();
        // Depth 1 like pro (500/250/120): tier 3 stricter, tier 4 looser; both fine.
        const strict = { ...withRatios(PRO_BTC, ratios(700n, 350n, 175n)), maxLeverage: 14n };
        await (await f.engine.addMarketToTier(3, BTC_MARKET, strict)).wait();
        await (await f.engine.addMarketToTier(4, BTC_MARKET, EDGE_BTC)).wait();
        // Depth 2 must be at most as strict as every depth-1 tier: 450 > tier 4's 400.
        const risk = { ...withRatios(EDGE_BTC, ratios(450n, 220n, 110n)), maxLeverage: 22n };
        await expect(f.engine.addMarketToTier(5, BTC_MARKET, risk))
          .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
          .withArgs(BTC_MARKET, 4, 5);
        await (await f.engine.addMarketToTier(5, BTC_MARKET, EDGE_BTC)).wait();
      });

      it("does not constrain different markets against each other", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        // Edge BTC far stricter than pro and core ETH.
        await (await f.engine.listMarket(3, SOL)).wait();
        await (await f.engine.addMarketToTier(EDGE, 3, CORE_ETH)).wait();
        expect(await currentRatios(f, EDGE, 3)).to.deep.equal(CORE_ETH.ratios);
      });
    });
  });

  // -------------------------------------------------------------------- setMarketRisk

  describe("setMarketRisk", () => {
    it("reverts with RiskUnknownTier and RiskMarketNotInTier", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const risk = f.engine.connect(f.risk);
      await expect(risk.setMarketRisk(9, ETH_MARKET, PRO_ETH))
        .to.be.revertedWithCustomError(f.engine, "RiskUnknownTier")
        .withArgs(9);
      await expect(risk.setMarketRisk(EDGE, BTC_MARKET, EDGE_BTC))
        .to.be.revertedWithCustomError(f.engine, "RiskMarketNotInTier")
        .withArgs(EDGE, BTC_MARKET);
      await expect(risk.setMarketRisk(CORE, 99, CORE_ETH))
        .to.be.revertedWithCustomError(f.engine, "RiskMarketNotInTier")
        .withArgs(CORE, 99);
    });

    it("sets the settings, emits MarketRiskSet (keeping the ramp when the ratios are unchanged) and restarts the cooldown", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const next = { ...PRO_ETH, oiCap: w("12000"), takerFeeBps: 6n, fundingSkewScale: w("1200") };
      const listedAt = BigInt(
        (await f.engine.queryFilter(f.engine.filters.MarketRiskSet(PRO, ETH_MARKET)))[0]!.args.rampStart,
      );
      const t = (await now()) + 5n;
      await time.setNextBlockTimestamp(t);
      // Only a fee, a cap and the funding scale change: the ratios' ramp (here the listing's) is kept.
      await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, next))
        .to.emit(f.engine, "MarketRiskSet")
        .withArgs(PRO, ETH_MARKET, marketRiskTuple(next), ratiosTuple(next.ratios), listedAt, listedAt);
      expect(await marketRiskOf(f, PRO, ETH_MARKET)).to.deep.equal(next);
      expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(PRO_ETH.ratios);
      await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, PRO_ETH))
        .to.be.revertedWithCustomError(f.engine, "ParameterChangeTooSoon")
        .withArgs(marketKey(PRO, ETH_MARKET), t + PARAM_COOLDOWN);
    });

    describe("envelopes", () => {
      for (const [label, change, expected] of ENVELOPE_ROWS) {
        it(`refuses ${label}`, async () => {
          const f = await networkHelpers.loadFixture(settledFixture);
          const bad = change(PRO_ETH);
          const [error, args] = expected(bad);
          await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, bad))
            .to.be.revertedWithCustomError(f.engine, error)
            .withArgs(...args);
          expect(await marketRiskOf(f, PRO, ETH_MARKET)).to.deep.equal(PRO_ETH);
        });
      }
    });

    describe("steps", () => {
      /** [field, change of PRO_ETH, old, new, minStep] — each one past its largest step by the smallest amount. */
      const rows: [string, (r: MarketRisk) => MarketRisk, bigint, bigint, bigint][] = [
        // imr 500 -> 751 (step 250), maxLeverage lowered within its own step to stay in the envelope.
        ["imr", (r) => ({ ...withRatios(r, { imr: 751n }), maxLeverage: 13n }), 500n, 751n, 10n],
        ["mmr", (r) => withRatios(r, { mmr: 376n }), 250n, 376n, 10n],
        // The penalty follows (100 -> 59, inside its own step) so that penalty <= bmr still holds.
        ["bmr", (r) => ({ ...withRatios(r, { bmr: 59n }), liquidationPenaltyBps: 59n }), 120n, 59n, 10n],
        [
          "bracketNotional1",
          (r) => ({ ...r, bracketNotional1: w("1500000") + 1n }),
          w("1000000"),
          w("1500000") + 1n,
          WAD,
        ],
        ["bracketAddBps1", (r) => ({ ...r, bracketAddBps1: 151n }), 100n, 151n, 10n],
        [
          "bracketNotional2",
          (r) => ({ ...r, bracketNotional2: w("7500000") + 1n }),
          w("5000000"),
          w("7500000") + 1n,
          WAD,
        ],
        ["bracketAddBps2", (r) => ({ ...r, bracketAddBps2: 301n }), 200n, 301n, 10n],
        ["maxLeverage", (r) => ({ ...r, maxLeverage: 9n }), 20n, 9n, 1n],
        ["liquidationPenaltyBps", (r) => ({ ...r, liquidationPenaltyBps: 49n }), 100n, 49n, 10n],
        ["keeperShareBps", (r) => ({ ...r, keeperShareBps: 4_501n }), 3_000n, 4_501n, 100n],
        ["keeperRewardCap", (r) => ({ ...r, keeperRewardCap: w("15000") + 1n }), w("10000"), w("15000") + 1n, WAD],
        ["oiCap", (r) => ({ ...r, oiCap: w("15000") + 1n }), w("10000"), w("15000") + 1n, WAD],
        ["priceBandBps", (r) => ({ ...r, priceBandBps: 301n }), 200n, 301n, 10n],
        ["makerFeeBps", (r) => ({ ...r, makerFeeBps: 4n }), 2n, 4n, 1n],
        ["takerFeeBps", (r) => ({ ...r, takerFeeBps: 8n }), 5n, 8n, 1n],
        ["maxFundingBpsPerDay", (r) => ({ ...r, maxFundingBpsPerDay: 151n }), 100n, 151n, 10n],
        ["fundingSkewScale", (r) => ({ ...r, fundingSkewScale: w("1500") + 1n }), w("1000"), w("1500") + 1n, WAD],
      ];
      for (const [name, change, oldValue, newValue, minStep] of rows) {
        it(`refuses a ${name} step above max(50%, ${minStep}): ParameterStepTooLarge`, async () => {
          const f = await networkHelpers.loadFixture(settledFixture);
          const diff = newValue > oldValue ? newValue - oldValue : oldValue - newValue;
          expect(diff).to.equal(allowedStep(oldValue, minStep) + 1n); // the row is one past the limit
          await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, change(PRO_ETH)))
            .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
            .withArgs(param(name), oldValue, newValue, MAX_PARAM_STEP_BPS, minStep);
          expect(await marketRiskOf(f, PRO, ETH_MARKET)).to.deep.equal(PRO_ETH);
        });
      }

      it("accepts the largest step of every field at once", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const next: MarketRisk = {
          ratios: ratios(750n, 375n, 180n),
          bracketNotional1: w("1500000"),
          bracketAddBps1: 150n,
          bracketNotional2: w("7500000"),
          bracketAddBps2: 300n,
          maxLeverage: 10n,
          liquidationPenaltyBps: 150n,
          keeperShareBps: 4_500n,
          keeperRewardCap: w("15000"),
          oiCap: w("15000"),
          priceBandBps: 300n,
          makerFeeBps: 3n,
          takerFeeBps: 7n,
          maxFundingBpsPerDay: 150n,
          fundingSkewScale: w("1500"),
        };
        await (await f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, next)).wait();
        expect(await marketRiskOf(f, PRO, ETH_MARKET)).to.deep.equal(next);
      });

      it("lets a zero field move by its minimum step, and not more", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        // Edge ETH has no brackets and a zero maker fee.
        const risk = f.engine.connect(f.risk);
        await expect(risk.setMarketRisk(EDGE, ETH_MARKET, { ...EDGE_ETH, bracketNotional1: WAD + 1n }))
          .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
          .withArgs(param("bracketNotional1"), 0n, WAD + 1n, MAX_PARAM_STEP_BPS, WAD);
        await expect(risk.setMarketRisk(EDGE, ETH_MARKET, { ...EDGE_ETH, makerFeeBps: 2n }))
          .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
          .withArgs(param("makerFeeBps"), 0n, 2n, MAX_PARAM_STEP_BPS, 1n);
        await expect(risk.setMarketRisk(EDGE, ETH_MARKET, { ...EDGE_ETH, bracketAddBps2: 11n }))
          .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
          .withArgs(param("bracketAddBps2"), 0n, 11n, MAX_PARAM_STEP_BPS, 10n);
        const next = {
          ...EDGE_ETH,
          bracketNotional1: WAD,
          bracketAddBps1: 10n,
          bracketNotional2: WAD,
          bracketAddBps2: 10n,
          makerFeeBps: 1n,
        };
        await (await risk.setMarketRisk(EDGE, ETH_MARKET, next)).wait();
        expect(await marketRiskOf(f, EDGE, ETH_MARKET)).to.deep.equal(next);
      });
    });

    describe("cooldown", () => {
      it("addMarketToTier starts it: ParameterChangeTooSoon(key, listedAt + 1 day) until then", async () => {
        const f = await networkHelpers.loadFixture(fixture);
        const key = marketKey(PRO, ETH_MARKET);
        const next = { ...PRO_ETH, oiCap: w("11000") };
        const until = f.listedAt.proEth + PARAM_COOLDOWN;
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, next))
          .to.be.revertedWithCustomError(f.engine, "ParameterChangeTooSoon")
          .withArgs(key, until);
        await time.setNextBlockTimestamp(until - 1n);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, next))
          .to.be.revertedWithCustomError(f.engine, "ParameterChangeTooSoon")
          .withArgs(key, until);
        await time.setNextBlockTimestamp(until);
        await (await f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, next)).wait();
        expect(await now()).to.equal(until);
        expect((await marketRiskOf(f, PRO, ETH_MARKET)).oiCap).to.equal(w("11000"));
      });

      it('allows one change per tier × market per day, keyed by keccak256(abi.encode("marketRisk", tier, market))', async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const risk = f.engine.connect(f.risk);
        const t1 = (await now()) + 10n;
        await time.setNextBlockTimestamp(t1);
        await (await risk.setMarketRisk(PRO, ETH_MARKET, { ...PRO_ETH, oiCap: w("11000") })).wait();
        // Other tier × market pairs keep their own cooldowns.
        await (await risk.setMarketRisk(PRO, BTC_MARKET, { ...PRO_BTC, oiCap: w("600") })).wait();
        await (await risk.setMarketRisk(EDGE, ETH_MARKET, { ...EDGE_ETH, oiCap: w("1100") })).wait();
        await (await risk.setMarketRisk(CORE, ETH_MARKET, { ...CORE_ETH, oiCap: w("60000") })).wait();
        await time.setNextBlockTimestamp(t1 + PARAM_COOLDOWN - 1n);
        await expect(risk.setMarketRisk(PRO, ETH_MARKET, { ...PRO_ETH, oiCap: w("12000") }))
          .to.be.revertedWithCustomError(f.engine, "ParameterChangeTooSoon")
          .withArgs(marketKey(PRO, ETH_MARKET), t1 + PARAM_COOLDOWN);
        await time.setNextBlockTimestamp(t1 + PARAM_COOLDOWN);
        await (await risk.setMarketRisk(PRO, ETH_MARKET, { ...PRO_ETH, oiCap: w("12000") })).wait();
        expect((await marketRiskOf(f, PRO, ETH_MARKET)).oiCap).to.equal(w("12000"));
      });

      it("a refused change does not start it", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const risk = f.engine.connect(f.risk);
        await expect(
          risk.setMarketRisk(PRO, ETH_MARKET, { ...PRO_ETH, oiCap: w("20000") }),
        ).to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge");
        await (await risk.setMarketRisk(PRO, ETH_MARKET, { ...PRO_ETH, oiCap: w("15000") })).wait();
      });
    });

    describe("loosening", () => {
      it("applies at once: MarketRiskSet(from = target, start = end = now), currentRatios = target", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const looser = { ...withRatios(PRO_ETH, ratios(400n, 200n, 100n)), maxLeverage: 25n };
        const t = (await now()) + 3n;
        await time.setNextBlockTimestamp(t);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, looser))
          .to.emit(f.engine, "MarketRiskSet")
          .withArgs(PRO, ETH_MARKET, marketRiskTuple(looser), [400n, 200n, 100n], t, t);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(looser.ratios);
        expect(await requirementsOf(f, PRO, ETH_MARKET, w("100000"))).to.deep.equal([w("4000"), w("2000"), w("1000")]);
        await time.increase(DAY);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(looser.ratios);
      });

      it("applies at once when only one ratio loosens", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const looser = { ...withRatios(PRO_ETH, { imr: 450n }), maxLeverage: 22n };
        const t = (await now()) + 3n;
        await time.setNextBlockTimestamp(t);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, looser))
          .to.emit(f.engine, "MarketRiskSet")
          .withArgs(PRO, ETH_MARKET, marketRiskTuple(looser), [450n, 250n, 120n], t, t);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(ratios(450n, 250n, 120n));
      });
    });

    describe("tightening ramps over RAMP_DURATION", () => {
      const TIGHT: MarketRisk = { ...withRatios(PRO_ETH, ratios(750n, 375n, 180n)), maxLeverage: 13n };

      /** Sets TIGHT on pro ETH at a known time t0 and returns t0. */
      async function tighten(f: RiskFixture): Promise<bigint> {
        const t0 = (await now()) + 10n;
        await time.setNextBlockTimestamp(t0);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, TIGHT))
          .to.emit(f.engine, "MarketRiskSet")
          .withArgs(PRO, ETH_MARKET, marketRiskTuple(TIGHT), [500n, 250n, 120n], t0, t0 + RAMP_DURATION);
        return t0;
      }

      it("starts at the old ratios and stores the target at once", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        await tighten(f);
        expect(await marketRiskOf(f, PRO, ETH_MARKET)).to.deep.equal(TIGHT);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(PRO_ETH.ratios);
        expect(await requirementsOf(f, PRO, ETH_MARKET, w("100000"))).to.deep.equal([w("5000"), w("2500"), w("1200")]);
      });

      it("moves linearly, rounding up, and reaches the target at the end", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const t0 = await tighten(f);
        const checkpoints: [bigint, Ratios][] = [
          [1n, ratios(501n, 251n, 121n)], // any rise rounds up to one bps
          [DAY, ratios(584n, 292n, 140n)], // 1/3: 500 + ceil(83.3), 250 + ceil(41.7), 120 + 20
          [DAY + DAY / 2n, ratios(625n, 313n, 150n)], // 1/2: 500 + 125, 250 + ceil(62.5), 120 + 30
          [RAMP_DURATION - 1n, ratios(750n, 375n, 180n)], // ceil(249.999...) = 250
          [RAMP_DURATION, ratios(750n, 375n, 180n)],
          [RAMP_DURATION + DAY, ratios(750n, 375n, 180n)],
        ];
        for (const [dt, expected] of checkpoints) {
          await timeTo(t0 + dt);
          const current = await currentRatios(f, PRO, ETH_MARKET);
          expect(current, `t0 + ${dt}`).to.deep.equal(expected);
          expect(current, `t0 + ${dt} (mirror)`).to.deep.equal(
            rampedRatios(PRO_ETH.ratios, TIGHT.ratios, t0, t0 + RAMP_DURATION, t0 + dt),
          );
        }
      });

      it("prices requirements at the ratios in force", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const t0 = await tighten(f);
        await timeTo(t0 + DAY);
        const current = ratios(584n, 292n, 140n);
        for (const notional of [w("100000"), w("2000000"), w("6000000") + 7n]) {
          expect(await requirementsOf(f, PRO, ETH_MARKET, notional)).to.deep.equal(
            requirements(notional, current, TIGHT),
          );
        }
        expect(await requirementsOf(f, PRO, ETH_MARKET, w("100000"))).to.deep.equal([w("5840"), w("2920"), w("1400")]);
        // 2M: 2M * 5.84% + 1M * 1% above the first bracket.
        expect(await requirementsOf(f, PRO, ETH_MARKET, w("2000000"))).to.deep.equal([
          w("126800"),
          w("68400"),
          w("38000"),
        ]);
      });

      it("ramps every ratio when one tightens and another loosens, flooring the decrease", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const mixed = { ...withRatios(PRO_ETH, ratios(600n, 240n, 120n)), maxLeverage: 16n };
        const t0 = (await now()) + 10n;
        await time.setNextBlockTimestamp(t0);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, mixed))
          .to.emit(f.engine, "MarketRiskSet")
          .withArgs(PRO, ETH_MARKET, marketRiskTuple(mixed), [500n, 250n, 120n], t0, t0 + RAMP_DURATION);
        const checkpoints: [bigint, Ratios][] = [
          [0n, ratios(500n, 250n, 120n)],
          [1n, ratios(501n, 250n, 120n)],
          [DAY, ratios(534n, 247n, 120n)], // 500 + ceil(33.3), 250 - floor(3.3)
          [DAY + DAY / 2n, ratios(550n, 245n, 120n)],
          [RAMP_DURATION - 1n, ratios(600n, 241n, 120n)], // 250 - floor(9.99...)
          [RAMP_DURATION, ratios(600n, 240n, 120n)],
        ];
        for (const [dt, expected] of checkpoints) {
          await timeTo(t0 + dt);
          const current = await currentRatios(f, PRO, ETH_MARKET);
          expect(current, `t0 + ${dt}`).to.deep.equal(expected);
          expect(current, `t0 + ${dt} (mirror)`).to.deep.equal(
            rampedRatios(PRO_ETH.ratios, mixed.ratios, t0, t0 + RAMP_DURATION, t0 + dt),
          );
        }
      });

      it("a second tightening during a ramp starts a new ramp from the ratios in force", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const t0 = await tighten(f);
        const second = { ...withRatios(TIGHT, ratios(800n, 400n, 200n)), maxLeverage: 12n };
        const t1 = t0 + DAY + DAY / 2n;
        await time.setNextBlockTimestamp(t1);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, second))
          .to.emit(f.engine, "MarketRiskSet")
          .withArgs(PRO, ETH_MARKET, marketRiskTuple(second), [625n, 313n, 150n], t1, t1 + RAMP_DURATION);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(ratios(625n, 313n, 150n));
        await timeTo(t1 + DAY);
        // 625 + ceil(175 / 3), 313 + ceil(87 / 3), 150 + ceil(50 / 3)
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(ratios(684n, 342n, 167n));
        await timeTo(t1 + RAMP_DURATION - 1n);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(
          rampedRatios(ratios(625n, 313n, 150n), second.ratios, t1, t1 + RAMP_DURATION, t1 + RAMP_DURATION - 1n),
        );
        await timeTo(t1 + RAMP_DURATION);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(second.ratios);
      });

      it("a target between the ratios in force and the old target ramps from the ratios in force", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const t0 = await tighten(f);
        const between = { ...withRatios(TIGHT, ratios(700n, 350n, 170n)), maxLeverage: 14n };
        const t1 = t0 + DAY + DAY / 2n;
        await time.setNextBlockTimestamp(t1);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, between))
          .to.emit(f.engine, "MarketRiskSet")
          .withArgs(PRO, ETH_MARKET, marketRiskTuple(between), [625n, 313n, 150n], t1, t1 + RAMP_DURATION);
        await timeTo(t1 + DAY);
        // 625 + ceil(75 / 3), 313 + ceil(37 / 3), 150 + ceil(20 / 3)
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(ratios(650n, 326n, 157n));
      });

      it("loosening below the ratios in force during a ramp applies at once", async () => {
        const f = await networkHelpers.loadFixture(settledFixture);
        const t0 = await tighten(f);
        const looser = { ...withRatios(TIGHT, ratios(600n, 300n, 140n)), maxLeverage: 16n };
        const t1 = t0 + DAY + DAY / 2n;
        await time.setNextBlockTimestamp(t1);
        await expect(f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, looser))
          .to.emit(f.engine, "MarketRiskSet")
          .withArgs(PRO, ETH_MARKET, marketRiskTuple(looser), [600n, 300n, 140n], t1, t1);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(looser.ratios);
        await timeTo(t1 + DAY);
        expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(looser.ratios);
      });
    });

    describe("depth monotonicity on the target ratios", () => {
      it("refuses pro tighter than core and pro looser than edge", async () => {
        const f = await networkHelpers.loadFixture(btcEverywhereFixture);
        const risk = f.engine.connect(f.risk);
        // Core BTC 600/300/150, pro 500/250/120, edge 400/200/100.
        await expect(risk.setMarketRisk(PRO, BTC_MARKET, { ...withRatios(PRO_BTC, { imr: 601n }), maxLeverage: 16n }))
          .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
          .withArgs(BTC_MARKET, CORE, PRO);
        await expect(
          risk.setMarketRisk(PRO, BTC_MARKET, { ...withRatios(PRO_BTC, { bmr: 99n }), liquidationPenaltyBps: 90n }),
        )
          .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
          .withArgs(BTC_MARKET, PRO, EDGE);
        // Equal to core is fine (and tightens: a ramp).
        await (
          await risk.setMarketRisk(PRO, BTC_MARKET, { ...withRatios(PRO_BTC, CORE_BTC.ratios), maxLeverage: 16n })
        ).wait();
        expect((await marketRiskOf(f, PRO, BTC_MARKET)).ratios).to.deep.equal(CORE_BTC.ratios);
      });

      it("refuses core looser than pro and edge tighter than pro", async () => {
        const f = await networkHelpers.loadFixture(btcEverywhereFixture);
        const risk = f.engine.connect(f.risk);
        await expect(risk.setMarketRisk(CORE, BTC_MARKET, withRatios(CORE_BTC, { imr: 499n })))
          .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
          .withArgs(BTC_MARKET, CORE, PRO);
        await expect(risk.setMarketRisk(EDGE, BTC_MARKET, withRatios(EDGE_BTC, { mmr: 251n })))
          .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
          .withArgs(BTC_MARKET, PRO, EDGE);
        // Down to pro's ratios is fine.
        await (
          await risk.setMarketRisk(CORE, BTC_MARKET, { ...withRatios(CORE_BTC, PRO_BTC.ratios), maxLeverage: 20n })
        ).wait();
        expect(await currentRatios(f, CORE, BTC_MARKET)).to.deep.equal(PRO_BTC.ratios);
      });

      it("checks against another tier's target, not its ratios in force during a ramp", async () => {
        const f = await networkHelpers.loadFixture(btcEverywhereFixture);
        const risk = f.engine.connect(f.risk);
        // Pro ramps towards core's 600/300/150; its ratios in force are still about 500/250/120.
        await (
          await risk.setMarketRisk(PRO, BTC_MARKET, { ...withRatios(PRO_BTC, CORE_BTC.ratios), maxLeverage: 16n })
        ).wait();
        expect((await currentRatios(f, PRO, BTC_MARKET)).imr).to.be.lessThan(600n);
        await expect(risk.setMarketRisk(CORE, BTC_MARKET, withRatios(CORE_BTC, ratios(550n, 275n, 140n))))
          .to.be.revertedWithCustomError(f.engine, "RiskDepthMonotonicityViolated")
          .withArgs(BTC_MARKET, CORE, PRO);
      });
    });
  });

  // -------------------------------------------------------------------- addCollateralToTier

  describe("addCollateralToTier", () => {
    it("lists a collateral (listed forced true), emits CollateralRiskSet and appends it to tierCollaterals", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.engine.addCollateralToTier(EDGE, f.wethAddress, { ...WETH_CORE, listed: false }))
        .to.emit(f.engine, "CollateralRiskSet")
        .withArgs(EDGE, f.wethAddress, collateralTuple(WETH_CORE));
      expect(await collateralRiskOf(f, EDGE, f.wethAddress)).to.deep.equal(WETH_CORE);
      expect([...(await f.engine.tierCollaterals(EDGE))]).to.deep.equal([f.usdcAddress, f.wethAddress]);
      expect(await f.engine.weightedCollateralValue(EDGE, f.wethAddress, w("100"))).to.equal(w("80"));
    });

    it("reverts with RiskUnknownTier and RiskCollateralAlreadyInTier (the quote token included)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.engine.addCollateralToTier(9, f.wethAddress, WETH_CORE))
        .to.be.revertedWithCustomError(f.engine, "RiskUnknownTier")
        .withArgs(9);
      await expect(f.engine.addCollateralToTier(CORE, f.usdcAddress, WETH_CORE))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralAlreadyInTier")
        .withArgs(CORE, f.usdcAddress);
      await expect(f.engine.addCollateralToTier(CORE, f.wethAddress, WETH_PRO))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralAlreadyInTier")
        .withArgs(CORE, f.wethAddress);
      expect(await collateralRiskOf(f, CORE, f.usdcAddress)).to.deep.equal(QUOTE_RISK);
      expect(await collateralRiskOf(f, CORE, f.wethAddress)).to.deep.equal(WETH_CORE);
    });

    it("lists at most 4 collaterals per tier, the quote token counting: RiskTierFull(tier, 4) for the 5th", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const fourth = await newToken(f, 18);
      const fifth = await newToken(f, 18);
      await (await f.engine.addCollateralToTier(CORE, fourth, WETH_CORE)).wait();
      await expect(f.engine.addCollateralToTier(CORE, fifth, WETH_CORE))
        .to.be.revertedWithCustomError(f.engine, "RiskTierFull")
        .withArgs(CORE, 4);
      expect((await f.engine.tierCollaterals(CORE)).length).to.equal(4);
      await (await f.engine.addCollateralToTier(EDGE, fifth, WETH_CORE)).wait();
    });

    it("bounds weightBps to [100, 10000], excessWeightBps to [0, weightBps], and refuses a zero oracle asset", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const cases: [CollateralRisk, unknown[]][] = [
        [{ ...WETH_CORE, weightBps: 99n, excessWeightBps: 0n }, [param("weightBps"), 99n, 100n, BPS]],
        [{ ...WETH_CORE, weightBps: 10_001n }, [param("weightBps"), 10_001n, 100n, BPS]],
        [{ ...WETH_CORE, excessWeightBps: 8_001n }, [param("excessWeightBps"), 8_001n, 0n, 8_000n]],
        [{ ...WETH_CORE, oracleAsset: encodeBytes32String("") }, [param("oracleAsset"), 0n, 1n, MaxUint256]],
      ];
      for (const [risk, args] of cases) {
        await expect(f.engine.addCollateralToTier(EDGE, f.wethAddress, risk))
          .to.be.revertedWithCustomError(f.engine, "ParameterOutOfEnvelope")
          .withArgs(...args);
      }
      expect([...(await f.engine.tierCollaterals(EDGE))]).to.deep.equal([f.usdcAddress]);
      const low = { ...WETH_CORE, weightBps: 100n, excessWeightBps: 0n };
      const high = { ...WBTC_CORE, weightBps: BPS, excessWeightBps: BPS, sizeThreshold: MAX_UINT128 };
      await (await f.engine.addCollateralToTier(EDGE, f.wethAddress, low)).wait();
      await (await f.engine.addCollateralToTier(EDGE, f.wbtcAddress, high)).wait();
      expect(await collateralRiskOf(f, EDGE, f.wethAddress)).to.deep.equal(low);
      expect(await collateralRiskOf(f, EDGE, f.wbtcAddress)).to.deep.equal(high);
    });

    it('starts the cooldown: ParameterChangeTooSoon(keccak256(abi.encode("collateralRisk", tier, token)), listedAt + 1 day)', async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const key = collateralKey(CORE, f.wethAddress);
      const until = f.listedAt.coreWeth + PARAM_COOLDOWN;
      const next = { ...WETH_CORE, weightBps: 7_500n };
      await time.setNextBlockTimestamp(until - 1n);
      await expect(f.engine.connect(f.risk).setCollateralRisk(CORE, f.wethAddress, next))
        .to.be.revertedWithCustomError(f.engine, "ParameterChangeTooSoon")
        .withArgs(key, until);
      await time.setNextBlockTimestamp(until);
      await (await f.engine.connect(f.risk).setCollateralRisk(CORE, f.wethAddress, next)).wait();
      expect((await collateralRiskOf(f, CORE, f.wethAddress)).weightBps).to.equal(7_500n);
    });
  });

  // -------------------------------------------------------------------- setCollateralRisk

  describe("setCollateralRisk", () => {
    it("sets the haircut (listed forced true) and emits CollateralRiskSet", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const next: CollateralRisk = {
        ...WETH_CORE,
        listed: false,
        weightBps: 7_000n,
        excessWeightBps: 4_000n,
        sizeThreshold: w("1200000"),
      };
      await expect(f.engine.connect(f.risk).setCollateralRisk(CORE, f.wethAddress, next))
        .to.emit(f.engine, "CollateralRiskSet")
        .withArgs(CORE, f.wethAddress, collateralTuple({ ...next, listed: true }));
      expect(await collateralRiskOf(f, CORE, f.wethAddress)).to.deep.equal({ ...next, listed: true });
      expect([...(await f.engine.tierCollaterals(CORE))]).to.deep.equal([f.usdcAddress, f.wethAddress, f.wbtcAddress]);
    });

    it("reverts with RiskCollateralNotInTier for the quote token, an unlisted token and an unknown tier", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const risk = f.engine.connect(f.risk);
      await expect(risk.setCollateralRisk(CORE, f.usdcAddress, { ...QUOTE_RISK, oracleAsset: ETH }))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(CORE, f.usdcAddress);
      await expect(risk.setCollateralRisk(CORE, f.usdcAddress, QUOTE_RISK))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(CORE, f.usdcAddress);
      await expect(risk.setCollateralRisk(PRO, f.wbtcAddress, WBTC_CORE))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(PRO, f.wbtcAddress);
      await expect(risk.setCollateralRisk(9, f.wethAddress, WETH_CORE))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(9, f.wethAddress);
      expect(await collateralRiskOf(f, CORE, f.usdcAddress)).to.deep.equal(QUOTE_RISK);
    });

    it("refuses to change the oracle asset (RiskCollateralNotInTier) or to zero it (ParameterOutOfEnvelope)", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const risk = f.engine.connect(f.risk);
      await expect(risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, oracleAsset: BTC }))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(CORE, f.wethAddress);
      await expect(risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, oracleAsset: encodeBytes32String("") }))
        .to.be.revertedWithCustomError(f.engine, "ParameterOutOfEnvelope")
        .withArgs(param("oracleAsset"), 0n, 1n, MaxUint256);
      expect(await collateralRiskOf(f, CORE, f.wethAddress)).to.deep.equal(WETH_CORE);
    });

    it("enforces the envelopes", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const risk = f.engine.connect(f.risk);
      // WBTC in core: weight 7000, no threshold.
      await expect(risk.setCollateralRisk(CORE, f.wbtcAddress, { ...WBTC_CORE, weightBps: 10_001n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterOutOfEnvelope")
        .withArgs(param("weightBps"), 10_001n, 100n, BPS);
      await expect(risk.setCollateralRisk(CORE, f.wbtcAddress, { ...WBTC_CORE, weightBps: 99n, excessWeightBps: 99n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterOutOfEnvelope")
        .withArgs(param("weightBps"), 99n, 100n, BPS);
      await expect(risk.setCollateralRisk(CORE, f.wbtcAddress, { ...WBTC_CORE, excessWeightBps: 7_001n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterOutOfEnvelope")
        .withArgs(param("excessWeightBps"), 7_001n, 0n, 7_000n);
    });

    it("refuses a step above max(50%, minStep): weight (min 100), excess weight (min 100), threshold (min 1e18)", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const risk = f.engine.connect(f.risk);
      const step = (name: string, oldValue: bigint, newValue: bigint, minStep: bigint) => [
        param(name),
        oldValue,
        newValue,
        MAX_PARAM_STEP_BPS,
        minStep,
      ];
      // WETH in core: 8000 / 5000 above 1M.
      await expect(
        risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, weightBps: 3_999n, excessWeightBps: 3_999n }),
      )
        .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
        .withArgs(...step("weightBps", 8_000n, 3_999n, 100n));
      await expect(risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, excessWeightBps: 2_499n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
        .withArgs(...step("excessWeightBps", 5_000n, 2_499n, 100n));
      await expect(risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, sizeThreshold: w("1500000") + 1n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
        .withArgs(...step("sizeThreshold", w("1000000"), w("1500000") + 1n, WAD));
      // A zero threshold may move by 1e18, not more.
      await expect(risk.setCollateralRisk(CORE, f.wbtcAddress, { ...WBTC_CORE, sizeThreshold: WAD + 1n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
        .withArgs(...step("sizeThreshold", 0n, WAD + 1n, WAD));
      // The largest steps are accepted.
      const weth = { ...WETH_CORE, weightBps: 4_000n, excessWeightBps: 2_500n, sizeThreshold: w("1500000") };
      const wbtc = { ...WBTC_CORE, sizeThreshold: WAD };
      await (await risk.setCollateralRisk(CORE, f.wethAddress, weth)).wait();
      await (await risk.setCollateralRisk(CORE, f.wbtcAddress, wbtc)).wait();
      expect(await collateralRiskOf(f, CORE, f.wethAddress)).to.deep.equal(weth);
      expect(await collateralRiskOf(f, CORE, f.wbtcAddress)).to.deep.equal(wbtc);
    });

    it("lets a weight at the floor move by 100 bps", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const token = await newToken(f, 18);
      await (
        await f.engine.addCollateralToTier(EDGE, token, { ...WETH_CORE, weightBps: 100n, excessWeightBps: 100n })
      ).wait();
      await time.increase(PARAM_COOLDOWN);
      const risk = f.engine.connect(f.risk);
      await expect(risk.setCollateralRisk(EDGE, token, { ...WETH_CORE, weightBps: 201n, excessWeightBps: 100n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterStepTooLarge")
        .withArgs(param("weightBps"), 100n, 201n, MAX_PARAM_STEP_BPS, 100n);
      await (
        await risk.setCollateralRisk(EDGE, token, { ...WETH_CORE, weightBps: 200n, excessWeightBps: 100n })
      ).wait();
      expect((await collateralRiskOf(f, EDGE, token)).weightBps).to.equal(200n);
    });

    it("allows one change per tier × collateral per day", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const risk = f.engine.connect(f.risk);
      const t1 = (await now()) + 10n;
      await time.setNextBlockTimestamp(t1);
      await (await risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, weightBps: 7_500n })).wait();
      // Other pairs keep their own cooldowns.
      await (
        await risk.setCollateralRisk(CORE, f.wbtcAddress, { ...WBTC_CORE, weightBps: 6_500n, excessWeightBps: 6_500n })
      ).wait();
      await (await risk.setCollateralRisk(PRO, f.wethAddress, { ...WETH_PRO, weightBps: 7_000n })).wait();
      await time.setNextBlockTimestamp(t1 + PARAM_COOLDOWN - 1n);
      await expect(risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, weightBps: 7_000n }))
        .to.be.revertedWithCustomError(f.engine, "ParameterChangeTooSoon")
        .withArgs(collateralKey(CORE, f.wethAddress), t1 + PARAM_COOLDOWN);
      await time.setNextBlockTimestamp(t1 + PARAM_COOLDOWN);
      await (await risk.setCollateralRisk(CORE, f.wethAddress, { ...WETH_CORE, weightBps: 7_000n })).wait();
      expect((await collateralRiskOf(f, CORE, f.wethAddress)).weightBps).to.equal(7_000n);
    });
  });

  // -------------------------------------------------------------------- views

  describe("requirements", () => {
    it("applies both brackets progressively, rounding up (core ETH: 1M +1%, 5M +2%)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      // [notional, im, mm, backstop] at 3334 / 1667 / 800 bps.
      const cases: [bigint, bigint, bigint, bigint][] = [
        [0n, 0n, 0n, 0n],
        [1n, 1n, 1n, 1n],
        [12_345n, 4_116n, 2_058n, 988n], // 4115.823, 2057.9115, 987.6 rounded up
        [w("1000"), w("333.4"), w("166.7"), w("80")],
        [w("1000000"), w("333400"), w("166700"), w("80000")], // at the first threshold: no add-on
        [w("1000000") + 1n, w("333400") + 1n, w("166700") + 1n, w("80000") + 1n],
        [w("2000000"), w("676800"), w("343400"), w("170000")],
        [w("5000000"), w("1707000"), w("873500"), w("440000")], // at the second threshold
        [w("6000000"), w("2070400"), w("1070200"), w("550000")],
      ];
      for (const [notional, im, mm, bs] of cases) {
        const got = await requirementsOf(f, CORE, ETH_MARKET, notional);
        expect(got, `notional ${notional}`).to.deep.equal([im, mm, bs]);
        expect(got, `notional ${notional} (mirror)`).to.deep.equal(requirements(notional, CORE_ETH.ratios, CORE_ETH));
      }
    });

    it("is linear without brackets (edge ETH)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      expect(await requirementsOf(f, EDGE, ETH_MARKET, w("10000000"))).to.deep.equal([
        w("200000"),
        w("100000"),
        w("50000"),
      ]);
      expect(await requirementsOf(f, EDGE, ETH_MARKET, 3n)).to.deep.equal([1n, 1n, 1n]);
      expect(await requirementsOf(f, EDGE, ETH_MARKET, 50n)).to.deep.equal([1n, 1n, 1n]);
      expect(await requirementsOf(f, EDGE, ETH_MARKET, 51n)).to.deep.equal([2n, 1n, 1n]);
      const big = w("123456789.123456789123456789");
      expect(await requirementsOf(f, EDGE, ETH_MARKET, big)).to.deep.equal(
        requirements(big, EDGE_ETH.ratios, EDGE_ETH),
      );
    });

    it("ignores the second bracket's add-on while its threshold is 0 (pro BTC)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      // 10M at 500/250/120 bps + 8M above 2M at 1.5%; the 3% of bracket 2 is off.
      expect(await requirementsOf(f, PRO, BTC_MARKET, w("10000000"))).to.deep.equal([
        w("620000"),
        w("370000"),
        w("240000"),
      ]);
      expect(await requirementsOf(f, PRO, BTC_MARKET, w("2000000"))).to.deep.equal([
        w("100000"),
        w("50000"),
        w("24000"),
      ]);
      for (const notional of [w("2000000") + 1n, w("3333333.333333333333333333")]) {
        expect(await requirementsOf(f, PRO, BTC_MARKET, notional)).to.deep.equal(
          requirements(notional, PRO_BTC.ratios, PRO_BTC),
        );
      }
    });

    it("reverts with RiskMarketNotInTier for a pair that is not listed", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      for (const [tier, market] of [
        [EDGE, BTC_MARKET],
        [CORE, BTC_MARKET],
        [CORE, 99],
        [9, ETH_MARKET],
      ]) {
        await expect(f.engine.requirements(tier!, market!, w("1")))
          .to.be.revertedWithCustomError(f.engine, "RiskMarketNotInTier")
          .withArgs(tier, market);
      }
    });
  });

  describe("weightedCollateralValue", () => {
    it("weights up to the size threshold, the excess weight above it, rounding down (core WETH: 80% to 1M, 50% above)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      const cases: [bigint, bigint][] = [
        [0n, 0n],
        [1n, 0n],
        [12_347n, 9_877n], // 9877.6
        [w("999999"), w("799999.2")],
        [w("1000000"), w("800000")], // at the threshold
        [w("1000000") + 1n, w("800000")], // 0.5 wei above, rounded down
        [w("1000000") + 3n, w("800000") + 1n], // 1.5 wei above
        [w("3000000"), w("1800000")],
      ];
      for (const [value, expected] of cases) {
        const got = await f.engine.weightedCollateralValue(CORE, f.wethAddress, value);
        expect(got, `value ${value}`).to.equal(expected);
        expect(got, `value ${value} (mirror)`).to.equal(weightedValue(value, WETH_CORE));
      }
    });

    it("applies the weight to every value when the threshold is 0 (core WBTC: 70%)", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      expect(await f.engine.weightedCollateralValue(CORE, f.wbtcAddress, 12_347n)).to.equal(8_642n); // 8642.9
      expect(await f.engine.weightedCollateralValue(CORE, f.wbtcAddress, w("1000000000000"))).to.equal(
        w("700000000000"),
      );
    });

    it("values the quote token at par", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      for (const value of [0n, 1n, 999_999n, w("123456.789")]) {
        expect(await f.engine.weightedCollateralValue(PRO, f.usdcAddress, value)).to.equal(value);
      }
    });

    it("reverts with RiskCollateralNotInTier for a token the tier does not list, and an unknown tier", async () => {
      const f = await networkHelpers.loadFixture(fixture);
      await expect(f.engine.weightedCollateralValue(EDGE, f.wethAddress, 1n))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(EDGE, f.wethAddress);
      await expect(f.engine.weightedCollateralValue(PRO, f.wbtcAddress, 1n))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(PRO, f.wbtcAddress);
      await expect(f.engine.weightedCollateralValue(9, f.usdcAddress, 1n))
        .to.be.revertedWithCustomError(f.engine, "RiskCollateralNotInTier")
        .withArgs(9, f.usdcAddress);
    });
  });

  // -------------------------------------------------------------------- marginParams

  describe("marginParams", () => {
    it("returns the asset, the ratios in force, brackets, funding and liquidation parameters in one read", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      const p = await f.engine.marginParams(PRO, ETH_MARKET);
      expect(p.oracleAsset).to.equal(ETH);
      expect(toRatios(p.ratios)).to.deep.equal(PRO_ETH.ratios);
      expect([
        p.bracketNotional1,
        p.bracketAddBps1,
        p.bracketNotional2,
        p.bracketAddBps2,
        p.maxFundingBpsPerDay,
        p.fundingSkewScale,
        p.liquidationPenaltyBps,
        p.keeperShareBps,
        p.keeperRewardCap,
      ]).to.deep.equal([
        PRO_ETH.bracketNotional1,
        PRO_ETH.bracketAddBps1,
        PRO_ETH.bracketNotional2,
        PRO_ETH.bracketAddBps2,
        PRO_ETH.maxFundingBpsPerDay,
        PRO_ETH.fundingSkewScale,
        PRO_ETH.liquidationPenaltyBps,
        PRO_ETH.keeperShareBps,
        PRO_ETH.keeperRewardCap,
      ]);
    });

    it("holds a raised penalty to the ratios in force while a tightening ramps", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      // 500/250/120 with penalty 100 -> 600/300/150 with penalty 150 (= bmr = mmr - bmr): one allowed step.
      const next = { ...withRatios(PRO_ETH, { imr: 600n, mmr: 300n, bmr: 150n }), liquidationPenaltyBps: 150n };
      await (await f.engine.connect(f.risk).setMarketRisk(PRO, ETH_MARKET, { ...next, maxLeverage: 16n })).wait();
      expect((await f.engine.marketRisk(PRO, ETH_MARKET)).liquidationPenaltyBps).to.equal(150n);

      // At the ramp's start the ratios in force are still 500/250/120: the penalty is held to
      // min(mmr - bmr, bmr) = min(130, 120) = 120, so a partial liquidation can always pay it and improve.
      expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(PRO_ETH.ratios);
      expect((await f.engine.marginParams(PRO, ETH_MARKET)).liquidationPenaltyBps).to.equal(120n);

      // Half-way the ratios in force are 550/275/135: min(140, 135) = 135.
      const start = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
      await time.increaseTo(start + RAMP_DURATION / 2n);
      expect(await currentRatios(f, PRO, ETH_MARKET)).to.deep.equal(ratios(550n, 275n, 135n));
      expect((await f.engine.marginParams(PRO, ETH_MARKET)).liquidationPenaltyBps).to.equal(135n);

      await time.increaseTo(start + RAMP_DURATION);
      expect((await f.engine.marginParams(PRO, ETH_MARKET)).liquidationPenaltyBps).to.equal(150n);
    });

    it("reverts RiskMarketNotInTier for a market the tier does not list", async () => {
      const f = await networkHelpers.loadFixture(settledFixture);
      await expect(f.engine.marginParams(EDGE, BTC_MARKET))
        .to.be.revertedWithCustomError(f.engine, "RiskMarketNotInTier")
        .withArgs(EDGE, BTC_MARKET);
    });
  });
});
