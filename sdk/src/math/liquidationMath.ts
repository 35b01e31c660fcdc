/**
 * A bigint mirror of contracts/libraries/LiquidationMath.sol (the partial-liquidation policy of DESIGN §4) and
 * of the liquidation engine's `preview` and `partialPlan` views: the same names, the same rounding.
 * Sizes base WAD, prices quote WAD per base unit, penalties, rewards and equity quote WAD.
 */
import { PriceFlag } from "../oracle/flags.js";
import type { OraclePrice } from "../oracle/price.js";
import { MirroredRevertError } from "./errors.js";
import type { Health } from "./health.js";
import { requirement, type MarginParams } from "./marginMath.js";
import { notionalUp } from "./positionMath.js";
import { abs, BPS, ceilDiv, min, mulDiv, WAD } from "./wad.js";

/** A partial liquidation restores equity to MM plus this buffer (bps of MM). */
export const HEALTH_BUFFER_BPS = 1_000n;
/** A remaining position under this notional (quote WAD) is closed in full. */
export const DUST_NOTIONAL = 10n * WAD;

/** A partial liquidation of one position (IClearingHouse.LiquidationPlan). */
export interface LiquidationPlan {
  /** Base size closed (absolute). */
  closeSize: bigint;
  /** The conservative mark: the band's low side for a long, its high side for a short. */
  mark: bigint;
  /** Charged to the account on the closed notional. */
  penalty: bigint;
  /** The keeper's part of the penalty. */
  reward: bigint;
  /** The pool's size change (= −the account's): the sign of the position. */
  signedClose: bigint;
}

/** What a liquidation would do now (ILiquidationEngine.Preview). */
export interface LiquidationPreview {
  liquidatable: boolean;
  backstop: boolean;
  equity: bigint;
  mm: bigint;
  backstopRequirement: bigint;
  closeSize: bigint;
  keeperReward: bigint;
  deficit: bigint;
}

/** The price band a plan reads: the liquidation read's sides. */
export type Band = Pick<OraclePrice, "lower" | "upper">;

/**
 * The smallest close restoring equity to MM × (1 + buffer): X ≥ ((1+b)·MM − equity) / ((1+b)·mmr − penalty),
 * as a notional rounded up, then a size rounded up at `mark`. The whole position when the ratios leave nothing
 * to gain per unit closed, when X reaches it, or when the rest would be dust; 0 when equity meets the target.
 *
 * @example
 * // MM 1,000, equity 900, mmr 250 bps, penalty 100 bps, mark 2,000, size 10: close ceil(200 / 0.0175) quote.
 * closeSize({ ...h, mm: 1_000n * WAD, equity: 900n * WAD }, 250n, 100n, 2_000n * WAD, 10n * WAD);
 * // 5_714_285_714_285_714_286n (about 5.714 base)
 */
export function closeSize(h: Health, mmrBps: bigint, penaltyBps: bigint, mark: bigint, absSize: bigint): bigint {
  const target = mulDiv(h.mm, BPS + HEALTH_BUFFER_BPS, BPS, true);
  const equity = h.equity > 0n ? h.equity : 0n;
  if (equity >= target) return 0n;
  const scaledMmr = ((BPS + HEALTH_BUFFER_BPS) * mmrBps) / BPS;
  if (scaledMmr <= penaltyBps) return absSize;
  // Rounding: up — close enough.
  const notional = mulDiv(target - equity, BPS, scaledMmr - penaltyBps, true);
  const size = mulDiv(notional, WAD, mark, true);
  if (size >= absSize) return absSize;
  if (mulDiv(absSize - size, mark, WAD) < DUST_NOTIONAL) return absSize;
  return size;
}

/**
 * The keeper's share of the penalty in bps: `baseShare` at MM, rising linearly to all of it at the backstop
 * margin (rounded down).
 *
 * @example
 * // Half-way from MM (1,000) to the backstop margin (500) with a 30% base share: 65%.
 * keeperShareBps({ ...h, mm: 1_000n, backstop: 500n, equity: 750n }, 3_000n); // 6_500n
 */
