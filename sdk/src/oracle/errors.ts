import { ToolError, type ToolErrorParameters } from "../shared/toolError.js";

/** What went wrong in an oracle tool, for `switch`: each code has its own message and hint. */
export type OracleToolErrorCode =
  /** A price that is not a positive decimal with at most 18 places, or that rounds to 0 at a feed's decimals. */
  | "InvalidPrice"
  /** A round timestamp that is not a positive whole number of seconds. */
  | "InvalidTimestamp"
  /** An asset the feeds map (or the known-asset list) does not name. */
  | "UnknownAsset"
  /** A feed that is not a `MockV3Aggregator`: no contract, no `decimals()`/`latestRound()`, or no setter. */
  | "NotAMockFeed"
  /** A price path file that fails validation: `issues` lists every problem with its line or point. */
  | "InvalidPricePath"
  /** A replay option out of range (pace, start point, start time). */
  | "InvalidReplayOptions"
  /** `advanceChainTime` on a chain that cannot do it: no JSON-RPC `send`, or a point not after the chain's time. */
  | "ChainTimeUnavailable";

/** Everything a {@link OracleToolError} carries. */
export type OracleToolErrorParameters = ToolErrorParameters<OracleToolErrorCode>;

/**
 * A refusal of the oracle tools (pushing prices, parsing and replaying price paths), raised before anything is
 * sent when the inputs are at fault. `message` says what is wrong, `hint` what to do.
 *
 * @example
 * try {
 *   await pushPrice(signer, deployment.addresses.feeds, "ETH/USD", "3,000");
 * } catch (error) {
 *   if (error instanceof OracleToolError && error.code === "InvalidPrice") console.error(error.message, error.hint);
 * }
 */
export class OracleToolError extends ToolError<OracleToolErrorCode> {
  override name = "OracleToolError";
}
