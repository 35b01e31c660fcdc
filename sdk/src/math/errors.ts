/**
 * The custom errors of the contracts that the math mirror raises where the Solidity reverts.
 * `OraclePriceNotGood` stands for whichever `Oracle…` error the oracle's strict read raises.
 */
export type MirroredErrorName =
  | "ClearingPriceUnavailable"
  | "LiquidationNoPosition"
  | "LiquidationTooLarge"
  | "LiquidationNotImproved"
  | "ExecutionZeroSize"
  | "ExecutionSizeTooLarge"
  | "ExecutionPriceUnavailable"
  | "ExecutionPriceOutsideBand"
  | "OraclePriceNotGood";

/**
 * A revert of the contracts, raised by the math mirror where the Solidity reverts: `errorName` is the custom
 * error's name and `args` its numeric arguments in order, without the account or asset ids the pure maths
 * does not know (e.g. `LiquidationTooLarge(account, allowed, requested)` has `args` `[allowed, requested]`).
 *
 * @example
 * try {
 *   partialPlan(h, size, band, params, requested);
 * } catch (e) {
 *   if (e instanceof MirroredRevertError && e.errorName === "LiquidationTooLarge") console.log(e.args[0]);
 * }
 */
export class MirroredRevertError extends Error {
  override readonly name = "MirroredRevertError";

  constructor(
    readonly errorName: MirroredErrorName,
    readonly args: readonly bigint[],
    details: string,
  ) {
    super(`${errorName}(${args.join(", ")}): ${details}`);
  }
}