export function keeperShareBps(h: Health, baseShare: bigint): bigint {
  if (h.mm <= h.backstop || h.equity <= h.backstop) return BPS;
  const fallen = h.equity >= h.mm ? 0n : h.mm - h.equity;
  return min(BPS, baseShare + mulDiv(BPS - baseShare, fallen, h.mm - h.backstop));
}

/**
 * The plan for a position of `size` whose band is [`lower`, `upper`] in an account of health `h`: the close
 * ({@link closeSize}) at the conservative mark, the penalty on the closed notional (notional rounded down,
 * penalty up, at most equity − 1) and the keeper's reward (rounded down, capped). All zero but the mark when
 * the size or the mark is 0.
 *
 * @example
 * const p = plan(h, -3n * WAD, { lower: 2_990n * WAD, upper: 3_010n * WAD }, params);
 * // p.mark === 3_010n * WAD (a short closes at the high side); p.signedClose === -p.closeSize
 */
export function plan(h: Health, size: bigint, band: Band, mp: MarginParams): LiquidationPlan {
  const p: LiquidationPlan = {
    closeSize: 0n,
    mark: size > 0n ? band.lower : band.upper,
    penalty: 0n,
    reward: 0n,
    signedClose: 0n,
  };
  if (size === 0n || p.mark === 0n) return p;
  p.closeSize = closeSize(h, mp.ratios.mmr, mp.liquidationPenaltyBps, p.mark, abs(size));
  // Rounding: down for the notional, up for the penalty owed to the protocol.
  const closedNotional = mulDiv(p.closeSize, p.mark, WAD);
  p.penalty = mulDiv(closedNotional, mp.liquidationPenaltyBps, BPS, true);
  const payable = h.equity > 1n ? h.equity - 1n : 0n;
  if (p.penalty > payable) p.penalty = payable;
  // Rounding: down — the keeper is paid at most its share.
  p.reward = min(mulDiv(p.penalty, keeperShareBps(h, mp.keeperShareBps), BPS), mp.keeperRewardCap);
  p.signedClose = size > 0n ? p.closeSize : -p.closeSize;
  return p;
}

/**
 * `p` scaled down to a keeper's smaller `requested` size: the penalty in proportion rounded up, the reward
 * rounded down. Returns a new plan.
 *
 * @example
 * scaled({ closeSize: 4n, mark: 10n, penalty: 7n, reward: 3n, signedClose: -4n }, 2n);
 * // { closeSize: 2n, mark: 10n, penalty: 4n, reward: 1n, signedClose: -2n }
 */
export function scaled(p: LiquidationPlan, requested: bigint): LiquidationPlan {
  return {
    closeSize: requested,
    mark: p.mark,
    penalty: mulDiv(p.penalty, requested, p.closeSize, true),
    reward: mulDiv(p.reward, requested, p.closeSize),
    signedClose: p.signedClose > 0n ? requested : -requested,
  };
}

/**
 * The backstop reward: up to `cap`, never more than the account's own remaining equity.
 *
 * @example
 * backstopReward({ ...h, equity: 400n * WAD }, 1_000n * WAD); // 400n * WAD
 * backstopReward({ ...h, equity: -5n }, 1_000n * WAD); // 0n
 */
export function backstopReward(h: Health, cap: bigint): bigint {
  return h.equity <= 0n ? 0n : min(cap, h.equity);
}

/** The MM requirement of a position of `notional` (LiquidationMath._maintenance). */
function maintenance(notional: bigint, mp: MarginParams): bigint {
  return requirement(notional, mp.ratios.mmr, mp);
}

/**
 * DESIGN §6.4 for a partial liquidation `p` of a position of `size` (band high side `upper`): the account's
 * excess over MM before, and a lower bound of it after (equity falls by at most penalty + 1, MM by the closed
 * part's requirement at `upper`).
 *
 * @example
 * const { before, after } = excessAfter(h, size, band.upper, params, p);
 * // the clearing house refuses the plan when after <= before (see isImproved)
 */
