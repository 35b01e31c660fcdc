/**
 * A bigint mirror of contracts/libraries/PositionMath.sol: the same names, the same rounding.
 * Sizes are base WAD, prices quote WAD per base unit, notionals and PnL quote WAD.
 */
import { abs, mulDiv, WAD } from "./wad.js";

/** A fill's signed notional: |dSize| × price / WAD rounded down, with the sign of `dSize`. */
export function fillNotional(dSize: bigint, price: bigint): bigint {
  const magnitude = mulDiv(abs(dSize), price, WAD);
  return dSize >= 0n ? magnitude : -magnitude;
}

/**
 * Whether a fill of `dSize` raises the risk of a position of `size`: it opens, increases or flips it. A fill
 * that only reduces or closes it does not.
 *
 * @example
 * increases(0n, 1n); // true: opens
 * increases(5n, -3n); // false: reduces
 * increases(5n, -8n); // true: flips to short 3
 */
export function increases(size: bigint, dSize: bigint): boolean {
  const newSize = size + dSize;
  return abs(newSize) > abs(size) || (size > 0n !== newSize > 0n && newSize !== 0n);
}

/** `value × part / whole`, rounded towards +∞. */
function shareTowardsPositive(value: bigint, part: bigint, whole: bigint): bigint {
  if (value >= 0n) return mulDiv(value, part, whole, true);
  return -mulDiv(-value, part, whole);
}

/** A fill applied to a position: the new size and cost basis, and the PnL realized into cash. */
export function applyFill(
  size: bigint,
  openNotional: bigint,
  dSize: bigint,
  notional: bigint,
): { size: bigint; openNotional: bigint; realized: bigint } {
  const newSize = size + dSize;
  if (size === 0n || size > 0n === dSize > 0n) {
    return { size: newSize, openNotional: openNotional + notional, realized: 0n };
  }
  const realized =
    abs(dSize) <= abs(size)
      ? -notional - shareTowardsPositive(openNotional, abs(dSize), abs(size))
      : -shareTowardsPositive(notional, abs(size), abs(dSize)) - openNotional;
  return { size: newSize, openNotional: openNotional + notional + realized, realized };
}

/** Unrealized PnL at `price`: size × price − openNotional, rounded down. */
export function unrealizedPnl(size: bigint, openNotional: bigint, price: bigint): bigint {
  if (size >= 0n) return mulDiv(size, price, WAD) - openNotional;
  return -mulDiv(-size, price, WAD, true) - openNotional;
}

/** A position's notional at `price`, rounded up. */
export function notionalUp(size: bigint, price: bigint): bigint {
  return mulDiv(abs(size), price, WAD, true);
}

/** Funding owed for an index move: positive when the position pays (rounded up), negative when paid (down). */
export function fundingOwed(size: bigint, index: bigint, snapshot: bigint): bigint {
  const delta = index - snapshot;
  if (size === 0n || delta === 0n) return 0n;
  const pays = size > 0n === delta > 0n;
  return pays ? mulDiv(abs(size), abs(delta), WAD, true) : -mulDiv(abs(size), abs(delta), WAD);
}
