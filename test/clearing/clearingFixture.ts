import { encodeBytes32String, parseUnits, type ContractTransactionResponse } from "ethers";

import { deployLocalFoundation } from "../../deploy/local.js";
import * as margin from "../../sdk/src/math/marginMath.js";
import { max, min, mulDiv } from "../../sdk/src/math/wad.js";
import { accountBucket, insuranceBucket, settlementBucket } from "../../sdk/src/client/buckets.js";
import type { Chain } from "../helpers/foundation.js";

// ------------------------------------------------------------------ constants (deploy/local.ts)

export const CORE = 0;
export const PRO = 1;
export const EDGE = 2;
/** Market ids of deploy/local.ts. */
export const ETH = 1;
export const BTC = 2;
export const ETH_KEY = encodeBytes32String("ETH/USD");
export const BTC_KEY = encodeBytes32String("BTC/USD");

export const WAD = 10n ** 18n;
export const BPS = 10_000n;
export const HOUR = 3_600n;
export const DAY = 86_400n;
/** ClearingHouse.MAX_PRICE: the hard ceiling of a fill price (WAD). */
export const MAX_PRICE = 10n ** 36n;
/** Quote WAD per USDC unit (6 decimals). */
export const USDC_SCALE = 10n ** 12n;

/** Quote or base WAD from a decimal string. */
export const w = (s: string): bigint => parseUnits(s, 18);
/** USDC token units (6 decimals) from a decimal string. */
export const usdc = (s: string): bigint => parseUnits(s, 6);

/** Margin ratios (bps) per tier for both markets, and the shared brackets (deploy/local.ts). */
export const RATIOS = {
  [CORE]: { imr: 3_333n, mmr: 1_667n, bmr: 800n },
  [PRO]: { imr: 500n, mmr: 250n, bmr: 120n },
  [EDGE]: { imr: 200n, mmr: 100n, bmr: 50n },
} as const;
export const BRACKETS = { n1: w("1000000"), add1: 50n, n2: w("5000000"), add2: 100n };
/** Funding: 10 bps/day at most, reached at a pool inventory of `skew` base units. */
export const MAX_FUNDING_PER_DAY = 10n * 10n ** 14n;
export const SKEW_SCALE = { [ETH]: w("1000"), [BTC]: w("50") } as const;
/** Oracle: a fresh price's half-width, and its growth per hour (deploy/local.ts ethFeed). */
export const BASE_CONFIDENCE_BPS = 10n;
export const CONFIDENCE_BPS_PER_HOUR = 50n;
export const PRIMARY_MAX_AGE = 4_200n;

// ------------------------------------------------------------------ exact arithmetic (mirrors the libraries)

export { abs, max, min, mulDiv } from "../../sdk/src/math/wad.js";
export { fillNotional, fundingOwed, notionalUp, unrealizedPnl } from "../../sdk/src/math/positionMath.js";
export { applyFill as applyFillMath } from "../../sdk/src/math/positionMath.js";

const LOCAL_BRACKETS = {
  bracketNotional1: BRACKETS.n1,
  bracketAddBps1: BRACKETS.add1,
  bracketNotional2: BRACKETS.n2,
  bracketAddBps2: BRACKETS.add2,
};

/** MarginMath.requirement with the local brackets: notional × rate + bracket add-ons, rounded up. */
export function requirement(notional: bigint, rateBps: bigint): bigint {
  return margin.requirement(notional, rateBps, LOCAL_BRACKETS);
}

/** IM, MM and backstop of a position of `notional` in `tier`. */
export function requirements(tier: 0 | 1 | 2, notional: bigint): { im: bigint; mm: bigint; backstop: bigint } {
  const r = RATIOS[tier];
  return { im: requirement(notional, r.imr), mm: requirement(notional, r.mmr), backstop: requirement(notional, r.bmr) };
}

/** MarginMath.weightedValue. */
export function weightedValue(value: bigint, weightBps: bigint, excessWeightBps: bigint, threshold: bigint): bigint {
  return margin.weightedValue(value, { weightBps, excessWeightBps, sizeThreshold: threshold });
}

/** Funding rate per day (WAD) for a pool holding `poolSize` (ClearingHouse._fundingIndexNow). */
export function fundingRate(poolSize: bigint, skewScale: bigint): bigint {
  const rate = (MAX_FUNDING_PER_DAY * -poolSize) / skewScale; // truncates towards zero, as Solidity
  return rate > MAX_FUNDING_PER_DAY ? MAX_FUNDING_PER_DAY : rate < -MAX_FUNDING_PER_DAY ? -MAX_FUNDING_PER_DAY : rate;
}

/** How far the funding index moves at `rate` over `elapsed` seconds at `price` (truncated towards zero). */
export function fundingMove(rate: bigint, price: bigint, elapsed: bigint): bigint {
  return (rate * price * elapsed) / (DAY * WAD);
}

/** The oracle band at a confidence of `bps` around `price`, widened by `secondary` (OracleRouter._read). */
export function band(price: bigint, bps: bigint, secondary?: bigint): { lower: bigint; mid: bigint; upper: bigint } {
  const confidence = mulDiv(price, bps, BPS, true);
  let lower = price - min(confidence, price);
  let upper = price + confidence;
  if (secondary !== undefined) {
    lower = min(lower, secondary - min(confidence, secondary));
    upper = max(upper, secondary + confidence);
  }
  return { lower, mid: price, upper };
}

