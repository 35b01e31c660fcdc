import {
  AbiCoder,
  encodeBytes32String,
  keccak256,
  parseUnits,
  ZeroHash,
  type ContractTransactionResponse,
} from "ethers";

import {
  MockERC20__factory,
  RiskEngine__factory,
  StrataAccessManager__factory,
  type MockERC20,
  type RiskEngine,
  type StrataAccessManager,
} from "../../types/index.js";
import * as margin from "../../sdk/src/math/marginMath.js";
import type { IRiskEngine } from "../../types/contracts/risk/RiskEngine.js";
import type { Chain } from "../helpers/foundation.js";

// ------------------------------------------------------------------ constants (mirror RiskEngine)

export const WAD = 10n ** 18n;
export const BPS = 10_000n;
export const DAY = 86_400n;
/** RiskEngine.PARAM_COOLDOWN: shortest interval between two changes of one tier × market or tier × collateral. */
export const PARAM_COOLDOWN = DAY;
/** RiskEngine.RAMP_DURATION: how long a tightening of the margin ratios takes to reach its target. */
export const RAMP_DURATION = 3n * DAY;
/** RiskEngine.MAX_PARAM_STEP_BPS: the relative step of one change. */
export const MAX_PARAM_STEP_BPS = 5_000n;
export const MAX_UINT96 = (1n << 96n) - 1n;
export const MAX_UINT128 = (1n << 128n) - 1n;

/** AccessManager role ids (sdk/src/deploy/roles.ts): ADMIN is the manager's own ADMIN_ROLE. */
export const ADMIN_ROLE = 0n;
export const RISK_ROLE = 1n;
export const ADMIN_FUNCTIONS = ["listTier", "listMarket", "addMarketToTier", "addCollateralToTier"] as const;
export const RISK_FUNCTIONS = ["setMarketRisk", "setCollateralRisk"] as const;

export const CORE = 0;
export const PRO = 1;
export const EDGE = 2;
export const ETH_MARKET = 1;
export const BTC_MARKET = 2;
export const ETH = encodeBytes32String("ETH/USD");
export const BTC = encodeBytes32String("BTC/USD");

/** An amount in quote or base WAD from a decimal string. */
export const w = (s: string): bigint => parseUnits(s, 18);

/** The bytes32 name of a governance parameter, as ParamGuard reports it. */
export const param = (name: string): string => encodeBytes32String(name);

// ------------------------------------------------------------------ settings

export interface Ratios {
  imr: bigint;
  mmr: bigint;
  bmr: bigint;
}

export interface MarketRisk {
  ratios: Ratios;
  bracketNotional1: bigint;
  bracketAddBps1: bigint;
  bracketNotional2: bigint;
  bracketAddBps2: bigint;
  maxLeverage: bigint;
  liquidationPenaltyBps: bigint;
  keeperShareBps: bigint;
  keeperRewardCap: bigint;
  oiCap: bigint;
  priceBandBps: bigint;
  makerFeeBps: bigint;
  takerFeeBps: bigint;
  maxFundingBpsPerDay: bigint;
  fundingSkewScale: bigint;
}

export interface CollateralRisk {
  listed: boolean;
  weightBps: bigint;
  excessWeightBps: bigint;
  sizeThreshold: bigint;
  oracleAsset: string;
}

export const ratios = (imr: bigint, mmr: bigint, bmr: bigint): Ratios => ({ imr, mmr, bmr });

/** `r` with some ratios replaced. */
export const withRatios = (r: MarketRisk, x: Partial<Ratios>): MarketRisk => ({ ...r, ratios: { ...r.ratios, ...x } });

/** Core ETH/USD: 3x at most, brackets at 1M (+1%) and 5M (+2% more). Penalty 500 <= mmr - bmr = 867. */
export const CORE_ETH: MarketRisk = {
  ratios: ratios(3_334n, 1_667n, 800n),
  bracketNotional1: w("1000000"),
  bracketAddBps1: 100n,
  bracketNotional2: w("5000000"),
  bracketAddBps2: 200n,
  maxLeverage: 2n, // 10000 / 3334 = 2 (floor)
  liquidationPenaltyBps: 500n,
  keeperShareBps: 3_000n,
  keeperRewardCap: w("10000"),
  oiCap: w("50000"),
  priceBandBps: 100n,
  makerFeeBps: 1n,
  takerFeeBps: 4n,
  maxFundingBpsPerDay: 50n,
  fundingSkewScale: w("10000"),
};