export function excessAfter(
  h: Health,
  size: bigint,
  upper: bigint,
  mp: MarginParams,
  p: LiquidationPlan,
): { before: bigint; after: bigint } {
  const mmBefore = maintenance(notionalUp(size, upper), mp);
  const mmAfter = maintenance(notionalUp(size - p.signedClose, upper), mp);
  // h.mm includes this position's MM at the same band: the Solidity's unsigned subtraction cannot underflow.
  if (h.mm < mmBefore) throw new RangeError("h.mm is below the position's own MM: h is not this band's health");
  return { before: h.equity - h.mm, after: h.equity - (p.penalty + 1n) - (h.mm - mmBefore + mmAfter) };
}

/**
 * LiquidationMath.requireImprovement as a boolean: whether plan `p` leaves the account healthier
 * ({@link excessAfter}) or flat (its only position closed in full). Where it is false, the clearing house and
 * the liquidation engine revert with `LiquidationNotImproved`.
 *
 * @example
 * if (!isImproved(h, size, band.upper, params, p)) console.log("the clearing house would refuse this plan");
 */
export function isImproved(h: Health, size: bigint, upper: bigint, mp: MarginParams, p: LiquidationPlan): boolean {
  if (p.closeSize === abs(size) && h.positions === 1n) return true;
  const { before, after } = excessAfter(h, size, upper, mp, p);
  return after > before;
}

/**
 * The partial liquidation of a position of `size` at band `band` in an account of health `h`, as the clearing
 * house executes it (ClearingHouse._partialPlan) and the liquidation engine's `partialPlan` view returns it
 * (`requested` 0): {@link plan}, scaled to `requested` when non-zero, checked by {@link isImproved}. Throws
 * `LiquidationNoPosition`, `LiquidationTooLarge` or `LiquidationNotImproved` where the Solidity reverts.
 *
 * @example
 * const p = partialPlan(h, position.size, ethRead, ethParams); // what a keeper's liquidate(account, ETH, 0) closes
 * const smaller = partialPlan(h, position.size, ethRead, ethParams, p.closeSize / 2n);
 */
export function partialPlan(h: Health, size: bigint, band: Band, mp: MarginParams, requested = 0n): LiquidationPlan {
  if (size === 0n) throw new MirroredRevertError("LiquidationNoPosition", [], "the account holds no position");
  let p = plan(h, size, band, mp);
  if (p.mark === 0n) throw new MirroredRevertError("LiquidationNoPosition", [], "the mark is 0");
  if (requested !== 0n) {
    if (requested > p.closeSize) {
      throw new MirroredRevertError("LiquidationTooLarge", [p.closeSize, requested], "above the plan's size");
    }
    p = scaled(p, requested);
  }
  if (!isImproved(h, size, band.upper, mp, p)) {
    const { before, after } = excessAfter(h, size, band.upper, mp, p);
    throw new MirroredRevertError("LiquidationNotImproved", [before, after], "the plan leaves no healthier account");
  }
  return p;
}

/**
 * What `LiquidationEngine.preview(account, market)` returns for an account of health `h` (the view returns
 * all zeros where the health itself reverts): whether it is liquidatable, by a partial liquidation or a
 * backstop takeover, the close size, the keeper's reward and the deficit. `market` is the account's position
 * in the named market (size 0 when it holds none), the market's parameters in the tier (`undefined` where the
 * risk engine has none) and its liquidation read.
 *
 * @example
 * const p = previewLiquidation(h, { size: position.size, params: ethParams, price: ethRead });
 * if (p.liquidatable && !p.backstop) console.log(`close ${p.closeSize} for ${p.keeperReward}`);
 */
