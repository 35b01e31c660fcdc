import { AbiCoder, encodeBytes32String, keccak256, parseUnits, ZeroAddress, type Signer } from "ethers";

import {
  MockFeedProxy__factory,
  MockV3Aggregator__factory,
  OracleRouter__factory,
  StrataAccessManager__factory,
  type MockFeedProxy,
  type MockV3Aggregator,
  type OracleRouter,
  type StrataAccessManager,
} from "../../types/index.js";
import type { IOracleRouter } from "../../types/contracts/oracle/OracleRouter.js";
import { FUNCTION_ROLES, Role, type RoleName } from "../../sdk/src/deploy/roles.js";
import type { Chain } from "../helpers/foundation.js";

// ------------------------------------------------------------------ exact arithmetic (mirrors OracleRouter)

export const WAD = 10n ** 18n;
export const BPS = 10_000n;
export const HOUR = 3600n;
export const DAY = 86_400n;
/** OracleRouter.MAX_PRICE: the hard ceiling of a feed answer in WAD; above it the answer is invalid. */
export const MAX_PRICE = 10n ** 36n;
/** OracleRouter.MAX_PARAM_STEP_BPS: the relative step of a parameter change. */
export const MAX_PARAM_STEP_BPS = 5_000n;
/** OracleRouter.PARAM_COOLDOWN: the shortest interval between two changes of one asset's parameters or feeds. */
export const PARAM_COOLDOWN = DAY;

/** `a * b / d` rounded up (OpenZeppelin `Math.mulDiv(..., Ceil)`). */
export function mulDivUp(a: bigint, b: bigint, d: bigint): bigint {
  const p = a * b;
  return p / d + (p % d === 0n ? 0n : 1n);
}

export const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);

/** A feed answer with `decimals` decimals in WAD: exact below 18 decimals, rounded down above. */
export function toWad(answer: bigint, decimals: number): bigint {
  if (decimals === 18) return answer;
  if (decimals < 18) return answer * 10n ** BigInt(18 - decimals);
  return answer / 10n ** BigInt(decimals - 18);
}

/** The confidence half-width in bps of a price `age` seconds old: min(max, base + ceil(age * perHour / 3600)). */
export function confidenceBps(
  cfg: Pick<AssetParams, "baseConfidenceBps" | "confidenceBpsPerHour" | "maxConfidenceBps">,
  age: bigint,
): bigint {
  return min(
    BigInt(cfg.baseConfidenceBps) + mulDivUp(age, BigInt(cfg.confidenceBpsPerHour), HOUR),
    BigInt(cfg.maxConfidenceBps),
  );
}

/** The half-width of `price` at `bps`, rounded up. */
export function halfWidth(price: bigint, bps: bigint): bigint {
  return mulDivUp(price, bps, BPS);
}

/** `price` ± its half-width at `bps` (lower floored at 0). */
export function band(price: bigint, bps: bigint): { lower: bigint; upper: bigint; confidence: bigint } {
  const confidence = halfWidth(price, bps);
  return { lower: price - min(confidence, price), upper: price + confidence, confidence };
}

/** |a − b| / a in bps, rounded up. */
export function deviationBps(reference: bigint, other: bigint): bigint {
  const diff = reference > other ? reference - other : other - reference;
  return mulDivUp(diff, BPS, reference);
}

/** The bytes32 name of a governance parameter, as ParamGuard reports it. */
export const param = (name: string): string => encodeBytes32String(name);

/** The cooldown key of a parameter group: keccak256(abi.encode(group, asset)), as ParamChangeTooSoon reports it. */
export const cooldownKey = (group: "assetParams" | "feeds", asset: string): string =>
  keccak256(AbiCoder.defaultAbiCoder().encode(["string", "bytes32"], [group, asset]));

/** The largest change allowed to a parameter whose value is `old`: max(old * 50% rounded down, minStep). */
export function allowedStep(old: bigint, minStep: bigint): bigint {
  return max((old * MAX_PARAM_STEP_BPS) / BPS, minStep);
}

// ------------------------------------------------------------------ configs

export interface AssetParams {
  primaryMaxAge: bigint;
  secondaryMaxAge: bigint;
  maxDeviationBps: bigint;
  minPrice: bigint;
  maxPrice: bigint;
  jumpThresholdBps: bigint;
  breakerCooldown: bigint;
  baseConfidenceBps: bigint;
  confidenceBpsPerHour: bigint;
  maxConfidenceBps: bigint;
}

export type AssetConfig = AssetParams & { primary: string; secondary: string };

/** The absolute step each parameter may always move by in setAssetParams (the `minStep` of ParamGuard). */
export const MIN_STEP: Record<keyof AssetParams, bigint> = {
  primaryMaxAge: 60n,
  secondaryMaxAge: 60n,
  maxDeviationBps: 10n,
  minPrice: 1n,
  maxPrice: 1n,
  jumpThresholdBps: 100n,
  breakerCooldown: 60n,
  baseConfidenceBps: 5n,
  confidenceBpsPerHour: 10n,
  maxConfidenceBps: 100n,
};