/** The half-width in bps of a price `age` seconds old (ETH/BTC settings of deploy/local.ts). */
export function confidenceBps(age: bigint): bigint {
  return min(BASE_CONFIDENCE_BPS + mulDiv(age, CONFIDENCE_BPS_PER_HOUR, HOUR, true), 2_500n);
}

// ------------------------------------------------------------------ the fixture

/**
 * The local foundation (deploy/local.ts) with four users (alice, bob, carol, dave), a pool owner and an
 * outsider, plus helpers to fund accounts, submit fills and set feed prices.
 */
export async function deployClearing(chain: Chain) {
  const signers = await chain.ethers.getSigners();
  const f = await deployLocalFoundation(signers, { users: 4 });
  const { d } = f;
  const [alice, bob, carol, dave] = [f.users[0]!, f.users[1]!, f.users[2]!, f.users[3]!];
  const poolOwner = signers[10]!;
  const outsider = signers[11]!;
  const vaultAddress = await d.vault.getAddress();
  const tokens = { USDC: d.tokens.USDC!, WETH: d.tokens.WETH!, WBTC: d.tokens.WBTC! };
  const feeds = {
    ethPrimary: d.assets["ETH/USD"]!.mockPrimary!,
    ethSecondary: d.assets["ETH/USD"]!.mockSecondary!,
    btcPrimary: d.assets["BTC/USD"]!.mockPrimary!,
  };
  type User = typeof alice;

  /** The account `(user, tier, subId)`. */
  const acct = (user: { address: string }, tier: number, subId = 0n): bigint =>
    accountBucket(user.address, tier, subId);

  /** Mints `amount` of `symbol` to `user`, approves the vault and deposits into `(user, tier, subId)`. */
  async function deposit(user: User, symbol: keyof typeof tokens, tier: number, amount: bigint, subId = 0n) {
    const token = tokens[symbol];
    await (await token.mock!.mint(user.address, amount)).wait();
    await (await token.mock!.connect(user).approve(vaultAddress, amount)).wait();
    await (await d.vault.connect(user).deposit(token.address, amount, acct(user, tier, subId))).wait();
    return acct(user, tier, subId);
  }

  /** Submits a fill as the execution layer (EXECUTOR). */
  function fill(
    taker: bigint,
    maker: bigint,
    market: number,
    size: bigint,
    price: bigint,
    takerFee = 0n,
    makerFee = 0n,
  ): Promise<ContractTransactionResponse> {
    return d.clearing
      .connect(f.executor)
      .applyFill({ taker, maker, market, size, price, takerFee, makerFee, poolFee: 0n, protocolFee: 0n, protocol: 0n });
  }

  /**
   * Posts fresh rounds to every feed (ETH primary 8 decimals and secondary 18 decimals, BTC primary 8
   * decimals), then mines one block: the next reads see an age of a few seconds, so an 11 bps band.
   */
  async function setPrices(eth = "3000", ethSecondary = "3001.5", btc = "60000") {
    await (await feeds.ethPrimary.updateAnswer(parseUnits(eth, 8))).wait();
    await (await feeds.ethSecondary.updateAnswer(parseUnits(ethSecondary, 18))).wait();
    await (await feeds.btcPrimary.updateAnswer(parseUnits(btc, 8))).wait();
    await chain.networkHelpers.mine();
  }

  /** The band that margin maths uses now (the liquidation read: never reverts). */
  async function quote(key: string): Promise<{ lower: bigint; mid: bigint; upper: bigint }> {
    const p = await d.oracle.getPriceForLiquidation(key);
    return { lower: p.lower, mid: p.price, upper: p.upper };
  }

  async function position(account: bigint, market: number) {
    const p = await d.clearing.position(account, market);
    return { size: p.size, openNotional: p.openNotional, fundingIndex: p.fundingIndex };
  }

  async function health(account: bigint) {
    const h = await d.clearing.health(account);
    return {
      collateralValue: h.collateralValue,
      cash: h.cash,
      unrealizedPnl: h.unrealizedPnl,
      unrealizedLoss: h.unrealizedLoss,
      pendingFunding: h.pendingFunding,
      equity: h.equity,
      im: h.im,
      mm: h.mm,
      backstop: h.backstop,
      positions: h.positions,
    };
  }

  const balance = (account: bigint, symbol: keyof typeof tokens) => d.vault.balanceOf(account, tokens[symbol].address);

  /** The markets of `account`, as a plain array. */
  const markets = async (account: bigint): Promise<bigint[]> => [...(await d.clearing.accountMarkets(account))];

  /** `[index, ratePerDayWad]` of `market` in `tier`, as a plain array. */
  const fundingState = async (tier: number, market: number): Promise<bigint[]> => [
    ...(await d.clearing.fundingState(tier, market)),
  ];

  return {
    ...f,
    alice,
    bob,
    carol,
    dave,
    poolOwner,
    outsider,
    clearing: d.clearing,
    vault: d.vault,
    oracle: d.oracle,
    riskEngine: d.risk,
    vaultAddress,
    tokens,
    feeds,
    acct,
    settlement: settlementBucket,
    insurance: insuranceBucket,
    deposit,
    fill,
    setPrices,
    quote,
    position,
    health,
    balance,
    markets,
    fundingState,
  };
}

export type ClearingFixture = Awaited<ReturnType<typeof deployClearing>>;