export function previewLiquidation(
  h: Health,
  market: { size: bigint; params: MarginParams | undefined; price: OraclePrice | undefined },
): LiquidationPreview {
  const p: LiquidationPreview = {
    liquidatable: h.equity < h.mm,
    backstop: false,
    equity: h.equity,
    mm: h.mm,
    backstopRequirement: h.backstop,
    closeSize: 0n,
    keeperReward: 0n,
    deficit: 0n,
  };
  if (!p.liquidatable) return p;
  p.backstop = h.equity < h.backstop;
  if (p.backstop) p.deficit = h.equity < 0n ? -h.equity : 0n;
  if (h.positions !== 0n && market.size === 0n) return p;
  if (market.params === undefined) return p;
  if (p.backstop) {
    p.keeperReward = backstopReward(h, market.params.keeperRewardCap);
    return p;
  }
  const price = market.price;
  if (market.size === 0n || price === undefined || (price.flags & PriceFlag.UNAVAILABLE) !== 0n) return p;
  try {
    const pp = partialPlan(h, market.size, price, market.params);
    p.closeSize = pp.closeSize;
    p.keeperReward = pp.reward;
  } catch (e) {
    if (!(e instanceof MirroredRevertError)) throw e;
  }
  return p;
}

/** LiquidationEngine.COLLATERAL_DISCOUNT_BPS: what a collateral liquidation pays the keeper over its repayment. */
export const COLLATERAL_DISCOUNT_BPS = 300n;

/** What LiquidationEngine.liquidateCollateral would do with an account's debt and one collateral token. */
export interface CollateralLiquidation {
  /** Quote tokens pulled from the keeper (token units): `repay`, at most the debt rounded up to a unit. */
  repayTokens: bigint;
  /** The same in quote WAD (the debt it settles). */
  repaid: bigint;
  /** Collateral moved to the keeper's account (token units). */
  seized: bigint;
  /** What `seized` is worth at `price` (quote WAD, rounded down). */
  seizedValue: bigint;
}

/**
 * The amounts of `liquidateCollateral(account, token, repay)` for an account whose `cash` (quote WAD, after
 * settlement) is negative and that holds no quote token: the keeper repays `min(repay, ⌈−cash⌉)` quote units
 * and receives collateral worth the repaid amount plus {@link COLLATERAL_DISCOUNT_BPS} at `price` (the oracle's
 * liquidation read, quote WAD per whole token), rounded down, never more than `balance`. Zero amounts when
 * `cash` is not negative.
 *
 * @example
 * // 100 USDC of debt, WETH at 3,000, 10 WETH held: repay 100, seize 103 / 3,000 WETH.
 * collateralLiquidation({ cash: -100n * WAD, quoteDecimals: 6, repay: 500_000_000n, price: 3_000n * WAD,
 *   tokenDecimals: 18, balance: 10n * WAD });
 * // { repayTokens: 100_000_000n, repaid: 100n * WAD, seized: 34_333_333_333_333_333n,
 *   seizedValue: 102_999_999_999_999_999_000n }
 */
export function collateralLiquidation(p: {
  cash: bigint;
  quoteDecimals: number;
  repay: bigint;
  price: bigint;
  tokenDecimals: number;
  balance: bigint;
}): CollateralLiquidation {
  if (p.cash >= 0n) return { repayTokens: 0n, repaid: 0n, seized: 0n, seizedValue: 0n };
  const scale = 10n ** BigInt(18 - p.quoteDecimals);
  // Rounding: up — the debt in token units, the most the keeper may repay.
  const repayTokens = min(p.repay, ceilDiv(-p.cash, scale));
  const repaid = repayTokens * scale;
  const value = mulDiv(repaid, BPS + COLLATERAL_DISCOUNT_BPS, BPS);
  const unit = 10n ** BigInt(p.tokenDecimals);
  // Rounding: down — the keeper receives no more than the discount allows.
  const seized = min(mulDiv(value, unit, p.price), p.balance);
  return { repayTokens, repaid, seized, seizedValue: mulDiv(seized, p.price, unit) };
}