/** Pro ETH/USD: 20x, same brackets as core. Penalty 100 <= mmr - bmr = 130. */
export const PRO_ETH: MarketRisk = {
  ratios: ratios(500n, 250n, 120n),
  bracketNotional1: w("1000000"),
  bracketAddBps1: 100n,
  bracketNotional2: w("5000000"),
  bracketAddBps2: 200n,
  maxLeverage: 20n,
  liquidationPenaltyBps: 100n,
  keeperShareBps: 3_000n,
  keeperRewardCap: w("10000"),
  oiCap: w("10000"),
  priceBandBps: 200n,
  makerFeeBps: 2n,
  takerFeeBps: 5n,
  maxFundingBpsPerDay: 100n,
  fundingSkewScale: w("1000"),
};

/** Edge ETH/USD: 50x, no brackets, zero maker fee. Penalty 50 = mmr - bmr exactly. */
export const EDGE_ETH: MarketRisk = {
  ratios: ratios(200n, 100n, 50n),
  bracketNotional1: 0n,
  bracketAddBps1: 0n,
  bracketNotional2: 0n,
  bracketAddBps2: 0n,
  maxLeverage: 50n,
  liquidationPenaltyBps: 50n,
  keeperShareBps: 5_000n,
  keeperRewardCap: w("1000"),
  oiCap: w("1000"),
  priceBandBps: 500n,
  makerFeeBps: 0n,
  takerFeeBps: 10n,
  maxFundingBpsPerDay: 300n,
  fundingSkewScale: w("100"),
};

/** Pro BTC/USD: one bracket only (bracketNotional2 = 0 switches the second off although its add is set). */
export const PRO_BTC: MarketRisk = {
  ratios: ratios(500n, 250n, 120n),
  bracketNotional1: w("2000000"),
  bracketAddBps1: 150n,
  bracketNotional2: 0n,
  bracketAddBps2: 300n,
  maxLeverage: 20n,
  liquidationPenaltyBps: 100n,
  keeperShareBps: 3_000n,
  keeperRewardCap: w("10000"),
  oiCap: w("500"),
  priceBandBps: 200n,
  makerFeeBps: 2n,
  takerFeeBps: 5n,
  maxFundingBpsPerDay: 100n,
  fundingSkewScale: w("50"),
};

/** Core BTC/USD (not listed by the fixture): stricter than pro's BTC, as a deeper tier must be. */
export const CORE_BTC: MarketRisk = { ...withRatios(PRO_BTC, ratios(600n, 300n, 150n)), maxLeverage: 16n };

/** Edge BTC/USD (not listed by the fixture): looser than pro's BTC. */
export const EDGE_BTC: MarketRisk = {
  ratios: ratios(400n, 200n, 100n),
  bracketNotional1: w("100000"),
  bracketAddBps1: 50n,
  bracketNotional2: 0n,
  bracketAddBps2: 0n,
  maxLeverage: 25n,
  liquidationPenaltyBps: 100n,
  keeperShareBps: 5_000n,
  keeperRewardCap: w("1000"),
  oiCap: w("100"),
  priceBandBps: 500n,
  makerFeeBps: 0n,
  takerFeeBps: 10n,
  maxFundingBpsPerDay: 300n,
  fundingSkewScale: w("10"),
};

/** WETH in core: 80% up to 1M of value, 50% above. */
export const WETH_CORE: CollateralRisk = {
  listed: true,
  weightBps: 8_000n,
  excessWeightBps: 5_000n,
  sizeThreshold: w("1000000"),
  oracleAsset: ETH,
};

/** WBTC in core: 70%, no size scaling (threshold 0). */
export const WBTC_CORE: CollateralRisk = {
  listed: true,
  weightBps: 7_000n,
  excessWeightBps: 7_000n,
  sizeThreshold: 0n,
  oracleAsset: BTC,
};

/** WETH in pro: 75% up to 500k, 50% above. */
export const WETH_PRO: CollateralRisk = {
  listed: true,
  weightBps: 7_500n,
  excessWeightBps: 5_000n,
  sizeThreshold: w("500000"),
  oracleAsset: ETH,
};

/** The quote token's entry, written by listTier. */
export const QUOTE_RISK: CollateralRisk = {
  listed: true,
  weightBps: BPS,
  excessWeightBps: BPS,
  sizeThreshold: 0n,
  oracleAsset: ZeroHash,
};

