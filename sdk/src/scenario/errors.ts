import { ToolError, type ToolErrorParameters } from "../shared/toolError.js";

/** What went wrong with a scenario, for `switch`: each code has its own message and hint. */
export type ScenarioErrorCode =
  /** A scenario file or object that fails validation: `issues` lists every problem with where it is. */
  | "InvalidScenario"
  /** No `scenarios/<name>.json` (or a name that is not kebab-case). */
  | "ScenarioNotFound"
  /** Generator parameters out of range (`issues` lists them). */
  | "InvalidGeneratorParams"
  /** A node a scenario cannot run on (too few unlocked accounts, no dev methods). */
  | "UnsuitableNode";

/** Everything a {@link ScenarioError} carries. */
export type ScenarioErrorParameters = ToolErrorParameters<ScenarioErrorCode>;

/**
 * A refusal of the scenario tools (reading, validating and generating scenarios). `message` says what is wrong
 * (every problem, each with the field it is in), `hint` what to do.
 *
 * @example
 * try {
 *   await loadScenario("oct-2025");
 * } catch (error) {
 *   if (error instanceof ScenarioError && error.code === "InvalidScenario") console.error(error.message, error.hint);
 * }
 */
export class ScenarioError extends ToolError<ScenarioErrorCode> {
  override name = "ScenarioError";
}
