/** Slippage bounds of pool trades: the acceptable price a trader passes to `ExecutionEngine.tradeWithPool`. */
import { BPS, mulDiv } from "../math/wad.js";

/**
 * The worst price a pool trade of `size` should accept, `slippageBps` away from `quote` against the trader:
 * above it for a buy (rounded up), below it for a sell (rounded down). Both roundings widen the bound, so a
 * trade at exactly the quote always passes.
 *
 * @example
 * acceptablePrice(3_000n * WAD, 2n * WAD, 50n); // -> 3015 WAD: a buyer pays at most 0.5% above the quote
 * acceptablePrice(3_000n * WAD, -2n * WAD, 50n); // -> 2985 WAD: a seller receives at least 0.5% below it
 */
export function acceptablePrice(quote: bigint, size: bigint, slippageBps: bigint): bigint {
  if (slippageBps < 0n || slippageBps > BPS) throw new RangeError(`slippageBps must be 0..10000, got ${slippageBps}`);
  if (size === 0n) throw new RangeError("size must not be zero");
  return size > 0n ? mulDiv(quote, BPS + slippageBps, BPS, true) : mulDiv(quote, BPS - slippageBps, BPS);
}