// ------------------------------------------------------------------ tuples (ABI order) for events and views

export const ratiosTuple = (r: Ratios): bigint[] => [r.imr, r.mmr, r.bmr];

export function marketRiskTuple(r: MarketRisk): unknown[] {
  return [
    ratiosTuple(r.ratios),
    r.bracketNotional1,
    r.bracketAddBps1,
    r.bracketNotional2,
    r.bracketAddBps2,
    r.maxFundingBpsPerDay,
    r.liquidationPenaltyBps,
    r.keeperShareBps,
    r.keeperRewardCap,
    r.maxLeverage,
    r.priceBandBps,
    r.makerFeeBps,
    r.takerFeeBps,
    r.fundingSkewScale,
    r.oiCap,
  ];
}

export const collateralTuple = (c: CollateralRisk): unknown[] => [
  c.listed,
  c.weightBps,
  c.excessWeightBps,
  c.sizeThreshold,
  c.oracleAsset,
];

export const toRatios = (o: IRiskEngine.MarginRatiosStructOutput): Ratios => ({ imr: o.imr, mmr: o.mmr, bmr: o.bmr });

export function toMarketRisk(o: IRiskEngine.MarketRiskStructOutput): MarketRisk {
  return {
    ratios: toRatios(o.ratios),
    bracketNotional1: o.bracketNotional1,
    bracketAddBps1: o.bracketAddBps1,
    bracketNotional2: o.bracketNotional2,
    bracketAddBps2: o.bracketAddBps2,
    maxLeverage: o.maxLeverage,
    liquidationPenaltyBps: o.liquidationPenaltyBps,
    keeperShareBps: o.keeperShareBps,
    keeperRewardCap: o.keeperRewardCap,
    oiCap: o.oiCap,
    priceBandBps: o.priceBandBps,
    makerFeeBps: o.makerFeeBps,
    takerFeeBps: o.takerFeeBps,
    maxFundingBpsPerDay: o.maxFundingBpsPerDay,
    fundingSkewScale: o.fundingSkewScale,
  };
}

export const toCollateralRisk = (o: IRiskEngine.CollateralRiskStructOutput): CollateralRisk => ({
  listed: o.listed,
  weightBps: o.weightBps,
  excessWeightBps: o.excessWeightBps,
  sizeThreshold: o.sizeThreshold,
  oracleAsset: o.oracleAsset,
});

// ------------------------------------------------------------------ exact arithmetic (mirrors MarginMath, ParamGuard)

export { ceilDiv } from "../../sdk/src/math/wad.js";

/** MarginMath.requirement (sdk/src/math): rate plus progressive bracket add-ons, rounded up. */
export function requirement(notional: bigint, rateBps: bigint, r: MarketRisk): bigint {
  return margin.requirement(notional, rateBps, r);
}

/** MarginMath.requirements: [im, mm, backstop]. */
export function requirements(notional: bigint, x: Ratios, r: MarketRisk): [bigint, bigint, bigint] {
  const q = margin.requirements(notional, x, r);
  return [q.im, q.mm, q.backstop];
}

/** MarginMath.weightedValue (sdk/src/math). */
export function weightedValue(value: bigint, c: CollateralRisk): bigint {
  return margin.weightedValue(value, c);
}

/** MarginMath.rampedRatios (sdk/src/math). */
export function rampedRatios(from: Ratios, to: Ratios, start: bigint, end: bigint, now: bigint): Ratios {
  return margin.rampedRatios(from, to, start, end, now);
}

/** ParamGuard.checkStep: the largest change from `old`, max(old * 50% rounded down, minStep). */
export function allowedStep(old: bigint, minStep: bigint): bigint {
  const relative = (old * MAX_PARAM_STEP_BPS) / BPS;
  return relative > minStep ? relative : minStep;
}

/** The cooldown key of a tier × market: keccak256(abi.encode("marketRisk", uint8 tier, uint16 market)). */
export const marketKey = (tier: number, market: number): string =>
  keccak256(AbiCoder.defaultAbiCoder().encode(["string", "uint8", "uint16"], ["marketRisk", tier, market]));

/** The cooldown key of a tier × collateral: keccak256(abi.encode("collateralRisk", uint8 tier, address token)). */
export const collateralKey = (tier: number, token: string): string =>
  keccak256(AbiCoder.defaultAbiCoder().encode(["string", "uint8", "address"], ["collateralRisk", tier, token]));

