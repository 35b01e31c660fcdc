/**
 * A bigint mirror of an account's margin figures as contracts/clearing/ClearingHouse.sol computes them in
 * `health()` (the liquidation read): the same names, the same rounding. Every input is a plain value read
 * beforehand; nothing here calls a contract. Units: sizes base WAD, prices quote WAD per base unit, cash,
 * values, equity and requirements quote WAD.
 */
import { PriceFlag } from "../oracle/flags.js";
import type { OraclePrice } from "../oracle/price.js";
import { MirroredRevertError } from "./errors.js";
import { requirements, weightedValue, type CollateralRisk, type MarginParams } from "./marginMath.js";
import { fundingOwed, notionalUp, unrealizedPnl } from "./positionMath.js";
import { mulDiv, WAD } from "./wad.js";

/** Seconds per day: funding rates are per day. */
export const DAY = 86_400n;
/** One bps in WAD. */
export const BPS_TO_WAD = 10n ** 14n;

/** A position of an account in one market (IClearingHouse.Position). */
export interface Position {
  /** Signed base size (long > 0). */
  size: bigint;
  /** Signed cost basis, the sign of `size`. */
  openNotional: bigint;
  /** The market's funding index when the position last settled funding. */
  fundingIndex: bigint;
}

/** An account's margin figures (IClearingHouse.Health), on the conservative side of every band. */
export interface Health {
  collateralValue: bigint;
  cash: bigint;
  unrealizedPnl: bigint;
  unrealizedLoss: bigint;
  pendingFunding: bigint;
  /** collateralValue + cash + unrealizedPnl − pendingFunding. */
  equity: bigint;
  /** Initial margin: what equity must cover to add risk or withdraw. */
  im: bigint;
  /** Maintenance margin: below it the account is liquidatable. */
  mm: bigint;
  /** Backstop margin: below it the pool takes the positions over. */
  backstop: bigint;
  positions: bigint;
}

/** The stored funding state of one tier × market, and the tier's pool inventory in it. */
export interface FundingState {
  /** The funding index at the last accrual (`FundingAccrued.index`; 0 before any). */
  fundingIndex: bigint;
  /** When the index last moved (the block timestamp of the last `FundingAccrued`; 0: never). */
  lastFundingUpdate: bigint;
  /** The signed size of the tier's pool account in the market; `null` while the tier has no pool. */
  poolSize: bigint | null;
}

/** What funding needs of a tier × market's parameters. */
export type FundingParams = Pick<MarginParams, "maxFundingBpsPerDay" | "fundingSkewScale">;

/** One tier × market as the liquidation read sees it: its parameters, its price and its funding. */
export interface MarketRead {
  params: MarginParams;
  /** `getPriceForLiquidation` of the market's oracle asset. */
  price: OraclePrice;
  funding: FundingState;
}

/** One collateral token balance of an account. */
export interface CollateralBalance {
  /** Token units in the vault. */
  balance: bigint;
  /** Whether it is the tier's quote token (valued at par, never read from the oracle). */
  isQuote: boolean;
  /** The token's decimals in the vault's token config. */
  decimals: bigint;
  /** The tier's risk settings of the token (ignored for the quote token). */
  risk: CollateralRisk;
  /** `getPriceForLiquidation` of the token's oracle asset; only read for a listed non-quote balance. */
  price?: OraclePrice;
}

/** Everything `ClearingHouse.health(account)` reads, read at one block. */
export interface HealthInput {
  /** The tier's quote token decimals (`TierConfig.quoteDecimals`). */
  quoteDecimals: bigint;
  /** The balances of the tier's collateral tokens (`RiskEngine.tierContext`), in any order. */
  collateral: readonly CollateralBalance[];
  cash: bigint;
  /** Every open position of the account, with its market. */
  positions: readonly { position: Position; market: MarketRead }[];
  /** The block timestamp the figures are for. */
  now: bigint;
}

