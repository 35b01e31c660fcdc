/**
 * A bigint mirror of contracts/libraries/MarginMath.sol: the same names, the same rounding.
 * Rates in bps; notionals, requirements and values in quote WAD.
 */
import { BPS, ceilDiv, mulDiv } from "./wad.js";

/** Size brackets of a tier × market: above each threshold the rate rises by its add-on (0 disables it). */
export interface Brackets {
  bracketNotional1: bigint;
  bracketAddBps1: bigint;
  bracketNotional2: bigint;
  bracketAddBps2: bigint;
}

/** Margin ratios in bps. */
export interface MarginRatios {
  imr: bigint;
  mmr: bigint;
  bmr: bigint;
}

/** A collateral's haircut: `weightBps` up to `sizeThreshold`, `excessWeightBps` above it. */
export interface CollateralWeights {
  weightBps: bigint;
  excessWeightBps: bigint;
  sizeThreshold: bigint;
}

/** A collateral token of a tier (IRiskEngine.CollateralRisk, without its oracle asset). */
export interface CollateralRisk extends CollateralWeights {
  listed: boolean;
}

/**
 * What margin maths and liquidation need of one tier × market (IRiskEngine.MarginParams, without its oracle
 * asset): the ratios in force now, the brackets, the funding and the liquidation parameters.
 */
export interface MarginParams extends Brackets {
  ratios: MarginRatios;
  maxFundingBpsPerDay: bigint;
  fundingSkewScale: bigint;
  liquidationPenaltyBps: bigint;
  keeperShareBps: bigint;
  keeperRewardCap: bigint;
}

/** The requirement at `rateBps` of `notional`, plus the progressive bracket add-ons, rounded up. */
export function requirement(notional: bigint, rateBps: bigint, b: Brackets): bigint {
  let scaled = notional * rateBps;
  if (b.bracketNotional1 !== 0n && notional > b.bracketNotional1) {
    scaled += (notional - b.bracketNotional1) * b.bracketAddBps1;
  }
  if (b.bracketNotional2 !== 0n && notional > b.bracketNotional2) {
    scaled += (notional - b.bracketNotional2) * b.bracketAddBps2;
  }
  return ceilDiv(scaled, BPS);
}

/** IM, MM and backstop requirements of a position of `notional` under `ratios`. */
export function requirements(
  notional: bigint,
  ratios: MarginRatios,
  b: Brackets,
): { im: bigint; mm: bigint; backstop: bigint } {
  return {
    im: requirement(notional, ratios.imr, b),
    mm: requirement(notional, ratios.mmr, b),
    backstop: requirement(notional, ratios.bmr, b),
  };
}

/** The weighted value of collateral worth `value`, rounded down. */
export function weightedValue(value: bigint, c: CollateralWeights): bigint {
  if (c.sizeThreshold === 0n || value <= c.sizeThreshold) return mulDiv(value, c.weightBps, BPS);
  return (c.sizeThreshold * c.weightBps + (value - c.sizeThreshold) * c.excessWeightBps) / BPS;
}

/** One ratio on the ramp: up by the rounded-up rise, or down by the rounded-down fall. */
function lerp(a: bigint, b: bigint, elapsed: bigint, span: bigint): bigint {
  if (b >= a) return a + ceilDiv((b - a) * elapsed, span);
  return a - ((a - b) * elapsed) / span;
}

/** Ratios on the linear ramp from `from` to `to` between `start` and `end`, at `now`. */
export function rampedRatios(
  from: MarginRatios,
  to: MarginRatios,
  start: bigint,
  end: bigint,
  now: bigint,
): MarginRatios {
  if (now >= end || end <= start) return to;
  const elapsed = now - start;
  const span = end - start;
  return {
    imr: lerp(from.imr, to.imr, elapsed, span),
    mmr: lerp(from.mmr, to.mmr, elapsed, span),
    bmr: lerp(from.bmr, to.bmr, elapsed, span),
  };
}