// ------------------------------------------------------------------ fixture

/**
 * A standalone RiskEngine governed by its own StrataAccessManager: deployer = ADMIN (listTier, listMarket,
 * addMarketToTier, addCollateralToTier), risk = RISK (setMarketRisk, setCollateralRisk, no delay),
 * mallory holds no role.
 *
 * Tiers (all quoted in 6-decimal USDC): core (0, depth 0, 8 positions), pro (1, depth 1, 8), edge
 * (2, depth 2, 4). Markets 1 (ETH/USD) and 2 (BTC/USD). ETH is listed in every tier (CORE_ETH, PRO_ETH,
 * EDGE_ETH), BTC in pro only (PRO_BTC). Collaterals: core USDC, WETH (18 decimals), WBTC (8 decimals); pro
 * USDC, WETH; edge USDC only. `listedAt` holds the block time of each listing, which starts its cooldown.
 */
export async function deployRiskFixture(chain: Chain) {
  const [deployer, risk, mallory] = await chain.ethers.getSigners();
  const manager: StrataAccessManager = await new StrataAccessManager__factory(deployer!).deploy(deployer!.address);
  await manager.waitForDeployment();
  const engine: RiskEngine = await new RiskEngine__factory(deployer!).deploy(await manager.getAddress());
  await engine.waitForDeployment();
  const engineAddress = await engine.getAddress();

  const selectors = (names: readonly (typeof ADMIN_FUNCTIONS | typeof RISK_FUNCTIONS)[number][]) =>
    names.map((n) => engine.interface.getFunction(n).selector);
  await (await manager.setTargetFunctionRole(engineAddress, selectors(ADMIN_FUNCTIONS), ADMIN_ROLE)).wait();
  await (await manager.setTargetFunctionRole(engineAddress, selectors(RISK_FUNCTIONS), RISK_ROLE)).wait();
  await (await manager.grantRole(RISK_ROLE, risk!.address, 0)).wait();

  const token = async (name: string, decimals: number): Promise<[MockERC20, string]> => {
    const t = await new MockERC20__factory(deployer!).deploy(name, name, decimals);
    await t.waitForDeployment();
    return [t, await t.getAddress()];
  };
  const [usdc, usdcAddress] = await token("USDC", 6);
  const [weth, wethAddress] = await token("WETH", 18);
  const [wbtc, wbtcAddress] = await token("WBTC", 8);

  /** Sends, waits, and returns the block time of the transaction. */
  const stamp = async (tx: Promise<ContractTransactionResponse>): Promise<bigint> => {
    const receipt = (await (await tx).wait())!;
    return BigInt((await receipt.getBlock()).timestamp);
  };

  await stamp(engine.listTier(CORE, 0, usdcAddress, 8));
  await stamp(engine.listTier(PRO, 1, usdcAddress, 8));
  await stamp(engine.listTier(EDGE, 2, usdcAddress, 4));
  await stamp(engine.listMarket(ETH_MARKET, ETH));
  await stamp(engine.listMarket(BTC_MARKET, BTC));
  const listedAt = {
    coreEth: await stamp(engine.addMarketToTier(CORE, ETH_MARKET, CORE_ETH)),
    proEth: await stamp(engine.addMarketToTier(PRO, ETH_MARKET, PRO_ETH)),
    edgeEth: await stamp(engine.addMarketToTier(EDGE, ETH_MARKET, EDGE_ETH)),
    proBtc: await stamp(engine.addMarketToTier(PRO, BTC_MARKET, PRO_BTC)),
    coreWeth: await stamp(engine.addCollateralToTier(CORE, wethAddress, WETH_CORE)),
    coreWbtc: await stamp(engine.addCollateralToTier(CORE, wbtcAddress, WBTC_CORE)),
    proWeth: await stamp(engine.addCollateralToTier(PRO, wethAddress, WETH_PRO)),
  };

  return {
    manager,
    engine,
    engineAddress,
    deployer: deployer!,
    risk: risk!,
    mallory: mallory!,
    usdc,
    usdcAddress,
    weth,
    wethAddress,
    wbtc,
    wbtcAddress,
    listedAt,
  };
}

export type RiskFixture = Awaited<ReturnType<typeof deployRiskFixture>>;
