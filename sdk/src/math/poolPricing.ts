/**
 * A bigint mirror of contracts/libraries/PoolPricing.sol and of the pool quote of
 * contracts/execution/ExecutionEngine.sol (`_quotePool`, behind `quotePoolTrade` and `tradeWithPool`): the same
 * names, the same rounding. Sizes and skews base WAD (signed, long > 0); prices quote WAD per base unit.
 */
import { PriceFlag } from "../oracle/flags.js";
import type { OraclePrice } from "../oracle/price.js";
import { MirroredRevertError } from "./errors.js";
import { increases } from "./positionMath.js";
import { abs, BPS, max, min, mulDiv, WAD } from "./wad.js";

/** The largest size of one pool trade: 2^96 − 1 base WAD (PoolPricing.MAX_SIZE). */
export const MAX_SIZE = 2n ** 96n - 1n;

/**
 * Flags of a price that may lag the market by more than its band (ExecutionEngine.UNRELIABLE): an exit on it is
 * priced at the asset's widest band.
 */
export const UNRELIABLE =
  PriceFlag.STALE |
  PriceFlag.PRIMARY_FAILED |
  PriceFlag.OUT_OF_BOUNDS |
  PriceFlag.FALLBACK_LAST_GOOD |
  PriceFlag.SEQUENCER_DOWN |
  PriceFlag.SEQUENCER_GRACE;

/** The magnitude of `skew` when it lies on the buyers' side (`buys`) or the sellers', else 0. */
function onSide(skew: bigint, buys: boolean): bigint {
  if (buys) return skew > 0n ? skew : 0n;
  return skew < 0n ? -skew : 0n;
}

/**
 * `base` with the skew impact of a trade of `size` (≠ 0) when the traders' net long is `skew` and the skew
 * scale is `scale` (PoolPricing.impacted): the premium `|x| / scale` at skew x on the side the trade grows,
 * averaged over the trade, `(to² − from²) / (2 × scale × |size|)`; none for the part that shrinks it. Rounded
 * against the trader: up for a buy, down for a sell (0 once a sell's average discount reaches 100%).
 *
 * @example
 * // Buying 100 into a flat skew at a scale of 1,000: an average premium of 5%.
 * impacted(3_000n * WAD, 0n, 100n * WAD, 1_000n * WAD); // 3_150n * WAD
 * // Buying while the traders are net short pays no impact.
 * impacted(3_000n * WAD, -200n * WAD, 100n * WAD, 1_000n * WAD); // 3_000n * WAD
 */
export function impacted(base: bigint, skew: bigint, size: bigint, scale: bigint): bigint {
  if (scale === 0n) return base;
  const buys = size > 0n;
  const from = onSide(skew, buys);
  const to = onSide(skew + size, buys);
  if (to <= from) return base;
  const den = 2n * scale * abs(size);
  const num = (to - from) * (to + from);
  if (buys) return mulDiv(base, den + num, den, true);
  return num >= den ? 0n : mulDiv(base, den - num, den);
}

/**
 * `price` lies within `bandBps` of `mid` (ExecutionEngine._requireInBand as a boolean); the allowed distance
 * rounds down.
 *
 * @example
 * inBand(3_030n * WAD, 3_000n * WAD, 100n); // true: exactly 1%
 * inBand(3_030n * WAD + 1n, 3_000n * WAD, 100n); // false
 */
export function inBand(price: bigint, mid: bigint, bandBps: bigint): boolean {
  const allowed = mulDiv(mid, bandBps, BPS);
  return (price > mid ? price - mid : mid - price) <= allowed;
}

/** Everything a pool quote reads. */
export interface PoolQuoteInput {
  /** The trader's signed size in the market (`tradeState`). */
  position: bigint;
  /** The pool account's signed size in the market (`tradeState`). */
  poolPosition: bigint;
  /** The trade's signed size (> 0 buys). */
  size: bigint;
  /**
   * The oracle read the engine prices on. `quotePoolTrade`: the strict read (`getPrice`) for a trade that adds
   * risk, the liquidation read for an exit. `tradeWithPool`: the liquidation read (a trade that adds risk on a
   * price that is not good then fails as the engine's strict re-read does).
   */
  price: OraclePrice;
  /** `TradeParams.priceBandBps` of the tier × market. */
  priceBandBps: bigint;
  /** `TradeParams.skewScale` of the tier × market. */
  skewScale: bigint;
  /** `ExecutionEngine.minPoolSpread()`. */
  minPoolSpreadBps: bigint;
  /** `OracleRouter.assetConfig(asset).maxConfidenceBps`: the spread on an {@link UNRELIABLE} read. */
  maxConfidenceBps: bigint;
}

