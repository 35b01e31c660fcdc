import { encodeBytes32String, parseUnits, type ContractTransactionResponse } from "ethers";
import * as margin from "../../sdk/src/math/marginMath.js";
import { mulDiv } from "../../sdk/src/math/wad.js";

import { deployLocalFoundation } from "../../deploy/local.js";
import { accountBucket } from "../../sdk/src/client/buckets.js";
import { BackstopPool__factory, type BackstopPool } from "../../types/index.js";
import type { Chain } from "../helpers/foundation.js";

// ------------------------------------------------------------------ constants (deploy/local.ts)

export const CORE = 0;
export const PRO = 1;
export const EDGE = 2;
/** Market id of ETH/USD in deploy/local.ts. */
export const ETH = 1;
export const ETH_KEY = encodeBytes32String("ETH/USD");

export const WAD = 10n ** 18n;
export const BPS = 10_000n;
export const HOUR = 3_600n;
export const DAY = 86_400n;
/** BackstopPool._decimalsOffset(): virtual shares 10^6, virtual assets 1. */
export const VIRTUAL_SHARES = 10n ** 6n;
/** Quote WAD per USDC unit (6 decimals). */
export const USDC_SCALE = 10n ** 12n;
/** Each pool of deploy/local.ts: a 3-day redemption cooldown, IM may use at most 80% of the equity. */
export const COOLDOWN = 3n * DAY;
export const MAX_UTILISATION_BPS = 8_000n;
/** Vault deposit caps of USDC per tier (deploy/local.ts). */
export const USDC_CAP = { [CORE]: usdc("50000000"), [PRO]: usdc("20000000"), [EDGE]: usdc("5000000") } as const;
/** USDC outflow limit per tier and window (deploy/local.ts). */
export const USDC_OUTFLOW_CAPACITY = usdc("1000000");
/** Initial margin ratio (bps) of the ETH market per tier (deploy/local.ts). */
export const ETH_IMR = { [CORE]: 3_333n, [PRO]: 500n, [EDGE]: 200n } as const;
/** Funding of the ETH market: 10 bps/day at most, reached at a pool inventory of 1000 ETH. */
export const MAX_FUNDING_PER_DAY = 10n * 10n ** 14n;
export const ETH_SKEW_SCALE = 1000n * WAD;
/** Core tier's WETH collateral haircut (deploy/local.ts). */
export const CORE_WETH_WEIGHT_BPS = 8_000n;

/** Quote or base WAD from a decimal string. */
export function w(s: string): bigint {
  return parseUnits(s, 18);
}

/** USDC token units (6 decimals) from a decimal string. */
export function usdc(s: string): bigint {
  return parseUnits(s, 6);
}

// ------------------------------------------------------------------ exact arithmetic

export { abs, min, mulDiv } from "../../sdk/src/math/wad.js";
export { fillNotional, fundingOwed, notionalUp, unrealizedPnl } from "../../sdk/src/math/positionMath.js";

/** ERC4626._convertToShares with the pool's offset: assets × (supply + 10^6) / (totalAssets + 1). */
export function toShares(assets: bigint, supply: bigint, totalAssets: bigint, up = false): bigint {
  return mulDiv(assets, supply + VIRTUAL_SHARES, totalAssets + 1n, up);
}

/** ERC4626._convertToAssets with the pool's offset: shares × (totalAssets + 1) / (supply + 10^6). */
export function toAssets(shares: bigint, supply: bigint, totalAssets: bigint, up = false): bigint {
  return mulDiv(shares, totalAssets + 1n, supply + VIRTUAL_SHARES, up);
}

const NO_BRACKETS = { bracketNotional1: 0n, bracketAddBps1: 0n, bracketNotional2: 0n, bracketAddBps2: 0n };

/** MarginMath.requirement below the first bracket (1,000,000 quote): notional × rate, rounded up. */
export function requirement(notional: bigint, rateBps: bigint): bigint {
  if (notional > w("1000000")) throw new RangeError("the tests stay below the first bracket");
  return margin.requirement(notional, rateBps, NO_BRACKETS);
}

/** Floor division of a signed quote-WAD figure into USDC units (what the pool's views do for a non-negative one). */
export function wadToUsdc(value: bigint): bigint {
  return value <= 0n ? 0n : value / USDC_SCALE;
}

// ------------------------------------------------------------------ the fixture

/**
 * The local foundation (deploy/local.ts) with a backstop pool per tier, users alice, bob, carol (trader)
 * and mallory (attacker), and helpers to fund LPs and traders, submit fills and set the ETH price.
 */
