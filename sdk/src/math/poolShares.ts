/**
 * A bigint mirror of the share maths of contracts/clearing/BackstopPool.sol: an OpenZeppelin ERC-4626 vault with
 * a decimals offset of 6 (10^6 virtual shares, 1 virtual asset) whose assets are its clearing account's equity
 * on the conservative side of every band. Assets are quote token units, shares have quote decimals + 6.
 */
import type { Health } from "./health.js";
import { BPS, ceilDiv, min, mulDiv, type Rounding } from "./wad.js";

/** BackstopPool._decimalsOffset(). */
export const DECIMALS_OFFSET = 6n;
/** The virtual shares of the offset: 10^DECIMALS_OFFSET. */
export const VIRTUAL_SHARES = 10n ** DECIMALS_OFFSET;

/** What every conversion reads: the pool's share supply and its {@link totalAssets}. */
export interface PoolShareState {
  totalSupply: bigint;
  totalAssets: bigint;
}

/** Quote WAD per quote token unit. */
function scaleOf(quoteDecimals: bigint): bigint {
  return 10n ** (18n - quoteDecimals);
}

/**
 * The pool's assets (BackstopPool.totalAssets): its account's equity in quote token units, rounded down, and 0
 * when the equity is not positive.
 *
 * @example
 * totalAssets(1_234_567_891_234_567_891n, 6n); // 1_234_567n (1.234567 USDC)
 * totalAssets(-5n, 6n); // 0n
 */
export function totalAssets(poolEquity: bigint, quoteDecimals: bigint): bigint {
  return poolEquity <= 0n ? 0n : poolEquity / scaleOf(quoteDecimals);
}

/**
 * Shares worth `assets` (ERC4626._convertToShares): assets × (supply + 10^6) / (totalAssets + 1), rounded
 * `rounding`. `convertToShares` and `previewDeposit` round down, `previewWithdraw` up.
 *
 * @example
 * // An empty pool: 1 USDC unit is worth 10^6 shares.
 * convertToShares(1n, { totalSupply: 0n, totalAssets: 0n }, "Down"); // 1_000_000n
 */
export function convertToShares(assets: bigint, s: PoolShareState, rounding: Rounding): bigint {
  return mulDiv(assets, s.totalSupply + VIRTUAL_SHARES, s.totalAssets + 1n, rounding === "Up");
}

/**
 * Assets worth `shares` (ERC4626._convertToAssets): shares × (totalAssets + 1) / (supply + 10^6), rounded
 * `rounding`. `convertToAssets` and `previewRedeem` round down, `previewMint` up.
 *
 * @example
 * convertToAssets(3n * 10n ** 12n, { totalSupply: 2n * 10n ** 12n, totalAssets: 2_000_001n }, "Down"); // 3_000_001n
 */
export function convertToAssets(shares: bigint, s: PoolShareState, rounding: Rounding): bigint {
  return mulDiv(shares, s.totalAssets + 1n, s.totalSupply + VIRTUAL_SHARES, rounding === "Up");
}

/**
 * Shares a deposit of `assets` mints (ERC4626.previewDeposit): rounded down.
 *
 * @example
 * previewDeposit(1_000_000n, { totalSupply: 0n, totalAssets: 0n }); // 10n ** 12n
 */
export function previewDeposit(assets: bigint, s: PoolShareState): bigint {
  return convertToShares(assets, s, "Down");
}

/**
 * Assets a mint of `shares` costs (ERC4626.previewMint): rounded up.
 *
 * @example
 * previewMint(1n, { totalSupply: 0n, totalAssets: 0n }); // 1n (10^-6 of a unit, rounded up)
 */
export function previewMint(shares: bigint, s: PoolShareState): bigint {
  return convertToAssets(shares, s, "Up");
}

/**
 * Shares a withdrawal of `assets` burns (ERC4626.previewWithdraw): rounded up.
 *
 * @example
 * previewWithdraw(1n, { totalSupply: 10n ** 12n, totalAssets: 2_000_000n }); // 500_001n (500,000.25 rounded up)
 */
export function previewWithdraw(assets: bigint, s: PoolShareState): bigint {
  return convertToShares(assets, s, "Up");
}

/**
 * Assets a redemption of `shares` pays (ERC4626.previewRedeem): rounded down.
 *
 * @example
 * previewRedeem(999_999n, { totalSupply: 10n ** 12n, totalAssets: 10n ** 6n }); // 0n
 */
export function previewRedeem(shares: bigint, s: PoolShareState): bigint {
  return convertToAssets(shares, s, "Down");
}

/**
 * The share price: the assets (quote token units) one whole share (10^(quoteDecimals + 6) shares) converts
 * to, rounded down — `convertToAssets(10 ** decimals())`.
 *
 * @example
 * sharePrice({ totalSupply: 2n * 10n ** 12n, totalAssets: 2_200_001n }, 6n); // 1_100_000n (1.1 USDC)
 */
export function sharePrice(s: PoolShareState, quoteDecimals: bigint): bigint {
  return convertToAssets(10n ** (quoteDecimals + DECIMALS_OFFSET), s, "Down");
}

/**
 * Assets that may leave the pool now (BackstopPool.withdrawableAssets), in quote token units: the equity without
 * unrealized profit (collateral + cash + unrealized loss − pending funding), less what IM needs at the
 * utilisation limit (rounded up), rounded down; never more than the account's quote balance after its debt
 * (rounded up to whole units).
 *
 * @example
 * const out = withdrawableAssets(poolHealth, poolUsdcBalance, 8_000n, 6n);
 */
export function withdrawableAssets(
  h: Health,
  quoteBalance: bigint,
  maxUtilisationBps: bigint,
  quoteDecimals: bigint,
): bigint {
  const scale = scaleOf(quoteDecimals);
  const equity = h.collateralValue + h.cash + h.unrealizedLoss - h.pendingFunding;
  // Rounding: up — the equity that must stay is never understated.
  const mustStay = mulDiv(h.im, BPS, maxUtilisationBps, true);
  if (equity <= mustStay) return 0n;
  const debt = h.cash < 0n ? ceilDiv(-h.cash, scale) : 0n;
  const spendable = quoteBalance > debt ? quoteBalance - debt : 0n;
  return min((equity - mustStay) / scale, spendable);
}