/**
 * The funding index of a tier × market as of `now` and its rate per day (ClearingHouse._fundingIndexNow).
 * Funding follows the pool's inventory: rate = maxFunding × clamp(−poolSize / skewScale, −1, 1), truncated
 * towards zero as Solidity divides; the index moves by rate × price × elapsed / (1 day × WAD), truncated. No
 * pool or a zero skew scale: the index stays and the rate is 0.
 *
 * @example
 * // The pool is short 500 of a market with a skew scale of 1,000 and 10 bps/day: longs pay 5 bps/day.
 * const f = fundingIndexNow(
 *   { fundingIndex: 0n, lastFundingUpdate: 1_000n, poolSize: -500n * WAD },
 *   3_000n * WAD,
 *   { maxFundingBpsPerDay: 10n, fundingSkewScale: 1_000n * WAD },
 *   1_000n + DAY,
 * );
 * // f.ratePerDayWad === 5n * 10n ** 14n; f.index === 15n * 10n ** 17n (1.5 quote per base unit)
 */
export function fundingIndexNow(
  state: FundingState,
  price: bigint,
  params: FundingParams,
  now: bigint,
): { index: bigint; ratePerDayWad: bigint } {
  const index = state.fundingIndex;
  if (state.poolSize === null || params.fundingSkewScale === 0n) return { index, ratePerDayWad: 0n };
  const skew = -state.poolSize;
  const maxRate = params.maxFundingBpsPerDay * BPS_TO_WAD;
  // Rounding: towards zero (Solidity's signed division), then clamped.
  let ratePerDayWad = (maxRate * skew) / params.fundingSkewScale;
  if (ratePerDayWad > maxRate) ratePerDayWad = maxRate;
  if (ratePerDayWad < -maxRate) ratePerDayWad = -maxRate;
  const elapsed = state.lastFundingUpdate === 0n ? 0n : now - state.lastFundingUpdate;
  return { index: index + (ratePerDayWad * price * elapsed) / (DAY * WAD), ratePerDayWad };
}

/** The liquidation read's price, or the revert `ClearingHouse._price` raises when there is none. */
function available(price: OraclePrice): OraclePrice {
  if ((price.flags & PriceFlag.UNAVAILABLE) !== 0n) {
    throw new MirroredRevertError("ClearingPriceUnavailable", [], "the oracle has no price at all");
  }
  return price;
}

/**
 * The weighted value of one collateral balance (ClearingHouse._weightedValue): the quote token at par,
 * 10^(18 − quoteDecimals) per unit; another listed token at its band's low side, rounded down, then
 * haircut by {@link weightedValue}; an unlisted one at 0.
 *
 * @example
 * // 2 WETH at a low side of 2,997 with an 80% weight: 4,795.2 quote.
 * tokenWeightedValue(
 *   { balance: 2n * WAD, isQuote: false, decimals: 18n, risk: { listed: true, weightBps: 8_000n,
 *     excessWeightBps: 6_000n, sizeThreshold: 0n }, price: { price: 3_000n * WAD, lower: 2_997n * WAD,
 *     upper: 3_003n * WAD, flags: 0n } },
 *   6n,
 * ); // 4_795_200_000_000_000_000_000n
 */
export function tokenWeightedValue(c: CollateralBalance, quoteDecimals: bigint): bigint {
  if (c.balance === 0n) return 0n;
  if (c.isQuote) return c.balance * 10n ** (18n - quoteDecimals);
  if (!c.risk.listed) return 0n;
  if (c.price === undefined) throw new TypeError("a listed collateral balance needs its liquidation price");
  // Rounding: down — collateral value favours the protocol; priced at the low side of the band.
  const value = mulDiv(c.balance, available(c.price).lower, 10n ** c.decimals);
  return weightedValue(value, c.risk);
}