export async function deployPools(chain: Chain) {
  const signers = await chain.ethers.getSigners();
  const f = await deployLocalFoundation(signers, { users: 4, pools: true });
  const { d } = f;
  const [alice, bob, carol, mallory] = f.users as [
    (typeof f.users)[0],
    (typeof f.users)[0],
    (typeof f.users)[0],
    (typeof f.users)[0],
  ];
  type User = typeof alice;
  const vaultAddress = await d.vault.getAddress();
  const clearingAddress = await d.clearing.getAddress();
  const managerAddress = await d.manager.getAddress();
  const USDC = d.tokens.USDC!;
  const WETH = d.tokens.WETH!;
  const ethPrimary = d.assets["ETH/USD"]!.mockPrimary!;
  const ethSecondary = d.assets["ETH/USD"]!.mockSecondary!;
  const pools = [d.pools[CORE]!, d.pools[PRO]!, d.pools[EDGE]!] as const;
  const poolAddresses = await Promise.all(pools.map((p) => p.getAddress()));

  /** The clearing account `(pool, tier, 0)` of the tier's pool. */
  const poolAccount = (tier: 0 | 1 | 2): bigint => accountBucket(poolAddresses[tier]!, tier, 0n);

  /** Mints `amount` USDC to `user` and approves `spender` for it. */
  async function fundUsdc(user: User, amount: bigint, spender: string) {
    await (await USDC.mock!.mint(user.address, amount)).wait();
    await (await USDC.mock!.connect(user).approve(spender, amount)).wait();
  }

  /** `user` deposits `amount` USDC into the tier's pool (minted and approved first); returns the shares. */
  async function lpDeposit(user: User, tier: 0 | 1 | 2, amount: bigint): Promise<bigint> {
    const pool = pools[tier];
    await fundUsdc(user, amount, poolAddresses[tier]!);
    const before = await pool.balanceOf(user.address);
    await (await pool.connect(user).deposit(amount, user.address)).wait();
    return (await pool.balanceOf(user.address)) - before;
  }

  /** Deposits `amount` of `token` straight into a vault bucket (a trader's margin, or a donation). */
  async function vaultDeposit(user: User, token: typeof USDC, bucket: bigint, amount: bigint) {
    await (await token.mock!.mint(user.address, amount)).wait();
    await (await token.mock!.connect(user).approve(vaultAddress, amount)).wait();
    await (await d.vault.connect(user).deposit(token.address, amount, bucket)).wait();
  }

  /** Submits a fill in the ETH market as the execution layer (EXECUTOR); fees in quote WAD. */
  function fill(
    taker: bigint,
    maker: bigint,
    size: bigint,
    price: bigint,
    takerFee = 0n,
    makerFee = 0n,
  ): Promise<ContractTransactionResponse> {
    return d.clearing.connect(f.executor).applyFill({
      taker,
      maker,
      market: ETH,
      size,
      price,
      takerFee,
      makerFee,
      poolFee: 0n,
      protocolFee: 0n,
      protocol: 0n,
    });
  }

  /** Posts fresh ETH rounds to both feeds (8 and 18 decimals), then mines one block. */
  async function setEthPrice(primary: string, secondary: string) {
    await (await ethPrimary.updateAnswer(parseUnits(primary, 8))).wait();
    await (await ethSecondary.updateAnswer(parseUnits(secondary, 18))).wait();
    await chain.networkHelpers.mine();
  }

  /** The ETH band margin maths uses now (the liquidation read, as ClearingHouse.health does). */
  async function ethBand(): Promise<{ lower: bigint; mid: bigint; upper: bigint }> {
    const p = await d.oracle.getPriceForLiquidation(ETH_KEY);
    return { lower: p.lower, mid: p.price, upper: p.upper };
  }

  /** Deploys a second BackstopPool by hand, which the clearing house does not know. */
  async function deployStrayPool(tier: number, cooldown = COOLDOWN, utilisation = MAX_UTILISATION_BPS) {
    const pool: BackstopPool = await new BackstopPool__factory(f.deployer).deploy(
      managerAddress,
      clearingAddress,
      vaultAddress,
      USDC.address,
      tier,
      "Stray LP",
      "STRAY",
      cooldown,
      utilisation,
    );
    await pool.waitForDeployment();
    return pool;
  }

  return {
    ...f,
    alice,
    bob,
    carol,
    mallory,
    vault: d.vault,
    clearing: d.clearing,
    oracle: d.oracle,
    manager: d.manager,
    vaultAddress,
    clearingAddress,
    USDC,
    WETH,
    ethPrimary,
    ethSecondary,
    pools,
    poolAddresses,
    poolAccount,
    fundUsdc,
    lpDeposit,
    vaultDeposit,
    fill,
    setEthPrice,
    ethBand,
    deployStrayPool,
  };
}

export type PoolFixture = Awaited<ReturnType<typeof deployPools>>;