/** A pool trade as priced. */
export interface PoolQuote {
  /** The fill price. */
  price: bigint;
  /** The oracle's mid (`quotePoolTrade`'s `oraclePrice`). */
  oraclePrice: bigint;
  /** The band side with the spread floor, before the impact. */
  base: bigint;
  /** Whether the trade adds risk to the trader's position (opens, increases or flips it). */
  increases: boolean;
}

/**
 * The price of a pool trade (ExecutionEngine._quotePool): the band's side (high for a buy, low for a sell), at
 * least the spread floor from the mid (rounded up, at most the mid; the larger of the floor and the asset's
 * widest band on an {@link UNRELIABLE} read), with the skew impact ({@link impacted}, the traders' skew being
 * −poolPosition). A trade that adds risk must price within the band (the allowed distance rounded down); an
 * exit always prices, its impact clamped to the band's edge and never better than the base. Throws
 * `ExecutionZeroSize`, `ExecutionSizeTooLarge`, `ExecutionPriceUnavailable`, `OraclePriceNotGood` (a trade
 * that adds risk on a read with flags) and `ExecutionPriceOutsideBand` where the engine reverts.
 *
 * @example
 * const q = quotePoolTrade({
 *   position: 0n, poolPosition: 0n, size: 10n * WAD,
 *   price: { price: 3_000n * WAD, lower: 2_997n * WAD, upper: 3_003n * WAD, flags: 0n },
 *   priceBandBps: 100n, skewScale: 1_000n * WAD, minPoolSpreadBps: 10n, maxConfidenceBps: 2_500n,
 * });
 * // q.base === 3_003n * WAD; q.price === 3_018_015n * 10n ** 15n (0.5% impact, rounded up)
 */
export function quotePoolTrade(input: PoolQuoteInput): PoolQuote {
  const { size, price: read } = input;
  if (size === 0n) throw new MirroredRevertError("ExecutionZeroSize", [], "a pool trade of size 0");
  if (abs(size) > MAX_SIZE) throw new MirroredRevertError("ExecutionSizeTooLarge", [size, MAX_SIZE], "above 2^96 − 1");
  const adds = increases(input.position, size);
  if ((read.flags & PriceFlag.UNAVAILABLE) !== 0n || read.price === 0n) {
    throw new MirroredRevertError("ExecutionPriceUnavailable", [], "no price for the market");
  }
  if (adds && read.flags !== 0n) {
    throw new MirroredRevertError("OraclePriceNotGood", [read.flags], "a trade that adds risk needs a good price");
  }
  const mid = read.price;
  const buys = size > 0n;
  const spreadBps =
    (read.flags & UNRELIABLE) !== 0n ? max(input.minPoolSpreadBps, input.maxConfidenceBps) : input.minPoolSpreadBps;
  // Rounding: up — the spread is never narrower than its floor.
  const spread = min(mulDiv(mid, spreadBps, BPS, true), mid);
  const base = buys ? max(read.upper, mid + spread) : min(read.lower, mid - spread);
  let price = impacted(base, -input.poolPosition, size, input.skewScale);
  // Rounding: down — the band is never wider than configured.
  const allowed = mulDiv(mid, input.priceBandBps, BPS);
  if (adds) {
    if (!inBand(price, mid, input.priceBandBps)) {
      throw new MirroredRevertError("ExecutionPriceOutsideBand", [price, mid, input.priceBandBps], "outside the band");
    }
  } else if (buys) {
    price = max(base, min(price, mid + allowed));
  } else {
    price = min(base, max(price, mid - allowed));
  }
  return { price, oraclePrice: mid, base, increases: adds };
}

/**
 * The taker fee of a pool trade (ExecutionEngine.tradeWithPool): the notional rounded down, the fee rounded up.
 *
 * @example
 * poolTradeFee(-2n * WAD, 3_000n * WAD, 5n); // 3n * WAD (5 bps of 6,000)
 */
export function poolTradeFee(size: bigint, price: bigint, takerFeeBps: bigint): bigint {
  return mulDiv(mulDiv(abs(size), price, WAD), takerFeeBps, BPS, true);
}