/**
 * Σ weighted value of an account's collateral balances (ClearingHouse._collateral).
 *
 * @example
 * const unlisted = { listed: false, weightBps: 0n, excessWeightBps: 0n, sizeThreshold: 0n };
 * // 1 USDC (6 decimals) in a USDC-quoted tier, and WBTC the tier does not list: 1 quote.
 * collateralValue(
 *   [
 *     { balance: 1_000_000n, isQuote: true, decimals: 6n, risk: unlisted },
 *     { balance: 10n ** 8n, isQuote: false, decimals: 8n, risk: unlisted },
 *   ],
 *   6n,
 * ); // 10n ** 18n
 */
export function collateralValue(collateral: readonly CollateralBalance[], quoteDecimals: bigint): bigint {
  return collateral.reduce((total, c) => total + tokenWeightedValue(c, quoteDecimals), 0n);
}

/**
 * Adds one position to `h` (ClearingHouse._addPosition): its unrealized PnL at the conservative side of the
 * band (a long at the low side, a short at the high side), its loss, its funding owed against `index`, and its
 * IM, MM and backstop requirements at the notional rounded up at the band's high side. Mutates `h`.
 *
 * @example
 * const h = emptyHealth();
 * addPosition(h, { size: WAD, openNotional: 3_000n * WAD, fundingIndex: 0n }, band, params, 0n);
 * // h.unrealizedPnl === band.lower − 3,000 quote; h.im === ceil(band.upper × imr / 10,000)
 */
export function addPosition(h: Health, p: Position, price: OraclePrice, params: MarginParams, index: bigint): void {
  const pnl = unrealizedPnl(p.size, p.openNotional, p.size > 0n ? price.lower : price.upper);
  h.unrealizedPnl += pnl;
  if (pnl < 0n) h.unrealizedLoss += pnl;
  h.pendingFunding += fundingOwed(p.size, index, p.fundingIndex);
  const r = requirements(notionalUp(p.size, price.upper), params.ratios, params);
  h.im += r.im;
  h.mm += r.mm;
  h.backstop += r.backstop;
}

/**
 * collateralValue + cash + unrealizedPnl − pendingFunding (ClearingHouse._equity).
 *
 * @example
 * equity({ ...emptyHealth(), collateralValue: 100n, cash: -10n, unrealizedPnl: 5n, pendingFunding: 2n }); // 93n
 */
export function equity(h: Health): bigint {
  return h.collateralValue + h.cash + h.unrealizedPnl - h.pendingFunding;
}

/**
 * A Health of zeros, to add positions to.
 *
 * @example
 * emptyHealth().equity; // 0n
 */
export function emptyHealth(): Health {
  return {
    collateralValue: 0n,
    cash: 0n,
    unrealizedPnl: 0n,
    unrealizedLoss: 0n,
    pendingFunding: 0n,
    equity: 0n,
    im: 0n,
    mm: 0n,
    backstop: 0n,
    positions: 0n,
  };
}

/**
 * An account's margin figures exactly as `ClearingHouse.health(account)` returns them at `input.now`: the
 * collateral, the cash, and each position at its market's liquidation read with funding pending against the
 * index moved to now ({@link fundingIndexNow}). Throws `ClearingPriceUnavailable` where the view reverts.
 *
 * @example
 * const h = health({ quoteDecimals: 6n, collateral, cash, positions: [{ position, market }], now });
 * const liquidatable = h.equity < h.mm;
 */
export function health(input: HealthInput): Health {
  const h = emptyHealth();
  h.collateralValue = collateralValue(input.collateral, input.quoteDecimals);
  h.cash = input.cash;
  h.positions = BigInt(input.positions.length);
  for (const { position, market } of input.positions) {
    const price = available(market.price);
    const { index } = fundingIndexNow(market.funding, price.price, market.params, input.now);
    addPosition(h, position, price, market.params, index);
  }
  h.equity = equity(h);
  return h;
}
