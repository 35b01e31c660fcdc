/** Fixed-point helpers in bigint, rounding as OpenZeppelin's Math does. Amounts are never numbers. */

export const WAD = 10n ** 18n;
export const BPS = 10_000n;

/** A rounding direction, as the contracts name theirs (`Math.Rounding.Ceil` is `"Up"`, `Floor` is `"Down"`). */
export type Rounding = "Up" | "Down";

export const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);
export const max = (a: bigint, b: bigint): bigint => (a > b ? a : b);
export const abs = (a: bigint): bigint => (a < 0n ? -a : a);

/** `a * b / d` for non-negative operands, rounded down, or up when `up` (OpenZeppelin `Math.mulDiv`). */
export function mulDiv(a: bigint, b: bigint, d: bigint, up = false): bigint {
  const p = a * b;
  return up && p % d !== 0n ? p / d + 1n : p / d;
}

/** `a / b` rounded up, for non-negative operands (OpenZeppelin `Math.ceilDiv`). */
export function ceilDiv(a: bigint, b: bigint): bigint {
  return a === 0n ? 0n : (a - 1n) / b + 1n;
}