/** The ETH/USD parameters of deploy/local.ts. */
export const ETH_PARAMS: AssetParams = {
  primaryMaxAge: 4200n,
  secondaryMaxAge: 4200n,
  maxDeviationBps: 200n,
  minPrice: parseUnits("10", 18),
  maxPrice: parseUnits("1000000", 18),
  jumpThresholdBps: 2_000n,
  breakerCooldown: 900n,
  baseConfidenceBps: 10n,
  confidenceBpsPerHour: 50n,
  maxConfidenceBps: 2_500n,
};

/** The BTC/USD parameters of deploy/local.ts (no secondary). */
export const BTC_PARAMS: AssetParams = {
  ...ETH_PARAMS,
  minPrice: parseUnits("100", 18),
  maxPrice: parseUnits("10000000", 18),
};

export const ETH = encodeBytes32String("ETH/USD");
export const BTC = encodeBytes32String("BTC/USD");
export const UNKNOWN = encodeBytes32String("DOGE/USD");

/** The struct the router takes, from a config. */
export function toStruct(c: AssetConfig): IOracleRouter.AssetConfigStruct {
  return { ...c };
}

// ------------------------------------------------------------------ feeds

/** A mock Chainlink aggregator behind a breakable proxy; the router is given the proxy. */
export interface Feed {
  agg: MockV3Aggregator;
  proxy: MockFeedProxy;
  address: string;
  decimals: number;
}

export async function deployFeed(signer: Signer, decimals: number, answer: bigint): Promise<Feed> {
  const agg = await new MockV3Aggregator__factory(signer).deploy(decimals, answer);
  await agg.waitForDeployment();
  const proxy = await new MockFeedProxy__factory(signer).deploy(await agg.getAddress());
  await proxy.waitForDeployment();
  return { agg, proxy, address: await proxy.getAddress(), decimals };
}

// ------------------------------------------------------------------ fixture

/**
 * A standalone router governed by its own AccessManager, wired exactly as FUNCTION_ROLES says:
 * deployer = ADMIN, risk = RISK, oracleOperator = ORACLE, keeper and mallory hold no role.
 * Lists ETH/USD (8-decimal primary at 3000, 18-decimal secondary at 3001.5) and BTC/USD (8-decimal
 * primary at 60000, no secondary) with the parameters of deploy/local.ts, every feed behind a
 * breakable MockFeedProxy. A sequencer-uptime mock (answer 0 = up) is deployed but not set.
 */
export async function deployOracleFixture(chain: Chain) {
  const [deployer, risk, oracleOperator, keeper, mallory] = await chain.ethers.getSigners();
  const manager: StrataAccessManager = await new StrataAccessManager__factory(deployer!).deploy(deployer!.address);
  await manager.waitForDeployment();
  const oracle: OracleRouter = await new OracleRouter__factory(deployer!).deploy(await manager.getAddress());
  await oracle.waitForDeployment();
  const oracleAddress = await oracle.getAddress();

  const byRole = new Map<bigint, string[]>();
  for (const [fn, role] of Object.entries(FUNCTION_ROLES.oracle) as [keyof typeof FUNCTION_ROLES.oracle, RoleName][]) {
    const selector = oracle.interface.getFunction(fn).selector;
    byRole.set(Role[role], [...(byRole.get(Role[role]) ?? []), selector]);
  }
  for (const [role, selectors] of byRole) {
    await (await manager.setTargetFunctionRole(oracleAddress, selectors, role)).wait();
  }
  await (await manager.grantRole(Role.RISK, risk!.address, 0)).wait();
  await (await manager.grantRole(Role.ORACLE, oracleOperator!.address, 0)).wait();

  const ethPrimary = await deployFeed(deployer!, 8, parseUnits("3000", 8));
  const ethSecondary = await deployFeed(deployer!, 18, parseUnits("3001.5", 18));
  const btcPrimary = await deployFeed(deployer!, 8, parseUnits("60000", 8));

  const ethConfig: AssetConfig = { primary: ethPrimary.address, secondary: ethSecondary.address, ...ETH_PARAMS };
  const btcConfig: AssetConfig = { primary: btcPrimary.address, secondary: ZeroAddress, ...BTC_PARAMS };
  await (await oracle.listAsset(ETH, toStruct(ethConfig))).wait();
  await (await oracle.listAsset(BTC, toStruct(btcConfig))).wait();

  const sequencerAgg = await new MockV3Aggregator__factory(deployer!).deploy(0, 0n);
  await sequencerAgg.waitForDeployment();
  const sequencerProxy = await new MockFeedProxy__factory(deployer!).deploy(await sequencerAgg.getAddress());
  await sequencerProxy.waitForDeployment();

  return {
    manager,
    oracle,
    deployer: deployer!,
    risk: risk!,
    oracleOperator: oracleOperator!,
    keeper: keeper!,
    mallory: mallory!,
    ethPrimary,
    ethSecondary,
    btcPrimary,
    ethConfig,
    btcConfig,
    sequencerAgg,
    sequencerProxy,
  };
}

export type OracleFixture = Awaited<ReturnType<typeof deployOracleFixture>>;
